"""Several ``drawwatch serve`` processes on one real PostgreSQL database: a loopback HTTP
server serves the real IRCC feed snapshots, subscribers are loopback webhooks.

Each process has its own config file, the same but for its HTTP user agent, so the feed
server's request log tells which process fetched each request."""
from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from store.db import make_engine
from tests.cluster import EE, FEED, create_database, crawl_runs as runs, drop_database, ee_config, lease, \
    wait_until
from tests.conftest import data
from tests.service_harness import ROOT, ServiceProcess

OLD, NEW = "ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
# The 2026-04-21 snapshot adds rounds #409 (PNP), #410 (CEC, 515) and #411 (French, 419):
# a CEC candidate with 520 points fits #410 only; an FSW candidate with 400 fits none;
# a subscriber told of every draw gets all three.
ROUNDS = {"409", "410", "411"}
SUBSCRIBERS = ('[[subscribers]]\nname = "cec"\nurls = ["{cec}"]\ncrs = 520\nprograms = ["cec"]\n'
               '[[subscribers]]\nname = "fsw"\nurls = ["{fsw}"]\ncrs = 400\nprograms = ["fsw"]\n'
               '[[subscribers]]\nname = "every"\nurls = ["{every}"]\nnotify = ["all"]\n')
# Seconds: the feed's schedule and [service] crawl_lease. A lease is renewed every LEASE/3 s
# by the process's event loop: LEASE must outlast the loop's stalls on a loaded machine.
INTERVAL, LEASE = 2, 8


@pytest.fixture
def database(postgres_url):
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    name, url = create_database(postgres_url)
    engine = make_engine(url, create=False)
    yield url, engine
    engine.dispose()
    drop_database(postgres_url, name)


@pytest.fixture
def processes(tmp_path, database, site, hooks):
    """``start(label, *args)``: a ``serve`` process whose requests carry ``drawwatch-<label>``."""
    url, _ = database
    running: list[ServiceProcess] = []
    subscribers = SUBSCRIBERS.format(cec=hooks.json_url("/cec"), fsw=hooks.json_url("/fsw"),
                                     every=hooks.json_url("/every"))

    def start(label: str, *args: str) -> ServiceProcess:
        config = ee_config(tmp_path / f"{label}.toml", label, url, site.url(FEED), schedule=f"every {INTERVAL}s",
                           lease=LEASE, extra=subscribers)
        proc = ServiceProcess(config, *args).start()
        proc.label = label
        running.append(proc)
        return proc

    yield start
    for proc in running:
        proc.kill()


def feed_fetchers(site) -> list[str]:
    """The user agent of each request for the feed, in order of arrival."""
    return [headers.get("user-agent", "") for path, _, headers in list(site.requests) if path == FEED]


def rounds(hooks, path: str) -> list[str]:
    """The Express Entry round of each alert ``path`` was sent (its title names it)."""
    return [re.search(r"round #(\w+)", payload.get("title", "")).group(1) for payload in hooks.to(path)]


@pytest.mark.postgres
def test_three_processes_crawl_each_source_once_hand_it_over_when_killed_and_alert_once(
        database, processes, site, hooks):
    _, engine = database
    site.put(FEED, data(OLD))
    # Started together: they also race to create the schema and sync the subscribers.
    procs = [processes("a"), processes("b", "--role", "crawler"), processes("c", "--role", "deliverer")]
    for proc in procs:
        proc.wait_for("role ", timeout=60)
    wait_until(lambda: any(r.n_new == 409 for r in runs(engine)), "the baseline crawl", timeout=60)

    held = lease(engine)
    [holder] = [p for p in procs if p.proc.pid == held.pid]
    assert holder.label in ("a", "b")  # a deliverer never crawls
    [heir] = [p for p in procs[:2] if p is not holder]
    wait_until(lambda: len(runs(engine)) >= 2, "a crawl by the holder after the baseline")
    # SIGKILL: no chance to give the lease back; it must run out. Read just before: the
    # holder's renewals moved its expiry on since the baseline.
    held = lease(engine)
    assert held.pid == holder.proc.pid  # nobody took it from a live holder
    holder.proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    holder.proc.wait(10)
    before = len(runs(engine))
    after = wait_until(lambda: [r for r in runs(engine)[before:] if r.started_at.timestamp() > killed_at],
                       "a crawl by another process after the kill", timeout=40)
    takeover = after[0].started_at.timestamp() - killed_at
    # The dead holder's lease runs out at most LEASE s after its last renewal, the heir
    # looks every LEASE/3 s and then crawls at once (its last crawl is over INTERVAL s old).
    bound = LEASE * 4 / 3 + INTERVAL
    print(f"takeover after SIGKILL: {takeover:.2f} s (bound {bound:.2f} s)")
    assert takeover <= bound + 4, (takeover, heir.log)  # + the latency of a loaded 2-CPU machine
    new = lease(engine)
    assert new.holder != held.holder and new.pid == heir.proc.pid
    assert new.acquired_at >= held.expires_at  # taken when the lease ran out, not before

    # The feed changes under the heir: each subscriber the new rounds fit gets one alert.
    site.put(FEED, data(NEW))
    # Meanwhile `serve --once` from cron beside the running service: crawls nothing, delivers, exits 0.
    cron = processes("cron", "--once")
    wait_until(lambda: len(hooks.to("/every")) >= 3 and hooks.to("/cec"), "the alerts")
    assert cron.wait_exit(60) == 0, cron.log
    assert f"{EE}: done by another process" in cron.log and "crawl started" not in cron.log
    wait_until(lambda: len(runs(engine)) >= before + 3, "more crawls of the changed feed")

    for proc in procs:
        if proc is not holder:
            assert proc.stop() == 0, proc.log
    assert lease(engine) is None  # given back at a clean stop

    assert rounds(hooks, "/cec") == ["410"] and hooks.to("/fsw") == []
    assert sorted(rounds(hooks, "/every")) == sorted(ROUNDS)  # each exactly once
    # Nothing crawled by two processes at once: the recorded crawls never overlap...
    crawls = runs(engine)
    for earlier, later in zip(crawls, crawls[1:]):
        assert earlier.finished_at <= later.started_at, (earlier, later, *(p.log for p in procs))
    # ...and the feed server saw one fetcher, then (after the kill) the heir only.
    fetchers = feed_fetchers(site)
    switch = fetchers.index(f"drawwatch-{heir.label}")
    assert set(fetchers[:switch]) == {f"drawwatch-{holder.label}"} and set(fetchers[switch:]) == {
        f"drawwatch-{heir.label}"}, fetchers
    # Every fetch is a recorded crawl (retries = 0), but one the kill may have cut short.
    assert len(crawls) <= len(fetchers) <= len(crawls) + 1
    # Roles: the deliverer never crawled, the crawler never delivered.
    assert procs[2].count("crawl started") == 0
    assert procs[1].count("delivery: ") == 0
    for proc in procs:
        assert "Traceback" not in proc.log, proc.log


def test_on_sqlite_a_restart_after_a_kill_takes_its_sources_back_at_once_and_once_beside_it_crawls_nothing(
        tmp_path, site):
    """One machine: the lease of a process that is gone is taken without waiting for it to
    run out (here 60 s, the default), so a crash and restart crawl as they did before leases."""
    db = tmp_path / "dw.db"
    config = ee_config(tmp_path / "config.toml", "one", f"sqlite:///{db}", site.url(FEED), schedule="every 1s",
                       lease=60)
    site.put(FEED, data(OLD))
    engine = make_engine(f"sqlite:///{db}")
    running = []
    try:
        first = ServiceProcess(config).start()
        running.append(first)
        first.wait_for(f"{EE}: 409 new", timeout=60)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        assert lease(engine).pid == first.proc.pid  # left behind, 60 s from running out
        again = ServiceProcess(config).start()
        running.append(again)
        again.wait_for(f"crawl:{EE}: taken over from .*:{first.proc.pid}:.* \\(that process is gone\\)", timeout=60)
        again.wait_for(f"{EE}: not modified", timeout=30)
        # status names the process crawling each source (the lease's holder), in every format.
        shown = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "status", "--format",
                                "json"], capture_output=True, text=True, timeout=60, cwd=ROOT)
        by = {row["source"]: row["crawled_by"] for row in json.loads(shown.stdout)["sources"]}
        assert by[EE] == f"{socket.gethostname()}:{again.proc.pid}", shown.stdout
        assert set(by.values()) == {by[EE], None}  # the other sources are off: no process holds them
        table = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "status"],
                               capture_output=True, text=True, timeout=60, cwd=ROOT).stdout
        assert f"crawled by {by[EE]}: {EE}" in table.splitlines()
        cron = ServiceProcess(config, "--once").start()
        running.append(cron)
        assert cron.wait_exit(60) == 0, cron.log
        assert f"{EE}: done by another process" in cron.log and "crawl started" not in cron.log
        assert again.stop() == 0, again.log
        assert lease(engine) is None
        assert "Traceback" not in again.log + cron.log
    finally:
        for proc in running:
            proc.kill()
        engine.dispose()
