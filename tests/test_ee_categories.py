"""Express Entry round names -> (category, version) -> NOC lists, against the real feeds."""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from scraper.sources.express_entry import categories as ee
from store.reference import noc
from store.reference.noc import NocError

DATA = Path(__file__).parent / "data"
SNAPSHOTS = sorted(DATA.glob("ee_rounds_123_en.*.json"))
MALFORMED = "ee_rounds_123_en.2025-02-19.raw.MALFORMED.json"

# Every drawName in the six snapshots and what it must resolve to (None: no occupation
# list, slug is the program). From the notes beside the category data.
EXPECTED = {
    "No Program Specified": ("no_program", None),
    "Canadian Experience Class": ("cec", None),
    "Provincial Nominee Program": ("pnp", None),
    "Federal Skilled Trades": ("fst", None),
    "Federal Skilled Worker": ("fsw", None),
    "General": ("general", None),
    "Healthcare occupations (Version 1)": ("healthcare", "Version 1"),
    "STEM occupations (Version 1)": ("stem", "Version 1"),
    "French language proficiency (Version 1)": ("french", "Version 1"),
    "Trade occupations (Version 1)": ("trades", "Version 1"),
    "Transport occupations (Version 1)": ("transport", "Version 1"),
    "Agriculture and agri-food occupations (Version 1)": ("agriculture", "Version 1"),
    "Education occupations (Version 1)": ("education", "Version 1"),
    "Healthcare and social services occupations (Version 2)": ("healthcare", "Version 2"),
    "Trade occupations (Version 2)": ("trades", "Version 2"),
    "French-Language proficiency 2026-Version 2": ("french", "2026-Version 2"),
    "Physicians with Canadian Work Experience, 2026-Version 1": ("physicians", "2026-Version 1"),
    "Healthcare and Social Services Occupations, 2026-Version 3": ("healthcare", "2026-Version 3"),
    "Senior managers with Canadian Work Experience, 2026-Version 1":
        ("senior_managers", "2026-Version 1"),
    "Trades Occupations, 2026-Version 3": ("trades", "2026-Version 3"),
}


def load_rounds(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    if path.name == MALFORMED:
        # The real file lacks its `"rounds": [` line (what IRCC served for a while); it
        # is restored here so its round names can be read, after checking it still fails.
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        text = text.replace('"wb-tables",', '"wb-tables", "rounds": [', 1)
    return json.loads(text)["rounds"]


def snapshot_names() -> set[str]:
    return {r["drawName"] for path in SNAPSHOTS for r in load_rounds(path)}


def test_all_six_snapshots_are_read():
    assert len(SNAPSHOTS) == 6 and MALFORMED in {p.name for p in SNAPSHOTS}
    assert len(load_rounds(DATA / MALFORMED)) > 300


def test_every_round_name_in_the_feeds_resolves():
    names = snapshot_names()
    assert names == set(EXPECTED)
    for name in names:
        got = ee.resolve_round_name(name)
        assert got.known, name
        assert (got.slug, got.version_label) == EXPECTED[name], name
        nocs = ee.category_nocs(got.slug, got.version_label)
        if got.has_occupation_list:
            assert nocs, f"{name}: no NOC list for {got.slug} {got.version_label}"
            assert "no list" not in ee.describe(got.slug, got.version_label)
        else:
            assert nocs is None, name
            assert ee.CATEGORIES[got.slug].kind in ("program", "language"), name


@pytest.mark.parametrize("name", ["French language proficiency (Version 1)",
                                  "French-Language proficiency 2026-Version 2"])
def test_french_rounds_carry_their_language_rule(name):
    got = ee.resolve_round_name(name)
    assert got.slug == "french" and not got.has_occupation_list
    assert "NCLC 7" in got.language_rule and "all four abilities" in got.language_rule
    assert got.language_rule in ee.describe(got.slug, got.version_label)


def test_program_rounds_have_no_rule_or_list():
    got = ee.resolve_round_name("Federal Skilled Trades")   # not the trades category
    assert (got.slug, got.has_occupation_list, got.language_rule) == ("fst", False, None)
    assert ee.describe("fst", None) == "Federal Skilled Trades: program round, no occupation list"


def category_rows() -> list[dict[str, str]]:
    text = resources.files(ee.__package__).joinpath("data", ee.CATEGORY_FILE).read_text(
        encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_every_noc_in_the_category_file_is_a_real_2021_unit_group():
    rows = category_rows()
    assert len(rows) == 257
    for row in rows:
        if row["category_key"] == "french":
            assert row["noc2021"] == ""
            continue
        unit = noc.lookup(row["noc2021"])
        assert unit is not None and unit.version == "2021", row["noc2021"]
        assert unit.title == row["title"], row["noc2021"]


def test_versions_and_list_sizes():
    sizes = {(v.slug, v.version_label): len(v.nocs) for v in ee.versions()}
    assert sizes == {
        ("healthcare", "Version 1"): 35, ("stem", "Version 1"): 24, ("trades", "Version 1"): 10,
        ("transport", "Version 1"): 10, ("agriculture", "Version 1"): 3,
        ("french", "Version 1"): 0, ("healthcare", "Version 2"): 37, ("stem", "Version 2"): 11,
        ("trades", "Version 2"): 25, ("agriculture", "Version 2"): 1,
        ("education", "Version 1"): 5, ("physicians", "2026-Version 1"): 3,
        ("french", "2026-Version 2"): 0, ("healthcare", "2026-Version 3"): 37,
        ("trades", "2026-Version 3"): 25, ("transport", "2026-Version 2"): 4,
        ("stem", "2026-Version 3"): 11, ("education", "2026-Version 2"): 5,
        ("senior_managers", "2026-Version 1"): 4, ("researchers", "2026-Version 1"): 2,
        ("military", "2026-Version 1"): 3,
    }
    stem = ee.category_version("stem", "Version 2")
    assert (stem.valid_from, stem.confidence) == (date(2025, 2, 27), "low")
    assert ee.category_version("physicians", "2026-Version 1").valid_from == date(2025, 12, 8)


def test_lists_differ_by_version():
    assert "21231" in ee.category_nocs("stem", "Version 1")
    assert "21231" not in ee.category_nocs("stem", "Version 2")
    assert "63200" in ee.category_nocs("trades", "Version 2")
    assert "63200" not in ee.category_nocs("trades", "2026-Version 3")
    assert "63201" in ee.category_nocs("trades", "2026-Version 3")
    assert ee.category_nocs("transport", "2026-Version 2") == {"22313", "72404", "72410", "72600"}


def test_categories_for_noc():
    found = [(v.slug, v.version_label) for v in ee.categories_for_noc("31102")]
    assert found == [("healthcare", "Version 1"), ("healthcare", "Version 2"),
                     ("physicians", "2026-Version 1"), ("healthcare", "2026-Version 3")]
    assert [(v.slug, v.version_label) for v in ee.categories_for_noc("21231")] == \
        [("stem", "Version 1")]
    assert ee.categories_for_noc("00010") == []
    with pytest.raises(NocError, match="NOC 2016 code"):
        ee.categories_for_noc("2173")


def test_a_version_without_a_list_is_reported_not_guessed():
    got = ee.resolve_round_name("STEM occupations, 2027-Version 4")
    assert (got.slug, got.version_label, got.known, got.has_occupation_list) == \
        ("stem", "2027-Version 4", True, True)
    assert ee.category_nocs(got.slug, got.version_label) is None
    assert ee.describe(got.slug, got.version_label) == \
        "no list for STEM occupations 2027-Version 4 in the category data"
    unversioned = ee.resolve_round_name("STEM occupations")
    assert unversioned.version_label is None
    assert ee.category_nocs("stem", None) is None
    # A French version missing from the data has no rule to report either.
    assert ee.resolve_round_name("French-Language proficiency 2027-Version 3").language_rule is None


@pytest.mark.parametrize("name", [
    "", "Construction occupations (Version 1)", "Healthcare and education occupations (Version 1)",
    "Canadian Experience Class, 2026-Version 1",
])
def test_unrecognised_names_are_unknown(name):
    got = ee.resolve_round_name(name)
    assert (got.slug, got.known, got.version_label) == ("unknown", False, None)
    assert ee.category_nocs(got.slug, got.version_label) is None


def test_canadian_experience_categories_win_over_generic_keywords():
    assert ee.resolve_round_name(
        "Physicians in healthcare with Canadian Work Experience, 2026-Version 1").slug == "physicians"
    assert ee.resolve_round_name(
        "Senior managers in health care, 2026-Version 1").slug == "senior_managers"


def test_version_labels_are_normalised():
    assert ee.normalize_version_label("(version 1)") == "Version 1"
    assert ee.normalize_version_label("2026 - Version 3") == "2026-Version 3"
    assert ee.category_nocs("healthcare", "(Version 1)") == ee.category_nocs("healthcare", "Version 1")
