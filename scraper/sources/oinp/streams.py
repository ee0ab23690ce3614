"""Ontario (OINP) stream registry: streams with the names Ontario's pages used over the
years, their pool (Express Entry NOIs or Ontario EOI invitations), opening and closing
dates, targeted regions and occupation groups. Data: ``data/oinp_streams.toml`` (beside this module).

Matching ignores case and punctuation, prefers the longest alias, and returns matches
in the order the text names them, so a parser can tell which stream a clause is about.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from importlib import resources

from store.reference.noc import to_2021, unit_groups

DATA_FILE = "oinp_streams.toml"
POOLS = {"express_entry", "eoi", "direct"}
SELECTION_KIND = {"express_entry": "noi", "eoi": "ita"}
SCORE_SYSTEM = {"express_entry": "crs", "eoi": "oinp_eoi"}


class RegistryError(ValueError):
    """The stream registry file is malformed (names the entry and field)."""


@dataclass(frozen=True)
class NocList:
    version: str        # "2016" or "2021"
    source: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Stream:
    slug: str
    name: str
    pool: str                         # "express_entry" | "eoi" | "direct"
    aliases: tuple[str, ...]
    opened: date | None = None
    closed: date | None = None
    replaced_by: str | None = None
    note: str = ""
    # Occupations the stream accepts at all, as NOC 2016 group prefixes ("72" = major
    # group 72, "633" = minor group 633); empty when it takes any occupation.
    noc2016_groups: tuple[str, ...] = ()

    @property
    def selection_kind(self) -> str | None:
        """"noi" for Express Entry streams, "ita" for EOI streams."""
        return SELECTION_KIND.get(self.pool)

    @property
    def score_system(self) -> str | None:
        return SCORE_SYSTEM.get(self.pool)

    def is_open(self, on: date) -> bool:
        return (self.opened is None or self.opened <= on) and (self.closed is None or on < self.closed)


@dataclass(frozen=True)
class Region:
    slug: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class TargetGroup:
    slug: str
    name: str
    aliases: tuple[str, ...]
    noc_lists: tuple[NocList, ...] = ()


@dataclass(frozen=True)
class Mention:
    """Where a text names a registry entry."""

    start: int
    end: int
    text: str       # as written
    item: Stream | Region | TargetGroup


@dataclass(frozen=True)
class _Registry:
    streams: tuple[Stream, ...]
    regions: tuple[Region, ...]
    groups: tuple[TargetGroup, ...]
    joint: tuple[frozenset[str], ...]
    stream_re: re.Pattern
    region_re: re.Pattern
    group_re: re.Pattern
    by_alias: dict[str, Stream | Region | TargetGroup]


_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def _norm(text: str) -> str:
    """Lower case with every non-alphanumeric character replaced by a space; same
    length as ``text``, so match positions are positions in the original (non-ASCII
    letters are blanked before lower-casing, which could change the length: "İ")."""
    return _NOT_ALNUM.sub(" ", text).lower()


def _words(alias: str) -> list[str]:
    return _norm(alias).split()


def _alias_pattern(alias: str, plural: str) -> str:
    words = _words(alias)
    if plural == "stream" and words[-1] == "stream":
        words[-1] = "streams?"
        body = r"\s+".join(re.escape(w) if w != "streams?" else w for w in words)
    elif plural == "last":
        body = r"\s+".join(re.escape(w) for w in words) + "s?"
    else:
        body = r"\s+".join(re.escape(w) for w in words)
    return body


def _compile(items, plural: str, prefix: str) -> tuple[re.Pattern, dict[str, object]]:
    by_alias: dict[str, object] = {}
    for item in items:
        for alias in item.aliases:
            key = " ".join(_words(alias))
            if key in by_alias and by_alias[key] is not item:
                raise RegistryError(f"{DATA_FILE}: alias {alias!r} names both {by_alias[key].slug!r} and {item.slug!r}")
            by_alias[key] = item
    # Longest alias first: the regex alternation then prefers it at any position.
    keys = sorted(by_alias, key=len, reverse=True)
    groups = [f"(?P<{prefix}{i}>{_alias_pattern(k, plural)})" for i, k in enumerate(keys)]
    # Word edges once around the whole alternation: much faster than on each alias.
    pattern = re.compile(r"(?<![a-z0-9])(?:" + "|".join(groups) + r")(?![a-z0-9])")
    return pattern, {f"{prefix}{i}": by_alias[k] for i, k in enumerate(keys)}


def _date(value, where: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    raise RegistryError(f"{DATA_FILE}: {where} must be a TOML date (YYYY-MM-DD), got {value!r}")


def _required(entry: dict, field: str, where: str):
    if not entry.get(field):
        raise RegistryError(f"{DATA_FILE}: {where} has no {field!r}")
    return entry[field]


@cache
def _registry() -> _Registry:
    text = resources.files(__package__).joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse_registry(text)


def parse_registry(text: str) -> _Registry:
    """Validate and compile registry TOML (the shipped file, or a candidate edit)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RegistryError(f"{DATA_FILE}: {e}") from e
    streams = []
    for i, s in enumerate(raw.get("stream", [])):
        where = f"[[stream]] #{i + 1} ({s.get('slug', '?')})"
        pool = _required(s, "pool", where)
        if pool not in POOLS:
            raise RegistryError(f"{DATA_FILE}: {where} pool {pool!r} is not one of {sorted(POOLS)}")
        streams.append(Stream(
            slug=_required(s, "slug", where), name=_required(s, "name", where), pool=pool,
            aliases=tuple(_required(s, "aliases", where)),
            opened=_date(s.get("opened"), f"{where} opened"), closed=_date(s.get("closed"), f"{where} closed"),
            replaced_by=s.get("replaced_by"), note=s.get("note", ""),
            noc2016_groups=tuple(str(g) for g in s.get("noc2016_groups", ())),
        ))
    slugs = {s.slug for s in streams}
    for s in streams:
        if s.replaced_by and s.replaced_by not in slugs:
            raise RegistryError(f"{DATA_FILE}: stream {s.slug!r} replaced_by unknown stream {s.replaced_by!r}")
    regions = [Region(r["slug"], r["name"], tuple(r["aliases"])) for r in raw.get("region", [])]
    groups = []
    for g in raw.get("target_group", []):
        lists = []
        for lst in g.get("noc_list", []):
            codes = tuple(lst["codes"])
            want = {"2016": 4, "2021": 5}.get(lst["version"])
            bad = [c for c in codes if not (c.isdigit() and len(c) == want)]
            if want is None or bad:
                raise RegistryError(f"{DATA_FILE}: target group {g['slug']!r} NOC list {lst['source']!r}: bad codes {bad}")
            lists.append(NocList(lst["version"], lst["source"], codes))
        groups.append(TargetGroup(g["slug"], g["name"], tuple(g["aliases"]), tuple(lists)))
    group_slugs = {g.slug for g in groups}
    joint = tuple(frozenset(j) for j in raw.get("joint_groups", []))
    for j in joint:
        if not j <= group_slugs:
            raise RegistryError(f"{DATA_FILE}: joint_groups names unknown groups {sorted(j - group_slugs)}")
    stream_re, s_alias = _compile(streams, "stream", "s")
    region_re, r_alias = _compile(regions, "none", "r")
    group_re, g_alias = _compile(groups, "last", "g")
    return _Registry(tuple(streams), tuple(regions), tuple(groups), joint, stream_re, region_re, group_re,
                     {**s_alias, **r_alias, **g_alias})


@lru_cache(maxsize=4096)
def _mentions(kind: str, text: str) -> tuple[Mention, ...]:
    # Cached: a page asks about the same headings and sentences many times.
    reg = _registry()
    pattern = {"stream": reg.stream_re, "region": reg.region_re, "group": reg.group_re}[kind]
    norm = _norm(text)
    out = []
    for found in _scanner(pattern).finditer(norm):
        m = pattern.match(norm, found.start())      # the same match, now naming its alias
        out.append(Mention(m.start(), m.end(), text[m.start():m.end()], reg.by_alias[m.lastgroup]))
    return tuple(out)


@lru_cache(maxsize=8)
def _scanner(pattern: re.Pattern) -> re.Pattern:
    """``pattern`` without its named groups. Python's re tests an alternative's first
    letter before entering it only when the alternative is not a group, so this finds
    the same matches ~10x faster on long texts; ``pattern`` then names the few found."""
    return re.compile(re.sub(r"\(\?P<[a-z]+[0-9]+>", "(?:", pattern.pattern))


def streams() -> list[Stream]:
    return list(_registry().streams)


def get_stream(slug: str) -> Stream:
    for s in _registry().streams:
        if s.slug == slug:
            return s
    raise KeyError(f"no OINP stream {slug!r}")


@lru_cache(maxsize=64)
def stream_nocs(slug: str) -> frozenset[str] | None:
    """NOC 2021 codes of the occupations stream ``slug`` accepts (its 2016 groups mapped
    through the official correspondence); None when it accepts any occupation."""
    stream = get_stream(slug)
    if not stream.noc2016_groups:
        return None
    codes = [u.code for u in unit_groups("2016") if u.code.startswith(stream.noc2016_groups)]
    return frozenset(c for code in codes for c in to_2021(code))


def regions() -> list[Region]:
    return list(_registry().regions)


def target_groups() -> list[TargetGroup]:
    return list(_registry().groups)


def joint_groups() -> tuple[frozenset[str], ...]:
    """Sets of groups that one entry may list separately but Ontario selected as one."""
    return _registry().joint


def stream_mentions(text: str) -> list[Mention]:
    """Every stream ``text`` names, in order ("Foreign Worker or International Student
    streams" -> two)."""
    return list(_mentions("stream", text))


def find_stream(text: str) -> Stream | None:
    """The first stream ``text`` names, by any alias Ontario has used, or None."""
    found = stream_mentions(text)
    return found[0].item if found else None


def find_streams(text: str) -> list[Stream]:
    """The streams ``text`` names, in order, each once."""
    out: list[Stream] = []
    for m in stream_mentions(text):
        if m.item not in out:
            out.append(m.item)
    return out


def find_region(text: str) -> Region | None:
    """The first region ``text`` names ("Central Ontario (excluding GTA)" -> Central)."""
    found = _mentions("region", text)
    return found[0].item if found else None


def find_target_groups(text: str) -> list[TargetGroup]:
    """The groups ``text`` names, in registry order (most specific first), each once."""
    named = {m.item.slug for m in _mentions("group", text)}
    return [g for g in _registry().groups if g.slug in named]
