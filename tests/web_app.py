"""A database filled from the real snapshots for the web tests and bench/web.py, and the
web app served for real by uvicorn on 127.0.0.1 in a thread of the test process.

The history: Ontario's 2019, 2025 and 2026 updates pages (markdown conversions of the
live pages, rendered to HTML by tests/md_render.py), Express Entry's 2023 feed, its 2026
feed, and the 2026 feed with round 237's invitations corrected (a revision to show).
"""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request

from scraper.records import ParseResult
from scraper.sources.express_entry.parse import parse_express_entry
from scraper.sources.registry import SOURCES
from store.ingest import ingest
from tests.conftest import DATA, data
from tests.md_render import parse_oinp_page, render

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
ONTARIO_PAGES = ("oinp_updates_2019.2026-06-19.md", "oinp_updates_2025.2026-06-19.md",
                 "oinp_updates_2026.2026-06-19.md")


def corrected_feed() -> bytes:
    """The real 2026-04-21 feed with round 237's invitations corrected from 5,500 to 5,600."""
    doc = json.loads(data("ee_rounds_123_en.2026-04-21.raw.json").decode("utf-8-sig"))
    (row,) = [r for r in doc["rounds"] if r["drawNumber"] == "237"]
    row["drawSize"] = "5,600"
    return json.dumps(doc).encode()


def fill(session) -> None:
    combine = SOURCES["oinp"].load_combine()
    for name in ONTARIO_PAGES:
        page = parse_oinp_page(*render(DATA / name))
        ingest(session, "oinp", ParseResult(combine(page.draws), page.notices), combine=combine)
    for feed in (data("ee_rounds_123_en.2023-01-17.raw.json"), data("ee_rounds_123_en.2026-04-21.raw.json"),
                 corrected_feed()):
        ingest(session, "express_entry", parse_express_entry(feed, EE_URL))


class LiveApp:
    """``web.server.Embedded`` on an event loop of its own thread, as the service runs it."""

    def __init__(self, engine, settings):
        self.engine, self.settings = engine, settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="web-test", daemon=True)
        self.web = None

    def start(self, warm: bool = True) -> "LiveApp":
        """Serving; with ``warm``, once the start-up's charts are drawn (as a person
        opening the page a moment after start-up finds them)."""
        from web.server import Embedded

        async def start():
            self.web = Embedded(self.engine, self.settings).start()
            while not self.web.server.started:
                await asyncio.sleep(0.01)

        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)
        if warm:
            assert self.charts.idle(120), "the start-up's charts were not drawn in 120 s"
        return self

    @property
    def charts(self):
        """The app's chart cache (``web.chartcache``)."""
        return self.web.server.config.app.state.charts

    def drawn(self, path: str) -> tuple[int, dict, bytes]:
        """GET ``path`` once its charts are drawn: a first view shows a placeholder while
        the worker draws them."""
        answer = get(self.url + path)
        if b'class="chart drawing"' in answer[2]:
            assert self.charts.idle(120), f"{path}'s charts were not drawn in 120 s"
            answer = get(self.url + path)
        return answer

    @property
    def url(self) -> str:
        return self.web.url.rstrip("/")

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.web.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a GET; an HTTP error status is returned, not raised."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
