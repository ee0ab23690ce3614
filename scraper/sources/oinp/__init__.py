"""Ontario Immigrant Nominee Program: its yearly updates pages and invitation ledgers,
its stream registry, and its rules."""
from scraper.sources.oinp.source import LEDGER_URLS, YEAR_URL, Oinp, OinpSettings, oinp_urls

SOURCE = Oinp()

__all__ = ["LEDGER_URLS", "SOURCE", "YEAR_URL", "Oinp", "OinpSettings", "oinp_urls"]
