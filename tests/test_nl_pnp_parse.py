"""Newfoundland and Labrador's ITA updates page read field by field. The copy of 20 June
2026 exists only as a markdown conversion of the live page; it is rendered to HTML here
(tests/md_render.py)."""
from datetime import date, datetime

import pytest

from scraper.records import ParseError, SourceBlocked
from scraper.sources.nl_pnp.parse import parse_nl_updates
from scraper.sources.nl_pnp.source import URL
from tests.conftest import DATA
from tests.md_render import render
from tests.page_before import page_edited

PAGE = "nl_invitations_to_apply_updates.2026-06-20.md"
# The table as printed, oldest first: date issued, ITAs, and the notes' NLPNP and AIP shares.
TABLE = [
    ("April 3, 2025", 256, 206, 50),
    ("May 8, 2025", 328, 281, 47),
    ("May 29, 2025", 405, 351, 54),
    ("June 24, 2025", 320, 257, 63),
    ("July 10, 2025", 359, 300, 59),
    ("July 29, 2025", 150, 100, 50),
    ("August 13, 2025", 231, 180, 51),
    ("August 29, 2025", 202, 125, 77),
    ("September 12, 2025", 353, 218, 135),
    ("September 26, 2025", 217, 107, 110),
    ("October 9, 2025", 125, 73, 52),
    ("October 22, 2025", 100, 55, 45),
    ("November 12, 2025", 330, 220, 110),
    ("March 6, 2026", 445, 362, 83),
    ("March 30, 2026", 245, 209, 36),
    ("April 13, 2026", 210, 177, 33),
    ("May 1, 2026", 190, 157, 33),
    ("May 11, 2026", 186, 168, 18),
    ("May 28, 2026", 103, 84, 19),
    ("June 10, 2026", 108, 89, 19),
]


@pytest.fixture(scope="module")
def parsed():
    body, url = render(DATA / PAGE)
    assert url == URL
    return parse_nl_updates(body, url)


def test_every_batch_field_exact_oldest_first(parsed):
    assert parsed.problems == []
    assert len(parsed.draws) == len(TABLE) == 20
    for draw, (day, count, nlpnp, aip) in zip(parsed.draws, TABLE):
        assert draw.date == datetime.strptime(day, "%B %d, %Y").date() and draw.key == draw.date.isoformat()
        assert draw.invitations == count == nlpnp + aip
        assert draw.extra == {"notes": f"NLPNP – {nlpnp}, AIP – {aip}", "split": {"NLPNP": nlpnp, "AIP": aip}}
        assert (draw.score_min, draw.score_system, draw.noc_codes, draw.flags) == (None, None, [], [])
        assert draw.title == f"Invitations to apply: NLPNP – {nlpnp}, AIP – {aip}"
    dates = [d.date for d in parsed.draws]
    assert dates == sorted(dates)
    # The gap between November 12, 2025 and March 6, 2026 is the page's, not a lost row.
    assert dates[12:14] == [date(2025, 11, 12), date(2026, 3, 6)]


def test_a_captcha_page_or_another_page_is_refused():
    captcha, _ = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2022.2026-06-19.md")
    with pytest.raises(SourceBlocked):
        parse_nl_updates(captcha, URL)
    other, _ = render(DATA / "ab_aaip_processing_information.2026-06-20.md")
    with pytest.raises(ParseError, match="no ITA table"):
        parse_nl_updates(other, URL)


def test_an_unreadable_count_or_a_split_that_does_not_add_up_is_flagged(tmp_path):
    body = page_edited(DATA / PAGE, "| 108 | NLPNP – 89, AIP – 19 |", "| 1O8 | NLPNP – 89, AIP – 19 |", tmp_path)
    result = parse_nl_updates(body, URL)
    last = result.draws[-1]
    assert (last.key, last.invitations, last.flags) == ("2026-06-10", None, ["unreadable_invitations"])
    assert last.extra["raw"] == {"invitations": "1O8"} and last.extra["split"] == {"NLPNP": 89, "AIP": 19}
    assert result.problems == ["2026-06-10: invitations '1O8' kept verbatim, flagged"]
    body = page_edited(DATA / PAGE, "| 108 | NLPNP – 89, AIP – 19 |", "| 118 | NLPNP – 89, AIP – 19 |", tmp_path)
    result = parse_nl_updates(body, URL)
    assert result.draws[-1].flags == ["split_mismatch"]
    assert result.problems == ["2026-06-10: the notes' split {'NLPNP': 89, 'AIP': 19} does not add up to 118"]
