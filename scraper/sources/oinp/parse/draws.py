"""A post's settled selections -> draw records: the day the invitations went out, the
record of each selection, and "will issue" announcements folded into their results."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta

from scraper.parse import dates as dt, nocs as nc
from scraper.sources.oinp.parse.entries import Entry
from scraper.sources.oinp.parse.page import SOURCE
from scraper.sources.oinp.parse.selection import Sel, tag
from scraper.records import DrawRecord

_ROUND_DAY = re.compile(r"results of (yesterday|today)['’]s round", re.IGNORECASE)


def _round_day(text: str, posted: date | None) -> date | None:
    """"the results of yesterday's round" posted on D: D's day before (today's: D)."""
    m = _ROUND_DAY.search(text) if "results of" in text.lower() else None
    if m and posted:
        return posted - timedelta(days=1) if m.group(1).lower() == "yesterday" else posted
    return None


def draw_date(entry: Entry, issuance: list[str], year: int | None) -> date | None:
    """The day the invitations went out: "On April 30, 2026, we issued ...", else
    "the results of yesterday's round" (the post's day before), else the post's day."""
    posted = entry.date
    y = posted.year if posted else year
    for s in issuance:
        for dm in dt.find_dates(s):
            d = dm.to_date(y)
            if d and (posted is None or posted - timedelta(days=120) <= d <= posted + timedelta(days=1)):
                return d
        if (d := _round_day(s, posted)) is not None:
            return d
    for b in entry.blocks:
        if (d := _round_day(b.text, posted)) is not None:
            return d
    return posted


def record(sel: Sel, entry: Entry, day: date | None, url: str, total: int | None) -> DrawRecord:
    stream = sel.stream
    groups, region = tag(sel)
    targets = groups + ([region.slug] if region else [])
    primary = region.slug if region else (groups[0] if groups else None)
    flags: list[str] = []
    extra: dict = {"page": "updates", "targets": targets, "target": primary}
    if stream is None:
        flags.append("unknown_stream")
        extra["stream_name"] = sel.stream_name
    elif day and not stream.is_open(day) and stream.closed and day >= stream.closed:
        flags.append("stream_closed")
    if sel.announced:
        flags.append("announced")
    if day and entry.date and day != entry.date:
        extra["posted"] = entry.date.isoformat()
    if sel.score:
        extra["score_text"] = sel.score.text
    if sel.window:
        extra["window_text"] = sel.window.text
    if total is not None and sel.count is None:
        extra["announced_total"] = total
    version = nc.noc_version(sel.nocs)
    if sel.nocs and version is None:
        flags.append("mixed_noc_versions")
    return DrawRecord(
        source=SOURCE, key="", date=day, title=entry.title,
        program=stream.slug if stream else "unknown",
        invitations=sel.count,
        score_min=sel.score.low if sel.score else None,
        score_max=sel.score.high if sel.score else None,
        score_system=stream.score_system if stream else None,
        selection_kind=stream.selection_kind if stream else None,
        window_start=sel.window.start if sel.window else None,
        window_end=sel.window.end if sel.window else None,
        region=region.name if region else None,
        noc_codes=list(sel.nocs), noc_version=version,
        announcement=entry.anchor,
        url=f"{url}#{entry.anchor}" if entry.anchor else url,
        text=entry.text, extra=extra, flags=flags,
    )



# Facts an announcement can give its result, and whether it has each.
_FACTS = {"any": lambda a: True, "nocs": lambda a: bool(a.noc_codes),
          "start": lambda a: a.window_start is not None, "end": lambda a: a.window_end is not None}


def fold_announced(out: list[DrawRecord]) -> list[DrawRecord]:
    """A "will issue" post next to its "issued" post is one draw: the announcement's NOC
    list goes to the result. An announcement alone stays a draw, flagged.

    An announcement targeting T folds into the results targeting T or nothing; one
    targeting nothing folds into every result. Each result takes, per fact, the first
    announcement (in page order) that matches it and has the fact: found through the
    first such announcement per target, so the work is linear in the draws."""
    by: dict[tuple, list[DrawRecord]] = defaultdict(list)
    for r in out:
        by[(r.date, r.program, r.extra.get("stream_name"))].append(r)
    drop: set[int] = set()
    for rs in by.values():
        drop |= _fold_day(rs)
    return [r for r in out if id(r) not in drop]


def _fold_day(rs: list[DrawRecord]) -> set[int]:
    """Fold the announcements of one day and stream into its results; the ids of the
    announcements that folded."""
    done = [r for r in rs if "announced" not in r.flags]
    announced = [r for r in rs if "announced" in r.flags]
    if not done or not announced:
        return set()
    first: dict[str, dict] = {f: {} for f in _FACTS}      # fact -> target -> first index
    for i, a in enumerate(announced):
        for f, has in _FACTS.items():
            if has(a):
                first[f].setdefault(a.extra["target"], i)
    for r in done:
        _complete(r, lambda fact: _source(r, first[fact], announced))
    done_targets = {r.extra["target"] for r in done}
    return {id(a) for a in announced
            if a.extra["target"] is None or a.extra["target"] in done_targets or None in done_targets}


def _source(r: DrawRecord, found: dict, announced: list[DrawRecord]) -> DrawRecord | None:
    """The first announcement matching ``r`` among ``found`` (target -> first index)."""
    if r.extra["target"] is None:       # matched by every announcement
        i = min(found.values(), default=None)
    else:
        i = min((found[t] for t in (r.extra["target"], None) if t in found), default=None)
    return announced[i] if i is not None else None


def _complete(r: DrawRecord, source) -> None:
    """``r`` takes the facts it lacks from the first matching announcement having each."""
    a = source("any")
    if a is None:
        return
    if not r.noc_codes and (n := source("nocs")) is not None:
        r.noc_codes, r.noc_version = list(n.noc_codes), n.noc_version
    if r.window_start is None and (w := source("start")) is not None:
        r.window_start = w.window_start
    if r.window_end is None and (w := source("end")) is not None:
        r.window_end = w.window_end
    r.extra.setdefault("announced_in", a.announcement or a.title)
