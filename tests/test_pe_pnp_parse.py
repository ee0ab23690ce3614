"""Prince Edward Island's parser against the real snapshots: the page as a headless
browser rendered it (raw content, 635 KB, nearly all inline script), and a markdown
conversion of the same page, rendered to HTML here (tests/md_render.py), whose table
lost the span of its Selection Attributes cell."""
import re
from datetime import date

import pytest

from scraper.records import ParseError, SourceBlocked
from scraper.sources.pe_pnp.parse import parse_pe_draws
from tests.conftest import DATA, data
from tests.md_render import render

URL = "https://www.princeedwardisland.ca/en/information/office-of-immigration/expression-of-interest-draws"
RENDERED = "pe_eoi_draws.2026-06-20.rendered.html"
ATTRIBUTES = ("Invitations were extended to individuals working in occupations and priority sectors based on "
              "economic impact in Prince Edward Island. International graduates from UPEI, Holland College, and "
              "Collège de l'Île were prioritized in the invitations.")
# M/D/YYYY on the page -> labour & Express Entry invitations (business: 0, threshold "-")
ROWS = {date(2026, 1, 15): 26, date(2026, 2, 19): 109, date(2026, 3, 20): 101, date(2026, 4, 16): 127,
        date(2026, 5, 21): 113, date(2026, 6, 18): 182}


def test_every_row_of_the_rendered_page():
    result = parse_pe_draws(data(RENDERED), URL)
    assert result.problems == [] and result.notices == []
    assert [(d.key, d.date, d.invitations) for d in result.draws] == [
        (f"{day.isoformat()}/labour", day, n) for day, n in ROWS.items()]
    for d in result.draws:
        assert (d.title, d.program, d.url) == ("PEI Labour & Express Entry invitations", "labour_express_entry", URL)
        # No score is stated for labour and Express Entry invitations: nothing to compare with.
        assert (d.score_min, d.score_max, d.score_system, d.noc_codes, d.flags) == (None, None, None, [], [])
        # The Selection Attributes cell spans all six rows: each draw carries it.
        assert d.extra == {"selection_attributes": ATTRIBUTES, "business_invitations": 0,
                           "row_total": d.invitations, "published": "June 18, 2026"}
    # The Total row (658) is not a draw, and the six rows add up to it.
    assert "<strong>658</strong>" in data(RENDERED).decode()
    assert sum(d.invitations for d in result.draws) == 658


def test_markdown_copy_reads_alike_but_for_the_lost_span():
    body, url = render(DATA / "pe_eoi_draws.2026-06-20.md")
    assert url == URL
    md = parse_pe_draws(body, url).draws
    raw = parse_pe_draws(data(RENDERED), URL).draws
    assert [(d.key, d.invitations) for d in md] == [(d.key, d.invitations) for d in raw]
    assert [bool(d.extra.get("selection_attributes")) for d in md] == [True] + [False] * 5


def test_a_business_row_is_a_draw_in_pei_points():
    """A row with business invitations (PEI drew them in earlier years): the same page
    with the first row's "0" and "-" cells set to 5 and 62 gives a second draw then."""
    page = data(RENDERED).decode()
    row = re.search(r"<td>1/15/2026</td>\s*<td>0</td>\s*<td>-</td>\s*<td>26</td>\s*<td>26</td>", page).group()
    edited = page.replace(row, row.replace("<td>0</td>", "<td>5</td>").replace("<td>-</td>", "<td>62</td>")
                          .replace("<td>26</td>\n<td>26</td>", "<td>26</td>\n<td>31</td>"))
    draws = {d.key: d for d in parse_pe_draws(edited.encode(), URL).draws}
    business = draws["2026-01-15/business"]
    assert (business.program, business.invitations, business.score_min, business.score_system) == (
        "business_work_permit_entrepreneur", 5, 62, "pei_points")
    assert "business_invitations" not in draws["2026-01-15/labour"].extra
    assert draws["2026-01-15/labour"].flags == [] and len(draws) == 7


def test_an_unreadable_threshold_or_count_is_kept_verbatim_and_flagged():
    """The first row's business cells typed "5" and "6O" (a letter O), its labour count "2b"."""
    page = data(RENDERED).decode()
    row = re.search(r"<td>1/15/2026</td>\s*<td>0</td>\s*<td>-</td>\s*<td>26</td>", page).group()
    edited = page.replace(row, row.replace("<td>0</td>", "<td>5</td>").replace("<td>-</td>", "<td>6O</td>")
                          .replace("<td>26</td>", "<td>2b</td>"))
    result = parse_pe_draws(edited.encode(), URL)
    draws = {d.key: d for d in result.draws}
    business, labour = draws["2026-01-15/business"], draws["2026-01-15/labour"]
    assert (business.invitations, business.score_min, business.score_system) == (5, None, None)
    assert business.extra["raw"] == {"score": "6O"} and "unreadable_score" in business.flags
    assert labour.invitations is None and labour.extra["raw"] == {"invitations": "2b"}
    assert "unreadable_invitations" in labour.flags
    assert result.problems[-2:] == ["2026-01-15/labour: invitations '2b' kept verbatim, flagged",
                                    "2026-01-15/business: score '6O' kept verbatim, flagged"]


def test_bot_check_and_other_pages_fail():
    challenge = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                 b"<noscript>Enable JavaScript and cookies to continue</noscript>"
                 b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script></body></html>")
    with pytest.raises(SourceBlocked):
        parse_pe_draws(challenge, URL)
    with pytest.raises(ParseError, match="no draws table"):
        parse_pe_draws(b"<html><body><div class='field--name-body'><p>Page moved</p></div></body></html>", URL)
