"""The local web page: the draw history with filters and charts, a page per draw, Atom
feeds, and the JSON API (``web.api``) with its OpenAPI page at ``/docs``.

Server-rendered (Jinja templates in ``web/templates``), working offline: the stylesheet
ships in ``web/static`` and the API page's scripts in fastapi-offline, never a CDN.
Read-only, public draw data only: nothing here reads subscribers or the outbox.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from notifier.render import link_url
from scraper.sources import registry
from store import queries, stats
from store.models import Draw
from store.options import LARGEST
from store.reference.noc import lookup
from web import api, charts, feeds
from web.chartcache import DRAWING, ChartCache
from web.config import WebSettings, token_matches
from web.filters import DrawFilters, draw_filters
from web.session import read_session

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PAGE_SIZE = 500  # draws per history page; ?limit= up to MAX_PAGE
MAX_PAGE = 5000
TOKEN_COOKIE = "drawwatch_token"
# What the history's table shows of a draw: no text, no lists, no JSON to decode.
LIST_COLUMNS = (Draw.source, Draw.key, Draw.date, Draw.title, Draw.program, Draw.invitations, Draw.score_min,
                Draw.score_max, Draw.score_system)

templates = Jinja2Templates(directory=str(HERE / "templates"))


def _score(draw) -> str:
    label = registry.get(draw.source).score_label(draw.score_system)
    if draw.score_min is None:
        return ""
    high = f"–{draw.score_max}" if draw.score_max is not None else ""
    return f"{draw.score_min}{high} {label}"


def draw_path(draw) -> str:
    """A draw's page; keys hold "/" (Ontario's date/stream/region), kept as path steps."""
    return f"/draws/{quote(draw.source, safe='')}/{quote(draw.key, safe='/')}"


templates.env.globals.update(
    source_name=lambda name: registry.get(name).display_name,
    category_name=lambda source, slug: registry.get(source).category_name(slug),
    headline=lambda draw: registry.get(draw.source).headline(draw),
    score=_score,
    noc_title=lambda code: getattr(lookup(code), "title", ""),
    draw_path=draw_path,
    link_url=link_url,
    drawing=DRAWING,
)


def history_charts(cache: ChartCache, session, filters: DrawFilters) -> dict:
    """The history page's two charts of ``filters``' rounds (kept, or being drawn)."""
    stamp, query, params = stats.data_stamp(session), filters.query(), filters.params()
    return {name: cache.get((name, params), stamp, lambda s, chart=chart: chart(stats.points(s, query), "svg"))
            for name, chart in (("cutoffs", charts.cutoff_chart), ("invitations", charts.invitations_chart))}


def create_app(engine: Engine, settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    app = FastAPIOffline(title="drawwatch", version="1", redoc_url=None, docs_url="/docs",
                         description="Canadian immigration draws as drawwatch stores them (read-only). "
                                     "JSON keys are those of the CLI's `--format json`.")
    app.state.engine = engine
    cache = app.state.charts = ChartCache(engine)
    # Warm at start-up, off any request: matplotlib loaded and the unfiltered history's
    # charts drawn in the worker.
    cache.run(lambda session: history_charts(cache, session, DrawFilters()))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    _timing(app)
    if settings.token:
        _guard(app, settings.token)
    _errors(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def history(request: Request, filters: Annotated[DrawFilters, Depends(draw_filters)],
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE_SIZE,
                offset: Annotated[int, Query(ge=0, le=LARGEST)] = 0, session=Depends(read_session)):
        query = filters.query()
        rows = queries.draws(session, query, limit=limit, offset=offset, columns=LIST_COLUMNS)
        total = queries.count(session, query) if len(rows) == limit or offset else len(rows)
        categories = stats.categories(session)
        drawn = history_charts(cache, session, filters)
        return templates.TemplateResponse(request, "history.html", {
            "draws": rows, "total": total, "offset": offset, "limit": limit, "filters": filters,
            "sources": registry.names(), "categories": categories,
            "names": {(src, slug): name for src, slug, name in categories},
            # Asked once per source and score system, not once per row of thousands.
            "source_names": {src: registry.get(src).display_name for src in {r.source for r in rows}},
            "labels": {(src, system): registry.get(src).score_label(system)
                       for src, system in {(r.source, r.score_system) for r in rows}},
            **drawn, "refresh": DRAWING in drawn.values(),
            "feed": f"/feeds/draws.atom?{filters.params()}",
            "newer": filters.params(offset=max(0, offset - limit), limit=limit) if offset else None,
            "older": filters.params(offset=offset + limit, limit=limit) if offset + len(rows) < total else None,
        }, background=BackgroundTask(cache.start))

    @app.get("/draws/{source}/{key:path}", response_class=HTMLResponse, include_in_schema=False)
    def draw_page(request: Request, source: str, key: str, session=Depends(read_session)):
        draw = api.find(session, source, key)
        detail = queries.draw_detail(session, draw)
        stamp, draw_id, category = stats.data_stamp(session), draw.id, draw.program

        def trend(s):
            return charts.cutoff_chart(stats.points(s, source=source, category=category), "svg", salt="trend")

        shown = {"pool": cache.get(("pool", draw_id), stamp, lambda s: charts.pool_chart(s.get(Draw, draw_id)))
                 if charts.distribution(draw.extra) else None,
                 "trend": cache.get(("trend", source, category), stamp, trend) if category else None}
        return templates.TemplateResponse(request, "draw.html", {
            "draw": draw, "nocs": detail["nocs_2021"], "revisions": detail["revisions"],
            **shown, "refresh": DRAWING in shown.values(),
            "source_feed": f"/feeds/draws.atom?{DrawFilters(source=source).params()}",
            "category_feed": f"/feeds/draws.atom?{DrawFilters(source=source, category=draw.program).params()}"
            if draw.program else None,
        }, background=BackgroundTask(cache.start))

    @app.get("/feeds/draws.atom", include_in_schema=True, tags=["feeds"],
             summary="Atom feed of the latest draws (all, or filtered like /api/draws: source, category, noc)",
             response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}})
    def feed(request: Request, filters: Annotated[DrawFilters, Depends(draw_filters)],
             session=Depends(read_session)) -> Response:
        rows = queries.draws(session, filters.query(), limit=feeds.FEED_SIZE)
        base = str(request.base_url).rstrip("/")
        body = feeds.atom(rows, title=_feed_title(filters), feed_id=f"urn:drawwatch:feed:?{filters.params()}",
                          self_url=str(request.url), page_url=f"{base}/?{filters.params()}",
                          draw_url=lambda d: base + draw_path(d))
        return Response(body, media_type="application/atom+xml")

    return app


def _feed_title(filters: DrawFilters) -> str:
    parts = []
    if filters.source:
        rules = registry.get(filters.source)
        parts.append(rules.category_name(filters.category) if filters.category else rules.display_name)
    elif filters.category:
        parts.append(filters.category)
    if filters.noc:
        parts.append("NOC " + ", ".join(filters.noc))
    return "drawwatch: " + (" · ".join(parts) + " draws" if parts else "all draws")


def _errors(app: FastAPI) -> None:
    """An error on a page is a page; on the API and the feeds it stays JSON."""

    def page_or_json(request: Request, status: int, detail) -> Response:
        if request.url.path.startswith(("/api/", "/feeds/", "/openapi")):
            return JSONResponse({"detail": detail}, status_code=status)
        return templates.TemplateResponse(request, "error.html", {"status": status, "detail": detail},
                                          status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return page_or_json(request, exc.status_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return page_or_json(request, 400, detail)


def _timing(app: FastAPI) -> None:
    """``Server-Timing: app;dur=MS`` on every answer: the time spent here, which a browser's
    developer tools show and bench/web.py reads."""

    @app.middleware("http")
    async def server_timing(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.1f}"
        return response


def _guard(app: FastAPI, token: str) -> None:
    """Every request must carry the token: ``Authorization: Bearer`` (programs, feed
    readers), or ``?token=`` once in a browser, which then keeps it in a cookie."""

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(TOKEN_COOKIE)
        if token_matches(given, token):
            return await call_next(request)
        if token_matches(request.query_params.get("token"), token):
            # Out of the address bar (and any history or log line) at once.
            clean = request.url.remove_query_params("token")
            response = RedirectResponse(str(clean), status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        return JSONResponse({"detail": "an access token is required ([web] token)"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
