"""Saskatchewan's pages read: the SINP International Skilled Worker "EOI Selection
Results" PDF (one row per selection: date, category, score of the lowest-ranked
candidate, candidates invited, other considerations with the NOC codes selected), and
the processing statistics page, which holds no draw.

The PDF's text is read with PDFium (pypdfium2: about 15 times less CPU than pypdf on this
document, the same text; bench/parsers.py); its table comes out as lines in reading order, a
row's cells broken over several lines ("August 18," / "2022" / "Express" / "Entry" /
"67 416 Invited ...") and rows running on over page breaks, where the header "Updated:
..." repeats. A row is found by its shape: a date, a category (blank for some special
measures), two numbers, then the considerations up to the next row.
"""
from __future__ import annotations

import re
import threading
from datetime import date, datetime

from scraper.parse import html, tables
from scraper.parse.dates import parse_date
from scraper.parse.keys import number_repeats
from scraper.parse.nocs import noc_version
from scraper.parse.numbers import parse_count
from scraper.parse.text import clean, slug
from scraper.records import DrawRecord, ParseError, ParseResult

SOURCE = "sk_sinp"
SCORE_SYSTEM = "sinp_eoi"
MAX_PDF = 20 * 1024 * 1024

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December")
# "Occupations In-Demand", once "Occupations in-Demand"
_CATEGORY = r"(?i:Express\s*Entry|Occupations\s*In\s*-?\s*Demand)"
_DATE = (r"(?:(?P<month>" + _MONTHS + r")\s*(?P<day>[0-9]{1,2})\s*,\s*(?P<year>20[0-9]{2})"
         r"|(?P<d>[0-9]{1,2})-(?P<mon>[A-Z][a-z]{2})-(?P<y>[0-9]{2}(?:[0-9]{2})?))")
_CATEGORIES = r"(?P<category>" + _CATEGORY + r"(?:\s*&\s*" + _CATEGORY + r")?)"
# A row: date, category (blank for some special measures), score, count, considerations.
_ROW = re.compile(_DATE + r"\s+" + _CATEGORIES + r"?\s*(?P<score>[0-9]{1,3})\s+(?P<count>[0-9]{1,5})\s+(?=[A-Z])")
# A row whose score or count is not a number ("N/A", "TBD"): found by its date and
# category, its cells kept as printed.
_LOOSE_ROW = re.compile(_DATE + r"\s+" + _CATEGORIES + r"\s+(?P<score>\S+)\s+(?P<count>\S+)\s+")
_UPDATED = re.compile(r"Updated:\s*(?P<date>(?:" + _MONTHS + r")\s*[0-9]{1,2},\s*[0-9]{4})")
# NOC codes come as a run, comma- (rarely space-) separated: "0621, 0631, 0632, 0711".
_CODE_RUN = re.compile(r"\b[0-9]{4,5}(?:\s*,\s*[0-9]{4,5}\b|\s+[0-9]{4,5}\b(?=\s*,))+")
_CODE = re.compile(r"\b[0-9]{4,5}\b")
_UKRAINE = re.compile(r"country of residence is Ukraine", re.IGNORECASE)
_PDFIUM = threading.Lock()


def pdf_text(body: bytes, url: str) -> list[str]:
    """The text of each page of a PDF (PDFium's reading order)."""
    import pypdfium2  # deferred: only a crawl of Saskatchewan reads a PDF

    if not body.startswith(b"%PDF"):
        raise ParseError("not a PDF (the selection results are published as one)", url)
    if len(body) > MAX_PDF:
        raise ParseError(f"PDF of {len(body):,} bytes, more than the {MAX_PDF:,} this document comes near", url)
    # PDFium is not thread-safe, and crawls are stored from worker threads.
    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(body)
            try:
                pages = [_page_text(document, i) for i in range(len(document))]
            finally:
                document.close()
        except pypdfium2.PdfiumError as exc:    # damaged beyond loading (or a page of it), encrypted
            raise ParseError(f"unreadable PDF: {exc}", url) from None
    # PDFium reads a page whose content it cannot decode (a damaged stream, a filter it
    # does not know) as a page without text, where pypdf raised: every page of this
    # table has its "Updated:" header, so a page without text is a page lost.
    blank = [i + 1 for i, text in enumerate(pages) if not text.strip()]
    if blank:
        raise ParseError(f"unreadable PDF: no text on page{'s' if len(blank) > 1 else ''} "
                         f"{', '.join(map(str, blank[:5]))}{' ...' if len(blank) > 5 else ''} of {len(pages)}", url)
    return pages


def _page_text(document, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            # PDFium joins a word hyphenated at a line's end and marks the hyphen U+0002:
            # put back the hyphen and the line break as printed ("post-" / "secondary").
            return textpage.get_text_bounded().replace("\x02", "-\n")
        finally:
            textpage.close()
    finally:
        page.close()


def _row_date(m: re.Match) -> date | None:
    if m.group("month"):
        return parse_date(f"{m.group('month')} {m.group('day')}, {m.group('year')}")
    year = m.group("y")
    try:
        return datetime.strptime(f"{m.group('d')}-{m.group('mon')}-{year}", "%d-%b-%Y" if len(year) == 4
                                 else "%d-%b-%y").date()
    except ValueError:
        return None


def parse_sk_selections(body: bytes, url: str) -> ParseResult:
    """The selection results PDF: one draw per row."""
    return read_rows(pdf_text(body, url), url)


def read_rows(pages: list[str], url: str) -> ParseResult:
    """The rows of the selection results table in the text of its pages."""
    updated = _UPDATED.search(pages[0]) if pages else None
    # The repeated page header is not part of the row it interrupts.
    text = clean(" ".join(_UPDATED.sub(" ", p) for p in pages))
    start = text.find("Considerations")
    if start < 0:
        raise ParseError("no selection table (its header \"Other Considerations\" is missing)", url)
    text = text[start + len("Considerations"):]
    rows = list(_ROW.finditer(text))
    starts = {m.start() for m in rows}
    rows = sorted(rows + [m for m in _LOOSE_ROW.finditer(text) if m.start() not in starts], key=lambda m: m.start())
    result = ParseResult()
    for i, m in enumerate(rows):
        other = text[m.end():rows[i + 1].start() if i + 1 < len(rows) else len(text)].strip()
        result.draws.append(_draw(m, other, url, result.problems))
    # Two selections of one day and category (September 6, 2022) are told apart by their
    # order on the page (newest first), which Saskatchewan keeps when it adds a row above.
    number_repeats(result.draws)
    if updated:
        for d in result.draws:
            d.extra["updated"] = parse_date(updated.group("date")).isoformat()
    return result


def _draw(m: re.Match, other: str, url: str, problems: list[str]) -> DrawRecord:
    day = _row_date(m)
    raw_date = clean(m.group(0).split(m.group("category") or m.group("score"))[0])
    category = clean(m.group("category") or "")
    ukraine = bool(_UKRAINE.search(other))
    program = "ukraine" if ukraine else (slug(category).replace("-", "_") or None)
    key = f"{day.isoformat() if day else slug(raw_date)}/{slug(category) or 'no-category'}" + \
        ("/ukraine" if ukraine else "")
    codes = [c for run in _CODE_RUN.finditer(other) for c in _CODE.findall(run.group())]
    title = f"SINP International Skilled Worker EOI selection: {category or 'no category stated'}"
    record = DrawRecord(SOURCE, key, day, title, program=program, url=url,
                        noc_codes=list(dict.fromkeys(codes)), text=clean(f"{m.group(0)} {other}"),
                        extra={"category": category, "considerations": other})
    record.invitations = tables.count_cell(m.group("count"), record.extra, record.flags)
    record.score_min = parse_count(m.group("score"))
    if record.score_min is not None:
        record.score_system = SCORE_SYSTEM
    else:
        record.extra.setdefault("raw", {})["score_min"] = m.group("score")
        record.flags.append("unreadable_score")
    if record.flags:
        problems.append(f"{key}: score {m.group('score')!r} or count {m.group('count')!r} unreadable")
    record.noc_version = noc_version(record.noc_codes)
    if day is None:
        record.flags.append("unreadable_date")
        record.extra.setdefault("raw", {})["date"] = raw_date
        problems.append(f"{key}: date {raw_date!r} unreadable")
    if not category:
        record.flags.append("no_category")
    return record


def parse_sk_statistics(body: bytes, url: str) -> ParseResult:
    """The processing statistics page: processing times, capped-sector intake windows
    and nominations issued, and no EOI draw. Read to know it is still that page (a
    redesign that moved the selection results here would need a parser, not silence)."""
    root = html.parse_html(body, url)
    words = clean(html.text(root)).casefold()
    if "processing" not in words or ("sinp" not in words and "saskatchewan" not in words):
        raise ParseError("not the SINP processing statistics page", url)
    if "score of lowest ranked candidate" in words or "candidates invited to apply" in words:
        raise ParseError("the statistics page now lists EOI selections: it needs a parser", url)
    return ParseResult()
