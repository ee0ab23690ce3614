"""New Brunswick Provincial Nominee Program and Atlantic Immigration Program: the
invitations page's latest selection rounds."""
from scraper.sources.nb_pnp.source import NbPnp

SOURCE = NbPnp()

__all__ = ["SOURCE", "NbPnp"]
