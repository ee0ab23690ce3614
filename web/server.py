"""Serving the web app with uvicorn: on its own (``drawwatch web``), or inside the
service's event loop (``drawwatch serve`` with ``[web] enabled = true``), where the
service keeps its own signal handling."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from sqlalchemy.engine import Engine

from store.config import DatabaseSettings
from web.config import WebSettings

log = logging.getLogger(__name__)


def _socket(settings: WebSettings) -> socket.socket:
    """The listening socket, bound here so that a taken port is an OSError to report in
    one line (uvicorn would log it and exit the process)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host.strip("[]"), settings.port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _server(engine: Engine, settings: WebSettings, *, own_signals: bool):
    import uvicorn

    from web.app import create_app

    class Server(uvicorn.Server):
        def capture_signals(self):
            # In the service the loop's SIGTERM/SIGINT handlers stop everything, this too.
            return super().capture_signals() if own_signals else contextlib.nullcontext()

    # No access log: a ?token= in a request line must not reach a log; drawwatch's own
    # logging is set up once by the command line (log_config=None).
    config = uvicorn.Config(create_app(engine, settings), log_config=None, access_log=False, lifespan="off",
                            server_header=False, timeout_graceful_shutdown=5)
    # uvicorn's access_log=False only unhooks the logger, which logs again once anything
    # hands it a handler (a test's capture does): off for good.
    logging.getLogger("uvicorn.access").disabled = True
    return Server(config)


def _where(settings: WebSettings, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def run(engine: Engine, settings: WebSettings) -> None:
    """Serve until SIGINT/SIGTERM. Raises OSError when the address cannot be bound."""
    sock = _socket(settings)
    server = _server(engine, settings, own_signals=True)
    log.info("web page on %s (read-only; Ctrl-C to stop)", _where(settings, sock))
    try:
        with sock:
            asyncio.run(server.serve(sockets=[sock]))
    finally:
        server.config.app.state.charts.close()


class Embedded:
    """The web page running as a task of the caller's event loop."""

    def __init__(self, engine: Engine, settings: WebSettings):
        self.settings = settings
        self.sock = _socket(settings)
        self.server = _server(engine, settings, own_signals=False)
        self.task: asyncio.Task | None = None
        self.own_engine: Engine | None = None  # let go of at stop (``reading``)

    @classmethod
    def reading(cls, database: DatabaseSettings, settings: WebSettings) -> "Embedded":
        """The page on an engine of its own that only reads ``database``, as ``drawwatch
        web``'s (store.db): the service's engine writes, and the page has nothing to write."""
        from store.db import make_engine

        engine = make_engine(database.url, read_only=True, lock_timeout=database.lock_timeout)
        try:
            page = cls(engine, settings)
        except BaseException:  # the port is taken: no connection left behind either
            engine.dispose()
            raise
        page.own_engine = engine
        return page

    @property
    def url(self) -> str:
        return _where(self.settings, self.sock)

    def start(self) -> "Embedded":
        self.task = asyncio.get_running_loop().create_task(self.server.serve(sockets=[self.sock]), name="web")
        log.info("web page on %s", self.url)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
        self.sock.close()
        self.server.config.app.state.charts.close()  # before its engine goes
        if self.own_engine is not None:
            self.own_engine.dispose()
