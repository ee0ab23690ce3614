"""Temporary alias (issue 12): the ledger parser and the merge live in the package
``scraper.parse.oinp`` (modules ``ledger`` and ``merge``); kept until the Ontario parsers
move to their source package, so the imports of them need not change before."""
from scraper.parse.oinp.ledger import parse_oinp_ledger
from scraper.parse.oinp.merge import merge_oinp

__all__ = ["merge_oinp", "parse_oinp_ledger"]
