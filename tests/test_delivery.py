"""Delivering alerts for real: Apprise sending to an SMTP server and webhook servers on
127.0.0.1, for draws 409-411 of the real Express Entry snapshots (2 April baseline, then
21 April). Time is driven through ``deliver_due(now=...)``; the crash tests kill a real
``python -m scheduler serve`` or ``deliver`` process in the middle of a send.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown
import pytest
from sqlmodel import select

from notifier import subscribers
from notifier.deliver import deliver_due
from notifier.match import enqueue_matches
from scraper.sources.express_entry.parse import parse_express_entry
from configfile import Settings, load_config
from store.db import make_engine, session as open_session
from store.ingest import ingest
from store.models import Draw, Notification, Subscriber, utcnow
from tests.configs import sources_off
from tests.conftest import FEED, data
from tests.service_harness import ROOT, Mailbox, ServiceProcess, free_port

OLD, NEW = "ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
FEED_URL = "https://www.canada.ca" + FEED
OFFICIAL = ("https://www.canada.ca/en/immigration-refugees-citizenship/corporate/mandate/policies-operational-"
            "instructions-agreements/ministerial-instructions/express-entry-rounds/invitations.html?q={}")
HEADLINE = {
    "409": "Express Entry round #409: Provincial Nominee Program, 13 Apr 2026",
    "410": "Express Entry round #410: Canadian Experience Class, 14 Apr 2026",
    "411": "Express Entry round #411: French-Language proficiency 2026-Version 2, 15 Apr 2026",
}
# A CEC candidate at CRS 520 with French at NCLC 8: eligible for 410 (CEC, cut-off 515)
# and 411 (French, cut-off 419), not for 409 (PNP only, cut-off 786).
CEC_520 = {"crs": 520, "programs": ["cec"], "nclc": 8}


class RawMailbox(Mailbox):
    """The harness's Mailbox, also keeping each whole message (HTML and text parts)."""

    def __init__(self):
        super().__init__()
        self.raw: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.raw.append(msg)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def mailbox():
    box = RawMailbox().start()
    yield box
    box.stop()


def settings(**delivery) -> Settings:
    return Settings.model_validate({"delivery": {"timeout": 5, **delivery}})


def store_with(engine, *profiles: dict) -> None:
    """Subscribers added, the 2 April feed as baseline, then 21 April's three new draws
    ingested with the notifier's matcher (which commits their outbox rows)."""
    with open_session(engine) as s:
        for profile in profiles:
            subscribers.add(s, profile)
        for name in (OLD, NEW):
            report = ingest(s, "express_entry", parse_express_entry(data(name), FEED_URL), matcher=enqueue_matches)
        assert sorted(d.key for d in report.new) == ["409", "410", "411"]


def deliver(engine, config: Settings, now: dt.datetime | None = None):
    return asyncio.run(deliver_due(engine, config, now=now))


def outbox(engine, name: str) -> dict[str, Notification]:
    """A subscriber's outbox rows by draw key."""
    with open_session(engine) as s:
        rows = s.exec(select(Notification, Draw.key).join(Draw, Draw.id == Notification.draw_id)
                      .join(Subscriber, Subscriber.id == Notification.subscriber_id)
                      .where(Subscriber.name == name))
        return {key: note for note, key in rows}


def key_of(text: str) -> str:
    """Which of the three draws a message is about."""
    keys = [k for k in HEADLINE if f"#{k}" in text]
    assert len(keys) == 1, text
    return keys[0]


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    return msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()


# -- email ----------------------------------------------------------------------------


def test_email_alert_states_the_draw_the_reasons_and_the_official_link(engine, mailbox, send_processes):
    store_with(engine, {"name": "ana", "urls": [mailbox.url("ana@example.org")], **CEC_520})
    report = deliver(engine, settings(send_processes=send_processes))
    assert (report.messages, report.sent, report.retrying, report.failed) == (2, 2, 0, 0)
    mailbox.wait("ana@example.org", 2)
    mails = {key_of(m["subject"]): m for m in mailbox.raw}
    assert sorted(mails) == ["410", "411"]  # 409 (PNP, cut-off 786) is not for her
    assert mails["410"]["subject"] == f"New draw: {HEADLINE['410']}"
    assert mails["410"]["to"] == "ana@example.org"

    # Email takes HTML: the HTML template is rendered, and Apprise adds a text alternative.
    html, text = parts(mails["410"])
    assert f"<h2>{HEADLINE['410']}</h2>" in html
    for fact in ("Invitations: 2000", "Lowest CRS invited: 515 and above", "Tie-break: 2025-06-10 02:46 UTC"):
        assert f"<li>{fact}</li>" in html and fact in text
    for reason in ("the round is for Canadian Experience Class candidates, as you are",
                   "your CRS 520 is above the minimum 515"):
        assert f"<li>{reason}</li>" in html and reason in text
    assert f'<a href="{OFFICIAL.format(410)}">Official page</a>' in html

    html, text = parts(mails["411"])
    assert "your French (NCLC 8) meets the rule: French-language test results at NCLC 7 or higher" in text
    assert "your CRS 520 is above the minimum 419" in text
    assert f'href="{OFFICIAL.format(411)}"' in html

    rows = outbox(engine, "ana")
    assert sorted(rows) == ["410", "411"]
    assert all(r.status == "sent" and r.attempts == 1 and r.sent_at and r.delivered == [0] for r in rows.values())
    assert deliver(engine, settings(send_processes=send_processes)).messages == 0  # sent is final: nothing goes twice
    assert len(mailbox.messages) == 2


OVERRIDE_HTML = """{% import "_draw.html" as f %}<p>{{ draw.title }} / {{ sample }}</p>
{{ f.facts(draw) }}
"""
OVERRIDE_TXT = "{{ draw.title }} / {{ sample }}\n"
SAMPLE = "Maîtres d'hôtel & hosts/hostesses <NOC 64300>"


def test_html_is_escaped_in_email_and_plain_elsewhere_with_override_templates(tmp_path, engine, mailbox, hooks,
                                                                             send_processes):
    """No draw in tests/data holds a character HTML must escape (the titles, URLs,
    regions and NOC codes of every Express Entry and Ontario snapshot were checked), so
    override templates in a ``[templates] directory`` carry one: the real NOC 2021 title
    "Maîtres d'hôtel and hosts/hostesses" with an ampersand and angle brackets. This also
    shows that overrides are loaded from the config and autoescaped like the shipped ones."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    # Only {% set %} is added to a template a user might write; the draw's title is real.
    (folder / "alert.html").write_text(f'{{% set sample = "{SAMPLE}" %}}' + OVERRIDE_HTML, encoding="utf-8")
    (folder / "alert.txt").write_text(f'{{% set sample = "{SAMPLE}" %}}' + OVERRIDE_TXT, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[templates]\ndirectory = "tpl"\n[delivery]\ntimeout = 5\nsend_processes = {send_processes}\n',
                      encoding="utf-8")
    loaded = load_config(config)
    assert loaded.templates.directory == folder

    store_with(engine, {"name": "ana", "urls": [mailbox.url("ana@example.org"), hooks.json_url("/ana")],
                        "crs": 520, "programs": ["cec"]})
    assert deliver(engine, loaded).sent == 1  # draw 410 only (no NCLC: 411 is not certain)
    mailbox.wait("ana@example.org")
    html, text = parts(mailbox.raw[0])
    assert "<p>Canadian Experience Class / Maîtres d&#39;hôtel &amp; hosts/hostesses &lt;NOC 64300&gt;</p>" in html
    assert f"<h2>{HEADLINE['410']}</h2>" in html  # the shipped macro, through the override
    assert SAMPLE in text and "&amp;" not in text and "&#39;" not in text
    # A text channel gets the .txt override, which is not escaped.
    [payload] = hooks.to("/ana")
    assert payload["message"].strip() == f"Canadian Experience Class / {SAMPLE}"


# -- webhooks -------------------------------------------------------------------------


def test_each_webhook_gets_the_format_its_channel_takes(engine, hooks, send_processes):
    store_with(engine, {"name": "ben", **CEC_520, "urls": [
        hooks.mattermost_url("mmtoken0123"),  # Mattermost: Slack-style {"text"}, plain text
        hooks.rocketchat_url("hookid", "hooksecret"),  # Rocket.Chat: Slack-style {"text"}, markdown
        hooks.json_url("/json"),  # Apprise JSON: any format, text by default
        hooks.json_url("/json-md", "format=markdown"),  # ... or the one the URL asks for
    ]})
    report = deliver(engine, settings(send_processes=send_processes))
    assert (report.sent, report.retrying) == (2, 0)

    mattermost = {key_of(p["text"]): p for p in hooks.to("/hooks/mmtoken0123")}
    rocket = {key_of(p["text"]): p for p in hooks.to("/hooks/hookid/hooksecret")}
    plain = {key_of(p["title"]): p for p in hooks.to("/json")}
    marked = {key_of(p["title"]): p for p in hooks.to("/json-md")}
    assert sorted(mattermost) == sorted(rocket) == sorted(plain) == sorted(marked) == ["410", "411"]

    # Text: the greeting, "Official page: <url>", no markdown.
    text = mattermost["410"]["text"]
    assert text.startswith(f"New draw: {HEADLINE['410']}")  # no title field: Apprise puts it first
    assert "Hello ben," in text and f"Official page: {OFFICIAL.format(410)}" in text
    assert "  - your CRS 520 is above the minimum 515" in text and "**" not in text and "](" not in text
    assert plain["410"]["title"] == f"New draw: {HEADLINE['410']}"
    assert plain["410"]["message"].startswith("Hello ben,\n\n" + HEADLINE["410"] + "\nInvitations: 2000\n")
    assert f"Official page: {OFFICIAL.format(410)}" in plain["410"]["message"]
    assert plain["410"]["type"] == "info"

    # Markdown: bold headline, bullet list, link syntax.
    for body in (rocket["410"]["text"], marked["410"]["message"]):
        assert f"**{HEADLINE['410']}**" in body
        assert "- Lowest CRS invited: 515 and above" in body
        assert "- the round is for Canadian Experience Class candidates, as you are" in body
        assert f"[Official page]({OFFICIAL.format(410)})" in body
        assert "Hello ben," not in body
        # Rendered, each part is its own block (not glued into the list above it).
        html = markdown.markdown(body)
        assert "<li>Lowest CRS invited: 515 and above</li>\n<li>Tie-break: 2025-06-10 02:46 UTC</li>\n</ul>" in html
        assert "<p>Why you are told:</p>\n<ul>\n<li>the round is for Canadian Experience Class" in html
        assert f'<p><a href="{OFFICIAL.format(410)}">Official page</a></p>' in html


# -- failures and retries -------------------------------------------------------------


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_failing_channels_are_retried_with_backoff_then_failed(tmp_path, engine, hooks, send_processes):
    dead = free_port()  # nothing listens there: connection refused
    hooks.status["/hooks/t0psecrettoken"] = 500
    refused_url = f"json://bob:s3cretpw@127.0.0.1:{dead}/hook"
    everything = {"notify": ["all"]}  # all three draws, so three rows each
    store_with(engine,
               {"name": "good", "urls": [hooks.json_url("/good")], **everything},
               {"name": "refused", "urls": [refused_url], **everything},
               {"name": "broken", "urls": [hooks.mattermost_url("t0psecrettoken")], **everything},
               {"name": "split", "urls": [hooks.json_url("/split"), f"json://127.0.0.1:{dead}/split"], **everything})
    config = settings(max_attempts=3, backoff=60, backoff_max=3600, send_processes=send_processes)
    secrets = ("s3cretpw", "t0psecrettoken")
    t0 = utcnow()

    report = deliver(engine, config, now=t0)
    assert (report.messages, report.sent, report.retrying, report.failed) == (12, 3, 9, 0)
    assert len(hooks.to("/good")) == 3 and len(hooks.to("/split")) == 3  # unaffected by the others
    for name in ("refused", "broken", "split"):
        for row in outbox(engine, name).values():
            assert (row.status, row.attempts) == ("pending", 1), name
            assert row.next_attempt_at == t0 + dt.timedelta(seconds=60), name
            assert not any(s in row.last_error for s in secrets), row.last_error
    refused = outbox(engine, "refused")["410"]
    assert f"json://bob:****@127.0.0.1:{dead}/****" in refused.last_error
    assert "A Connection error occurred sending JSON notification" in refused.last_error
    assert "error=500" in outbox(engine, "broken")["410"].last_error
    split = outbox(engine, "split")["410"]
    assert split.delivered == [0] and f"127.0.0.1:{dead}/****" in split.last_error
    assert f"127.0.0.1:{hooks.port}/split" not in split.last_error  # only the URL that failed

    # `drawwatch outbox` shows them waiting, secrets masked.
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "{engine.url}"\n', encoding="utf-8")
    shown = cli(cfg, "outbox", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)
    assert len(listed) == 9 and {r["status"] for r in listed} == {"pending"}
    assert {r["subscriber"] for r in listed} == {"refused", "broken", "split"}
    assert all(r["attempts"] == 1 and r["error"] for r in listed)
    assert not any(s in shown.stdout for s in secrets)

    # Not before the backoff, then 60 s, then 120 s (doubled), then failed for good.
    assert deliver(engine, config, now=t0 + dt.timedelta(seconds=59)).messages == 0
    report = deliver(engine, config, now=t0 + dt.timedelta(seconds=60))
    assert (report.messages, report.retrying) == (9, 9)
    assert {r.next_attempt_at for r in outbox(engine, "refused").values()} == {t0 + dt.timedelta(seconds=180)}
    assert deliver(engine, config, now=t0 + dt.timedelta(seconds=179)).messages == 0
    report = deliver(engine, config, now=t0 + dt.timedelta(seconds=180))
    assert (report.messages, report.failed) == (9, 9)
    assert deliver(engine, config, now=t0 + dt.timedelta(days=2)).messages == 0

    for name in ("refused", "broken", "split"):
        assert {(r.status, r.attempts) for r in outbox(engine, name).values()} == {("failed", 3)}
    assert {r.status for r in outbox(engine, "good").values()} == {"sent"}
    # The split subscriber's working URL heard each draw exactly once, over three rounds.
    assert sorted(key_of(p["title"]) for p in hooks.to("/split")) == ["409", "410", "411"]
    assert len(hooks.to("/good")) == 3

    shown = cli(cfg, "outbox", "--status", "failed")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()[2:]
    assert len(lines) == 9 and all(" failed " in line for line in lines)
    assert "bob:****@" in shown.stdout and not any(s in shown.stdout for s in secrets)
    left = json.loads(cli(cfg, "outbox", "--format", "json").stdout)  # pending, sending and failed
    assert {r["status"] for r in left} == {"failed"}


# -- exactly once across a crash, and digests ---------------------------------------------


LEASE = 2


def test_a_deliverer_killed_mid_send_leaves_each_alert_to_be_sent_exactly_once(tmp_path, site, hooks):
    """``crawl`` stores the new draws and commits their outbox rows without sending;
    ``serve --once`` claims them and is SIGKILLed while the channel holds the requests
    unanswered; two ``deliver`` runs afterwards send each alert exactly once."""
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{db}"\n'
        '[http]\ndelay = 0\nretries = 0\ntimeout = 5\n'
        f'[sources.express_entry]\nurl = "{site.url(FEED)}"\nschedule = "every 1h"\njitter = 0\n'
        f'{sources_off("express_entry")}'
        f'[delivery]\ntimeout = 30\nlease = {LEASE}\n'  # a dead deliverer's claim expires
        f'[[subscribers]]\nname = "ana"\nurls = ["{hooks.json_url("/ana", "rto=60")}"]\nnotify = ["all"]\n',
        encoding="utf-8")
    engine = make_engine(f"sqlite:///{db}")

    def rows():
        with open_session(engine) as s:
            return {key: note for note, key in s.exec(
                select(Notification, Draw.key).join(Draw, Draw.id == Notification.draw_id))}

    site.put(FEED, data(OLD))
    first = cli(config, "crawl", "--source", "express_entry")
    assert first.returncode == 0 and "first crawl" in first.stdout, first.stderr
    site.put(FEED, data(NEW))
    second = cli(config, "crawl", "--source", "express_entry")
    assert second.returncode == 0 and "3 new" in second.stdout, second.stderr
    assert {k: r.status for k, r in rows().items()} == {"409": "pending", "410": "pending", "411": "pending"}
    assert hooks.accepted == []

    hooks.hanging.add("/ana")
    proc = ServiceProcess(config, "--once").start()
    try:
        hooks.wait_held(3)  # all three alerts claimed and in flight
    finally:
        proc.kill()  # SIGKILL: no clean-up, nothing settled
    assert {r.status for r in rows().values()} == {"sending"}
    assert hooks.accepted == []
    hooks.unhang()

    # Within the lease the claim is respected (its deliverer might be alive and sending).
    assert asyncio.run(deliver_due(engine, load_config(config))).messages == 0
    expires = max(r.claimed_at for r in rows().values()) + dt.timedelta(seconds=LEASE)
    time.sleep(max(0.0, (expires - utcnow()).total_seconds()) + 0.1)
    runs = [cli(config, "deliver"), cli(config, "deliver")]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert runs[0].stdout.startswith("3 messages: 3 rows sent") and runs[1].stdout.startswith("0 messages")
    assert sorted(key_of(p["title"]) for p in hooks.to("/ana")) == ["409", "410", "411"]
    assert {(r.status, r.attempts) for r in rows().values()} == {("sent", 1)}
    engine.dispose()


SLOTS = 2  # [delivery] concurrency in the tests below: fewer than the alerts owed


def everything_to(hooks, count: int) -> list[dict]:
    """``count`` subscribers told of every draw (three alerts each), each on its own webhook
    path. ``rto``: Apprise gives up reading an answer after 4 s by default, which would
    end a held request on its own on a slow machine."""
    return [{"name": f"s{i}", "urls": [hooks.json_url(f"/s{i}", "rto=60")], "notify": ["all"]} for i in range(count)]


def received(hooks, count: int) -> list[tuple[str, str]]:
    """(path, draw key) of every alert the webhooks answered."""
    return [(f"/s{i}", key_of(p["title"])) for i in range(count) for p in hooks.to(f"/s{i}")]


def test_a_killed_deliverer_holds_back_only_the_messages_it_was_sending(tmp_path, store_engine, hooks):
    """12 alerts owed, ``concurrency = 2``: a ``deliver`` process SIGKILLed while the
    channel holds its two requests unanswered leaves those two rows claimed and nothing
    else. A deliverer started at once sends the other ten; the two go out once their
    claim is ``lease`` (the default 300 s) old. The channel receives every alert, and
    only the two it was holding when the process died come twice."""
    engine = store_engine
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{engine.url.render_as_string(hide_password=False)}"\n'
                      f'[delivery]\ntimeout = 30\nconcurrency = {SLOTS}\n', encoding="utf-8")
    store_with(engine, *everything_to(hooks, 4))
    owed = {(f"/s{i}", k) for i in range(4) for k in HEADLINE}
    hooks.hanging.update(f"/s{i}" for i in range(4))
    proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config), "deliver"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        hooks.wait_held(SLOTS)
        time.sleep(0.3)  # room for a third send to start, were more claimed than were sent
    finally:
        proc.kill()  # SIGKILL: nothing settled, nothing given back
        proc.wait()
    in_flight = len(hooks.held)
    assert in_flight == SLOTS, proc.stderr.read()
    with open_session(engine) as s:
        rows = s.exec(select(Notification)).all()
    assert sorted(r.status for r in rows) == ["pending"] * 10 + ["sending"] * SLOTS
    expires = max(r.claimed_at for r in rows if r.status == "sending") + dt.timedelta(seconds=300)
    hooks.unhang()

    # Restarted at once: all but the held two, now, well within their lease.
    loaded = load_config(config)
    report = asyncio.run(deliver_due(engine, loaded))
    assert (report.messages, report.sent) == (10, 10)
    assert utcnow() < expires
    assert len(received(hooks, 4)) == 10
    assert deliver(engine, loaded, now=expires - dt.timedelta(seconds=1)).messages == 0

    # Once the lease is over (the clock driven there): the held two, and that is all.
    report = deliver(engine, loaded, now=expires + dt.timedelta(seconds=1))
    assert (report.messages, report.sent) == (SLOTS, SLOTS)
    assert deliver(engine, loaded, now=expires + dt.timedelta(days=1)).messages == 0

    got = received(hooks, 4)
    assert set(got) == owed  # every alert, at least once
    # What the channel took: the requests it answered, and those it held when the process
    # died (read in full: as far as the channel is concerned, delivered).
    assert len(got) + in_flight - len(owed) <= SLOTS
    with open_session(engine) as s:
        assert {(r.status, r.attempts) for r in s.exec(select(Notification))} == {("sent", 1)}


def test_two_deliverers_at_once_never_send_the_same_alert(store_engine, hooks):
    """Two rounds running side by side, each claiming two messages at a time from the
    same 30 alerts: each alert is sent by exactly one of them."""
    store_with(store_engine, *everything_to(hooks, 10))
    config = settings(concurrency=SLOTS)
    reports: list = [None, None]

    def run(i: int) -> None:
        reports[i] = asyncio.run(deliver_due(store_engine, config))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    got = received(hooks, 10)
    assert len(got) == len(set(got)) == 30
    assert sorted(r.sent for r in reports) == sorted(r.messages for r in reports)
    assert sum(r.sent for r in reports) == 30 and all(r.sent for r in reports)  # both took part


def test_a_cancelled_round_gives_its_claims_back(engine, hooks):
    """The service's shutdown timeout cancels a round: the messages it was sending go
    back to ``pending`` at once (no attempt counted), not after the lease."""
    store_with(engine, *everything_to(hooks, 2))
    hooks.hanging.update(("/s0", "/s1"))
    config = settings(concurrency=SLOTS)

    async def cut_short() -> None:
        task = asyncio.create_task(deliver_due(engine, config))
        await asyncio.to_thread(hooks.wait_held, SLOTS)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with open_session(engine) as s:
            rows = s.exec(select(Notification)).all()
        assert {(r.status, r.claim, r.attempts) for r in rows} == {("pending", None, 0)}
        hooks.unhang()  # the sends cut short were left in Apprise's worker threads

    asyncio.run(cut_short())
    assert deliver(engine, config).sent == 6
    assert sorted(received(hooks, 2)) == sorted((f"/s{i}", k) for i in range(2) for k in HEADLINE)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_digest_is_one_message_once_its_time_has_come(engine, hooks, concurrency):
    """The digest time is read in the subscriber's time zone: two hours from now in
    Toronto, written as Toronto wall-clock time (read as UTC it would be hours off).
    With one slot, the digest's three rows are still claimed together, as one message."""
    slot = (utcnow() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    at = slot.astimezone(ZoneInfo("America/Toronto")).strftime("%H:%M")
    store_with(engine,
               {"name": "dana", "urls": [hooks.json_url("/dana"), hooks.json_url("/dana-md", "format=markdown")],
                "notify": ["all"], "delivery": "digest",
                "digest_time": at, "timezone": "America/Toronto"},
               {"name": "ivan", "urls": [hooks.json_url("/ivan")], "notify": ["all"]})
    config = settings(concurrency=concurrency)
    t0 = utcnow()

    report = deliver(engine, config, now=t0)
    assert (report.messages, report.sent) == (3, 3)  # ivan's immediate alerts only
    assert len(hooks.to("/ivan")) == 3 and hooks.to("/dana") == []
    assert {r.status for r in outbox(engine, "dana").values()} == {"pending"}
    assert deliver(engine, config, now=slot - dt.timedelta(seconds=1)).messages == 0

    report = deliver(engine, config, now=slot)
    assert (report.messages, report.sent) == (1, 3)  # one message for three rows
    [digest] = hooks.to("/dana")
    assert digest["title"] == "drawwatch digest: 3 draws for you"
    body = digest["message"]
    assert body.startswith("Hello dana,\n\n3 updates since your last digest.")
    for key in ("409", "410", "411"):
        assert HEADLINE[key] in body and f"Official page: {OFFICIAL.format(key)}" in body
    [marked] = hooks.to("/dana-md")
    html = markdown.markdown(marked["message"])
    assert html.count("<li><strong>Express Entry round #") == 3 and "<ol>" in html
    assert f'<a href="{OFFICIAL.format(409)}">official page</a>' in html
    assert {r.status for r in outbox(engine, "dana").values()} == {"sent"}
    assert deliver(engine, config, now=slot + dt.timedelta(days=1)).messages == 0
    assert len(hooks.to("/dana")) == 1


def test_every_slot_has_its_send_in_flight(engine, hooks):
    """``concurrency = 40``, 42 alerts on a channel that holds every request: 40 requests are
    held at once, no more. (Sent through Apprise's own pool, at most CPU count + 4 and never
    more than 32 would be in flight, whatever the setting.)"""
    store_with(engine, *everything_to(hooks, 14))
    hooks.hanging.update(f"/s{i}" for i in range(14))
    config = settings(concurrency=40)

    async def held_then_cancelled() -> None:
        task = asyncio.create_task(deliver_due(engine, config))
        await asyncio.to_thread(hooks.wait_held, 40, 60)
        await asyncio.sleep(0.3)  # room for a 41st, were more sent than slots
        assert len(hooks.held) == 40
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        hooks.unhang()

    asyncio.run(held_then_cancelled())
    assert deliver(engine, settings()).sent == 42
    assert len(set(received(hooks, 14))) == 42
