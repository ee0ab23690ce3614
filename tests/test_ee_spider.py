"""The Express Entry crawl for real: ``drawwatch crawl`` over HTTP on 127.0.0.1 serving the snapshots."""
import subprocess
import sys

import pytest
from sqlmodel import select

from store.db import make_engine, session as open_session
from store.models import CrawlRun, Draw
from tests.configs import sources_off
from tests.conftest import FEED, data


@pytest.fixture
def crawl(tmp_path, site):
    db = tmp_path / "dw.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[http]\ndelay = 0\nretries = 1\ntimeout = 5\n'
                      f'[sources.express_entry]\nurl = "{site.url(FEED)}"\n{sources_off("express_entry")}')

    def run(*args):
        return subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "crawl",
                               "--source", "express_entry", *args], capture_output=True, text=True, timeout=120)

    run.engine = lambda: make_engine(f"sqlite:///{db}")
    return run


def state(engine):
    with open_session(engine) as s:
        draws = {d.key: d.content_hash for d in s.exec(select(Draw))}
        runs = [(r.outcome, r.error) for r in s.exec(select(CrawlRun).order_by(CrawlRun.id))]
    return draws, runs


def test_crawl_new_then_304(crawl, site):
    site.put(FEED, data("ee_rounds_123_en.2026-04-02.raw.json"))
    first = crawl()
    assert first.returncode == 0, first.stderr
    assert "express_entry: 409 new, 0 changed, 0 unchanged (first crawl" in first.stdout

    site.put(FEED, data("ee_rounds_123_en.2026-04-21.raw.json"))
    second = crawl()
    assert second.returncode == 0, second.stderr
    assert "express_entry: 3 new, 0 changed, 409 unchanged" in second.stdout
    for key in ("409", "410", "411"):
        assert f"new      {key} " in second.stdout

    third = crawl()
    assert third.returncode == 0 and "not modified" in third.stdout
    status, headers = site.hits(FEED)[-1]
    assert status == 304 and headers["if-none-match"] == site.pages[FEED].etag
    assert "if-modified-since" in headers
    draws, runs = state(crawl.engine())
    assert len(draws) == 412
    assert [o for o, _ in runs] == ["ok", "ok", "not_modified"]
    # Polite: robots.txt asked for, an honest User-Agent sent.
    assert site.hits("/robots.txt")
    assert site.hits(FEED)[0][1]["user-agent"].startswith("drawwatch/")


BROKEN = [
    (data("ee_rounds_123_en.2025-02-19.raw.MALFORMED.json"), 200, "ParseError: malformed JSON at line 4"),
    (b"", 200, "ParseError: empty response body"),
    (data("ee_rounds_123_en.2026-04-21.raw.json")[:200_000], 200, "ParseError: malformed JSON"),  # truncated
    (b"<html>Service Unavailable</html>", 503, "HTTP 503"),
    (b"not found", 404, "HTTP 404"),
]


def test_failed_crawls_change_nothing(crawl, site):
    # One database through every kind of failure (each crawl is a real process, so
    # they share one baseline to keep the suite quick).
    site.put(FEED, data("ee_rounds_123_en.2026-04-02.raw.json"))
    assert crawl().returncode == 0
    before, _ = state(crawl.engine())
    for body, status, error in BROKEN:
        site.put(FEED, body, status=status)
        proc = crawl()
        assert proc.returncode == 1, error
        assert "express_entry: FAILED" in proc.stderr and error in proc.stderr, proc.stderr
        after, runs = state(crawl.engine())
        assert after == before, error
        assert runs[-1][0] == "failed" and error in runs[-1][1]
    # No failed body's validators were kept: the next crawl fetches in full again.
    site.put(FEED, data("ee_rounds_123_en.2026-04-21.raw.json"))
    recovered = crawl()
    assert recovered.returncode == 0 and "3 new" in recovered.stdout


def test_robots_txt_is_obeyed(crawl, site):
    site.put("/robots.txt", b"User-agent: *\nDisallow: /content/\n", content_type="text/plain")
    site.put(FEED, data("ee_rounds_123_en.2026-04-02.raw.json"))
    proc = crawl()
    assert proc.returncode == 1 and "robots.txt" in proc.stderr
    assert not site.hits(FEED)


def test_connection_refused_is_a_failed_crawl(crawl, site):
    site.stop()
    proc = crawl()
    assert proc.returncode == 1 and "express_entry: FAILED" in proc.stderr
    assert "Connection" in proc.stderr or "refused" in proc.stderr
