"""The reads the CLI, the web and the service share, written once in SQL text.

They take a ``store.sql`` Reader or a SQLAlchemy session (``reader_of``): the query
commands read a SQLite file without importing SQLAlchemy (start-up, bench/cli.py); the
web and ``store.queries`` (the ORM's queries) use the same filters through a session.
Rows are dicts holding what the ORM's models hold (``DRAW_FIELDS``; tests/test_reads.py
checks them against ``Draw.model_dump()`` on SQLite and PostgreSQL).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Sequence

from store.sql import day, loaded, marks, reader_of, utc

CRS = "crs"  # Draw.score_system of the Comprehensive Ranking System (Express Entry's scale)

# Every column of ``Draw``, in the model's order, with what turns the driver's value into
# the model's (None: as it comes).
DRAW_FIELDS: dict[str, Callable[[Any], Any] | None] = {
    "id": None, "source": None, "key": None, "date": day, "round_time": utc, "tiebreak_time": utc, "title": None,
    "program": None, "category_version": None, "invitations": None, "score_min": None, "score_max": None,
    "score_system": None, "selection_kind": None, "programs_covered": loaded, "window_start": utc,
    "window_end": utc, "region": None, "noc_codes": loaded, "noc_version": None, "announcement": None,
    "url": None, "text": None, "extra": loaded, "flags": loaded, "content_hash": None, "first_seen": utc,
    "last_seen": utc, "updated": utc,
}
NOTICE_FIELDS: dict[str, Callable[[Any], Any] | None] = {
    "id": None, "source": None, "key": None, "date": day, "title": None, "text": None, "url": None,
    "content_hash": None, "first_seen": utc, "updated": utc,
}
# Newest first; keys sort as text ("91a"), so by date, then round time, then first seen.
NEWEST_FIRST = "draw.date DESC, draw.round_time DESC, draw.id DESC"


def _decoded(rows: list[dict], fields: dict[str, Callable | None]) -> list[dict]:
    return [{name: (decode(row[name]) if decode else row[name]) for name, decode in fields.items()} for row in rows]


def draw_filter(
    *,
    source: str | None = None,
    category: str | None = None,
    since: date | None = None,
    until: date | None = None,
    min_crs: int | None = None,
    max_crs: int | None = None,
    min_score: int | None = None,
    max_score: int | None = None,
    noc2021: Sequence[str] = (),
) -> tuple[str, dict[str, Any]]:
    """The SQL condition (on table ``draw``) and parameters of the draws these filters keep.
    ``min_crs``/``max_crs`` compare the lowest CRS of draws scored on the CRS;
    ``min_score``/``max_score`` the lowest score whatever its system (meaningful within one
    source: each scores on its own scale)."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for column, name, value in (("source", "source", source), ("program", "category", category)):
        if value:
            clauses.append(f"draw.{column} = :{name}")
            params[name] = value
    if since:
        clauses.append("draw.date >= :since")
        params["since"] = since
    if until:
        clauses.append("draw.date <= :until")
        params["until"] = until
    if min_crs is not None or max_crs is not None:
        clauses.append("draw.score_system = :crs")
        params["crs"] = CRS
    for name, op, value in (("min_crs", ">=", min_crs), ("max_crs", "<=", max_crs),
                            ("min_score", ">=", min_score), ("max_score", "<=", max_score)):
        if value is not None:
            clauses.append(f"draw.score_min {op} :{name}")
            params[name] = value
    if noc2021:
        listed, codes = marks("noc", noc2021)
        clauses.append(f"draw.id IN (SELECT draw_id FROM drawnoc WHERE noc2021 IN ({listed}))")
        params.update(codes)
    return " AND ".join(clauses) or "1 = 1", params


def draws(db, where: str = "1 = 1", params: dict | None = None, *, limit: int | None = None) -> list[dict]:
    """Draws of ``where`` (``draw_filter``), newest first, each as ``Draw.model_dump()`` gives it."""
    sql = f"SELECT {', '.join('draw.' + f for f in DRAW_FIELDS)} FROM draw WHERE {where} ORDER BY {NEWEST_FIRST}"
    params = dict(params or {})
    if limit:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return _decoded(reader_of(db).rows(sql, params), DRAW_FIELDS)


def count(db, table: str, where: str = "1 = 1", params: dict | None = None) -> int:
    """How many rows of ``table`` ``where`` keeps (the total a limited listing was cut from)."""
    return reader_of(db).rows(f"SELECT count(*) AS n FROM {table} WHERE {where}", params)[0]["n"]


def notices(db, source: str | None = None, *, limit: int | None = None) -> tuple[list[dict], int]:
    """Program news that is not a draw, newest first, and how many there are in all."""
    where, params = ("notice.source = :source", {"source": source}) if source else ("1 = 1", {})
    sql = (f"SELECT {', '.join('notice.' + f for f in NOTICE_FIELDS)} FROM notice WHERE {where} "
           "ORDER BY notice.date DESC, notice.id DESC")
    if limit:
        sql += " LIMIT :limit"
    rows = _decoded(reader_of(db).rows(sql, {**params, "limit": limit} if limit else params), NOTICE_FIELDS)
    return rows, (count(db, "notice", where, params) if limit and len(rows) == limit else len(rows))


def category_pairs(db, source: str | None = None) -> list[tuple[str, str]]:
    """(source, category) of every category (program, stream) with a stored draw, of one
    source or all, sorted."""
    where, params = ("AND source = :source", {"source": source}) if source else ("", {})
    rows = reader_of(db).rows(f"SELECT DISTINCT source, program FROM draw WHERE program IS NOT NULL {where}", params)
    return sorted((row["source"], row["program"]) for row in rows)


def categories(db, source: str | None = None) -> list[str]:
    """The categories (programs, streams) of the stored draws, of one source or all."""
    return sorted({slug for _src, slug in category_pairs(db, source)})


def unknown_category(db, asked: Sequence[str], source: str | None = None) -> str | None:
    """What is wrong with the first of ``asked`` that is no stored category (of ``source``),
    naming those stored; None when all are. The CLI's usage error and the web's 400."""
    from store.options import choice_error  # click, which the store's reads do not need otherwise

    known = categories(db, source) if asked else []
    for category in asked:
        error = choice_error(category, known, f"(the categories stored{' for ' + source if source else ''})")
        if error:
            return error
    return None


def targeting(db, noc2021: Sequence[str]) -> tuple[int, dict | None]:
    """How many draws target any of ``noc2021``, and the latest of them (source, key, date)."""
    db = reader_of(db)
    listed, params = marks("noc", noc2021)
    where = f"draw.id IN (SELECT draw_id FROM drawnoc WHERE noc2021 IN ({listed}))"
    n = count(db, "draw", where, params)
    latest = db.rows(f"SELECT draw.source, draw.key, draw.date FROM draw WHERE {where} "
                     "ORDER BY draw.date DESC, draw.id DESC LIMIT 1", params)
    return n, ({**latest[0], "date": day(latest[0]["date"])} if latest else None)


def has_cli_subscriber(db) -> bool:
    """Whether an active subscriber was added with ``drawwatch subscribers add`` (the
    config's are in the config: a config row whose entry was removed is not current)."""
    return bool(reader_of(db).rows("SELECT 1 FROM subscriber WHERE active AND origin <> 'config' LIMIT 1"))
