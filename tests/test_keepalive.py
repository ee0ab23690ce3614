"""The deliverer keeps its HTTP connections open (notifier.keepalive), for real: a webhook on
127.0.0.1 speaking HTTP/1.1 counts the TCP connections a round of real Express Entry alerts
came over, and sets a cookie no later message may carry; a proxy named in the environment
is still used; a connection the server dropped is not reused. Apprise sends every
message, as in production.
"""
from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from notifier.send import send_to_url
from tests.servers import loopback_server, stop_server
from tests.test_delivery import CEC_520, deliver, outbox, settings, store_with


class Recorder:
    """An HTTP/1.1 server that answers 200 (with a cookie) and keeps, per request, the
    client's port (one per TCP connection), the request line and the Cookie header; with
    ``hang_up``, it closes each connection after answering."""

    def __init__(self, hang_up: bool = False):
        self.seen: list[tuple[int, str, str | None]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections stay open unless a side closes them

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder._lock:
                    recorder.seen.append((self.client_address[1], self.requestline, self.headers.get("Cookie")))
                self.send_response(200)
                self.send_header("Set-Cookie", "visitor=" + self.path.strip("/").replace("/", "-") + "; Path=/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                # A server that drops an idle connection without having said so (no
                # "Connection: close"), as a channel's load balancer does after a while.
                self.close_connection = hang_up

        self.server = loopback_server(Handler)
        self.port = self.server.server_address[1]

    def stop(self) -> None:
        stop_server(self.server)


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.stop()


def test_a_round_goes_over_kept_connections_and_no_cookie_rides_along(engine, recorder):
    profiles = [{"name": f"s{i}", "urls": [f"json://127.0.0.1:{recorder.port}/s{i}"], **CEC_520} for i in range(4)]
    store_with(engine, *profiles)
    report = deliver(engine, settings(concurrency=2))
    assert report.sent == 8 and report.failed == report.retrying == 0  # draws 410 and 411 each
    assert all(note.status == "sent" for p in profiles for note in outbox(engine, p["name"]).values())
    assert len(recorder.seen) == 8
    # Two messages in flight at most: two connections at most, not one per message.
    assert len({port for port, _, _ in recorder.seen}) <= 2, recorder.seen
    # Every answer set a cookie; a fresh session per message would never send one back.
    assert [cookie for _, _, cookie in recorder.seen] == [None] * 8


def test_a_connection_the_server_dropped_is_not_reused():
    recorder = Recorder(hang_up=True)
    try:
        url = f"json://127.0.0.1:{recorder.port}/hook"
        for _ in range(3):
            outcome = asyncio.run(send_to_url(url, "test", {"subscriber": "s"}, settings()))
            assert outcome.ok, outcome.error
            time.sleep(0.05)  # the server has hung up by the next message
    finally:
        recorder.stop()
    assert len(recorder.seen) == 3 and len({port for port, _, _ in recorder.seen}) == 3


def test_a_proxy_named_in_the_environment_is_used(monkeypatch, recorder):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{recorder.port}")
    # A host that resolves nowhere: only the proxy can have taken these.
    url = "json://alerts.drawwatch-test.invalid/hook"
    for _ in range(2):
        outcome = asyncio.run(send_to_url(url, "test", {"subscriber": "s"}, settings()))
        assert outcome.ok, outcome.error
    assert [line for _, line, _ in recorder.seen] == ["POST http://alerts.drawwatch-test.invalid/hook HTTP/1.1"] * 2
