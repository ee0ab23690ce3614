"""welcomebc.ca "Invitations to apply" -> draws.

One page, three tables and some prose:
- the Skills Immigration table (Date / ITA type / Selection factors / Minimum score /
  Number of invitations): one draw per line, a date spanning the lines of its day;
- high economic impact rounds written as prose under a date heading ("issued
  invitations to apply to 484 candidates ... (252 candidates), or ... (232 candidates)"):
  one draw per route (wage, points);
- the Entrepreneur Immigration table (Date / Stream / Minimum Score / Number of
  Invitations);
- the Skills registration pool (score range / registrations): a snapshot of the pool,
  not a draw, never read as one.

Spans are read as the page means them: a cell spanning two lines of one selection
(Care: Veterinary Care's second line of selection factors) makes one draw, not two. The
markdown conversion of the page loses the spans instead (a continuation line shifted
one column left, the veterinary line alone in a row); both shapes read the same.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from scraper.parse import dates as dt, nocs, numbers as nm, tables, text as tx
from scraper.parse.blocked import check_blocked
from scraper.parse.html import parse_html, text as el_text
from scraper.parse.keys import number_repeats
from scraper.records import DrawRecord, ParseError, ParseResult

log = logging.getLogger(__name__)

SOURCE = "bc_pnp"
SIRS = "bc_sirs"                      # Skills Immigration Registration System points
ENTREPRENEUR = "bc_entrepreneur"      # Entrepreneur Immigration registration score

_WAGE = re.compile(r"\bwage\b", re.IGNORECASE)
_HOURLY = re.compile(r"\$\s*([0-9]{1,4}(?:\.[0-9]{1,2})?)\s*/\s*h(?:ou)?r", re.IGNORECASE)
_ANNUAL = re.compile(r"\$\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]{4,7})\s*/\s*y(?:ea)?r", re.IGNORECASE)
_PRIORITY = re.compile(r"\ball priority (.+?) occupations\b", re.IGNORECASE)
_CANDIDATES = re.compile(r"\(\s*" + nm.INT + r"\s+candidates?\s*\)", re.IGNORECASE)
_TOTAL = re.compile(r"invitations to apply to " + nm.INT + r" candidates", re.IGNORECASE)
_POINTS = re.compile(r"\bscore of ([0-9]{1,4}) points\b", re.IGNORECASE)
_HIGH_IMPACT = re.compile(r"high economic impact", re.IGNORECASE)
HIGH_IMPACT = "Innovate: High Economic Impact"
# The streams the page has named so far (ITA types, Entrepreneur streams), for listings.
KNOWN_STREAMS = (HIGH_IMPACT, "Care: Childcare", "Care: Health", "Care: Veterinary Care", "Build: Construction Trades")
KNOWN_ENTREPRENEUR = ("Base", "Regional")


@dataclass
class _Line:
    """One selection as the table shows it (its selection factors on one or more lines)."""

    date_text: str
    stream: str
    selection: list[str] = field(default_factory=list)
    score: str = ""
    count: str = ""
    cells: tuple = ()                # the spanning cells (date, stream, score, count), to tell continuation lines


def _columns(header: list[str]) -> dict[str, int]:
    """Column name -> index, from the header's wording."""
    out: dict[str, int] = {}
    for i, h in enumerate(t.lower() for t in header):
        if h.startswith("date"):
            out["date"] = i
        elif "ita type" in h or h == "stream":
            out["stream"] = i
        elif "selection" in h:
            out["selection"] = i
        elif "score" in h and "range" not in h:
            out["score"] = i
        elif "number of" in h or "invitations" in h:
            out["count"] = i
    return out


def _table_lines(rows: list[list], result: ParseResult, what: str) -> list[_Line]:
    """The table's rows after its header as selections, spans read as the page means them."""
    cols = _columns([tables.cell_text(c) for c in rows[0]])
    width = len(rows[0])
    lines: list[_Line] = []
    for row in rows[1:]:
        row = row + [None] * (width - len(row))
        texts = [tables.cell_text(c) for c in row]
        if not any(texts):
            continue
        if dt.parse_date(texts[cols["date"]]) is None:
            if lines and "selection" in cols and texts[0] and not any(texts[1:]):
                # The markdown's lost span: a second line of the selection factors alone in a row.
                lines[-1].selection.append(texts[0])
                continue
            if lines and not texts[-1]:
                # The markdown's lost date span: the line shifted one column left.
                row, texts = [None] + row[:-1], [lines[-1].date_text] + texts[:-1]
            else:
                result.problems.append(f"{what}: row without a date skipped: {' | '.join(texts)!r}")
                continue
        spanning = tuple(row[cols[k]] for k in ("date", "stream", "score", "count") if k in cols)
        if lines and "selection" in cols and all(c is not None for c in spanning) and spanning == lines[-1].cells:
            # The same stream, score and count cells spanning this row too: one selection
            # whose factors take two lines (Care: Veterinary Care), not a second draw.
            lines[-1].selection.append(texts[cols["selection"]])
            continue
        lines.append(_Line(texts[cols["date"]] or (lines[-1].date_text if lines else ""), texts[cols["stream"]],
                           [texts[cols["selection"]]] if "selection" in cols else [],
                           texts[cols["score"]], texts[cols["count"]], spanning))
    return lines


def _score(text: str, extra: dict, flags: list[str]) -> tuple[int | None, int | None]:
    """A minimum score (no upper end), a range if one is printed; "N/A" is none."""
    score = nm.parse_score_cell(text)
    if score is None:
        if not nm.is_placeholder(text):
            extra.setdefault("raw", {})["score"] = text
            flags.append("unreadable_score")
        return None, None
    low, high = score
    return low, (high if high != low else None)


def _wage(selection: str, extra: dict) -> None:
    hourly, annual = _HOURLY.search(selection), _ANNUAL.search(selection)
    if hourly:
        extra["wage_hourly"] = float(hourly.group(1)) if "." in hourly.group(1) else int(hourly.group(1))
    if annual:
        extra["wage_annual"] = nm.to_int(annual.group(1))


def program(stream: str, entrepreneur: bool = False) -> str:
    """A stream's slug ("Care: Health" -> "care-health"; Entrepreneur "Base" -> "entrepreneur-base")."""
    return f"entrepreneur-{tx.slug(stream) or 'unknown'}" if entrepreneur else tx.slug(stream) or "unknown"


def _record(day, stream: str, selection: list[str], score_text: str, count_text: str, *, kind: str, url: str,
            row_text: str) -> DrawRecord:
    extra: dict = {"stream": stream, "selection": selection} if selection else {"stream": stream}
    flags: list[str] = []
    joined = " ".join(selection)
    invitations = tables.count_cell(count_text, extra, flags)
    low, high = _score(score_text, extra, flags)
    if kind == "skills":
        route = "wage" if _WAGE.search(joined) and low is None else "points"
        extra["route"] = route
        if route == "wage":
            _wage(joined, extra)
        if route == "points" and joined.strip(" *").lower() not in ("points", "") and not _POINTS.search(joined):
            # A sector's selection ("Early childhood educators *"): only these occupations.
            extra["occupations"] = "; ".join(line.rstrip(" *") for line in selection)
            listed = _PRIORITY.search(joined)
            if listed:
                # "All priority health care occupations": BC's list, which this page does not print.
                extra["priority_list"] = listed.group(1)
        system = SIRS if low is not None else None
        slug = program(stream)
        key = f"{day.isoformat()}/{slug}/{route}"
        title = f"{stream}: {joined}" if joined else stream
    else:
        system = ENTREPRENEUR if low is not None else None
        slug = program(stream, entrepreneur=True)
        key = f"{day.isoformat()}/{slug}"
        title = f"Entrepreneur Immigration: {stream}"
    codes = list(dict.fromkeys(nocs.inline_nocs(joined)))
    return DrawRecord(
        source=SOURCE, key=key, date=day, title=title.rstrip(" *"), program=slug, invitations=invitations,
        score_min=low, score_max=high, score_system=system, selection_kind="ita",
        noc_codes=codes, noc_version=nocs.noc_version(codes), announcement=f"{day.isoformat()}/{kind}",
        url=url, text=row_text, extra=extra, flags=flags)


def _table_records(lines: list[_Line], kind: str, url: str, result: ParseResult) -> list[DrawRecord]:
    out = []
    for line in lines:
        day = dt.parse_date(line.date_text)
        row_text = " | ".join([line.date_text, line.stream, *line.selection, line.score, line.count])
        if day is None:
            result.problems.append(f"{kind}: unreadable date {line.date_text!r}: {row_text!r}")
            continue
        out.append(_record(day, line.stream, line.selection, line.score, line.count, kind=kind, url=url,
                           row_text=row_text))
    return out


def _following(heading) -> list:
    """The elements after a heading up to the next heading, rule or table."""
    out = []
    for sib in heading.itersiblings():
        if not isinstance(sib.tag, str):
            continue
        if sib.tag in ("h1", "h2", "h3", "hr", "table"):
            break
        out.append(sib)
    return out


def _prose_records(root, url: str, result: ParseResult) -> list[DrawRecord]:
    """High economic impact rounds told as prose under a date heading: one draw per route."""
    out = []
    for heading in root.iter("h3"):
        found = dt.leading_date(tx.clean(el_text(heading)))
        if found is None or found[1]:
            continue                 # not a heading that is only a date
        day = found[0]
        body = _following(heading)
        prose = tx.clean(" ".join(el_text(e) for e in body if e.tag != "ul"))
        total = _TOTAL.search(prose)
        if total is None:
            continue
        stream = HIGH_IMPACT if _HIGH_IMPACT.search(prose) else "unknown"
        routes = [tx.clean(el_text(li)).rstrip(" ,.") for e in body if e.tag == "ul" for li in e.iter("li")]
        records = []
        for route in routes:
            route = re.sub(r",?\s*or$", "", route)
            count = _CANDIDATES.search(route)
            points = _POINTS.search(route)
            rec = _record(day, stream, [route], points.group(1) if points else "N/A",
                          count.group(1) if count else route, kind="skills", url=url,
                          row_text=f"{day.isoformat()} | {route}")
            rec.extra["announced_total"] = nm.to_int(total.group(1))
            if stream == "unknown":
                rec.flags.append("unknown_program")
            records.append(rec)
        stated, summed = nm.to_int(total.group(1)), sum(r.invitations or 0 for r in records)
        if not records or summed != stated:
            result.problems.append(f"{day}: routes add up to {summed}, the prose says {stated}")
            for rec in records:
                rec.flags.append("total_mismatch")
        out += records
    return out


_SKILLS = {"date", "stream", "selection", "score", "count"}
_ENTREPRENEUR = {"date", "stream", "score", "count"}


def _tables(root) -> tuple[list, list]:
    """(Skills rows, Entrepreneur rows) as grids, told apart by their headers; the pool
    table (Score range / Number of registrations) is neither."""
    skills, entrepreneur = [], []
    for table in root.iter("table"):
        rows = tables.grid(table)
        header = [tables.cell_text(c) for c in rows[0]] if rows else []
        found = set(_columns(header))
        if found == _SKILLS and any("ita type" in h.lower() for h in header):
            skills.append(rows)
        elif found == _ENTREPRENEUR:
            entrepreneur.append(rows)
    return skills, entrepreneur


def parse_bc_invitations(body: bytes, url: str) -> ParseResult:
    """The invitations-to-apply page -> one draw per selection (Skills, prose rounds, Entrepreneur)."""
    check_blocked(body, url)
    root = parse_html(body, url)
    result = ParseResult()
    skills, entrepreneur = _tables(root)
    if not skills:
        raise ParseError("no Skills Immigration invitations table (Date / ITA type / Selection factors): "
                         "not the BC PNP invitations page", url)
    records: list[DrawRecord] = []
    for rows in skills:
        records += _table_records(_table_lines(rows, result, "skills"), "skills", url, result)
    seen = {r.key for r in records}
    for rec in _prose_records(root, url, result):
        if rec.key in seen:
            result.problems.append(f"{rec.key}: told both in the table and in prose; the table's row kept")
            continue
        seen.add(rec.key)
        records.append(rec)
    for rows in entrepreneur:
        records += _table_records(_table_lines(rows, result, "entrepreneur"), "entrepreneur", url, result)
    result.draws = number_repeats(records)
    result.problems += tables.kept_verbatim(result.draws)
    log.debug("%s: %d draws", url, len(result.draws))
    return result

