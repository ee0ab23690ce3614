"""Fan-out of one new draw to many subscribers, and delivery of the outbox, on real draws.

Prints:
  (a) matching one new real draw against N stored profiles (default 100,000, varied)
      inside ``ingest``, on SQLite and on PostgreSQL (a throw-away server started as the
      tests start theirs): seconds spent in ``enqueue_matches`` (profiles/s), in the whole
      ingest, the candidates the query selected and the outbox rows written. Two draws:
      Express Entry round #411 (French, 2026-04-15; the stored feed is the 2026-04-21
      snapshot without it) and Ontario's 2026-04-30 Foreign Worker draw (39 NOCs, EOI
      points, a profile window; the stored draws are the 2026 updates page and both
      ledgers without it). The profiles are stored and indexed first, as a subscriber
      sync leaves them (that time is printed apart).
  (b) delivering M outbox rows (default 10,000) to a local webhook (``bench/sink.py``, on
      127.0.0.1 in processes of its own, counting POSTs) with ``notifier.deliver.deliver_due`` at the
      configured concurrency, next to a plain sequential Apprise loop on the same sink.

Run:  python bench/fanout.py [--profiles 100000] [--engine sqlite|postgresql] [--notifications 10000]
      [--concurrency N] [--latency-ms 50 --skip matching]   (a channel that takes 50 ms to answer)
"""
from __future__ import annotations

import argparse
import os
import asyncio
import datetime as dt
import random
import sys
import tempfile
from contextlib import contextmanager
from itertools import islice
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402
from sqlmodel import col, func, select  # noqa: E402

from notifier.bulk import insert_rows  # noqa: E402
from notifier.candidates import candidates  # noqa: E402
from notifier.match import draw_facts, enqueue_matches  # noqa: E402
from notifier.profile_index import refresh  # noqa: E402
from notifier.subscribers import validate  # noqa: E402
from scraper.sources.express_entry.parse import parse_express_entry  # noqa: E402
from scraper.sources.oinp.parse import merge_oinp, parse_oinp_ledger  # noqa: E402
from scraper.records import ParseResult  # noqa: E402
from scraper.sources.registry import SOURCES  # noqa: E402
from bench.sink import Sink  # noqa: E402
from configfile import Settings  # noqa: E402
from store.db import make_engine, session  # noqa: E402
from store.ingest import ingest  # noqa: E402
from store.models import Notification, Subscriber  # noqa: E402
from scraper.sources.express_entry.categories import versions  # noqa: E402
from tests.md_render import parsed_updates, render  # noqa: E402

DATA = ROOT / "tests" / "data"
EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
EE_SNAPSHOT = "ee_rounds_123_en.2026-04-21.raw.json"
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
LEDGERS = ("oinp_invitations_apply.2026-06-19.md", "oinp_express_entry_notifications_interest.2026-06-19.md")


# -- subscribers ------------------------------------------------------------------------


def noc_pool() -> list[str]:
    """Real codes people hold: every code of every Express Entry category list, plus the
    NOC 2016 codes of Ontario's 2019 tech draws (profiles may still give 2016 codes)."""
    codes = sorted({c for v in versions() for c in v.nocs})
    return codes + ["2173", "2174", "2147", "2175", "2172", "0213", "1111", "3012"]


def profiles(n: int, url: str, seed: int = 7) -> list[dict]:
    """``n`` stored profiles (the JSON form ``Profile`` saves), varied as real ones are."""
    return list(iter_profiles(n, url, seed))


def iter_profiles(n: int, url: str, seed: int = 7):
    rng = random.Random(seed)
    pool = noc_pool()
    template = validate({"name": "template", "urls": [url]}).model_dump(mode="json")
    day = lambda: (dt.date(2024, 6, 1) + dt.timedelta(days=rng.randrange(700))).isoformat()  # noqa: E731
    for i in range(n):
        p = dict(template, name=f"subscriber-{i:06d}")
        p["programs"] = rng.choice([["cec"], ["fsw"], ["cec", "fsw"], ["fst"], ["pnp", "cec"], []])
        p["crs"] = None if rng.random() < 0.05 else max(300, min(820, int(rng.gauss(480, 45))))
        p["nocs"] = rng.sample(pool, rng.choice([0, 1, 1, 1, 2, 3]))
        p["nclc"] = rng.choice([None, None, None, 5, 7, 9])
        p["clb"] = rng.choice([None, 6, 7, 9, 10])
        if rng.random() < 0.4:
            p["provincial_points"] = {"ON": rng.randrange(20, 95)}
            p["eoi_created"] = day()
        p["ee_profile_created"] = day() if rng.random() < 0.7 else None
        p["provinces"] = rng.choice([[], [], ["ON"], ["BC", "AB"]])
        p["sources"] = rng.choice([[], [], ["express_entry"], ["oinp"]])
        p["notify"] = rng.choice([["eligible", "targeted"], ["eligible"], ["eligible", "near_miss"], ["all"]])
        p["near_miss"] = rng.choice([5, 10, 20])
        p["delivery"] = "digest" if rng.random() < 0.1 else "immediate"
        # One in a thousand goes through the real validation: the generated shape is a saved profile's.
        if i % 1000 == 0:
            assert validate(p).model_dump(mode="json") == p, p["name"]
        yield p


def store_subscribers(engine, rows, chunk: int = 20_000) -> None:
    """Store the profiles, then index them as a subscriber sync does (one transaction each)."""
    now = dt.datetime.now(dt.timezone.utc)
    rows = iter(rows)
    while batch := list(islice(rows, chunk)):
        with session(engine) as s:
            insert_rows(s, Subscriber.__table__, [dict(name=p["name"], origin="cli", active=True, profile=p,
                                                       created=now, updated=now) for p in batch])
            s.commit()
    with session(engine) as s:
        refresh(s)
        s.commit()


# -- (a) matching -----------------------------------------------------------------------


def ee_crawls():
    full = parse_express_entry((DATA / EE_SNAPSHOT).read_bytes(), EE_URL)
    before = parse_express_entry((DATA / EE_SNAPSHOT).read_bytes(), EE_URL)
    before.draws = [d for d in before.draws if d.key != "411"]
    return "express_entry", "Express Entry #411 (French-language, 2026-04-15)", before, full, None


def oinp_crawls():
    combine = SOURCES["oinp"].load_combine()
    page = parsed_updates(DATA / "oinp_updates_2026.2026-06-19.md")
    ledgers = [d for name in LEDGERS for d in parse_oinp_ledger(*render(DATA / name)).draws]
    merged = merge_oinp(list(page.draws) + ledgers)
    key = "2026-04-30/foreign_worker"
    before = ParseResult([d for d in merged if d.key != key], page.notices)
    return "oinp", f"Ontario {key} (GTA, 39 NOCs, EOI 57+)", before, ParseResult(merged, page.notices), combine


@contextmanager
def database(engine_name: str, folder: Path):
    """A fresh database URL: a SQLite file, or a throw-away PostgreSQL server (tests/pg.py)."""
    if engine_name == "sqlite":
        yield f"sqlite:///{folder / 'match.db'}"
        return
    from tests.pg import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (no initdb found): install the server, or --engine sqlite")
    server = PostgresServer(bindir)
    try:
        yield server.start()
    finally:
        server.stop()


def bench_matching(n: int, url: str, engine_name: str, folder: Path) -> None:
    with database(engine_name, folder) as db:
        engine = make_engine(db)
        start = time.perf_counter()
        store_subscribers(engine, iter_profiles(n, url))
        print(f"  {n:,} profiles stored and indexed in {time.perf_counter() - start:.1f} s (not part of matching)")
        for crawls in (ee_crawls, oinp_crawls):
            source, label, before, after, combine = crawls()
            spent: list[float] = []

            def timed_matcher(s, report):
                start, cpu = time.perf_counter(), time.process_time()
                enqueue_matches(s, report)
                spent.extend((time.perf_counter() - start, time.process_time() - cpu))

            with session(engine) as s:
                ingest(s, source, before, combine=combine)  # the baseline: stored, nobody told
                start = time.perf_counter()
                report = ingest(s, source, after, combine=combine, matcher=timed_matcher)
                total = time.perf_counter() - start
                assert len(report.new) == 1, [d.key for d in report.new]
                draw = report.new[0]
                mine = (Notification.draw_id == draw.id)
                written = s.exec(select(func.count()).select_from(Notification).where(mine)).one()
                digests = s.exec(select(func.count()).select_from(Notification).where(mine, Notification.digest)).one()
                selected = len(s.execute(candidates(draw, draw_facts(draw))).all())
            print(f"  {label}: {n:,} profiles -> {selected:,} candidates -> {written:,} outbox rows "
                  f"({digests:,} held for digests)")
            # CPU: this process's alone (not the database server's); on a shared machine the
            # wall time also holds the time other processes had the CPU.
            print(f"    enqueue_matches {spent[0]:6.2f} s (CPU {spent[1]:.2f} s)   whole ingest {total:6.2f} s   "
                  f"({n / spent[0]:,.0f} profiles/s; load average {os.getloadavg()[0]:.1f})")
        engine.dispose()


# -- (b) delivery -----------------------------------------------------------------------


def fill_outbox(engine, url: str, wanted: int) -> int:
    """Real alerts: every draw of the feed (``notify = ["all"]``) to enough subscribers."""
    result = parse_express_entry((DATA / EE_SNAPSHOT).read_bytes(), EE_URL)
    per_subscriber = len(result.draws)
    rows = []
    for p in profiles(-(-wanted // per_subscriber), url, seed=11):
        p.update(notify=["all"], delivery="immediate", sources=["express_entry"])
        rows.append(p)
    store_subscribers(engine, rows)
    with session(engine) as s:
        ingest(s, "express_entry", result, matcher=enqueue_matches, notify_history=True)
        extra = select(Notification.id).order_by(Notification.id).offset(wanted)
        s.exec(delete(Notification).where(col(Notification.id).in_(extra.scalar_subquery())))
        s.commit()
        return s.exec(select(func.count()).select_from(Notification)).one()


def posts(sink: Sink) -> int:
    """POSTs the sink answered, to whatever path."""
    return sum(sink.counts().values())


def bench_delivery(m: int, concurrency: int | None, folder: Path, latency: float = 0.0) -> None:
    import apprise

    from notifier.deliver import _item_of, deliver_due
    from notifier.render import draw_context
    from notifier.render import render as render_message
    from store.models import Draw

    sink = Sink(latency)
    try:
        engine = make_engine(f"sqlite:///{folder / 'deliver.db'}")
        queued = fill_outbox(engine, sink.url(), m)
        settings = Settings()
        if concurrency:
            settings.delivery.concurrency = concurrency
        start = time.perf_counter()
        report = asyncio.run(deliver_due(engine, settings))
        took = time.perf_counter() - start
        with session(engine) as s:
            sent = s.exec(select(func.count()).select_from(Notification).where(Notification.status == "sent")).one()
            note = s.exec(select(Notification).order_by(Notification.id)).first()
            body_context = _item_of(note, draw_context(s.get(Draw, note.draw_id)), "subscriber")
        engine.dispose()
        print(f"  deliver_due, concurrency {settings.delivery.concurrency}: {queued:,} rows, {report}; "
              f"sink counted {posts(sink):,} POSTs; {sent:,} rows marked sent")
        print(f"    {took:6.2f} s   {queued / took:8,.0f} notifications/s")

        title, body = render_message("alert", "text", body_context)
        before = posts(sink)
        start = time.perf_counter()
        ok = 0
        for _ in range(m):
            sender = apprise.Apprise()
            sender.add(sink.url())
            ok += bool(sender.notify(body=body, title=title))
        took = time.perf_counter() - start
        print(f"  sequential apprise.Apprise().notify loop: {m:,} messages, {ok:,} accepted, "
              f"sink counted {posts(sink) - before:,} POSTs")
        print(f"    {took:6.2f} s   {m / took:8,.0f} notifications/s")
    finally:
        sink.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000, help="stored profiles matched against")
    parser.add_argument("--engine", choices=ENGINES, action="append",
                        help="where matching is measured (default: both)")
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="override [delivery] concurrency (default: the configured value)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="the sink answers each POST after this long (a real channel is not instant)")
    parser.add_argument("--skip", choices=("matching", "delivery"), action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if "matching" not in args.skip:
            for engine_name in args.engine or ENGINES:
                print(f"(a) matching one new draw inside ingest ({ENGINES[engine_name]})")
                bench_matching(args.profiles, "json://127.0.0.1:9/hook", engine_name, Path(tmp))  # never sent to
        if "delivery" not in args.skip:
            print(f"(b) delivering the outbox to a webhook on 127.0.0.1 answering after {args.latency_ms:g} ms")
            bench_delivery(args.notifications, args.concurrency, Path(tmp), args.latency_ms / 1000)


if __name__ == "__main__":
    main()
