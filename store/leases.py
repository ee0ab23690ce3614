"""Leases: which process does a job that must run in one process at a time, among any
number of drawwatch processes on one database (a source's crawls, the operator's health
checks).

A lease is a ``Lease`` row: name, holder, expiry. One statement takes a lease that is free
or expired, or renews the caller's own; a process holds it for as long as it renews it
within ``ttl`` seconds (``Leases`` renews every ``ttl``/3). A process that dies stops
renewing, so its leases are free at most ``ttl`` seconds after its last renewal and the
next refresh of another process takes them: a hand-over within ``ttl`` + ``ttl``/3.

On PostgreSQL expiry is judged by the server's clock, so the machines' clocks need not
agree. A holder trusts its lease for ``ttl`` counted from before it sent the renewal (an
earlier instant than the server's), so it stops before anyone else may start. On SQLite
every process is on one machine: a lease whose holder's process is gone is taken at once,
so a service restarted after a crash does not wait ``ttl`` for its own sources.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import Interval, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from store.db import DatabaseError, make_engine, session as open_session
from store.models import Lease, utcnow

log = logging.getLogger(__name__)

HEALTH = "health"
# pg_advisory_lock key of the start-up step (schema and config subscribers): "drawwatc".
SETUP_LOCK = 0x6472617777617463

_LEASES = Lease.__table__


def crawl_lease(source: str) -> str:
    return f"crawl:{source}"


def _machine() -> str:
    """Where a pid names one process: this boot and this pid namespace (a container has its own)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:  # not Linux
        return socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@dataclass(frozen=True)
class Holder:
    name: str  # "<host>:<pid>:<token>": the token tells a reused pid from the process that died
    machine: str
    pid: int

    @classmethod
    def this_process(cls) -> "Holder":
        pid = os.getpid()
        return cls(f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}", _machine(), pid)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim(session: Session, names: list[str], holder: Holder, ttl: float) -> dict[str, str]:
    """Take or renew the leases ``names`` for ``holder`` (one commit); each name's holder now."""
    if not names:
        return {}
    expiry = _LEASES.c.expires_at.type
    if _postgres(session):
        now = func.clock_timestamp(type_=expiry)
        until = now + literal(dt.timedelta(seconds=ttl), Interval())
        insert = pg_insert
    else:  # one machine, one clock
        now = literal(utcnow(), expiry)
        until = literal(utcnow() + dt.timedelta(seconds=ttl), expiry)
        insert = sqlite_insert
    stmt = insert(_LEASES).values([{"name": n, "holder": holder.name, "machine": holder.machine, "pid": holder.pid,
                                    "acquired_at": now, "expires_at": until} for n in names])
    mine = _LEASES.c.holder == stmt.excluded.holder
    stmt = stmt.on_conflict_do_update(
        index_elements=[_LEASES.c.name],
        set_={"holder": stmt.excluded.holder, "machine": stmt.excluded.machine, "pid": stmt.excluded.pid,
              "expires_at": stmt.excluded.expires_at,
              "acquired_at": case((mine, _LEASES.c.acquired_at), else_=stmt.excluded.acquired_at)},
        where=or_(mine, _LEASES.c.expires_at < now))
    got = set(session.execute(stmt.returning(_LEASES.c.name)).scalars())
    holders = {n: holder.name for n in got}
    for row in session.execute(select(_LEASES).where(_LEASES.c.name.in_(set(names) - got))):
        holders[row.name] = row.holder
        if not _postgres(session) and row.machine == holder.machine and not _alive(row.pid):
            # Only this row's holder: a third process may have taken it meanwhile.
            taken = session.execute(update(_LEASES).where(_LEASES.c.name == row.name, _LEASES.c.holder == row.holder)
                                    .values(holder=holder.name, machine=holder.machine, pid=holder.pid,
                                            acquired_at=now, expires_at=until))
            if taken.rowcount:
                log.info("%s: taken over from %s (that process is gone)", row.name, row.holder)
                holders[row.name] = holder.name
    session.commit()
    return holders


def lock(session: Session, name: str) -> str | None:
    """The holder of lease ``name`` (None: nobody), its row locked until the caller's
    transaction ends.

    On PostgreSQL the row stays locked (FOR UPDATE): a process taking the lease over
    (``claim``), or another writer asking the same, waits for the caller's writes to commit
    or roll back, so work done under it never overlaps. On SQLite (one process) the row
    is only read; a writer that changed it since makes the caller's own write fail instead.
    """
    row = session.execute(select(_LEASES.c.holder).where(_LEASES.c.name == name).with_for_update()).first()
    return None if row is None else row.holder


def release(session: Session, holder: Holder) -> None:
    """Give up every lease of ``holder`` (one commit): another process may take them at once."""
    session.execute(delete(_LEASES).where(_LEASES.c.holder == holder.name))
    session.commit()


class Leases:
    """The leases one process wants, taken and renewed by ``refresh``."""

    def __init__(self, engine: Engine, names: list[str], ttl: float):
        self.engine = engine
        self.names = list(names)
        self.ttl = ttl
        self.holder = Holder.this_process()
        self.others: dict[str, str] = {}  # name -> the other process holding it, at the last refresh
        self._until: dict[str, float] = {}  # name -> time.monotonic() until which it is ours for sure
        self._owned: set[str] = set()
        self._last = 0.0  # time.monotonic() of the last refresh
        self._failing = False  # the last write of the leases failed (said once, not at every round)

    def held(self, name: str) -> bool:
        return time.monotonic() < self._until.get(name, 0.0)

    def next_refresh(self) -> float:
        """Seconds until the next refresh is due: a third of ``ttl``, sooner if a lease ends first."""
        ends = [until - time.monotonic() for until in self._until.values()]
        return max(0.0, min([self.ttl / 3, *ends]))

    def _claim(self) -> dict[str, str]:
        with open_session(self.engine) as session:
            return claim(session, self.names, self.holder, self.ttl)

    async def refresh(self) -> tuple[set[str], set[str]]:
        """Take or renew every lease wanted; the names gained and lost since the last refresh."""
        sent = time.monotonic()
        if self._last and sent - self._last > self.ttl * 2 / 3:
            # Renewals come from the event loop: one this late means the loop was held up
            # (or the process paused) for that long; at ``ttl`` the leases are lost.
            log.warning("leases renewed %.1fs after the last renewal (due every %.1fs): this process was "
                        "held up; [service] crawl_lease (%gs) must stay well above that",
                        sent - self._last, self.ttl / 3, self.ttl)
        self._last = sent
        try:
            holders = await asyncio.to_thread(self._claim)
        except DatabaseError as exc:
            # Nothing renewed: what is held stays held until its time is up, no longer. A
            # warning, once: the next round retries, losing a lease is said when it happens,
            # and the work the database error stops (a crawl, a delivery) says it as the error.
            self._trouble(f"not renewed (retried every {self.ttl / 3:g}s)", exc)
        else:
            if self._failing:
                log.info("leases renewed again")
            self._failing = False
            for name in self.names:
                if holders.get(name) == self.holder.name:
                    self._until[name] = sent + self.ttl
                    self.others.pop(name, None)
                else:
                    self._until.pop(name, None)
                    self.others[name] = holders.get(name, "")
        owned = {n for n in self.names if self.held(n)}
        gained, lost = owned - self._owned, self._owned - owned
        self._owned = owned
        return gained, lost

    def _release(self) -> None:
        with open_session(self.engine) as session:
            release(session, self.holder)

    async def release(self) -> None:
        self._until.clear()
        self._owned.clear()
        try:
            await asyncio.to_thread(self._release)
        except DatabaseError as exc:
            self._trouble(f"not given back (they end on their own {self.ttl:g}s after the last renewal)", exc)

    def _trouble(self, what: str, exc: DatabaseError) -> None:
        log.log(logging.DEBUG if self._failing else logging.WARNING, "leases %s: database error: %s", what, exc)
        self._failing = True


@contextmanager
def setup_lock(url: str, lock_timeout: float) -> Iterator[None]:
    """On PostgreSQL, one process at a time sets up (creates the schema, syncs the config's
    subscribers): processes started together would race on CREATE TABLE and on inserting the
    same subscriber. On SQLite nothing: its writes take turns already."""
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = make_engine(url, create=False, lock_timeout=lock_timeout)
    try:
        # A session-level lock, released by the server when the connection ends, even by a crash.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(select(func.pg_advisory_lock(SETUP_LOCK)))
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(SETUP_LOCK)))
    finally:
        engine.dispose()
