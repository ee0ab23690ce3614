"""What one sentence of a post states: an issuance (done, or announced for a day), cut-off
scores, counts of invitations, the streams it names; and the selections those make.

Each pattern is tried only on a sentence holding a word every match holds: a substring
test costs a fraction of a regex search, and most sentences fail it.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from scraper.parse import dates as dt, numbers as nm, text as tx
from scraper.sources.oinp.parse.blocks import Block
from scraper.sources.oinp.parse.selection import Ref, Sel, made_from
from scraper.sources.oinp import streams as reg

_ISSUED = tx.Caseless(
    r"\bissued\b(?:\s+[\w,()’']+){0,5}?\s+(?:invitations?|notifications?|nois?|itas?)\b"
    r"|\bcommenced issuing\b|\bresults of (?:yesterday|today)['’]s round\b"
    r"|\b(?:conducted|held)\b[^.]{0,200}?\bdraws?\b"
    r"|\bnois? were issued to candidates\b")
# An announcement counts only with its day ("On April 13, 2021, the OINP will issue"),
# not "will issue Notifications of Interest to applicants that meet the criteria".
_WILL_ISSUE = tx.Caseless(
    r"\bwill (?:be )?issu(?:e|ed)\b(?:\s+[\w,()’']+){0,5}?\s+(?:invitations?|notifications?|nois?|itas?)\b"
    r"|\b(?:invitations?|notifications?|nois?|itas?)\b[^.]{0,40}\bwill be issued\b")
_TARGETED = tx.Caseless(r"\btargeted candidates\b|\bin a separate draw\b|\bconducted a targeted draw\b")
_SEPARATE = re.compile(r"\bin a separate draw\b", re.IGNORECASE)
_UNKNOWN_STREAM = re.compile(r"\b((?:[A-Z][\w’'-]*[:]?\s+){1,6})[Ss]treams?\b")
_NOT_A_STREAM = {"the", "this", "these", "our", "ontario’s", "ontario's", "all", "each", "any", "a", "other", "existing"}

# A block without any of these states no fact (a digit: counts, scores, dates, NOC
# codes; the words: every pattern here and in text.py needs one), so it is skipped.
# Substring tests on the lower-cased text: a case-blind regex alternation of the same
# words costs some 400 ns a character in Python's re, these about 25 in all.
_FACT_WORDS = ("score", "crs", "issu", "draw", "will", "targeted", "separate", "invitation", "notification",
               "noi", "ita", "noc", "created", "submitted", "registered", "received", "results of")


def may_state_facts(text: str) -> bool:
    low = text.lower()
    return bool(tx.DIGIT.search(text)) or any(w in low for w in _FACT_WORDS)


def issued(s: str, low: str | None = None) -> bool:
    low = s.lower() if low is None else low
    return ("issu" in low or "results of" in low or "draw" in low) and bool(_ISSUED.search(s, low=low))


def will_issue(s: str, low: str | None = None) -> bool:
    low = s.lower() if low is None else low
    return "will" in low and bool(_WILL_ISSUE.search(s, low=low))


def targeted(s: str, low: str | None = None) -> bool:
    low = s.lower() if low is None else low
    return ("targeted" in low or "separate" in low) and bool(_TARGETED.search(s, low=low))


def stream_refs(text: str) -> list[Ref]:
    """Streams a clause names: known ones, else a capitalised "... stream" name that
    the registry does not know (kept verbatim, flagged later)."""
    found = []
    for m in reg.stream_mentions(text):
        if m.item.pool == "direct":
            continue
        if all(m.item is not s for s, _ in found):
            found.append((m.item, m.text))
    if found:
        return found
    for m in _UNKNOWN_STREAM.finditer(text):
        name = m.group(0).strip()
        first = name.split()[0].lower()
        if first not in _NOT_A_STREAM and len(name.split()) >= 2:
            return [(None, name)]
    return []


def pair_counts(sentence: str, counts: list[nm.Count]) -> dict[int, int]:
    """Counts that each name one stream ("674 invitations ... Masters Graduate stream and
    244 invitations ... PhD Graduate stream"), keyed by id(stream); {} if not that shape."""
    if len(counts) < 2:
        return {}
    out: dict[int, int] = {}
    for i, c in enumerate(counts):
        end = counts[i + 1].start if i + 1 < len(counts) else len(sentence)
        refs = stream_refs(sentence[c.end:end])
        if len(refs) != 1:
            return {}
        out[id(refs[0][0])] = c.value
    return out


@dataclass(slots=True)
class Statement:
    """A sentence of a text block (or the part of one that "in a separate draw" starts),
    with what every reading of it asks first."""
    text: str
    low: str
    group: int                  # the block's list group
    lead: str                   # list items: the paragraph introducing the list, and a space
    scores: list[nm.Score]
    future: bool                # announces an issuance on a stated day
    issued: bool                # reports an issuance, or announces one (future)


def statements(b: Block, sentences: list[str]) -> Iterator[Statement]:
    """The statements of a text block, read one at a time as they are asked for."""
    lead = (b.lead + " ") if b.is_li else ""
    # "targeted candidates registered for the Regional Immigration Pilot and in a
    # separate draw, targeted candidates ... with a score of 73 and above": two draws.
    for s in sentences:
        for p in (_SEPARATE.split(s) if "separate" in s.lower() else [s]):
            if p.strip(" ,."):
                low = p.lower()     # asked for by each test: made once
                scores = nm.find_scores(p, low)
                future = will_issue(p, low) and bool(dt.find_dates(p))
                yield Statement(p, low, b.group, lead, scores, future, issued(p, low) or future)


def _clause(s: str, scores: list[nm.Score], i: int, before: bool) -> str:
    """The part of ``s`` that belongs to its ``i``-th score: from the previous score when
    streams are named before their scores, up to the next one when after."""
    if len(scores) == 1:
        return s
    sc = scores[i]
    if before:
        return s[scores[i - 1].end if i else 0:sc.end]
    return s[0 if i == 0 else sc.start:scores[i + 1].start if i + 1 < len(scores) else len(s)]


def scored(st: Statement, fallback: Callable[[], list[Ref]], head: str | None, title: str) -> list[Sel]:
    """One selection per cut-off score and stream. Several cut-offs in one sentence:
    "under the Foreign Worker stream if ... 53 and above, and under the International
    Student stream if ... 66" names each stream before its score; "a score of 50 and
    above ... under the Foreign Worker stream, and 80 and above under the International
    Student stream" names it after. A clause naming no stream: ``fallback()``'s."""
    s, scores = st.text, st.scores
    before = bool(stream_refs(s[:scores[0].start]))
    made: list[Sel] = []
    for i, sc in enumerate(scores):
        clause = _clause(s, scores, i, before)
        refs = stream_refs(clause) or fallback()
        # The selections of one clause share this list: what settle adds reaches them all.
        chain = ([head] if head else []) + [st.lead + clause, title]
        made += [made_from(r, "score", s, st.group, chain, sc) for r in refs]
    counts = nm.find_counts(s, st.low)
    if counts and len(made) == 1:
        made[0].count = counts[0].value
    return made


def issuance_draws(st: Statement, title: str) -> tuple[list[Sel], int | None]:
    """One selection per stream an issuance sentence names, with its own count when the
    sentence gives one per stream (or names one stream); else the count for them all."""
    refs = stream_refs(st.text)
    counts = nm.find_counts(st.text, st.low)
    if not refs:
        return [], None
    per_stream = pair_counts(st.text, counts)
    announced = st.future and not issued(st.text, st.low)
    made = []
    for r in refs:
        sel = made_from(r, "issuance", st.text, st.group, [st.text, title])
        sel.announced = announced
        sel.count = per_stream.get(id(r[0])) if per_stream else None
        made.append(sel)
    if counts and not per_stream:
        if len(refs) == 1:
            made[0].count = counts[0].value
        else:
            return made, counts[0].value
    return made, None


def targeted_draws(st: Statement, fallback: Callable[[], list[Ref]], title: str) -> list[Sel]:
    """ "targeted candidates ...", "in a separate draw ...": one selection per stream."""
    refs = stream_refs(st.text) or fallback()
    return [made_from(r, "targeted", st.text, st.group, [st.text, title]) for r in refs]
