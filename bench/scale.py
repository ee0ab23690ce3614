"""Delivery at scale: one deliverer against a bare Apprise loop, and N deliverer processes
on one PostgreSQL, with a deliverer SIGKILLed mid-run.

Prints:
  (a) overhead: CPU and wall time per message of ``deliver_due`` (render, claim, send,
      settle; SQLite) next to a bare sequential ``Apprise().notify`` loop of the same
      message, pre-rendered, on a sink that answers at once; and their ratio; the URL's
      Apprise plugin alone, without the Apprise object's dispatch; and drawwatch's own send
      path alone (that plugin over kept connections), the floor of its overhead.
  (b) latency: ``deliver_due`` with ``--concurrency`` slots on a sink answering after
      ``--latency-ms``, for each ``--send-processes`` value (sending in the deliverer's
      own threads, then in send processes: "auto", one per CPU at concurrency 64): messages/s
      next to concurrency / latency, CPU per message (the send processes' included, and
      shown apart); then the ceiling of one interpreter: the URL's Apprise plugin alone in
      as many threads, and drawwatch's send path alone in as many threads.
  (c) processes: a throw-away PostgreSQL (as tests/pg.py starts it), 1, 2 and 4
      ``drawwatch serve --role deliverer`` processes, ``--alerts`` pending alerts
      committed at once (their commit wakes the deliverers): messages/s per process
      count, and the scaling factor (messages/s over processes x messages/s of one); the
      CPU per message of the deliverers, the sink and PostgreSQL, which share the machine.
  (d) kill: 2 deliverers, one SIGKILLed when a third of the alerts arrived; alerts lost
      (must be 0) and received twice (bounded by what the killed one held: at most
      ``--concurrency``), once the killed one's claims expired (``lease``).

Every alert goes to its own webhook path on the sink, so the sink's counts say which
alert came how often.

Run:  python bench/scale.py [--alerts 3000] [--latency-ms 50] [--concurrency 64]
      [--send-processes 0,auto] [--processes 1,2,4] [--repeats 3] [--skip overhead --skip latency --skip processes --skip kill]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project, not this folder, first: bench/web.py must not stand for the web package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from sqlalchemy import text  # noqa: E402
from sqlmodel import func, select  # noqa: E402

from configfile import Settings  # noqa: E402
from notifier.deliver import _item_of, deliver_due  # noqa: E402
from notifier import keepalive, send  # noqa: E402
from notifier.render import draw_context, render  # noqa: E402
from notifier.send import plugin_for  # noqa: E402
from notifier.wake import notify_outbox  # noqa: E402
from bench.outbox_load import alert_path, load, release  # noqa: E402
from bench.procfs import cpu_seconds, resident_mib  # noqa: E402
from bench.sink import Sink  # noqa: E402
from store.db import make_engine, session as open_session  # noqa: E402
from store.models import Draw, Notification  # noqa: E402
from tests.pg import PostgresServer, find_bindir  # noqa: E402
from tests.service_harness import ServiceProcess  # noqa: E402


def sent(engine) -> int:
    with open_session(engine) as s:
        return s.exec(select(func.count()).select_from(Notification).where(Notification.status == "sent")).one()


# -- (a) and (b): one deliverer in this process -------------------------------------------


def one_round(folder: Path, sink: Sink, n: int, concurrency: int,
              send_processes: int | str = 0) -> tuple[float, float, object, float]:
    """(wall s, CPU s, report, CPU s of the send processes) of one ``deliver_due`` draining
    ``n`` alerts on SQLite. The CPU includes the send processes', which an earlier round
    started (the service keeps them)."""
    engine = make_engine(f"sqlite:///{folder / f'one-{time.monotonic_ns()}.db'}")
    load(engine, sink.url, n)
    settings = Settings.model_validate({"delivery": {"concurrency": concurrency, "send_processes": send_processes}})
    helpers = send.senders(settings.delivery).pids() if settings.delivery.processes else []
    cpu, wall = time.process_time(), time.perf_counter()
    helpers_cpu = sum(map(cpu_seconds, helpers))
    report = asyncio.run(deliver_due(engine, settings))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    helpers_cpu = sum(map(cpu_seconds, helpers)) - helpers_cpu
    assert sent(engine) == n, report
    engine.dispose()
    return wall, cpu + helpers_cpu, report, helpers_cpu


def the_message(folder: Path, sink: Sink) -> tuple[str, str]:
    """The title and body ``deliver_due`` sends for the loaded alert (json:// takes text)."""
    engine = make_engine(f"sqlite:///{folder / f'message-{time.monotonic_ns()}.db'}")
    load(engine, sink.url, 1)
    with open_session(engine) as s:
        note = s.exec(select(Notification)).one()
        context = _item_of(note, draw_context(s.get(Draw, note.draw_id)), "s0")
    engine.dispose()
    return render("alert", "text", context)


def bench_overhead(folder: Path, n: int, concurrency: int, repeats: int) -> None:
    """Each way of sending ``n`` messages, ``repeats`` times over, one after the other: a
    ratio is taken within a repeat (the machine's speed drifts between minutes), and the
    median of each figure and ratio is printed."""
    import apprise

    def bare() -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(n):
            sender = apprise.Apprise()
            sender.add(sink.url(alert_path(i)))
            assert sender.notify(body=body, title=title)
        return time.perf_counter() - wall, time.process_time() - cpu

    def plugin_alone() -> tuple[float, float]:
        # The URL's plugin and its send, without the Apprise object's dispatch around them.
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(n):
            assert apprise.Apprise.instantiate(sink.url(alert_path(i))).notify(body=body, title=title)
        return time.perf_counter() - wall, time.process_time() - cpu

    def own_path() -> tuple[float, float]:
        # drawwatch's own send path, with nothing else of drawwatch around it: the plugin made
        # by notifier.send.plugin_for, sending over kept connections (notifier.keepalive).
        def loop() -> tuple[float, float]:
            cpu, wall = time.thread_time(), time.perf_counter()
            for i in range(n):
                assert plugin_for(sink.url(alert_path(i))).notify(body=body, title=title)
            return time.perf_counter() - wall, time.thread_time() - cpu

        with ThreadPoolExecutor(1, initializer=keepalive.start_thread, initargs=(keepalive.connections(1),)) as one:
            return one.submit(loop).result()

    def deliverer(slots: int):
        def run() -> tuple[float, float]:
            wall, cpu, report, _ = one_round(folder, sink, n, slots)
            assert report.messages == n, report
            return wall, cpu
        return run

    ways = {"bare Apprise().notify loop": bare, "its plugin alone": plugin_alone,
            "drawwatch's send path alone": own_path,
            **{f"deliver_due, concurrency {slots}": deliverer(slots) for slots in sorted({1, concurrency})}}
    sink = Sink(0.0)
    try:
        title, body = the_message(folder, sink)
        one_round(folder, sink, 50, concurrency)  # warm: imports, templates, pools
        runs = [{name: way() for name, way in ways.items()} for _ in range(repeats)]
    finally:
        sink.stop()
    median = statistics.median
    print(f"  {n:,} messages each way, medians of {repeats} repeats (ratios taken within a repeat):")
    for name in ways:
        wall, cpu = median(r[name][0] for r in runs), median(r[name][1] for r in runs)
        line = (f"  {name + ':':31s} {n / wall:6,.0f}/s  {wall / n * 1000:5.2f} ms wall  "
                f"{cpu / n * 1000:5.2f} ms CPU per message")
        if name.startswith("deliver_due"):
            ratio = [(r[name][0] / r["bare Apprise().notify loop"][0], r[name][1] / r["bare Apprise().notify loop"][1],
                      r[name][1] / r["drawwatch's send path alone"][1]) for r in runs]
            line += (f"  (x{median(w for w, _, _ in ratio):.2f} wall, x{median(c for _, c, _ in ratio):.2f} CPU of the "
                     f"bare loop, each repeat's: {', '.join(f'x{w:.2f}' for w, _, _ in ratio)} wall; "
                     f"x{median(o for _, _, o in ratio):.2f} CPU of its send path alone)")
        print(line)


def bench_latency(folder: Path, n: int, concurrency: int, latency: float, send_processes: list[int | str]) -> None:
    import apprise

    sink = Sink(latency)
    try:
        title, body = the_message(folder, sink)
        for procs in send_processes:
            one_round(folder, sink, 50, concurrency, procs)
            sink_cpu = sink.cpu()
            wall, cpu, report, helpers_cpu = one_round(folder, sink, n, concurrency, procs)
            sink_cpu = sink.cpu() - sink_cpu
            delivery = Settings.model_validate({"delivery": {"concurrency": concurrency, "send_processes": procs}}
                                               ).delivery
            count = delivery.processes
            where = (f"send_processes = {procs!r}: " + (f"{count} send processes" if count else "its own threads"))
            print(f"  deliver_due, concurrency {concurrency}, {where}, sink answering after {latency * 1000:g} ms: "
                  f"{report.messages:,} messages in {wall:.2f} s = {n / wall:,.0f}/s "
                  f"(concurrency / latency = {concurrency / latency:,.0f}/s); {cpu / n * 1000:.2f} ms CPU per "
                  f"message" + (f" ({(cpu - helpers_cpu) / n * 1000:.2f} ms the deliverer's, "
                                f"{helpers_cpu / n * 1000:.2f} ms its send processes')" if count else "")
                  + f", the sink's {sink_cpu / n * 1000:.2f} ms")
            if count:
                print("    resident memory of each send process: " + ", ".join(
                    f"{resident_mib(pid):.0f} MiB" for pid in send.senders(delivery).pids()))

        # The ceiling of one interpreter: the same sends with nothing of drawwatch around them,
        # the URL's plugin alone in as many threads as deliver_due has messages in flight.
        def plugin_alone(i: int) -> None:
            assert apprise.Apprise.instantiate(sink.url(alert_path(i))).notify(body=body, title=title)

        def own(i: int) -> None:  # drawwatch's send path: its plugin, over kept connections
            assert plugin_for(sink.url(alert_path(i))).notify(body=body, title=title)

        for what, one, kept in (("its plugin alone", plugin_alone, None),
                                ("drawwatch's send path alone", own, keepalive.connections(concurrency))):
            with ThreadPoolExecutor(concurrency, initializer=keepalive.start_thread if kept else None,
                                    initargs=(kept,) if kept else ()) as pool:
                list(pool.map(one, range(concurrency)))  # threads started, connections warm
                cpu, wall = time.process_time(), time.perf_counter()
                list(pool.map(one, range(n)))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"  {what} in {concurrency} threads (no database, no asyncio): {n / wall:,.0f}/s; "
                  f"{cpu / n * 1000:.2f} ms CPU per message")
    finally:
        sink.stop()


# -- (c) and (d): deliverer processes on PostgreSQL -----------------------------------------


class Cluster:
    """A fresh database on the throw-away server, its config, and deliverer processes."""

    def __init__(self, server_url: str, name: str, folder: Path, concurrency: int, lease: float = 300,
                 timeout: float = 5):
        admin = make_engine(server_url, create=False)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.url = server_url.rsplit("/", 1)[0] + f"/{name}"
        self.engine = make_engine(self.url)
        self.config = folder / f"{name}.toml"
        # A send takes at most timeout + 5 s: the lease must be longer (docs/service.md).
        self.config.write_text(
            f'[database]\nurl = "{self.url}"\n'
            # Each deliverer one process (no send processes): (c) measures how deliverers scale.
            f"[delivery]\nconcurrency = {concurrency}\ntimeout = {timeout:g}\nlease = {lease:g}\nsend_processes = 0\n"
            "[service]\ndelivery_interval = 2\nshutdown_timeout = 10\n"
            '[logging]\nlevel = "INFO"\n', encoding="utf-8")
        self.procs: list[ServiceProcess] = []

    def start(self, count: int) -> None:
        self.procs = [ServiceProcess(self.config, "--role", "deliverer").start() for _ in range(count)]
        # Ready when every one of them listens for outbox wake-ups.
        deadline = time.monotonic() + 120
        while self.listeners() < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"{count} deliverers not listening after 120 s:\n" + self.procs[0].log[-3000:])
            for p in self.procs:
                if p.proc.poll() is not None:
                    raise SystemExit(f"a deliverer exited ({p.proc.returncode}):\n{p.log[-3000:]}")
            time.sleep(0.1)

    def listeners(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' "
                                     "AND datname = current_database()")).scalar()

    def enqueue(self, n: int) -> float:
        """The ``n`` held alerts made due in one commit, with the wake-up the matcher sends; the commit's time."""
        release(self.engine, before_commit=notify_outbox)
        return time.perf_counter()

    def stop(self) -> None:
        for p in self.procs:
            p.stop(signal.SIGTERM, timeout=60)
        self.engine.dispose()


def wait_sent(engine, n: int, timeout: float) -> int:
    """Rows marked sent, once all ``n`` are or after ``timeout`` (the write follows the send)."""
    deadline = time.monotonic() + timeout
    while (done := sent(engine)) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return done


def wait_received(sink: Sink, n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sink.received() >= n:
            return time.perf_counter()
        time.sleep(0.05)
    raise SystemExit(f"only {sink.received()} of {n} alerts received after {timeout:.0f} s")


def postgres_cpu(server: PostgresServer) -> float:
    """CPU seconds of the PostgreSQL server so far: its postmaster and the processes it
    started that are alive now (a backend that ended since is missed, so read it while
    the deliverers' connections are open)."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    total = cpu_seconds(postmaster)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError):
            continue  # ended meanwhile
    return total


def bench_processes(server: PostgresServer, server_url: str, folder: Path, n: int, concurrency: int,
                    latency: float, counts: list[int]) -> None:
    rates: dict[int, float] = {}
    for count in counts:
        sink = Sink(latency)
        cluster = Cluster(server_url, f"scale{count}", folder, concurrency)
        try:
            assert load(cluster.engine, sink.url, n, held=True) == n
            cluster.start(count)
            used = [cpu_seconds(p.proc.pid) for p in cluster.procs], sink.cpu(), postgres_cpu(server)
            commits = committed_transactions(cluster.engine)
            committed = cluster.enqueue(n)
            done = wait_received(sink, n, timeout=600)
            rates[count] = n / (done - committed)
            deliverers_cpu = sum(cpu_seconds(p.proc.pid) for p in cluster.procs) - sum(used[0])
            sink_cpu = sink.cpu() - used[1]
            db_cpu = postgres_cpu(server) - used[2]
            counts_seen = sink.counts()
            twice = sum(c - 1 for c in counts_seen.values() if c > 1)
            assert wait_sent(cluster.engine, n, 30) == n
            time.sleep(1.5)  # a backend reports its counts at most once a second
            commits = committed_transactions(cluster.engine) - commits
        finally:
            cluster.stop()
            sink.stop()
        print(f"  {count} deliverer process(es): {n:,} alerts in {n / rates[count]:6.2f} s = {rates[count]:7,.0f}/s"
              f"   scaling x{rates[count] / rates[counts[0]]:.2f} (per process x"
              f"{rates[count] / rates[counts[0]] / (count / counts[0]):.2f}); received twice: {twice}")
        print(f"    CPU per message: the deliverers {deliverers_cpu / n * 1000:.2f} ms, the sink {sink_cpu / n * 1000:.2f} ms,"
              f" PostgreSQL {db_cpu / n * 1000:.2f} ms ({os.cpu_count()} CPUs / their sum = "
              f"{os.cpu_count() / ((deliverers_cpu + sink_cpu + db_cpu) / n):,.0f}/s at most)")
        print(f"    {n / commits:.1f} messages per committed transaction ({commits:,} in all)")


def committed_transactions(engine) -> int:
    """Transactions committed in the cluster's database so far (the counting ones included)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")).scalar()


def claims(engine) -> set[tuple[int, str]]:
    with open_session(engine) as s:
        return set(s.exec(select(Notification.id, Notification.claim).where(Notification.status == "sending")).all())


def bench_kill(server_url: str, folder: Path, n: int, concurrency: int, latency: float) -> None:
    timeout, lease = 5.0, 30.0
    sink = Sink(latency)
    cluster = Cluster(server_url, "scalekill", folder, concurrency, lease=lease, timeout=timeout)
    try:
        assert load(cluster.engine, sink.url, n, held=True) == n
        cluster.start(2)
        committed = cluster.enqueue(n)
        while sink.received() < n // 3:
            time.sleep(0.01)
        victim = cluster.procs[0]
        victim.kill()  # SIGKILL: nothing settled, nothing given back
        killed, by_then = time.perf_counter(), sink.received()
        at_kill = claims(cluster.engine)
        # The live deliverer settles each of its claims within timeout + 5 s; a claim still
        # there, unchanged, after that is the killed one's.
        time.sleep(timeout + 6)
        held = len(at_kill & claims(cluster.engine))
        done = wait_received(sink, n, timeout=600)
        rows_sent = wait_sent(cluster.engine, n, lease + 60)
        paths = sink.counts()
        lost = len({alert_path(i) for i in range(n)} - paths.keys())
        twice = sum(c - 1 for c in paths.values() if c > 1)
        print(f"  2 deliverers, one SIGKILLed {killed - committed:.2f} s in ({by_then:,} of {n:,} alerts received "
              f"by then): it held {held} claimed alerts (concurrency = {concurrency})")
        print(f"    every alert received at least once {done - committed:.1f} s after the commit; all {rows_sent:,} "
              f"rows sent once its claims expired (lease {lease:g} s); lost {lost}; "
              f"received twice {twice} (bound: the {held} it held)")
    finally:
        cluster.procs = [p for p in cluster.procs if p.proc.poll() is None]
        cluster.stop()
        sink.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--send-processes", default="0,auto",
                        help="(b): the [delivery] send_processes values to measure, in turn (0: the deliverer's own threads)")
    parser.add_argument("--repeats", type=int, default=3, help="(a): each way of sending measured this many times")
    parser.add_argument("--skip", choices=("overhead", "latency", "processes", "kill"), action="append", default=[])
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "overhead" not in args.skip:
            print("(a) per-message overhead on a sink that answers at once (SQLite)")
            bench_overhead(folder, args.alerts, 8, args.repeats)
        if "latency" not in args.skip:
            print("(b) one deliverer on a slow channel (SQLite)")
            bench_latency(folder, args.alerts, args.concurrency, latency,
                          [int(c) if c.isdigit() else c for c in args.send_processes.split(",")])
        if {"processes", "kill"} - set(args.skip):
            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("PostgreSQL is not installed (no initdb found): (c) and (d) need it")
            server = PostgresServer(bindir)
            url = server.start()
            try:
                if "processes" not in args.skip:
                    print(f"(c) deliverer processes on one PostgreSQL, concurrency {args.concurrency} each, "
                          f"sink answering after {args.latency_ms:g} ms")
                    bench_processes(server, url, folder, args.alerts, args.concurrency, latency,
                                    [int(c) for c in args.processes.split(",")])
                if "kill" not in args.skip:
                    print("(d) a deliverer SIGKILLed mid-run")
                    bench_kill(url, folder, args.alerts, args.concurrency, latency)
            finally:
                server.stop()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
