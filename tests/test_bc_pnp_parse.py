"""BC's invitations-to-apply page read field by field: the raw page of 19 May 2026 as the
server sent it, and the copy of 20 June 2026, which exists only as a markdown conversion
of the live page and is rendered to HTML here (tests/md_render.py)."""
from datetime import date

import pytest

from scraper.records import ParseError, SourceBlocked
from scraper.sources.bc_pnp.parse import parse_bc_invitations
from scraper.sources.bc_pnp.source import URL
from tests.conftest import DATA, data
from tests.md_render import render

EARLY = "bc_invitations_to_apply.2026-05-19.raw.html"
LATE = "bc_invitations_to_apply.2026-06-20.md"

# (key, minimum score, score system, invitations, NOC codes), as the page prints them.
SKILLS_MAY = [
    ("2026-05-14/innovate-high-economic-impact/wage", None, None, 225, []),
    ("2026-05-14/innovate-high-economic-impact/points", 135, "bc_sirs", 212, []),
    ("2026-05-06/care-childcare/points", 115, "bc_sirs", 86, ["42202"]),
    ("2026-05-06/care-health/points", 108, "bc_sirs", 117, []),
    ("2026-05-06/care-veterinary-care/points", 100, "bc_sirs", 9, ["32104"]),
    ("2026-05-06/build-construction-trades/points", 108, "bc_sirs", 121, []),
]
PROSE = [
    ("2026-04-22/innovate-high-economic-impact/wage", None, None, 252, []),
    ("2026-04-22/innovate-high-economic-impact/points", 138, "bc_sirs", 232, []),
    ("2026-02-11/innovate-high-economic-impact/wage", None, None, 195, []),
    ("2026-02-11/innovate-high-economic-impact/points", 135, "bc_sirs", 265, []),
    ("2026-02-04/innovate-high-economic-impact/wage", None, None, 206, []),
    ("2026-02-04/innovate-high-economic-impact/points", 138, "bc_sirs", 223, []),
]
ENTREPRENEUR_MAY = [
    ("2026-05-05/entrepreneur-base", 115, "bc_entrepreneur", 8, []),
    ("2026-05-05/entrepreneur-regional", 115, "bc_entrepreneur", None, []),
    ("2026-04-14/entrepreneur-base", 115, "bc_entrepreneur", 14, []),
    ("2026-03-10/entrepreneur-base", 117, "bc_entrepreneur", 7, []),
    ("2026-03-10/entrepreneur-regional", 129, "bc_entrepreneur", None, []),
    ("2026-02-10/entrepreneur-base", 121, "bc_entrepreneur", 13, []),
    ("2026-02-10/entrepreneur-regional", 105, "bc_entrepreneur", None, []),
    ("2026-01-13/entrepreneur-base", 115, "bc_entrepreneur", 7, []),
]
SKILLS_JUNE = [
    ("2026-06-18/innovate-high-economic-impact/wage", None, None, 130, []),
    ("2026-06-18/innovate-high-economic-impact/points", 136, "bc_sirs", 149, []),
    ("2026-06-02/care-childcare/points", 111, "bc_sirs", 91, []),
    ("2026-06-02/care-health/points", 100, "bc_sirs", 117, []),
    ("2026-06-02/care-veterinary-care/points", 92, "bc_sirs", 6, ["32104"]),
    ("2026-06-02/build-construction-trades/points", 101, "bc_sirs", 128, []),
]
ENTREPRENEUR_JUNE = [("2026-06-02/entrepreneur-base", 117, "bc_entrepreneur", 15, []),
                     ("2026-06-02/entrepreneur-regional", 117, "bc_entrepreneur", None, [])]


def facts(draws):
    return [(d.key, d.score_min, d.score_system, d.invitations, d.noc_codes) for d in draws]


@pytest.fixture(scope="module")
def early():
    return parse_bc_invitations(data(EARLY), URL)


@pytest.fixture(scope="module")
def late():
    body, url = render(DATA / LATE)
    assert url == URL
    return parse_bc_invitations(body, url)


def test_the_raw_page_every_draw_field_exact(early):
    assert facts(early.draws) == SKILLS_MAY + PROSE + ENTREPRENEUR_MAY
    assert early.problems == []
    for d in early.draws:
        assert d.date == date.fromisoformat(d.key[:10]) and d.source == "bc_pnp" and d.selection_kind == "ita"
        assert d.score_max is None and d.url == URL
    by = {d.key: d for d in early.draws}
    assert by["2026-05-06/care-health/points"].extra["stream"] == "Care: Health"
    assert by["2026-05-06/care-childcare/points"].noc_version == "2021"
    # The padded, <br>-broken date cell spanning five rows dates each of them.
    assert [d.date for d in early.draws[2:6]] == [date(2026, 5, 6)] * 4


def test_the_veterinary_selection_is_one_draw_of_two_lines(early, late):
    for result, count, score in ((early, 9, 100), (late, 6, 92)):
        vet = [d for d in result.draws if d.program == "care-veterinary-care"]
        assert len(vet) == (1 if result is early else 2)
        draw = vet[0]
        assert (draw.invitations, draw.score_min) == (count, score)
        assert draw.extra["selection"] == [
            "All priority veterinary care occupations",
            "Animal health technologists and veterinary technicians (NOC 32104) with valid professional designation"]
        assert draw.extra["priority_list"] == "veterinary care"
    assert sum(d.invitations or 0 for d in early.draws if d.date == date(2026, 5, 6)) == 86 + 117 + 9 + 121


def test_wage_rounds_state_a_wage_and_no_score(early):
    by = {d.key: d for d in early.draws}
    wage = by["2026-05-14/innovate-high-economic-impact/wage"]
    assert (wage.score_min, wage.score_system, wage.extra["route"]) == (None, None, "wage")
    assert (wage.extra["wage_hourly"], wage.extra["wage_annual"]) == (59, 120000)
    assert wage.extra["selection"] == ["Minimum wage of $59/hour and $120,000/year, and NOC 0, 1, 2, or 3"]
    prose = by["2026-02-04/innovate-high-economic-impact/wage"]
    assert (prose.extra["wage_hourly"], prose.extra["wage_annual"], prose.invitations) == (70, 145000, 206)
    points = by["2026-05-14/innovate-high-economic-impact/points"]
    assert (points.extra["route"], points.score_min, points.score_system) == ("points", 135, "bc_sirs")


def test_prose_rounds_add_up_to_their_totals(early):
    for day, total in (("2026-04-22", 484), ("2026-02-11", 460), ("2026-02-04", 429)):
        routes = [d for d in early.draws if d.key.startswith(day)]
        assert len(routes) == 2 and sum(d.invitations for d in routes) == total
        assert all(d.extra["announced_total"] == total and "total_mismatch" not in d.flags for d in routes)


def test_a_count_below_five_is_a_bound_not_a_number(early):
    regional = [d for d in early.draws if d.program == "entrepreneur-regional"]
    assert len(regional) == 3
    for d in regional:
        assert d.invitations is None and d.extra["invitations_below"] == 5
        assert d.extra["raw"] == {"invitations": "<5"} and d.flags == ["invitations_bound"]


def test_the_registration_pool_is_not_a_draw(early, late):
    for result in (early, late):
        counts = {d.invitations for d in result.draws}
        assert not counts & {5, 32, 522, 1148, 1550, 2107, 9967, 9902, 1128}
        assert not any("range" in d.title.lower() or "registration" in d.title.lower() for d in result.draws)


def test_the_markdown_copy_reads_as_the_page(early, late):
    """The markdown loses the spans (continuation rows shifted left, the veterinary line
    alone): read the same, with June's draws on top."""
    assert facts(late.draws) == SKILLS_JUNE + SKILLS_MAY + PROSE + ENTREPRENEUR_JUNE + ENTREPRENEUR_MAY
    assert late.problems == []
    shared = {d.key: d for d in late.draws}
    for d in early.draws:
        other = shared[d.key]
        assert (other.date, other.title, other.program, other.extra) == (d.date, d.title, d.program, d.extra)
    by = {d.key: d for d in late.draws}
    # June prints "Early childhood educators *" where May printed the code.
    assert by["2026-06-02/care-childcare/points"].extra["occupations"] == "Early childhood educators"
    assert by["2026-05-06/care-childcare/points"].noc_codes == ["42202"]


def test_a_captcha_page_or_another_page_is_refused():
    captcha, _ = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2024.2026-06-19.md")
    with pytest.raises(SourceBlocked):
        parse_bc_invitations(captcha, URL)
    other, _ = render(DATA / "nl_invitations_to_apply_updates.2026-06-20.md")
    with pytest.raises(ParseError, match="no Skills Immigration invitations table"):
        parse_bc_invitations(other, URL)
    with pytest.raises(ParseError):
        parse_bc_invitations(b"", URL)



def test_every_stream_has_its_name_in_listings(late):
    from scraper.sources.bc_pnp import SOURCE

    assert sorted({SOURCE.category_name(d.program) for d in late.draws}) == [
        "Entrepreneur Immigration – Base", "Entrepreneur Immigration – Regional",
        "Skills Immigration – Build: Construction Trades", "Skills Immigration – Care: Childcare",
        "Skills Immigration – Care: Health", "Skills Immigration – Care: Veterinary Care",
        "Skills Immigration – Innovate: High Economic Impact"]


def test_an_unreadable_score_is_kept_verbatim_and_flagged():
    """The raw page with Care: Health's score of May 6 mistyped ("1O8", a letter O)."""
    page = data(EARLY)
    assert page.count(b">108<br>") == 2                      # Care: Health's, then Construction's
    result = parse_bc_invitations(page.replace(b">108<br>", b">1O8<br>", 1), URL)
    by = {d.key: d for d in result.draws}
    health = by["2026-05-06/care-health/points"]
    assert (health.score_min, health.score_system, health.invitations) == (None, None, 117)
    assert health.extra["raw"] == {"score": "1O8"} and health.flags == ["unreadable_score"]
    # Still a selection of some occupations only, whatever its score.
    assert health.extra["occupations"] == "All priority health care occupations"
    assert result.problems == ["2026-05-06/care-health/points: score '1O8' kept verbatim, flagged"]
    assert by["2026-05-06/build-construction-trades/points"].score_min == 108
