"""NOC 2021 / 2016 reference data against Statistics Canada's official files."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from store.reference import noc
from store.reference.noc import NocError

DATA = Path(__file__).parent / "data"
STRUCTURE = DATA / noc.STRUCTURE_FILE
CORRESPONDENCE = DATA / noc.CORRESPONDENCE_FILE


def raw_rows(path: Path) -> list[list[str]]:
    """The official file read with nothing but the csv module (header row included)."""
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


@pytest.mark.parametrize("name", [noc.STRUCTURE_FILE, noc.CORRESPONDENCE_FILE])
def test_shipped_files_are_the_official_files(name):
    shipped = resources.files("store.reference").joinpath("data", name).read_bytes()
    assert shipped == (DATA / name).read_bytes()


def test_official_files_have_the_quirks_the_loader_handles():
    for path in (STRUCTURE, CORRESPONDENCE):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path.name
    header = raw_rows(CORRESPONDENCE)[0]
    assert " GSIM Type of Change" in header
    codes2016 = {row[0] for row in raw_rows(CORRESPONDENCE)[1:]}
    codes2021 = {row[3] for row in raw_rows(CORRESPONDENCE)[1:]}
    assert {"213", "11"} <= codes2016 and "0213" not in codes2016
    assert {"10", "11"} <= codes2021 and "00010" not in codes2021


def test_structure_counts():
    assert len(raw_rows(STRUCTURE)) - 1 == 822
    entries = noc.structure()
    assert len(entries) == 822
    assert Counter(e.level for e in entries) == {1: 10, 2: 45, 3: 89, 4: 162, 5: 516}
    units = noc.unit_groups("2021")
    assert len(units) == 516
    assert all(len(u.code) == 5 and u.code.isdigit() and u.version == "2021" for u in units)


def test_hierarchy_of_every_unit_group():
    titles = {e.code: e.title for e in noc.structure()}
    for u in noc.unit_groups():
        assert u.teer == int(u.code[1])
        assert u.broad_category == u.code[0]
        assert (u.broad_category_title, u.major_group_title, u.sub_major_group_title,
                u.minor_group_title) == tuple(titles[u.code[:n]] for n in (1, 2, 3, 4))
        assert u.title == titles[u.code]


def test_unit_group_21231():
    u = noc.lookup("21231")
    assert u.title == "Software engineers and designers"
    assert (u.version, u.teer, u.broad_category, u.major_group, u.sub_major_group,
            u.minor_group) == ("2021", 1, "2", "21", "212", "2123")
    assert u.broad_category_title == "Natural and applied sciences and related occupations"
    assert u.minor_group_title == "Computer, software and Web designers and developers"
    assert noc.lookup("00010").teer == 0


def test_correspondence_counts_and_every_2016_code_resolves():
    assert len(raw_rows(CORRESPONDENCE)) - 1 == 585
    rows = noc.correspondence()
    assert len(rows) == 585
    codes2016 = {r.code2016 for r in rows}
    assert len(codes2016) == 500 == len(noc.unit_groups("2016"))
    for code in codes2016:
        unit = noc.lookup(code)
        assert unit is not None and unit.version == "2016" and len(code) == 4
        mapped = noc.to_2021(code)
        assert mapped and all(noc.lookup(c).version == "2021" for c in mapped)
    # Every NOC 2021 unit group appears on the 2021 side, with the structure's title.
    assert {r.code2021 for r in rows} == {u.code for u in noc.unit_groups()}
    assert all(noc.lookup(r.code2021).title == r.title2021 for r in rows)


def test_padding_of_the_correspondence_codes():
    assert noc.lookup("0213").title == "Computer and information systems managers"
    assert noc.to_2021("0213") == {"20012"}
    assert noc.lookup("00010").title == "Legislators"
    assert noc.to_2016("00010") == {"0011"}
    assert noc.lookup("0011").title == "Legislators"


# Ontario's 2019-era tech draws published these NOC 2016 codes; expected 2021 codes as
# the official correspondence gives them.
@pytest.mark.parametrize("code2016, expected", [
    ("0213", {"20012"}),
    ("2147", {"21311"}),
    ("2171", {"21211", "21220", "21221", "21222", "21233"}),
    ("2172", {"21211", "21223"}),
    ("2173", {"21211", "21231"}),
    ("2174", {"21230", "21232", "21234"}),
    ("2175", {"21233", "21234"}),
])
def test_ontario_tech_codes_map_to_2021(code2016, expected):
    assert noc.to_2021(code2016) == expected
    assert noc.as_2021(code2016) == expected


def test_reverse_mapping_is_the_inverse():
    assert noc.to_2016("21231") == {"2173"}
    assert noc.to_2016("21211") == {"2171", "2172", "2173"}
    for r in noc.correspondence():
        assert r.code2021 in noc.to_2021(r.code2016)
        assert r.code2016 in noc.to_2016(r.code2021)


def test_as_2021_is_identity_for_2021_codes():
    assert noc.as_2021("21231") == {"21231"}
    assert noc.as_2021(" 00010 ") == {"00010"}


def test_change_types_are_normalised():
    labels = Counter(t for r in noc.correspondence() for t in r.change_types)
    assert set(labels) == {"VC1 - Code Change", "VC2 - Name Change", "RC5 - Transfer",
                           "RC4.2 - Split off", "RC4.1 - Breakdown", "RC3.1 - Merger",
                           "RC3.2 - Take-over"}
    assert labels["VC2 - Name Change"] == 585
    split = {r.code2021: r.change_types for r in noc.changes("2173")}
    assert "RC4.2 - Split off" in split["21211"]
    # 1227's rows carry the file's slips: "RC5 VC1 - Code Change" and a bare "Transfer".
    court = {r.code2021: r.change_types for r in noc.changes("1227")}
    assert court["14103"] == ("RC4.2 - Split off", "RC5 - Transfer", "VC1 - Code Change",
                              "VC2 - Name Change")
    assert court["42200"] == ("RC5 - Transfer", "VC1 - Code Change", "VC2 - Name Change")
    assert [r.code2016 for r in noc.changes("21211")] == ["2171", "2172", "2173"]


def test_normalize_code():
    assert noc.normalize_code(" 21231 ") == ("21231", "2021")
    assert noc.normalize_code("2173") == ("2173", "2016")
    assert noc.normalize_code("0213") == ("0213", "2016")


@pytest.mark.parametrize("bad, message", [
    ("213", "4 digits"), ("212310", "4 digits"), ("NOC", "4 digits"), ("", "4 digits"),
    ("99999", "not a NOC 2021 unit group"), ("9999", "not a NOC 2016 unit group"),
])
def test_normalize_code_rejects(bad, message):
    with pytest.raises(NocError, match=message):
        noc.normalize_code(bad)
    assert issubclass(NocError, ValueError)


def test_lookup_unknown_and_malformed():
    assert noc.lookup("99999") is None
    with pytest.raises(NocError):
        noc.lookup("213")


def test_mapping_functions_check_the_version():
    with pytest.raises(NocError, match="NOC 2021 code; a NOC 2016 code is expected"):
        noc.to_2021("21231")
    with pytest.raises(NocError, match="NOC 2016 code; a NOC 2021 code is expected"):
        noc.to_2016("2173")


def test_search_software_engineer():
    found = noc.search("software engineer")
    assert (found[0].code, found[0].version) == ("21231", "2021")
    assert ("2173", "2016") in {(u.code, u.version) for u in found}
    assert [u.code for u in noc.search("SOFTWARE Engineers")] == [u.code for u in found]


def test_search_plurals_prefixes_and_limits():
    assert [u.code for u in noc.search("nurse")] == [u.code for u in noc.search("nurses")]
    assert "31301" in {u.code for u in noc.search("registered nurse")}
    assert "21232" in {u.code for u in noc.search("software develop")}
    assert len(noc.search("manager", limit=5)) == 5
    assert noc.search("astronaut") == []
    with pytest.raises(NocError):
        noc.search("  ")


def test_search_matches_all_words():
    for unit in noc.search("data scientist", limit=50):
        assert re.search(r"\bdata\b", unit.title, re.I) and re.search(r"scientist", unit.title, re.I)
