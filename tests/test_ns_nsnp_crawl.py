"""Nova Scotia for real: ``drawwatch crawl --source ns_nsnp`` over HTTP on 127.0.0.1. The
one copy of the page (20 June 2026) exists only as a markdown conversion of the live page,
rendered to HTML here (tests/md_render.py); the page as it stood before April's total was
out is that copy with April "TBD", as May's still is."""
import json

import pytest

from tests.conftest import DATA
from tests.md_render import render
from tests.page_before import page_edited
from tests.province_cli import ProvinceCli

PATH = "/eoi-selection"
PAGE = DATA / "ns_eoi_selection.2026-06-20.md"
CAPTCHA = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2020.2026-06-19.md")[0]


def april_pending(folder) -> bytes:
    return page_edited(PAGE, "| April 2026 | 161 |", "| April 2026 | TBD |", folder)


@pytest.fixture
def ns(tmp_path, site, mailbox):
    site.put(PATH, april_pending(tmp_path), "text/html")
    cli = ProvinceCli(tmp_path, "ns_nsnp", [
        {"name": "every", "urls": [mailbox.url("every@example.org")], "notify": ["all"]},
        {"name": "fit", "urls": [mailbox.url("fit@example.org")], "provincial_points": {"NS": 90}},
    ])
    cli.configure(url=site.url(PATH))
    yield cli
    cli.close()


def test_a_new_monthly_total_alerts_and_failed_or_shrunken_pages_change_nothing(ns, site, mailbox):
    first = ns.crawl()
    assert first.returncode == 0, first.stderr
    assert "ns_nsnp: 3 new, 0 changed, 0 unchanged (first crawl" in first.stdout

    site.put(PATH, render(PAGE)[0], "text/html")
    late = ns.crawl()
    assert late.returncode == 0, late.stderr
    assert "ns_nsnp: 1 new, 0 changed, 3 unchanged" in late.stdout
    assert site.hits(PATH)[-1][1]["if-none-match"].startswith('"')

    assert ns.invoke("deliver").exit_code == 0
    [mail] = mailbox.wait("every@example.org")
    assert mail.subject == "New draw: Nova Scotia EOI selections, April 2026 (monthly total)"
    assert "publishes only how many candidates it selected in the month" in mail.body
    assert mailbox.to("fit@example.org") == []

    listed = json.loads(ns.invoke("draws", "--source", "ns_nsnp", "--format", "json").stdout)
    assert [(d["key"], d["invitations"], d["score_min"]) for d in listed] == [
        ("2026-04", 161, None), ("2026-03", 370, None), ("2026-02", 357, None), ("2026-01", 363, None)]
    assert json.loads(ns.invoke("draws", "--source", "ns_nsnp", "--noc", "31301", "--format", "json").stdout) == []
    after = ns.held()[0]

    site.put(PATH, CAPTCHA, "text/html")
    blocked = ns.crawl()
    assert blocked.returncode == 1 and "SourceBlocked" in blocked.stderr
    assert ns.held()[0] == after

    # April back to "TBD": a stored total the page no longer gives is held for a person, not erased.
    site.put(PATH, april_pending(ns.config.parent), "text/html")
    shrunk = ns.crawl()
    assert shrunk.returncode == 3 and "1 would be lost" in shrunk.stderr
    assert ns.held()[0] == after
    assert [o for o, _ in ns.held()[2]] == ["ok", "ok", "failed", "held"]
