"""Only http(s) addresses become links: a round of Express Entry's real 2026 feed whose
official-page anchor was made ``javascript:`` (and one ``data:``) is shown as text on the
draw's web page (over real HTTP on 127.0.0.1), its Atom entry links the local page, and its
alert email (delivered by ``drawwatch deliver`` to an SMTP server on 127.0.0.1) leaves it
out; an untouched round keeps its official link everywhere."""
from __future__ import annotations

import email
import email.policy
import json

import feedparser
import pytest
from click.testing import CliRunner

from notifier.match import enqueue_matches
from scheduler import main
from scraper.records import ParseResult
from scraper.sources.express_entry.parse import parse_express_entry
from store.db import make_engine, session as open_session
from store.ingest import ingest
from tests.conftest import data
from tests.service_harness import free_port
from tests.web_app import LiveApp, get
from web.config import WebSettings

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
HOSTILE = {"411": "javascript:alert(document.cookie)", "410": "data:text/html,<script>alert(1)</script>"}
PLAIN = "409"  # untouched: its official page is a link


def hostile_feed():
    """The real 2026-04-21 feed, rounds 411 and 410's anchors pointing at HOSTILE."""
    doc = json.loads(data("ee_rounds_123_en.2026-04-21.raw.json").decode("utf-8-sig"))
    for row in doc["rounds"]:
        if row["drawNumber"] in HOSTILE:
            row["drawNumberURL"] = f"<a href='{HOSTILE[row['drawNumber']]}'>{row['drawNumber']}</a>"
    return parse_express_entry(json.dumps(doc).encode(), EE_URL)


@pytest.fixture
def stored(tmp_path, mailbox):
    """(config, database URL, mails): the feed without its three newest rounds as the
    baseline, then the whole feed, with ana told of every draw by email."""
    raw: list[email.message.EmailMessage] = []
    keep = mailbox.handle_DATA

    async def handle_data(server, session, envelope):  # the whole message, both parts
        raw.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return await keep(server, session, envelope)

    mailbox.handle_DATA = handle_data
    url = f"sqlite:///{tmp_path / 'dw.db'}"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    feed = hostile_feed()
    newest = {*HOSTILE, PLAIN}
    engine = make_engine(url)
    with open_session(engine) as s:
        ingest(s, "express_entry", ParseResult([d for d in feed.draws if d.key not in newest], []))
    cli(config, "subscribers", "add", "ana", "--url", mailbox.url("ana@example.org"), "--notify", "all")
    with open_session(engine) as s:
        ingest(s, "express_entry", feed, matcher=enqueue_matches)
    engine.dispose()
    return config, url, mailbox, raw


def cli(config, *args):
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_only_http_addresses_become_links(stored):
    config, url, mailbox, raw = stored
    engine = make_engine(url, read_only=True)
    site = LiveApp(engine, WebSettings(port=free_port())).start()
    try:
        for key, bad in HOSTILE.items():
            code, _, body = get(f"{site.url}/draws/express_entry/{key}")
            html = body.decode()
            assert code == 200 and 'href="javascript:' not in html and 'href="data:' not in html
            facts = html.split('id="facts"', 1)[1].split("</table>", 1)[0]
            assert "Official page" in facts and "not a web address: not linked" in facts  # shown, as text
        plain = get(f"{site.url}/draws/express_entry/{PLAIN}")[2].decode()
        assert '<a href="https://www.canada.ca/' in plain.split('id="facts"', 1)[1].split("</table>", 1)[0]

        code, _, body = get(f"{site.url}/feeds/draws.atom?source=express_entry")
        assert code == 200
        links = {e.id.rsplit(":", 1)[1]: e.link for e in feedparser.parse(body).entries}
        for key in HOSTILE:
            assert links[key] == f"{site.url}/draws/express_entry/{key}"  # the local page instead
        assert links[PLAIN].startswith("https://www.canada.ca/")
        assert b"javascript:" not in body and b"data:text" not in body
    finally:
        site.stop()
        engine.dispose()

    sent = cli(config, "deliver")
    assert "3 rows sent" in sent.stdout, sent.stdout
    mailbox.wait("ana@example.org", 3)
    by_round = {next(k for k in (*HOSTILE, PLAIN) if f"#{k}" in str(m["subject"])): m for m in raw}
    assert set(by_round) == {*HOSTILE, PLAIN}
    for key, message in by_round.items():
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        if key == PLAIN:
            assert '<a href="https://www.canada.ca/' in html and "Official page: https://www.canada.ca/" in text
        else:
            assert "javascript:" not in html + text and "data:text" not in html + text
            assert "Official page" not in html + text  # left out of the alert
