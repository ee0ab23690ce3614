"""Alberta for real: ``drawwatch crawl --source ab_aaip`` over HTTP on 127.0.0.1. The one
copy of the page (20 June 2026) exists only as a markdown conversion of the live page,
rendered to HTML here (tests/md_render.py). The page as it stood before its six newest
draws (June 8-15) is that copy with those six rows of Table 10 taken out: the table is
cumulative, newest first, so that is what the page showed on June 5."""
import json

import pytest

from tests.conftest import DATA
from tests.md_render import render
from tests.page_before import page_before
from tests.province_cli import ProvinceCli

PATH = "/aaip-processing-information"
PAGE = DATA / "ab_aaip_processing_information.2026-06-20.md"
NEWEST = ("| June 15, 2026 |", "| June 12, 2026 |", "| June 11, 2026 |", "| June 10, 2026 |",
          "| June 9, 2026 |", "| June 8, 2026 |")
CAPTCHA = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2023.2026-06-19.md")[0]


@pytest.fixture
def ab(tmp_path, site, mailbox):
    site.put(PATH, page_before(PAGE, NEWEST, tmp_path), "text/html")
    cli = ProvinceCli(tmp_path, "ab_aaip", [
        # 62 points: above the Rural Renewal draw of June 10 (51), the one new draw not limited to a sector.
        {"name": "rural", "urls": [mailbox.url("rural@example.org")], "provincial_points": {"AB": 62}},
    ])
    cli.configure(url=site.url(PATH))
    yield cli
    cli.close()


def test_new_draws_alert_and_failed_or_shrunken_pages_change_nothing(ab, site, mailbox):
    first = ab.crawl()
    assert first.returncode == 0, first.stderr
    assert "ab_aaip: 44 new, 0 changed, 0 unchanged (first crawl" in first.stdout
    baseline = ab.held()[0]

    again = ab.crawl()
    assert again.returncode == 0 and "ab_aaip: not modified" in again.stdout
    status, headers = site.hits(PATH)[-1]
    assert status == 304 and headers["if-none-match"] == site.pages[PATH].etag

    site.put(PATH, render(PAGE)[0], "text/html")
    late = ab.crawl()
    assert late.returncode == 0, late.stderr
    assert "ab_aaip: 6 new, 0 changed, 44 unchanged" in late.stdout
    after = ab.held()[0]
    assert sorted(set(after) - set(baseline)) == [
        "2026-06-08/dhcp-ee", "2026-06-09/dhcp-non-ee", "2026-06-10/rrs", "2026-06-11/aees-priority-health-care",
        "2026-06-12/aees-priority-agriculture", "2026-06-15/aees-priority-manufacturing"]

    sent = ab.invoke("deliver")
    assert sent.exit_code == 0, sent.output
    [mail] = mailbox.wait("rural@example.org")
    assert mail.subject == "New draw: AAIP Rural Renewal Stream draw, 10 Jun 2026"
    assert "your Alberta EOI score 62 is above the minimum 51" in mail.body
    # The sector draws (health care 60 and 45, agriculture 52, manufacturing 50) take only a
    # sector's occupations, which the page names in words: not known to fit, so no alert.
    assert len(mailbox.to("rural@example.org")) == 1
    health = json.loads(ab.invoke("matches", "--draw", "2026-06-09/dhcp-non-ee", "--format", "json").stdout)
    assert health[0]["reasons"] == ["your Alberta EOI score 62 is above the minimum 45"]
    assert health[0]["unmet"] == ["the draw took only health care occupations; the page names no occupation "
                                  "codes, so whether yours is among them is not known"]

    listed = json.loads(ab.invoke("draws", "--source", "ab_aaip", "--format", "json").stdout)
    assert len(listed) == 50 and listed[0]["key"] == "2026-06-15/aees-priority-manufacturing"
    law = json.loads(ab.invoke("draws", "--category", "aees-law-enforcement", "--format", "json").stdout)
    assert [(d["score_min"], d["invitations"], d["extra"]["invitations_below"]) for d in law] == [
        (58, None, 10), (46, None, 10), (50, None, 10)]
    assert json.loads(ab.invoke("draws", "--source", "ab_aaip", "--noc", "31301", "--format", "json").stdout) == []

    site.put(PATH, CAPTCHA, "text/html")
    blocked = ab.crawl()
    assert blocked.returncode == 1 and "SourceBlocked" in blocked.stderr
    assert ab.held()[0] == after

    site.put(PATH, page_before(PAGE, NEWEST, ab.config.parent), "text/html")
    shrunk = ab.crawl()
    assert shrunk.returncode == 3 and "6 would be lost" in shrunk.stderr
    assert ab.held()[0] == after
    assert [o for o, _ in ab.held()[2]] == ["ok", "not_modified", "ok", "failed", "held"]
