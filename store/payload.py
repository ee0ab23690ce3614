"""A held crawl's payload: the crawl exactly as parsed, in JSON, and back."""
from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime

from scraper.records import DrawRecord, NoticeRecord, ParseResult
from store.facts import FACT_FIELDS, jsonable
from store.models import Draw
from store.plan import PageFetch

# How a held crawl's records come back from JSON.
_DATE_FIELDS = frozenset(c.name for c in Draw.__table__.columns if isinstance(c.type, Date)) & set(FACT_FIELDS)
_DATETIME_FIELDS = frozenset(c.name for c in Draw.__table__.columns if isinstance(c.type, DateTime)
                             or isinstance(getattr(c.type, "impl", None), DateTime)) & set(FACT_FIELDS)


def _record_json(record: DrawRecord | NoticeRecord) -> dict[str, Any]:
    # Lists and dicts in records are JSON already: no deep copy (asdict) needed.
    return {f.name: jsonable(getattr(record, f.name)) for f in fields(record)}


def _draw_record(data: dict[str, Any]) -> DrawRecord:
    values = dict(data)
    for name in _DATE_FIELDS & values.keys():
        values[name] = date.fromisoformat(values[name]) if values[name] else None
    for name in _DATETIME_FIELDS & values.keys():
        values[name] = datetime.fromisoformat(values[name]) if values[name] else None
    return DrawRecord(**values)


def _notice_record(data: dict[str, Any]) -> NoticeRecord:
    return NoticeRecord(**{**data, "date": date.fromisoformat(data["date"]) if data.get("date") else None})


def to_payload(result: ParseResult, pages: list[PageFetch]) -> dict[str, Any]:
    return {"draws": [_record_json(r) for r in result.draws], "notices": [_record_json(n) for n in result.notices],
            "problems": list(result.problems),
            "pages": [{**asdict(p), "keys": list(p.keys) if p.keys is not None else None} for p in pages]}


def from_payload(payload: dict[str, Any]) -> tuple[ParseResult, list[PageFetch]]:
    result = ParseResult([_draw_record(d) for d in payload["draws"]],
                         [_notice_record(n) for n in payload["notices"]], list(payload["problems"]))
    pages = [PageFetch(**{**p, "keys": tuple(p["keys"]) if p["keys"] is not None else None})
             for p in payload["pages"]]
    return result, pages
