"""IRCC's Express Entry rounds feed: one JSON document with every round since 2015."""
from scraper.spiders.base import PageSpider


class ExpressEntrySpider(PageSpider):
    name = "express_entry"
