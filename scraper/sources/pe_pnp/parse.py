"""Prince Edward Island's Expression of Interest draws page read: one table, a row per
invitation date (M/D/YYYY), with the Business Work Permit Entrepreneur invitations and
their minimum points, the Labour & Express Entry invitations, the row's total and the
selection attributes (one cell spanning every row). The Total row is not a draw.

A row is up to two draws: the labour and Express Entry invitations (no score stated),
and the business invitations with their threshold in PEI points, when the row has any.
"""
from __future__ import annotations

import re
from datetime import date

from scraper.parse import html, tables
from scraper.parse.blocked import check_blocked
from scraper.parse.numbers import is_placeholder, parse_count
from scraper.parse.text import clean
from scraper.records import DrawRecord, ParseError, ParseResult

SOURCE = "pe_pnp"
SCORE_SYSTEM = "pei_points"
LABOUR, BUSINESS = "labour_express_entry", "business_work_permit_entrepreneur"
_TITLES = {LABOUR: "PEI Labour & Express Entry invitations",
           BUSINESS: "PEI Business Work Permit Entrepreneur invitations"}
_DATE = re.compile(r"^(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4})$")
# header words -> column name (the header cells break their words with <br>)
_COLUMNS = {"date": "invitation date", "business": "entrepreneur invitations", "threshold": "minimum point",
            "labour": "labour & express entry", "total": "invitation totals", "attributes": "selection attributes"}


def _columns(header: list[str]) -> dict[str, int] | None:
    low = [h.casefold() for h in header]
    found = {name: next((i for i, h in enumerate(low) if words in h), None) for name, words in _COLUMNS.items()}
    if found["date"] is None or found["labour"] is None:
        return None
    return {k: v for k, v in found.items() if v is not None}


def _day(text: str) -> date | None:
    m = _DATE.match(text)
    if not m:
        return None
    try:
        return date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    except ValueError:
        return None


def parse_pe_draws(body: bytes, url: str) -> ParseResult:
    check_blocked(body, url)
    root = html.parse_html(body, url)
    fields = root.xpath('//*[contains(concat(" ", normalize-space(@class), " "), " field--name-body ")]')
    content = fields[0] if fields else root
    found = list(tables.header_tables(content, _columns))
    if not found:
        raise ParseError("no draws table (a header with \"Invitation Date\" and \"Labour & Express Entry\")", url)
    published = re.search(r"Published date:\s*([A-Z][a-z]+ [0-9]{1,2}, [0-9]{4})", clean(html.text(root)))
    result = ParseResult()
    for cols, rows in found:
        for cells in rows:
            get = {name: cells[i] for name, i in cols.items()}
            if get["date"].casefold().startswith("total"):
                continue      # the year's sums, not a draw
            result.draws.extend(_row(get, url, result.problems))
    if published:
        for d in result.draws:
            d.extra["published"] = published.group(1)
    result.problems += tables.kept_verbatim(result.draws)
    return result


def _row(get: dict[str, str], url: str, problems: list[str]) -> list[DrawRecord]:
    day = _day(get["date"])
    stem = day.isoformat() if day else clean(get["date"]).replace("/", "-")
    attributes = get.get("attributes", "")
    out = []
    labour = DrawRecord(SOURCE, f"{stem}/labour", day, _TITLES[LABOUR], program=LABOUR, url=url, text=" | ".join(
        v for v in get.values() if v), extra={"selection_attributes": attributes} if attributes else {})
    labour.invitations = tables.count_cell(get["labour"], labour.extra, labour.flags)
    out.append(labour)
    business_text, threshold_text = get.get("business", ""), get.get("threshold", "")
    business_count, threshold = parse_count(business_text), parse_count(threshold_text)
    # A business draw that day: invitations other than "0" / "-", or a threshold stated.
    if (business_count or 0) > 0 or (business_count is None and not is_placeholder(business_text)) \
            or not is_placeholder(threshold_text):
        business = DrawRecord(SOURCE, f"{stem}/business", day, _TITLES[BUSINESS], program=BUSINESS, url=url,
                              text=labour.text, extra={"selection_attributes": attributes} if attributes else {})
        business.invitations = tables.count_cell(business_text, business.extra, business.flags)
        if threshold is not None:
            business.score_min, business.score_system = threshold, SCORE_SYSTEM
        elif not is_placeholder(threshold_text):
            business.extra.setdefault("raw", {})["score"] = threshold_text
            business.flags.append("unreadable_score")
        out.append(business)
    else:
        # No business invitations that day: said on the labour draw, not made a draw.
        labour.extra["business_invitations"] = business_count
    total = parse_count(get.get("total", ""))
    if total is not None:
        labour.extra["row_total"] = total
        counted = sum(d.invitations or 0 for d in out)
        if counted != total:
            for d in out:
                d.flags.append("total_disagrees")
            problems.append(f"{stem}: invitations add up to {counted}, the row's total says {total}")
    if day is None:
        for d in out:
            d.flags.append("unreadable_date")
            d.extra.setdefault("raw", {})["date"] = get["date"]
        problems.append(f"{stem}: date {get['date']!r} unreadable")
    for d in out:
        d.flags.sort()
    return out
