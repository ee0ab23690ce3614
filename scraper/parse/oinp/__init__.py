"""Ontario's pages -> draws and notices: the yearly updates pages (``updates``), the two
ledgers (``ledger``), and their merge into one record per draw (``merge``).

Modules, by what they read: ``page`` (captcha, tree, article body, year), ``blocks`` (the
text blocks in reading order), ``sections`` (dated sections), ``index`` (each month's
list of links), ``entries`` (the posts), ``figures`` (what a sentence states: issuance,
scores, counts, streams), ``nocs`` (NOC lists), ``windows`` (profile-creation windows),
``analyse`` (a post -> its selections), ``settle`` (introductions and joint groups),
``draws`` (selections -> records), ``keys`` (the keys both pages share), ``limits``.
"""
import re

from scraper.parse.oinp.keys import assign_keys, notice_keys
from scraper.parse.oinp.ledger import parse_oinp_ledger
from scraper.parse.oinp.limits import MAX_BLOCK_CHARS, MAX_ENTRIES, MAX_ENTRY_CHARS, MAX_NOCS, MAX_SELECTIONS
from scraper.parse.oinp.merge import merge_oinp
from scraper.parse.oinp.page import SOURCE, check_blocked
from scraper.parse.oinp.updates import parse_oinp_updates
from scraper.records import ParseResult

# ".../page/2024-ontario-immigrant-nominee-program-updates": the yearly pages' address shape.
UPDATES_PAGE = re.compile(r"[0-9]{4}-ontario-immigrant-nominee-program-updates")


def parse_oinp_page(body: bytes, url: str) -> ParseResult:
    """Any page of the oinp source: a yearly updates page or one of the two ledgers."""
    if UPDATES_PAGE.search(url):
        return parse_oinp_updates(body, url)
    return parse_oinp_ledger(body, url)


__all__ = [
    "MAX_BLOCK_CHARS", "MAX_ENTRIES", "MAX_ENTRY_CHARS", "MAX_NOCS", "MAX_SELECTIONS", "SOURCE", "UPDATES_PAGE",
    "assign_keys", "check_blocked", "merge_oinp", "notice_keys", "parse_oinp_ledger", "parse_oinp_page",
    "parse_oinp_updates",
]
