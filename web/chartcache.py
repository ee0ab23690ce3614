"""The pages' charts, drawn in the background: no request waits for matplotlib.

A chart is kept by what it shows (``what``: the kind and the filters or the draw) with
the state of the draws it was drawn from (``stats.data_stamp``). A request whose stamp
differs from the kept chart's (a draw stored or corrected since) starts a redraw in the
worker thread and gets the kept chart meanwhile; a chart never drawn yet is ``DRAWING``,
which the page shows as a placeholder and reloads itself for (a meta refresh, no script).
One worker: matplotlib writes one chart at a time anyway (``charts._SAVING``), and the
web server's own threads stay free for pages.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.db import session as open_session
from web import charts

log = logging.getLogger(__name__)


class _Drawing:
    """The chart asked for is being drawn and none was drawn before."""

    def __repr__(self) -> str:
        return "DRAWING"


DRAWING = _Drawing()


class ChartCache:
    def __init__(self, engine: Engine, size: int = 64):
        self.engine, self.size = engine, size
        self._charts: OrderedDict[tuple, tuple[tuple, str | None]] = OrderedDict()
        self._drawing: set[tuple] = set()  # (what, stamp) due, queued or being drawn
        self._due: list[tuple] = []  # (what, stamp, make) for ``start`` to hand the worker
        self._changed = threading.Condition()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="charts")
        self.drawn_ms: dict[tuple, float] = {}  # what -> how long its last drawing took (bench/web.py)

    def get(self, what: tuple, stamp: tuple, make: Callable[[Session], bytes]):
        """The chart as inline SVG, None when there is nothing to draw, or ``DRAWING``.
        ``make(session)`` draws it as SVG in the worker, on a session of its own, once
        ``start`` is called: after the response is sent, so that the page asking does not
        share the interpreter with matplotlib while it is rendered."""
        with self._changed:
            held = self._charts.get(what)
            if held is not None:
                self._charts.move_to_end(what)
            if (held is None or held[0] != stamp) and (what, stamp) not in self._drawing:
                self._drawing.add((what, stamp))
                self._due.append((what, stamp, make))
            return DRAWING if held is None else held[1]

    def start(self) -> None:
        """The charts found stale or missing so far, handed to the worker."""
        with self._changed:
            due, self._due = self._due, []
        for what, stamp, make in due:
            self._worker.submit(self._draw, what, stamp, make)

    def run(self, job: Callable[[Session], object]) -> None:
        """``job(session)`` in the worker (the start-up's warming: matplotlib loaded there)."""
        token = ("job", object())
        with self._changed:
            self._drawing.add(token)
        self._worker.submit(self._job, job, token)

    def _job(self, job, token) -> None:
        try:
            with open_session(self.engine) as session:
                job(session)
            self.start()
        except Exception:  # a worker's failure is logged, the pages go on
            log.exception("chart warm-up failed")
        finally:
            with self._changed:
                self._drawing.discard(token)
                self._changed.notify_all()

    def _draw(self, what: tuple, stamp: tuple, make) -> None:
        start = time.perf_counter()
        try:
            with open_session(self.engine) as session:
                chart = charts.inline_svg(make(session))
        except charts.ChartError:
            chart = None
        except Exception:
            log.exception("drawing the %s chart failed", what[0])
            with self._changed:
                self._drawing.discard((what, stamp))
                self._changed.notify_all()
            return
        with self._changed:
            self._charts[what] = (stamp, chart)
            self._charts.move_to_end(what)
            while len(self._charts) > self.size:
                self._charts.popitem(last=False)
            self._drawing.discard((what, stamp))
            self.drawn_ms[what] = (time.perf_counter() - start) * 1000
            self._changed.notify_all()

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being drawn (tests and bench/web.py); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._drawing, timeout)

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
