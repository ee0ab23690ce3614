"""Channels that rate-limit, for real: a webhook on 127.0.0.1 answering HTTP 429 with a
Retry-After, and a local SMTP server (aiosmtpd) answering 421 or 451. The channel that
asked waits (no attempt counted, its other messages not even tried); every other channel
is sent to at once. Alerts are those of the real Express Entry snapshots (tests/test_delivery.py).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler

import pytest

from notifier.ratelimit import wait_seconds
from store.models import utcnow
from tests.servers import loopback_server, stop_server
from tests.service_harness import Mailbox
from tests.test_delivery import HEADLINE, deliver, outbox, settings, store_with

EVERYTHING = {"notify": ["all"]}  # the three new draws: three alerts per subscriber


class LimitingHook:
    """A webhook that answers each path's configured status (with its Retry-After), and counts every request."""

    def __init__(self):
        self.answer: dict[str, tuple[int, str | None]] = {}  # path -> (status, Retry-After)
        self.requests: Counter = Counter()
        self.accepted: Counter = Counter()
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, retry_after = hook.answer.get(self.path, (200, None))
                with hook._lock:
                    hook.requests[self.path] += 1
                    if status < 300:
                        hook.accepted[self.path] += 1
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = loopback_server(Handler)
        self.port = self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}{path}"


@pytest.fixture
def hook():
    server = LimitingHook()
    yield server
    stop_server(server.server)


def test_a_webhook_answering_429_waits_for_its_retry_after_and_holds_back_no_one_else(engine, hook, send_processes):
    hook.answer["/busy"] = (429, "120")
    store_with(engine, {"name": "busy", "urls": [hook.url("/busy")], **EVERYTHING},
               {"name": "calm", "urls": [hook.url("/calm")], **EVERYTHING})
    # One at a time: the channel's other alerts come after it answered.
    config = settings(concurrency=1, backoff=60, send_processes=send_processes)
    t0 = utcnow()

    report = deliver(engine, config, now=t0)
    assert (report.messages, report.sent, report.retrying, report.failed) == (6, 3, 3, 0)
    assert hook.accepted["/calm"] == 3  # the other channel, at once
    assert hook.requests["/busy"] == 1  # asked once; its next two alerts were not even tried
    waiting = outbox(engine, "busy")
    assert sorted(waiting) == sorted(HEADLINE)
    for row in waiting.values():
        # Retry-After: 120 honoured over the 60 s backoff; the channel said "later", not "no".
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, t0 + dt.timedelta(seconds=120))
        assert "rate-limited" in row.last_error
    assert sum("HTTP 429 (Retry-After: 120)" in r.last_error for r in waiting.values()) == 1

    assert deliver(engine, config, now=t0 + dt.timedelta(seconds=119)).messages == 0
    hook.answer["/busy"] = (200, None)
    report = deliver(engine, config, now=t0 + dt.timedelta(seconds=120))
    assert (report.messages, report.sent) == (3, 3)
    assert (hook.requests["/busy"], hook.accepted["/busy"], hook.accepted["/calm"]) == (4, 3, 3)
    assert {(r.status, r.attempts) for r in outbox(engine, "busy").values()} == {("sent", 1)}


def test_a_429_without_retry_after_waits_the_backoff_and_never_fails_the_alert(engine, hook):
    """``max_attempts = 1``: a real failure would fail the alert for good at once; a rate
    limit counts no attempt, so the alert is still owed after three refusals."""
    hook.answer["/busy"] = (429, None)
    store_with(engine, {"name": "busy", "urls": [hook.url("/busy")], **EVERYTHING})
    config = settings(concurrency=1, backoff=30, max_attempts=1)
    t0 = utcnow()
    for i in range(3):
        report = deliver(engine, config, now=t0 + dt.timedelta(seconds=30 * i))
        assert (report.messages, report.retrying, report.failed) == (3, 3, 0)
    assert hook.requests["/busy"] == 3  # one per round: the first answer closes the channel for that round
    rows = outbox(engine, "busy").values()
    assert {(r.status, r.attempts, r.next_attempt_at) for r in rows} == {("pending", 0, t0 + dt.timedelta(seconds=90))}


class BusyMailbox(Mailbox):
    """An SMTP server that answers DATA with ``code`` ("try again later") while ``busy``."""

    def __init__(self, code: int):
        super().__init__()
        self.code, self.busy, self.refused = code, True, 0

    async def handle_DATA(self, server, session, envelope):
        if self.busy:
            self.refused += 1
            return f"{self.code} 4.3.2 Too busy, try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("code", [421, 451])
def test_a_mail_server_answering_try_later_holds_back_its_mail_only(engine, hook, mailbox, code, send_processes):
    """Two subscribers mail through the busy server: it is one channel, so after its first
    refusal the rest of its mail waits untried. Mail through another server and a webhook
    go out at once."""
    busy = BusyMailbox(code).start()
    try:
        store_with(engine,
                   {"name": "ana", "urls": [busy.url("ana@example.org")], **EVERYTHING},
                   {"name": "ben", "urls": [busy.url("ben@example.org")], **EVERYTHING},
                   {"name": "cy", "urls": [mailbox.url("cy@example.org")], **EVERYTHING},
                   {"name": "dee", "urls": [hook.url("/dee")], **EVERYTHING})
        config = settings(concurrency=1, backoff=60, send_processes=send_processes)
        t0 = utcnow()
        report = deliver(engine, config, now=t0)
        assert (report.messages, report.sent, report.retrying, report.failed) == (12, 6, 6, 0)
        assert busy.refused == 1 and busy.messages == []
        assert len(mailbox.wait("cy@example.org", 3)) == 3 and hook.accepted["/dee"] == 3
        for name in ("ana", "ben"):
            rows = outbox(engine, name).values()
            assert {(r.status, r.attempts, r.next_attempt_at) for r in rows} == {
                ("pending", 0, t0 + dt.timedelta(seconds=60))}
        errors = [r.last_error for name in ("ana", "ben") for r in outbox(engine, name).values()]
        assert sum(f"SMTP {code}" in e for e in errors) == 1 and all("rate-limited" in e for e in errors)

        busy.busy = False
        report = deliver(engine, config, now=t0 + dt.timedelta(seconds=60))
        assert (report.messages, report.sent) == (6, 6)
        assert len(busy.wait("ana@example.org", 3)) == 3 and len(busy.wait("ben@example.org", 3)) == 3
        assert len(mailbox.to("cy@example.org")) == 3  # nothing twice
    finally:
        busy.stop()


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = dt.datetime(2026, 4, 21, 12, 0, tzinfo=dt.timezone.utc)
    assert wait_seconds("120", now) == 120.0
    later = email.utils.format_datetime(now + dt.timedelta(seconds=90), usegmt=True)  # "Tue, 21 Apr 2026 12:01:30 GMT"
    assert wait_seconds(later, now) == 90.0
    assert wait_seconds(email.utils.format_datetime(now - dt.timedelta(hours=1), usegmt=True), now) == 0.0
    assert wait_seconds("soon", now) is None and wait_seconds(None, now) is None


def test_each_mail_account_is_a_channel_of_its_own():
    """Subscribers who mail through their own accounts on one server (each their Gmail):
    one account told to wait holds back that account's mail, not the others'."""
    from notifier.ratelimit import channel_key
    from notifier.send import plugin_for

    ana, ana_to_x, ben = (channel_key(plugin_for(u)) for u in (
        "mailto://ana:app-pw@gmail.com", "mailto://ana:app-pw@gmail.com?to=x@example.org",
        "mailto://ben:app-pw@gmail.com"))
    assert ana == ana_to_x and ana != ben
    assert "app-pw" not in ana
