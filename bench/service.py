"""The service's alert latency, idle cost and memory, on loopback servers, with the real notifier.

Prints:
  1. time from the served Express Entry feed changing to the subscriber's email arriving,
     over several trials (median and worst), with the poll interval used: the real
     ``drawwatch serve`` process, a local HTTP server and a local SMTP server (aiosmtpd),
     subscribers and an operator configured, the notifier matching and sending by Apprise;
  2. CPU time of one idle poll of every enabled source (every page answers 304), and of
     one outbox sweep with nothing due;
  3. the service's resident memory after 10 and after 1,000 idle polls;
  4. with the default schedules: the median time from a draw's publication to the
     subscriber's email, over publication moments drawn at random in weekday business
     hours (Toronto time), each waiting for the next poll the real trigger (jitter
     included) gives, plus (1)'s measured time from the new feed served to the email;
     and the CPU per day of the polls those schedules make when every answer is 304 (the
     polls per day of each source times (2)'s CPU of one idle poll of it), beside the
     schedules before every-minute polling.
(2) and (3) run the service's own code (``Service.crawl`` of every source on one Scrapy
runner and one loop, then ``Service.send_due``, as ``serve``'s sender does) back to back
in a child process, so that 1,000 polls take a minute instead of 1,000 poll intervals and
the HTTP server's CPU is not counted.

Run:  python bench/service.py [--trials 5] [--interval 2] [--polls 1000] [--samples 20000]
      python bench/service.py --real-process [--polls 1000]   (3. on the real process, slowly)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procfs import cpu_seconds, resident_mib  # noqa: E402
from tests.configs import sources_off  # noqa: E402
from tests.md_render import render  # noqa: E402
from tests.servers import Site  # noqa: E402
from tests.service_harness import Mailbox, ServiceProcess  # noqa: E402

DATA = ROOT / "tests" / "data"
FEED = "/content/dam/ircc/documents/json/ee_rounds_123_en.json"
OLD, NEW = "ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
# A CEC candidate with 520 points: of the rounds the newer snapshot adds, only #410
# (Canadian Experience Class, 515) is theirs. The FSW candidate with 400 points fits none.
SUBSCRIBER, OTHER, OPERATOR = "cec-candidate@example.org", "fsw-candidate@example.org", "operator@example.org"
# Ontario's pages exist here only as markdown conversions of the live pages (content real,
# markup not): rendered back to HTML, as the OINP parser tests do.
# The parser tells a yearly page from a ledger by its path, so the real paths are kept.
OINP_YEAR = "/page/{year}-ontario-immigrant-nominee-program-updates"
OINP_YEARS = {0: "oinp_updates_2026.2026-06-19.md", 1: "oinp_updates_2025.2026-06-19.md"}  # years back
OINP_LEDGERS = {"/page/ontario-immigrant-nominee-program-oinp-invitations-apply": "oinp_invitations_apply.2026-06-19.md",
                "/page/oinp-express-entry-notifications-interest":
                    "oinp_express_entry_notifications_interest.2026-06-19.md"}


def serve_sources(site: Site, oinp: bool) -> str:
    """Put every source's pages on ``site``; the config tables pointing at them (every
    other registered source disabled: its default URL is on the internet)."""
    site.put(FEED, (DATA / OLD).read_bytes())
    tables = f'[sources.express_entry]\nurl = "{site.url(FEED)}"\n' + sources_off("express_entry", "oinp")
    if not oinp:
        return tables + "[sources.oinp]\nenabled = false\n"
    year = time.gmtime().tm_year
    for back, name in OINP_YEARS.items():  # this year's page and last year's: the default
        site.put(OINP_YEAR.format(year=year - back), render(DATA / name)[0], "text/html")
    for path, name in OINP_LEDGERS.items():
        site.put(path, render(DATA / name)[0], content_type="text/html")
    ledgers = ", ".join(f'"{site.url(p)}"' for p in OINP_LEDGERS)
    return tables + (f'[sources.oinp]\nurl = "{site.url(OINP_YEAR)}"\npast_years = {max(OINP_YEARS)}\n'
                     f'urls = [{ledgers}]\n')


def people(mailbox: Mailbox) -> str:
    """The notifier's configuration: two subscribers and an operator, all on ``mailbox``."""
    return (f'[operator]\nurls = ["{mailbox.url(OPERATOR)}"]\n'
            f'[[subscribers]]\nname = "cec"\nurls = ["{mailbox.url(SUBSCRIBER)}"]\ncrs = 520\nprograms = ["cec"]\n'
            f'[[subscribers]]\nname = "fsw"\nurls = ["{mailbox.url(OTHER)}"]\ncrs = 400\nprograms = ["fsw"]\n')


def config_text(folder: Path, sources: str, extra: str = "") -> str:
    # delivery_interval is the default 30 s: an alert must not wait for the sweep.
    return (f'[database]\nurl = "sqlite:///{folder / "dw.db"}"\n[logging]\nlevel = "INFO"\n'
            '[http]\ndelay = 0\nretries = 0\ntimeout = 10\n'
            '[service]\ndelivery_interval = 30\n' + sources + extra)


class Stamped(list):
    """``Site.requests`` with the time.monotonic() at which each answer was written."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def append(self, item) -> None:
        self.times.append(time.monotonic())
        super().append(item)


# -- 1. latency ---------------------------------------------------------------------

def latency_trial(interval: int, phase: float) -> tuple[float, float]:
    """(feed changed -> email arrived, new feed served -> email arrived), in seconds.

    The feed changes ``phase`` (0..1) of an interval after a poll answered 304, as a real
    change falls anywhere between two polls.
    """
    site, mailbox = Site(), Mailbox().start()
    site.requests = Stamped()
    site.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sources = serve_sources(site, oinp=False).replace(
                "[sources.express_entry]\n", f'[sources.express_entry]\nschedule = "every {interval}s"\njitter = 0\n')
            config = folder / "config.toml"
            config.write_text(config_text(folder, sources, people(mailbox)))
            proc = ServiceProcess(config).start()
            try:
                proc.wait_for("express_entry: 409 new", timeout=60)  # the silent baseline
                proc.wait_for("express_entry: not modified", timeout=60)
                time.sleep(phase * interval)  # a benchmark's deliberate pause, not a wait
                seen = len(site.requests)
                site.put(FEED, (DATA / NEW).read_bytes())
                changed = time.monotonic()
                [mail] = mailbox.wait(SUBSCRIBER, timeout=interval + 30)
                assert "#410" in mail.subject, mail
                served = next(t for t, (path, status, _) in zip(site.requests.times[seen:], site.requests[seen:])
                              if path == FEED and status == 200)
            finally:
                assert proc.stop() == 0, proc.log
            # Once, and to no one else.
            assert len(mailbox.to(SUBSCRIBER)) == 1 and not mailbox.to(OTHER) and not mailbox.to(OPERATOR), \
                [(m.to, m.subject) for m in mailbox.messages]
            return mail.at - changed, mail.at - served
    finally:
        mailbox.stop()
        site.stop()


# -- 2 and 3. idle polls, in a child process ----------------------------------------

def poller(config: str, polls: int) -> None:
    """Child: baseline every source, then ``polls`` idle polls, each followed by an outbox
    sweep (as the sender's timer does); prints JSON."""
    import asyncio

    from scheduler import App
    from scraper.crawl import run_in_reactor
    from scraper.service import Service

    app = App(config)
    service = Service(app.settings, app.engine, matcher=app.matcher())

    async def main():
        service._setup()
        await service._refresh()  # takes the sources' crawl leases, as serve does
        baseline = await asyncio.gather(*(service.crawl(n) for n in service.names))
        await service.send_due()
        out = {"sources": service.names, "baseline": [o.run.outcome if o else "crashed" for o in baseline],
               "cpu": [], "source_cpu": {n: [] for n in service.names}, "sweep_cpu": [],
               "rss_mib": {0: resident_mib(os.getpid())}, "outcomes": set()}
        for i in range(1, polls + 1):
            outcomes = []
            for name in service.names:  # one after the other: each source's own CPU
                start = time.process_time()
                outcomes.append(await service.crawl(name))
                out["source_cpu"][name].append(time.process_time() - start)
            out["cpu"].append(sum(cpu[-1] for cpu in out["source_cpu"].values()))
            start = time.process_time()
            await service.send_due()
            out["sweep_cpu"].append(time.process_time() - start)
            out["outcomes"].update(o.run.outcome if o else "crashed" for o in outcomes)
            if i in (10, polls):
                out["rss_mib"][i] = resident_mib(os.getpid())
        out["outcomes"] = sorted(out["outcomes"])
        return out

    print(json.dumps(run_in_reactor(main)))


def idle_polls(polls: int) -> dict:
    site, mailbox = Site().start(), Mailbox().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            config = folder / "config.toml"
            config.write_text(config_text(folder, serve_sources(site, oinp=True), people(mailbox)))
            proc = subprocess.run([sys.executable, __file__, "--poller", str(config), "--polls", str(polls)],
                                  capture_output=True, text=True, cwd=ROOT, timeout=3600)
            if proc.returncode:
                raise SystemExit(f"poller failed:\n{proc.stderr[-3000:]}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            out["requests_per_poll"] = len(site.requests) / (polls + 1)
            out["mail"] = len(mailbox.messages)
            return out
    finally:
        mailbox.stop()
        site.stop()


# -- 3b. the same, on the real process ------------------------------------------------

def _proc_figures(pid: int) -> tuple[float, float]:
    """(resident MiB, CPU seconds so far) of process ``pid``."""
    return resident_mib(pid), cpu_seconds(pid)


def real_process_polls(polls: int) -> dict:
    """The real ``serve`` process polling every source every second: its RSS and CPU
    after 10 and after ``polls`` idle polls of each source."""
    site, mailbox = Site().start(), Mailbox().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            every = 'schedule = "every 1s"\njitter = 0\n'
            sources = serve_sources(site, oinp=True)
            for name in ("express_entry", "oinp"):
                sources = sources.replace(f"[sources.{name}]\n", f"[sources.{name}]\n{every}")
            config = folder / "config.toml"
            config.write_text(config_text(folder, sources, people(mailbox)))
            proc = ServiceProcess(config).start()
            out = {}
            try:
                proc.wait_for("express_entry: 409 new", timeout=120)
                proc.wait_for(r"oinp: \d+ new", timeout=120)
                out[0] = _proc_figures(proc.proc.pid)
                for n in (10, polls):
                    for name in ("express_entry", "oinp"):
                        proc.wait_for(f"{name}: not modified", count=n, timeout=n * 3 + 60)
                    out[n] = _proc_figures(proc.proc.pid)
            finally:
                assert proc.stop() == 0, proc.log[-3000:]
            out["mail"] = len(mailbox.messages)
            return out
    finally:
        mailbox.stop()
        site.stop()


# -- 4. the default schedules: latency and CPU per day --------------------------------

TORONTO = "America/Toronto"
# The defaults before every-minute polling in business hours (for comparison).
BEFORE = {"express_entry": ["*/5 8-19 * * mon-fri", "0 * * * *"], "oinp": ["*/10 8-18 * * mon-fri", "0 */2 * * *"]}
PUBLISHED = (9, 17)  # draws are announced on weekdays between these hours, Toronto time
MONDAY = (2026, 11, 23)  # a week without a holiday or a clock change


def polls_per_day(schedule: list[str]) -> float:
    """Runs of ``schedule`` in one week, per day (jitter moves runs, it adds none)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from scraper.schedule import make_trigger
    from scraper.sources.base import SourceSettings

    trigger = make_trigger("bench", SourceSettings(schedule=schedule, jitter=0), TORONTO)
    start = datetime(*MONDAY, tzinfo=ZoneInfo(TORONTO))
    end, t, previous, n = start + timedelta(days=7), start, None, 0
    while True:
        t = trigger.get_next_fire_time(previous, t)
        if t is None or t >= end:
            return n / 7
        n, previous, t = n + 1, t, t + timedelta(seconds=1)


def waits(schedule: list[str], samples: int, seed: int = 7) -> list[float]:
    """Seconds from each of ``samples`` random publication moments (weekdays, PUBLISHED
    hours) to the next poll the source's real trigger gives, its jitter included."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from scraper.schedule import make_trigger
    from scraper.sources.base import SourceSettings

    rng = random.Random(seed)
    src = SourceSettings(schedule=schedule)  # the default jitter, bounded as the service bounds it
    trigger = make_trigger("bench", src, TORONTO)
    monday = datetime(*MONDAY, PUBLISHED[0], tzinfo=ZoneInfo(TORONTO))
    out = []
    for _ in range(samples):
        at = monday + timedelta(days=rng.randrange(5), seconds=rng.uniform(0, (PUBLISHED[1] - PUBLISHED[0]) * 3600))
        # The poll due before ``at`` may run after it (its jitter): the first run at or after it.
        previous = trigger.get_next_fire_time(None, at - timedelta(minutes=5))
        fire = previous
        while fire is not None and fire < at:
            fire = trigger.get_next_fire_time(previous, previous + timedelta(seconds=1))
            previous = fire
        out.append((fire - at).total_seconds())
    return out


def schedule_figures(processing: float, source_cpu: dict[str, list[float]], samples: int) -> None:
    from scraper.sources.registry import SOURCES

    print(f"default schedules (read in {TORONTO}), every poll answered 304; draws published at random moments "
          f"on weekdays {PUBLISHED[0]:02d}:00-{PUBLISHED[1]:02d}:00 ({samples} samples), each alerted "
          f"{processing:.2f} s after the poll that finds it (1.'s median, new feed served -> email):")
    for label, schedules in (("now", {n: SOURCES[n].default_settings().schedule for n in BEFORE}),
                             ("before", BEFORE)):
        day_cpu = 0.0
        for name, schedule in schedules.items():
            per_day = polls_per_day(schedule)
            cpu = statistics.median(source_cpu[name][10:] or source_cpu[name])
            day_cpu += per_day * cpu
            latency = [w + processing for w in waits(schedule, samples)]
            print(f"  {label:<6} {name:<14} {', '.join(schedule):<36} {per_day:6.0f} polls/day x "
                  f"{cpu * 1000:5.1f} ms = {per_day * cpu:6.1f} s CPU/day; alert latency median "
                  f"{statistics.median(latency):5.1f} s, mean {statistics.fmean(latency):5.1f} s, "
                  f"p95 {sorted(latency)[int(len(latency) * 0.95)]:5.1f} s")
        print(f"  {label:<6} both sources: {day_cpu:.1f} s CPU per day ({day_cpu / 864:.3f}% of one core)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--interval", type=int, default=2, help="poll interval of the latency trials (s)")
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=20000, help="publication moments drawn for 4.")
    parser.add_argument("--poller", help=argparse.SUPPRESS)
    parser.add_argument("--real-process", action="store_true",
                        help="only measure RSS and CPU of the real serve process polling every second "
                             "(--polls of them: 1,000 take about 17 minutes)")
    args = parser.parse_args()
    if args.poller:
        poller(args.poller, args.polls)
        return
    if args.real_process:
        out = real_process_polls(args.polls)
        rss0, cpu0 = out[0]
        print("real `serve` process, every source polled every 1 s (all answers 304), 2 subscribers, 1 operator:")
        print(f"  after the baseline: RSS {rss0:.1f} MiB")
        for n in (10, args.polls):
            rss, cpu = out[n]
            print(f"  after {n:>5} idle polls of each source: RSS {rss:.1f} MiB, "
                  f"CPU {(cpu - cpu0) / n * 1000:.1f} ms per poll of every source (incl. outbox sweeps)")
        print(f"  mail sent while idle: {out['mail']}")
        return

    # Evenly spread phases (shuffled with a fixed seed): where in the poll interval the feed changes.
    phases = [(i + 0.5) / args.trials for i in range(args.trials)]
    random.Random(7).shuffle(phases)
    trials = [latency_trial(args.interval, phase) for phase in phases]
    total, after = [t for t, _ in trials], [a for _, a in trials]
    print(f"feed change -> email, poll interval {args.interval}s, jitter 0, {args.trials} trials with the change "
          f"spread evenly across the interval (real `serve` process, loopback HTTP + SMTP, real notifier):")
    print(f"  median {statistics.median(total):.2f} s, worst {max(total):.2f} s, best {min(total):.2f} s"
          f"  [{', '.join(f'{t:.2f}' for t in total)}]")
    print(f"  of which new feed served -> email accepted by SMTP: median {statistics.median(after) * 1000:.0f} ms, "
          f"worst {max(after) * 1000:.0f} ms (crawl, parse, ingest, match, render, send)")
    print("  (the rest is waiting for the next poll: up to one interval)")

    idle = idle_polls(args.polls)
    cpu = idle["cpu"][10:] or idle["cpu"]
    sweep = idle["sweep_cpu"][10:] or idle["sweep_cpu"]
    p95 = lambda xs: sorted(xs)[int(len(xs) * 0.95)]  # noqa: E731
    print(f"idle poll of every enabled source ({', '.join(idle['sources'])}; baseline "
          f"{', '.join(idle['baseline'])}; idle outcomes {', '.join(idle['outcomes'])}; "
          f"{idle['requests_per_poll']:.1f} HTTP requests per poll incl. robots.txt; 2 subscribers, 1 operator):")
    print(f"  CPU per poll: median {statistics.median(cpu) * 1000:.1f} ms, "
          f"mean {statistics.fmean(cpu) * 1000:.1f} ms, p95 {p95(cpu) * 1000:.1f} ms (over {len(cpu)} polls)")
    print(f"  CPU per outbox sweep with nothing due (health check + delivery round): median "
          f"{statistics.median(sweep) * 1000:.1f} ms, p95 {p95(sweep) * 1000:.1f} ms")
    for n, mib in idle["rss_mib"].items():
        label = "after the baseline" if n == "0" else f"after {n:>5} idle polls"
        print(f"  RSS {label}: {mib:.1f} MiB")
    print(f"  mail sent while idle: {idle['mail']}")
    for name in idle["sources"]:
        per = idle["source_cpu"][name][10:] or idle["source_cpu"][name]
        print(f"  CPU per idle poll of {name}: median {statistics.median(per) * 1000:.1f} ms")
    schedule_figures(statistics.median(after), idle["source_cpu"], args.samples)


if __name__ == "__main__":
    main()
