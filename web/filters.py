"""The draw filters of the pages, the feeds and the API: the CLI's (``drawwatch draws``)
as query parameters, checked the same way, one error wording for all three."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query
from sqlmodel import Session

from scraper.sources import registry
from store import queries, reads
from store.options import LARGEST
from store.reference.noc import NocError, noc2021_codes
from web.session import read_session


@dataclass
class DrawFilters:
    source: str | None = None
    category: str | None = None
    since: date | None = None
    until: date | None = None
    min_crs: int | None = None
    max_crs: int | None = None
    min_score: int | None = None
    max_score: int | None = None
    noc: list[str] = field(default_factory=list)

    def query(self):
        """The store's query of these filters (``store.queries.draw_query``)."""
        return queries.draw_query(source=self.source, category=self.category, since=self.since, until=self.until,
                                  min_crs=self.min_crs, max_crs=self.max_crs, min_score=self.min_score,
                                  max_score=self.max_score, noc2021=self.noc2021)

    @property
    def noc2021(self) -> list[str]:
        return noc2021_codes(self.noc) if self.noc else []

    def params(self, **changes) -> str:
        """These filters (with ``changes``) as a query string, for links that keep them."""
        values = {**asdict(self), **changes}
        pairs = [(k, v) for k, v in values.items() if v not in (None, "", []) and k != "noc"]
        pairs += [("noc", n) for n in values.get("noc") or []]
        return urlencode([(k, v.isoformat() if isinstance(v, date) else v) for k, v in pairs])


def _blank(value: str | None) -> str | None:
    """A form's empty field is no filter."""
    return value.strip() or None if value is not None else None


def draw_filters(
    session: Annotated[Session, Depends(read_session)],
    source: Annotated[str | None, Query(description="A source's name (`drawwatch status` lists them).")] = None,
    category: Annotated[str | None, Query(description="Category or stream slug (cec, stem, foreign_worker, ...).")] = None,
    since: Annotated[str | None, Query(description="On or after this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, Query(description="On or before this date (YYYY-MM-DD).")] = None,
    # Scores bounded as the CLI's: a larger number is no score and no database binds it.
    min_crs: Annotated[int | None, Query(ge=0, le=LARGEST,
                                         description="Lowest CRS at least this (CRS-scored draws only).")] = None,
    max_crs: Annotated[int | None, Query(ge=0, le=LARGEST,
                                         description="Lowest CRS at most this (CRS-scored draws only).")] = None,
    min_score: Annotated[int | None, Query(ge=0, le=LARGEST, description="Lowest score at least this, on the "
                                                                         "source's own scale (needs source).")] = None,
    max_score: Annotated[int | None, Query(ge=0, le=LARGEST, description="Lowest score at most this, on the "
                                                                         "source's own scale (needs source).")] = None,
    noc: Annotated[list[str], Query(description="Draws targeting this NOC (2021, or 2016 through the "
                                                "crosswalk); repeatable.")] = [],  # noqa: B006 (FastAPI copies it)
) -> DrawFilters:
    """Query parameters -> filters, or a 400 naming the parameter and what it must be."""
    source, category = _blank(source), _blank(category)
    if source and source not in registry.names():
        bad("source", f"{source!r} is not one of {', '.join(registry.names())}")
    error = reads.unknown_category(session, (category,) if category else (), source)
    if error:
        bad("category", error)
    found = DrawFilters(source=source, category=category, since=_day("since", since), until=_day("until", until),
                        min_crs=min_crs, max_crs=max_crs, min_score=min_score, max_score=max_score,
                        # The form's one NOC field shows several codes space-separated: read back alike.
                        noc=[n for value in noc for n in value.replace(",", " ").split()])
    if (min_score is not None or max_score is not None) and not source:
        bad("min_score", "needs source: each source scores on its own scale (min_crs/max_crs compare CRS scores "
                         "across sources)")
    if found.since and found.until and found.since > found.until:
        bad("since", f"{found.since} is after until {found.until}")
    try:
        found.noc2021
    except NocError as exc:
        bad("noc", str(exc))
    return found


def _day(name: str, value: str | None) -> date | None:
    value = _blank(value)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        bad(name, f"{value!r} is not a date: expected YYYY-MM-DD, e.g. 2025-03-14")


def bad(name: str, message: str):
    raise HTTPException(status_code=400, detail=f"{name}: {message}")
