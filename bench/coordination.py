"""What running several ``drawwatch serve`` processes on one PostgreSQL costs, and how fast
a crawler that dies is replaced. Real processes, a throw-away PostgreSQL server (as the
tests start one), a loopback HTTP server serving the real IRCC feed snapshot.

Prints:
  1. one lease refresh of a process (take or renew its 10 source leases and the health
     lease in one statement and commit), on PostgreSQL and on SQLite: median and p95 ms;
  2. each role's idle cost: CPU seconds per hour and resident memory of a crawler holding
     the feed's lease (polling it every --poll seconds, every answer a 304), a standby
     crawler and a deliverer with nothing to send, over --idle seconds, at the default
     crawl_lease (60 s) and delivery_interval (30 s); and the PostgreSQL connections the
     three hold;
  3. hand-over after SIGKILL, over --trials kills: two ``serve --role crawler`` processes,
     the feed scheduled every 2 s, crawl_lease --lease seconds; seconds from the kill of
     the holder to the first crawl by the other, beside the stated bound (lease * 4/3 +
     the schedule's interval), and whether any two crawls overlapped.

Run:  python bench/coordination.py [--trials 5] [--lease 6] [--idle 120] [--poll 10]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg import PostgresServer, find_bindir  # noqa: E402
from tests.servers import Site  # noqa: E402
from tests.service_harness import ServiceProcess  # noqa: E402

EE = "express_entry"
FEED = "/content/dam/ircc/documents/json/ee_rounds_123_en.json"
SNAPSHOT = ROOT / "tests" / "data" / "ee_rounds_123_en.2026-04-02.raw.json"
TICK = os.sysconf("SC_CLK_TCK")


def refresh_ms(url: str, rounds: int = 300) -> tuple[float, float]:
    from store.db import make_engine, session as open_session
    from store.leases import HEALTH, Holder, claim, crawl_lease

    engine = make_engine(url)
    names = [crawl_lease(f"source_{i}") for i in range(10)] + [HEALTH]
    holder = Holder.this_process()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with open_session(engine) as session:
            claim(session, names, holder, 60)
        times.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def config(folder: Path, label: str, url: str, site: Site, *, schedule: str, lease: float,
           delivery_interval: float = 30) -> Path:
    from scraper.sources.registry import SOURCES

    others = "".join(f"[sources.{name}]\nenabled = false\n" for name in SOURCES if name != EE)
    path = folder / f"{label}.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[http]\ndelay = 0\nretries = 0\ntimeout = 10\nobey_robots = false\nuser_agent = "drawwatch-{label}"\n'
        f'[service]\ndelivery_interval = {delivery_interval}\ncrawl_lease = {lease}\n'
        f'[sources.{EE}]\nurl = "{site.url(FEED)}"\nschedule = "{schedule}"\njitter = 0\n{others}')
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def holder_pid(url: str) -> int | None:
    from store.db import make_engine, session as open_session
    from store.models import Lease

    engine = make_engine(url, create=False)
    try:
        with open_session(engine) as session:
            row = session.get(Lease, f"crawl:{EE}")
            return row.pid if row else None
    finally:
        engine.dispose()


def crawl_runs(url: str) -> list:
    from sqlmodel import col, select

    from store.db import make_engine, session as open_session
    from store.models import CrawlRun

    engine = make_engine(url, create=False)
    try:
        with open_session(engine) as session:
            return list(session.exec(select(CrawlRun).order_by(col(CrawlRun.started_at))))
    finally:
        engine.dispose()


def connections(admin_url: str, database: str) -> int:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url)
    with admin.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"), {"d": database}).scalar()
    admin.dispose()
    return n


def fresh_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    from store.db import make_engine

    make_engine(url).dispose()  # the schema, so the bench can read it before any process made it
    return url


def wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise SystemExit(f"not within {timeout}s: {what}")


def idle_costs(admin_url: str, folder: Path, site: Site, args) -> None:
    url = fresh_database(admin_url, "idle")
    procs = {}
    for label, role in (("holder", "crawler"), ("standby", "crawler"), ("deliverer", "deliverer")):
        conf = config(folder, label, url, site, schedule=f"every {args.poll:g}s", lease=60)
        procs[label] = ServiceProcess(conf, "--role", role).start()
        if label == "holder":  # started first, so it takes the lease
            wait(lambda: crawl_runs(url), 120, "the baseline crawl")
    for proc in procs.values():
        proc.wait_for("role ", timeout=120)
    time.sleep(5)  # past start-up
    holder = holder_pid(url)
    before = {label: cpu_seconds(p.proc.pid) for label, p in procs.items()}
    time.sleep(args.idle)
    print(f"2. idle cost per process, over {args.idle:g} s (feed polled every {args.poll:g} s, all 304s; "
          "crawl_lease 60 s, delivery_interval 30 s):")
    print(f"   PostgreSQL connections held by the three: {connections(admin_url, 'idle')}")
    for label, proc in procs.items():
        used = cpu_seconds(proc.proc.pid) - before[label]
        what = {"holder": "crawler holding the feed", "standby": "crawler on standby",
                "deliverer": "deliverer, nothing to send"}[label]
        assert label != "holder" or proc.proc.pid == holder, "the first crawler should hold the lease"
        print(f"   {what:28s} {used * 3600 / args.idle:7.1f} CPU s/hour   {rss_mib(proc.proc.pid):6.1f} MiB resident")
    for proc in procs.values():
        proc.stop()


def takeovers(admin_url: str, folder: Path, site: Site, args) -> None:
    url = fresh_database(admin_url, "takeover")
    interval = 2
    confs = [config(folder, f"crawler{i}", url, site, schedule=f"every {interval}s", lease=args.lease, delivery_interval=1)
             for i in range(args.trials + 2)]
    running = [ServiceProcess(confs[0], "--role", "crawler").start()]
    wait(lambda: crawl_runs(url), 120, "the baseline crawl")
    running.append(ServiceProcess(confs[1], "--role", "crawler").start())
    running[-1].wait_for("role ", timeout=120)
    times = []
    for trial in range(args.trials):
        time.sleep(2 * interval)  # a few crawls by the holder
        pid = holder_pid(url)
        [holder] = [p for p in running if p.proc.pid == pid]
        holder.proc.send_signal(signal.SIGKILL)
        killed = time.time()
        holder.proc.wait()
        running.remove(holder)
        first = wait(lambda: [r for r in crawl_runs(url) if r.started_at.timestamp() > killed], 120,
                     "a crawl by the heir")[0]
        times.append(first.started_at.timestamp() - killed)
        running.append(ServiceProcess(confs[trial + 2], "--role", "crawler").start())  # the next standby
        running[-1].wait_for("role ", timeout=120)
    runs = crawl_runs(url)
    overlaps = sum(1 for a, b in zip(runs, runs[1:]) if a.finished_at and a.finished_at > b.started_at)
    bound = args.lease * 4 / 3 + interval
    print(f"3. hand-over after SIGKILL of the crawling process (crawl_lease {args.lease:g} s, every {interval} s; "
          f"bound {bound:.1f} s), {args.trials} kills:")
    print(f"   median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in times)}); {len(runs)} crawls, {overlaps} overlapping")
    for proc in running:
        proc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--lease", type=float, default=6)
    parser.add_argument("--idle", type=float, default=120)
    parser.add_argument("--poll", type=float, default=10)
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (no initdb found)")
    site = Site().start()
    site.put(FEED, SNAPSHOT.read_bytes())
    server = PostgresServer(bindir)
    admin_url = server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            pg = refresh_ms(fresh_database(admin_url, "refresh"))
            sq = refresh_ms(f"sqlite:///{folder / 'refresh.db'}")
            print("1. one lease refresh (11 leases, one statement and commit): "
                  f"PostgreSQL median {pg[0]:.2f} ms, p95 {pg[1]:.2f} ms; SQLite median {sq[0]:.2f} ms, p95 {sq[1]:.2f} ms")
            idle_costs(admin_url, folder, site, args)
            takeovers(admin_url, folder, site, args)
    finally:
        server.stop()
        site.stop()


if __name__ == "__main__":
    main()
