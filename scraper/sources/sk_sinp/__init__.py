"""Saskatchewan Immigrant Nominee Program: the International Skilled Worker EOI
selection results (a PDF) and its processing statistics page."""
from scraper.sources.sk_sinp.source import SkSinp

SOURCE = SkSinp()

__all__ = ["SOURCE", "SkSinp"]
