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
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procfs import cpu_seconds, resident_mib  # noqa: E402
from store.db import make_engine, session as open_session  # noqa: E402
from store.leases import HEALTH, Holder, claim, crawl_lease  # noqa: E402
from tests.cluster import (FEED, crawl_runs, create_database, ee_config, lease,  # noqa: E402
                           wait_until)
from tests.pg import PostgresServer, find_bindir  # noqa: E402
from tests.servers import Site  # noqa: E402
from tests.service_harness import ServiceProcess  # noqa: E402

SNAPSHOT = ROOT / "tests" / "data" / "ee_rounds_123_en.2026-04-02.raw.json"


def refresh_ms(url: str, rounds: int = 300) -> tuple[float, float]:
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


def connections(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                    ).scalar() - 1  # not this one


def database(server_url: str):
    """A fresh database with its schema (so the bench reads it before any process made it)."""
    _, url = create_database(server_url)
    return url, make_engine(url)


def idle_costs(server_url: str, folder: Path, site: Site, args) -> None:
    url, engine = database(server_url)
    procs = {}
    for label, role in (("holder", "crawler"), ("standby", "crawler"), ("deliverer", "deliverer")):
        conf = ee_config(folder / f"{label}.toml", label, url, site.url(FEED), schedule=f"every {args.poll:g}s",
                         lease=60, delivery_interval=30)
        procs[label] = ServiceProcess(conf, "--role", role).start()
        if label == "holder":  # started first, so it takes the lease
            wait_until(lambda: crawl_runs(engine), "the baseline crawl", 120)
    for proc in procs.values():
        proc.wait_for("role ", timeout=120)
    time.sleep(5)  # past start-up
    assert lease(engine).pid == procs["holder"].proc.pid, "the first crawler should hold the lease"
    before = {label: cpu_seconds(p.proc.pid) for label, p in procs.items()}
    time.sleep(args.idle)
    print(f"2. idle cost per process, over {args.idle:g} s (feed polled every {args.poll:g} s, all 304s; "
          "crawl_lease 60 s, delivery_interval 30 s):")
    print(f"   PostgreSQL connections held by the three: {connections(engine)}")
    for label, proc in procs.items():
        used = cpu_seconds(proc.proc.pid) - before[label]
        what = {"holder": "crawler holding the feed", "standby": "crawler on standby",
                "deliverer": "deliverer, nothing to send"}[label]
        print(f"   {what:28s} {used * 3600 / args.idle:7.1f} CPU s/hour   {resident_mib(proc.proc.pid):6.1f} MiB resident")
    for proc in procs.values():
        proc.stop()
    engine.dispose()


def takeovers(server_url: str, folder: Path, site: Site, args) -> None:
    url, engine = database(server_url)
    interval = 2
    confs = [ee_config(folder / f"crawler{i}.toml", f"crawler{i}", url, site.url(FEED), schedule=f"every {interval}s",
                       lease=args.lease) for i in range(args.trials + 2)]
    running = [ServiceProcess(confs[0], "--role", "crawler").start()]
    wait_until(lambda: crawl_runs(engine), "the baseline crawl", 120)
    running.append(ServiceProcess(confs[1], "--role", "crawler").start())
    running[-1].wait_for("role ", timeout=120)
    times = []
    for trial in range(args.trials):
        time.sleep(2 * interval)  # a few crawls by the holder
        [holder] = [p for p in running if p.proc.pid == lease(engine).pid]
        holder.proc.send_signal(signal.SIGKILL)
        killed = time.time()
        holder.proc.wait()
        running.remove(holder)
        first = wait_until(lambda: [r for r in crawl_runs(engine) if r.started_at.timestamp() > killed],
                           "a crawl by the heir", 120)[0]
        times.append(first.started_at.timestamp() - killed)
        running.append(ServiceProcess(confs[trial + 2], "--role", "crawler").start())  # the next standby
        running[-1].wait_for("role ", timeout=120)
    runs = crawl_runs(engine)
    overlaps = sum(1 for a, b in zip(runs, runs[1:]) if a.finished_at and a.finished_at > b.started_at)
    bound = args.lease * 4 / 3 + interval
    print(f"3. hand-over after SIGKILL of the crawling process (crawl_lease {args.lease:g} s, every {interval} s; "
          f"bound {bound:.1f} s), {args.trials} kills:")
    print(f"   median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in times)}); {len(runs)} crawls, {overlaps} overlapping")
    for proc in running:
        proc.stop()
    engine.dispose()


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
            pg = refresh_ms(create_database(admin_url)[1])
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
