"""SQLite as drawwatch opens it, without SQLAlchemy: a database URL's file, the pragmas of
every connection, a read-only connection for the query commands, and SQLite's errors in
our words. ``store.db`` builds its engines from these; ``store.sql`` reads through them."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote, unquote

from store.errors import WRITERS, DatabaseError, first_line


def file_of(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL; None for any other URL (another back
    end, a database in memory, a URL with options), which only SQLAlchemy opens."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme.partition("+")[0] != "sqlite" or "?" in rest or rest in ("", ":memory:"):
        return None
    return Path(unquote(rest)).expanduser()  # as SQLAlchemy reads it: %20 is a space


def pragmas(lock_timeout: float, read_only: bool, dbapi_conn, _record=None) -> None:
    """Set on every connection (``store.db`` runs it on its engines' connect event)."""
    cur = dbapi_conn.cursor()
    # First: rides out another process's short write locks instead of failing with
    # "database is locked" -- for at most lock_timeout, then the error says so.
    cur.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
    if read_only:
        # Any statement that would write fails; SQLite still tidies its -wal/-shm files.
        cur.execute("PRAGMA query_only=ON")
    else:
        # WAL lets the CLI read while the service writes. Setting it is a write, hence
        # only on engines that may write.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def check_file(path: Path, read_only: bool) -> None:
    """A folder, or a missing file a read-only command would have to create, is refused here."""
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file: [database] url must name a file")
    if read_only and not path.exists():
        raise DatabaseError(f"no database at {path}: the first crawl (drawwatch crawl, or the service) creates it")


def connect_read_only(path: Path, lock_timeout: float, *, pragmas_too: bool = True) -> sqlite3.Connection:
    """A connection that never creates the file (mode=rw: not even if it vanished since the
    check) and never writes (``pragmas``); ``pragmas_too=False`` when an engine's connect
    event sets them."""
    check_file(path, read_only=True)
    target = f"file:{quote(str(path.resolve()))}?mode=rw"
    try:
        conn = sqlite3.connect(target, uri=True, check_same_thread=False)
        if pragmas_too:
            pragmas(lock_timeout, True, conn)
    except sqlite3.Error as exc:
        raise DatabaseError(explain(exc, path, lock_timeout)) from None
    return conn


def explain(orig: BaseException, path: Path | None, lock_timeout: float) -> str:
    """What a SQLite error means for the person running drawwatch, naming the file."""
    where = str(path or ":memory:")
    code = getattr(orig, "sqlite_errorname", "")
    if code.startswith("SQLITE_BUSY") or code.startswith("SQLITE_LOCKED"):
        return (f"{where} is locked: {WRITERS} has been writing to it for more than {lock_timeout:g}s; "
                "run the command again when it has finished")
    if code == "SQLITE_FULL":
        return f"the disk holding {where} is full: free some space, then run the command again"
    if code.startswith("SQLITE_READONLY"):
        return f"{where} is read-only: drawwatch needs to write to the file and to its folder"
    if code == "SQLITE_NOTADB":
        return f"{where} is not a SQLite database"
    if code.startswith("SQLITE_CANTOPEN") and path is not None:
        if not path.parent.is_dir():
            return f"cannot open {where}: the folder {path.parent} does not exist"
        if not os.access(path.parent, os.W_OK | os.X_OK):
            # SQLite creates the database and its -wal and -shm files beside it.
            what = "open" if path.exists() else "create"
            return f"cannot {what} {where}: its folder {path.parent} is not writable"
        return f"cannot open {where}: {first_line(orig)}"
    if code.startswith("SQLITE_IOERR"):
        return f"disk error on {where} ({code}): check the disk, and the free space on it"
    message = first_line(orig)
    if message.startswith("no such table") or message.startswith("no such column"):
        return f"{where} was not made by this version of drawwatch or is incomplete ({message})"
    return f"{where}: {message}"
