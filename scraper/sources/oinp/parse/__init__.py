"""Ontario's pages -> draws and notices: the yearly updates pages (``updates``), the two
ledgers (``ledger``), and their merge into one record per draw (``merge``).

Modules, by what they read: ``page`` (captcha, tree, article body, year), ``blocks`` (the
text blocks in reading order), ``sections`` (dated sections), ``index`` (each month's
list of links), ``entries`` (the posts), ``figures`` (what a sentence states: issuance,
scores, counts, streams), ``nocs`` (NOC lists), ``windows`` (profile-creation windows),
``analyse`` (a post -> its selections), ``settle`` (introductions and joint groups),
``draws`` (selections -> records), ``keys`` (the keys both pages share), ``limits``.

Which parser reads a page is the source's plan's business (``Page.kind``), never the
page's address.
"""
from scraper.sources.oinp.parse.keys import assign_keys, notice_keys
from scraper.sources.oinp.parse.ledger import parse_oinp_ledger
from scraper.sources.oinp.parse.limits import MAX_BLOCK_CHARS, MAX_ENTRIES, MAX_ENTRY_CHARS, MAX_NOCS, MAX_SELECTIONS
from scraper.sources.oinp.parse.merge import merge_oinp
from scraper.sources.oinp.parse.page import SOURCE, check_blocked
from scraper.sources.oinp.parse.updates import parse_oinp_updates


__all__ = [
    "MAX_BLOCK_CHARS", "MAX_ENTRIES", "MAX_ENTRY_CHARS", "MAX_NOCS", "MAX_SELECTIONS", "SOURCE",
    "assign_keys", "check_blocked", "merge_oinp", "notice_keys", "parse_oinp_ledger",
    "parse_oinp_updates",
]
