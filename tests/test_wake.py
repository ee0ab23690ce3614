"""Idle deliverers wake when outbox rows are committed: a real PostgreSQL LISTEN/NOTIFY
between two connections, the notification issued by the matcher's own ingest transaction
(the real Express Entry snapshots of 2 and 21 April); on SQLite a plain timeout."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import text

from notifier import subscribers
from notifier.match import enqueue_matches
from notifier.wake import OutboxWaiter, notify_outbox
from scraper.sources.express_entry.parse import parse_express_entry
from store.db import make_engine, session as open_session
from store.ingest import ingest
from tests.conftest import data
from tests.test_delivery import FEED_URL, NEW, OLD


async def listening(engine) -> OutboxWaiter:
    waiter = await OutboxWaiter(engine).start()
    await asyncio.wait_for(waiter.listening.wait(), timeout=15)
    assert await waiter.wait(5) is True  # the wake-up every (re)connection gives
    return waiter


@pytest.mark.postgres
def test_the_matchers_commit_wakes_a_listener_at_once_and_a_rollback_does_not(postgres_url):
    engine = make_engine(postgres_url)

    async def run() -> None:
        waiter = await listening(engine)
        try:
            assert await waiter.wait(0.3) is False  # nothing written: it times out

            def write(commit: bool) -> None:
                with open_session(engine) as s:
                    notify_outbox(s)
                    (s.commit if commit else s.rollback)()

            await asyncio.to_thread(write, False)
            assert await waiter.wait(0.5) is False  # rolled back: no one is woken

            def ingest_both() -> int:
                with open_session(engine) as s:
                    subscribers.add(s, {"name": "ana", "urls": ["json://127.0.0.1:9/ana"], "notify": ["all"]})
                    ingest(s, "express_entry", parse_express_entry(data(OLD), FEED_URL), matcher=enqueue_matches)
                    report = ingest(s, "express_entry", parse_express_entry(data(NEW), FEED_URL),
                                    matcher=enqueue_matches)
                    return len(report.new)

            assert await asyncio.to_thread(ingest_both) == 3
            committed = time.monotonic()
            assert await waiter.wait(10) is True
            # Woken by the commit, not by the timeout (10 s).
            assert time.monotonic() - committed < 5
        finally:
            await waiter.close()

    try:
        asyncio.run(run())
    finally:
        from sqlmodel import SQLModel

        SQLModel.metadata.drop_all(engine)
        engine.dispose()


@pytest.mark.postgres
def test_a_listener_whose_connection_is_cut_listens_again(postgres_url, monkeypatch, caplog):
    """The server ends the listening connection (an administrator, a failover): the waiter
    says so once, wakes when it is back, and later commits wake it again."""
    monkeypatch.setattr("notifier.wake.RECONNECT", 0.2)
    caplog.set_level(logging.INFO, logger="notifier.wake")
    engine = make_engine(postgres_url)

    async def run() -> None:
        waiter = await listening(engine)
        try:
            def cut() -> int:
                with open_session(engine) as s:
                    ended = s.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()")).all()
                    s.commit()
                    return len(ended)

            assert await asyncio.to_thread(cut) == 1
            assert await waiter.wait(10) is True  # back, and looking once for what it missed
            assert waiter.listening.is_set()

            def write() -> None:
                with open_session(engine) as s:
                    notify_outbox(s)
                    s.commit()

            await asyncio.to_thread(write)
            assert await waiter.wait(10) is True
        finally:
            await waiter.close()

    asyncio.run(run())
    engine.dispose()
    lost = [r.getMessage() for r in caplog.records if "wake-ups" in r.getMessage()]
    assert len(lost) == 2 and "lost" in lost[0] and "listening again" in lost[1], lost
    assert "PostgreSQL database 'postgres' at 127.0.0.1:" in lost[0]


def test_on_sqlite_the_waiter_is_a_timeout_or_the_callers_event(engine):
    async def run() -> None:
        wake = asyncio.Event()
        async with OutboxWaiter(engine, wake) as waiter:
            with open_session(engine) as s:
                notify_outbox(s)  # nothing to tell on SQLite; must not fail
                s.commit()
            started = time.monotonic()
            assert await waiter.wait(0.3) is False
            assert time.monotonic() - started >= 0.29
            wake.set()  # the service's own crawl queued alerts
            assert await waiter.wait(5) is True
            assert not wake.is_set()

    asyncio.run(run())
