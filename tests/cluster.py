"""Several real ``drawwatch serve`` processes on one database: a fresh PostgreSQL database
on the throw-away server, one config per process for the loopback Express Entry feed
(each with its own HTTP user agent, so the feed server's log tells who fetched what), and
what the tests and bench/coordination.py read back.

Shared by tests/test_multiprocess.py and bench/coordination.py."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from store.db import session as open_session
from store.models import CrawlRun, Lease
from tests.configs import sources_off

EE = "express_entry"
FEED = "/content/dam/ircc/documents/json/ee_rounds_123_en.json"


def create_database(server_url: str) -> tuple[str, str]:
    """A new, empty database on the server of ``server_url``: (its name, its URL)."""
    name = f"dw_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return name, server_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def ee_config(path: Path, label: str, database_url: str, feed_url: str, *, schedule: str, lease: float,
              delivery_interval: float = 1, extra: str = "") -> Path:
    """A config for a ``serve`` process watching only the feed at ``feed_url``; its requests
    carry the user agent ``drawwatch-<label>``."""
    path.write_text(
        f'[database]\nurl = "{database_url}"\n'
        f'[http]\ndelay = 0\nretries = 0\ntimeout = 10\nobey_robots = false\nuser_agent = "drawwatch-{label}"\n'
        f'[service]\ndelivery_interval = {delivery_interval}\nshutdown_timeout = 10\ncrawl_lease = {lease}\n'
        f'[sources.{EE}]\nurl = "{feed_url}"\nschedule = "{schedule}"\njitter = 0\n{sources_off(EE)}{extra}')
    return path


def wait_until(check, what: str, timeout: float = 30.0):
    """``check()``'s first true value, asked every 0.1 s; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def crawl_runs(engine: Engine) -> list[CrawlRun]:
    """The feed's crawls by every process, by start."""
    with open_session(engine) as s:
        return list(s.exec(select(CrawlRun).where(CrawlRun.source == EE).order_by(col(CrawlRun.started_at))))


def lease(engine: Engine, name: str = f"crawl:{EE}") -> Lease | None:
    with open_session(engine) as s:
        return s.get(Lease, name)
