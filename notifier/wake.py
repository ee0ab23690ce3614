"""Waking idle deliverers the moment outbox rows are committed, in any process.

The writer calls ``notify_outbox(session)`` in the transaction that writes outbox rows;
on PostgreSQL that is a ``pg_notify``, which the server hands to every listener when
(and only if) the transaction commits. A deliverer waits with ``OutboxWaiter``: on
PostgreSQL it LISTENs on a connection of its own and wakes at once; on SQLite (one
process, whose own crawls wake it) it simply waits out its timeout.

    async with OutboxWaiter(engine) as waiter:
        while running:
            await waiter.wait(delivery_interval)  # True: woken by new rows; False: timed out
            await deliver_due(engine, settings)

A waiter whose connection drops keeps working as a timeout and listens again within
``RECONNECT`` seconds; after (re)connecting it wakes once, for rows committed meanwhile.
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.db import CONNECT_TIMEOUT, describe

log = logging.getLogger(__name__)

CHANNEL = "drawwatch_outbox"
RECONNECT = 5.0  # seconds between attempts to listen again


def _postgres(bind) -> bool:
    return bind.dialect.name == "postgresql"


def notify_outbox(session: Session) -> None:
    """Wake every listening deliverer once this session's transaction commits (PostgreSQL;
    nothing on SQLite). Call it in the transaction that writes the outbox rows: a rollback
    then wakes no one, and a deliverer woken finds the rows committed."""
    if _postgres(session.get_bind()):
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class OutboxWaiter:
    """Waits until outbox rows are committed (PostgreSQL LISTEN) or a timeout passes.

    ``event`` may be an event the caller sets for its own reasons too (a crawl that
    queued alerts in this process): ``wait`` returns when either sets it.
    """

    def __init__(self, engine: Engine, event: asyncio.Event | None = None):
        self.event = event if event is not None else asyncio.Event()
        self._url = engine.url if _postgres(engine) else None
        self._task: asyncio.Task | None = None
        self.listening = asyncio.Event()  # set while LISTEN is in place (tests and benches wait for it)

    async def start(self) -> "OutboxWaiter":
        if self._url is not None and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="outbox-listener")
        return self

    async def wait(self, timeout: float) -> bool:
        """True when woken (rows committed, or the caller's event), False after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout=timeout)
            woken = True
        except TimeoutError:
            woken = False
        self.event.clear()
        return woken

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.listening.clear()

    async def __aenter__(self) -> "OutboxWaiter":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _listen(self) -> None:
        import psycopg  # deferred: the PostgreSQL extra; only a PostgreSQL engine gets here

        # The engine's URL names SQLAlchemy's driver; libpq takes the plain scheme.
        conninfo = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        told = False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True,
                                                                 connect_timeout=CONNECT_TIMEOUT) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if told:
                        log.info("outbox wake-ups: listening again")
                    told = False
                    self.event.set()  # rows committed while no one listened
                    async for _ in conn.notifies():
                        self.event.set()
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                if not told:
                    # libpq's first line names host and port, never the password.
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    log.warning("outbox wake-ups from %s lost (%s): new alerts wait for the next sweep "
                                "until listening again", describe(self._url), first)
                    told = True
                await asyncio.sleep(RECONNECT)
