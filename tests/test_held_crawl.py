"""Held crawls for real: a feed that renumbers every round is held (nothing stored, nobody
alerted), ``status`` shows it, the operator is told once, ``crawl --accept`` applies it, and
a normal later feed ends it. ``drawwatch`` runs as a child process against HTTP on
127.0.0.1 serving the real IRCC snapshots, and a local SMTP server catches its mail."""
import json
import subprocess
import sys
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlmodel import col, select

from scraper.sources.express_entry.parse import parse_express_entry
from configfile import ConfigError, load_config
from store.config import ServiceSettings
from store.db import make_engine, session as open_session
from store.health import source_health
from store.health_alerts import ensure_schema, pending_messages, record_sent
from store.ingest import DEFAULT_HOLD_THRESHOLD, PageFetch, ingest, record_failure
from store.models import CrawlRun, Draw, HeldCrawl, Notification, Subscriber
from tests.configs import sources_off
from tests.conftest import FEED, data
from tests.service_harness import ROOT, ServiceProcess

EE = "express_entry"
OLD, NEW = "ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
# Of the three rounds the 2026-04-21 snapshot adds, only #410 (CEC, 515) fits this candidate.
CEC, EVERY, OPERATOR = "cec-candidate@example.org", "every-draw@example.org", "operator@example.org"
ROUND_410 = "New draw: Express Entry round #410: Canadian Experience Class, 14 Apr 2026"
HELD_TITLE = f"drawwatch: a crawl of {EE} is held"
ACCEPT = f"`drawwatch crawl --source {EE} --accept`"
URL = "http://127.0.0.1:9" + FEED


def keys(body: bytes) -> set[str]:
    return {row["drawNumber"] for row in json.loads(body)["rounds"]}


def renumbered(snapshot: str = OLD) -> bytes:
    """The real feed with every round number one higher (issue 11's "2 new, 408 changed")."""
    feed = json.loads(data(snapshot))
    for row in feed["rounds"]:
        if row["drawNumber"].isdigit():  # "91a" and "91b" are not numbers to shift
            row["drawNumber"] = str(int(row["drawNumber"]) + 1)
    return json.dumps(feed).encode()


def crawl(session, body: bytes, url: str = URL):
    """What ``drawwatch crawl`` stores of one fetch of ``body`` from ``url``."""
    result = parse_express_entry(body, url)
    return ingest(session, EE, result, pages=[PageFetch(url, n_records=len(result.draws),
                                                        keys=tuple(d.key for d in result.draws))])


# -- config ---------------------------------------------------------------------------------

def test_hold_threshold_is_a_per_source_key(tmp_path):
    example = load_config(ROOT / "config.example.toml")
    assert example.source(EE).hold_threshold == example.source("oinp").hold_threshold == DEFAULT_HOLD_THRESHOLD == 3
    path = tmp_path / "config.toml"
    path.write_text("[sources.oinp]\nhold_threshold = 0\n")
    settings = load_config(path)
    assert settings.source("oinp").hold_threshold == 0 and settings.source(EE).hold_threshold == 3
    for value, message in (("-1", "greater than or equal to 0"), ('"a few"', "valid integer")):
        path.write_text(f"[sources.express_entry]\nenabled = true\n\nhold_threshold = {value}\n")
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert f"{path}: sources.express_entry.hold_threshold (line 4): " in str(err.value)
        assert message in str(err.value)


# -- the CLI ----------------------------------------------------------------------------------

@pytest.fixture
def cli(tmp_path, site):
    """``cli(*args)`` runs ``python -m scheduler --config ... *args``; ``cli.invoke(*args)`` the same
command in this process; ``cli.engine`` reads its database."""
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[http]\ndelay = 0\nretries = 0\ntimeout = 5\n'
                      f'[sources.{EE}]\nurl = "{site.url(FEED)}"\nschedule = "every 1h"\n'
                      f'{sources_off(EE)}'
                      f'[[subscribers]]\nname = "every"\nurls = ["mailto://127.0.0.1:9?from=drawwatch@example.org&to={EVERY}&mode=insecure"]\n'
                      'notify = ["all"]\n')

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), *args],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def invoke(*args):
        """The same command in this process: for those that need no crawl (and no reactor)."""
        from scheduler import main

        result = CliRunner().invoke(main, ["--config", str(config), *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    run.invoke, run.engine = invoke, make_engine(f"sqlite:///{db}")
    yield run
    run.engine.dispose()


def stored(engine) -> dict[str, str]:
    with open_session(engine) as s:
        return {d.key: d.content_hash for d in s.exec(select(Draw).where(Draw.source == EE))}


def alerts(engine) -> list[tuple[str, str, str]]:
    with open_session(engine) as s:
        return sorted(tuple(r) for r in s.exec(
            select(Subscriber.name, Draw.key, Notification.kind)
            .join(Subscriber, Subscriber.id == Notification.subscriber_id)
            .join(Draw, Draw.id == Notification.draw_id)))


def runs(engine) -> list[CrawlRun]:
    with open_session(engine) as s:
        return list(s.exec(select(CrawlRun).where(CrawlRun.source == EE).order_by(col(CrawlRun.id))))


def status_json(cli):
    result = cli.invoke("status", "--format", "json")
    out = json.loads(result.stdout)
    return result.exit_code, out, {row["source"]: row for row in out["sources"]}


def test_a_renumbered_feed_is_held_shown_and_applied_only_when_accepted(cli, site):
    with open_session(cli.engine) as s:  # the store as a crawl of the real feed left it
        crawl(s, data(OLD), site.url(FEED))
    before = stored(cli.engine)

    # Every round renumbered: held, nothing stored, nobody alerted; exit 3 for cron.
    site.put(FEED, renumbered())
    held = cli("crawl")
    assert held.returncode == 3, held.stderr
    run = runs(cli.engine)[-1]
    assert run.outcome == "held" and run.error
    assert f"{EE}: HELD: {run.error}; check the source's page, then run {ACCEPT} to apply it" in held.stderr
    assert stored(cli.engine) == before and alerts(cli.engine) == []

    # What the hold would do, worked out here from the two feeds themselves.
    old, new = keys(data(OLD)), keys(renumbered())
    expected = {"new": len(new - old), "changed": len({k for k in old & new if k.isdigit()}),
                "lost": len(old - new)}
    assert expected == {"new": 2, "changed": 405, "lost": 2}
    code, out, rows = status_json(cli)
    assert code == 3 and out["held"] == [EE] and out["failing"] == []
    ee = rows[EE]
    assert ee["state"] == "held" and ee["failures"] == 0 and ee["draws"] == len(old)
    assert {k: ee["held"][k] for k in expected} == expected and ee["held"]["summary"] == run.error
    assert datetime.fromisoformat(ee["held"]["since"]) == run.started_at
    table = cli.invoke("status")
    assert table.exit_code == 3
    assert [ln.split()[:2] for ln in table.stdout.splitlines() if ln.startswith(EE)] == [[EE, "held"]]
    line = next(ln for ln in table.stdout.splitlines() if ln.startswith(f"held: {EE} since "))
    assert "2 new, 405 changed, 2 lost" in line and line.endswith(f"then run {ACCEPT} to apply it")

    # A person looked: accepted, stored, and alerted as any crawl: the subscriber told of
    # every draw hears of the newest new round number; the other new key carries a round
    # of years ago (the source's past: stored, not news); nobody was told of the rest.
    accepted = cli.invoke("crawl", "--source", EE, "--accept")
    assert accepted.exit_code == 0, accepted.stderr
    assert accepted.stdout.startswith(f"{EE}: held crawl accepted\n{EE}: 2 new, 405 changed, 2 unchanged "
                                      "(1 of the new from the source's past: stored, no alerts)\n")
    newest = max(new - old, key=lambda k: int(k.rstrip("ab")))
    assert alerts(cli.engine) == [("every", newest, "alert")]
    assert set(stored(cli.engine)) == old | new
    code, out, rows = status_json(cli)
    assert code == 0 and rows[EE]["state"] == "ok" and rows[EE]["held"] is None and out["held"] == []

    # Nothing is held any more; --accept names one source.
    again = cli.invoke("crawl", "--source", EE, "--accept")
    assert again.exit_code == 1
    assert again.stderr == f"Error: {EE}: no held crawl to accept (`drawwatch status` shows which sources are held)\n"
    for args in ((), ("--source", EE, "--source", "oinp"), ("--source", EE, "--backfill")):
        usage = cli.invoke("crawl", "--accept", *args)  # a usage error, as every command's (issue 14)
        assert usage.exit_code == 2 and usage.stderr.startswith("Usage: "), usage.stderr
        assert usage.stderr.splitlines()[-1].startswith("Error: crawl --accept: name exactly one source")
        assert usage.stdout == ""


# -- the service ------------------------------------------------------------------------------

@pytest.fixture
def service(tmp_path, site, mailbox):
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{db}"\n[http]\ndelay = 0\nretries = 0\ntimeout = 3\n'
        '[service]\nfailure_threshold = 2\ndelivery_interval = 1\n'
        f'[operator]\nurls = ["{mailbox.url(OPERATOR)}"]\n'
        f'[sources.{EE}]\nurl = "{site.url(FEED)}"\nschedule = "every 1s"\njitter = 0\n'
        f'{sources_off(EE)}'
        f'[[subscribers]]\nname = "cec"\nurls = ["{mailbox.url(CEC)}"]\ncrs = 520\nprograms = ["cec"]\n'
        f'[[subscribers]]\nname = "every"\nurls = ["{mailbox.url(EVERY)}"]\nnotify = ["all"]\n')
    running = []

    def start(*args):
        running.append(ServiceProcess(config, *args).start())
        return running[-1]

    start.engine = make_engine(f"sqlite:///{db}")
    yield start
    for proc in running:
        proc.kill()
    start.engine.dispose()


def test_the_operator_is_told_once_per_hold_and_a_normal_feed_ends_it(service, site, mailbox):
    site.put(FEED, data(OLD))
    proc = service()
    proc.wait_for(f"{EE}: 409 new")  # the baseline: stored, nobody told
    site.put(FEED, renumbered())
    [told] = mailbox.wait(OPERATOR)
    assert told.subject == HELD_TITLE
    assert "2 new, 405 changed, 2 lost" in told.body and ACCEPT in told.body, told.body
    # Polled again and again, the feed stays renumbered: held each time, told once.
    proc.wait_for(f"{EE}: crawl held", count=3)
    assert proc.stop() == 0, proc.log
    # A restart (``serve --once``: it crawls, delivers and checks health) repeats nothing,
    # and exits as ``crawl`` does on a hold.
    again = service("--once")
    assert again.wait_exit() == 3, again.log
    assert again.count(f"{EE}: crawl held") == 1 and again.count("operator: ") == 0
    assert [m.subject for m in mailbox.to(OPERATOR)] == [HELD_TITLE]
    assert mailbox.to(CEC) == [] and mailbox.to(EVERY) == []
    with open_session(service.engine) as s:
        held_runs = [r for r in s.exec(select(CrawlRun).where(CrawlRun.outcome == "held"))]
        assert len(held_runs) >= 4 and s.get(HeldCrawl, EE).run_id == held_runs[-1].id

    # IRCC fixes its feed and adds rounds: an ordinary crawl, the hold ends by itself,
    # alerts go out as usual and the operator hears nothing more.
    site.put(FEED, data(NEW))
    assert service("--once").wait_exit() == 0
    assert [m.subject for m in mailbox.to(CEC)] == [ROUND_410]
    assert len(mailbox.to(EVERY)) == len(keys(data(NEW)) - keys(data(OLD))) == 3
    assert [m.subject for m in mailbox.to(OPERATOR)] == [HELD_TITLE]
    with open_session(service.engine) as s:
        assert s.get(HeldCrawl, EE) is None
    assert "Traceback" not in proc.log + again.log


# -- health: what the operator is owed, on SQLite and PostgreSQL ------------------------------

SERVICE = ServiceSettings(failure_threshold=2)


def _opener(url: str):
    engines = []

    def open_db():
        engines.append(make_engine(url))
        ensure_schema(engines[-1])
        return open_session(engines[-1])

    return open_db, engines


@pytest.fixture
def db(store_engine):
    """Opens the store as a fresh process would (``db()`` again = a restart); SQLite and PostgreSQL."""
    open_db, engines = _opener(store_engine.url.render_as_string(hide_password=False))
    yield open_db
    for engine in engines:
        engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path):
    """``db`` on SQLite only, for what the back end cannot change."""
    open_db, engines = _opener(f"sqlite:///{tmp_path / 'dw.db'}")
    yield open_db
    for engine in engines:
        engine.dispose()


def due(session, now=None):
    return pending_messages(session, [EE], SERVICE, now)


def test_one_message_per_held_episode_across_restarts(db):
    with db() as s:
        crawl(s, data(OLD))
        first = crawl(s, renumbered())
        assert first.held and due(s) == due(s)  # owed until recorded as sent
        [told] = due(s)
        assert told.kind == "held" and told.since == first.run.started_at and told.title == HELD_TITLE
        record_sent(s, told)
        assert crawl(s, renumbered()).held and due(s) == []
        h = source_health(s, EE, SERVICE)
        assert h.held_since == first.run.started_at and h.held.run_id != first.run.id
    with db() as s:  # a restart
        assert due(s) == []
        # A normal feed ends the episode, and nothing is said about that.
        assert not crawl(s, data(NEW)).held
        assert source_health(s, EE, SERVICE).held is None and due(s) == []
        # A later rewrite of the history is a new episode: told again.
        again = crawl(s, renumbered(NEW))
        assert again.held
        [second] = due(s)
        assert second.kind == "held" and second.since == again.run.started_at


def test_a_hold_ends_a_failure_streak_and_failures_do_not_end_a_hold(sqlite_db):
    with sqlite_db() as s:
        crawl(s, data(OLD))
        record_failure(s, EE, f"{URL}: HTTP 500")
        record_failure(s, EE, f"{URL}: HTTP 500")
        [failing] = due(s)
        record_sent(s, failing)
        held = crawl(s, renumbered())
        # The source answers again (its crawl is held): one recovery, one hold message.
        h = source_health(s, EE, SERVICE)
        assert h.consecutive_failures == 0 and h.held is not None and h.last_read == held.run.finished_at
        assert sorted(m.kind for m in due(s)) == ["held", "recovered"]
        for message in due(s):
            record_sent(s, message)
        # Failing while held: failing is reported, the hold is neither forgotten nor repeated.
        record_failure(s, EE, f"{URL}: HTTP 503")
        record_failure(s, EE, f"{URL}: HTTP 503")
        h = source_health(s, EE, SERVICE)
        assert h.failing(2) and h.held_since == held.run.started_at
        assert [m.kind for m in due(s)] == ["failing"]


def test_a_held_source_is_not_reported_stale(sqlite_db):
    with sqlite_db() as s:
        crawl(s, data(OLD))
        crawl(s, renumbered())
        h = source_health(s, EE, SERVICE)
        late = h.last_change + h.stale_after * 2
        assert not source_health(s, EE, SERVICE, late).stale
        assert [m.kind for m in due(s, late)] == ["held"]


def test_status_reads_a_database_from_before_held_crawls(tmp_path):
    """An older database has no HeldCrawl table; ``status`` (read-only) must not need one."""
    from scheduler import main

    db = tmp_path / "dw.db"
    engine = make_engine(f"sqlite:///{db}")
    with open_session(engine) as s:
        crawl(s, data(OLD))
    HeldCrawl.__table__.drop(engine)
    engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n{sources_off(EE)}')
    result = CliRunner().invoke(main, ["--config", str(config), "status", "--format", "json"])
    assert result.exit_code == 0, result.output
    [ee] = [row for row in json.loads(result.stdout)["sources"] if row["source"] == EE]
    assert ee["state"] == "ok" and ee["held"] is None and ee["draws"] == 409
