"""Ontario Immigrant Nominee Program: the yearly updates pages and the two ledger pages."""
from scraper.spiders.base import PageSpider


class OinpSpider(PageSpider):
    name = "oinp"
