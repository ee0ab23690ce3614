"""New Brunswick's invitations page read: under "Latest invitations", one two-column
key/value table per selection, after its program's name in bold ("New Brunswick
Express Entry stream"). Keys: Date of draw (a day or a range), Cut-off date and time
("June 3, 2026 [11:59:00 pm (AST)]": the expressions of interest considered), Pathways,
Invitations issued (the Atlantic Immigration Program: Applications selected, no
pathway), Occupational categories selected (run together without separators). No scores.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from scraper.parse import html, tables
from scraper.parse.blocked import check_blocked
from scraper.parse.dates import date_range, find_dates
from scraper.parse.keys import number_repeats
from scraper.parse.text import clean, slug
from scraper.records import DrawRecord, ParseError, ParseResult

SOURCE = "nb_pnp"
# New Brunswick's wall clock; the page writes "(AST)" all year.
MONCTON = ZoneInfo("America/Moncton")
# The categories the page selects from, longest first where one begins another.
CATEGORIES = ("Education, social and community services", "Construction trades", "Health care", "Manufacturing",
              "Professional and IT", "Sales and services", "Transportation", "Other trades")
_CUTOFF_TIME = re.compile(r"(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?\s*(?P<ap>[ap])\.?\s*m\b",
                          re.IGNORECASE)
_KEYS = {"date of draw": "date", "cut-off date and time": "cutoff", "pathways": "pathway", "pathway": "pathway",
         "invitations issued": "invitations", "applications selected": "invitations",
         "occupational categories selected": "categories"}


def categories(text: str) -> tuple[list[str], str]:
    """The known categories in a run-together cell, in page order, and what is left over."""
    found, rest = [], clean(text)
    for name in CATEGORIES:
        if name.casefold() in rest.casefold():
            at = rest.casefold().index(name.casefold())
            found.append((at, rest[at:at + len(name)]))
            rest = rest[:at] + " " * len(name) + rest[at + len(name):]
    return [name for _, name in sorted(found)], clean(rest)


def cutoff(text: str) -> datetime | None:
    """"June 3, 2026 [11:59:00 pm (AST)]" as naive UTC; a day alone ends at 11:59 p.m."""
    dates = find_dates(text)
    day = dates[0].to_date() if dates else None
    if day is None:
        return None
    m = _CUTOFF_TIME.search(text)
    hour, minute, second = (23, 59, 0) if not m else (int(m.group("h")) % 12 + (12 if m.group("ap").lower() == "p"
                                                                               else 0),
                                                       int(m.group("m")), int(m.group("s") or 0))
    local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=MONCTON)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def parse_nb_invitations(body: bytes, url: str) -> ParseResult:
    check_blocked(body, url)
    root = html.parse_html(body, url)
    result = ParseResult()
    program = None
    for el in root.iter("p", "h2", "h3", "h4", "strong", "table"):
        if el.tag != "table":
            if el.tag == "h2" and "previous invitations" in clean(html.text(el)).casefold():
                break   # the links to older rounds' pages
            text = clean(html.text(el))
            if text and not any(a.tag == "table" for a in el.iterancestors()):
                program = text
            continue
        pairs = {}
        for row in tables.grid(el):
            cells = [tables.cell_text(c) for c in row]
            if len(cells) >= 2 and cells[0].casefold().rstrip(":") in _KEYS:
                pairs[_KEYS[cells[0].casefold().rstrip(":")]] = (cells[0], cells[1])
        if "date" in pairs and "invitations" in pairs:
            result.draws.append(_draw(program or "", pairs, url, result.problems))
    if not result.draws:
        raise ParseError("no invitation tables (\"Date of draw\" with \"Invitations issued\")", url)
    number_repeats(result.draws)
    return result


def _draw(program: str, pairs: dict[str, tuple[str, str]], url: str, problems: list[str]) -> DrawRecord:
    raw_date = pairs["date"][1]
    start, end = date_range(raw_date)
    day = start or end
    pathway = pairs.get("pathway", ("", ""))[1]
    key = "/".join(p for p in (day.isoformat() if day else slug(raw_date), slug(program), slug(pathway)) if p)
    label, count_text = pairs["invitations"]
    record = DrawRecord(SOURCE, key, day, f"{program}: {pathway}" if pathway else program,
                        program=slug(program).replace("-", "_") or None, url=url,
                        text=" | ".join(f"{k}: {v}" for k, v in pairs.values()),
                        extra={"pathway": pathway} if pathway else {})
    record.extra["count_kind"] = label.casefold()
    record.invitations = tables.count_cell(count_text, record.extra, record.flags)
    if start and end and end != start:
        record.extra["date_end"] = end.isoformat()
    if "cutoff" in pairs:
        record.window_end = cutoff(pairs["cutoff"][1])
        if record.window_end is None:
            record.extra.setdefault("raw", {})["cutoff"] = pairs["cutoff"][1]
            record.flags.append("unreadable_cutoff")
    if "categories" in pairs:
        found, rest = categories(pairs["categories"][1])
        record.extra["occupational_categories"] = found
        if rest:   # a category this reader does not know: kept as printed
            record.extra.setdefault("raw", {})["categories"] = pairs["categories"][1]
            record.flags.append("unknown_category")
            problems.append(f"{key}: occupational categories {rest!r} not known")
    if day is None:
        record.extra.setdefault("raw", {})["date"] = raw_date
        record.flags.append("unreadable_date")
        problems.append(f"{key}: date {raw_date!r} unreadable")
    return record
