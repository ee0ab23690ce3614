"""No page waits for matplotlib: the web app draws its charts in a worker thread, at
start-up and when the draws change, and a page asked for meanwhile gets the chart drawn
before (or a placeholder that reloads the page when there is none yet).

Real matplotlib, a real server on 127.0.0.1, a database filled from the real snapshots
(tests/web_app.py; Ontario's pages are markdown conversions rendered to HTML by
tests/md_render.py). To catch a redraw provably still running, the test holds the lock
matplotlib's chart writing takes (``web.charts._SAVING``): the worker's redraw cannot
finish until it is let go.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from store.db import make_engine, session as open_session
from store.models import Draw
from tests.service_harness import free_port
from tests.web_app import LiveApp, fill, get
from web import charts
from web.config import WebSettings


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'drawwatch.db'}"
    writer = make_engine(url)
    with open_session(writer) as session:
        fill(session)
    reader = make_engine(url, read_only=True)
    app = LiveApp(reader, WebSettings(port=free_port())).start()  # warm: start-up's charts drawn
    yield app, writer
    app.stop()
    reader.dispose()
    writer.dispose()


def figure(html: str, chart: str) -> str:
    return html.split(f'id="{chart}"', 1)[1].split("</figure>", 1)[0]


def html_of(app, path: str) -> str:
    code, _, body = get(app.url + path)
    assert code == 200, (path, code, body[:300])
    return body.decode()


def test_a_page_after_new_data_does_not_wait_for_the_redraw(site):
    app, writer = site
    before = html_of(app, "/")
    old = figure(before, "chart-cutoffs")
    assert old.lstrip(">").lstrip().startswith("<svg") and "refresh" not in before
    # A new round stored: the cut-off chart must be drawn again.
    with open_session(writer) as session:
        latest = session.exec(select(Draw).where(Draw.source == "express_entry").order_by(Draw.date.desc())).first()
        row = latest.model_dump(exclude={"id"})
        row.update(key="9999", date=latest.date + timedelta(days=14), score_min=(latest.score_min or 500) - 123)
        session.add(Draw(**row))
        session.commit()
    with charts._SAVING:  # no chart can be written until this block ends
        during = html_of(app, "/")
        assert not app.charts.idle(0.5), "the redraw should still be waiting for matplotlib"
        # The page came back meanwhile, with the chart drawn before and no placeholder.
        assert figure(during, "chart-cutoffs") == old and "chart drawing" not in during
        assert "9999" in during  # the table is today's
        # A view never drawn before: the placeholder, and the page reloads itself.
        fresh = html_of(app, "/?source=oinp")
        assert 'class="chart drawing" id="chart-cutoffs"' in fresh and "Chart being drawn" in fresh
        assert '<meta http-equiv="refresh" content="2">' in fresh
    assert app.charts.idle(120)
    after = html_of(app, "/")
    new = figure(after, "chart-cutoffs")
    assert new.lstrip(">").lstrip().startswith("<svg") and new != old
    ontario = html_of(app, "/?source=oinp")
    assert "Ontario EOI points cut-off" in figure(ontario, "chart-cutoffs") and "refresh" not in ontario
