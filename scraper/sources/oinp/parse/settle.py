"""A post's selections settled: the sentences that only introduce the scored selections
after them give those their facts and go, and selections Ontario ran as one (a joint
group of occupations at one score) become one."""
from __future__ import annotations

import re

from scraper.sources.oinp.parse.selection import Sel, primary, same_stream, score_key, tag, targets
from scraper.sources.oinp import streams as reg

_ALSO = re.compile(r"\b(?:also|separate)\b", re.IGNORECASE)
_RANK = {"issuance": 0, "targeted": 1, "score": 2}


def settle(sels: list[Sel]) -> list[Sel]:
    kept = _without_introductions(sels)
    for joint in reg.joint_groups():
        kept = _joined(kept, joint)
    return kept


def _without_introductions(sels: list[Sel]) -> list[Sel]:
    """Issuance sentences, then targeted ones, each introducing the more specific
    selections of its stream after it: their NOC lists, windows and counts go to those."""
    dropped: set[int] = set()
    for kind in ("issuance", "targeted"):
        for s in (x for x in sels if x.kind == kind):
            same = [c for c in sels if _RANK[c.kind] > _RANK[kind] and same_stream(c, s)]
            if not same:
                continue
            own = _own_target(s)
            if _introduces(s, own, same):
                _hand_down(s, own, same)
                dropped.add(id(s))
    return [s for s in sels if id(s) not in dropped]


def _own_target(s: Sel) -> str | None:
    """The target the sentence itself names (its region, else its first group)."""
    groups, region = targets(s.chain[:1])
    return region.slug if region else (groups[0] if groups else None)


def _introduces(s: Sel, own: str | None, same: list[Sel]) -> bool:
    """An introduction, unless it targeted someone else (the Regional Immigration Pilot
    candidates) and the rest is told as additional ("also conducted two separate general
    draws", "in a separate draw, targeted candidates ...")."""
    additional = s.kind == "targeted" or any(_ALSO.search(c.chain[0]) for c in same if c.chain)
    return not (own is not None and own not in {primary(c) for c in same} and additional)


def _hand_down(s: Sel, own: str | None, same: list[Sel]) -> None:
    """What an introduction states goes to the selections it introduces."""
    for c in same:
        if not c.nocs:
            c.add_nocs(s.nocs)
        c.window = c.window or s.window
        if own is not None and primary(c) is None:
            c.chain.append(s.sentence)
    if len(same) == 1 and same[0].count is None:
        same[0].count = s.count


def _joined(kept: list[Sel], joint: frozenset[str]) -> list[Sel]:
    """Scored selections of one stream at one score whose groups all lie in ``joint``:
    the first takes the others' NOC lists, sub-headings and texts, the others go."""
    merged: list[Sel] = []
    gone: set[int] = set()
    for s in kept:
        if s.kind != "score" or not s.nocs:
            continue
        g = set(tag(s)[0])
        if not g or not g <= joint:
            continue
        m = next((m for m in merged if same_stream(m, s) and score_key(m) == score_key(s)), None)
        if m is None:
            merged.append(s)
            continue
        m.add_nocs(s.nocs)
        for h in s.heads:
            m.add_head(h)
        m.chain = [" ".join([m.chain[0], s.chain[0]])] + m.chain[1:]
        gone.add(id(s))
    return [s for s in kept if id(s) not in gone]
