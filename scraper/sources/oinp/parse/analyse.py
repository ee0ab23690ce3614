"""A post -> the selections it reports. The blocks are read in order; what a block's
facts attach to depends on what was read before it, and on nothing else than the few
things ``_Reader`` holds. Each statement's reading is a value (``_Said``); the post's
issuance sentences, windows and total are gathered from those values afterwards."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from scraper.parse import dates as dt, nocs as nc, numbers as nm, text as tx
from scraper.sources.oinp.parse.blocks import Block
from scraper.sources.oinp.parse.entries import Entry
from scraper.sources.oinp.parse.figures import (
    Statement, issuance_draws, issued, may_state_facts, scored, statements, stream_refs, targeted, targeted_draws,
    will_issue,
)
from scraper.sources.oinp.parse.limits import MAX_SELECTIONS
from scraper.sources.oinp.parse.nocs import give_unclaimed, listed_codes
from scraper.sources.oinp.parse.selection import Ref, Sel
from scraper.sources.oinp.parse.settle import settle
from scraper.sources.oinp.parse.windows import assign_windows
from scraper.records import ParseError


@dataclass
class Analysis:
    sels: list[Sel]
    issuance: list[str]             # sentences reporting an issuance
    is_draw: bool
    total: int | None               # a count for the whole entry (several streams)


@dataclass(slots=True)
class _Said:
    """What one statement gave besides what it attached to earlier selections."""
    made: list[Sel]
    issuance: str | None            # the sentence, when it reports an issuance
    window: tuple[int, dt.Window] | None
    total: int | None


class _Reader:
    """Reads one post's blocks in order (``read``) into what each statement said."""

    def __init__(self, entry: Entry, year: int | None) -> None:
        self.entry, self.year = entry, year
        self.current: list[Sel] = []       # the latest selections made: NOC lists, counts, codes after them are theirs
        self.head: str | None = None       # a sub-heading that no selection has followed yet
        self.unclaimed: list[str] = []     # NOC lists read before any selection
        self.waiting: dict[int, int] = {}  # list group -> a count stated before its selection
        self.made = 0                      # selections made so far
        self._said: dict[int, list[str]] = {}   # a block's sentences, split when first asked

    def sentences(self, b: Block) -> list[str]:
        if id(b) not in self._said:
            self._said[id(b)] = tx.sentences(b.text, cleaned=True)
        return self._said[id(b)]

    def read(self) -> list[_Said]:
        said: list[_Said] = []
        for b in self.entry.blocks:
            if b.kind == "heading":
                self.head = b.text
            elif not may_state_facts(b.text):
                continue        # no word any fact is stated with: nothing below would read it
            elif codes := listed_codes(b):
                self._list(codes)
            else:
                said += [x for st in statements(b, self.sentences(b)) if (x := self._statement(st))]
        return said

    @cached_property
    def _context(self) -> list[Ref]:
        """The streams the entry is about, for a selection that names none: those of
        its first issuance sentence naming any, else of its title, else of its text.
        Worked out when first needed (most entries are not draws)."""
        found = next((refs for b in self.entry.blocks if b.kind == "text" for s in self.sentences(b)
                      if (issued(s) or will_issue(s)) and (refs := stream_refs(s))), None)
        return found or stream_refs(self.entry.title) or stream_refs(self.entry.text)

    def _fallback(self) -> list[Ref]:
        """Streams for a selection naming none: the latest selections', else the entry's."""
        return [(x.stream, x.stream_name) for x in self.current] or self._context

    def _list(self, codes: list[str]) -> None:
        if not self.current:
            self.unclaimed.extend(codes)
        for sel in self.current:
            sel.add_nocs(codes)
            if self.head:
                sel.add_head(self.head)

    def _statement(self, st: Statement) -> _Said | None:
        title, total = self.entry.title, None
        if st.scores:
            made = scored(st, self._fallback, self.head, title)
        elif st.issued:
            made, total = issuance_draws(st, title)
        elif targeted(st.text, st.low):
            made = targeted_draws(st, self._fallback, title)
        else:
            made = []
            self._figures(st)
        w = dt.find_window(st.text, self.year, st.low)
        if made:
            self._take(made, st)
        if not (made or st.issued or w or total is not None):
            return None
        return _Said(made, st.text if st.issued else None, (st.group, w) if w else None, total)

    def _figures(self, st: Statement) -> None:
        """A statement making no selection: its count ("Number of invitations issued: 480"
        heads the list whose "CRS score range" line makes the selection, so it waits for
        that line) and codes go to the latest selections."""
        counts = nm.find_counts(st.text, st.low)
        if counts:
            same = [x for x in self.current if x.group == st.group]
            if len(same) == 1 and same[0].count is None:
                same[0].count = counts[0].value
            elif not same:
                self.waiting[st.group] = counts[0].value
        codes = nc.inline_nocs(st.text, cleaned=True, low=st.low)
        if codes and self.current:
            for sel in self.current:
                sel.add_nocs(codes)

    def _take(self, made: list[Sel], st: Statement) -> None:
        """New selections: a count waiting in their list, the codes their sentence names;
        they become the latest, and the sub-heading is used up."""
        if len(made) == 1 and made[0].count is None and st.group in self.waiting:
            made[0].count = self.waiting.pop(st.group)
        codes = nc.inline_nocs(st.text, cleaned=True, low=st.low)
        for sel in made if codes else ():
            sel.add_nocs(codes)
        self.made += len(made)
        if self.made > MAX_SELECTIONS:
            e = self.entry
            raise ParseError(f"{e.date} {e.title[:60]!r}: {self.made} selections in one post, "
                             f"more than the {MAX_SELECTIONS} any Ontario post has held")
        self.current, self.head = made, None


def analyse(entry: Entry, year: int | None) -> Analysis:
    reader = _Reader(entry, year)
    said = reader.read()
    sels = [s for x in said for s in x.made]
    issuance = [x.issuance for x in said if x.issuance is not None]
    total = next((x.total for x in reversed(said) if x.total is not None), None)
    assign_windows(sels, [x.window for x in said if x.window])
    give_unclaimed(sels, reader.unclaimed)
    return Analysis(settle(sels), issuance, bool(issuance), total)
