"""Reads written once, as SQL text, that run with or without SQLAlchemy.

A person waits on ``draws``, ``noc`` and ``status``, and importing SQLAlchemy, SQLModel
and the table models costs more than the 0.4 s those commands have (bench/cli.py). So
the reads they share with the rest of drawwatch (``store.reads``, ``store.health``) are
SQL text with ``:name`` parameters, run by a ``Reader``: Python's own sqlite3 module on a
SQLite file (``SqliteReader``: no SQLAlchemy imported), or a SQLAlchemy session
(``SessionReader``: PostgreSQL, and the service and the web, which hold a session anyway).
Rows come back as dicts of what the driver hands over; ``utc``, ``day`` and ``loaded``
turn those into the values the ORM's models hold, so both paths give the same values.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import weakref
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

from store import sqlite
from store.errors import DatabaseError
from store.times import as_utc


class Reader(Protocol):
    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def has_table(self, name: str) -> bool: ...


def _sqlite_value(value: Any) -> Any:
    """A parameter as SQLAlchemy stores it in SQLite: a day as ISO text, a time as naive
    UTC text with microseconds (so that comparisons with stored values are text-exact)."""
    if isinstance(value, dt.datetime):
        return as_utc(value).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sqlite_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {name: _sqlite_value(value) for name, value in (params or {}).items()}


class SqliteReader:
    """A SQLite file, read through the sqlite3 module: read-only, never created."""

    def __init__(self, path: Path, lock_timeout: float):
        self.path, self.lock_timeout = path, lock_timeout
        self.conn = sqlite.connect_read_only(path, lock_timeout)
        self._tables: set[str] = set()  # seen to exist (``status`` asks once per source)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            cursor = self.conn.execute(sql, _sqlite_params(params))
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise DatabaseError(sqlite.explain(exc, self.path, self.lock_timeout)) from None

    def has_table(self, name: str) -> bool:
        if name not in self._tables:
            if not self.rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name", {"name": name}):
                return False
            self._tables.add(name)
        return True

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SqliteReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SessionReader:
    """The same SQL through a SQLAlchemy session (its transaction, its connection)."""

    def __init__(self, session):
        self.session = session

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        from sqlalchemy import text

        if self.session.get_bind().dialect.name == "sqlite":
            params = _sqlite_params(params)  # as SqliteReader binds them, not by sqlite3's adapters
        return [dict(row) for row in self.session.execute(text(sql), dict(params or {})).mappings()]

    def has_table(self, name: str) -> bool:
        from sqlalchemy import inspect

        bind = self.session.get_bind()
        seen = _TABLES_SEEN.setdefault(bind.engine, set())  # a Connection's engine, or the Engine itself
        if name not in seen:
            if not inspect(bind).has_table(name):
                return False
            seen.add(name)
        return True


# Tables known to exist, per engine: a table is never dropped, so once seen it is not
# looked up again (the service checks every source's health on each sweep).
_TABLES_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def reader_of(db) -> Reader:
    """``db`` as a Reader: a Reader as it is, a SQLAlchemy session wrapped."""
    return db if hasattr(db, "rows") else SessionReader(db)


def sqlite_reader(url: str, lock_timeout: float) -> SqliteReader | None:
    """A SqliteReader of the file of a plain ``sqlite:///`` URL; None for any other URL."""
    path = sqlite.file_of(url)
    return None if path is None else SqliteReader(path, lock_timeout)


def marks(prefix: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """``IN (...)`` made of one named parameter per value: ``(":p0, :p1", {"p0": .., "p1": ..})``."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params) or "NULL", params


# -- values as the models hold them ---------------------------------------------------------

def utc(value: Any) -> dt.datetime | None:
    """A stored time (SQLite: naive UTC text; PostgreSQL: a datetime) as an aware UTC datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return as_utc(value)


def day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def loaded(value: Any) -> Any:
    """A JSON column: SQLite hands over its text, psycopg the value it holds."""
    return json.loads(value) if isinstance(value, str) else value
