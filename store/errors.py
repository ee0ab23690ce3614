"""The store's error type and the words its messages share. No SQLAlchemy here: the query
commands raise these too, reading SQLite through Python's own module (``store.sql``)."""
from __future__ import annotations

WRITERS = "another drawwatch process (the service, a crawl or a deliver)"


class DatabaseError(Exception):
    """The database cannot be used; the message names the problem and the database."""


def first_line(exc: BaseException) -> str:
    # PostgreSQL adds DETAIL lines that may quote a row's values: only the first line.
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__
