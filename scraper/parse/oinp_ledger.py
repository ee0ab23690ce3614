"""Ontario's two draw ledgers -> draws, and the merge with the updates pages.

``ontario-immigrant-nominee-program-oinp-invitations-apply`` (EOI streams, ITAs) and
``oinp-express-entry-notifications-interest`` (Express Entry streams, NOIs) hold one
table per stream per year: date issued / number / profiles created / score range /
notes. Each row is one draw, keyed exactly as the updates parser keys it
(:func:`scraper.parse.oinp.assign_keys`), so :func:`merge_oinp` (and the store, which
never overwrites a value with a null) folds both pages' facts into one draw.
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import fields

from scraper.parse import html
from scraper.parse import text as tx
from scraper.parse.oinp import SOURCE, assign_keys, content_root, naming_page, page_tree
from scraper.records import DrawRecord, ParseError, ParseResult
from store.reference import oinp_streams as reg

log = logging.getLogger(__name__)

_YEAR = re.compile(r"\b((?:19|20)[0-9]{2})\b")
_DAY_RANGE = re.compile(r"[0-9]\s*[-–]\s*[0-9]")
_LEDGER_TAGS = ("h2", "h3", "h4", "table")
# Notes end with a pointer to another page ("Please refer to the OINP Tech Draw page"):
# only the part before it says what was targeted.
_REFER = re.compile(r"\bplease refer\b.*", re.IGNORECASE | re.DOTALL)


def _unreferred(text: str) -> str:
    return _REFER.sub("", text) if "please refer" in text.lower() else text


def _column(header: str) -> str | None:
    h = header.lower()
    if "date" in h and ("issued" in h or "nois" in h.replace(" ", "")):
        return "date"
    if "profile" in h:
        return "window"
    if "score" in h:
        return "score"
    if "number" in h:
        return "number"
    if "note" in h:
        return "notes"
    return None


def _own(el, tags: set[str]) -> list:
    """The ``tags`` elements inside ``el`` that belong to it, not to a table nested in it
    (so each cell and row is read once, however tables nest)."""
    found, stack = [], [c for c in reversed(el) if html.is_element(c)]
    while stack:
        e = stack.pop()
        if e.tag in tags:
            found.append(e)
        elif e.tag != "table":
            stack.extend(c for c in reversed(e) if html.is_element(c))
    return found


def _cells(row) -> list[str]:
    return [tx.clean(html.text(c, prune={"table"})) for c in _own(row, {"td", "th"})]


def _row_record(cols: dict[str, str], stream: reg.Stream | None, stream_name: str, url: str,
                year: int | None, row_text: str) -> tuple[DrawRecord | None, str | None]:
    date_text = cols.get("date", "")
    dates = tx.find_dates(date_text)
    if not dates:
        return None, f"row without a date: {row_text!r}"
    day = dates[0].to_date(year)
    round_time = None
    at = tx.time_after(date_text, dates[0].end)
    if day and at:
        round_time = tx.eastern_to_utc(day, at)
    flags: list[str] = []
    extra: dict = {"page": "ledger", "date_text": date_text}
    if len({(d.month, d.day) for d in dates}) > 1 or _DAY_RANGE.search(date_text):
        extra["date_range"] = True      # "August 11 - 16, 2023": keyed by its first day
    score = tx.parse_score_cell(cols["score"]) if cols.get("score") else None
    if cols.get("score"):
        extra["score_text"] = cols["score"]
    window = tx.window_from_range(cols["window"], day.year if day else year) if cols.get("window") else None
    if window:
        extra["window_text"] = window.text
    count = tx.parse_count(cols["number"]) if cols.get("number") else None
    if cols.get("number", "").rstrip().endswith("*"):
        flags.append("footnote")
    # A cell that says something but not a value: kept verbatim and flagged, never
    # read as a part of itself ("4,19") or as nothing at all.
    raw = {}
    for column, value in (("number", count), ("score", score), ("window", window)):
        cell = cols.get(column, "")
        if value is None and not tx.is_placeholder(cell):
            raw[column] = cell
            flags.append(f"unreadable_{column}")
    if raw:
        extra["raw"] = raw
    notes = cols.get("notes", "")
    if notes:
        extra["notes"] = notes
    about = _unreferred(notes)
    groups = [g.slug for g in reg.find_target_groups(about)]
    region = reg.find_region(about)
    extra["targets"] = groups + ([region.slug] if region else [])
    extra["target"] = region.slug if region else (groups[0] if groups else None)
    if stream is None:
        flags.append("unknown_stream")
        extra["stream_name"] = stream_name
    elif stream.closed and day and day >= stream.closed:
        flags.append("stream_closed")
    name = stream.name if stream else stream_name
    title = f"{name}: {notes}" if notes else name
    return DrawRecord(
        source=SOURCE, key="", date=day, title=_unreferred(title).strip(" .–-"),
        program=stream.slug if stream else "unknown", round_time=round_time, invitations=count,
        score_min=score[0] if score else None, score_max=score[1] if score else None,
        score_system=stream.score_system if stream else None,
        selection_kind=stream.selection_kind if stream else None,
        window_start=window.start if window else None, window_end=window.end if window else None,
        region=region.name if region else None,
        url=url, text=row_text, extra=extra, flags=flags,
    ), None


def parse_oinp_ledger(body: bytes, url: str) -> ParseResult:
    """One ledger page -> one draw per table row."""
    with naming_page(url):
        return _parse_ledger(body, url)


def _parse_ledger(body: bytes, url: str) -> ParseResult:
    root = content_root(page_tree(body, url))
    result = ParseResult()
    year: int | None = None
    stream: reg.Stream | None = None
    stream_name = ""
    tables = 0
    for el in root.iter(*_LEDGER_TAGS):
        if el.tag != "table":
            # A heading's own text: one nested in it is read when the loop reaches it.
            heading = tx.clean(html.text(el, prune=_LEDGER_TAGS))
            m = _YEAR.search(heading)
            if el.tag == "h2":
                year = int(m.group(1)) if m else year
                stream = None
            found = reg.find_stream(heading)
            if found is not None:
                stream, stream_name = found, heading
            elif el.tag != "h2":
                # Not a stream Ontario is known to have: kept verbatim if a table follows.
                stream, stream_name = None, heading
            continue
        rows = _own(el, {"tr"})
        if not rows:
            continue
        header = [_column(h) for h in _cells(rows[0])]
        if "date" not in header:
            continue
        tables += 1
        if stream is None:
            if not stream_name:
                result.problems.append(f"table without a stream heading skipped (year {year})")
                continue
            result.problems.append(f"unknown stream {stream_name!r} (year {year}): rows kept, flagged")
        for row in rows[1:]:
            cells = _cells(row)
            if not any(cells):
                continue
            cols = {name: value for name, value in zip(header, cells) if name}
            rec, problem = _row_record(cols, stream, stream_name, url, year, " | ".join(cells))
            if problem:
                result.problems.append(f"{stream.slug if stream else stream_name} {year}: {problem}")
            if rec:
                result.draws.append(rec)
    if not tables:
        raise ParseError("no draw tables (Date issued / Number / Score range) found: not an OINP ledger page", url)
    assign_keys(result.draws)
    log.debug("%s: %d draws from %d tables", url, len(result.draws), tables)
    return result


# --------------------------------------------------------------------------- merge

# Which page's value wins when both have one: the ledger for what it exists to record
# (per-stream counts, windows, score ranges, the time of the round), the updates page
# for everything else (title, text, anchor, NOC list, region). A record merged before
# ("ledger+updates", e.g. the stored row) ranks after a fresh page of either kind.
_LEDGER_FIRST = {"invitations", "window_start", "window_end", "score_min", "score_max", "round_time"}
_OWN = {"extra", "flags", "score_min", "score_max", "noc_version"}


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _pages(r: DrawRecord) -> set[str]:
    return set(str(r.extra.get("page", "")).split("+"))


def _rank(r: DrawRecord, kind: str) -> tuple:
    pages = _pages(r)
    first = 0 if pages == {kind} else 1 if kind in pages else 2
    return (first, r.url or "", r.title, r.text)


def merge_oinp(records: list[DrawRecord]) -> list[DrawRecord]:
    """One record per key: the updates page's facts completed by the ledgers' counts,
    windows and score ranges; non-empty values preferred; every page's URL kept in
    ``extra["sources"]``. The result does not depend on the order of ``records``, and
    merging a merged record with either page's record again changes nothing unless that
    page changed, so it also reconciles a stored draw with a new crawl."""
    by_key: dict[tuple[str, str], list[DrawRecord]] = defaultdict(list)
    for r in records:
        by_key[(r.source, r.key)].append(r)
    out = []
    for _, rs in sorted(by_key.items()):
        updates_first = sorted(rs, key=lambda r: _rank(r, "updates"))
        ledger_first = sorted(rs, key=lambda r: _rank(r, "ledger"))
        merged = {}
        for f in fields(DrawRecord):
            if f.name in _OWN:
                continue
            order = ledger_first if f.name in _LEDGER_FIRST else updates_first
            merged[f.name] = next((getattr(r, f.name) for r in order if not _empty(getattr(r, f.name))),
                                  getattr(order[0], f.name))
        # Both ends of a score range come from one page, never half from each.
        score_src = next((r for r in ledger_first if r.score_min is not None), ledger_first[0])
        merged["score_min"], merged["score_max"] = score_src.score_min, score_src.score_max
        merged["noc_version"] = next((r.noc_version for r in updates_first if r.noc_codes == merged["noc_codes"]), None)
        extra: dict = {}
        for r in reversed(updates_first):       # the best-ranked page's values last, so they win
            extra.update(r.extra)
        sources = {u for r in rs for u in r.extra.get("sources", [])} | {r.url for r in rs if r.url}
        extra["sources"] = sorted(sources)
        extra["page"] = "+".join(sorted({p for r in rs for p in _pages(r) if p}))
        merged["extra"] = extra
        merged["flags"] = sorted({f for r in rs for f in r.flags})
        out.append(DrawRecord(**merged))
    return out
