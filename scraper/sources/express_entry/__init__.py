"""Express Entry (IRCC): the rounds of invitations feed, its category lists and its rules."""
from scraper.sources.express_entry.source import FEED_URL, ExpressEntry

SOURCE = ExpressEntry()

__all__ = ["FEED_URL", "SOURCE", "ExpressEntry"]
