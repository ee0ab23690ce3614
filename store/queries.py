"""The ORM's read-side queries (Draw objects) the CLI, the web and the notifier share; each
takes a Session. The filters are ``store.reads``', which the query commands run without the ORM."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import func, text
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from store.models import Draw, DrawNoc, DrawRevision
from store.reads import NEWEST_FIRST, draw_filter


def draw_query(**filters) -> Select:
    """The draws these filters keep (``store.reads.draw_filter``'s keywords), unordered."""
    where, params = draw_filter(**filters)
    return select(Draw).where(text(where).bindparams(**params))


def draws(session: Session, query: Select | None = None, *, limit: int | None = None, offset: int | None = None,
          columns: Sequence = (), **filters) -> list:
    """Draws newest first: those of ``query`` (``draw_query``), or of ``filters``;
    ``columns``: rows of only these columns (a listing need not load every draw's text)."""
    query = draw_query(**filters) if query is None else query
    if columns:
        # A new select: the query's own (of Draw objects) would hand back the first column only.
        rows = select(*columns)
        query = rows if query.whereclause is None else rows.where(query.whereclause)
    query = query.order_by(text(NEWEST_FIRST))
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return list(session.exec(query))


def draw_detail(session: Session, draw: Draw) -> dict:
    """A draw with the NOC 2021 codes it targets and its revisions (``draws show``'s JSON)."""
    detail = draw.model_dump()
    detail["nocs_2021"] = [{"noc2021": n.noc2021, "via": n.via} for n in draw_nocs(session, draw.id)]
    detail["revisions"] = [r.model_dump() for r in revisions(session, draw.id)]
    return detail


def count(session: Session, query: Select) -> int:
    """How many rows ``query`` selects (the total a limited listing was cut from)."""
    return session.exec(select(func.count()).select_from(query.subquery())).one()


def find_draw(session: Session, key: str, source: str | None = None) -> list[Draw]:
    """Draws whose key is ``key`` (several sources may share a key unless ``source`` is given)."""
    query = select(Draw).where(Draw.key == key)
    if source:
        query = query.where(Draw.source == source)
    return list(session.exec(query))


def revisions(session: Session, draw_id: int) -> list[DrawRevision]:
    return list(session.exec(select(DrawRevision).where(DrawRevision.draw_id == draw_id)
                             .order_by(col(DrawRevision.changed_at))))


def draw_nocs(session: Session, draw_id: int) -> list[DrawNoc]:
    return list(session.exec(select(DrawNoc).where(DrawNoc.draw_id == draw_id).order_by(col(DrawNoc.noc2021))))
