"""Express Entry rounds: round name -> (category, version) -> NOC 2021 eligibility list.

IRCC replaces category lists every year and names the list in force only through a
suffix of the round name: "(Version 1)" or ", 2026-Version 3". The lists themselves
are in ``data/ee_category_nocs.csv`` (sources and confidence per row; notes in the
``.md`` beside it). A round whose (category, version) has no list there is reported by
the caller, never matched against a neighbouring version.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

from store.reference import read_data_csv
from store.reference.noc import NocError, normalize_code

log = logging.getLogger(__name__)

CATEGORY_FILE = "ee_category_nocs.csv"
CONFIDENCE_ORDER = ("low", "medium", "high")

# Prefix of the title column on French-language rows, which carry a rule, not a list.
_NO_LIST_PREFIX = "No occupation list:"


class CategoryDataError(ValueError):
    """The category data file is inconsistent (names the file and line)."""


@dataclass(frozen=True)
class Category:
    slug: str
    title: str
    kind: str            # "program": program round; "language": rule, no list; "occupation"


CATEGORIES: dict[str, Category] = {c.slug: c for c in (
    Category("no_program", "No Program Specified", "program"),
    Category("cec", "Canadian Experience Class", "program"),
    Category("fsw", "Federal Skilled Worker", "program"),
    Category("fst", "Federal Skilled Trades", "program"),
    Category("pnp", "Provincial Nominee Program", "program"),
    Category("general", "General", "program"),
    Category("french", "French-language proficiency", "language"),
    Category("healthcare", "Healthcare and social services occupations", "occupation"),
    Category("stem", "STEM occupations", "occupation"),
    Category("trades", "Trade occupations", "occupation"),
    Category("transport", "Transport occupations", "occupation"),
    Category("agriculture", "Agriculture and agri-food occupations", "occupation"),
    Category("education", "Education occupations", "occupation"),
    Category("physicians", "Physicians with Canadian work experience", "occupation"),
    Category("senior_managers", "Senior managers with Canadian work experience", "occupation"),
    Category("researchers", "Researchers with Canadian work experience", "occupation"),
    Category("military", "Skilled military recruits", "occupation"),
)}

# Program rounds are matched on their whole name only: a keyword would misfire
# ("Federal Skilled Trades" is not the trades category).
_PROGRAM_NAMES = {
    "no program specified": "no_program",
    "canadian experience class": "cec",
    "federal skilled worker": "fsw",
    "federal skilled worker program": "fsw",
    "federal skilled trades": "fst",
    "federal skilled trades program": "fst",
    "provincial nominee program": "pnp",
    "general": "general",
}

# The three 2026 categories with Canadian experience are tested first: their names may
# also hold a generic keyword ("Senior managers ... health ...").
_PRIORITY_KEYWORDS = (
    ("physicians", re.compile(r"\bphysician")),
    ("senior_managers", re.compile(r"\bsenior\s+managers?\b")),
    ("researchers", re.compile(r"\bresearch")),
)
_GENERIC_KEYWORDS = (
    ("french", re.compile(r"\bfrench\b")),
    ("healthcare", re.compile(r"\bhealth")),
    ("stem", re.compile(r"\bstem\b")),
    ("trades", re.compile(r"\btrades?\b")),
    ("transport", re.compile(r"\btransport")),
    ("agriculture", re.compile(r"\bagri")),
    ("education", re.compile(r"\beducation\b")),
    ("military", re.compile(r"\bmilitary\b")),
)

# "... (Version 1)" / "..., 2026-Version 3" at the end of a round name.
# ASCII digits, a bounded version number, and a match that starts only where a run of
# separators starts (else a long run of commas is rescanned from each comma).
_SUFFIX = re.compile(
    r"(?<![\s,])[\s,]*\(?\s*(?:(?P<year>[0-9]{4})\s*-\s*)?version\s*(?P<n>[0-9]{1,3})\s*\)?\s*$",
    re.IGNORECASE)
_CANONICAL_LABEL = re.compile(r"(?:\d{4}-)?Version [1-9]\d*")


@dataclass(frozen=True)
class RoundCategory:
    """What a round name says: its category (or program) and the list version it names."""

    slug: str                        # a key of CATEGORIES, or "unknown"
    version_label: str | None        # "Version 1", "2026-Version 3"; None when absent
    has_occupation_list: bool        # the category selects by occupation
    language_rule: str | None        # French-language rounds: the rule of that version
    known: bool                      # False: the name was not recognised (slug "unknown")


@dataclass(frozen=True)
class CategoryVersion:
    """One version of one category, as compiled in the data file."""

    slug: str
    version_label: str
    valid_from: date
    confidence: str                  # lowest confidence among the version's rows
    nocs: frozenset[str]             # NOC 2021 codes; empty for the French-language category
    language_rule: str | None
    sources: tuple[str, ...]


UNKNOWN = RoundCategory("unknown", None, False, None, False)


def _split_suffix(name: str) -> tuple[str, str | None]:
    """(name without the version suffix, canonical version label or None)."""
    m = _SUFFIX.search(name)
    if not m:
        return name, None
    label = f"{m['year']}-Version {int(m['n'])}" if m["year"] else f"Version {int(m['n'])}"
    return name[:m.start()], label


def normalize_version_label(label: str) -> str:
    """"(version 1)" -> "Version 1", "2026 - Version 3" -> "2026-Version 3"; other
    text is returned stripped, so it simply finds no list."""
    rest, canonical = _split_suffix(label.strip())
    return canonical if canonical and not rest.strip() else label.strip()


@cache
def _versions() -> dict[tuple[str, str], CategoryVersion]:
    grouped: dict[tuple[str, str], list[tuple[int, dict[str, str]]]] = {}
    for line, row in read_data_csv(CATEGORY_FILE, __package__):
        where = f"{CATEGORY_FILE} line {line}"
        slug, label = row.get("category_key", ""), row.get("version_label", "")
        category = CATEGORIES.get(slug)
        if category is None or category.kind == "program":
            raise CategoryDataError(f"{where}: {slug!r} is not a category with a list or rule")
        if not _CANONICAL_LABEL.fullmatch(label):
            raise CategoryDataError(f"{where}: version label {label!r} is not as IRCC writes it")
        grouped.setdefault((slug, label), []).append((line, row))
    return {key: _build_version(key, rows) for key, rows in grouped.items()}


def _build_version(key: tuple[str, str], rows: list[tuple[int, dict[str, str]]]) -> CategoryVersion:
    slug, label = key
    language = CATEGORIES[slug].kind == "language"
    nocs: set[str] = set()
    dates, confidences, sources, rules = set(), set(), [], set()
    for line, row in rows:
        where = f"{CATEGORY_FILE} line {line}"
        code, title = row.get("noc2021", ""), row.get("title", "")
        if language:
            if code or not title.startswith(_NO_LIST_PREFIX):
                raise CategoryDataError(f"{where}: {slug} rows carry a rule, not a NOC code")
            rules.add(title[len(_NO_LIST_PREFIX):].strip())
        elif len(code) != 5 or not code.isdigit():
            raise CategoryDataError(f"{where}: {code!r} is not a zero-padded NOC 2021 code")
        elif code in nocs:
            raise CategoryDataError(f"{where}: {code} listed twice for {slug} {label}")
        else:
            nocs.add(code)
        if row.get("confidence") not in CONFIDENCE_ORDER:
            raise CategoryDataError(f"{where}: confidence {row.get('confidence')!r} "
                                    f"is not one of {', '.join(CONFIDENCE_ORDER)}")
        confidences.add(row["confidence"])
        try:
            dates.add(date.fromisoformat(row.get("valid_from", "")))
        except ValueError as exc:
            raise CategoryDataError(f"{where}: valid_from: {exc}") from exc
        for src in row.get("source", "").split(" ; "):
            if src.strip() and src.strip() not in sources:
                sources.append(src.strip())
    if len(dates) != 1 or len(rules) > 1:
        raise CategoryDataError(f"{CATEGORY_FILE}: {slug} {label} rows disagree on "
                                f"valid_from or rule: {sorted(dates)} {sorted(rules)}")
    return CategoryVersion(
        slug=slug, version_label=label, valid_from=dates.pop(),
        confidence=min(confidences, key=CONFIDENCE_ORDER.index),
        nocs=frozenset(nocs), language_rule=rules.pop() if rules else None,
        sources=tuple(sources))


def _category_slug(text: str) -> str | None:
    for slug, pattern in _PRIORITY_KEYWORDS:
        if pattern.search(text):
            return slug
    found = {slug for slug, pattern in _GENERIC_KEYWORDS if pattern.search(text)}
    # Two generic keywords ("Healthcare and education ...") would be a guess: refuse.
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=1024)
def resolve_round_name(draw_name: str) -> RoundCategory:
    """The category (or program) and list version an IRCC ``drawName`` names.

    Never raises and never guesses: an unrecognised name gives ``known=False`` with
    slug "unknown"; a recognised category whose version has no list in the data keeps
    its version label, and ``category_nocs`` then returns None for it.
    """
    name = " ".join(str(draw_name).split())
    program = _PROGRAM_NAMES.get(name.casefold().rstrip(" ."))
    if program:
        return RoundCategory(program, None, False, None, True)
    rest, label = _split_suffix(name)
    slug = _category_slug(rest.casefold())
    if slug is None:
        return UNKNOWN
    version = _versions().get((slug, label)) if label else None
    return RoundCategory(
        slug=slug, version_label=label,
        has_occupation_list=CATEGORIES[slug].kind == "occupation",
        language_rule=version.language_rule if version else None,
        known=True)


def category_version(slug: str, version_label: str | None) -> CategoryVersion | None:
    """The compiled version, or None when the data file has no such version."""
    if not version_label:
        return None
    return _versions().get((slug, normalize_version_label(version_label)))


def category_nocs(slug: str, version_label: str | None) -> frozenset[str] | None:
    """The NOC 2021 list of one category version; None when there is no list for it
    (program rounds, French-language rounds, versions missing from the data)."""
    version = category_version(slug, version_label)
    if version is None or CATEGORIES[slug].kind != "occupation":
        return None
    return version.nocs


def versions(slug: str | None = None) -> list[CategoryVersion]:
    """Every compiled version (of one category), oldest first."""
    return sorted((v for v in _versions().values() if slug is None or v.slug == slug),
                  key=lambda v: (v.valid_from, v.slug, v.version_label))


def categories_for_noc(code2021: str) -> list[CategoryVersion]:
    """Every category version whose list holds this NOC 2021 code, oldest first."""
    code, version = normalize_code(code2021)
    if version != "2021":
        raise NocError(f"{code} is a NOC 2016 code; map it to NOC 2021 first (noc.as_2021)")
    return [v for v in versions() if code in v.nocs]


def describe(slug: str, version_label: str | None) -> str:
    """One line for users and logs on what a (category, version) selects from."""
    category = CATEGORIES.get(slug)
    if category is None:
        return f"unknown category {slug!r}"
    if category.kind == "program":
        return f"{category.title}: program round, no occupation list"
    if not version_label:
        return f"{category.title}: the round name gives no version, so no list applies"
    version = category_version(slug, version_label)
    if version is None:
        return f"no list for {category.title} {version_label} in the category data"
    if category.kind == "language":
        return (f"{category.title} {version.version_label}: no occupation list; "
                f"{version.language_rule}")
    return (f"{category.title} {version.version_label}: {len(version.nocs)} NOC 2021 unit "
            f"groups, in force from {version.valid_from.isoformat()} "
            f"(confidence: {version.confidence})")
