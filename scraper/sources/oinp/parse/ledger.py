"""Ontario's two draw ledgers -> draws.

``ontario-immigrant-nominee-program-oinp-invitations-apply`` (EOI streams, ITAs) and
``oinp-express-entry-notifications-interest`` (Express Entry streams, NOIs) hold one
table per stream per year: date issued / number / profiles created / score range /
notes. Each row is one draw, keyed exactly as the updates parser keys it
(:func:`scraper.sources.oinp.parse.keys.assign_keys`), so ``merge_oinp`` (and the store, which
never overwrites a value with a null) folds both pages' facts into one draw.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from scraper.parse import html
from scraper.parse import dates as dt, numbers as nm, text as tx
from scraper.sources.oinp.parse.keys import assign_keys
from scraper.sources.oinp.parse.page import SOURCE, content_root, naming_page, page_tree
from scraper.records import DrawRecord, ParseError, ParseResult
from scraper.sources.oinp import streams as reg

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


@dataclass(frozen=True)
class _Table:
    """A table with a "Date issued" column, and the stream and year its headings give it."""
    year: int | None
    stream: reg.Stream | None
    stream_name: str            # the heading as published ("" when none came before)
    header: list[str | None]    # each column's meaning (see _column)
    rows: list                  # its rows after the header


def _tables(root) -> Iterator[_Table]:
    """The draw tables in page order: an ``<h2>`` gives the year, an ``<h3>``/``<h4>``
    (or an ``<h2>`` naming one) the stream of the tables after it."""
    year: int | None = None
    stream: reg.Stream | None = None
    stream_name = ""
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
        if rows:
            header = [_column(h) for h in _cells(rows[0])]
            if "date" in header:
                yield _Table(year, stream, stream_name, header, rows[1:])


def _day(date_text: str, year: int | None, extra: dict):
    """(day, round time in UTC) of a "Date issued" cell, None without a date; a range of
    days is keyed by its first."""
    dates = dt.find_dates(date_text)
    if not dates:
        return None
    day = dates[0].to_date(year)
    at = dt.time_after(date_text, dates[0].end)
    if len({(d.month, d.day) for d in dates}) > 1 or _DAY_RANGE.search(date_text):
        extra["date_range"] = True      # "August 11 - 16, 2023": keyed by its first day
    return day, (dt.eastern_to_utc(day, at) if day and at else None)


def _values(cols: dict[str, str], year: int | None, extra: dict, flags: list[str]):
    """(count, score range, window) of a row. A cell that says something but not a value:
    kept verbatim and flagged, never read as a part of itself ("4,19") or as nothing at all."""
    score = nm.parse_score_cell(cols["score"]) if cols.get("score") else None
    if cols.get("score"):
        extra["score_text"] = cols["score"]
    window = dt.window_from_range(cols["window"], year) if cols.get("window") else None
    if window:
        extra["window_text"] = window.text
    count = nm.parse_count(cols["number"]) if cols.get("number") else None
    if cols.get("number", "").rstrip().endswith("*"):
        flags.append("footnote")
    raw = {}
    for column, value in (("number", count), ("score", score), ("window", window)):
        cell = cols.get(column, "")
        if value is None and not nm.is_placeholder(cell):
            raw[column] = cell
            flags.append(f"unreadable_{column}")
    if raw:
        extra["raw"] = raw
    return count, score, window


def _targets(notes: str, extra: dict) -> reg.Region | None:
    """The groups and region the notes name (before any "please refer ..."), into ``extra``."""
    about = _unreferred(notes)
    groups = [g.slug for g in reg.find_target_groups(about)]
    region = reg.find_region(about)
    extra["targets"] = groups + ([region.slug] if region else [])
    extra["target"] = region.slug if region else (groups[0] if groups else None)
    return region


def _row_record(cols: dict[str, str], table: _Table, url: str, row_text: str) -> DrawRecord | None:
    """One row's draw; None for a row without a date."""
    date_text = cols.get("date", "")
    extra: dict = {"page": "ledger", "date_text": date_text}
    when = _day(date_text, table.year, extra)
    if when is None:
        return None
    day, round_time = when
    flags: list[str] = []
    count, score, window = _values(cols, day.year if day else table.year, extra, flags)
    notes = cols.get("notes", "")
    if notes:
        extra["notes"] = notes
    region = _targets(notes, extra)
    stream = table.stream
    if stream is None:
        flags.append("unknown_stream")
        extra["stream_name"] = table.stream_name
    elif stream.closed and day and day >= stream.closed:
        flags.append("stream_closed")
    name = stream.name if stream else table.stream_name
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
    )


def parse_oinp_ledger(body: bytes, url: str) -> ParseResult:
    """One ledger page -> one draw per table row."""
    with naming_page(url):
        return _parse_ledger(body, url)


def _parse_ledger(body: bytes, url: str) -> ParseResult:
    root = content_root(page_tree(body, url))
    result = ParseResult()
    tables = 0
    for table in _tables(root):
        tables += 1
        named = table.stream.slug if table.stream else table.stream_name
        if table.stream is None:
            if not table.stream_name:
                result.problems.append(f"table without a stream heading skipped (year {table.year})")
                continue
            result.problems.append(f"unknown stream {table.stream_name!r} (year {table.year}): rows kept, flagged")
        for row in table.rows:
            cells = _cells(row)
            if not any(cells):
                continue
            cols = {name: value for name, value in zip(table.header, cells) if name}
            row_text = " | ".join(cells)
            rec = _row_record(cols, table, url, row_text)
            if rec is None:
                result.problems.append(f"{named} {table.year}: row without a date: {row_text!r}")
            else:
                result.draws.append(rec)
    if not tables:
        raise ParseError("no draw tables (Date issued / Number / Score range) found: not an OINP ledger page", url)
    assign_keys(result.draws)
    log.debug("%s: %d draws from %d tables", url, len(result.draws), tables)
    return result
