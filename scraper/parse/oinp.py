"""Ontario's yearly "Ontario Immigrant Nominee Program updates" pages -> draws and notices.

A page is ``<h2>`` month, ``<h3>`` date, ``<h4>`` entry, then prose. An entry that
reports invitations (ITAs) or notifications of interest (NOIs) gives one draw per
selection: per stream, and per targeted group or region when one entry ran several
(2026-04-30: Foreign Worker 57+ and International Student 81+, each with its own NOC
list). Every other entry is a notice. Quirks handled: each month listed twice (an
index of links, then the details), ``<h3>``/``<h4>`` also used for sub-headings and in
alert boxes, missing or mis-cased anchors, dates without a year, a date line inside a
paragraph, "will issue" announcements next to their results.

Keys are ``<draw date>/<stream slug>``, plus ``/<target>`` only when one page holds
several selections of the same stream on the same day; :func:`assign_keys` is shared
with the ledger parser so both pages give the same key to the same draw.
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from datetime import date, timedelta

from lxml import etree

from scraper.parse import html
from scraper.parse import text as tx
from scraper.records import DrawRecord, NoticeRecord, ParseError, ParseResult, SourceBlocked
from store.reference import oinp_streams as reg

log = logging.getLogger(__name__)

SOURCE = "oinp"

# What a bot-block page says instead of the content (Radware captcha on ontario.ca).
_BLOCK_MARKERS = (
    "radware captcha", "captcha.perfdrive.com", "made us think that you are a bot",
    "please solve this captcha", "request unblock to the website",
)
_INCIDENT = re.compile(r"Incident ID:?\**\s*([\w-]+)", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")    # no "<" inside: a run of "<" without ">" is not rescanned


def check_blocked(body: bytes, url: str) -> None:
    """Raise SourceBlocked when ``body`` is a captcha / bot-block page."""
    head = body[:200_000].decode("utf-8", "replace")
    low = head.lower()
    hits = [m for m in _BLOCK_MARKERS if m in low]
    if len(hits) >= 2 or (hits and len(low) < 20_000):
        incident = _INCIDENT.search(_TAG.sub(" ", head))
        detail = f", incident {incident.group(1)}" if incident else ""
        raise SourceBlocked(f"bot-block captcha page instead of content ({hits[0]!r}{detail})", url)


def page_tree(body: bytes, url: str) -> etree._Element:
    check_blocked(body, url)
    # libxml2 (through lxml) reads a document cut mid-tag (the truncated 2020 fragment).
    return html.parse_html(body, url)


def content_root(root: etree._Element) -> etree._Element:
    """Ontario's article body (the Drupal ``body-field`` holding the headings; the page
    has others, e.g. a log-in box), else ``<main>``, else the page."""
    fields = root.xpath('//*[contains(concat(" ", normalize-space(@class), " "), " body-field ")]')
    if fields:
        headings = html.count_within(root, fields, {"h2", "h3"})
        best = max(fields, key=headings.__getitem__)
        if headings[best]:
            return best
    for tag in ("main", "body"):
        found = html.first(root, tag)
        if found is not None:
            return found
    return root


# --------------------------------------------------------------------------- blocks

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_TEXT_TAGS = {"p", "li", "td", "th", "dt", "dd", "caption", "figcaption"}
_CONTAINERS = _TEXT_TAGS | _HEADINGS | {"ul", "ol", "table", "div", "section", "blockquote"}
_NESTED = _CONTAINERS - {"td", "th"}
_SKIP = {"script", "style", "nav", "button", "svg", "noscript", "form", "template", "head"}
_LOOSE_TEXT = {"div", "section", "body", "main", "article"}   # text straight inside is a block
_BR = "\u2029"   # stands for <br>: "0111 – Financial managers<br>0114 – ..." are lines

# What no Ontario page comes near (the real ones: paragraphs under 1,000 characters,
# posts under 11,000, at most 6 selections in one post). A page beyond these is refused
# with a ParseError rather than read: past them the reading would be a guess, and each
# bound keeps the work for one post small whatever the page holds.
MAX_BLOCK_CHARS = 20_000        # one paragraph, list item or heading
MAX_ENTRY_CHARS = 200_000       # one post
MAX_ENTRIES = 1_000             # posts on one page (85 on the busiest year so far)
MAX_SELECTIONS = 30             # draws one post reports
MAX_NOCS = 1_100                # distinct codes one post lists: NOC 2016 + 2021 have ~1,016 unit groups


@dataclass
class Block:
    kind: str                   # "heading" | "text"
    text: str
    level: int = 0              # heading level
    anchor: str | None = None
    classes: tuple[str, ...] = ()
    group: int = 0              # the list a list item belongs to, else its own number
    is_li: bool = False
    lead: str = ""              # list items: the paragraph introducing the list
    anchor_links: tuple[str, ...] = ()   # in-page "#..." links
    link_chars: int = 0         # characters of text inside in-page links
    in_alert: bool = False
    lines: tuple[str, ...] = ()  # the text split at <br>


def _bounded(text: str) -> str:
    if len(text) > MAX_BLOCK_CHARS:
        raise ParseError(f"a paragraph of {len(text):,} characters ({text[:60]!r}...): "
                         f"no Ontario page has one over {MAX_BLOCK_CHARS:,}")
    return text


def _is_alert(el) -> bool:
    # "alert" inside any class name: a class name holds no space, so inside the attribute.
    return "alert" in (el.get("class") or "")


def _holding_blocks(root) -> set:
    """The elements with a block (list, paragraph, heading, div...) anywhere inside:
    one pass from the last element to the first, each asking only its children."""
    holds: set = set()
    for e in reversed(list(root.iter(etree.Element))):
        for c in e:
            if html.is_element(c) and (c.tag in _NESTED or c in holds):
                holds.add(e)
                break
    return holds


class _Walker:
    """The page's headings and text blocks in reading order. Iterative: a stack of
    (element, alert, list group, its children still to visit), so nesting depth costs
    no recursion; text straight inside a div-like element (lxml: an element's ``text``,
    and the ``tail`` of each child) is a block of its own."""

    def __init__(self, root) -> None:
        self.blocks: list[Block] = []
        self._n = 0
        self._last_text = ""
        self._holds = _holding_blocks(root)

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _loose(self, parent, s: str | None, alert: bool) -> None:
        if parent.tag in _LOOSE_TEXT and s.strip():
            self._text([], s, alert, None, is_li=False)

    def walk(self, root) -> None:
        if root.text:
            self._loose(root, root.text, False)
        stack = [(root, False, None, iter(root))]
        while stack:
            el, alert, group, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if stack and el.tail:       # the tail of an element belongs to its parent
                    self._loose(stack[-1][0], el.tail, stack[-1][1])
                continue
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP:        # comments, PIs; scripts, nav...
                if child.tail:
                    self._loose(el, child.tail, alert)
                continue
            in_alert = alert or _is_alert(child)
            if tag in _HEADINGS:
                self.blocks.append(Block(
                    "heading", _bounded(tx.clean(html.text(child))), level=int(tag[1]),
                    anchor=child.get("id") or None, classes=html.classes(child), in_alert=in_alert))
            elif tag in ("ul", "ol"):
                stack.append((child, in_alert, self._next(), iter(child)))
                continue
            elif tag in _TEXT_TAGS:
                is_li = tag == "li"
                if child in self._holds:
                    # A list item holding a sub-list: its own text is one block, the
                    # blocks inside follow.
                    links: list = []
                    own = html.text(child, prune=_CONTAINERS, br=_BR, links=links)
                    if own.strip():
                        self._text(links, own, in_alert, group, is_li)
                    stack.append((child, in_alert, group, iter(child)))
                    continue
                links = []
                self._text(links, html.text(child, br=_BR, links=links), in_alert, group, is_li)
            else:
                stack.append((child, in_alert, group, iter(child)))
                continue
            if child.tail:
                self._loose(el, child.tail, alert)

    def _text(self, links: list, raw: str, alert: bool, group: int | None, is_li: bool) -> None:
        """A text block; ``links``: the in-page ``<a>`` elements inside it."""
        text = _bounded(tx.clean(raw.replace(_BR, " ")))
        if not text:
            return
        lines = tuple(x for x in (tx.clean(p) for p in raw.split(_BR)) if x) if _BR in raw else (text,)
        self.blocks.append(Block(
            "text", text, group=group if group is not None else self._next(), is_li=is_li,
            lead=self._last_text if is_li else "", anchor_links=tuple(a.get("href")[1:] for a in links),
            link_chars=sum(len(tx.clean(html.text(a, br=_BR))) for a in links),
            in_alert=alert, lines=lines))
        if not is_li:
            self._last_text = text


def page_blocks(root) -> list[Block]:
    w = _Walker(root)
    w.walk(root)
    return w.blocks


# --------------------------------------------------------------------------- page year

_YEAR_IN_URL = re.compile(r"/([0-9]{4})-ontario-immigrant-nominee-program-updates")
_YEAR_IN_TITLE = re.compile(r"\b((?:19|20)[0-9]{2})\s+Ontario Immigrant Nominee Program", re.IGNORECASE)


def page_year(root, url: str) -> int | None:
    m = _YEAR_IN_URL.search(url or "")
    if m:
        return int(m.group(1))
    for tag in ("h1", "title"):
        el = html.first(root, tag)
        if el is not None:
            m = _YEAR_IN_TITLE.search(html.text(el))
            if m:
                return int(m.group(1))
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").split():
            m = _YEAR_IN_URL.search(link.get("href") or "")
            return int(m.group(1)) if m else None
    return None


# --------------------------------------------------------------------------- entries

_MONTH_NAMES = set(tx.MONTHS)
_STOP_SECTIONS = {"related information", "contact us", "footnotes", "questions or comments"}
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


def _is_sub_heading(b: Block) -> bool:
    """An ``<h4>``/``<h3>`` inside an entry ("Health occupations", "Search # 1")
    rather than the heading of a new entry."""
    if b.level >= 5 or any(c in ("h5", "h6") for c in b.classes):
        return True
    t = b.text.rstrip(":").strip()
    if _SEARCH_N.match(t) or t.lower() in _GENERIC_SUB:
        return True
    if b.level == 3:
        return not _draw_title(t)
    short = len(t.split()) <= 7
    named = reg.find_target_groups(t) or reg.find_region(t)
    return bool(short and named and not reg.find_streams(t) and not _draw_title(t))


def _embedded_date(b: Block, year: int | None) -> tuple[date, str] | None:
    """A paragraph that starts a new post: "March 14, 2018 Entrepreneur stream – ..."."""
    if b.is_li:
        return None
    m = tx.DATE_RE.match(b.text)
    if not m or not m.group("year") or b.text[m.end():m.end() + 1] in (",", ""):
        return None
    return tx.leading_date(b.text, year)


@dataclass
class _Section:
    date: date | None
    rest: str
    blocks: list[Block]


def _sections(blocks: list[Block], year: int | None) -> tuple[list[_Section], int]:
    """Split at month ``<h2>`` and date headings; returns sections and the number of
    date headings seen (zero means the page is not an updates page)."""
    sections: list[_Section] = []
    cur: _Section | None = None
    dated = 0
    for b in blocks:
        if b.kind == "heading" and not b.in_alert:
            low = b.text.lower()
            if b.level <= 2:
                if low in _STOP_SECTIONS:
                    break
                if low in _MONTH_NAMES or b.level == 1:
                    cur = None
                    continue
                # A topical <h2> ("COVID-19 emergency order"): an undated section.
                cur = _Section(None, b.text, [])
                sections.append(cur)
                continue
            lead = tx.leading_date(b.text, year)
            if lead and b.level in (3, 4) and tx.DATE_RE.match(b.text):
                dated += 1
                cur = _Section(lead[0], lead[1], [])
                sections.append(cur)
                continue
        if cur is not None:      # text before the first date is the page's introduction
            cur.blocks.append(b)
    return sections, dated


def _is_index(sec: _Section) -> bool:
    """The month's list of links to the details below (or an alert box repeating one)."""
    if not sec.blocks or sec.rest:
        return False
    linked = False
    for b in sec.blocks:
        if b.in_alert:
            linked = True
            continue
        if b.kind == "heading":
            return False
        if not b.anchor_links or len(b.text) - b.link_chars > 3:
            return False
        linked = True
    return linked


def _entries(sections: list[_Section], year: int | None) -> list[Entry]:
    anchors: dict[str, str] = {}       # index link text -> anchor
    entries: list[Entry] = []
    for sec in sections:
        if _is_index(sec):
            for b in sec.blocks:
                if b.anchor_links and not b.in_alert:
                    anchors.setdefault(b.text.lower(), b.anchor_links[0])
            continue
        cur: Entry | None = None
        for b in sec.blocks:
            if b.in_alert and b.kind == "heading":
                b = Block("heading", b.text, level=6)      # an alert's title: a sub-heading
            if b.kind == "heading":
                if not _is_sub_heading(b):
                    cur = Entry(sec.date, b.text, b.anchor)
                    entries.append(cur)
                    continue
            elif (emb := _embedded_date(b, year)) is not None:
                d, rest = emb
                cur = Entry(d, tx.sentences(rest)[0][:120] if rest else "", None, [b])
                entries.append(cur)
                continue
            if cur is None:
                cur = Entry(sec.date, sec.rest, None)
                entries.append(cur)
            cur.blocks.append(b)
    for e in entries:
        first = e.blocks[0] if e.blocks else None
        if _GENERIC_TITLE.match(e.title) and first is not None and first.kind == "heading":
            e.title = f"{e.title}: {first.text}"     # "Important Notice: Issuance of ..."
        if not e.title:
            first = next((b.text for b in e.blocks if b.kind == "text"), "")
            e.title = (tx.sentences(first) or [""])[0][:120]
        if e.anchor is None:
            e.anchor = anchors.get(e.title.lower())
    return [e for e in entries if e.blocks or _draw_title(e.title)]


# --------------------------------------------------------------------------- selections

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


# A block without any of these states no fact (a digit: counts, scores, dates, NOC
# codes; the words: every pattern below and in text.py needs one), so it is skipped.
# Substring tests on the lower-cased text: a case-blind regex alternation of the same
# words costs some 400 ns a character in Python's re, these about 25 in all.
_FACT_WORDS = ("score", "crs", "issu", "draw", "will", "targeted", "separate", "invitation", "notification",
               "noi", "ita", "noc", "created", "submitted", "registered", "received", "results of")


def _may_state_facts(text: str) -> bool:
    low = text.lower()
    return bool(tx.DIGIT.search(text)) or any(w in low for w in _FACT_WORDS)


def _draw_title(text: str) -> bool:
    low = text.lower()
    return ("invit" in low or "issu" in low or "notification" in low) and bool(_DRAW_TITLE.search(text))


# Each pattern above is tried only on a sentence holding a word every match holds: a
# substring test costs a fraction of a regex search, and most sentences fail it.
def _issued(s: str, low: str | None = None) -> bool:
    low = s.lower() if low is None else low
    return ("issu" in low or "results of" in low or "draw" in low) and bool(_ISSUED.search(s, low=low))


def _will_issue(s: str, low: str | None = None) -> bool:
    low = s.lower() if low is None else low
    return "will" in low and bool(_WILL_ISSUE.search(s, low=low))


def _targeted(s: str, low: str | None = None) -> bool:
    low = s.lower() if low is None else low
    return ("targeted" in low or "separate" in low) and bool(_TARGETED.search(s, low=low))
_SEPARATE = re.compile(r"\bin a separate draw\b", re.IGNORECASE)
_ALSO = re.compile(r"\b(?:also|separate)\b", re.IGNORECASE)
_ROUND_DAY = re.compile(r"results of (yesterday|today)['’]s round", re.IGNORECASE)
_UNKNOWN_STREAM = re.compile(r"\b((?:[A-Z][\w’'-]*[:]?\s+){1,6})[Ss]treams?\b")
_NOT_A_STREAM = {"the", "this", "these", "our", "ontario’s", "ontario's", "all", "each", "any", "a", "other", "existing"}


@dataclass
class Sel:
    stream: reg.Stream | None
    stream_name: str
    kind: str                       # "score" | "issuance" | "targeted"
    group: int
    score: tx.Score | None = None
    chain: list[str] = field(default_factory=list)   # texts naming the target, best first
    heads: list[str] = field(default_factory=list)   # sub-headings of its NOC lists
    nocs: list[str] = field(default_factory=list)
    count: int | None = None
    window: tx.Window | None = None
    announced: bool = False
    sentence: str = ""
    dropped: bool = False

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


def _targets(chain: list[str], heads: list[str] = ()) -> tuple[list[str], reg.Region | None]:
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


def _stream_refs(text: str) -> list[tuple[reg.Stream | None, str]]:
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


@dataclass
class _Analysis:
    sels: list[Sel]
    issuance: list[str]             # sentences reporting an issuance
    is_draw: bool
    total: int | None               # a count for the whole entry (several streams)


def _analyse(entry: Entry, year: int | None) -> _Analysis:
    sels: list[Sel] = []
    issuance: list[str] = []
    windows: list[tuple[int, tx.Window]] = []
    total = None
    current: list[Sel] = []
    head: str | None = None          # the sub-heading in force
    head_fresh = False               # no selection made since that sub-heading
    pending_nocs: list[str] = []
    pending_counts: dict[int, int] = {}
    last_refs: list = []             # streams of the latest selection made
    said: dict[int, list[str]] = {}       # a block's sentences, split when first asked

    def sentences(b: Block) -> list[str]:
        if id(b) not in said:
            said[id(b)] = tx.sentences(b.text, cleaned=True)
        return said[id(b)]

    context: list = []

    def ctx() -> list[tuple[reg.Stream | None, str]]:
        """The streams the entry is about, for a selection that names none: those of
        its first issuance sentence naming any, else of its title, else of its text.
        Worked out when first needed (most entries are not draws)."""
        if not context:
            found = next((refs for b in entry.blocks if b.kind == "text" for s in sentences(b)
                          if (_issued(s) or _will_issue(s)) and (refs := _stream_refs(s))), None)
            context.append(found or _stream_refs(entry.title) or _stream_refs(entry.text))
        return context[0]

    def new(stream_ref, kind, sentence, group, chain, score=None) -> Sel:
        return Sel(stream_ref[0], stream_ref[1], kind, group, score=score, chain=chain, sentence=sentence)

    for b in entry.blocks:
        if b.kind == "heading":
            head, head_fresh = b.text, True
            continue
        if not _may_state_facts(b.text):
            continue        # no word any fact is stated with: nothing below would read it
        # Block texts and lines are clean already (the walker made them so).
        nocs = [c for c, _ in tx.split_noc_run(b.text, cleaned=True)] or [
            p[0] for line in (b.lines or (b.text,)) if (p := tx.parse_noc_line(line, cleaned=True))]
        if nocs and (b.is_li or len(nocs) > 1 or b.lines == (b.text,) or tx.parse_noc_line(b.text, cleaned=True)):
            targets = current or []
            if targets:
                for sel in targets:
                    sel.add_nocs(nocs)
                    if head_fresh and head:
                        sel.add_head(head)
            else:
                pending_nocs.extend(nocs)
            continue
        lead = (b.lead + " ") if b.is_li else ""
        # "targeted candidates registered for the Regional Immigration Pilot and in a
        # separate draw, targeted candidates ... with a score of 73 and above": two draws.
        parts = [p for s in sentences(b) for p in (_SEPARATE.split(s) if "separate" in s.lower() else [s])
                 if p.strip(" ,.")]
        for s in parts:
            low = s.lower()     # asked for by each test below: made once
            scores = tx.find_scores(s, low)
            future = _will_issue(s, low) and bool(tx.find_dates(s))
            issued = _issued(s, low) or future
            made: list[Sel] = []
            if scores:
                # Several cut-offs in one sentence: "under the Foreign Worker stream if ...
                # 53 and above, and under the International Student stream if ... 66" names
                # each stream before its score; "a score of 50 and above ... under the
                # Foreign Worker stream, and 80 and above under the International Student
                # stream" names it after.
                before = bool(_stream_refs(s[:scores[0].start]))
                for i, sc in enumerate(scores):
                    if len(scores) == 1:
                        clause = s
                    elif before:
                        clause = s[scores[i - 1].end if i else 0:sc.end]
                    else:
                        clause = s[0 if i == 0 else sc.start:scores[i + 1].start if i + 1 < len(scores) else len(s)]
                    refs = _stream_refs(clause) or last_refs or ctx()
                    chain = ([head] if head_fresh and head else []) + [lead + clause, entry.title]
                    made += [new(r, "score", s, b.group, chain, sc) for r in refs]
                if issued:
                    issuance.append(s)
                counts = tx.find_counts(s, low)
                if counts and len(made) == 1:
                    made[0].count = counts[0].value
            elif issued:
                issuance.append(s)
                refs = _stream_refs(s)
                counts = tx.find_counts(s, low)
                if refs:
                    per_stream = _pair_counts(s, counts)
                    for r in refs:
                        sel = new(r, "issuance", s, b.group, [s, entry.title])
                        sel.announced = future and not _issued(s, low)
                        sel.count = per_stream.get(id(r[0])) if per_stream else None
                        made.append(sel)
                    if counts and not per_stream:
                        if len(refs) == 1:
                            made[0].count = counts[0].value
                        else:
                            total = counts[0].value
            elif _targeted(s, low):
                refs = _stream_refs(s) or last_refs or ctx()
                made += [new(r, "targeted", s, b.group, [s, entry.title]) for r in refs]
            else:
                counts = tx.find_counts(s, low)
                if counts:
                    # "Number of invitations issued: 480" heads the list whose "CRS score
                    # range" line makes the selection: it waits for that line.
                    same = [x for x in current if x.group == b.group]
                    if len(same) == 1 and same[0].count is None:
                        same[0].count = counts[0].value
                    elif not same:
                        pending_counts[b.group] = counts[0].value
                codes = tx.inline_nocs(s, cleaned=True, low=low)
                if codes and current:
                    for sel in current:
                        sel.add_nocs(codes)
            w = tx.find_window(s, year, low)
            if w:
                windows.append((b.group, w))
            if made:
                if len(made) == 1 and made[0].count is None and b.group in pending_counts:
                    made[0].count = pending_counts.pop(b.group)
                for sel in made:
                    codes = tx.inline_nocs(s, cleaned=True, low=low)
                    if codes:
                        sel.add_nocs(codes)
                sels += made
                if len(sels) > MAX_SELECTIONS:
                    raise ParseError(f"{entry.date} {entry.title[:60]!r}: {len(sels)} selections in one post, "
                                     f"more than the {MAX_SELECTIONS} any Ontario post has held")
                current = made
                last_refs = [(x.stream, x.stream_name) for x in made]
                head_fresh = False
    # Windows stated inside one selection's list belong to it; others to the entry.
    entry_windows = []
    for group, w in windows:
        own = [x for x in sels if x.group == group and x.kind == "score"]
        if own:
            for x in own:
                x.window = x.window or w
        else:
            entry_windows.append(w)
    for x in sels:
        if x.window is None and entry_windows:
            x.window = entry_windows[0]
    if pending_nocs:
        for x in sels:
            if not x.nocs:
                x.add_nocs(pending_nocs)
    return _Analysis(_settle(sels), issuance, bool(issuance), total)


def _pair_counts(sentence: str, counts: list[tx.Count]) -> dict[int, int]:
    """Counts that each name one stream ("674 invitations ... Masters Graduate stream and
    244 invitations ... PhD Graduate stream"), keyed by id(stream); {} if not that shape."""
    if len(counts) < 2:
        return {}
    out: dict[int, int] = {}
    for i, c in enumerate(counts):
        end = counts[i + 1].start if i + 1 < len(counts) else len(sentence)
        refs = _stream_refs(sentence[c.end:end])
        if len(refs) != 1:
            return {}
        out[id(refs[0][0])] = c.value
    return out


def _tag(sel: Sel) -> tuple[list[str], reg.Region | None]:
    groups, region = _targets_of(tuple(sel.chain), tuple(sel.heads))
    return list(groups), region


@lru_cache(maxsize=64)
def _targets_of(chain: tuple[str, ...], heads: tuple[str, ...]) -> tuple[list[str], reg.Region | None]:
    # _settle asks for the same selection's targets once per pair of selections: the
    # answer is read from its texts once (the tuples hash in time linear in their length).
    return _targets(list(chain), [" ".join(heads)] if heads else [])


def _settle(sels: list[Sel]) -> list[Sel]:
    """Drop the sentences that only introduce the scored selections after them (their
    NOC lists, windows and counts go to those), and join selections Ontario ran as one
    (joint groups)."""
    rank = {"issuance": 0, "targeted": 1, "score": 2}
    for kind in ("issuance", "targeted"):
        for s in (x for x in sels if x.kind == kind and not x.dropped):
            same = [c for c in sels if not c.dropped and rank[c.kind] > rank[kind] and _same_stream(c, s)]
            if not same:
                continue
            groups, region = _targets(s.chain[:1])
            own = region.slug if region else (groups[0] if groups else None)
            others = {_primary(c) for c in same}
            # An introduction, unless it targeted someone else (the Regional Immigration
            # Pilot candidates) and the rest is told as additional ("also conducted two
            # separate general draws", "in a separate draw, targeted candidates ...").
            additional = kind == "targeted" or any(_ALSO.search(c.chain[0]) for c in same if c.chain)
            if own is not None and own not in others and additional:
                continue
            s.dropped = True
            for c in same:
                if not c.nocs:
                    c.add_nocs(s.nocs)
                c.window = c.window or s.window
                if own is not None and _primary(c) is None:
                    c.chain.append(s.sentence)
            if len(same) == 1 and same[0].count is None:
                same[0].count = s.count
    kept = [s for s in sels if not s.dropped]
    for joint in reg.joint_groups():
        merged = []
        for s in kept:
            if s.dropped or s.kind != "score" or not s.nocs:
                continue
            g = set(_tag(s)[0])
            if not g or not g <= joint:
                continue
            for m in merged:
                if _same_stream(m, s) and _score_key(m) == _score_key(s):
                    m.add_nocs(s.nocs)
                    for h in s.heads:
                        m.add_head(h)
                    m.chain = [" ".join([m.chain[0], s.chain[0]])] + m.chain[1:]
                    s.dropped = True
                    break
            else:
                merged.append(s)
    return [s for s in kept if not s.dropped]


def _same_stream(a: Sel, b: Sel) -> bool:
    if a.stream is not None or b.stream is not None:
        return a.stream is b.stream
    return a.stream_name == b.stream_name


def _score_key(s: Sel):
    return (s.score.low, s.score.high) if s.score else None


def _primary(sel: Sel) -> str | None:
    groups, region = _tag(sel)
    return region.slug if region else (groups[0] if groups else None)


# --------------------------------------------------------------------------- dates

def _draw_date(entry: Entry, issuance: list[str], year: int | None) -> date | None:
    """The day the invitations went out: "On April 30, 2026, we issued ...", else
    "the results of yesterday's round" (the post's day before), else the post's day."""
    posted = entry.date
    y = posted.year if posted else year
    for s in issuance:
        for dm in tx.find_dates(s):
            d = dm.to_date(y)
            if d and (posted is None or posted - timedelta(days=120) <= d <= posted + timedelta(days=1)):
                return d
        m = _ROUND_DAY.search(s) if "results of" in s.lower() else None
        if m and posted:
            return posted - timedelta(days=1) if m.group(1).lower() == "yesterday" else posted
    for b in entry.blocks:
        m = _ROUND_DAY.search(b.text) if "results of" in b.text.lower() else None
        if m and posted:
            return posted - timedelta(days=1) if m.group(1).lower() == "yesterday" else posted
    return posted


# --------------------------------------------------------------------------- keys

def assign_keys(records: list[DrawRecord]) -> None:
    """Set ``key`` on every record of one page: ``<date>/<stream>``, and when the page
    holds several selections of one stream on one day, ``/<target>`` (their primary
    targeted region or group, "general" for the untargeted one), else ``/<score>``,
    else a running number. Both the updates and the ledger parser use this, so the
    same draw gets the same key from either page."""
    by_day: dict[tuple, list[DrawRecord]] = defaultdict(list)
    for r in records:
        prog = r.program or "unknown"
        if prog == "unknown":
            prog = "unknown-" + (tx.slug(r.extra.get("stream_name", ""), 40) or "stream")
        by_day[(r.date.isoformat() if r.date else "undated", prog)].append(r)
    for (day, prog), rs in by_day.items():
        base = f"{day}/{prog}"
        if len(rs) == 1:
            rs[0].key = base
            continue
        options = [
            [r.extra.get("target") or "general" for r in rs],
            ["+".join(r.extra.get("targets") or ["general"]) for r in rs],
            [str(r.score_min) if r.score_min is not None else None for r in rs],
        ]
        for suffixes in options:
            if None not in suffixes and len(set(suffixes)) == len(rs):
                break
        else:
            suffixes = [str(i) for i in range(1, len(rs) + 1)]
        for r, sfx in zip(rs, suffixes):
            r.key = f"{base}/{sfx}"


def notice_keys(notices: list[NoticeRecord]) -> None:
    seen: dict[str, int] = defaultdict(int)
    for n in notices:
        base = f"{n.date.isoformat() if n.date else 'undated'}/{tx.slug(n.title) or 'notice'}"
        seen[base] += 1
        n.key = base if seen[base] == 1 else f"{base}-{seen[base]}"


# --------------------------------------------------------------------------- records

def _record(sel: Sel, entry: Entry, day: date | None, url: str, total: int | None) -> DrawRecord:
    stream = sel.stream
    groups, region = _tag(sel)
    targets = groups + ([region.slug] if region else [])
    primary = region.slug if region else (groups[0] if groups else None)
    flags: list[str] = []
    extra: dict = {"page": "updates", "targets": targets, "target": primary}
    if stream is None:
        flags.append("unknown_stream")
        extra["stream_name"] = sel.stream_name
    elif day and not stream.is_open(day) and stream.closed and day >= stream.closed:
        flags.append("stream_closed")
    if sel.announced:
        flags.append("announced")
    if day and entry.date and day != entry.date:
        extra["posted"] = entry.date.isoformat()
    if sel.score:
        extra["score_text"] = sel.score.text
    if sel.window:
        extra["window_text"] = sel.window.text
    if total is not None and sel.count is None:
        extra["announced_total"] = total
    version = tx.noc_version(sel.nocs)
    if sel.nocs and version is None:
        flags.append("mixed_noc_versions")
    return DrawRecord(
        source=SOURCE, key="", date=day, title=entry.title,
        program=stream.slug if stream else "unknown",
        invitations=sel.count,
        score_min=sel.score.low if sel.score else None,
        score_max=sel.score.high if sel.score else None,
        score_system=stream.score_system if stream else None,
        selection_kind=stream.selection_kind if stream else None,
        window_start=sel.window.start if sel.window else None,
        window_end=sel.window.end if sel.window else None,
        region=region.name if region else None,
        noc_codes=list(sel.nocs), noc_version=version,
        announcement=entry.anchor,
        url=f"{url}#{entry.anchor}" if entry.anchor else url,
        text=entry.text, extra=extra, flags=flags,
    )


def _fold_announced(out: list[DrawRecord]) -> list[DrawRecord]:
    """A "will issue" post next to its "issued" post is one draw: the announcement's NOC
    list goes to the result. An announcement alone stays a draw, flagged.

    An announcement targeting T folds into the results targeting T or nothing; one
    targeting nothing folds into every result. Each result takes, per fact, the first
    announcement (in page order) that matches it and has the fact: found through the
    first such announcement per target, so the work is linear in the draws."""
    by: dict[tuple, list[DrawRecord]] = defaultdict(list)
    for r in out:
        by[(r.date, r.program, r.extra.get("stream_name"))].append(r)
    facts = {"any": lambda a: True, "nocs": lambda a: bool(a.noc_codes),
             "start": lambda a: a.window_start is not None, "end": lambda a: a.window_end is not None}
    drop = set()
    for rs in by.values():
        done = [r for r in rs if "announced" not in r.flags]
        announced = [r for r in rs if "announced" in r.flags]
        if not done or not announced:
            continue
        first: dict[str, dict] = {f: {} for f in facts}      # fact -> target -> first index
        for i, a in enumerate(announced):
            for f, has in facts.items():
                if has(a):
                    first[f].setdefault(a.extra["target"], i)
        done_targets = {r.extra["target"] for r in done}

        def source(r: DrawRecord, fact: str) -> DrawRecord | None:
            found = first[fact]
            if r.extra["target"] is None:       # matched by every announcement
                i = min(found.values(), default=None)
            else:
                i = min((found[t] for t in (r.extra["target"], None) if t in found), default=None)
            return announced[i] if i is not None else None

        for r in done:
            a = source(r, "any")
            if a is None:
                continue
            if not r.noc_codes and (n := source(r, "nocs")) is not None:
                r.noc_codes, r.noc_version = list(n.noc_codes), n.noc_version
            if r.window_start is None and (w := source(r, "start")) is not None:
                r.window_start = w.window_start
            if r.window_end is None and (w := source(r, "end")) is not None:
                r.window_end = w.window_end
            r.extra.setdefault("announced_in", a.announcement or a.title)
        for a in announced:
            if a.extra["target"] is None or a.extra["target"] in done_targets or None in done_targets:
                drop.add(id(a))
    return [r for r in out if id(r) not in drop]


@contextmanager
def naming_page(url: str):
    """A ParseError raised deep in the reading, where the page is not at hand, names it."""
    try:
        yield
    except ParseError as exc:
        if exc.url is None:
            raise ParseError(str(exc), url) from exc
        raise


def parse_oinp_updates(body: bytes, url: str) -> ParseResult:
    """One yearly updates page -> draws (one per selection) and notices."""
    with naming_page(url):
        return _parse_updates(body, url)


def _parse_updates(body: bytes, url: str) -> ParseResult:
    root = page_tree(body, url)
    year = page_year(root, url)
    blocks = page_blocks(content_root(root))
    sections, dated = _sections(blocks, year)
    if not dated:
        raise ParseError("no dated entries (<h3>Month D, YYYY</h3>) found: not an OINP updates page", url)
    entries = _entries(sections, year)
    if len(entries) > MAX_ENTRIES:
        raise ParseError(f"{len(entries):,} posts on one page, more than the {MAX_ENTRIES:,} "
                         "any Ontario updates page comes near", url)
    for entry in entries:
        if len(entry.text) > MAX_ENTRY_CHARS:
            raise ParseError(f"{entry.date} {entry.title[:60]!r}: a post of {len(entry.text):,} characters, "
                             f"more than the {MAX_ENTRY_CHARS:,} any Ontario post comes near", url)
    result = ParseResult()
    records: list[DrawRecord] = []
    for entry in entries:
        a = _analyse(entry, year)
        if not a.is_draw or not a.sels:
            if a.is_draw:
                result.problems.append(f"{entry.date} {entry.title!r}: reports an issuance but names no stream")
            result.notices.append(NoticeRecord(SOURCE, "", entry.date, entry.title, entry.text,
                                               f"{url}#{entry.anchor}" if entry.anchor else url))
            continue
        day = _draw_date(entry, a.issuance, year)
        if day is None:
            result.problems.append(f"{entry.title!r}: no date (page year unknown)")
        for sel in a.sels:
            rec = _record(sel, entry, day, url, a.total if len(a.sels) > 1 else None)
            if sel.stream is None:
                result.problems.append(f"{day} {entry.title!r}: unknown stream {sel.stream_name!r}")
            records.append(rec)
    result.draws = _fold_announced(records)
    assign_keys(result.draws)
    notice_keys(result.notices)
    log.debug("%s: %d draws, %d notices", url, len(result.draws), len(result.notices))
    return result


def parse_oinp_page(body: bytes, url: str) -> ParseResult:
    """Any page of the oinp source: a yearly updates page or one of the two ledgers."""
    from scraper.parse.oinp_ledger import parse_oinp_ledger

    if UPDATES_PAGE.search(url):
        return parse_oinp_updates(body, url)
    return parse_oinp_ledger(body, url)


# ".../page/2024-ontario-immigrant-nominee-program-updates": the yearly pages' address shape.
UPDATES_PAGE = re.compile(r"[0-9]{4}-ontario-immigrant-nominee-program-updates")
