"""NOC 2021 V1.0 unit groups and hierarchy, NOC 2016 V1.3 titles, and the official
2016 -> 2021 correspondence (many-to-many), from Statistics Canada's files in ``data/``.

Codes are always zero-padded strings: four digits for NOC 2016 ("0213"), five for
NOC 2021 ("00010"). The correspondence file drops leading zeros ("213", "10"); it is
padded on load, so nothing outside this module ever sees an unpadded code.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Sequence

from store.reference import read_data_csv

log = logging.getLogger(__name__)

STRUCTURE_FILE = "statcan_noc_2021_version_1.0_-_classification_structure.csv"
CORRESPONDENCE_FILE = "statcan_noc2016v1_3-noc2021v1_0-eng.2026-03-02.csv"

CODE_LENGTH = {"2016": 4, "2021": 5}
_VERSION_OF_LENGTH = {n: v for v, n in CODE_LENGTH.items()}


class NocError(ValueError):
    """A NOC code that is malformed or unknown, or a reference file that cannot be read."""


@dataclass(frozen=True)
class NocUnit:
    """One unit group. Hierarchy fields beyond the first digit exist for NOC 2021 only:
    the shipped files carry no NOC 2016 hierarchy titles."""

    code: str
    version: str                      # "2016" or "2021"
    title: str
    broad_category: str               # first digit (for 2016: the skill type digit)
    broad_category_title: str | None = None
    teer: int | None = None           # NOC 2021: second digit
    major_group: str | None = None
    major_group_title: str | None = None
    sub_major_group: str | None = None
    sub_major_group_title: str | None = None
    minor_group: str | None = None
    minor_group_title: str | None = None


@dataclass(frozen=True)
class StructureEntry:
    """One row of the NOC 2021 classification structure (any level)."""

    level: int                        # 1 broad category .. 5 unit group
    level_name: str                   # "Broad Category", ..., "Unit Group"
    code: str
    title: str


@dataclass(frozen=True)
class Correspondence:
    """One row of the 2016 -> 2021 correspondence."""

    code2016: str
    title2016: str
    code2021: str
    title2021: str
    change_types: tuple[str, ...]     # normalised GSIM labels: "RC4.2 - Split off", ...
    notes: str


@dataclass(frozen=True)
class _Tables:
    structure: tuple[StructureEntry, ...]
    units: dict[tuple[str, str], NocUnit]     # (version, code) -> unit
    rows: tuple[Correspondence, ...]
    to_2021: dict[str, frozenset[str]]
    to_2016: dict[str, frozenset[str]]
    search_index: tuple[tuple[NocUnit, frozenset[str]], ...]


def _pad(raw: str, version: str, where: str) -> str:
    if not raw.isdigit() or len(raw) > CODE_LENGTH[version]:
        raise NocError(f"{where}: {raw!r} is not a NOC {version} code")
    return raw.zfill(CODE_LENGTH[version])


def _load_structure() -> tuple[tuple[StructureEntry, ...], dict[tuple[str, str], NocUnit]]:
    entries = []
    for line, row in read_data_csv(STRUCTURE_FILE):
        try:
            entries.append(StructureEntry(int(row["Level"]), row["Hierarchical structure"],
                                          row["Code - NOC 2021 V1.0"], row["Class title"]))
        except (KeyError, ValueError) as exc:
            raise NocError(f"{STRUCTURE_FILE} line {line}: unreadable row ({exc})") from exc
    # The code's prefixes name its ancestors; the structure file gives their titles.
    titles = {e.code: e.title for e in entries if e.level < 5}
    units: dict[tuple[str, str], NocUnit] = {}
    for e in entries:
        if e.level != 5:
            continue
        c = e.code
        if len(c) != 5 or not c.isdigit() or any(c[:n] not in titles for n in (1, 2, 3, 4)):
            raise NocError(f"{STRUCTURE_FILE}: unit group {c!r} has no complete hierarchy")
        units[("2021", c)] = NocUnit(
            code=c, version="2021", title=e.title,
            broad_category=c[0], broad_category_title=titles[c[0]], teer=int(c[1]),
            major_group=c[:2], major_group_title=titles[c[:2]],
            sub_major_group=c[:3], sub_major_group_title=titles[c[:3]],
            minor_group=c[:4], minor_group_title=titles[c[:4]],
        )
    return tuple(entries), units


_CHANGE_CODE = re.compile(r"\b([RV]C\d+(?:\.\d+)?)\b")


def _change_normaliser(raw_cells: list[str]):
    """Normalise GSIM change types. The official file has a few slips ("RC5" alone,
    "RC5 VC1 - Code Change" without its comma, "Transfer" without its code); the labels
    for each code are learnt from the well-formed entries of the same file."""
    labels: dict[str, str] = {}
    for cell in raw_cells:
        for part in cell.split(","):
            m = re.fullmatch(r"\s*([RV]C\d+(?:\.\d+)?)\s+-\s+(.+?)\s*", part)
            if m:
                labels.setdefault(m[1], m[2])
    by_label = {label.lower(): code for code, label in labels.items()}

    def normalise(cell: str, where: str) -> tuple[str, ...]:
        out: list[str] = []
        for part in (p.strip() for p in cell.split(",")):
            if not part:
                continue
            codes = _CHANGE_CODE.findall(part) or (
                [by_label[part.lower()]] if part.lower() in by_label else [])
            if not codes:
                raise NocError(f"{where}: unrecognised change type {part!r}")
            for code in codes:
                name = f"{code} - {labels[code]}" if code in labels else code
                if name not in out:
                    out.append(name)
        return tuple(out)

    return normalise


def _load_correspondence(units21: dict[tuple[str, str], NocUnit]):
    raw = read_data_csv(CORRESPONDENCE_FILE)
    normalise = _change_normaliser([row.get("GSIM Type of Change", "") for _, row in raw])
    rows: list[Correspondence] = []
    titles16: dict[str, str] = {}
    for line, row in raw:
        where = f"{CORRESPONDENCE_FILE} line {line}"
        try:
            c16 = _pad(row["NOC 2016 V1.3 Code"], "2016", where)
            c21 = _pad(row["NOC 2021 V1.0 Code"], "2021", where)
            t16, t21 = row["NOC 2016 V1.3 Title"], row["NOC 2021 V1.0 Title"]
            change = normalise(row["GSIM Type of Change"], where)
        except KeyError as exc:
            raise NocError(f"{where}: missing column {exc}") from exc
        if ("2021", c21) not in units21:
            raise NocError(f"{where}: {c21} is not a NOC 2021 unit group")
        if titles16.setdefault(c16, t16) != t16:
            raise NocError(f"{where}: NOC 2016 {c16} has two titles: {titles16[c16]!r}, {t16!r}")
        rows.append(Correspondence(c16, t16, c21, t21, change, row.get("Notes", "")))
    units16 = {("2016", c): NocUnit(code=c, version="2016", title=t, broad_category=c[0])
               for c, t in titles16.items()}
    return tuple(rows), units16


@cache
def _tables() -> _Tables:
    structure, units = _load_structure()
    rows, units16 = _load_correspondence(units)
    units.update(units16)
    to21: dict[str, set[str]] = {}
    to16: dict[str, set[str]] = {}
    for r in rows:
        to21.setdefault(r.code2016, set()).add(r.code2021)
        to16.setdefault(r.code2021, set()).add(r.code2016)
    index = tuple((u, frozenset(_words(u.title))) for u in units.values())
    log.debug("loaded %d NOC units and %d correspondence rows", len(units), len(rows))
    return _Tables(structure, units, rows,
                   {k: frozenset(v) for k, v in to21.items()},
                   {k: frozenset(v) for k, v in to16.items()}, index)


def _shape(code: str) -> tuple[str, str]:
    """(code, version) from the shape alone; NocError if it is not 4 or 5 digits."""
    text = "".join(str(code).split())
    if not text.isdigit() or len(text) not in _VERSION_OF_LENGTH:
        raise NocError(f"{code!r} is not a NOC code: use 4 digits for NOC 2016 (e.g. 0213) "
                       f"or 5 digits for NOC 2021 (e.g. 20012)")
    return text, _VERSION_OF_LENGTH[len(text)]


def normalize_code(code: str) -> tuple[str, str]:
    """(zero-padded code, "2016" | "2021") for a known code; NocError otherwise."""
    text, version = _shape(code)
    if (version, text) not in _tables().units:
        raise NocError(f"{text} is not a NOC {version} unit group")
    return text, version


def lookup(code: str) -> NocUnit | None:
    """The unit group of either version; None if the code is well-formed but unknown."""
    text, version = _shape(code)
    return _tables().units.get((version, text))


def unit_groups(version: str = "2021") -> list[NocUnit]:
    """Every unit group of one version, in code order."""
    if version not in CODE_LENGTH:
        raise NocError(f"unknown NOC version {version!r}: use '2016' or '2021'")
    return sorted((u for (v, _), u in _tables().units.items() if v == version),
                  key=lambda u: u.code)


def structure() -> tuple[StructureEntry, ...]:
    """The NOC 2021 classification structure, every level, in file order."""
    return _tables().structure


def correspondence() -> tuple[Correspondence, ...]:
    """Every row of the 2016 -> 2021 correspondence, in file order."""
    return _tables().rows


def _require(code: str, version: str) -> str:
    text, found = normalize_code(code)
    if found != version:
        raise NocError(f"{text} is a NOC {found} code; a NOC {version} code is expected here")
    return text


def to_2021(code2016: str) -> set[str]:
    """The NOC 2021 unit groups a NOC 2016 unit group became."""
    return set(_tables().to_2021[_require(code2016, "2016")])


def to_2016(code2021: str) -> set[str]:
    """The NOC 2016 unit groups a NOC 2021 unit group came from (empty for none)."""
    return set(_tables().to_2016.get(_require(code2021, "2021"), ()))


def as_2021(code: str) -> set[str]:
    """A code of either version in NOC 2021 terms: itself, or its crosswalk."""
    text, version = normalize_code(code)
    return {text} if version == "2021" else set(_tables().to_2021[text])


def changes(code: str) -> list[Correspondence]:
    """Correspondence rows for a code of either version, with their change types."""
    text, version = normalize_code(code)
    field = "code2016" if version == "2016" else "code2021"
    return [r for r in _tables().rows if getattr(r, field) == text]


# Words too common in titles to narrow a search; dropped unless the query is only these.
_STOPWORDS = frozenset({"a", "an", "and", "or", "of", "the", "in", "for", "to", "with", "n", "e", "c"})


def _stem(word: str) -> str:
    """Plural tolerance only: "engineers" -> "engineer", "policies" -> "policy"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", plain)]


def search(words: str, limit: int = 20) -> list[NocUnit]:
    """Unit groups of both versions whose title holds every word (as a word or a word's
    start, plurals tolerated); whole-word hits first, then shorter titles, NOC 2021 first."""
    query = _words(words)
    wanted = [w for w in query if w not in _STOPWORDS] or query
    if not wanted:
        raise NocError(f"search needs at least one word, got {words!r}")
    hits = []
    for unit, title_words in _tables().search_index:
        exact = 0
        for w in wanted:
            if w in title_words:
                exact += 1
            elif len(w) < 3 or not any(t.startswith(w) for t in title_words):
                break
        else:
            hits.append(((-exact, len(unit.title), unit.version != "2021", unit.code), unit))
    hits.sort(key=lambda h: h[0])
    return [unit for _, unit in hits[:limit]]


def noc2021_codes(values: Sequence[str]) -> list[str]:
    """User NOC codes (2016 or 2021) as the NOC 2021 codes draws are indexed by; a code
    that is no NOC unit group raises ``NocError``."""
    codes: set[str] = set()
    for value in values:
        code, _version = normalize_code(value)
        codes |= as_2021(code)
    return sorted(codes)
