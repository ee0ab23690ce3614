"""The JSON API under ``/api``: the CLI's listings over HTTP, with the same JSON (keys as
in ``--format json``, rendered by the same function) and the same filters."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from store import queries, stats
from store.options import LARGEST
from store.output import as_json
from web.filters import DrawFilters, draw_filters
from web.session import read_session

router = APIRouter(prefix="/api", tags=["draws"])

MAX_LIMIT = 1000
JSON = "application/json"


def _json(rows: list[dict]) -> Response:
    # ``--format json``'s values and key order, without its indentation (which would
    # send every value through the pure-Python encoder: half the time of a page of 100).
    return Response(as_json(rows), media_type=JSON)


@router.get("/draws", summary="Draws, newest first",
            responses={200: {"description": "A list of draws; keys as in `drawwatch draws --format json`. "
                                            "A `Link: <...>; rel=\"next\"` header points at the next page."}})
def list_draws(request: Request, filters: Annotated[DrawFilters, Depends(draw_filters)],
               limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
               offset: Annotated[int, Query(ge=0, le=LARGEST)] = 0, session=Depends(read_session)) -> Response:
    rows = [d.model_dump() for d in queries.draws(session, filters.query(), limit=limit, offset=offset)]
    response = _json(rows)
    if len(rows) == limit:
        nxt = request.url.include_query_params(offset=offset + limit)
        response.headers["Link"] = f'<{nxt}>; rel="next"'
    return response


@router.get("/draws/latest", summary="The latest draw (of a source), with its occupations and revisions",
            responses={404: {"description": "No draw stored yet"}})
def latest_draw(source: Annotated[str | None, Query()] = None, session=Depends(read_session)) -> Response:
    filters = draw_filters(session, source=source)
    found = queries.draws(session, filters.query(), limit=1)
    if not found:
        raise HTTPException(status_code=404, detail="no draw stored yet" + (f" for {source}" if source else ""))
    return _json([queries.draw_detail(session, found[0])])


@router.get("/draws/{source}/{key:path}", summary="One draw, with its occupations and revisions",
            responses={404: {"description": "No such draw"}})
def one_draw(source: str, key: str, session=Depends(read_session)) -> Response:
    draw = find(session, source, key)
    return _json([queries.draw_detail(session, draw)])


@router.get("/stats", summary="Per source and category: rounds, invitations, cut-offs",
            responses={200: {"description": "Keys as in `drawwatch stats --format json`."}})
def category_stats(source: Annotated[str | None, Query()] = None, category: Annotated[str | None, Query()] = None,
                   since: Annotated[str | None, Query(description="Window start (default: 12 months ago)")] = None,
                   until: Annotated[str | None, Query()] = None, session=Depends(read_session)) -> Response:
    filters = draw_filters(session, source=source, category=category, since=since, until=until)
    start = filters.since or stats.window_start(filters.until)
    return _json(stats.category_stats(session, since=start, until=filters.until, source=filters.source,
                                      category=filters.category))


def find(session, source: str, key: str):
    """The draw ``source``/``key``, or a 404 saying which."""
    found = queries.find_draw(session, key, source)
    if not found:
        raise HTTPException(status_code=404, detail=f"no draw with key {key!r} in {source}")
    return found[0]
