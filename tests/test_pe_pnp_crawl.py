"""Prince Edward Island for real: ``drawwatch serve`` crawling ``pe_pnp`` over HTTP on
127.0.0.1 (the rendered copy of the page), alerts delivered to a local SMTP server, the
listings through the command line. There is one copy of PEI's page; the page as it was
before its June draw is that copy without the 6/18/2026 row (and the attributes cell
spanning the five rows left)."""
import json
import re

import pytest

from tests.conftest import data
from tests.province_cli import ProvinceCli

PATH = "/en/information/office-of-immigration/expression-of-interest-draws"
RENDERED = "pe_eoi_draws.2026-06-20.rendered.html"
ISLANDER, EVERY = "islander@example.org", "every@example.org"
CHALLENGE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
             b"<noscript>Enable JavaScript and cookies to continue</noscript>"
             b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script></body></html>")


def before_june() -> bytes:
    page = data(RENDERED).decode()
    june = re.search(r"<tr>\s*<td>6/18/2026</td>.*?</tr>\s*", page, re.DOTALL).group()
    return page.replace(june, "").replace('rowspan="6"', 'rowspan="5"').encode()


def only_first_row() -> bytes:
    page = data(RENDERED).decode()
    rows = re.findall(r"<tr>\s*<td>[0-9]+/[0-9]+/2026</td>.*?</tr>\s*", page, re.DOTALL)
    for row in rows[1:]:
        page = page.replace(row, "")
    return page.encode()


@pytest.fixture
def pe(tmp_path, site, mailbox):
    site.put(PATH, before_june(), "text/html")
    cli = ProvinceCli(tmp_path, "pe_pnp", [
        {"name": "islander", "urls": [mailbox.url(ISLANDER)], "provinces": ["PE"], "provincial_points": {"PE": 70},
         "notify": ["eligible"]},
        {"name": "elsewhere", "urls": [mailbox.url(EVERY)], "provinces": ["NS"], "notify": ["eligible"]}])
    cli.configure(url=site.url(PATH))
    yield cli
    cli.close()


def test_june_draw_alerts_and_a_bot_check_fails(pe, site, mailbox):
    service = pe.serve()
    service.wait_for(r"pe_pnp: 5 new, 0 changed, 0 unchanged \(baseline\)", timeout=60)
    draws, _, _ = pe.held()
    service.wait_for("pe_pnp: not modified")
    assert site.hits(PATH)[1][1].get("if-none-match") == site.pages[PATH].etag
    # The page as copied on June 20: the June 18 row is the one new draw, and the
    # subscriber watching PEI is told (no score or occupation stated: nothing unmet).
    site.put(PATH, data(RENDERED), "text/html")
    service.wait_for(r"pe_pnp: 1 new, 0 changed, 5 unchanged")
    assert [m.subject for m in mailbox.wait(ISLANDER)] == ["New draw: PEI Labour & Express Entry invitations, "
                                                           "18 Jun 2026"]
    after, _, _ = pe.held()
    assert set(after) - set(draws) == {"2026-06-18/labour"}
    # The bot check PEI's site sits behind, then the page with one row left of six.
    site.put(PATH, CHALLENGE, "text/html")
    service.wait_for(r"pe_pnp: crawl failed: SourceBlocked: bot-check page instead of content")
    site.put(PATH, only_first_row(), "text/html")
    service.wait_for(r"pe_pnp: crawl held, nothing stored or sent: .*yielded 1 records where it held 6")
    assert service.stop() == 0, service.log
    assert pe.held()[0] == after and "Traceback" not in service.log
    assert mailbox.to(EVERY) == [] and len(mailbox.to(ISLANDER)) == 1

    listed = json.loads(pe.invoke("draws", "--source", "pe_pnp", "--format", "json").stdout)
    assert sorted((d["date"], d["invitations"]) for d in listed) == [
        ("2026-01-15", 26), ("2026-02-19", 109), ("2026-03-20", 101), ("2026-04-16", 127), ("2026-05-21", 113),
        ("2026-06-18", 182)]
    # PEI names no occupation: a --noc query finds none of its draws.
    assert json.loads(pe.invoke("draws", "--source", "pe_pnp", "--noc", "31301", "--format", "json").stdout) == []
