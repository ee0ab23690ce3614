"""``store.reads``: the SQL the query commands run without SQLAlchemy gives what the ORM gives.

On a store filled from the real snapshots (every Express Entry round of the 2026-04-21
feed, Ontario's 2026 updates page and its ledger: windows, regions, NOC lists, ``extra``),
on SQLite and on PostgreSQL: every draw and notice read as SQL text equals the model's
``model_dump()``, field by field and in the same order, through a session and (SQLite)
through the sqlite3 module; each filter keeps the draws the ORM's query keeps; and a
source's health reads the same both ways.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from scraper.records import ParseResult
from scraper.sources.registry import SOURCES
from store import queries, reads
from store.config import ServiceSettings
from store.errors import DatabaseError
from store.health import source_health
from store.ingest import record_failure
from store.models import CrawlRun, Draw, DrawNoc, Notice, utcnow
from store.sql import SessionReader, SqliteReader, sqlite_reader
from tests.conftest import DATA, data
from tests.md_render import render

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
OINP_PAGES = {"oinp_updates_2026.2026-06-19.md": "updates", "oinp_invitations_apply.2026-06-19.md": "ledger"}

FILTERS = [
    {},
    {"source": "express_entry"},
    {"source": "oinp", "category": "foreign_worker"},
    {"since": date(2025, 1, 1), "until": date(2025, 12, 31)},
    {"min_crs": 500},
    {"max_crs": 300},
    {"source": "oinp", "min_score": 60, "max_score": 90},
    {"noc2021": ["21231", "31301"]},
    {"source": "express_entry", "category": "stem", "since": date(2023, 6, 1), "noc2021": ["21231"]},
]


@pytest.fixture
def filled(store_session):
    from store.ingest import ingest

    ee, oinp = SOURCES["express_entry"], SOURCES["oinp"]
    # Crawls that started a minute before they ended: a health that read one for the other shows.
    started = utcnow() - timedelta(minutes=1)
    ingest(store_session, "express_entry", ee.parser("feed")(data("ee_rounds_123_en.2026-04-21.raw.json"), EE_URL),
           started_at=started)
    combined = ParseResult()
    for name, kind in OINP_PAGES.items():
        body, url = render(DATA / name)  # markdown conversions of the live pages, rendered back to HTML
        part = oinp.parser(kind)(body, url)
        combined.draws += part.draws
        combined.notices += part.notices
    combined.draws = oinp.load_combine()(combined.draws)  # the ledger's rows merged into the page's draws
    ingest(store_session, "oinp", combined, combine=oinp.load_combine())
    record_failure(store_session, "oinp", "https://www.ontario.ca/page/x: HTTP 503", started_at=started)
    store_session.commit()
    return store_session


def readers(session):
    """The session's own reader, and on SQLite the sqlite3 module's on the same file."""
    found = [SessionReader(session)]
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite":
        found.append(sqlite_reader(url.render_as_string(), 10.0))
    return found


def test_the_fields_are_the_models():
    assert list(reads.DRAW_FIELDS) == list(Draw.model_fields)
    assert list(reads.NOTICE_FIELDS) == list(Notice.model_fields)


def test_every_draw_and_notice_reads_as_the_model(filled):
    orm = [{k: d.model_dump()[k] for k in Draw.model_fields} for d in queries.draws(filled)]
    notices = [{k: n.model_dump()[k] for k in Notice.model_fields}
               for n in sorted(filled.exec(select(Notice)), key=lambda n: (n.date, n.id), reverse=True)]
    assert len(orm) > 400 and {d["source"] for d in orm} == {"express_entry", "oinp"} and notices
    assert any(d["window_end"] for d in orm) and any(d["extra"] for d in orm)
    for db in readers(filled):
        assert reads.draws(db) == orm, type(db).__name__
        assert reads.notices(db) == (notices, len(notices)), type(db).__name__


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "all")
def test_each_filter_keeps_what_the_orms_query_keeps(filled, filters):
    kept = [d.id for d in queries.draws(filled, queries.draw_query(**filters))]
    assert kept, filters  # every filter here keeps some of the real draws
    where, params = reads.draw_filter(**filters)
    for db in readers(filled):
        assert [d["id"] for d in reads.draws(db, where, params)] == kept
        assert reads.count(db, "draw", where, params) == len(kept)
        assert [d["id"] for d in reads.draws(db, where, params, limit=3)] == kept[:3]


def test_categories_targets_and_health_read_as_the_orm_has_them(filled):
    service = ServiceSettings()
    # What the ORM holds: each source's crawl runs and draws.
    runs = {name: sorted(filled.exec(select(CrawlRun).where(CrawlRun.source == name)), key=lambda r: r.id)
            for name in ("express_entry", "oinp")}
    ok, failed = runs["express_entry"][-1], runs["oinp"][-1]
    assert (ok.outcome, failed.outcome) == ("ok", "failed") and ok.finished_at > ok.started_at
    updated = {name: max(d.updated for d in filled.exec(select(Draw).where(Draw.source == name)))
               for name in runs}
    counted = {name: len(filled.exec(select(Draw.id).where(Draw.source == name)).all()) for name in runs}
    for db in readers(filled):
        ee, oinp, bc = (source_health(db, name, service) for name in ("express_entry", "oinp", "bc_pnp"))
        assert (ee.last_run, ee.last_success, ee.last_failure, ee.consecutive_failures) == \
            (ok.started_at, ok.finished_at, None, 0)
        assert (ee.draws, ee.last_change) == (counted["express_entry"], updated["express_entry"])
        assert ee.usual_gap is not None and ee.held is None
        assert (oinp.last_failure, oinp.last_error, oinp.consecutive_failures, oinp.failing_since) == \
            (failed.finished_at, failed.error, 1, failed.started_at)
        assert (oinp.draws, oinp.last_change) == (counted["oinp"], updated["oinp"])
        assert (bc.last_run, bc.draws) == (None, 0)
        assert ("oinp", "foreign_worker") in reads.category_pairs(db)
        assert "stem" in reads.categories(db, "express_entry") and "stem" not in reads.categories(db, "oinp")
        n, latest = reads.targeting(db, ["21231"])
        targeted = filled.exec(select(Draw).where(col(Draw.id).in_(
            select(DrawNoc.draw_id).where(DrawNoc.noc2021 == "21231")))).all()
        newest = max(targeted, key=lambda d: (d.date, d.id))
        assert n == len(targeted) > 10
        assert latest == {"source": newest.source, "key": newest.key, "date": newest.date}
        assert reads.unknown_category(db, ["bogus"], "oinp").startswith("'bogus' is not one of")


def test_a_missing_database_is_named_and_never_created(tmp_path):
    missing = tmp_path / "none.db"
    with pytest.raises(DatabaseError, match=f"no database at {missing}"):
        SqliteReader(missing, 1.0)
    assert not missing.exists()


@pytest.mark.parametrize("url", ["sqlite:///a%20b.db", "sqlite:////tmp/x y/d.db", "sqlite:///~/d.db",
                                 "sqlite+pysqlite:////tmp/d.db", "sqlite:////tmp/100%25.db"])
def test_the_sqlite3_path_opens_the_file_sqlalchemy_would(url):
    from sqlalchemy.engine import make_url

    from store.db import _sqlite_path
    from store.sqlite import file_of

    assert file_of(url) == _sqlite_path(make_url(url))


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:////tmp/d.db?mode=ro",
                                 "postgresql://h/db"])
def test_other_urls_are_left_to_sqlalchemy(url):
    from store.sqlite import file_of

    assert file_of(url) is None
