"""Ontario stream registry (scraper/sources/oinp/data/oinp_streams.toml) against the real pages."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from store.reference import noc
from scraper.sources.oinp import streams as reg
from scraper.sources.oinp.streams import RegistryError

DATA = Path(__file__).parent / "data"
CLOSED_2026 = {
    "foreign_worker", "international_student", "in_demand_skills", "masters_graduate",
    "phd_graduate", "hcp", "fssw", "skilled_trades",
}


def test_eight_streams_closed_on_2026_06_26_replaced_by_workforce_priority():
    closed = {s.slug for s in reg.streams() if s.closed == date(2026, 6, 26)}
    assert closed == CLOSED_2026
    assert {s.replaced_by for s in reg.streams() if s.slug in CLOSED_2026} == {"workforce_priority"}
    owp = reg.get_stream("workforce_priority")
    assert owp.opened == date(2026, 6, 26) and owp.closed is None
    assert reg.get_stream("entrepreneur").closed == date(2024, 11, 4)
    assert not reg.get_stream("hcp").is_open(date(2026, 6, 26))
    assert reg.get_stream("hcp").is_open(date(2026, 6, 25))


def test_pools_give_selection_kind_and_score_system():
    for slug in ("hcp", "fssw", "skilled_trades"):
        s = reg.get_stream(slug)
        assert (s.pool, s.selection_kind, s.score_system) == ("express_entry", "noi", "crs")
    for slug in ("foreign_worker", "international_student", "in_demand_skills",
                 "masters_graduate", "phd_graduate", "entrepreneur"):
        s = reg.get_stream(slug)
        assert (s.pool, s.selection_kind, s.score_system) == ("eoi", "ita", "oinp_eoi")
    assert reg.get_stream("corporate").selection_kind is None


# Names exactly as Ontario's pages wrote them (fixture pages, 2015-2026).
@pytest.mark.parametrize("written, slug", [
    ("Ontario Express Entry - Human Capital Priorities and Ontario French Speaking Skilled Workers Stream", "hcp"),
    ("Ontario’s Express Entry Human Capital Priorities ( HCP ) Stream", "hcp"),
    ("Express Entry – Human capital priorities notification of interest", "hcp"),
    ("Human Capital Priorities stream", "hcp"),
    ("the HCP Stream", "hcp"),
    ("Ontario French Speaking Skilled Workers Stream", "fssw"),
    ("Express Entry French-Speaking Skilled Worker stream: general occupations invited", "fssw"),
    ("Express Entry Skilled Trades stream: skilled trades occupations invited", "skilled_trades"),
    ("Skilled Trades Stream", "skilled_trades"),
    ("Employer Job Offer: Foreign Worker stream", "foreign_worker"),
    ("Employer Job Offer Foreign Worker stream: Physicians invited", "foreign_worker"),
    ("Employer Job Offer: International Students streams – health occupations and skilled trades invited",
     "international_student"),
    ("Employer job offer: International Student stream", "international_student"),
    ("Employer Job Offer In-Demand Skills stream: general occupations invited", "in_demand_skills"),
    ("International Students - Masters Graduate Stream", "masters_graduate"),
    ("International Student (Masters Graduate)", "masters_graduate"),
    ("the [Masters Graduate] and [PhDGraduate] streams", "masters_graduate"),
    ("International Students - PhD Graduate Stream", "phd_graduate"),
    ("InternationalPhDGraduate Stream", "phd_graduate"),
    ("Issued invitations to apply in the entrepreneur stream", "entrepreneur"),
    ("the Entrepreneur Stream (OINP:ES)", "entrepreneur"),
])
def test_find_stream_knows_the_names_used_over_the_years(written, slug):
    found = reg.find_stream(written)
    assert found is not None and found.slug == slug


def test_skilled_trades_occupations_are_not_the_skilled_trades_stream():
    assert reg.find_stream("Employer Job Offer streams: candidates invited in skilled trades-related occupations") is None
    assert [g.slug for g in reg.find_target_groups("skilled trades-related occupations")] == ["trades"]


def test_find_streams_keeps_the_order_of_the_text():
    text = "may qualify under the Employer Job Offer: Foreign Worker or International Student streams"
    assert [s.slug for s in reg.find_streams(text)] == ["foreign_worker", "international_student"]
    text = "Masters and PhD Graduate streams: candidates invited"
    assert [s.slug for s in reg.find_streams(text)] == ["masters_graduate", "phd_graduate"]


@pytest.mark.parametrize("written, slug", [
    ("Targeted draw for Central Ontario (excluding GTA ).", "central"),
    ("candidates invited in the Greater Toronto Area ( GTA )", "gta"),
    ("additional candidates in Greater Sudbury/Grand Sudbury invited", "sudbury"),
    ("Regional Economic Development through Immigration ( REDI ) candidates invited", "redi"),
    ("Targeted draw for Regional Immigration Pilot candidates.", "rip"),
])
def test_find_region(written, slug):
    assert reg.find_region(written).slug == slug


def test_target_groups_in_precedence_order():
    # The invitations page's notes, as written.
    groups = reg.find_target_groups("Targeted draw for health, manufacturing and agricultural occupations.")
    assert [g.slug for g in groups] == ["health", "agriculture", "manufacturing"]
    groups = reg.find_target_groups("Targeted draw for Priority Occupations in the Mining Sector.")
    assert [g.slug for g in groups] == ["mining", "priority"]
    assert [g.slug for g in reg.find_target_groups("Targeted draw for Francophones candidates")] == ["francophone"]
    assert reg.joint_groups() == (frozenset({"health", "tech"}),)


def test_tech_group_lists_the_codes_of_the_tech_draws_page():
    page = BeautifulSoup((DATA / "oinp_tech_draws.wayback2025.raw.html").read_bytes(), "html.parser")
    on_page = {m.group(1) for li in page.find_all("li")
               if (m := re.search(r"\(\s*NOC\s*(\d{5})\s*\)", li.get_text(" ")))}
    tech = next(g for g in reg.target_groups() if g.slug == "tech")
    listed = {lst.version: set(lst.codes) for lst in tech.noc_lists if lst.source.startswith("ontario.ca/page/oinp-tech")}
    assert len(on_page) == 9
    assert listed == {"2021": on_page}


def test_tech_group_lists_the_six_codes_of_the_2019_tech_draws():
    text = (DATA / "oinp_updates_2019.2026-06-19.md").read_text(encoding="utf-8")
    section = text[text.index("### August 1, 2019"):text.index("## July")]
    on_page = set(re.findall(r"^- (\d{4}) ", section, re.MULTILINE))
    tech = next(g for g in reg.target_groups() if g.slug == "tech")
    assert {"2173", "2174", "2147", "2175", "2172", "0213"} == on_page
    assert any(set(lst.codes) == on_page and lst.version == "2016" for lst in tech.noc_lists)


def test_every_listed_code_is_a_real_unit_group_of_its_version():
    for group in reg.target_groups():
        for lst in group.noc_lists:
            for code in lst.codes:
                unit = noc.lookup(code)
                assert unit is not None and unit.version == lst.version, (group.slug, code)


def test_registry_file_errors_name_the_problem():
    shipped = (Path(reg.__file__).parent / "data" / reg.DATA_FILE).read_text(encoding="utf-8")
    with pytest.raises(RegistryError, match=r"alias 'HCP' names both 'hcp' and 'fssw'"):
        reg.parse_registry(shipped.replace(
            '"French-Speaking Skilled Workers",', '"French-Speaking Skilled Workers", "HCP",'))
    with pytest.raises(RegistryError, match=r"pool 'pnp' is not one of"):
        reg.parse_registry(shipped.replace('pool = "direct"', 'pool = "pnp"', 1))
    with pytest.raises(RegistryError, match=r"replaced_by unknown stream 'ontario_priority'"):
        reg.parse_registry(shipped.replace('replaced_by = "workforce_priority"', 'replaced_by = "ontario_priority"', 1))
