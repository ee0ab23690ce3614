"""Parser speed on pages of about 2 MB in every shape (tests/big_pages.py), and how it grows;
then on real snapshots that are slow for what they are (Saskatchewan's 43-page PDF).

Prints, per case: the page's size and tags ("<" counted), what the parser answered (draws,
or the ParseError refusing it), CPU seconds of this process (best of --repeat) and wall
seconds (best of --repeat). Then, for the cases that read to draws, the CPU seconds at
0.5, 1 and 2 MB: linear parsing doubles the time when the page doubles (cases sized by
the parsers' limits rather than by the page are left out there). A calibration
line first (CPU seconds of ``sum(range(10**7))``) says how fast this machine is today.

Run:  python bench/parsers.py [--filter updates/] [--repeat 3] [--no-scaling]
      python bench/parsers.py --filter sk- --no-scaling      (the PDF alone)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper.records import ParseError  # noqa: E402
from tests import big_pages  # noqa: E402

SK_PDF = "sk_sinp_isw_eoi_selection_results.2023-01-29.raw.pdf"


def real_cases():
    """Real snapshots read whole by their source's parser, at the address they came from."""
    from scraper.sources.sk_sinp.parse import parse_sk_selections

    yield big_pages.Case("sk-selections-pdf (real, 43 pages)", parse_sk_selections,
                         lambda: ((big_pages.DATA / SK_PDF).read_bytes(), "https://publications.saskatchewan.ca/"
                                  "api/v1/products/102708/formats/113850/download"), "draws")


def timed(case, body: bytes, url: str, repeat: int) -> tuple[float, float, str]:
    """(best CPU seconds, best wall seconds, what the parser answered)."""
    cpu = wall = float("inf")
    answer = ""
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            answer = f"{len(case.parser(body, url).draws)} draws"
        except ParseError as exc:
            answer = f"ParseError: {str(exc).split(' (http')[0][:70]}"
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu, wall, answer


def calibration() -> float:
    start = time.process_time()
    sum(range(10**7))
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filter", default="", help="only cases whose name contains this")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-scaling", action="store_true", help="skip the 0.5 / 1 / 2 MB table")
    args = ap.parse_args()

    print(f"calibration: sum(range(10**7)) takes {calibration():.3f} s CPU here")
    print(f"{'case':44} {'MB':>5} {'tags':>8} {'CPU s':>6} {'wall s':>6}  answer")
    reading = []
    worst = 0.0
    for case in [*big_pages.cases(), *real_cases()]:
        if args.filter not in case.name:
            continue
        body, url = case.build()
        cpu, wall, answer = timed(case, body, url, args.repeat)
        worst = max(worst, cpu)
        print(f"{case.name:44} {len(body) / 1e6:5.2f} {body.count(b'<'):8,} {cpu:6.3f} {wall:6.3f}  {answer}", flush=True)
        if answer.endswith("draws"):
            reading.append(case)
    print(f"slowest: {worst:.3f} s CPU")

    if args.no_scaling or not reading:
        return
    print(f"\n{'case (CPU s at each size; linear: 4.0)':44} {'0.5 MB':>7} {'1 MB':>7} {'2 MB':>7}  2 MB / 0.5 MB")
    full = big_pages.SIZE
    try:
        for case in reading:
            row, sizes = [], []
            for size in (full // 4, full // 2, full):
                big_pages.SIZE = size
                body, url = case.build()
                sizes.append(len(body))
                row.append(timed(case, body, url, args.repeat)[0])
            if sizes[0] * 2 > sizes[2]:
                continue        # a case sized by the parsers' limits, not by the page size
            ratio = row[2] / row[0] if row[0] > 0.005 else float("nan")
            print(f"{case.name:44} {row[0]:7.3f} {row[1]:7.3f} {row[2]:7.3f}  {ratio:5.1f}", flush=True)
    finally:
        big_pages.SIZE = full


if __name__ == "__main__":
    main()
