"""The posts ("entries") of an updates page: each dated section holds one or more, each
opened by an ``<h4>`` title or by a paragraph starting with a full date; ``<h3>``/``<h4>``
also serve as sub-headings inside a post ("Health occupations", "Search # 1")."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from scraper.parse import dates as dt, text as tx
from scraper.sources.oinp.parse.blocks import Block
from scraper.sources.oinp.parse.index import index_anchors, is_index
from scraper.sources.oinp.parse.sections import Section
from scraper.sources.oinp import streams as reg

_DRAW_TITLE = re.compile(r"\b(?:invited|issued|issuance|invitations? to apply|notifications? of interest)\b", re.IGNORECASE)
_GENERIC_SUB = {"more information", "to apply", "how to apply", "next steps", "what is changing", "attention"}
_GENERIC_TITLE = re.compile(r"^important notice$", re.IGNORECASE)
_SEARCH_N = re.compile(r"^search\s*#?\s*\d+$", re.IGNORECASE)


@dataclass
class Entry:
    date: date | None           # the heading's date
    title: str
    anchor: str | None
    blocks: list[Block] = field(default_factory=list)

    @cached_property
    def text(self) -> str:
        """Read once the blocks are complete (every draw of the entry keeps it)."""
        return "\n".join(b.text for b in self.blocks)


def draw_title(text: str) -> bool:
    """A title that reports invitations or notifications ("... issued invitations")."""
    low = text.lower()
    return ("invit" in low or "issu" in low or "notification" in low) and bool(_DRAW_TITLE.search(text))


def is_sub_heading(b: Block) -> bool:
    """An ``<h4>``/``<h3>`` inside an entry ("Health occupations", "Search # 1")
    rather than the heading of a new entry."""
    if b.level >= 5 or any(c in ("h5", "h6") for c in b.classes):
        return True
    t = b.text.rstrip(":").strip()
    if _SEARCH_N.match(t) or t.lower() in _GENERIC_SUB:
        return True
    if b.level == 3:
        return not draw_title(t)
    short = len(t.split()) <= 7
    named = reg.find_target_groups(t) or reg.find_region(t)
    return bool(short and named and not reg.find_streams(t) and not draw_title(t))


def embedded_date(b: Block, year: int | None) -> tuple[date, str] | None:
    """A paragraph that starts a new post: "March 14, 2018 Entrepreneur stream – ..."."""
    if b.is_li:
        return None
    m = dt.DATE_RE.match(b.text)
    if not m or not m.group("year") or b.text[m.end():m.end() + 1] in (",", ""):
        return None
    return dt.leading_date(b.text, year)


def section_entries(sec: Section, year: int | None) -> list[Entry]:
    """The posts of one dated section; its blocks before any post title form a post
    titled by the date heading's rest."""
    out: list[Entry] = []
    cur: Entry | None = None
    for b in sec.blocks:
        if b.in_alert and b.kind == "heading":
            b = Block("heading", b.text, level=6)      # an alert's title: a sub-heading
        if b.kind == "heading":
            if not is_sub_heading(b):
                cur = Entry(sec.date, b.text, b.anchor)
                out.append(cur)
                continue
        elif (emb := embedded_date(b, year)) is not None:
            d, rest = emb
            cur = Entry(d, tx.sentences(rest)[0][:120] if rest else "", None, [b])
            out.append(cur)
            continue
        if cur is None:
            cur = Entry(sec.date, sec.rest, None)
            out.append(cur)
        cur.blocks.append(b)
    return out


def _titled(e: Entry, anchors: dict[str, str]) -> Entry:
    """A generic or missing title completed from the post's text; the anchor from the index."""
    first = e.blocks[0] if e.blocks else None
    if _GENERIC_TITLE.match(e.title) and first is not None and first.kind == "heading":
        e.title = f"{e.title}: {first.text}"     # "Important Notice: Issuance of ..."
    if not e.title:
        text = next((b.text for b in e.blocks if b.kind == "text"), "")
        e.title = (tx.sentences(text) or [""])[0][:120]
    if e.anchor is None:
        e.anchor = anchors.get(e.title.lower())
    return e


def entries(secs: list[Section], year: int | None) -> list[Entry]:
    """Every post of the page in page order; empty ones kept only if their title reports a draw."""
    anchors = index_anchors(secs)
    found = [_titled(e, anchors) for sec in secs if not is_index(sec) for e in section_entries(sec, year)]
    return [e for e in found if e.blocks or draw_title(e.title)]
