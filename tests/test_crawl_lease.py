"""A crawl is stored only by the process that still holds its source's lease: one whose
lease ran out mid-crawl (and was taken over) stores nothing, and on PostgreSQL a takeover
waits for the holder's ingest to end rather than overlapping it."""
from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlmodel import func, select

from scraper.crawl import _store
from scraper.sources import registry
from scraper.spiders.base import FetchedPage
from store.db import make_engine, session as open_session
from store.leases import Holder, claim, crawl_lease, lock
from store.models import CrawlRun, Draw, utcnow
from tests.cluster import create_database, drop_database
from tests.conftest import data

EE = "express_entry"
URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
TTL = 1.0  # seconds: short, so that a lease runs out within the test


def store_feed(engine, holder: str):
    """The crawl's own store step for the 21 April feed, as ``holder``."""
    page = FetchedPage(URL, 200, data("ee_rounds_123_en.2026-04-21.raw.json"))
    return _store(engine, registry.get(EE), [page], {}, utcnow(), None, False, None, set(), {}, holder)


def stored(engine) -> tuple[int, int]:
    """(draws, crawl runs) in the store."""
    with open_session(engine) as s:
        return (s.exec(select(func.count()).select_from(Draw)).one(),
                s.exec(select(func.count()).select_from(CrawlRun)).one())


def take(engine, holder: Holder) -> str:
    with open_session(engine) as s:
        return claim(s, [crawl_lease(EE)], holder, TTL)[crawl_lease(EE)]


def test_a_crawl_whose_lease_was_taken_over_is_not_stored(store_engine, caplog):
    first, second = Holder.this_process(), Holder.this_process()
    assert take(store_engine, first) == first.name
    time.sleep(TTL + 0.2)  # the first process was held up past its lease ...
    assert take(store_engine, second) == second.name  # ... and another took the source
    with caplog.at_level(logging.WARNING, logger="scraper.crawl"):
        assert store_feed(store_engine, first.name) is None
    assert stored(store_engine) == (0, 0)
    assert [r.getMessage() for r in caplog.records] == [f"{EE}: crawl not stored: another process holds the source"]
    # The holder stores as before.
    outcome = store_feed(store_engine, second.name)
    assert outcome is not None and outcome.run.outcome == "ok"
    draws, runs = stored(store_engine)
    assert draws > 0 and runs == 1


@pytest.mark.postgres
def test_on_postgresql_a_takeover_waits_for_the_holders_ingest(postgres_url):
    name, url = create_database(postgres_url)
    engine = make_engine(url)
    try:
        first, second = Holder.this_process(), Holder.this_process()
        assert take(engine, first) == first.name
        taken: list[str] = []
        with open_session(engine) as ingest:
            assert lock(ingest, crawl_lease(EE)) == first.name  # the ingest's transaction, still open
            time.sleep(TTL + 0.2)  # the lease runs out while it runs
            other = threading.Thread(target=lambda: taken.append(take(engine, second)))
            other.start()
            other.join(1.0)
            assert not taken  # the takeover waits for the lease row
            ingest.commit()
        other.join(10)
        assert taken == [second.name]  # and takes the source once the ingest is over
    finally:
        engine.dispose()
        drop_database(postgres_url, name)


@pytest.mark.postgres
def test_on_postgresql_a_persons_crawl_waits_for_the_services_ingest_and_sees_its_draws(postgres_url):
    """``drawwatch crawl`` beside a running service: no lease of its own, but its ingest takes
    its turn after the service's, so the draws the service stored are not new to it (not
    stored twice, not announced twice, and not a failed crawl on a duplicate key)."""
    from scraper.sources.express_entry.parse import parse_express_entry
    from store.ingest import ingest

    name, url = create_database(postgres_url)
    engine = make_engine(url)
    try:
        service = Holder.this_process()
        assert take(engine, service) == service.name
        person: list = []
        with open_session(engine) as s:
            assert lock(s, crawl_lease(EE)) == service.name  # the service's ingest has begun
            other = threading.Thread(target=lambda: person.append(store_feed(engine, None)))
            other.start()
            other.join(1.0)
            assert other.is_alive() and not person  # the person's ingest waits its turn
            report = ingest(s, EE, parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), URL))
        other.join(30)
        assert len(report.new) > 400
        [outcome] = person
        assert outcome.run.outcome == "ok" and outcome.report.new == [] and outcome.report.changed == []
        assert stored(engine) == (len(report.new), 2)
    finally:
        engine.dispose()
        drop_database(postgres_url, name)


@pytest.mark.postgres
def test_on_postgresql_accepting_a_held_crawl_waits_for_the_services_ingest(postgres_url):
    """``drawwatch crawl --accept`` beside a running service takes the same turn: while the
    service's ingest of the source runs, the accept waits; once that ingest ends (here, by
    storing the next normal feed, which ends the hold), there is nothing left to accept, and
    the accept says so instead of applying the old renumbered crawl over the new draws."""
    from scraper.crawl import accept_source
    from scraper.sources.express_entry.parse import parse_express_entry
    from store.ingest import NothingHeld, held_crawl, ingest
    from tests.test_held_crawl import OLD, renumbered

    name, url = create_database(postgres_url)
    engine = make_engine(url)
    try:
        with open_session(engine) as s:
            ingest(s, EE, parse_express_entry(data(OLD), URL))
            assert ingest(s, EE, parse_express_entry(renumbered(), URL)).held
            assert held_crawl(s, EE) is not None
        service = Holder.this_process()
        assert take(engine, service) == service.name
        accepted: list = []

        def accept() -> None:
            try:
                accepted.append(accept_source(EE, engine))
            except NothingHeld as exc:
                accepted.append(exc)

        with open_session(engine) as s:
            assert lock(s, crawl_lease(EE)) == service.name  # the service's ingest has begun
            person = threading.Thread(target=accept)
            person.start()
            person.join(1.0)
            assert person.is_alive() and not accepted  # the accept waits its turn
            report = ingest(s, EE, parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), URL))
            assert not report.held and report.new
        person.join(30)
        [outcome] = accepted
        assert isinstance(outcome, NothingHeld)
        with open_session(engine) as s:
            assert held_crawl(s, EE) is None
    finally:
        engine.dispose()
        drop_database(postgres_url, name)
