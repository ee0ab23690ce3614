"""What one crawl would do to the stored draws, worked out before anything is written:
new, changed, quietly re-worded, unchanged, lost, renumbered (store.ingest decides from
it whether to store the crawl or hold it)."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable

from sqlmodel import Session, func, select

from scraper.records import DrawRecord, ParseResult
from store.facts import content_hash, fact_changes, keep_vanished, record_facts, rewrites, signature, stored_facts
from store.models import Draw, PageKeys, PageState

# Where a page's draw keys were not recorded yet (a database from before PageKeys), a page
# that used to yield this many records and now yields under half stands for lost draws.
SHRINK_MIN_PREVIOUS = 4
SHRINK_RATIO = 0.5
EXAMPLES = 5  # draw keys named in a held crawl's summary

log = logging.getLogger(__name__)


@dataclass
class PageFetch:
    """One fetched page of a crawl: its validators, how many records it yielded, and
    which draw keys (None where the caller does not say: only the count is checked)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    n_records: int = 0
    keys: tuple[str, ...] | None = None
    # A page showing only its latest draws (Source.windowed): keys given for it are kept
    # (for ``began``'s judgement), never compared; only its count is.
    windowed: bool = False
    # A page that turns over by year (Source.yearly): the earliest year of its draws when it
    # yields some and all are dated (``first_year``); None: it is judged as any page.
    began: int | None = None


def first_year(dates: Iterable[date | None]) -> int | None:
    """The earliest calendar year of a page's draws, if it has draws and all are dated."""
    dates = list(dates)
    return min(d.year for d in dates) if dates and None not in dates else None


# Merges records of one draw read from different pages (Ontario's updates page and
# ledgers each know part of a draw): applied to the stored draw and the new record, so
# a crawl that read only some of the pages completes a draw instead of overwriting it.
Combine = Callable[[list[DrawRecord]], list[DrawRecord]]


def as_record(draw: Draw) -> DrawRecord:
    """A stored draw back in the parsers' shape, for a source's ``combine``."""
    return DrawRecord(source=draw.source, key=draw.key, **stored_facts(draw))


@dataclass
class Plan:
    """What one crawl would do, worked out before anything is written."""

    new: list[tuple[DrawRecord, dict[str, Any], str]] = field(default_factory=list)
    changed: list[tuple[Draw, dict[str, Any], str, dict[str, list[Any]]]] = field(default_factory=list)
    quiet: list[tuple[Draw, dict[str, Any], str]] = field(default_factory=list)  # verbatim parts only
    unchanged_ids: list[int] = field(default_factory=list)
    # the crawl's values for the stored keys it gives with another digest, nothing filled in
    offered: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept: list[tuple[str, str]] = field(default_factory=list)
    newly_kept: int = 0
    rewritten: set[str] = field(default_factory=set)  # stored keys whose stated facts would change
    renumbered: set[str] = field(default_factory=set)  # stored keys whose facts would move to another key
    lost: dict[str, list[str]] = field(default_factory=dict)  # page URL -> keys it no longer yields
    shrunk: dict[str, tuple[int, int]] = field(default_factory=dict)  # page URL -> (before, now), keys unknown

    @property
    def lost_keys(self) -> set[str]:
        return {k for keys in self.lost.values() for k in keys}

    @property
    def rewritten_or_renumbered(self) -> set[str]:
        """Stored draws the crawl would rewrite (the lost ones are counted as lost)."""
        return (self.rewritten | self.renumbered) - self.lost_keys

    @property
    def n_lost(self) -> int:
        return len(self.lost_keys) + sum(before - now for before, now in self.shrunk.values())

    def summary(self) -> str:
        lost = sorted(self.lost_keys, key=_natural)
        parts = []
        changed = self.rewritten_or_renumbered
        if changed:
            parts.append(f"{len(changed)} stored draws would change (e.g. {', '.join(_examples(changed))})")
        if lost:
            parts.append(f"{len(lost)} would be lost (e.g. {', '.join(lost[:EXAMPLES])})")
        for url, (before, now) in self.shrunk.items():
            parts.append(f"{url} yielded {now} records where it held {before} last time")
        if self.renumbered:
            parts.append(f"{len(self.renumbered)} look renumbered (their facts now under another key)")
        if self.new:
            parts.append(f"{len(self.new)} new")
        return ", ".join(parts)


def _natural(key: str) -> tuple:
    """Round 92 before 411, "91a" beside 91; Ontario's date keys by date."""
    lead = re.match(r"\d+", key)
    return (int(lead.group()) if lead else -1, key)


def _examples(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=_natural)[:EXAMPLES]


def plan_crawl(session: Session, source: str, result: ParseResult, pages: list[PageFetch],
               combine: Combine | None) -> Plan:
    plan = Plan()
    # Only keys and hashes are read up front: a re-crawl of an unchanged source then
    # never loads a full row.
    stored = {key: (draw_id, digest) for key, draw_id, digest in session.exec(
        select(Draw.key, Draw.id, Draw.content_hash).where(Draw.source == source))}
    differing: list[tuple[DrawRecord, int, str]] = []
    for record in result.draws:
        values = record_facts(record)
        digest = content_hash(values)
        if record.key not in stored:
            plan.new.append((record, values, digest))
            continue
        draw_id, stored_digest = stored[record.key]
        if stored_digest == digest:
            plan.unchanged_ids.append(draw_id)
        else:
            differing.append((record, draw_id, stored_digest))
    rows = {d.id: d for d in session.exec(select(Draw).where(Draw.id.in_([i for _, i, _ in differing])))} \
        if differing else {}
    for record, draw_id, _ in differing:
        old = rows[draw_id]
        plan.offered[record.key] = record_facts(combine([as_record(old), record])[0] if combine else record)
    _find_lost(session, source, pages, plan)
    _find_renumbered(session, source, plan, [rows[i] for _, i, _ in differing])
    for record, draw_id, stored_digest in differing:
        _classify(plan, rows[draw_id], plan.offered[record.key], stored_digest)
    return plan


def _classify(plan: Plan, old: Draw, values: dict[str, Any], stored_digest: str) -> None:
    """A stored draw the crawl gives with another digest: unchanged, quiet, or changed."""
    before = stored_facts(old)
    # Where the key now holds another draw (renumbered), what that draw lacks is not the
    # stored draw's to fill in.
    if old.key not in plan.renumbered:
        values, kept = keep_vanished(before, values)
        plan.kept += [(old.key, path) for path in kept]
        plan.newly_kept += sum(f"vanished_{path}" not in (old.flags or []) for path in kept)
    digest = content_hash(values)
    if digest == stored_digest:
        plan.unchanged_ids.append(old.id)
        return
    changes = fact_changes(before, values)
    if not changes:
        # Only the wording moved (or the digest was computed the old way): stored
        # quietly, no revision, no alert.
        plan.quiet.append((old, values, digest))
        return
    plan.changed.append((old, values, digest, changes))
    if rewrites(before, values, changes):
        plan.rewritten.add(old.key)


def _find_lost(session: Session, source: str, pages: list[PageFetch], plan: Plan) -> None:
    for page in pages:
        before = session.get(PageKeys, page.url)
        if before is not None and _turned_over(session, source, page, before.keys):
            # January on a page of the current year's draws: last year's left it, whatever
            # its count. A truncated or misread page still shows some of them (or none).
            log.info("%s: %s began %d", source, page.url, page.began)
            continue
        if before is not None and page.keys is not None and not page.windowed:
            lost = sorted(set(before.keys) - set(page.keys), key=_natural)
            if lost:
                plan.lost[page.url] = lost
            continue
        state = session.get(PageState, page.url)
        if state and state.n_records >= SHRINK_MIN_PREVIOUS and page.n_records < state.n_records * SHRINK_RATIO:
            plan.shrunk[page.url] = (state.n_records, page.n_records)


def _turned_over(session: Session, source: str, page: PageFetch, before: list[str]) -> bool:
    """Whether every draw ``page`` yields is of a later year than all it yielded last time."""
    if page.began is None or not before:
        return False
    # One query: the latest of the previous draws' dates, and whether each of them has one.
    last, n_dated, n = session.exec(select(func.max(Draw.date), func.count(Draw.date), func.count()).where(
        Draw.source == source, Draw.key.in_(before))).one()
    return last is not None and n_dated == n == len(set(before)) and page.began > last.year


def _find_renumbered(session: Session, source: str, plan: Plan, differing: list[Draw]) -> None:
    """Stored draws (ones the crawl gives differently, and lost ones: a renumbered draw's
    key now holds other facts or nothing) whose facts the crawl gives under another key."""
    lost = plan.lost_keys
    if not (plan.new or differing) or not (differing or lost):
        return
    arriving: dict[str, set[str]] = {}
    for record, values, _ in plan.new:
        arriving.setdefault(signature(values), set()).add(record.key)
    for key, values in plan.offered.items():
        arriving.setdefault(signature(values), set()).add(key)
    leaving = list(differing)
    if lost:
        leaving += session.exec(select(Draw).where(Draw.source == source, Draw.key.in_(sorted(lost)))).all()
    for old in leaving:
        if arriving.get(signature(stored_facts(old)), set()) - {old.key}:
            plan.renumbered.add(old.key)
