"""gov.nl.ca "Invitations to Apply (ITA) Updates" -> draws.

One table, oldest first: Date Issued / Number of ITAs Issued / Notes. A row is one batch
of invitations, with no score and no occupations; its notes split the count between the
province's own program and the Atlantic Immigration Program ("NLPNP – 206, AIP – 50"),
kept as that split and checked against the total.
"""
from __future__ import annotations

import logging
import re

from scraper.parse import dates as dt, numbers as nm, tables
from scraper.parse.blocked import check_blocked
from scraper.parse.html import parse_html
from scraper.parse.keys import number_repeats
from scraper.records import DrawRecord, ParseError, ParseResult

log = logging.getLogger(__name__)

SOURCE = "nl_pnp"
PROGRAM = "eoi"   # one pool: a batch invites to the NLPNP and the AIP alike
# "NLPNP – 206", "AIP - 50": a program's share of the batch.
_SHARE = re.compile(r"\b([A-Z]{2,10})\s*[-–—:]\s*" + nm.INT)


def _columns(header: list[str]) -> dict[str, int] | None:
    cols: dict[str, int] = {}
    for i, h in enumerate(t.lower() for t in header):
        if h.startswith("date"):
            cols["date"] = i
        elif "number of" in h:
            cols["count"] = i
        elif h.startswith("note"):
            cols["notes"] = i
    return cols if {"date", "count"} <= cols.keys() else None


def _record(cells: list[str], cols: dict[str, int], url: str, result: ParseResult) -> DrawRecord | None:
    row_text = " | ".join(cells)
    day = dt.parse_date(cells[cols["date"]])
    if day is None:
        result.problems.append(f"row without a readable date skipped: {row_text!r}")
        return None
    count_text = cells[cols["count"]]
    notes = cells[cols["notes"]] if "notes" in cols else ""
    extra: dict = {}
    flags: list[str] = []
    invitations = tables.count_cell(count_text, extra, flags)
    if notes:
        extra["notes"] = notes
        split = {m.group(1): nm.to_int(m.group(2)) for m in _SHARE.finditer(notes)}
        if split:
            extra["split"] = split
            if invitations is not None and sum(split.values()) != invitations:
                flags.append("split_mismatch")
                result.problems.append(f"{day}: the notes' split {split} does not add up to {invitations}")
    title = f"Invitations to apply: {notes}" if notes else "Invitations to apply"
    return DrawRecord(source=SOURCE, key=day.isoformat(), date=day, title=title, program=PROGRAM,
                      invitations=invitations, selection_kind="ita", url=url, text=row_text,
                      extra=extra, flags=flags)


def parse_nl_updates(body: bytes, url: str) -> ParseResult:
    """The ITA updates page -> one draw per batch (row)."""
    check_blocked(body, url)
    root = parse_html(body, url)
    result = ParseResult()
    records: list[DrawRecord] = []
    found = False
    for cols, rows in tables.header_tables(root, _columns):
        found = True
        records += filter(None, (_record(cells, cols, url, result) for cells in rows))
    if not found:
        raise ParseError("no ITA table (Date Issued / Number of ITAs Issued): not the NL ITA updates page", url)
    result.draws = number_repeats(records)
    result.problems += tables.kept_verbatim(result.draws)
    log.debug("%s: %d batches", url, len(result.draws))
    return result
