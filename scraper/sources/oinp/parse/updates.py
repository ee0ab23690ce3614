"""Ontario's yearly "Ontario Immigrant Nominee Program updates" pages -> draws and notices.

A page is ``<h2>`` month, ``<h3>`` date, ``<h4>`` entry, then prose. An entry that
reports invitations (ITAs) or notifications of interest (NOIs) gives one draw per
selection: per stream, and per targeted group or region when one entry ran several
(2026-04-30: Foreign Worker 57+ and International Student 81+, each with its own NOC
list). Every other entry is a notice. Quirks handled: each month listed twice (an
index of links, then the details), ``<h3>``/``<h4>`` also used for sub-headings and in
alert boxes, missing or mis-cased anchors, dates without a year, a date line inside a
paragraph, "will issue" announcements next to their results.

The reading, in order: page (tree, year) -> blocks -> sections -> index and entries ->
per entry, analyse (figures, NOC lists, windows, then settle) -> draws -> keys.
"""
from __future__ import annotations

import logging

from scraper.sources.oinp.parse.analyse import analyse
from scraper.sources.oinp.parse.blocks import page_blocks
from scraper.sources.oinp.parse.draws import draw_date, fold_announced, record
from scraper.sources.oinp.parse.entries import Entry, entries
from scraper.sources.oinp.parse.keys import assign_keys, notice_keys
from scraper.sources.oinp.parse.limits import MAX_ENTRIES, MAX_ENTRY_CHARS
from scraper.sources.oinp.parse.page import SOURCE, content_root, naming_page, page_tree, page_year
from scraper.sources.oinp.parse.sections import sections
from scraper.records import DrawRecord, NoticeRecord, ParseError, ParseResult

log = logging.getLogger(__name__)


def parse_oinp_updates(body: bytes, url: str) -> ParseResult:
    """One yearly updates page -> draws (one per selection) and notices."""
    with naming_page(url):
        return _parse_updates(body, url)


def _page_entries(body: bytes, url: str) -> tuple[list[Entry], int | None]:
    """The page's posts (refused past the limits) and the year it covers."""
    root = page_tree(body, url)
    year = page_year(root, url)
    secs, dated = sections(page_blocks(content_root(root)), year)
    if not dated:
        raise ParseError("no dated entries (<h3>Month D, YYYY</h3>) found: not an OINP updates page", url)
    found = entries(secs, year)
    if len(found) > MAX_ENTRIES:
        raise ParseError(f"{len(found):,} posts on one page, more than the {MAX_ENTRIES:,} "
                         "any Ontario updates page comes near", url)
    for entry in found:
        if len(entry.text) > MAX_ENTRY_CHARS:
            raise ParseError(f"{entry.date} {entry.title[:60]!r}: a post of {len(entry.text):,} characters, "
                             f"more than the {MAX_ENTRY_CHARS:,} any Ontario post comes near", url)
    return found, year


def _entry_draws(entry: Entry, year: int | None, url: str, result: ParseResult) -> list[DrawRecord]:
    """One post's draws; a post that reports none is a notice (added to ``result``, with
    what could not be read among its problems)."""
    a = analyse(entry, year)
    if not a.is_draw or not a.sels:
        if a.is_draw:
            result.problems.append(f"{entry.date} {entry.title!r}: reports an issuance but names no stream")
        result.notices.append(NoticeRecord(SOURCE, "", entry.date, entry.title, entry.text,
                                           f"{url}#{entry.anchor}" if entry.anchor else url))
        return []
    day = draw_date(entry, a.issuance, year)
    if day is None:
        result.problems.append(f"{entry.title!r}: no date (page year unknown)")
    records = []
    for sel in a.sels:
        records.append(record(sel, entry, day, url, a.total if len(a.sels) > 1 else None))
        if sel.stream is None:
            result.problems.append(f"{day} {entry.title!r}: unknown stream {sel.stream_name!r}")
    return records


def _parse_updates(body: bytes, url: str) -> ParseResult:
    found, year = _page_entries(body, url)
    result = ParseResult()
    records = [r for entry in found for r in _entry_draws(entry, year, url, result)]
    result.draws = fold_announced(records)
    assign_keys(result.draws)
    notice_keys(result.notices)
    log.debug("%s: %d draws, %d notices", url, len(result.draws), len(result.notices))
    return result
