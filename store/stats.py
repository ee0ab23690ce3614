"""Trends over the stored draws: per source and category (or stream), its rounds, the
invitations they issued and where the cut-off went. Read by ``drawwatch stats``, the
charts, the web page and ``/api/stats``; each function takes a Session."""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from scraper.sources import registry
from store import queries, reads
from store.models import Draw

WINDOW_MONTHS = 12  # the default window of the trends: the last year's rounds
SPARKS = "▁▂▃▄▅▆▇█"
SPARK_POINTS = 30  # the sparkline shows the latest cut-offs only: a table row stays one line


@dataclass(frozen=True, slots=True)
class Point:
    """One round as the trends see it (no text, no NOC lists: a few columns per draw)."""

    source: str
    category: str | None
    key: str
    date: date
    invitations: int | None
    score_min: int | None
    score_system: str | None


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day when it has no such day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    if year < 1:  # before the calendar's first year (an --until of 0001-...): from its first day
        return date.min
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def window_start(until: date | None = None) -> date:
    """The default window's first day: ``WINDOW_MONTHS`` before ``until`` (or today)."""
    return months_before(until or date.today(), WINDOW_MONTHS)


def points(session: Session, query: Select | None = None, **filters) -> list[Point]:
    """Dated rounds, oldest first (a draw with no date has no place on a timeline): those
    of ``query`` (``store.queries.draw_query``), or of ``filters`` (its keywords)."""
    query = queries.draw_query(**filters) if query is None else query
    rows = select(Draw.source, Draw.program, Draw.key, Draw.date, Draw.invitations, Draw.score_min,
                  Draw.score_system).where(col(Draw.date).is_not(None))
    if query.whereclause is not None:
        rows = rows.where(query.whereclause)
    rows = rows.order_by(col(Draw.date), col(Draw.round_time), col(Draw.id))
    return [Point(*row) for row in session.exec(rows)]


def by_category(rows: Iterable[Point]) -> dict[tuple[str, str | None], list[Point]]:
    """(source, category) -> its rounds, in the order given."""
    groups: dict[tuple[str, str | None], list[Point]] = defaultdict(list)
    for p in rows:
        groups[(p.source, p.category)].append(p)
    return dict(groups)


def sparkline(values: Sequence[int | None]) -> str:
    """One block character per value, lowest to highest; a gap for a round with no cut-off."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    return "".join(" " if v is None else SPARKS[0 if not span else round((v - low) * (len(SPARKS) - 1) / span)]
                   for v in values)


def _total(values: Iterable[int | None]) -> int | None:
    """The sum of the known values; None when no value is known (not 0 invitations)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 1)


def category_stats(session: Session, *, since: date, until: date | None = None, source: str | None = None,
                   category: str | None = None) -> list[dict]:
    """One row per source and category with a round in ``since``..``until``: rounds,
    invitations, last draw, last / min / median / max cut-off, the change of the last
    cut-off since the previous scored round of the same category (whenever that was), and
    the cut-offs as a sparkline. Sorted by source, then latest draw first."""
    rows = []
    history = points(session, source=source, category=category, until=until)
    for (src, cat), rounds in by_category(history).items():
        window = [p for p in rounds if p.date >= since]
        if not window:
            continue
        scored = [p for p in rounds if p.score_min is not None]
        cutoffs = [p.score_min for p in window if p.score_min is not None]
        last = next((p for p in reversed(window) if p.score_min is not None), None)
        before = scored[scored.index(last) - 1] if last is not None and scored.index(last) > 0 else None
        rules = registry.get(src)
        rows.append({
            "source": src,
            "category": cat,
            "name": rules.category_name(cat),
            "score_system": window[-1].score_system,
            "score": rules.score_label(window[-1].score_system),
            "rounds": len(window),
            "invitations": _total(p.invitations for p in window),
            "last_draw": window[-1].date,
            "last_key": window[-1].key,
            "last": last.score_min if last else None,
            "min": min(cutoffs) if cutoffs else None,
            "median": _number(statistics.median(cutoffs)) if cutoffs else None,
            "max": max(cutoffs) if cutoffs else None,
            "change": last.score_min - before.score_min if before is not None else None,
            "cutoffs": [p.score_min for p in window],
            "sparkline": sparkline([p.score_min for p in window][-SPARK_POINTS:]),
        })
    rows.sort(key=lambda r: (r["source"], -r["last_draw"].toordinal(), r["category"] or ""))
    return rows


def monthly_invitations(rows: Iterable[Point]) -> dict[str, dict[date, int]]:
    """source -> first day of each month -> invitations issued that month."""
    months: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for p in rows:
        months[p.source][p.date.replace(day=1)] += p.invitations or 0
    return {src: dict(sorted(m.items())) for src, m in months.items()}


def categories(session: Session) -> list[tuple[str, str, str]]:
    """(source, slug, name as people know it) of every category with a stored draw."""
    return [(src, slug, registry.get(src).category_name(slug)) for src, slug in reads.category_pairs(session)]


def data_stamp(session: Session) -> tuple:
    """What changes whenever a draw is stored or corrected: what a chart of the draws
    may be kept by (a chart drawn again only when the draws changed)."""
    return tuple(session.exec(select(func.count(col(Draw.id)), func.max(Draw.id), func.max(Draw.updated))).one())
