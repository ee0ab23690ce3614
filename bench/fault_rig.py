"""The rig of bench/faults.py: loopback servers, the real CLI as a child process, store
snapshots on SQLite or PostgreSQL, and what a store holds, read from outside.

Everything here observes drawwatch from the outside (its HTTP requests, its exit code
and output, its database rows), so the harness measures whatever the tree does.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.service_harness import free_port as closed_port  # noqa: F401  (bound, then released: nothing listens)

ROOT = Path(__file__).resolve().parent.parent
TRACEBACK = "Traceback (most recent call last)"


# -- loopback HTTP ------------------------------------------------------------------------


@dataclass
class Answer:
    """How a path answers: a body with a status, after ``delay`` seconds; ``cut`` sends
    the full Content-Length but only that many bytes of the body, then closes."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"
    delay: float = 0.0
    cut: int | None = None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        pass  # a client killed mid-request resets its connection: expected here, not news


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = _QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class FeedSite:
    """A source site on 127.0.0.1 with ETag/304 like the real ones; it notes the moment
    each request arrives (before answering), which is what a kill is timed from."""

    def __init__(self):
        self.answers: dict[str, Answer] = {}
        self.arrivals: list[tuple[str, float]] = []  # (path, time.monotonic())
        self.served: dict[int, float] = {}  # arrival index -> when the answer's last byte was written
        self._arrived = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with site._arrived:
                    index = len(site.arrivals)
                    site.arrivals.append((path, time.monotonic()))
                    site._arrived.notify_all()
                try:
                    self._answer(path)
                finally:
                    site.served[index] = time.monotonic()

            def _answer(self, path):
                answer = site.answers.get(path)
                if answer is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if answer.delay:
                    time.sleep(answer.delay)
                # A fresh ETag per answer: a cut or slow answer is a new response, not "unchanged".
                etag = f'"{abs(hash((answer.body, answer.cut, answer.delay, answer.content_type))):x}"'
                try:
                    if answer.status == 200 and self.headers.get("If-None-Match") == etag:
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.end_headers()
                        return
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    if answer.status == 200:
                        self.send_header("ETag", etag)
                    self.end_headers()
                    self.wfile.write(answer.body if answer.cut is None else answer.body[:answer.cut])
                    if answer.cut is not None:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                except OSError:  # the client gave up (timeout, killed): nothing to tell it
                    pass

        self._server = _serve(Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def put(self, path: str, answer: Answer) -> None:
        self.answers[path] = answer

    def mark(self) -> int:
        with self._arrived:
            return len(self.arrivals)

    def wait_request(self, path: str, since: int, timeout: float) -> float | None:
        """When the first request for ``path`` after mark ``since`` arrived (None: none came)."""
        found = self._first(path, since, timeout)
        return None if found is None else self.arrivals[found][1]

    def served_at(self, path: str, since: int) -> float | None:
        """When the answer to that request was fully written (None: not yet, or never)."""
        found = self._first(path, since, 0)
        return None if found is None else self.served.get(found)

    def _first(self, path: str, since: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for i, (p, _) in enumerate(self.arrivals[since:], since):
                    if p == path:
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SlowSink:
    """A webhook on 127.0.0.1 that takes ``latency`` seconds to answer each POST and
    keeps what it received (path, message title), counted on arrival: once the request
    is in, the message has reached the channel, whether or not the sender hears back."""

    def __init__(self, latency: float):
        self.latency = latency
        self.received: list[tuple[str, str]] = []
        self._lock = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    title = str(json.loads(body or b"{}").get("title", ""))
                except ValueError:
                    title = body[:200].decode("utf-8", "replace")
                with sink._lock:
                    sink.received.append((self.path.split("?", 1)[0], title))
                    sink._lock.notify_all()
                time.sleep(sink.latency)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

        self._server = _serve(Handler)
        self.port = self._server.server_address[1]

    def mark(self) -> int:
        with self._lock:
            return len(self.received)

    def since(self, mark: int) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.received[mark:])

    def wait_post(self, since: int, timeout: float) -> float | None:
        """time.monotonic() soon after the first POST past mark ``since`` (None: none came)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) <= since:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(left)
        return time.monotonic()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the CLI under test -------------------------------------------------------------------


@dataclass
class Run:
    """One finished ``drawwatch`` process."""

    code: int | None  # None: killed by the harness (SIGKILL or its time limit)
    out: str
    err: str
    seconds: float
    timed_out: bool = False

    @property
    def text(self) -> str:
        return self.out + "\n" + self.err

    @property
    def traceback(self) -> bool:
        return TRACEBACK in self.text

    def leaks(self, secrets: list[str]) -> list[str]:
        return [s for s in secrets if s in self.text]

    def last_line(self) -> str:
        lines = [ln for ln in (self.err.strip() or self.out.strip()).splitlines() if ln.strip()]
        return lines[-1][:160] if lines else ""


# Run before drawwatch's own entry point in a ``python -c`` child: makes ``import psycopg``
# fail exactly as it does where the package is not installed.
BLOCK_PSYCOPG = """
import sys
class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg2", "psycopg_binary", "psycopg_c"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
"""

# A file-size limit on the child: writes past it fail with EFBIG, the closest a test can
# get to a full disk without mounting a small filesystem.
FILE_SIZE_LIMIT = """
import resource
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""

_MAIN = "import runpy, sys\nsys.argv[0] = 'drawwatch'\nrunpy.run_module('scheduler', run_name='__main__', alter_sys=True)\n"


def without_dac_override() -> list[str]:
    """A command prefix under which root obeys file permissions like any owner (its
    capabilities to override them dropped), so read-only files stay read-only; empty
    when not root."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search,-fowner,-linux_immutable"
    return ["setpriv", "--inh-caps=-all", f"--bounding-set={caps}", "--"]


def command(config: Path, *args: str, prelude: str = "", prefix: list[str] = ()) -> list[str]:
    """argv of ``drawwatch --config CONFIG ARGS`` from this tree, with ``prelude`` code run first."""
    if prelude:
        return [*prefix, sys.executable, "-c", prelude + _MAIN, "--config", str(config), *args]
    return [*prefix, sys.executable, "-m", "scheduler", "--config", str(config), *args]


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DRAWWATCH_CONFIG", None)
    return env


def start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, errors="replace")


def finish(proc: subprocess.Popen, started: float, timeout: float) -> Run:
    """Wait for ``proc`` (SIGKILL after ``timeout``) and collect what it printed."""
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, err = proc.communicate()
    code = None if timed_out or proc.returncode == -9 else proc.returncode
    return Run(code, out, err, time.monotonic() - started, timed_out)


def run(argv: list[str], timeout: float = 120) -> Run:
    started = time.monotonic()
    return finish(start(argv), started, timeout)


# -- stores -------------------------------------------------------------------------------


def sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy of the SQLite database ``src`` at ``dst`` (SQLite's online backup)."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


class SqliteStores:
    """Named SQLite databases in one folder; a snapshot is an online backup copy."""

    kind = "sqlite"

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.db"

    def url(self, name: str) -> str:
        return f"sqlite:///{self.path(name)}"

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(name)}{suffix}").unlink(missing_ok=True)

    def copy(self, src: str, dst: str) -> None:
        self.drop(dst)
        sqlite_copy(self.path(src), self.path(dst))

    def integrity(self, name: str) -> list[str]:
        """What SQLite finds wrong with the file (empty: nothing)."""
        try:
            conn = sqlite3.connect(self.path(name), timeout=10)
            try:
                rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
                problems = [] if rows == ["ok"] else rows[:5]
                problems += [f"foreign key: {r}" for r in conn.execute("PRAGMA foreign_key_check").fetchmany(5)]
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            problems = [f"cannot open: {exc}"]
        return problems

    def close(self) -> None:
        pass


class PostgresStores:
    """Databases on a throw-away PostgreSQL server (tests/pg.py); a snapshot is a
    database created from another as its template."""

    kind = "postgresql"

    def __init__(self):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from tests.pg import PostgresServer, find_bindir

        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL is not installed (no initdb found)")
        self.server = PostgresServer(bindir)
        self.base_url = self.server.start()
        self.admin = create_engine(self.base_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def url(self, name: str) -> str:
        return self.base_url.rsplit("/", 1)[0] + f"/{name}"

    def _exec(self, sql: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        # A killed client's backend may take a moment to leave a database it used.
        for attempt in range(50):
            try:
                with self.admin.connect() as conn:
                    conn.execute(text(sql))
                return
            except OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def drop(self, name: str) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create(self, name: str) -> None:
        self.drop(name)
        self._exec(f'CREATE DATABASE "{name}"')

    def copy(self, src: str, dst: str) -> None:
        self.drop(dst)
        self._exec(f'CREATE DATABASE "{dst}" TEMPLATE "{src}"')

    def integrity(self, name: str) -> list[str]:
        return []  # PostgreSQL has no PRAGMA integrity_check; its WAL recovery is not ours to test

    def close(self) -> None:
        self.admin.dispose()
        self.server.stop()


# -- what a store holds -------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """A store's contents as a user would judge them after a crawl: the draws and their
    facts, revisions, occupations, notices, page validators and the outbox.

    Crawl runs are kept apart: a failed or held crawl records one, and that is allowed.
    """

    draws: frozenset = frozenset()  # (source, key, content_hash)
    revisions: int = 0
    drawnocs: int = 0
    notices: frozenset = frozenset()  # (source, key, content_hash)
    pages: frozenset = frozenset()  # (url, etag)
    outbox: tuple = ()  # sorted (subscriber, source, key, ref)
    runs: tuple = field(default=(), compare=False)  # (id, source, outcome)
    exists: bool = True

    def facts(self) -> tuple:
        return (self.draws, self.revisions, self.drawnocs, self.notices, self.pages, self.outbox)

    def differs(self, other: "State") -> list[str]:
        """The parts in which two states differ."""
        names = ("draws", "revisions", "occupations", "notices", "pages", "outbox")
        return [n for n, a, b in zip(names, self.facts(), other.facts()) if a != b]

    def alerts(self) -> Counter:
        return Counter(self.outbox)

    def new_runs(self, before: "State") -> list[tuple]:
        seen = {r[0] for r in before.runs}
        return [r for r in self.runs if r[0] not in seen]


_QUERIES = {
    "draws": "SELECT source, key, content_hash FROM draw",
    "revisions": "SELECT count(*) FROM drawrevision",
    "drawnocs": "SELECT count(*) FROM drawnoc",
    "notices": "SELECT source, key, content_hash FROM notice",
    "pages": "SELECT url, etag FROM pagestate",
    "outbox": "SELECT s.name, d.source, d.key, n.ref FROM notification n "
              "JOIN subscriber s ON s.id = n.subscriber_id JOIN draw d ON d.id = n.draw_id",
    "runs": "SELECT id, source, outcome FROM crawlrun ORDER BY id",
}


def read_state(url: str) -> State:
    """What the store at ``url`` holds (an empty, ``exists=False`` state when it has no schema)."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if "draw" not in inspect(conn).get_table_names():
                return State(exists=False)
            got = {k: conn.execute(text(q)).all() for k, q in _QUERIES.items()}
    finally:
        engine.dispose()
    return State(draws=frozenset(map(tuple, got["draws"])), revisions=got["revisions"][0][0],
                 drawnocs=got["drawnocs"][0][0], notices=frozenset(map(tuple, got["notices"])),
                 pages=frozenset(map(tuple, got["pages"])), outbox=tuple(sorted(map(tuple, got["outbox"]))),
                 runs=tuple(map(tuple, got["runs"])))


def pending_rows(url: str) -> int:
    """Outbox rows not yet marked delivered, withdrawn or failed."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM notification "
                                     "WHERE status NOT IN ('sent', 'withdrawn', 'failed')")).scalar_one()
    finally:
        engine.dispose()


# -- the real feeds, and real feeds gone wrong ---------------------------------------------


def _rounds(feed: bytes) -> dict:
    return json.loads(feed)


def renumbered(feed: bytes) -> bytes:
    """Every drawNumber one higher ("91a" -> "92a"), all else as published."""
    doc = _rounds(feed)
    for r in doc["rounds"]:
        m = re.fullmatch(r"(\d+)(.*)", str(r["drawNumber"]))
        if m:
            r["drawNumber"] = f"{int(m.group(1)) + 1}{m.group(2)}"
    return json.dumps(doc).encode()


def numbers_as_numbers(feed: bytes) -> bytes:
    """``"drawCRS": "419"`` -> ``"drawCRS": 419`` on every round (a JSON number where IRCC sends a string)."""
    doc = _rounds(feed)
    for r in doc["rounds"]:
        if str(r.get("drawCRS", "")).isdigit():
            r["drawCRS"] = int(r["drawCRS"])
    return json.dumps(doc).encode()


def without_rounds(feed: bytes) -> bytes:
    """The feed with every round removed (``"rounds": []``)."""
    doc = _rounds(feed)
    doc["rounds"] = []
    return json.dumps(doc).encode()


class Progress:
    """A cheap look at a store, polled while a crawl runs: it changes when the crawl's
    write commits (draws, outbox rows, revisions or the page's validator)."""

    QUERY = ("SELECT (SELECT count(*) FROM draw), (SELECT count(*) FROM notification), "
             "(SELECT count(*) FROM drawrevision), (SELECT max(etag) FROM pagestate)")

    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.engine = create_engine(url, poolclass=NullPool)
        self.conn = self.engine.connect()

    def read(self) -> tuple | None:
        from sqlalchemy import text

        try:
            return tuple(self.conn.execute(text(self.QUERY)).one())
        except Exception:  # noqa: BLE001 - locked or mid-recovery: no reading this time
            return None
        finally:
            self.conn.rollback()  # a read transaction left open would pin an old snapshot

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


class CommitWatch:
    """Polls a store from a thread while ``proc`` runs: ``at`` is when its write became
    visible (None: not before the process ended or the watch was stopped)."""

    def __init__(self, url: str, proc: subprocess.Popen, interval: float = 0.01):
        self.at: float | None = None
        self._stop = threading.Event()
        ready = threading.Event()
        # The connection lives in the polling thread (SQLite connections stay in their thread).
        self._thread = threading.Thread(target=self._poll, args=(url, proc, interval, ready), daemon=True)
        self._thread.start()
        ready.wait(30)

    def _poll(self, url: str, proc: subprocess.Popen, interval: float, ready: threading.Event) -> None:
        progress = Progress(url)
        try:
            first = progress.read()
            ready.set()
            while not self._stop.is_set():
                running = proc.poll() is None
                seen = progress.read()
                if first is not None and seen is not None and seen != first:
                    self.at = time.monotonic()
                    return
                if not running:
                    return
                self._stop.wait(interval)
        finally:
            ready.set()
            progress.close()

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join(30)
        return self.at
