"""Nova Scotia's EOI selection page: monthly totals, stored as such. The copy of 20 June
2026 exists only as a markdown conversion of the live page; it is rendered to HTML here
(tests/md_render.py), where the first month's row became the table's header."""
from datetime import date

import pytest

from scraper.records import ParseError, SourceBlocked
from scraper.sources.ns_nsnp.parse import parse_ns_selection
from scraper.sources.ns_nsnp.source import URL
from tests.conftest import DATA
from tests.md_render import render

PAGE = "ns_eoi_selection.2026-06-20.md"


@pytest.fixture(scope="module")
def parsed():
    body, url = render(DATA / PAGE)
    assert url == URL
    return parse_ns_selection(body, url)


def test_monthly_totals_and_nothing_more(parsed):
    assert parsed.problems == []
    # January (the markdown's header row) to April; May-December are "TBD": no total yet.
    assert [(d.key, d.date, d.invitations) for d in parsed.draws] == [
        ("2026-01", date(2026, 1, 1), 363), ("2026-02", date(2026, 2, 1), 357),
        ("2026-03", date(2026, 3, 1), 370), ("2026-04", date(2026, 4, 1), 161)]
    for d in parsed.draws:
        # A month's total, said so, and never dressed up as a draw: no score, stream or occupation.
        assert d.extra == {"period": "month", "month": d.key} and d.flags == ["monthly_total"]
        assert d.program == "eoi-monthly-total" and d.title.endswith("2026 (monthly total)")
        assert (d.score_min, d.score_max, d.score_system, d.selection_kind, d.noc_codes, d.round_time) == \
            (None, None, None, None, [], None)


def test_a_captcha_page_or_another_page_is_refused():
    captcha, _ = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2020.2026-06-19.md")
    with pytest.raises(SourceBlocked):
        parse_ns_selection(captcha, URL)
    other, _ = render(DATA / "nl_invitations_to_apply_updates.2026-06-20.md")
    with pytest.raises(ParseError, match="no table of months"):
        parse_ns_selection(other, URL)
