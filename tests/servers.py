"""Real servers on 127.0.0.1 for tests and benchmarks: a static HTTP site with
ETag / Last-Modified, whose pages a test can swap, break or block while it runs."""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog of 5 drops the SYNs of a burst of connections (a deliverer
    # at concurrency 40 opens 40 at once); the kernel resends them only after 1 s, then 3 s,
    # so a send could outlast its 5 s answer timeout without the server ever seeing it. A real
    # web server listens with a backlog in the hundreds.
    request_queue_size = 256


def loopback_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """``handler`` answering on 127.0.0.1 (a free port), from a daemon thread."""
    server = _Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_server(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


@dataclass
class Page:
    body: bytes
    content_type: str = "application/json"
    status: int = 200
    delay: float = 0.0  # seconds before answering (timeouts)
    last_modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class Site:
    """Paths -> pages; every request is logged as (path, status, request headers)."""

    def __init__(self):
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, int, dict[str, str]]] = []
        self._server: ThreadingHTTPServer | None = None

    def put(self, path: str, body: bytes, content_type: str = "application/json", status: int = 200,
            delay: float = 0.0) -> None:
        self.pages[path] = Page(body, content_type, status, delay)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def hits(self, path: str) -> list[tuple[int, dict[str, str]]]:
        return [(status, headers) for p, status, headers in self.requests if p == path]

    def start(self) -> "Site":
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                page = site.pages.get(path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if page is None:
                    status = 404
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    if page.delay:
                        time.sleep(page.delay)
                    last_modified = formatdate(page.last_modified, usegmt=True)
                    if page.status == 200 and headers.get("if-none-match") == page.etag:
                        status = 304
                        self.send_response(304)
                        self.send_header("ETag", page.etag)
                        self.end_headers()
                    else:
                        status = page.status
                        self.send_response(page.status)
                        self.send_header("Content-Type", page.content_type)
                        self.send_header("Content-Length", str(len(page.body)))
                        if page.status == 200:
                            self.send_header("ETag", page.etag)
                            self.send_header("Last-Modified", last_modified)
                        self.end_headers()
                        try:
                            self.wfile.write(page.body)
                        except (BrokenPipeError, ConnectionResetError):
                            pass
                site.requests.append((path, status, headers))

        self._server = loopback_server(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)
