"""Alberta's AAIP processing information page read field by field. The copy of 20 June
2026 exists only as a markdown conversion of the live page; it is rendered to HTML here
(tests/md_render.py)."""
from datetime import datetime

import pytest

from scraper.records import ParseError, SourceBlocked
from scraper.sources.ab_aaip.parse import parse_ab_processing
from scraper.sources.ab_aaip.source import URL
from tests.conftest import DATA
from tests.md_render import render
from tests.page_before import page_edited

PAGE = "ab_aaip_processing_information.2026-06-20.md"
# Table 10 as the page prints it: date, stream or pathway, minimum score, invitations.
TABLE_10 = [
    ("June 15, 2026", "Alberta Express Entry Stream – Priority Sectors (Manufacturing)", 50, 56),
    ("June 12, 2026", "Alberta Express Entry Stream – Priority Sectors (Agriculture)", 52, 37),
    ("June 11, 2026", "Alberta Express Entry Stream – Priority Sectors (Health Care)", 63, 50),
    ("June 10, 2026", "Rural Renewal Stream", 51, 54),
    ("June 9, 2026", "Dedicated Health Care Pathway – non-Express Entry", 45, 35),
    ("June 8, 2026", "Dedicated Health Care Pathway – Express Entry", 60, 49),
    ("June 5, 2026", "Alberta Opportunity Stream", 50, 462),
    ("June 2, 2026", "Alberta Express Entry Stream – Priority Sectors (Manufacturing)", 53, 49),
    ("May 29, 2026", "Alberta Express Entry Stream – Accelerated Tech Pathway", 55, 200),
    ("May 27, 2026", "Alberta Opportunity Stream", 51, 993),
    ("May 25, 2026", "Rural Renewal Stream", 50, 83),
    ("May 22, 2026", "Alberta Express Entry Stream – Priority Sectors (Agriculture)", 48, 76),
    ("May 21, 2026", "Alberta Express Entry Stream – Priority Sectors (Manufacturing)", 56, 99),
    ("May 20, 2026", "Alberta Express Entry Stream – Priority Sectors (Construction and skilled trade)", 61, 50),
    ("May 13, 2026", "Dedicated Health Care Pathway – Express Entry", 57, 61),
    ("May 7, 2026", "Alberta Express Entry Stream – Accelerated Tech Pathway", 57, 146),
    ("May 6, 2026", "Alberta Opportunity Stream", 54, 832),
    ("May 1, 2026", "Rural Renewal Stream", 50, 12),
    ("April 27, 2026", "Tourism and Hospitality Stream", 71, 98),
    ("April 23, 2026", "Alberta Express Entry Stream – Law Enforcement Pathway", 58, "Less than 10"),
    ("April 16, 2026", "Dedicated Health Care Pathway – non-Express Entry", 46, 37),
    ("April 15, 2026", "Alberta Express Entry Stream – Priority Sectors (Health Care)", 55, 50),
    ("April 14, 2026", "Alberta Express Entry Stream – Priority Sectors (Construction and skilled trade)", 60, 50),
    ("April 13, 2026", "Dedicated Health Care Pathway – Express Entry", 59, 62),
    ("April 10, 2026", "Alberta Opportunity Stream", 65, 447),
    ("April 9, 2026", "Rural Renewal Stream", 50, 74),
    ("April 8, 2026", "Alberta Express Entry Stream – Accelerated Tech Pathway", 59, 146),
    ("March 27, 2026", "Alberta Express Entry Stream – Law Enforcement Pathway", 46, "Less than 10"),
    ("March 26, 2026", "Rural Renewal Stream", 50, 60),
    ("March 24, 2026", "Dedicated Health Care Pathway – non-Express Entry", 54, 102),
    ("March 19, 2026", "Alberta Express Entry Stream – Priority Sectors (Construction)", 59, 109),
    ("March 17, 2026", "Alberta Express Entry Stream – Priority Sectors (Manufacturing)", 50, 27),
    ("March 16, 2026", "Alberta Express Entry Stream – Priority Sectors (Health Care)", 63, 50),
    ("March 13, 2026", "Rural Renewal Stream", 51, 349),
    ("March 12, 2026", "Dedicated Health Care Pathway – non-Express Entry", 47, 47),
    ("March 6, 2026", "Alberta Express Entry Stream – Accelerated Tech Pathway", 56, 139),
    ("March 5, 2026", "Alberta Opportunity Stream", 61, 832),
    ("February 26, 2026", "Rural Renewal Stream", 55, 30),
    ("February 24, 2026", "Tourism and Hospitality Stream", 73, 68),
    ("February 20, 2026", "Alberta Opportunity Stream – Priority Sectors", 56, 831),
    ("February 19, 2026", "Alberta Express Entry Stream – Priority Sectors (Construction)", 61, 50),
    ("February 17, 2026", "Alberta Express Entry Stream – Priority Sectors (Agriculture)", 49, "Less than 10"),
    ("February 12, 2026", "Alberta Express Entry Stream – Priority Sectors (Manufacturing)", 50, 32),
    ("February 11, 2026", "Alberta Express Entry Stream – Accelerated Tech Pathway", 59, 147),
    ("February 10, 2026", "Rural Renewal Stream", 54, 212),
    ("February 6, 2026", "Alberta Express Entry Stream – Law Enforcement Pathway", 50, "Less than 10"),
    ("February 2, 2026", "Alberta Opportunity Stream", 57, 915),
    ("January 29, 2026", "Alberta Express Entry Stream – Accelerated Tech Pathway", 63, 148),
    ("January 27, 2026", "Dedicated Health Care Pathway – non-Express Entry", 45, 43),
    ("January 26, 2026", "Dedicated Health Care Pathway – Express Entry", 61, 63),
]


@pytest.fixture(scope="module")
def parsed():
    body, url = render(DATA / PAGE)
    assert url == URL
    return parse_ab_processing(body, url)


def test_every_draw_of_table_10_field_exact(parsed):
    assert parsed.problems == []
    assert len(parsed.draws) == len(TABLE_10) == 50
    for draw, (day, stream, score, count) in zip(parsed.draws, TABLE_10):
        assert draw.date == datetime.strptime(day, "%B %d, %Y").date()
        assert (draw.title, draw.extra["stream"]) == (stream, stream)
        assert (draw.score_min, draw.score_max, draw.score_system) == (score, None, "ab_eoi")
        if count == "Less than 10":
            assert draw.invitations is None and draw.extra["invitations_below"] == 10
            assert draw.extra["raw"] == {"invitations": "Less than 10"} and draw.flags == ["invitations_bound"]
        else:
            assert draw.invitations == count and draw.flags == [] and "invitations_below" not in draw.extra
        assert draw.key == f"{draw.date.isoformat()}/{draw.program}" and draw.noc_codes == []


def test_stream_labels_and_their_drift(parsed):
    programs = {d.title: d.program for d in parsed.draws}
    assert len(programs) == 13
    assert programs["Alberta Express Entry Stream – Priority Sectors (Construction)"] == \
        programs["Alberta Express Entry Stream – Priority Sectors (Construction and skilled trade)"] == \
        "aees-priority-construction"
    assert programs["Alberta Opportunity Stream – Priority Sectors"] == "aos-priority-sectors"
    assert programs["Alberta Opportunity Stream"] == "aos"
    assert programs["Dedicated Health Care Pathway – non-Express Entry"] == "dhcp-non-ee"
    assert programs["Alberta Express Entry Stream – Law Enforcement Pathway"] == "aees-law-enforcement"
    assert len(set(programs.values())) == 12
    by = {d.key: d for d in parsed.draws}
    assert by["2026-06-11/aees-priority-health-care"].extra["sector"] == "the Health Care sector"
    assert "sector" not in by["2026-06-10/rrs"].extra and "sector" not in by["2026-06-05/aos"].extra


def test_only_table_10_is_read(parsed):
    """Tables 1-9 (allocations, nominations, the EOI pool; "Less than 10" and "Not
    applicable" in Table 7) hold no draw."""
    counts = {d.invitations for d in parsed.draws}
    assert not counts & {6403, 2869, 3534, 1269, 3425, 24187, 38353, 4767, 600, 38}
    assert sum(1 for d in parsed.draws if "invitations_below" in d.extra) == 4


def test_a_captcha_page_or_another_page_is_refused():
    captcha, _ = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2023.2026-06-19.md")
    with pytest.raises(SourceBlocked):
        parse_ab_processing(captcha, URL)
    other, _ = render(DATA / "bc_invitations_to_apply.2026-06-20.md")
    with pytest.raises(ParseError, match="no draw table"):
        parse_ab_processing(other, URL)


def test_every_stream_has_its_name_in_listings(parsed):
    from scraper.sources.ab_aaip import SOURCE

    names = {d.program: SOURCE.category_name(d.program) for d in parsed.draws}
    assert all(name != slug for slug, name in names.items())
    assert names["aees-priority-construction"] == "Alberta Express Entry Stream – Priority Sectors (Construction)"
    assert names["dhcp-ee"] == "Dedicated Health Care Pathway – Express Entry"


def test_an_unreadable_count_is_kept_verbatim_and_flagged(tmp_path):
    """The page with June 12's count typed "about 37"."""
    body = page_edited(DATA / PAGE, "| 52 | 37 |", "| 52 | about 37 |", tmp_path)
    result = parse_ab_processing(body, URL)
    [draw] = [d for d in result.draws if d.key == "2026-06-12/aees-priority-agriculture"]
    assert (draw.invitations, draw.score_min) == (None, 52)
    assert draw.extra["raw"] == {"invitations": "about 37"} and draw.flags == ["unreadable_invitations"]
    assert "invitations_below" not in draw.extra
    assert result.problems == ["2026-06-12/aees-priority-agriculture: invitations 'about 37' kept verbatim, flagged"]
