"""Change detection in the store, on pairs of real snapshots of IRCC's feed."""
from datetime import date

from sqlmodel import func, select

from scraper.sources.express_entry.parse import parse_express_entry
from store.ingest import PageFetch, held_crawl, ingest, record_failure
from store.models import Draw, DrawNoc, DrawRevision, PageState
from tests.conftest import data

URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"


def parsed(name):
    return parse_express_entry(data(name), URL)


def table_snapshot(store_session):
    """Every draw's facts and the revision count: what 'changes nothing' compares."""
    draws = {d.key: (d.content_hash, d.updated, d.first_seen) for d in store_session.exec(select(Draw))}
    return draws, store_session.exec(select(func.count()).select_from(DrawRevision)).one()


def test_first_ingest_is_baseline_and_complete(store_session):
    report = ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2026-04-21.raw.json"))
    assert report.baseline and len(report.new) == 412 and not report.changed
    assert store_session.exec(select(func.count()).select_from(Draw)).one() == 412
    d = store_session.exec(select(Draw).where(Draw.key == "411")).one()
    assert (d.date, d.invitations, d.score_min, d.program) == (date(2026, 4, 15), 4000, 419, "french")


def test_same_snapshot_twice_changes_nothing(store_session):
    ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2026-04-21.raw.json"))
    before = table_snapshot(store_session)
    report = ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2026-04-21.raw.json"))
    assert not report.baseline
    assert (len(report.new), len(report.changed), report.unchanged) == (0, 0, 412)
    assert table_snapshot(store_session) == before


def test_april_pair_three_new_nothing_changed(store_session):
    ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2026-04-02.raw.json"))
    report = ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2026-04-21.raw.json"))
    assert sorted(d.key for d in report.new) == ["409", "410", "411"]
    assert report.changed == [] and report.unchanged == 409
    assert report.run.n_new == 3 and report.run.outcome == "ok"


def test_january_2023_pair_one_new_and_a_retyped_date_that_is_no_change(store_session):
    ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2023-01-17.raw.json"))
    before = store_session.exec(select(Draw).where(Draw.key == "237")).one().updated
    report = ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2023-01-29.raw.json"))
    assert [d.key for d in report.new] == ["238"]
    # IRCC re-typed the date "11-01-2023" (DD-MM-YYYY) as "2023-01-11": both read as
    # 11 January 2023, so nothing about the draw changed (issue 11: cosmetic is not a change);
    # the text as now published is stored all the same.
    assert report.changed == [] and report.unchanged == 238
    draw = store_session.exec(select(Draw).where(Draw.key == "237")).one()
    assert draw.date == date(2023, 1, 11) and draw.extra["published_date"] == "2023-01-11"
    assert draw.updated == before
    assert store_session.exec(select(func.count()).select_from(DrawRevision)).one() == 0


def test_failed_crawl_changes_nothing(store_session):
    ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2026-04-02.raw.json"))
    before = table_snapshot(store_session)
    run = record_failure(store_session, "express_entry", "ParseError: malformed JSON")
    assert run.outcome == "failed" and run.error.startswith("ParseError")
    assert table_snapshot(store_session) == before


def test_page_that_shrinks_is_held(store_session):
    """A page that yielded far fewer records than last time (keys not recorded: a page
    state from before per-page keys) is held: nothing stored, the page state unchanged."""
    full = parsed("ee_rounds_123_en.2026-04-21.raw.json")
    ingest(store_session, "express_entry", full, pages=[PageFetch(URL, n_records=412)])
    before = table_snapshot(store_session)
    partial = parsed("ee_rounds_123_en.2026-04-21.raw.json")
    partial.draws = partial.draws[:20]
    report = ingest(store_session, "express_entry", partial, pages=[PageFetch(URL, n_records=20)])
    assert report.held and report.run.outcome == "held"
    assert report.run.error == f"{URL} yielded 20 records where it held 412 last time"
    assert held_crawl(store_session, "express_entry").n_lost == 392
    assert table_snapshot(store_session) == before
    assert store_session.get(PageState, URL).n_records == 412


def test_category_rounds_carry_their_occupations(store_session):
    ingest(store_session, "express_entry", parsed("ee_rounds_123_en.2026-04-21.raw.json"))
    stem = store_session.exec(select(Draw).where(Draw.program == "stem")).all()
    assert stem and all(d.category_version == "Version 1" for d in stem)
    codes = set(store_session.exec(select(DrawNoc.noc2021).where(DrawNoc.draw_id == stem[0].id)))
    assert "21231" in codes and len(codes) == 24
    cec = store_session.exec(select(Draw).where(Draw.program == "cec")).first()
    assert store_session.exec(select(DrawNoc).where(DrawNoc.draw_id == cec.id)).all() == []
