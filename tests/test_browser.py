"""The web page in a real headless browser (Debian's ``chromium``, driven by Playwright,
which is told where that browser is and never downloads one): the history page and a
draw page load, their charts are drawn, the filters work; the history page's screenshot
is saved to docs/screenshot-web.png, which the README shows. The database is filled from
the real snapshots (tests/web_app.py, which serves the app once its start-up charts are
drawn; Ontario's pages are markdown conversions rendered to HTML by tests/md_render.py)."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from store.db import make_engine, session as open_session
from tests.service_harness import ROOT, free_port
from tests.web_app import LiveApp, fill
from web.config import WebSettings

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
SCREENSHOT = ROOT / "docs" / "screenshot-web.png"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
if not CHROMIUM.exists() and not shutil.which("chromium"):
    pytest.skip("Debian's chromium is not installed (no /usr/bin/chromium): .ci/run installs it "
                "(apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'drawwatch.db'}"
    engine = make_engine(url)
    with open_session(engine) as session:
        fill(session)
    app = LiveApp(engine, WebSettings(port=free_port())).start()
    yield app
    app.stop()
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists()
                                                                 else shutil.which("chromium")), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Offline as the page promises: a request for anything not on this machine fails the test.
    outside: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
                  else (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    yield page
    context.close()
    assert outside == []


def colours(png: bytes) -> int:
    """How many distinct colours a screenshot holds: a drawn chart has its lines' colours,
    an empty or broken one only its background."""
    from PIL import Image

    return len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20) or ())


def drawn(page, selector: str) -> None:
    chart = page.locator(f"{selector} svg")
    chart.wait_for(state="visible")
    box = chart.bounding_box()
    assert box["width"] > 400 and box["height"] > 150, box
    # The browser laid the lines out: the plotted paths have a size.
    lines = page.eval_on_selector_all(f"{selector} svg path", "ps => ps.filter(p => { const b = p.getBBox(); "
                                                                "return b.width > 50 && b.height > 20; }).length")
    assert lines >= 1
    assert colours(chart.screenshot()) > 20


def table_rows(page) -> list[list[str]]:
    return page.eval_on_selector_all("#draws tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")


def test_history_page_chart_and_filters(site, page):
    page.goto(site.url + "/")
    assert page.title() == "Draw history · drawwatch"
    drawn(page, "#chart-cutoffs")
    drawn(page, "#chart-invitations")
    page.evaluate("window.scrollTo(0, 0)")  # the page as it opens: filters, then the chart
    page.screenshot(path=str(SCREENSHOT))
    everything = page.inner_text("#count")

    # Ontario only: pick the source, submit the form as a person would.
    page.select_option("select[name=source]", "oinp")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**/?source=oinp*")
    # A view not drawn before: its placeholder reloads the page once the worker drew it.
    drawn(page, "#chart-cutoffs")
    rows = table_rows(page)
    assert rows and all(r[1] == "Ontario" for r in rows)
    assert page.inner_text("#count") != everything
    assert "Ontario EOI points cut-off" in page.inner_text("#chart-cutoffs")
    # The stream list now holds Ontario's streams only, by their names.
    streams = page.eval_on_selector_all("select[name=category] option", "os => os.map(o => o.textContent)")
    assert "Employer Job Offer: Foreign Worker stream (Ontario)" in streams
    assert not [s for s in streams if "(Express Entry)" in s]

    # An occupation through the crosswalk: 21231 finds 2019's tech draws (NOC 2016 2173).
    page.fill("input[name=noc]", "21231")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**noc=21231*")
    drawn(page, "#chart-cutoffs")
    rows = table_rows(page)
    assert rows and all(r[1] == "Ontario" for r in rows) and any(r[0].startswith("2019") for r in rows)


def test_draw_pages(site, page):
    page.goto(site.url + "/?source=express_entry")
    page.click("#draws tbody tr:first-child a")
    page.wait_for_url("**/draws/express_entry/*")
    assert page.inner_text("h1").startswith("Express Entry round #")
    assert "Official page" in page.inner_text("#facts")
    drawn(page, "#chart-pool")
    drawn(page, "#chart-trend")

    page.goto(site.url + "/draws/express_entry/237")
    assert "invitations: 5500 → 5600" in page.inner_text("#revisions")
