"""Source health from real crawl histories: failure streaks, one alert per streak, one
recovery, staleness judged against the source's real rhythm; all of it across restarts."""
from datetime import timedelta

import pytest

from scraper.sources.express_entry.parse import parse_express_entry
from store.config import ServiceSettings
from store.db import make_engine, session as open_session
from store.health import source_health
from store.health_alerts import ensure_schema, pending_messages, record_sent
from store.ingest import PageFetch, ingest, record_failure, record_not_modified
from tests.conftest import data

EE = "express_entry"
URL = "http://127.0.0.1:9/content/dam/ircc/documents/json/ee_rounds_123_en.json"
SERVICE = ServiceSettings(failure_threshold=3)


@pytest.fixture
def db(store_engine):
    """Opens the store as a fresh process would (``db()`` again = a restart); SQLite and PostgreSQL."""
    url = store_engine.url.render_as_string(hide_password=False)
    engines = []

    def open_db():
        engine = make_engine(url)
        ensure_schema(engine)
        engines.append(engine)
        return open_session(engine)

    yield open_db
    for engine in engines:
        engine.dispose()


def crawl_ok(session, snapshot):
    result = parse_express_entry(data(snapshot), URL)
    return ingest(session, EE, result, pages=[PageFetch(URL, n_records=len(result.draws))])


def due(session, now=None):
    return pending_messages(session, [EE], SERVICE, now)


def test_consecutive_failures_count_from_the_last_success(db):
    with db() as s:
        crawl_ok(s, "ee_rounds_123_en.2026-04-02.raw.json")
        first = record_failure(s, EE, f"{URL}: HTTP 500")
        record_failure(s, EE, f"{URL}: TimeoutError: Getting {URL} took longer than 5.0 seconds.")
        h = source_health(s, EE, SERVICE)
        assert h.consecutive_failures == 2 and h.failing_since == first.started_at
        assert "took longer" in h.last_error and h.draws == 409
        assert not h.failing(3) and h.failing(2)
        record_not_modified(s, EE)  # a 304 is a success
        h = source_health(s, EE, SERVICE)
        assert h.consecutive_failures == 0 and h.failing_since is None and h.last_success > h.last_failure


def test_one_alert_at_the_threshold_and_one_recovery_across_restarts(db):
    with db() as s:
        crawl_ok(s, "ee_rounds_123_en.2026-04-02.raw.json")
        record_failure(s, EE, f"{URL}: HTTP 500")
        record_failure(s, EE, f"{URL}: HTTP 500")
        assert due(s) == []
        record_failure(s, EE, f"{URL}: HTTP 503")
        [alert] = due(s)
        assert alert.kind == "failing" and EE in alert.title
        assert "The last 3 crawls" in alert.body and f"{URL}: HTTP 503" in alert.body
        assert due(s) == [alert]  # still due until it is recorded as sent
        record_sent(s, alert)
        assert due(s) == []
        record_failure(s, EE, f"{URL}: HTTP 503")
        assert due(s) == []
    with db() as s:  # a restart
        assert due(s) == []
        record_not_modified(s, EE)
        [recovery] = due(s)
        assert recovery.kind == "recovered" and "works again" in recovery.title
        assert "failing since" in recovery.body
    with db() as s:  # a restart before the recovery was sent: still owed
        [again] = due(s)
        assert again == recovery
        record_sent(s, again)
        assert due(s) == []
        crawl_ok(s, "ee_rounds_123_en.2026-04-21.raw.json")
        assert due(s) == []


def test_a_new_streak_is_a_new_alert(db):
    with db() as s:
        for _ in range(3):
            record_failure(s, EE, "HTTP 500")
        [first] = due(s)
        assert "Last successful crawl: never" in first.body
        record_sent(s, first)
        crawl_ok(s, "ee_rounds_123_en.2026-04-02.raw.json")
        record_sent(s, due(s)[0])
        for _ in range(3):
            record_failure(s, EE, "ParseError: malformed JSON at line 4 column 1")
        [second] = due(s)
        assert second.kind == "failing" and second.since > first.since and "malformed JSON" in second.body


def test_secrets_in_errors_are_masked(db):
    with db() as s:
        for _ in range(3):
            record_failure(s, EE, "http://watcher:hunter2@127.0.0.1:9/feed.json?token=abc123: HTTP 401")
        [alert] = due(s)
        assert "hunter2" not in alert.body and "abc123" not in alert.body and "127.0.0.1:9" in alert.body


def test_stale_source_is_reported_once_per_quiet_spell(db):
    with db() as s:
        crawl_ok(s, "ee_rounds_123_en.2026-04-02.raw.json")
        h = source_health(s, EE, SERVICE)
        # The feed's last 30 gaps between round dates (1 to 19 days): 90th percentile 12.1 days.
        assert h.usual_gap == timedelta(days=12.1)
        assert h.stale_after == timedelta(days=12.1 * SERVICE.stale_factor)
        changed = h.last_change
        quiet = changed + h.stale_after - timedelta(hours=1)
        record_not_modified(s, EE)
        assert not source_health(s, EE, SERVICE, quiet).stale and due(s, quiet) == []
        late = changed + h.stale_after + timedelta(hours=1)
        [stale] = due(s, late)
        assert stale.kind == "stale" and "has not changed for 48 days" in stale.title
        assert "usually changes at least every 12 days" in stale.body
        record_sent(s, stale)
    with db() as s:
        assert due(s, late + timedelta(days=30)) == []
        # New rounds appear: the quiet spell is over, and the next one is reported afresh.
        crawl_ok(s, "ee_rounds_123_en.2026-04-21.raw.json")
        changed = source_health(s, EE, SERVICE).last_change
        assert due(s) == []
        [again] = due(s, changed + h.stale_after + timedelta(days=1))
        assert again.kind == "stale"


def test_a_failing_source_is_not_also_reported_stale(db):
    with db() as s:
        crawl_ok(s, "ee_rounds_123_en.2026-04-02.raw.json")
        h = source_health(s, EE, SERVICE)
        for _ in range(3):
            record_failure(s, EE, "HTTP 500")
        messages = due(s, h.last_change + h.stale_after * 2)
        assert [m.kind for m in messages] == ["failing"]


def test_a_minimum_stale_delay_for_busy_sources(db):
    with db() as s:
        crawl_ok(s, "ee_rounds_123_en.2026-04-02.raw.json")
        lax = ServiceSettings(stale_factor=1, stale_min_days=30)
        assert source_health(s, EE, lax).stale_after == timedelta(days=30)


def test_never_crawled_source_is_healthy_and_quiet(db):
    with db() as s:
        h = source_health(s, EE, SERVICE)
        assert (h.last_run, h.consecutive_failures, h.draws, h.stale) == (None, 0, 0, False)
        assert due(s) == []
