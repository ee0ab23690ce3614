"""Alberta Advantage Immigration Program: the draw table of alberta.ca's AAIP processing
information page, its streams and pathways, and its rules."""
from scraper.sources.ab_aaip.source import URL, AbAaip

SOURCE = AbAaip()

__all__ = ["SOURCE", "URL", "AbAaip"]
