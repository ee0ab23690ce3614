"""The background service, run for real: ``python -m scheduler serve`` against a loopback HTTP
server serving the real IRCC snapshots and a local SMTP server catching its mail.

Every service started here has two subscribers (one whom the 2026-04-21 snapshot's new
round #410 fits, one whom none of its rounds fit) and an operator, all mailing the same
local SMTP server through Apprise."""
import json
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from scraper.sources.express_entry.parse import parse_express_entry
from scraper.schedule import effective_jitter, first_run, make_trigger
from scraper.sources.base import SourceSettings
from store.db import make_engine, session as open_session
from store.ingest import PageFetch, ingest
from store.models import CrawlRun, Draw, Notification, Subscriber
from tests.configs import sources_off
from tests.conftest import DATA, FEED, data
from tests.md_render import render
from tests.service_harness import ROOT, ServiceProcess

EE = "express_entry"
OLD, NEW = "ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
MALFORMED = "ee_rounds_123_en.2025-02-19.raw.MALFORMED.json"
TORONTO = "America/Toronto"
# A CEC candidate with 520 points: of the three rounds the 2026-04-21 snapshot adds (#409
# PNP 786, #410 CEC 515, #411 French 419), only #410 is theirs. The FSW candidate with 400
# points fits none of them.
CEC, FSW, OPERATOR = "cec-candidate@example.org", "fsw-candidate@example.org", "operator@example.org"
ROUND_410 = "New draw: Express Entry round #410: Canadian Experience Class, 14 Apr 2026"


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
def service(tmp_path, site, mailbox):
    """``service(*args, **settings)`` writes a config for the loopback site and starts the service."""
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    running: list[ServiceProcess] = []

    def start(*args, schedule="every 1s", http_timeout=3, threshold=2, shutdown_timeout=20, oinp=None,
              ee=True, extra=""):
        oinp_table = "enabled = false\n" if oinp is None else oinp
        ee_table = (f'url = "{site.url(FEED)}"\nschedule = "{schedule}"\njitter = 0\n' if ee
                    else "enabled = false\n")
        config.write_text(
            f'[database]\nurl = "sqlite:///{db}"\n'
            f'[http]\ndelay = 0\nretries = 0\ntimeout = {http_timeout}\n'
            f'[service]\nfailure_threshold = {threshold}\ndelivery_interval = 1\n'
            f'shutdown_timeout = {shutdown_timeout}\n'
            f'[delivery]\ntimeout = 10\n'
            f'[operator]\nurls = ["{mailbox.url(OPERATOR)}"]\n'
            f'[sources.{EE}]\n{ee_table}'
            f'[sources.oinp]\n{oinp_table}\n{sources_off(EE, "oinp")}'
            f'[[subscribers]]\nname = "cec"\nurls = ["{mailbox.url(CEC)}"]\ncrs = 520\nprograms = ["cec"]\n'
            f'[[subscribers]]\nname = "fsw"\nurls = ["{mailbox.url(FSW)}"]\ncrs = 400\nprograms = ["fsw"]\n'
            f'{extra}')
        proc = ServiceProcess(config, *args).start()
        running.append(proc)
        return proc

    engine = make_engine(f"sqlite:///{db}")
    start.runs = lambda source=EE: crawl_runs(engine, source)
    start.outbox = lambda: outbox(engine)
    start.engine = engine
    start.config = config
    yield start
    for proc in running:
        proc.kill()
    engine.dispose()


def crawl_runs(engine, source=EE) -> list[CrawlRun]:
    with open_session(engine) as s:
        return list(s.exec(select(CrawlRun).where(CrawlRun.source == source).order_by(col(CrawlRun.id))))


def outbox(engine) -> list[tuple[str, str, str, str]]:
    """(subscriber, draw key, kind, status) of every outbox row."""
    with open_session(engine) as s:
        rows = s.exec(select(Subscriber.name, Draw.key, Notification.kind, Notification.status)
                      .join(Subscriber, Subscriber.id == Notification.subscriber_id)
                      .join(Draw, Draw.id == Notification.draw_id).order_by(col(Notification.id)))
        return [tuple(r) for r in rows]


def subjects(mailbox, address) -> list[str]:
    return [m.subject for m in mailbox.to(address)]


def seed_baseline(engine, site, snapshot=OLD, hours_ago=5) -> CrawlRun:
    """The store as a service stopped ``hours_ago`` left it: ``snapshot`` crawled (no ETag kept)."""
    with open_session(engine) as s:
        result = parse_express_entry(data(snapshot), site.url(FEED))
        return ingest(s, EE, result, pages=[PageFetch(site.url(FEED), n_records=len(result.draws))],
                      started_at=datetime.now(timezone.utc) - timedelta(hours=hours_ago)).run


def test_missed_run_happens_once_at_start_up(service, site):
    site.put(FEED, data(OLD))
    run = seed_baseline(service.engine, site)
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


# The feed hangs for HUNG seconds: a stop well within that did not wait for the crawl. Not a
# speed target (a loaded machine took 9-11 s to stop, most of it starting up the crawl and
# tearing down the interpreter, around the 1 s shutdown_timeout).
HUNG = 60


def test_shutdown_timeout_abandons_a_hung_crawl_and_still_exits_0(service, site):
    site.put(FEED, data(OLD), delay=HUNG)
    proc = service(schedule="every 1h", http_timeout=HUNG + 30, shutdown_timeout=1)
    proc.wait_for(f"{EE}: crawl started")
    time.sleep(0.3)
    started = time.monotonic()
    assert proc.stop(signal.SIGINT) == 0, proc.log
    assert time.monotonic() - started < HUNG / 2, proc.log
    assert "shutdown timeout: abandoning 1 running crawl" in proc.log
    assert "Traceback" not in proc.log  # the abandoned crawl is that line, not a scheduler's traceback
    # Nothing half-written: at most the abandoned crawl, recorded as failed, and no draw.
    assert [r.outcome for r in service.runs()] in ([], ["failed"])
    with open_session(service.engine) as s:
        assert s.exec(select(func.count()).select_from(Draw)).one() == 0


def test_second_signal_stops_at_once(service, site):
    site.put(FEED, data(OLD), delay=HUNG)
    proc = service(schedule="every 1h", http_timeout=HUNG + 30, shutdown_timeout=HUNG * 2)
    proc.wait_for(f"{EE}: crawl started")
    proc.proc.send_signal(signal.SIGTERM)
    proc.wait_for("SIGTERM: no new crawls")
    started = time.monotonic()
    assert proc.stop(signal.SIGINT) == 0, proc.log
    assert time.monotonic() - started < HUNG / 2, proc.log
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


# -- with the notifier: subscribers and the operator, by email ----------------------------

def test_a_new_round_is_mailed_once_to_the_subscriber_it_fits_and_to_no_one_else(service, site, mailbox):
    site.put(FEED, data(OLD))
    proc = service()
    proc.wait_for(f"{EE}: 409 new")  # the baseline: stored, nobody told
    proc.wait_for(f"{EE}: not modified")  # polled again with its ETag
    site.put(FEED, data(NEW))
    [mail] = mailbox.wait(CEC)
    assert mail.subject == ROUND_410
    assert "Canadian Experience Class" in mail.body and "515" in mail.body and "Hello cec" in mail.body
    # The new feed is polled again (304s) and the outbox swept several times: nothing more.
    proc.wait_for(f"{EE}: not modified", count=proc.count(f"{EE}: not modified") + 2)
    assert proc.stop() == 0, proc.log
    assert subjects(mailbox, CEC) == [ROUND_410]
    assert mailbox.to(FSW) == [] and mailbox.to(OPERATOR) == []
    assert service.outbox() == [("cec", "410", "alert", "sent")]
    assert [(r.outcome, r.n_new) for r in service.runs()][:1] == [("ok", 409)]
    assert sum(r.n_new for r in service.runs()) == 412
    assert proc.count("delivery: 1 messages: 1 rows sent") == 1 and proc.count("delivery: ") == 1
    assert "Traceback" not in proc.log
    # ``drawwatch status`` sees the outbox the service filled.
    status = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(service.config), "status",
                             "--format", "json"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["outbox"] == {"sent": 1}


def _http_500(site):
    site.put(FEED, b"<html><body>Internal Server Error</body></html>", content_type="text/html", status=500)


def _timeout(site):
    site.put(FEED, data(NEW), delay=3)  # the service gives up after 1 s


def _malformed(site):
    site.put(FEED, data(MALFORMED))  # a 200 whose JSON is broken (a real IRCC snapshot)


# How the IRCC feed breaks, and what the operator's alert quotes.
BREAKAGES = [(_http_500, f"{FEED}: HTTP 500"), (_timeout, "TimeoutError"),
             (_malformed, "ParseError: malformed JSON at line 4")]


def test_each_breakage_of_a_source_is_one_operator_alert_and_one_recovery(service, site, mailbox):
    site.put(FEED, data(OLD))
    proc = service(threshold=2, http_timeout=1)
    proc.wait_for(f"{EE}: 409 new")
    told = 0
    for breakage, error in BREAKAGES:
        breakage(site)
        told += 1
        alert = mailbox.wait(OPERATOR, told)[-1]
        assert alert.subject == f"drawwatch: {EE} is failing", alert
        streak = int(re.search(r"The last (\d+) crawls of express_entry failed", alert.body).group(1))
        assert streak >= 2 and error in alert.body, alert.body  # at the threshold, not before
        # It keeps failing: no second alert.
        proc.wait_for(f"{EE}: crawl failed", count=proc.count(f"{EE}: crawl failed") + 1)
        # It works again (the old feed, answered 304): one recovery message, then quiet.
        site.put(FEED, data(OLD))
        told += 1
        recovery = mailbox.wait(OPERATOR, told)[-1]
        assert recovery.subject == f"drawwatch: {EE} works again" and "after failing since" in recovery.body
        proc.wait_for(f"{EE}: not modified", count=proc.count(f"{EE}: not modified") + 2)
        assert len(mailbox.to(OPERATOR)) == told, subjects(mailbox, OPERATOR)
    assert proc.stop() == 0, proc.log
    assert mailbox.to(CEC) == [] and mailbox.to(FSW) == [] and service.outbox() == []
    assert "Traceback" not in proc.log
    # A restart repeats neither an alert nor a recovery.
    again = service(threshold=2, http_timeout=1)
    again.wait_for(f"{EE}: not modified", count=2)
    assert again.stop() == 0 and len(mailbox.to(OPERATOR)) == told == 6


def test_a_captcha_page_is_one_operator_alert_and_one_recovery(service, site, mailbox):
    # Ontario's pages exist here as markdown conversions of the live ones, rendered to HTML;
    # ontario.ca answering its captcha page instead (a 200) is how that source breaks.
    # The parser tells a yearly page from a ledger by its path: the real path is kept.
    path = "/page/{year}-ontario-immigrant-nominee-program-updates"
    year = path.format(year=datetime.now().year)
    page = render(DATA / "oinp_updates_2026.2026-06-19.md")[0]
    site.put(year, page, "text/html")
    oinp = f'url = "{site.url(path)}"\nurls = []\npast_years = 0\nschedule = "every 1s"\njitter = 0\n'
    proc = service(ee=False, oinp=oinp, threshold=2)
    proc.wait_for(r"oinp: \d+ new")
    site.put(year, render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2024.2026-06-19.md")[0], "text/html")
    [alert] = mailbox.wait(OPERATOR)
    assert alert.subject == "drawwatch: oinp is failing" and "SourceBlocked" in alert.body, alert.body
    proc.wait_for("oinp: crawl failed", count=proc.count("oinp: crawl failed") + 1)
    site.put(year, page, "text/html")
    _, recovery = mailbox.wait(OPERATOR, 2)
    assert recovery.subject == "drawwatch: oinp works again"
    proc.wait_for("oinp: not modified", count=proc.count("oinp: not modified") + 2)
    assert proc.stop() == 0, proc.log
    assert len(mailbox.to(OPERATOR)) == 2 and mailbox.to(CEC) == [] and mailbox.to(FSW) == []


def test_sigterm_mid_crawl_delivers_what_it_found_and_a_restart_sends_nothing_twice(service, site, mailbox):
    seed_baseline(service.engine, site)  # the old feed, crawled before a five-hour stop
    site.put(FEED, data(NEW), delay=2)
    proc = service(schedule="every 1h")
    proc.wait_for(f"{EE}: crawl started")  # the one catch-up crawl: its answer is 2 s away
    started = time.monotonic()
    assert proc.stop(signal.SIGTERM) == 0, proc.log
    assert time.monotonic() - started < 10
    # The crawl finished, and the alert it queued was sent before the process exited.
    assert [(r.outcome, r.n_new) for r in service.runs()] == [("ok", 409), ("ok", 3)]
    assert subjects(mailbox, CEC) == [ROUND_410] and mailbox.to(FSW) == []
    assert service.outbox() == [("cec", "410", "alert", "sent")]
    assert "waiting for 1 running crawl" in proc.log  # the signal did come mid-crawl
    assert "Traceback" not in proc.log and proc.lines[-1].endswith("stopped")
    # Restarted: the feed is polled (304s) and the outbox swept, at start, while running and
    # at the stop; nothing goes out again.
    site.put(FEED, data(NEW))
    again = service()
    again.wait_for(f"{EE}: not modified", count=2)
    assert again.stop() == 0, again.log
    assert subjects(mailbox, CEC) == [ROUND_410] and mailbox.to(FSW) == [] and mailbox.to(OPERATOR) == []
    assert service.outbox() == [("cec", "410", "alert", "sent")]


def test_once_crawls_and_delivers_what_its_crawl_queued_before_exiting(service, site, mailbox):
    site.put(FEED, data(OLD))
    assert service("--once", schedule="every 1h").wait_exit() == 0  # schedules are ignored
    assert [(r.outcome, r.n_new) for r in service.runs()] == [("ok", 409)]  # the baseline: nobody told
    site.put(FEED, data(NEW))
    proc = service("--once")
    assert proc.wait_exit() == 0, proc.log
    # Already in the mailbox when the process has exited: no waiting.
    assert subjects(mailbox, CEC) == [ROUND_410] and mailbox.to(FSW) == []
    assert service.outbox() == [("cec", "410", "alert", "sent")]
    assert service("--once").wait_exit() == 0  # 304: nothing new, nothing sent again
    assert subjects(mailbox, CEC) == [ROUND_410] and mailbox.to(OPERATOR) == []
    # A failed crawl exits 1; at the threshold (2) the operator is told, before the exit.
    _http_500(site)
    assert service("--once").wait_exit() == 1
    assert mailbox.to(OPERATOR) == []
    assert service("--once").wait_exit() == 1
    assert subjects(mailbox, OPERATOR) == [f"drawwatch: {EE} is failing"]
    assert [r.outcome for r in service.runs()] == ["ok", "ok", "not_modified", "failed", "failed"]
