"""Nova Scotia Nominee Program: liveinnovascotia.com's EOI selection page (monthly totals)."""
from scraper.sources.ns_nsnp.source import URL, NsNsnp

SOURCE = NsNsnp()

__all__ = ["SOURCE", "URL", "NsNsnp"]
