"""The plain-text part of an alert email (issue 14, point 11), delivered for real by
``drawwatch deliver`` to an SMTP server on 127.0.0.1: Ontario's real 2026 updates page (a
markdown copy rendered to HTML by tests/md_render.py) after a one-draw baseline."""
from __future__ import annotations

import email
import email.policy

from click.testing import CliRunner

from notifier.match import enqueue_matches
from scheduler import main
from scraper.records import ParseResult
from store.db import make_engine, session as open_session
from store.ingest import ingest
from tests.test_match import oinp_result

PAGE = "https://www.ontario.ca/page/2026-ontario-immigrant-nominee-program-updates#"


def test_the_plain_text_part_has_the_official_page_and_its_blocks(tmp_path, mailbox):
    raw: list[email.message.EmailMessage] = []
    keep = mailbox.handle_DATA

    async def handle_data(server, session, envelope):  # the whole message, both parts
        raw.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return await keep(server, session, envelope)

    mailbox.handle_DATA = handle_data
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")

    def cli(*args):
        result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    page = oinp_result("oinp_updates_2026.2026-06-19.md", ledgers=False)
    oldest = min(page.draws, key=lambda d: d.date)
    engine = make_engine(f"sqlite:///{db}")
    with open_session(engine) as s:  # the baseline: the page's oldest draw
        ingest(s, "oinp", ParseResult([oldest], []))
    # Told of Ontario's draws targeting software engineers; no expression-of-interest date.
    cli("subscribers", "add", "ana", "--url", mailbox.url("ana@example.org"), "--noc", "21231",
        "--notify", "targeted", "--source", "oinp")
    with open_session(engine) as s:
        ingest(s, "oinp", page, matcher=enqueue_matches)
    engine.dispose()
    sent = cli("deliver")
    n = int(sent.stdout.split()[0])
    assert n >= 1 and f"{n} rows sent" in sent.stdout
    mailbox.wait("ana@example.org", n)

    for message in raw:
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        [anchor] = {line.split(PAGE)[1].split('"')[0] for line in html.splitlines() if PAGE in line}
        # The plain text names the page, not only the HTML's link.
        assert f"Official page: {PAGE}{anchor}\n" in text, text
        assert "expression of interests" not in text
        if "Not met or not known:" in text:
            # Its own block: a blank line before it, as before "Why you are told:".
            assert "\n\nNot met or not known:\n" in text, text
            assert "\n\nWhy you are told:\n" in text
    texts = [m.get_body(("plain",)).get_content() for m in raw]
    assert any("the draw took expressions of interest created" in t for t in texts)
    # The blank-line check above ran: without an EOI date some requirement is not known.
    assert any("Not met or not known:" in t for t in texts)
