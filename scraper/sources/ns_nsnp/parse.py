"""liveinnovascotia.com "EOI Selection" -> monthly totals.

Nova Scotia publishes only how many candidates it selected from its expression-of-interest
pool each month: no dates of draws, streams, scores or occupations. Each month with a
number is stored as one record that says it is a month's total (``extra["period"]``,
flag ``monthly_total``), dated the first of its month, with no score: never a draw with
facts the page does not give. A month still "TBD" is not a total yet and yields nothing.
The markdown copy turns the first month's row into the table's header: every row is read.
"""
from __future__ import annotations

import logging
import re
from datetime import date

from scraper.parse import dates as dt, numbers as nm, tables
from scraper.parse.blocked import check_blocked
from scraper.parse.html import parse_html
from scraper.parse.keys import number_repeats
from scraper.records import DrawRecord, ParseError, ParseResult

log = logging.getLogger(__name__)

SOURCE = "ns_nsnp"
PROGRAM = "eoi-monthly-total"
_MONTH = re.compile(r"^(?P<month>[A-Za-z]+)\.?\s+(?P<year>(?:19|20)[0-9]{2})$")


def _month(text: str) -> date | None:
    """The first day of the month a cell names ("January 2026"), else None."""
    m = _MONTH.match(text)
    month = dt.MONTHS.get(m.group("month").lower()) if m else None
    return date(int(m.group("year")), month, 1) if month else None


def parse_ns_selection(body: bytes, url: str) -> ParseResult:
    """The EOI selection page -> one record per month with a published total."""
    check_blocked(body, url)
    root = parse_html(body, url)
    result = ParseResult()
    records: list[DrawRecord] = []
    months = 0
    for table in root.iter("table"):
        for row in tables.grid(table):
            cells = [tables.cell_text(c) for c in row]
            first = _month(cells[0]) if cells else None
            if first is None or len(cells) < 2:
                continue
            months += 1
            extra: dict = {"period": "month", "month": first.strftime("%Y-%m")}
            flags = ["monthly_total"]
            count = tables.count_cell(cells[1], extra, flags)
            if count is None and nm.is_placeholder(cells[1]):
                continue            # "TBD": the month's total is not out yet
            records.append(DrawRecord(
                source=SOURCE, key=extra["month"], date=first, title=f"EOI selections in {cells[0]} (monthly total)",
                program=PROGRAM, invitations=count, url=url, text=" | ".join(cells), extra=extra, flags=flags))
    if not months:
        raise ParseError("no table of months (January 2026 | 363): not the Nova Scotia EOI selection page", url)
    result.draws = number_repeats(records)
    result.problems += tables.kept_verbatim(result.draws)
    log.debug("%s: %d monthly totals", url, len(result.draws))
    return result
