"""Newfoundland and Labrador Provincial Nominee Program: gov.nl.ca's invitations to apply
updates (batches of invitations, NLPNP and AIP)."""
from scraper.sources.nl_pnp.source import URL, NlPnp

SOURCE = NlPnp()

__all__ = ["SOURCE", "URL", "NlPnp"]
