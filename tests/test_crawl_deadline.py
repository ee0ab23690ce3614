"""One deadline per crawl: a source that accepts connections and never answers fails the
crawl at its ``[sources.NAME] deadline``, robots.txt and retries included, and says so.
The real ``drawwatch crawl`` over 127.0.0.1, against a socket that never answers."""
import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlmodel import select

from store.db import make_engine, session as open_session
from store.models import CrawlRun, as_utc
from tests.configs import sources_off
from tests.service_harness import ROOT


@pytest.fixture
def silent():
    """A loopback port that accepts every connection and never answers; yields its URL
    and the (connection, time.time()) of each connection it accepted."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[tuple[socket.socket, float]] = []

    def accept():
        while True:
            try:
                accepted.append((server.accept()[0], time.time()))
            except OSError:  # closed at teardown
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
    server.close()
    for conn, _ in accepted:
        conn.close()


def test_a_silent_source_fails_at_the_deadline(tmp_path, silent):
    url, accepted = silent
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    # Without the deadline: robots.txt 4 x 30 s, then the feed 4 x 30 s.
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[http]\ndelay = 0\nretries = 3\ntimeout = 30\n'
                      f'[sources.express_entry]\nurl = "{url}/feed.json"\ndeadline = 2\n{sources_off("express_entry")}')
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "crawl",
                           "--source", "express_entry"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr
    assert "express_entry: FAILED: stopped at the crawl's deadline of 2 s" in proc.stderr
    assert f"{url}/feed.json" in proc.stderr
    engine = make_engine(f"sqlite:///{db}")
    try:
        with open_session(engine) as s:
            [run] = s.exec(select(CrawlRun)).all()
    finally:
        engine.dispose()
    assert run.outcome == "failed"
    # From the first connection (robots.txt) to the failed run: the deadline, a little more
    # to close the spider and record the run.
    waited = as_utc(run.finished_at).timestamp() - accepted[0][1]
    assert 1.5 < waited < 3.5, waited
    assert elapsed < 60  # the process as a whole, start-up on a loaded machine included
