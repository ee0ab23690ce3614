"""alberta.ca "AAIP processing information" -> draws.

The page holds ten tables (allocations, nominations, the EOI pool...); the draws are the
one headed "Draw date / Worker stream, pathway, initiative or other focus and selection
parameters / Minimum score of invited candidates / Number of invitations" (Table 10),
newest first, this year only. A count may be "Less than 10": kept as that bound, never
as 10. Stream labels are typed by hand and drift ("(Construction)", "(Construction and
skilled trade)"): each is kept as published and mapped to a stream of the registry.
"""
from __future__ import annotations

import logging

from scraper.parse import dates as dt, numbers as nm, tables
from scraper.parse.blocked import check_blocked
from scraper.parse.html import parse_html
from scraper.parse.keys import number_repeats
from scraper.records import DrawRecord, ParseError, ParseResult
from scraper.sources.ab_aaip.streams import find_stream

log = logging.getLogger(__name__)

SOURCE = "ab_aaip"
EOI = "ab_eoi"   # the Alberta worker expression-of-interest score


def _columns(header: list[str]) -> dict[str, int] | None:
    """Column -> index when ``header`` is the draw table's, else None."""
    cols: dict[str, int] = {}
    for i, h in enumerate(t.lower() for t in header):
        if h.startswith("draw date"):
            cols["date"] = i
        elif "stream" in h or "pathway" in h:
            cols["stream"] = i
        elif "minimum score" in h:
            cols["score"] = i
        elif "number of invitations" in h:
            cols["count"] = i
    return cols if len(cols) == 4 else None


def _record(cells: list[str], cols: dict[str, int], url: str, result: ParseResult) -> DrawRecord | None:
    date_text, label, score_text, count_text = (cells[cols[k]] for k in ("date", "stream", "score", "count"))
    row_text = " | ".join(cells)
    day = dt.parse_date(date_text)
    if day is None:
        result.problems.append(f"row without a readable date skipped: {row_text!r}")
        return None
    extra: dict = {"stream": label}
    flags: list[str] = []
    invitations = tables.count_cell(count_text, extra, flags)
    score = nm.parse_score_cell(score_text)
    if score is None and not nm.is_placeholder(score_text):
        extra.setdefault("raw", {})["score"] = score_text
        flags.append("unreadable_score")
    stream = find_stream(label)
    if stream is None:
        flags.append("unknown_stream")
        result.problems.append(f"{day}: unknown stream {label!r}: kept verbatim, flagged")
    elif stream.sector:
        extra["sector"] = stream.sector
    program = stream.slug if stream else "unknown"
    low, high = score if score else (None, None)
    return DrawRecord(
        source=SOURCE, key=f"{day.isoformat()}/{program}", date=day, title=label, program=program,
        invitations=invitations, score_min=low, score_max=high if high != low else None,
        score_system=EOI if low is not None else None, selection_kind="ita",
        url=url, text=row_text, extra=extra, flags=flags)


def parse_ab_processing(body: bytes, url: str) -> ParseResult:
    """The processing-information page -> one draw per row of its draw table."""
    check_blocked(body, url)
    root = parse_html(body, url)
    result = ParseResult()
    found = False
    records: list[DrawRecord] = []
    for cols, rows in tables.header_tables(root, _columns):
        found = True
        records += filter(None, (_record(cells, cols, url, result) for cells in rows))
    if not found:
        raise ParseError("no draw table (Draw date / Worker stream ... / Minimum score of invited candidates / "
                         "Number of invitations): not the AAIP processing information page", url)
    result.draws = number_repeats(records)
    result.problems += tables.kept_verbatim(result.draws)
    log.debug("%s: %d draws", url, len(result.draws))
    return result
