"""Parse and ingest timings for the largest Express Entry snapshot.

Prints: parse time, first ingest into an empty SQLite database, and re-ingest of the
same snapshot (which should cost a small fraction of the first). Run:
    python bench/ingest.py [--repeat N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper.sources.express_entry.parse import parse_express_entry  # noqa: E402
from store.db import make_engine, session  # noqa: E402
from store.ingest import ingest  # noqa: E402

SNAPSHOT = ROOT / "tests" / "data" / "ee_rounds_123_en.2026-04-21.raw.json"
URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    body = SNAPSHOT.read_bytes()
    parse_times, first_times, again_times = [], [], []
    for _ in range(args.repeat):
        t, result = timed(lambda: parse_express_entry(body, URL))
        parse_times.append(t)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            with session(engine) as s:
                t, first = timed(lambda: ingest(s, "express_entry", result))
                first_times.append(t)
                reparsed = parse_express_entry(body, URL)
                t, again = timed(lambda: ingest(s, "express_entry", reparsed))
                again_times.append(t)
                assert len(first.new) == len(result.draws) and again.unchanged == len(result.draws)
            engine.dispose()
    n = len(result.draws)
    print(f"snapshot: {SNAPSHOT.name} ({len(body) / 1024:.0f} KiB, {n} rounds), {args.repeat} runs, median [min-max]")
    for label, times in (("parse", parse_times), ("first ingest (empty db)", first_times),
                         ("re-ingest (unchanged)", again_times)):
        print(f"  {label:<40} {statistics.median(times) * 1000:8.1f} ms  "
              f"[{min(times) * 1000:.1f}-{max(times) * 1000:.1f}]")
    print(f"  re-ingest / first ingest: {statistics.median(again_times) / statistics.median(first_times):.0%}")


if __name__ == "__main__":
    main()
