"""The BC, Alberta, Newfoundland and Labrador and Nova Scotia parsers on one another's pages
and on cut copies of them: a result or a ParseError, never another exception (the crawl
records a ParseError as a failed crawl; anything else would be a bug). The markdown copies
are rendered to HTML (tests/md_render.py)."""
import pytest

from scraper.records import ParseError
from scraper.sources.registry import SOURCES
from tests.conftest import DATA, data
from tests.md_render import render

PAGES = ["bc_invitations_to_apply.2026-05-19.raw.html", "bc_invitations_to_apply.2026-06-20.md",
         "ab_aaip_processing_information.2026-06-20.md", "nl_invitations_to_apply_updates.2026-06-20.md",
         "ns_eoi_selection.2026-06-20.md"]
URL = "https://www.example.org/page"


@pytest.mark.parametrize("name", ["bc_pnp", "ab_aaip", "nl_pnp", "ns_nsnp"])
def test_any_page_or_cut_reads_or_is_refused(name):
    """Each parser on every page of the four provinces, whole and cut at twenty places."""
    source = SOURCES[name]
    parse = source.parser(source.default_kind)
    pages = [render(DATA / page)[0] if page.endswith(".md") else data(page) for page in PAGES]
    read = refused = 0
    for page in pages:
        for cut in range(len(page), 0, -max(1, len(page) // 20)):
            try:
                parse(page[:cut], URL)
                read += 1
            except ParseError:
                refused += 1
    assert read and refused
