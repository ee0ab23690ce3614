"""The service's alert latency, idle cost and memory, on loopback servers.

Prints:
  1. time from the served Express Entry feed changing to the subscriber's email arriving,
     over several trials (median and worst), with the poll interval used: the real
     ``drawwatch serve`` process, a local HTTP server and a local SMTP server;
  2. CPU time of one idle poll of every enabled source (every page answers 304);
  3. the poller's resident memory after 10 and after 1,000 idle polls.
(2) and (3) run the service's own crawl path (``Service.crawl`` on one Scrapy runner and one
loop, as ``serve`` does) back to back in a child process, so that 1,000 polls take seconds
instead of 1,000 poll intervals and the HTTP server's CPU is not counted.

Run:  python bench/service.py [--trials 5] [--interval 2] [--polls 1000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.md_render import render  # noqa: E402
from tests.servers import Site  # noqa: E402
from tests.service_harness import Mailbox, ServiceProcess  # noqa: E402

DATA = ROOT / "tests" / "data"
FEED = "/content/dam/ircc/documents/json/ee_rounds_123_en.json"
OLD, NEW = "ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
SUBSCRIBER = "cec-candidate@example.org"
# Ontario's pages exist here only as markdown conversions of the live pages (content real,
# markup not): rendered back to HTML, as the OINP parser tests do.
# The parser tells a yearly page from a ledger by its path, so the real paths are kept.
OINP_YEAR = "/page/{year}-ontario-immigrant-nominee-program-updates"
OINP_LEDGERS = {"/page/ontario-immigrant-nominee-program-oinp-invitations-apply": "oinp_invitations_apply.2026-06-19.md",
                "/page/oinp-express-entry-notifications-interest":
                    "oinp_express_entry_notifications_interest.2026-06-19.md"}


def serve_sources(site: Site, oinp: bool) -> str:
    """Put every source's pages on ``site``; the config tables pointing at them."""
    site.put(FEED, (DATA / OLD).read_bytes())
    tables = f'[sources.express_entry]\nurl = "{site.url(FEED)}"\n'
    if not oinp:
        return tables + "[sources.oinp]\nenabled = false\n"
    year = time.gmtime().tm_year
    site.put(OINP_YEAR.format(year=year), render(DATA / "oinp_updates_2026.2026-06-19.md")[0], "text/html")
    for path, name in OINP_LEDGERS.items():
        site.put(path, render(DATA / name)[0], content_type="text/html")
    ledgers = ", ".join(f'"{site.url(p)}"' for p in OINP_LEDGERS)
    return tables + f'[sources.oinp]\nurl = "{site.url(OINP_YEAR)}"\npast_years = 0\nurls = [{ledgers}]\n'


def config_text(folder: Path, sources: str, extra: str = "") -> str:
    return (f'[database]\nurl = "sqlite:///{folder / "dw.db"}"\n[logging]\nlevel = "INFO"\n'
            '[http]\ndelay = 0\nretries = 0\ntimeout = 10\n'
            '[service]\ndelivery_interval = 30\n' + sources + extra)


# -- 1. latency ---------------------------------------------------------------------

def subscriber_table(mailbox: Mailbox) -> str:
    # A CEC candidate with 520 points: of the rounds the newer snapshot adds, only #410
    # (Canadian Experience Class, 515) is theirs.
    return (f'[[subscribers]]\nname = "bench"\nurls = ["{mailbox.url(SUBSCRIBER)}"]\n'
            'crs = 520\nprograms = ["cec"]\nenglish_clb = 9\n')


def latency_trial(interval: int) -> float:
    site, mailbox = Site().start(), Mailbox().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sources = serve_sources(site, oinp=False).replace(
                "[sources.express_entry]\n", f'[sources.express_entry]\nschedule = "every {interval}s"\njitter = 0\n')
            config = folder / "config.toml"
            config.write_text(config_text(folder, sources, subscriber_table(mailbox)))
            proc = ServiceProcess(config).start()
            try:
                proc.wait_for("express_entry: 409 new", timeout=60)  # the silent baseline
                proc.wait_for("express_entry: not modified", timeout=60)
                site.put(FEED, (DATA / NEW).read_bytes())
                changed = time.monotonic()
                [mail] = mailbox.wait(SUBSCRIBER, timeout=interval + 30)
                assert "410" in mail.subject + mail.body, mail
                return mail.at - changed
            finally:
                proc.stop()
    finally:
        mailbox.stop()
        site.stop()


# -- 2 and 3. idle polls, in a child process ----------------------------------------

def poller(config: str, polls: int) -> None:
    """Child: baseline every source, then ``polls`` idle polls; prints JSON."""
    import asyncio
    import resource

    from scheduler import App
    from scraper.crawl import run_in_reactor
    from scraper.service import Service

    def rss_mib() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    app = App(config)
    service = Service(app.settings, app.engine, matcher=app.matcher())

    async def main():
        service._setup()
        baseline = await asyncio.gather(*(service.crawl(n) for n in service.names))
        out = {"sources": service.names, "baseline": [o.run.outcome if o else "crashed" for o in baseline],
               "cpu": [], "rss_mib": {}, "outcomes": set()}
        for i in range(1, polls + 1):
            start = time.process_time()
            outcomes = await asyncio.gather(*(service.crawl(n) for n in service.names))
            out["cpu"].append(time.process_time() - start)
            out["outcomes"].update(o.run.outcome if o else "crashed" for o in outcomes)
            if i in (10, polls):
                out["rss_mib"][i] = rss_mib()
        out["outcomes"] = sorted(out["outcomes"])
        return out

    print(json.dumps(run_in_reactor(main)))


def idle_polls(polls: int) -> dict:
    site = Site().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            config = folder / "config.toml"
            config.write_text(config_text(folder, serve_sources(site, oinp=True)))
            proc = subprocess.run([sys.executable, __file__, "--poller", str(config), "--polls", str(polls)],
                                  capture_output=True, text=True, cwd=ROOT, timeout=3600)
            if proc.returncode:
                raise SystemExit(f"poller failed:\n{proc.stderr[-3000:]}")
            return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--interval", type=int, default=2, help="poll interval of the latency trials (s)")
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--poller", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.poller:
        poller(args.poller, args.polls)
        return

    times = [latency_trial(args.interval) for _ in range(args.trials)]
    print(f"feed change -> email, poll interval {args.interval}s, jitter 0, {args.trials} trials "
          f"(real `serve` process, loopback HTTP + SMTP):")
    print(f"  median {statistics.median(times):.2f} s, worst {max(times):.2f} s, best {min(times):.2f} s"
          f"  [{', '.join(f'{t:.2f}' for t in times)}]")
    print("  (expected: up to one poll interval of waiting, plus crawl, ingest, match and SMTP delivery)")

    idle = idle_polls(args.polls)
    cpu = idle["cpu"][10:] or idle["cpu"]
    print(f"idle poll of every enabled source ({', '.join(idle['sources'])}; baseline "
          f"{', '.join(idle['baseline'])}; idle outcomes {', '.join(idle['outcomes'])}):")
    print(f"  CPU per poll: median {statistics.median(cpu) * 1000:.1f} ms, "
          f"mean {statistics.fmean(cpu) * 1000:.1f} ms, p95 {sorted(cpu)[int(len(cpu) * 0.95)] * 1000:.1f} ms "
          f"(over {len(cpu)} polls)")
    for n, mib in idle["rss_mib"].items():
        print(f"  RSS after {n:>5} idle polls: {mib:.1f} MiB")


if __name__ == "__main__":
    main()
