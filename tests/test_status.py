"""``drawwatch status``: per-source health and the outbox, as a table or JSON, and an exit
status a monitoring check can use. Run as a real process against a real database."""
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scraper.sources.express_entry.parse import parse_express_entry
from store.db import make_engine, session as open_session
from store.ingest import PageFetch, ingest, record_failure, record_not_modified
from tests.configs import sources_off
from tests.conftest import data

ROOT = Path(__file__).resolve().parent.parent
EE = "express_entry"
URL = "http://127.0.0.1:9/feed.json"


@pytest.fixture
def status(tmp_path):
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[service]\nfailure_threshold = 2\n'
                      f'[sources.{EE}]\nurl = "{URL}"\nschedule = "every 1h"\n{sources_off(EE)}')

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "status", *args],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    engine = make_engine(f"sqlite:///{db}")
    run.session = lambda: open_session(engine)
    yield run
    engine.dispose()


def as_json(proc):
    out = json.loads(proc.stdout)
    return out, {row["source"]: row for row in out["sources"]}


def test_fresh_database(status):
    proc = status()
    assert proc.returncode == 0, proc.stderr
    header, rule, *lines = proc.stdout.splitlines()
    assert header.split()[:3] == ["source", "state", "last_success"]
    rows = {line.split()[0]: line.split() for line in lines[:lines.index("(times in America/Toronto)")]}
    assert rows[EE][:3] == [EE, "never", "crawled"]
    assert rows["oinp"][:2] == ["oinp", "disabled"]
    assert "outbox: empty" in proc.stdout
    # Every time in the table is in one zone, said once; JSON and CSV are in UTC.
    assert "(times in America/Toronto)" in proc.stdout
    # No subscriber: nothing would be sent, and status says how to add one.
    assert "no subscriber: draws are stored but no alert is sent" in proc.stderr
    assert "drawwatch subscribers add NAME --url" in proc.stderr


def test_healthy_then_failing_then_recovered(status):
    with status.session() as s:
        result = parse_express_entry(data("ee_rounds_123_en.2026-04-02.raw.json"), URL)
        ok = ingest(s, EE, result, pages=[PageFetch(URL, n_records=409)]).run
    proc = status("--format", "json")
    assert proc.returncode == 0, proc.stderr
    out, rows = as_json(proc)
    ee = rows[EE]
    assert (ee["state"], ee["draws"], ee["failures"], ee["last_failure"]) == ("ok", 409, 0, None)
    assert datetime.fromisoformat(ee["last_success"]) == ok.finished_at
    # "every 1h" counts from the start of the last crawl.
    assert datetime.fromisoformat(ee["next_run"]) == ok.started_at + timedelta(hours=1)
    assert rows["oinp"]["state"] == "disabled" and rows["oinp"]["next_run"] is None
    assert out["failing"] == []

    with status.session() as s:
        record_failure(s, EE, f"{URL}: HTTP 500")
    proc = status("--format", "json")
    _, rows = as_json(proc)
    assert proc.returncode == 0 and rows[EE]["state"] == "failed"  # one failure: below the threshold

    with status.session() as s:
        last = record_failure(s, EE, f"{URL}: TimeoutError: took longer than 5.0 seconds")
    proc = status("--format", "json")
    assert proc.returncode == 1
    out, rows = as_json(proc)
    ee = rows[EE]
    assert out["failing"] == [EE] and ee["state"] == "failing" and ee["failures"] == 2
    assert ee["last_error"] == f"{URL}: TimeoutError: took longer than 5.0 seconds"
    assert datetime.fromisoformat(ee["last_failure"]) == last.finished_at
    assert ee["draws"] == 409  # failures lose nothing

    table = status()
    assert table.returncode == 1 and "failing: express_entry" in table.stderr
    assert "TimeoutError" in table.stdout and " failing " in table.stdout

    with status.session() as s:
        record_not_modified(s, EE)
    proc = status("--format", "json")
    _, rows = as_json(proc)
    assert proc.returncode == 0 and rows[EE]["state"] == "ok" and rows[EE]["failures"] == 0
    # The last failure's time is still shown after the source recovered; its error only
    # while it is current (issue 14: an old error read as a present problem).
    assert datetime.fromisoformat(rows[EE]["last_failure"]) == last.finished_at
    assert rows[EE]["last_error"] is None
    table = status()
    assert "TimeoutError" not in table.stdout


def test_bad_format_is_a_usage_error(status):
    proc = status("--format", "xml")
    assert proc.returncode == 2 and "xml" in proc.stderr


def test_serve_says_when_nobody_would_be_told(tmp_path):
    """``serve`` (here ``--once``, every source disabled: nothing is fetched) says at start
    that no subscriber exists and how to add one; not once there is one."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dw.db"}"\n'
                      + sources_off())

    def serve():
        proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "serve", "--once"],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        return proc

    alone = serve()
    assert "no subscriber: draws are stored but no alert is sent" in alone.stderr
    assert "`drawwatch subscribers add NAME --url mailto://" in alone.stderr and "notify-test NAME" in alone.stderr
    with config.open("a") as f:
        f.write('[[subscribers]]\nname = "ana"\nurls = ["json://127.0.0.1:9/ana"]\n')
    assert "no subscriber" not in serve().stderr


def test_a_secret_in_a_crawl_error_is_masked_in_every_format(status):
    with status.session() as s:
        record_failure(s, EE, "https://reader:s3cret-pass@127.0.0.1:9/feed.json: HTTP 401")
    for fmt in ("table", "json", "csv"):
        proc = status("--format", fmt)
        assert "HTTP 401" in proc.stdout, fmt
        assert "s3cret-pass" not in proc.stdout + proc.stderr, fmt
