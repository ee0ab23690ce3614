"""One selection an entry reports (a stream's draw, possibly for one group or region),
as it is being read, and who it targets: the occupation groups and region named by the
texts that made it, best first."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from scraper.parse import dates as dt, numbers as nm
from scraper.sources.oinp.parse.limits import MAX_NOCS
from scraper.records import ParseError
from scraper.sources.oinp import streams as reg

# A stream a text names: the registry's stream (None: a name it does not know) and the name.
Ref = tuple["reg.Stream | None", str]


@dataclass
class Sel:
    stream: reg.Stream | None
    stream_name: str
    kind: str                       # "score" | "issuance" | "targeted"
    group: int                      # the block's list group (windows and counts stated in it are its own)
    score: nm.Score | None = None
    chain: list[str] = field(default_factory=list)   # texts naming the target, best first
    heads: list[str] = field(default_factory=list)   # sub-headings of its NOC lists
    nocs: list[str] = field(default_factory=list)
    count: int | None = None
    window: dt.Window | None = None
    announced: bool = False
    sentence: str = ""

    def __post_init__(self) -> None:
        self._seen: set[str] = set(self.nocs)
        self._heads: set[str] = set(self.heads)

    def add_nocs(self, codes) -> None:
        for c in codes:
            if c not in self._seen:
                self._seen.add(c)
                self.nocs.append(c)
        if len(self.nocs) > MAX_NOCS:
            raise ParseError(f"one post lists {len(self.nocs):,} distinct NOC codes, more than NOC has unit groups")

    def add_head(self, head: str) -> None:
        if head not in self._heads:
            self._heads.add(head)
            self.heads.append(head)


def made_from(ref: Ref, kind: str, sentence: str, group: int, chain: list[str], score=None) -> Sel:
    return Sel(ref[0], ref[1], kind, group, score=score, chain=chain, sentence=sentence)


def _without_streams(text: str) -> str:
    """``text`` with stream names blanked, so "Skilled Trades stream" is not read as
    the skilled-trades occupation group."""
    pieces, last = [], 0
    for m in reg.stream_mentions(text):
        pieces += [text[last:m.start], " " * (m.end - m.start)]
        last = m.end
    pieces.append(text[last:])
    return "".join(pieces)


_EXCLUDED = re.compile(
    r"\b(?:excluding|outside(?:\s+of)?|except)\s+(?:the\s+)?(?:Greater Toronto Area|GTA|[A-Z]\w+ Ontario)",
    re.IGNORECASE)


def targets(chain: list[str], heads: list[str] = ()) -> tuple[list[str], reg.Region | None]:
    """(group slugs, region) from the first texts of ``heads`` + ``chain`` that name
    any; the sub-headings of NOC lists name groups, never the region."""
    groups: list[str] = []
    region = None
    for i, t in enumerate(list(heads) + chain):
        if groups and (region is not None or i < len(heads)):
            if region is not None:
                break
            continue
        text_groups, text_region = _named_in(t)
        if not groups:
            groups = list(text_groups)
        if region is None and i >= len(heads):
            region = text_region
    return groups, region


@lru_cache(maxsize=512)
def _named_in(text: str) -> tuple[tuple[str, ...], reg.Region | None]:
    """(group slugs, region) one text names, stream names and excluded regions aside.
    Cached: the same sentences and titles are asked about for each of their selections."""
    t = _without_streams(text)
    low = t.lower()
    if "excluding" in low or "outside" in low or "except" in low:
        t = _EXCLUDED.sub(" ", t)
    return tuple(g.slug for g in reg.find_target_groups(t)), reg.find_region(t)


def tag(sel: Sel) -> tuple[list[str], reg.Region | None]:
    """(group slugs, region) a selection targets."""
    groups, region = _targets_of(tuple(sel.chain), tuple(sel.heads))
    return list(groups), region


@lru_cache(maxsize=64)
def _targets_of(chain: tuple[str, ...], heads: tuple[str, ...]) -> tuple[list[str], reg.Region | None]:
    # settle asks for the same selection's targets once per pair of selections: the
    # answer is read from its texts once (the tuples hash in time linear in their length).
    return targets(list(chain), [" ".join(heads)] if heads else [])


def primary(sel: Sel) -> str | None:
    """The one target a selection is known by: its region, else its first group."""
    groups, region = tag(sel)
    return region.slug if region else (groups[0] if groups else None)


def same_stream(a: Sel, b: Sel) -> bool:
    if a.stream is not None or b.stream is not None:
        return a.stream is b.stream
    return a.stream_name == b.stream_name


def score_key(s: Sel):
    return (s.score.low, s.score.high) if s.score else None
