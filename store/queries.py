"""Read-side functions the CLI and the notifier share; each takes a Session."""
from __future__ import annotations

from datetime import date
from typing import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from store.models import Draw, DrawNoc, DrawRevision
from store.reference.noc import as_2021, normalize_code

CRS = "crs"  # Draw.score_system of the Comprehensive Ranking System (Express Entry's scale)


def draw_query(
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
) -> Select:
    """The draws these filters keep, unordered. ``min_crs``/``max_crs`` compare the lowest
    CRS of draws scored on the CRS; ``min_score``/``max_score`` the lowest score whatever
    its system (meaningful within one source: each scores on its own scale)."""
    query = select(Draw)
    if source:
        query = query.where(Draw.source == source)
    if category:
        query = query.where(Draw.program == category)
    if since:
        query = query.where(Draw.date >= since)
    if until:
        query = query.where(Draw.date <= until)
    if min_crs is not None or max_crs is not None:
        query = query.where(Draw.score_system == CRS)
    for low, high in ((min_crs, max_crs), (min_score, max_score)):
        if low is not None:
            query = query.where(Draw.score_min >= low)
        if high is not None:
            query = query.where(Draw.score_min <= high)
    if noc2021:
        targeted = select(DrawNoc.draw_id).where(col(DrawNoc.noc2021).in_(list(noc2021)))
        query = query.where(col(Draw.id).in_(targeted))
    return query


def draws(session: Session, query: Select | None = None, *, limit: int | None = None, offset: int | None = None,
          columns: Sequence = (), **filters) -> list:
    """Draws newest first: those of ``query`` (``draw_query``), or of ``filters``;
    ``columns``: rows of only these columns (a listing need not load every draw's text)."""
    query = draw_query(**filters) if query is None else query
    if columns:
        # A new select: the query's own (of Draw objects) would hand back the first column only.
        rows = select(*columns)
        query = rows if query.whereclause is None else rows.where(query.whereclause)
    # Keys sort as text ("91a"), so order by date then first-seen for a stable newest-first.
    query = query.order_by(col(Draw.date).desc(), col(Draw.round_time).desc(), col(Draw.id).desc())
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return list(session.exec(query))


def noc2021_codes(values: Sequence[str]) -> list[str]:
    """User NOC codes (2016 or 2021) as the NOC 2021 codes draws are indexed by; a code
    that is no NOC unit group raises ``NocError``."""
    codes: set[str] = set()
    for value in values:
        code, _version = normalize_code(value)
        codes |= as_2021(code)
    return sorted(codes)


def draw_detail(session: Session, draw: Draw) -> dict:
    """A draw with the NOC 2021 codes it targets and its revisions (``draws show``'s JSON)."""
    detail = draw.model_dump()
    detail["nocs_2021"] = [{"noc2021": n.noc2021, "via": n.via} for n in draw_nocs(session, draw.id)]
    detail["revisions"] = [r.model_dump() for r in revisions(session, draw.id)]
    return detail


def count(session: Session, query: Select) -> int:
    """How many rows ``query`` selects (the total a limited listing was cut from)."""
    return session.exec(select(func.count()).select_from(query.subquery())).one()


def category_pairs(session: Session, source: str | None = None) -> list[tuple[str, str]]:
    """(source, category) of every category (program, stream) with a stored draw, of one
    source or all, sorted."""
    query = select(Draw.source, Draw.program).where(col(Draw.program).is_not(None)).distinct()
    if source:
        query = query.where(Draw.source == source)
    return sorted((src, slug) for src, slug in session.exec(query))


def categories(session: Session, source: str | None = None) -> list[str]:
    """The categories (programs, streams) of the stored draws, of one source or all."""
    return sorted({slug for _src, slug in category_pairs(session, source)})


def unknown_category(session: Session, asked: Sequence[str], source: str | None = None) -> str | None:
    """What is wrong with the first of ``asked`` that is no stored category (of ``source``),
    naming those stored; None when all are. The CLI's usage error and the web's 400."""
    from store.options import choice_error  # click, which the store's queries do not need otherwise

    known = categories(session, source) if asked else []
    for category in asked:
        error = choice_error(category, known, f"(the categories stored{' for ' + source if source else ''})")
        if error:
            return error
    return None


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


def targeting(session: Session, noc2021: Sequence[str]) -> tuple[int, Draw | None]:
    """How many draws target any of ``noc2021``, and the latest of them."""
    ids = select(DrawNoc.draw_id).where(col(DrawNoc.noc2021).in_(list(noc2021)))
    n = session.exec(select(func.count()).select_from(Draw).where(col(Draw.id).in_(ids))).one()
    latest = session.exec(select(Draw).where(col(Draw.id).in_(ids))
                          .order_by(col(Draw.date).desc(), col(Draw.id).desc()).limit(1)).first()
    return n, latest
