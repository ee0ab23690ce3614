"""Start-up time of the commands a person types, next to what Python itself costs.

Prints the median (and min-max) wall time of 10 runs of ``drawwatch --help``,
``draws --limit 20``, ``noc 2123``, ``status`` and ``--version`` on a populated SQLite
database (every Express Entry round of the 2026-04-21 feed, Ontario's 2025 and 2026
updates pages and both ledgers, ingested from the real snapshots; a config with a
subscriber whose channel is an email URL), beside the floor: ``python -c "import sqlite3"``
and the same 20 newest draws read with the bare sqlite3 module, and what importing the
ORM's tables alone costs (``import store.models``: SQLAlchemy, SQLModel, pydantic), and the
same 20 draws read through the ORM (``store.queries.draws``: the tables, the first query's
mapping and compiling; the process ends as ``drawwatch`` does, see scheduler.py): what a
query command would cost on the ORM before any config, CLI or source, and why ``draws``,
``noc`` and ``status`` read a SQLite file through ``store.reads`` and the sqlite3 module
instead (store/sql.py). Runs are interleaved
so that a change in the machine's load hits every command alike. Each command runs once
before the timed runs, with bytecode caching on (PYTHONDONTWRITEBYTECODE dropped), so that
modules load from their .pyc as in an installed copy, not compiled anew each time.
Beside each wall time, the CPU time (user + system) the process used, median too: on a
machine others load, it moves far less than the wall time does.

Run:  python bench/cli.py [--runs 10]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"
EE = ("ee_rounds_123_en.2026-04-21.raw.json", "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json")
# Ontario's pages exist here as markdown conversions of the live pages: rendered back to
# HTML as the OINP tests do (tests/md_render.py); the parser reads the kind from the path.
OINP = {"oinp_updates_2026.2026-06-19.md": "updates", "oinp_updates_2025.2026-06-19.md": "updates",
        "oinp_invitations_apply.2026-06-19.md": "ledger",
        "oinp_express_entry_notifications_interest.2026-06-19.md": "ledger"}
TARGETS = {"--help": 0.3, "--version": 0.3, "draws --limit 20": 0.4, "noc 2123": 0.4, "status": 0.4}


def populate(folder: Path) -> Path:
    """A database holding the real snapshots' draws, and a config pointing at it."""
    from scraper.records import ParseResult
    from scraper.sources.registry import SOURCES
    from store.db import make_engine, session
    from store.ingest import ingest
    from tests.md_render import render

    db = folder / "dw.db"
    engine = make_engine(f"sqlite:///{db}")
    ee, oinp = SOURCES["express_entry"], SOURCES["oinp"]
    with session(engine) as s:
        name, url = EE
        ingest(s, "express_entry", ee.parser("feed")((DATA / name).read_bytes(), url))
        combined = ParseResult()
        for name, kind in OINP.items():
            body, url = render(DATA / name)
            part = oinp.parser(kind)(body, url)
            combined.draws += part.draws
            combined.notices += part.notices
        combined.draws = oinp.load_combine()(combined.draws)
        ingest(s, "oinp", combined, combine=oinp.load_combine())
    engine.dispose()
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n'
                      '[[subscribers]]\nname = "me"\nurls = ["mailto://me:app-password@example.org"]\ncrs = 480\n')
    return config


def drawwatch() -> list[str]:
    script = Path(sys.executable).parent / "drawwatch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "scheduler"]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=ENV)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 3) or "internal error" in proc.stderr or "Traceback" in proc.stderr:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = populate(Path(tmp))
        db = Path(tmp) / "dw.db"
        query = ("import sqlite3; sqlite3.connect(%r).execute('select source, key, date, title from draw "
                 "order by date desc limit 20').fetchall()" % str(db))
        orm = ("import atexit, gc; atexit.register(gc.freeze)\n"  # as drawwatch exits (scheduler.py)
               "from store.db import make_engine, session\nfrom store.queries import draws\n"
               f"with session(make_engine('sqlite:///{db}', read_only=True)) as s:\n"
               "    rows = [d.model_dump() for d in draws(s, limit=20)]")
        cases = {
            'python -c "import sqlite3"': [sys.executable, "-c", "import sqlite3"],
            "python: sqlite3 query of 20 draws": [sys.executable, "-c", query],
            "python: import store.models": [sys.executable, "-c", "import store.models"],
            "python: ORM query of 20 draws": [sys.executable, "-c", orm],
            **{f"drawwatch {cmd}": drawwatch() + (["--config", str(config)] if cmd.split()[0] not in
                                                  ("--help", "--version") else []) + cmd.split()
               for cmd in TARGETS},
        }
        times: dict[str, list[float]] = {label: [] for label in cases}
        cpus: dict[str, list[float]] = {label: [] for label in cases}
        load = os.getloadavg()[0]
        for label, argv in cases.items():  # once each first: the files in the page cache
            timed(argv)
        for _ in range(args.runs):
            for label, argv in cases.items():
                wall, cpu = timed(argv)
                times[label].append(wall)
                cpus[label].append(cpu)
    floor = statistics.median(times['python -c "import sqlite3"'])
    cpu_floor = statistics.median(cpus['python -c "import sqlite3"'])
    print(f"wall time of {args.runs} runs, median [min-max]; {Path(drawwatch()[-1]).name} on a database of "
          f"real Express Entry and Ontario draws, a config with one email subscriber; load average "
          f"{load:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs")
    for label, values in times.items():
        med = statistics.median(values)
        target = TARGETS.get(label.removeprefix("drawwatch "))
        goal = f"  target <= {target:.1f} s" if target else ""
        cpu = statistics.median(cpus[label])
        print(f"  {label:<36} {med:6.3f} s  [{min(values):.3f}-{max(values):.3f}]  "
              f"{med / floor:5.1f}x the floor;  CPU {cpu:6.3f} s {cpu / cpu_floor:5.1f}x{goal}")


if __name__ == "__main__":
    main()
