"""A real HTTP server on 127.0.0.1 that takes webhook POSTs (Slack-style, Mattermost,
Rocket.Chat, Apprise's json://) and keeps each payload it accepted.

A path can be made to answer an error status, or to hang: read the request and never
answer (a channel that stalls mid-send, so a deliverer can be killed in that window).
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import loopback_server, stop_server


class Webhooks:
    def __init__(self):
        self.accepted: list[tuple[str, dict]] = []  # (path, JSON payload) answered 2xx
        self.status: dict[str, int] = {}  # path -> status to answer instead of 200
        self.hanging: set[str] = set()  # paths that read the request and never answer
        self.held: list[str] = []  # paths of requests left hanging
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def start(self) -> "Webhooks":
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                path = self.path.split("?", 1)[0]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if path in hooks.hanging:
                    with hooks._lock:
                        hooks.held.append(path)
                    hooks._release.wait(60)
                    self.close_connection = True
                    return  # no answer at all: the sender never learns the outcome
                status = hooks.status.get(path, 200)
                if status < 300:
                    with hooks._lock:
                        hooks.accepted.append((path, json.loads(body or b"{}")))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = loopback_server(Handler)
        self.port = self._server.server_address[1]
        return self

    def stop(self) -> None:
        self._release.set()
        stop_server(self._server)

    def unhang(self) -> None:
        """Answer normally from now on; requests left hanging are dropped unanswered."""
        self.hanging.clear()
        self._release.set()

    def json_url(self, path: str, query: str = "") -> str:
        return f"json://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def mattermost_url(self, token: str) -> str:
        """Apprise's Mattermost incoming webhook: POSTs {"text": ...} to /hooks/<token>."""
        return f"mmost://127.0.0.1:{self.port}/{token}"

    def rocketchat_url(self, hook_id: str, secret: str) -> str:
        """Rocket.Chat incoming webhook (Slack-compatible {"text": ...}) at /hooks/<id>/<secret>."""
        return f"rocket://{hook_id}/{secret}@127.0.0.1:{self.port}"

    def to(self, path: str) -> list[dict]:
        with self._lock:
            return [payload for p, payload in self.accepted if p == path]

    def wait_held(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.held) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"{len(self.held)} request(s) held after {timeout}s, wanted {count}")
