"""The background service, run for real: ``python -m scheduler serve`` against a loopback HTTP
server serving the real IRCC snapshots and a local SMTP server catching its mail."""
import signal
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from scraper.parse.express_entry import parse_express_entry
from scraper.schedule import effective_jitter, first_run, make_trigger
from store.config import SourceSettings
from store.db import make_engine, session as open_session
from store.ingest import PageFetch, ingest
from store.models import CrawlRun, Draw
from tests.conftest import FEED, data
from tests.service_harness import Mailbox, ServiceProcess

EE = "express_entry"
OLD, NEW = "ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
TORONTO = "America/Toronto"


# -- schedules ----------------------------------------------------------------------

def test_cron_weekdays_mean_what_cron_means():
    # APScheduler 3 counts Monday as 0; "1-5" must still be Monday to Friday.
    trigger = make_trigger(EE, SourceSettings(schedule=["0 14 * * 1-5"], jitter=0), TORONTO)
    saturday = datetime(2026, 11, 21, 15, 0, tzinfo=ZoneInfo(TORONTO))
    fire = trigger.get_next_fire_time(None, saturday)
    assert (fire.strftime("%a"), fire.hour) == ("Mon", 14)
    sunday_only = make_trigger(EE, SourceSettings(schedule=["0 9 * * 0"], jitter=0), TORONTO)
    assert sunday_only.get_next_fire_time(None, saturday).strftime("%a %H") == "Sun 09"


def test_default_schedule_is_fast_in_ottawa_business_hours_and_hourly_otherwise():
    src = SourceSettings(schedule=["*/5 8-19 * * mon-fri", "0 * * * *"], jitter=0)
    trigger = make_trigger(EE, src, TORONTO)
    tuesday_2pm = datetime(2026, 11, 24, 14, 1, tzinfo=ZoneInfo(TORONTO))
    assert trigger.get_next_fire_time(None, tuesday_2pm).minute == 5
    tuesday_11pm = datetime(2026, 11, 24, 23, 1, tzinfo=ZoneInfo(TORONTO))
    assert trigger.get_next_fire_time(None, tuesday_11pm).hour == 0


def test_jitter_never_swamps_a_short_interval():
    assert effective_jitter(SourceSettings(schedule=["every 2s"], jitter=60)) == 1
    assert effective_jitter(SourceSettings(schedule=["every 10m"], jitter=60)) == 60
    assert effective_jitter(SourceSettings(schedule=["*/5 * * * *"], jitter=60)) == 60


def test_first_run_catches_up_once_and_otherwise_keeps_the_rhythm():
    now = datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc)
    hourly = SourceSettings(schedule=["every 1h"])
    assert first_run(hourly, TORONTO, None, now) == now  # never crawled: the baseline now
    assert first_run(hourly, TORONTO, now - timedelta(hours=9), now) == now  # missed (9 times): once, now
    assert first_run(hourly, TORONTO, now - timedelta(minutes=20), now) == now + timedelta(minutes=40)
    nightly = SourceSettings(schedule=["30 2 * * *"])
    two_days_ago = now - timedelta(days=2)
    assert first_run(nightly, TORONTO, two_days_ago, now) == now


# -- the service process --------------------------------------------------------------

@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def service(tmp_path, site, mailbox):
    """``service(**settings)`` writes a config for the loopback site and starts the service."""
    db = tmp_path / "dw.db"
    running: list[ServiceProcess] = []

    def start(*args, schedule="every 1s", http_timeout=3, threshold=2, shutdown_timeout=20, oinp=None,
              extra=""):
        config = tmp_path / "config.toml"
        oinp_table = "enabled = false\n" if oinp is None else oinp
        config.write_text(
            f'[database]\nurl = "sqlite:///{db}"\n'
            f'[http]\ndelay = 0\nretries = 0\ntimeout = {http_timeout}\n'
            f'[service]\nfailure_threshold = {threshold}\ndelivery_interval = 1\n'
            f'shutdown_timeout = {shutdown_timeout}\n'
            f'[sources.{EE}]\nurl = "{site.url(FEED)}"\nschedule = "{schedule}"\njitter = 0\n'
            f'[sources.oinp]\n{oinp_table}\n{extra}')
        proc = ServiceProcess(config, *args).start()
        running.append(proc)
        return proc

    engine = make_engine(f"sqlite:///{db}")
    start.runs = lambda source=EE: crawl_runs(engine, source)
    start.engine = engine
    yield start
    for proc in running:
        proc.kill()
    engine.dispose()


def crawl_runs(engine, source=EE) -> list[CrawlRun]:
    with open_session(engine) as s:
        return list(s.exec(select(CrawlRun).where(CrawlRun.source == source).order_by(col(CrawlRun.id))))


def test_missed_run_happens_once_at_start_up(service, site):
    site.put(FEED, data(OLD))
    with open_session(service.engine) as s:
        result = parse_express_entry(data(OLD), site.url(FEED))
        run = ingest(s, EE, result, pages=[PageFetch(site.url(FEED), n_records=len(result.draws))],
                     started_at=datetime.now(timezone.utc) - timedelta(hours=5)).run
    # Five hourly runs were missed while the service was down: one crawl at start-up.
    proc = service(schedule="every 1h")
    proc.wait_for(f"{EE}: crawl started")
    proc.wait_for(f"{EE}: not modified|{EE}: .* unchanged")
    time.sleep(1)
    assert proc.count(f"{EE}: crawl started") == 1
    assert proc.stop() == 0
    assert len(service.runs()) == 2 and service.runs()[0].id == run.id
    # Just crawled: a restart does not crawl again before the hour is up.
    again = service(schedule="every 1h")
    again.wait_for(r"first crawl \d{4}-")
    time.sleep(1.5)
    assert again.count("crawl started") == 0
    assert again.stop() == 0
    assert len(service.runs()) == 2


def test_sigterm_mid_crawl_lets_the_crawl_finish_and_exits_0(service, site):
    site.put(FEED, data(OLD), delay=2)
    proc = service(schedule="every 1h")
    proc.wait_for(f"{EE}: crawl started")
    time.sleep(0.5)  # the request is in flight, its answer 1.5 s away
    started = time.monotonic()
    assert proc.stop(signal.SIGTERM) == 0, proc.log
    assert time.monotonic() - started < 10
    [run] = service.runs()
    assert run.outcome == "ok" and run.n_new == 409  # finished and stored, not abandoned
    assert "Traceback" not in proc.log and proc.lines[-1].endswith("stopped")


def test_shutdown_timeout_abandons_a_hung_crawl_and_still_exits_0(service, site):
    site.put(FEED, data(OLD), delay=15)
    proc = service(schedule="every 1h", http_timeout=30, shutdown_timeout=1)
    proc.wait_for(f"{EE}: crawl started")
    time.sleep(0.3)
    started = time.monotonic()
    assert proc.stop(signal.SIGINT) == 0, proc.log
    assert time.monotonic() - started < 8
    assert "shutdown timeout: abandoning 1 running crawl" in proc.log
    # Nothing half-written: at most the abandoned crawl, recorded as failed, and no draw.
    assert [r.outcome for r in service.runs()] in ([], ["failed"])
    with open_session(service.engine) as s:
        assert s.exec(select(func.count()).select_from(Draw)).one() == 0


def test_second_signal_stops_at_once(service, site):
    site.put(FEED, data(OLD), delay=15)
    proc = service(schedule="every 1h", http_timeout=30, shutdown_timeout=60)
    proc.wait_for(f"{EE}: crawl started")
    proc.proc.send_signal(signal.SIGTERM)
    proc.wait_for("SIGTERM: no new crawls")
    started = time.monotonic()
    assert proc.stop(signal.SIGINT) == 0, proc.log
    assert time.monotonic() - started < 8
    assert "SIGINT again: stopping now" in proc.log


def test_a_slow_source_never_delays_another(service, site):
    # Every Ontario page takes 4 s to answer (and then fails); IRCC's feed keeps being
    # polled every second meanwhile.
    for path in (f"/oinp/{datetime.now().year}", "/oinp/ita", "/oinp/noi"):
        site.put(path, b"<html>slow</html>", content_type="text/html", status=503, delay=4)
    site.put(FEED, data(OLD))
    oinp = (f'url = "{site.url("/oinp/{year}")}"\nurls = ["{site.url("/oinp/ita")}", "{site.url("/oinp/noi")}"]\n'
            'past_years = 0\nschedule = "every 1h"\njitter = 0\n')
    proc = service(http_timeout=20, oinp=oinp)
    proc.wait_for("oinp: crawl started")
    proc.wait_for("oinp: crawl failed", timeout=30)
    assert proc.stop() == 0
    [oinp_run] = service.runs("oinp")
    during = [r for r in service.runs() if oinp_run.started_at <= r.started_at <= oinp_run.finished_at]
    assert len(during) >= 3, [(r.started_at, r.outcome) for r in service.runs()]
    assert all(r.outcome in ("ok", "not_modified") for r in during)


def test_once_crawls_every_source_and_exits(service, site):
    site.put(FEED, data(OLD))
    proc = service("--once", schedule="every 1h")
    assert proc.wait_exit() == 0, proc.log
    assert [r.outcome for r in service.runs()] == ["ok"]
    site.put(FEED, b"<html><body>Service Unavailable</body></html>", content_type="text/html", status=503)
    failed = service("--once", schedule="every 1h")
    assert failed.wait_exit() == 1
    assert [r.outcome for r in service.runs()] == ["ok", "failed"]
