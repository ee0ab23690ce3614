"""Database trouble, through the real ``drawwatch`` command: one line that names the problem
and the database, exit status 1, no traceback, no secret -- and query commands that never
create a database nor change one.

Read-only folders and full disks are real filesystems: a tmpfs mounted for the test (it
needs root; the test says why it skipped otherwise). The lock is held by another process.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from scheduler import main
from scraper.sources.express_entry.parse import parse_express_entry
from store.db import make_engine, session as open_session
from store.ingest import ingest
from store.models import Draw, Subscriber
from tests.configs import sources_off
from tests.conftest import FEED, data
from tests.service_harness import ROOT, free_port

SECRET = "s3cretPassw0rd"
SUBSCRIBER = f'[[subscribers]]\nname = "ana"\nurls = ["mailtos://ana:{SECRET}@example.org"]\ncrs = 480\n'
READERS = (("draws",), ("draws", "show", "411"), ("notices",), ("noc", "21231"), ("status",), ("matches",),
           ("outbox",))
EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"


def configure(folder: Path, url: str, extra: str = "") -> Path:
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\nlock_timeout = 1\n{extra}', encoding="utf-8")
    return config


def cli(config: Path, *args: str):
    """``drawwatch --config CONFIG ARGS`` in-process; never a traceback nor the secret."""
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    out = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), out
    assert "Traceback" not in out and SECRET not in out, out
    return result


def process(config: Path, *args: str) -> subprocess.CompletedProcess:
    """The same as a child process (commands that run Scrapy's reactor: one per process)."""
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stdout + proc.stderr and SECRET not in proc.stdout + proc.stderr, proc.stderr
    return proc


def database_error(result) -> str:
    """The one line a database failure prints (exit status 1)."""
    stderr = result.stderr
    assert getattr(result, "returncode", getattr(result, "exit_code", None)) == 1, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("database error: "), stderr
    return lines[0]


def listing(folder: Path) -> dict[str, tuple[int, int, bytes] | None]:
    """Every file under ``folder`` with its mtime, size and bytes.

    Only the name of a WAL index (``-shm``): readers of a WAL database record their read
    marks in it by design; it holds no data and SQLite rebuilds it from the WAL.
    """
    return {str(p.relative_to(folder)): None if p.name.endswith("-shm") else
            (p.stat().st_mtime_ns, p.stat().st_size, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A database as drawwatch leaves it: the real feed's draws, a subscriber added with the CLI."""
    import store.health_alerts  # noqa: F401  (the service's own table: made, as the service makes it)

    db = tmp_path_factory.mktemp("filled") / "dw.db"
    engine = make_engine(f"sqlite:///{db}")
    with open_session(engine) as s:
        ingest(s, "express_entry", parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), EE_URL))
        s.add(Subscriber(name="carl", origin="cli", profile={"name": "carl", "urls": ["json://127.0.0.1:9/x"]}))
        s.commit()
    engine.dispose()  # checkpointed: the one file is the whole database
    return db


@contextmanager
def small_disk(folder: Path, size: str = "4m"):
    """A real filesystem of ``size`` at ``folder``, unmounted afterwards."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)


# -- where the database should be -------------------------------------------------------

def test_a_folder_where_the_database_file_should_be(tmp_path):
    (tmp_path / "dw.db").mkdir()
    config = configure(tmp_path, f"sqlite:///{tmp_path / 'dw.db'}")
    for args in (("deliver",), ("draws",)):
        line = database_error(cli(config, *args))
        assert line == f"database error: {tmp_path / 'dw.db'} is a folder, not a database file: " \
                       "[database] url must name a file"


def test_a_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "plain").write_text("a file, not a folder")
    db = tmp_path / "plain" / "data" / "dw.db"
    config = configure(tmp_path, f"sqlite:///{db}")
    before = listing(tmp_path)
    line = database_error(cli(config, "deliver"))
    assert line == f"database error: cannot create the folder {db.parent} for the database dw.db: Not a directory"
    assert listing(tmp_path) == before


def test_read_only_file_and_folder(tmp_path, filled):
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "dw.db"
        shutil.copy(filled, db)
        # The config declares a subscriber the database lacks: syncing it is a write.
        config = configure(tmp_path, f"sqlite:///{db}", SUBSCRIBER.replace('"ana"', '"bob"'))
        # A read-only file in a writable folder (root ignores permission bits: a read-only
        # bind mount of the file over itself).
        subprocess.run(["mount", "--bind", str(db), str(db)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(db)], check=True)
            line = database_error(cli(config, "deliver"))
            assert line == f"database error: {db} is read-only: drawwatch needs to write to the file and to its folder"
            before = listing(disk)
            # Reading works: a copy on read-only media can still be queried.
            shown = cli(config, "draws", "--limit", "1")
            assert shown.exit_code == 0 and shown.stdout.splitlines()[2].split()[:2] == ["express_entry", "411"]
            assert listing(disk) == before
        finally:
            subprocess.run(["umount", str(db)], check=True)

        # Nothing can be created in a read-only folder.
        remount_read_only(disk)
        new = configure(tmp_path, f"sqlite:///{disk / 'new.db'}")
        line = database_error(cli(new, "deliver"))
        assert line == f"database error: cannot create {disk / 'new.db'}: its folder {disk} is not writable"
        assert not (disk / "new.db").exists()


def test_full_disk_during_a_crawl(tmp_path, site):
    """The real feed crawled over loopback onto a disk with room for the schema only."""
    site.put(FEED, data("ee_rounds_123_en.2026-04-21.raw.json"))
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "dw.db"
        config = configure(tmp_path, f"sqlite:///{db}",
                           '[http]\ndelay = 0\nretries = 0\nobey_robots = false\n'
                           f'[sources.express_entry]\nurl = "{site.url(FEED)}"\n{sources_off("express_entry")}'
                           + SUBSCRIBER)
        assert cli(config, "deliver").exit_code == 0  # creates the database and its schema
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"\0" * (free - 64 * 1024))

        proc = process(config, "crawl")
        assert proc.returncode == 1, proc.stderr
        assert f"the disk holding {db} is full: free some space, then run the command again" in proc.stderr
        (disk / "filler").unlink()
        engine = make_engine(f"sqlite:///{db}", read_only=True)
        with open_session(engine) as s:
            assert s.exec(select(func.count()).select_from(Draw)).one() == 0  # nothing half-written
        engine.dispose()


# -- another process writing ---------------------------------------------------------------

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock, as a crawl's ingest holds it
db.execute("UPDATE subscriber SET updated = updated")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def locked(tmp_path, filled):
    """A database whose write lock another process holds for the whole test."""
    db = tmp_path / "dw.db"
    shutil.copy(filled, db)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    yield db
    holder.stdin.close()
    holder.wait(10)


def test_locked_database_waits_then_says_who_to_wait_for(tmp_path, locked):
    # The config's subscriber must be written (it is new to the database): the write the old code
    # reported with the subscriber's password in the SQL parameters.
    config = configure(tmp_path, f"sqlite:///{locked}", SUBSCRIBER)
    started = time.monotonic()
    line = database_error(cli(config, "subscribers", "list"))
    waited = time.monotonic() - started
    assert line == f"database error: {locked} is locked: another drawwatch process (the service, a crawl or a " \
                   "deliver) has been writing to it for more than 1s; run the command again when it has finished"
    assert 1 <= waited < 8, waited  # lock_timeout, then the answer
    # Queries read beside the writer, and change nothing.
    assert cli(config, "draws", "--limit", "1").exit_code == 0
    assert cli(config, "matches", "--limit", "1").exit_code == 0


def test_service_delivery_on_a_locked_database_is_one_log_line(tmp_path, locked):
    config = configure(tmp_path, f"sqlite:///{locked}",
                       sources_off())
    proc = process(config, "serve", "--once")
    assert proc.returncode == 0, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if " ERROR " in ln]
    assert len(errors) == 1, proc.stderr
    assert errors[0].endswith(f"delivery round failed: database error: {locked} is locked: another drawwatch process "
                              "(the service, a crawl or a deliver) has been writing to it for more than 1s; run the "
                              "command again when it has finished; the outbox keeps every unsent alert")


# -- PostgreSQL ----------------------------------------------------------------------------

def test_unreachable_postgresql(tmp_path):
    port = free_port()  # nothing listens there
    for scheme in ("postgresql+psycopg", "postgresql"):  # bare postgresql:// means psycopg too
        config = configure(tmp_path, f"{scheme}://drawwatch:{SECRET}@127.0.0.1:{port}/drawwatch")
        for args in (("draws",), ("deliver",)):
            line = database_error(cli(config, *args))
            assert line.startswith(f"database error: cannot connect to PostgreSQL database 'drawwatch' at "
                                   f"127.0.0.1:{port}: connection failed: "), line
            assert line.endswith("Connection refused"), line


def test_postgresql_driver_missing(tmp_path, monkeypatch):
    config = configure(tmp_path, f"postgresql+psycopg://drawwatch:{SECRET}@127.0.0.1:{free_port()}/drawwatch")
    # As if the package were not installed: ``import psycopg`` raises ImportError.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    for args in (("draws",), ("deliver",)):
        result = cli(config, *args)
        assert (result.exit_code, result.stderr) == (1, "database error: the PostgreSQL driver (psycopg) is not "
                                                        "installed: pip install 'drawwatch[postgres]'\n")


@pytest.mark.postgres
def test_queries_on_an_empty_postgresql_database_create_no_table(tmp_path, postgres_url):
    import psycopg
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database,
                         autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS readonly_check")
        admin.execute("CREATE DATABASE readonly_check")
    target = url.set(database="readonly_check")
    config = configure(tmp_path, target.render_as_string(hide_password=False))
    line = database_error(cli(config, "draws"))
    assert line.startswith(f"database error: PostgreSQL database 'readonly_check' at {url.host}:{url.port} has no "
                           "drawwatch tables (relation \"draw\" does not exist"), line
    engine = make_engine(target.render_as_string(hide_password=False), create=False)
    assert inspect(engine).get_table_names() == []
    engine.dispose()


# -- commands that only read -------------------------------------------------------------------

@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a))
def test_queries_on_a_missing_database_create_nothing(tmp_path, args):
    db = tmp_path / "data" / "dw.db"
    config = configure(tmp_path, f"sqlite:///{db}", SUBSCRIBER)
    line = database_error(cli(config, *args))
    assert line == f"database error: no database at {db}: the first crawl (drawwatch crawl, or the service) creates it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_queries_change_nothing(tmp_path, filled):
    db = tmp_path / "db" / "dw.db"
    db.parent.mkdir()
    shutil.copy(filled, db)
    # Rollback journal: a query that set WAL (a write) would change the file's header.
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA journal_mode=DELETE")
    raw.close()
    # "bob" is declared in the config but not yet in the database: queries see him, and
    # leave him unwritten.
    config = configure(tmp_path, f"sqlite:///{db}", SUBSCRIBER.replace('"ana"', '"bob"'))
    before = listing(db.parent)
    time.sleep(0.01)  # an mtime written now would differ
    for args in READERS:
        result = cli(config, *args)
        assert result.exit_code == 0, (args, result.stderr)
    shown = cli(config, "matches", "--draw", "411").stdout.splitlines()
    assert shown[0].startswith("bob  ") and "round #411" in shown[0], shown
    assert listing(db.parent) == before
