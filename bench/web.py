"""How fast the web page, its API and the chart files are, on a history of 2,000+ draws.

The database: the real snapshots as the web tests load them (tests/web_app.py), then
the Express Entry rounds copied under new keys, each copy 11 years earlier, until the
history holds ``--draws`` draws. The app is served by uvicorn on 127.0.0.1 as
``drawwatch web`` serves it; server time is the app's own ``Server-Timing`` header.

Prints, median [min-max] of ``--repeat`` requests:
  the history page listing every draw with its two charts inline: the first request
  right after a draw is stored (the chart drawn before is served while the worker
  redraws it), the worker's redraw time (off any request), and the next requests; target
  150 ms
  /api/draws?limit=100; target 30 ms median
  each chart file (cut-off, invitations per month, pool; SVG and PNG) drawn from all the
  draws, as ``drawwatch chart`` draws it; target 1 s
and beside each, the CPU time it cost per request: on a busy machine the wall time counts
the wait for a CPU too.

Run:  python bench/web.py [--draws 2000] [--repeat 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from store import stats  # noqa: E402
from store.db import make_engine, session as open_session  # noqa: E402
from store.models import Draw  # noqa: E402
from tests.service_harness import free_port  # noqa: E402
from tests.web_app import LiveApp, fill, get  # noqa: E402
from web.config import WebSettings  # noqa: E402

COPY_YEARS = 11  # each copy of the Express Entry history ends before the previous begins


def grow(session, want: int) -> int:
    """Copies of the stored Express Entry rounds, under new keys and earlier dates."""
    rounds = list(session.exec(select(Draw).where(Draw.source == "express_entry")))
    n = len(list(session.exec(select(Draw.id))))
    copy = 0
    while n < want:
        copy += 1
        for draw in rounds:
            if n >= want:
                break
            row = draw.model_dump(exclude={"id"})
            row["key"] = f"{draw.key}-{copy}"
            if draw.date:
                row["date"] = date(draw.date.year - COPY_YEARS * copy, draw.date.month, min(draw.date.day, 28))
            session.add(Draw(**row))
            n += 1
    session.commit()
    return n


def new_draw(session, n: int) -> None:
    """One more round stored (a copy of the latest under a new key): the charts go stale."""
    latest = session.exec(select(Draw).order_by(Draw.id.desc())).first()
    session.add(Draw(**{**latest.model_dump(exclude={"id"}), "key": f"bench-new-{n}"}))
    session.commit()


def server_ms(url: str) -> float:
    status, headers, body = get(url)
    assert status == 200, (url, status, body[:300])
    timing = headers.get("server-timing") or headers["Server-Timing"]
    return float(timing.split("dur=")[1])


def line(label: str, times: list[float], cpu: float | None = None, target: float | None = None) -> None:
    verdict = "" if target is None else ("  ok" if statistics.median(times) <= target else f"  OVER {target:g}")
    spent = "" if cpu is None else f"  cpu {cpu:6.1f} ms"
    print(f"  {label:<58} {statistics.median(times):8.1f} ms  [{min(times):.1f}-{max(times):.1f}]{spent}{verdict}")


def requests(url: str, n: int) -> tuple[list[float], float]:
    """Server times of ``n`` requests, and the CPU time they cost this process (server and
    client, per request): on a machine whose other work competes for the CPUs, the part
    of the wall time that is this work's own."""
    start = time.process_time()
    times = [server_ms(url) for _ in range(n)]
    return times, (time.process_time() - start) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        engine = make_engine(url)
        with open_session(engine) as session:
            fill(session)
            total = grow(session, args.draws)
        reader = make_engine(url, read_only=True)
        start = time.perf_counter()
        app = LiveApp(reader, WebSettings(port=free_port())).start()  # once the start-up's charts are drawn
        warm = (time.perf_counter() - start) * 1000
        try:
            print(f"{total} draws; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
                  f"{args.repeat} requests each, server time (Server-Timing)")
            print(f"  {'(start-up: served, matplotlib loaded and charts drawn in the worker)':<58} {warm:8.1f} ms")
            page = f"{app.url}/?limit={total}"
            server_ms(page)
            firsts, redraws = [], []
            for n in range(max(3, args.repeat // 4)):
                with open_session(engine) as session:
                    new_draw(session, n)
                firsts.append(server_ms(page))
                assert app.charts.idle(120), "the redraw did not finish in 120 s"
                redraws.append(sum(ms for what, ms in app.charts.drawn_ms.items() if what[1] == ""))
            total += len(firsts)
            line(f"history page, {total} draws + 2 charts, first after a new draw", firsts, target=150)
            line("  its 2 charts redrawn in the background (no request waits)", redraws)
            line(f"history page, {total} draws + 2 charts, next", *requests(page, args.repeat), target=150)
            line("/api/draws?limit=100", *requests(f"{app.url}/api/draws?limit=100", args.repeat), target=30)
            app.drawn("/draws/express_entry/237")  # its first view: placeholders while the worker draws
            line("a draw's page (facts, occupations, 2 charts), next",
                 *requests(f"{app.url}/draws/express_entry/237", args.repeat))
            line("/feeds/draws.atom (50 entries)", *requests(f"{app.url}/feeds/draws.atom", args.repeat))
        finally:
            app.stop()
        print("chart files from every draw, as `drawwatch chart` draws them (matplotlib loaded):")
        from web import charts

        with open_session(reader) as session:
            points = stats.points(session)
            draw = session.exec(select(Draw).where(Draw.source == "express_entry", Draw.key == "237")).one()
        start = time.perf_counter()
        charts.cutoff_chart(points[:10], "svg")  # the first figure (matplotlib loaded by the app's worker)
        label = "(first figure; matplotlib already loaded by the app's worker)"
        print(f"  {label:<58} "
              f"{(time.perf_counter() - start) * 1000:8.1f} ms")
        for name, make in (("cutoffs", lambda fmt: charts.cutoff_chart(points, fmt)),
                           ("invitations", lambda fmt: charts.invitations_chart(points, fmt)),
                           ("pool", lambda fmt: charts.pool_chart(draw, fmt))):
            for fmt in charts.FORMATS:
                times, runs, cpu = [], max(3, args.repeat // 4), time.process_time()
                for _ in range(runs):
                    start = time.perf_counter()
                    make(fmt)
                    times.append((time.perf_counter() - start) * 1000)
                line(f"{name}.{fmt}", times, (time.process_time() - cpu) * 1000 / runs, target=1000)
        reader.dispose()
        engine.dispose()


if __name__ == "__main__":
    main()
