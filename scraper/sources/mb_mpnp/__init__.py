"""Manitoba Provincial Nominee Program: its news feed and its per-draw posts."""
from scraper.sources.mb_mpnp.source import MbMpnp

SOURCE = MbMpnp()

__all__ = ["SOURCE", "MbMpnp"]
