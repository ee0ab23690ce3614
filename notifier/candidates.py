"""The profiles a draw may concern, selected in SQL from the profile index: every profile
the full check (``notifier.match.evaluate``) would find a match is among them, so that
check runs on these only and the work grows with the matches, not the subscribers.

A profile is a candidate when it is active, the draw's source and province are among
its own (or it names none), and one of what it wants to be told about can hold:
  every draw ("all");
  a draw targeting its occupations ("targeted"): one of its NOC 2021 codes is among
    those the draw names, crosswalks, lists or accepts;
  a draw it is eligible for, or misses by its near-miss margin ("eligible",
    "near_miss"): the conditions the source's rules state (``Source.needs``:
    programs, language levels, occupations, profile dates) hold, and its score is
    within the draw's range, its margin under the cut-off counting as in.
"""
from __future__ import annotations

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from scraper.sources import registry
from scraper.sources.needs import Needs
from store.models import Draw, ProfileIndex, ProfileNoc, ProfilePoints

PI = ProfileIndex  # the table every condition here reads


def _listed(column, value: str) -> ColumnElement:
    """``column`` (",a,b," or "" for every value) admits ``value``."""
    return or_(column == "", column.contains(f",{value},", autoescape=True))


class _Query:
    """The candidates query being built: the tables a condition needs are outer-joined
    (each at most one row per profile), so that the conditions, OR-ed, stay plain
    columns a database evaluates in one pass: an ``IN (subquery)`` or ``EXISTS`` under
    an OR is run per row by PostgreSQL once its result outgrows ``work_mem``."""

    def __init__(self) -> None:
        self.joins: list[tuple] = []
        self._nocs: dict[frozenset, object] = {}

    def has_noc(self, codes) -> ColumnElement:
        """The profile holds one of these NOC 2021 codes."""
        key = frozenset(codes)
        if key not in self._nocs:
            hit = (select(ProfileNoc.subscriber_id).where(ProfileNoc.noc2021.in_(sorted(key))).distinct()
                   .subquery(f"noc_hit_{len(self._nocs)}"))
            self._nocs[key] = hit
            self.joins.append((hit, hit.c.subscriber_id == PI.subscriber_id))
        return self._nocs[key].c.subscriber_id.is_not(None)

    def points(self, province: str):
        """The profile's points in ``province`` (NULL: none)."""
        held = aliased(ProfilePoints, name="points_held")
        self.joins.append((held, and_(held.subscriber_id == PI.subscriber_id, held.province == province)))
        return held.points

    def score_band(self, draw: Draw, needs: Needs) -> ColumnElement:
        """The profile's score inside the draw's range, or under its cut-off by at most the
        profile's near-miss margin (``scraper.sources.checks.Checks.score``)."""
        lo, hi = draw.score_min, draw.score_max
        if needs.score is None or (lo is None and hi is None):
            return true()
        score = PI.crs if needs.score == "crs" else self.points(needs.score)
        return and_(score.is_not(None), *([score + PI.margin >= lo] if lo is not None else []),
                    *([score <= hi] if hi is not None else []))

    def may_qualify(self, draw: Draw, needs: Needs | None) -> ColumnElement:
        """Eligible, or a near miss, is possible under the rules' stated conditions."""
        if needs is None:
            return PI.wants_eligible
        if needs.impossible:
            return false()
        terms = [PI.wants_eligible, self.score_band(draw, needs)]
        if needs.programs is not None:
            terms.append(or_(*(PI.programs.contains(f",{p},", autoescape=True) for p in sorted(needs.programs))))
        if needs.nclc:
            terms.append(func.coalesce(PI.nclc, 0) >= needs.nclc)
        if needs.clb:
            terms.append(func.coalesce(PI.clb, 0) >= needs.clb)
        if needs.occupations is not None:
            terms.append(self.has_noc(needs.occupations))
        if needs.created is not None:
            which, first, last = needs.created
            column = PI.ee_created if which == "ee" else PI.eoi_created
            terms += [column.is_not(None), *([column >= first] if first else []),
                      *([column <= last] if last else [])]
        return and_(*terms)


def candidates(draw: Draw, facts) -> select:
    """SELECT (subscriber_id, match) of the candidate profiles for ``draw``
    (``facts``: its ``notifier.match.DrawFacts``)."""
    source = registry.get(draw.source)
    query = _Query()
    wanted = [PI.wants_all]
    occupations = {*facts.targeted, *facts.on_list, *facts.stream_nocs}
    if occupations:
        wanted.append(and_(PI.wants_targeted, query.has_noc(occupations)))
    wanted.append(query.may_qualify(draw, source.needs(draw, facts)))
    where = [PI.active.is_(True), _listed(PI.sources, draw.source), or_(*wanted)]
    if source.province:
        where.append(_listed(PI.provinces, source.province))
    statement = select(PI.subscriber_id, PI.match).select_from(PI)
    for table, on in query.joins:
        statement = statement.outerjoin(table, on)
    return statement.where(*where).order_by(PI.subscriber_id)
