"""British Columbia Provincial Nominee Program: welcomebc.ca's invitations to apply
(Skills Immigration, its prose high economic impact rounds, Entrepreneur Immigration)."""
from scraper.sources.bc_pnp.source import URL, BcPnp

SOURCE = BcPnp()

__all__ = ["SOURCE", "URL", "BcPnp"]
