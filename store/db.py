"""Engine and schema: the one place that knows which database we talk to.

A database that cannot be used reaches callers as ``DatabaseError``, whose message is
composed here: what is wrong and where, never SQL nor its bound parameters (subscriber
rows hold Apprise URLs with passwords). Read-only engines (the query commands) never
create a file, a folder or a table, and never write: not even SQLite's journal mode.
"""
from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel, create_engine

from store import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.models import Notification
from store import sqlite
from store.errors import WRITERS, DatabaseError, first_line  # noqa: F401  (DatabaseError: imported from here)

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 10.0  # seconds a write waits for another process's write (the config's default)
CONNECT_TIMEOUT = 10  # seconds to reach a PostgreSQL server
POSTGRES_HINT = "pip install 'drawwatch[postgres]'"


def _sqlite_engine(url: URL, path: Path | None, read_only: bool, lock_timeout: float) -> Engine:
    if path is None:  # in memory
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
    else:
        sqlite.check_file(path, read_only)
        if read_only:
            engine = create_engine(url, creator=partial(sqlite.connect_read_only, path, lock_timeout, pragmas_too=False),
                                   hide_parameters=True)
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder {path.parent} for the database {path.name}: "
                                    f"{exc.strerror}") from None
            engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
    event.listen(engine, "connect", partial(sqlite.pragmas, lock_timeout, read_only))
    return engine


def _postgres_engine(url: URL, read_only: bool, lock_timeout: float) -> Engine:
    if url.drivername == "postgresql":
        # A bare postgresql:// would mean psycopg2; the driver our extra installs is psycopg 3.
        url = url.set(drivername="postgresql+psycopg")
    # Row locks wait for lock_timeout, not forever; read-only sessions refuse every write.
    options = f"-c lock_timeout={int(lock_timeout * 1000)}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                             connect_args={"connect_timeout": CONNECT_TIMEOUT, "options": options})
    except ImportError as exc:  # SQLAlchemy imports the driver here
        raise DatabaseError(f"the PostgreSQL driver ({exc.name or url.get_driver_name()}) is not installed: "
                            f"{POSTGRES_HINT}") from None


def describe(url: str | URL) -> str:
    """The database as messages name it: a file path, or server and name without the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(_sqlite_path(parsed) or ":memory:")
    at = f"{parsed.host or 'localhost'}" + (f":{parsed.port}" if parsed.port else "")
    return f"PostgreSQL database {parsed.database or '(default)'!r} at {at}"


def _sqlite_path(url: URL) -> Path | None:
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def _explain_postgres(orig: BaseException, url: URL, lock_timeout: float) -> str:
    where = describe(url)
    state = getattr(orig, "sqlstate", None)
    if state is None and type(orig).__name__ == "OperationalError":
        return f"cannot connect to {where}: {first_line(orig)}"
    if state == "55P03":
        return (f"{where} is locked: {WRITERS} has held a lock for more than {lock_timeout:g}s; "
                "run the command again when it has finished")
    if state == "53100":
        return f"the disk of {where} is full: free some space on the server, then run the command again"
    if state == "42P01":
        return f"{where} has no drawwatch tables ({first_line(orig)}): the first crawl creates them"
    return f"{where}: {first_line(orig)}"


def explain(exc: BaseException, url: str | URL, lock_timeout: float = LOCK_TIMEOUT) -> DatabaseError:
    """A ``DatabaseError`` for a SQLAlchemy or driver error: our words, no SQL, no parameters."""
    if isinstance(exc, DatabaseError):
        return exc
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return DatabaseError(sqlite.explain(orig, _sqlite_path(parsed), lock_timeout))
    return DatabaseError(_explain_postgres(orig, parsed, lock_timeout))


def _translate(url: URL, lock_timeout: float, context) -> DatabaseError | None:
    """handle_error hook: the driver's failures become ``DatabaseError``.

    Integrity errors stay SQLAlchemy's: code may catch one to settle a race. Pre-ping
    failures too: the pool reconnects after them.
    """
    error = context.sqlalchemy_exception
    if context.is_pre_ping or not isinstance(error, DBAPIError) or isinstance(error, IntegrityError):
        return None
    return explain(error, url, lock_timeout)


def make_engine(url: str, *, create: bool = True, read_only: bool = False,
                lock_timeout: float = LOCK_TIMEOUT) -> Engine:
    """An engine for ``url``; with ``create`` the schema is made if missing.

    ``read_only``: the database must exist already; nothing is created and nothing written.
    Raises ``DatabaseError`` (so does every later use of the engine that fails).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, _sqlite_path(parsed), read_only, lock_timeout)
    else:
        engine = _postgres_engine(parsed, read_only, lock_timeout)
    event.listen(engine, "handle_error", partial(_translate, parsed, lock_timeout))
    if create and not read_only:
        SQLModel.metadata.create_all(engine)
        if parsed.get_backend_name() == "postgresql":
            _drop_outbox_keys(engine)
        _drop_index(engine, "ix_notification_subscriber_id",
                    "outbox: index ix_notification_subscriber_id dropped (uq_notification's index serves it)")
    return engine


def _drop_index(engine: Engine, name: str, said: str) -> None:
    """An index a database made before the schema went without it still has: dropped once,
    looked up first (DROP INDEX waits for every other transaction on the table)."""
    found = ("SELECT 1 FROM pg_indexes WHERE indexname = :n" if engine.dialect.name == "postgresql"
             else "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n")
    with engine.begin() as conn:
        if conn.execute(text(found), {"n": name}).first():
            conn.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
            log.info(said)


def _drop_outbox_keys(engine: Engine) -> None:
    """The foreign keys a database made before the outbox went without them still has
    (``Notification``'s comment says why): dropped once. Looked up first, as ALTER TABLE
    waits for every other transaction on the outbox even when there is nothing to drop.
    SQLite's stay: its checks are cheap, and it cannot drop one without rebuilding the table."""
    table = Notification.__tablename__
    with engine.begin() as conn:
        names = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) "
                                  "AND contype = 'f'"), {"t": table}).scalars().all()
        for name in names:
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"'))
            log.info("outbox: foreign key %s dropped (its row-by-row checks slowed every new draw)", name)


def session(engine: Engine) -> Session:
    # Rows are read after commit (reports, CLI output): don't expire them.
    return Session(engine, expire_on_commit=False)

