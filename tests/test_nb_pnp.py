"""New Brunswick: the parser on the real copy of the invitations page, and ``drawwatch
serve`` crawling it over HTTP on 127.0.0.1 with an alert and the listings. The page
exists only as a markdown conversion of the live page (content real, markup not),
rendered to HTML here (tests/md_render.py); each key/value table's first pair became its
header row there. The page as it was before the June 4 round is that copy without the
round's block."""
import json
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytest

from scraper.records import ParseError, SourceBlocked
from scraper.sources.nb_pnp.parse import parse_nb_invitations
from tests.conftest import DATA
from tests.md_render import render
from tests.province_cli import ProvinceCli

PAGE = "nb_invitations_to_apply.2026-06-20.md"
URL = "https://www2.gnb.ca/content/gnb/en/corporate/promo/immigration/immigrating-to-nb/invitations-to-apply.html"
PATH = "/content/gnb/en/corporate/promo/immigration/immigrating-to-nb/invitations-to-apply.html"
ALL = ["Construction trades", "Education, social and community services", "Health care", "Manufacturing",
       "Professional and IT"]
SEL, NEWCOMER, ELSEWHERE = "June 2, 2026", "newcomer@example.org", "elsewhere@example.org"
# key -> (date, title, invitations, what the count is, occupational categories in page order)
ROUNDS = {
    "2026-06-04/new-brunswick-express-entry-stream/employment-in-new-brunswick": (
        date(2026, 6, 4), "New Brunswick Express Entry stream: Employment in New Brunswick", 75,
        "invitations issued", ALL + ["Transportation"]),
    "2026-06-03/new-brunswick-strategic-initiative/new-brunswick-francophone-priorities": (
        date(2026, 6, 3), "New Brunswick Strategic Initiative: New Brunswick Francophone Priorities", 94,
        "invitations issued", ALL + ["Sales and services", "Transportation"]),
    "2026-06-03/new-brunswick-strategic-initiative/francophone-workers-in-new-brunswick": (
        date(2026, 6, 3), "New Brunswick Strategic Initiative: Francophone Workers in New Brunswick", 52,
        "invitations issued", ALL + ["Transportation", "Sales and services"]),
    "2026-06-03/atlantic-immigration-program": (
        date(2026, 6, 3), "Atlantic Immigration Program", 97, "applications selected",
        ALL[:4] + ["Other trades", "Professional and IT", "Sales and services", "Transportation"]),
    "2026-06-03/new-brunswick-skilled-worker-stream/new-brunswick-experience": (
        date(2026, 6, 3), "New Brunswick Skilled Worker stream: New Brunswick Experience", 243,
        "invitations issued", ["Construction trades", "Health care"]),
    "2026-06-03/new-brunswick-skilled-worker-stream/new-brunswick-graduates": (
        date(2026, 6, 3), "New Brunswick Skilled Worker stream: New Brunswick Graduates", 138,
        "invitations issued", ["Education, social and community services", "Construction trades", "Health care",
                               "Transportation"]),
}


def page(without_june_4: bool = False) -> bytes:
    text = (DATA / PAGE).read_text(encoding="utf-8")
    if without_june_4:
        start = text.index("**New Brunswick Express Entry stream**")
        text = text[:start] + text[text.index("**New Brunswick Strategic Initiative**"):]
    with tempfile.TemporaryDirectory() as tmp:   # md_render reads a file
        path = Path(tmp) / PAGE
        path.write_text(text, encoding="utf-8")
        return render(path)[0]


def test_every_round_field_by_field():
    body, url = render(DATA / PAGE)
    assert url == URL
    result = parse_nb_invitations(body, url)
    assert result.problems == []
    assert {d.key: (d.date, d.title, d.invitations, d.extra["count_kind"], d.extra["occupational_categories"])
            for d in result.draws} == ROUNDS
    for d in result.draws:
        # No score is published; no occupation codes either (categories, no official list of codes).
        assert (d.score_min, d.score_system, d.noc_codes, d.flags) == (None, None, [], [])
        # The cut-off is the day before each draw, "[11:59:00 pm (AST)]": 11:59 p.m. in
        # Moncton (ADT in June) is 02:59 UTC on the draw's day.
        assert d.window_end == datetime(d.date.year, d.date.month, d.date.day, 2, 59)
        assert d.window_start is None and d.url == URL
    aip = next(d for d in result.draws if d.program == "atlantic_immigration_program")
    assert "pathway" not in aip.extra and aip.title == "Atlantic Immigration Program"


def test_unknown_category_kept_and_blocked_page_fails():
    text = page().decode().replace("Construction trades Health care", "Construction trades Aerospace Health care")
    (odd,) = [d for d in parse_nb_invitations(text.encode(), URL).draws if d.key.endswith("new-brunswick-experience")]
    assert odd.extra["occupational_categories"] == ["Construction trades", "Health care"]
    assert odd.flags == ["unknown_category"] and "Aerospace" in odd.extra["raw"]["categories"]
    with pytest.raises(SourceBlocked):
        parse_nb_invitations(b"<html><head><title>Access Denied</title></head><body>Reference errors.edgesuite.net"
                             b"</body></html>", URL)
    with pytest.raises(ParseError, match="no invitation tables"):
        parse_nb_invitations(b"<html><body><h2>Latest invitations</h2><p>None this week.</p></body></html>", URL)


@pytest.fixture
def nb(tmp_path, site, mailbox):
    site.put(PATH, page(without_june_4=True), "text/html")
    cli = ProvinceCli(tmp_path, "nb_pnp", [
        {"name": "newcomer", "urls": [mailbox.url(NEWCOMER)], "provinces": ["NB"], "eoi_created": "2026-05-20",
         "notify": ["eligible"]},
        {"name": "late", "urls": [mailbox.url(ELSEWHERE)], "provinces": ["NB"], "eoi_created": "2026-06-05",
         "notify": ["eligible"]}])
    cli.configure(url=site.url(PATH))
    yield cli
    cli.close()


def test_crawl_new_round_alert_and_listings(nb, site, mailbox):
    service = nb.serve()
    service.wait_for(r"nb_pnp: 5 new, 0 changed, 0 unchanged \(baseline\)", timeout=60)
    service.wait_for("nb_pnp: not modified")
    assert site.hits(PATH)[1][1].get("if-none-match") == site.pages[PATH].etag
    site.put(PATH, page(), "text/html")
    service.wait_for(r"nb_pnp: 1 new, 0 changed, 5 unchanged")
    # An expression of interest from May 20 was in the pool at the June 3 cut-off; one
    # from June 5 was not.
    (mail,) = mailbox.wait(NEWCOMER)
    assert mail.subject == "New draw: New Brunswick Express Entry stream: Employment in New Brunswick, 4 Jun 2026"
    assert "your expression of interest (2026-05-20) was created inside the window (by 2026-06-04 02:59 UTC)" \
        in mail.body, mail.body
    # The page with its rounds gone (a redesign) fails; nothing stored changes.
    site.put(PATH, b"<html><body><h2>Latest invitations</h2><p>Coming soon.</p></body></html>", "text/html")
    service.wait_for(r"nb_pnp: crawl failed: ParseError: no invitation tables")
    assert service.stop() == 0, service.log
    assert mailbox.to(ELSEWHERE) == [] and "Traceback" not in service.log
    listed = json.loads(nb.invoke("draws", "--source", "nb_pnp", "--format", "json").stdout)
    assert {d["key"]: d["invitations"] for d in listed} == {k: v[2] for k, v in ROUNDS.items()}
