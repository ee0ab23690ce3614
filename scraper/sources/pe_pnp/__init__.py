"""Prince Edward Island Provincial Nominee Program: its Expression of Interest draws page."""
from scraper.sources.pe_pnp.source import PePnp

SOURCE = PePnp()

__all__ = ["SOURCE", "PePnp"]
