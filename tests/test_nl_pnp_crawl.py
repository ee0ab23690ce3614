"""Newfoundland and Labrador for real: ``drawwatch crawl --source nl_pnp`` over HTTP on
127.0.0.1. The one copy of the page (20 June 2026) exists only as a markdown conversion of
the live page, rendered to HTML here (tests/md_render.py); the page as it stood before its
two newest batches (May 28 and June 10) is that copy without those two rows (the table
only grows, oldest first)."""
import json

import pytest

from tests.conftest import DATA
from tests.md_render import render
from tests.page_before import page_before
from tests.province_cli import ProvinceCli

PATH = "/immigration/invitations-to-apply-updates"
PAGE = DATA / "nl_invitations_to_apply_updates.2026-06-20.md"
NEWEST = ("| May 28, 2026 |", "| June 10, 2026 |")
CAPTCHA = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2022.2026-06-19.md")[0]


@pytest.fixture
def nl(tmp_path, site, mailbox):
    site.put(PATH, page_before(PAGE, NEWEST, tmp_path), "text/html")
    cli = ProvinceCli(tmp_path, "nl_pnp", [
        # Told of every draw: gets both new batches, with why nothing more can be said.
        {"name": "every", "urls": [mailbox.url("every@example.org")], "notify": ["all"], "provinces": ["NL"]},
        # Only draws that fit: a batch with no score or occupation fits nobody known.
        {"name": "fit", "urls": [mailbox.url("fit@example.org")], "nocs": ["31301"],
         "provincial_points": {"NL": 80}},
    ])
    cli.configure(url=site.url(PATH))
    yield cli
    cli.close()


def test_new_batches_alert_and_failed_or_shrunken_pages_change_nothing(nl, site, mailbox):
    first = nl.crawl()
    assert first.returncode == 0, first.stderr
    assert "nl_pnp: 18 new, 0 changed, 0 unchanged (first crawl" in first.stdout

    site.put(PATH, render(PAGE)[0], "text/html")
    late = nl.crawl()
    assert late.returncode == 0, late.stderr
    assert "nl_pnp: 2 new, 0 changed, 18 unchanged" in late.stdout
    # The second GET was conditional on what the first one stored.
    (_, first_headers), (_, second_headers) = site.hits(PATH)
    assert "if-none-match" not in first_headers and second_headers["if-none-match"].startswith('"')
    assert "if-modified-since" in second_headers

    sent = nl.invoke("deliver")
    assert sent.exit_code == 0, sent.output
    mails = sorted(mailbox.wait("every@example.org", 2), key=lambda m: m.subject)
    assert [m.subject for m in mails] == [
        "New draw: Newfoundland and Labrador invitations to apply (NLPNP – 84, AIP – 19), 28 May 2026",
        "New draw: Newfoundland and Labrador invitations to apply (NLPNP – 89, AIP – 19), 10 Jun 2026"]
    assert "states only how many were invited" in mails[0].body
    assert mailbox.to("fit@example.org") == []

    listed = json.loads(nl.invoke("draws", "--source", "nl_pnp", "--format", "json").stdout)
    assert len(listed) == 20 and (listed[0]["key"], listed[0]["invitations"]) == ("2026-06-10", 108)
    assert listed[0]["extra"]["split"] == {"NLPNP": 89, "AIP": 19}
    assert json.loads(nl.invoke("draws", "--source", "nl_pnp", "--noc", "31301", "--format", "json").stdout) == []
    after = nl.held()[0]

    site.put(PATH, CAPTCHA, "text/html")
    blocked = nl.crawl()
    assert blocked.returncode == 1 and "SourceBlocked" in blocked.stderr
    assert nl.held()[0] == after

    site.put(PATH, page_before(PAGE, NEWEST, nl.config.parent), "text/html")
    shrunk = nl.crawl()
    assert shrunk.returncode == 3 and "2 would be lost" in shrunk.stderr
    assert nl.held()[0] == after
    assert [o for o, _ in nl.held()[2]] == ["ok", "ok", "failed", "held"]
