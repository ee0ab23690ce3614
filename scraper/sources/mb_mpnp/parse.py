"""Manitoba's pages read: the news feed (RSS: draws and notices, dated by ``pubDate``)
and draw posts (one post per draw, or the draws index holding several), merged into
one record per draw.

A post's body carries no date: only its address (``/2026/05/``) and the feed do. A
draw selects from several streams, each with its own count (``extra["selections"]``);
the draw's total is only in "Of the N Letters of Advice to Apply issued in this draw".
"""
from __future__ import annotations

import re
from datetime import date
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from lxml import etree

from scraper.parse import html
from scraper.parse.nocs import noc_version
from scraper.parse.numbers import INT, parse_count, to_int
from scraper.parse.text import clean, slug
from scraper.records import DrawRecord, NoticeRecord, ParseError, ParseResult

SOURCE = "mb_mpnp"
WINNIPEG = ZoneInfo("America/Winnipeg")

_DRAW_TITLE = re.compile(r"(?P<ukraine>Ukraine\s+)?Draw\s*#\s*(?P<n>[0-9]{1,4})\b", re.IGNORECASE)
_DRAW_URL = re.compile(
    r"/(?P<y>20[0-9]{2})/(?P<m>[01][0-9])/(?:[a-z-]*?)(?P<ukraine>ukraine-)?draw-(?P<n>[0-9]{1,4})/?$")
_TOTAL = re.compile(r"\bOf the\s+" + INT + r"\s+Letters of Advice to Apply issued in this draw,\s*" + INT
                    + r"\s+were issued to candidates who declared a valid Express Entry", re.IGNORECASE)
_COUNT = re.compile(r"^Number of Letters of Advice to Apply issued:\s*(?P<v>.*)$", re.IGNORECASE)
_SCORE = re.compile(r"^Ranking score of (?:the )?lowest[- ]ranked candidate(?: invited)?:\s*(?P<v>.*)$",
                    re.IGNORECASE)
_UNIT_GROUP = re.compile(r"^(?P<code>[0-9]{5})\s*[–—-]\s*(?P<title>\S.*)$")
_BROAD = re.compile(r"^(?P<code>[0-9])\s*[–—-]\s*(?P<title>\D.*)$")
_INITIATIVE = re.compile(r"^(?P<name>[^:]{3,200}):\s*" + INT + r"$")
# Streams an excerpt in the feed names, run together ("Skilled Worker in Manitoba
# International Education Stream Skilled Worker Overseas Of the 336 ...").
_STREAMS = ("Skilled Worker in Manitoba", "Skilled Worker Overseas", "International Education Stream",
            "Skilled Worker Stream", "Business Investor Stream", "Francophone")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _unstar(text: str) -> str:
    # Bold markers a markdown copy kept as text ("Regional Communities:** 14**").
    return clean(text.replace("*", " "))


def draw_key(number: str, ukraine: bool) -> str:
    """"270"; a Special Immigration Measure (Ukraine) draw counts apart: "ukraine-9"."""
    return f"ukraine-{int(number)}" if ukraine else str(int(number))


def _winnipeg_day(stamp: str) -> date | None:
    try:
        moment = parsedate_to_datetime(stamp)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(WINNIPEG).date()


# -- the feed -------------------------------------------------------------------------


def parse_mb_feed(body: bytes, url: str) -> ParseResult:
    """The site's RSS feed: a draw per "... Draw #N" item, a notice per other item."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not an RSS feed: {exc}", url) from None
    if root is None or root.tag != "rss" or root.find("channel") is None:
        raise ParseError(f"not an RSS feed (root element {getattr(root, 'tag', None)!r})", url)
    result = ParseResult()
    for item in root.iter("item"):
        title = clean(item.findtext("title") or "")
        link = clean(item.findtext("link") or "") or None
        stamp = item.findtext("pubDate") or ""
        day = _winnipeg_day(stamp)
        excerpt = _excerpt(item.findtext("description") or "", url)
        m = _DRAW_TITLE.search(title)
        if not m:
            key = slug((link or title).rstrip("/").rsplit("/", 1)[-1]) or slug(title)
            result.notices.append(NoticeRecord(SOURCE, key, day, title, excerpt, link))
            continue
        record = DrawRecord(SOURCE, draw_key(m.group("n"), bool(m.group("ukraine"))), day, title, url=link,
                            program="ukraine" if m.group("ukraine") else "eoi", text=excerpt,
                            extra={"page": "feed", "number": int(m.group("n"))})
        if day is None:
            record.flags.append("unreadable_date")
            record.extra["raw"] = {"pubDate": stamp}
            result.problems.append(f"{title}: pubDate {stamp!r} unreadable")
        _read_totals(record, excerpt)
        if record.invitations is None:
            count = re.search(r"Number of Letters of Advice to Apply issued:\s*" + INT, excerpt, re.IGNORECASE)
            if count:
                record.invitations = to_int(count.group(1))
        head = excerpt.split(" Of the ")[0]
        streams = sorted((s for s in _STREAMS if s in head), key=head.index)
        if streams:
            record.extra["streams"] = streams
        result.draws.append(record)
    return result


def _excerpt(description: str, url: str) -> str:
    """The item's excerpt as text, without WordPress's "Continue reading" and "The post ... appeared first"."""
    if not description.strip():
        return ""
    text = html.text(html.parse_html(description.encode(), url))
    text = re.split(r"…\s*Continue reading|The post .* appeared first on", text)[0]
    return clean(text)


def _read_totals(record: DrawRecord, text: str) -> None:
    m = _TOTAL.search(_unstar(text))
    if m:
        record.invitations = to_int(m.group(1))
        record.extra["express_entry"] = to_int(m.group(2))


# -- posts ------------------------------------------------------------------------------


def parse_mb_posts(body: bytes, url: str) -> ParseResult:
    """A draw post, or the draws index (a "Draw #N" heading per post)."""
    root = html.parse_html(body, url)
    content = next((el for el in (html.first(root, t) for t in ("main", "article", "body")) if el is not None), root)
    # A list item is read whole (a "<p>" inside it is part of it).
    blocks = [(el.tag, clean(html.text(el)), el) for el in content.iter(*_HEADINGS, "p", "li")
              if not any(a.tag == "li" for a in el.iterancestors())]
    starts = [i for i, (tag, text, _) in enumerate(blocks) if tag in ("h1", "h2") and _DRAW_TITLE.search(text)]
    result = ParseResult()
    if not starts:
        m = _DRAW_URL.search(url)
        if not m:
            if any(_COUNT.match(_unstar(t)) or _TOTAL.search(_unstar(t)) for _, t, _ in blocks):
                raise ParseError("a draw post whose draw number is neither in a heading nor in its address", url)
            return result       # a page without draws (a notice)
        title = f"{'Special Immigration Measure - Ukraine' if m.group('ukraine') else 'Expression of Interest'} " \
                f"Draw #{int(m.group('n'))}"
        result.draws.append(_post(blocks, title, url, result.problems))
        return result
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(blocks)
        # The index links each post ("Read More"): its address dates the draw.
        link = next((a.get("href") for _, _, el in blocks[start:end] for a in el.iter("a")
                     if _DRAW_URL.search(a.get("href") or "")), None)
        result.draws.append(_post(blocks[start + 1:end], blocks[start][1], link or url, result.problems))
    return result


def _post(blocks, title: str, url: str, problems: list[str]) -> DrawRecord:
    m = _DRAW_TITLE.search(title)
    ukraine = bool(m.group("ukraine"))
    record = DrawRecord(SOURCE, draw_key(m.group("n"), ukraine), None, title, url=url,
                        program="ukraine" if ukraine else "eoi",
                        extra={"page": "post", "number": int(m.group("n"))})
    where = _DRAW_URL.search(url or "")
    if where:  # the body has no date; the address has the month it was posted in
        record.extra["month"] = f"{where.group('y')}-{where.group('m')}"
    selections: list[dict] = []
    stream = None
    texts: list[str] = []
    current: dict | None = None
    codes: list[str] = []
    broad: dict[str, str] = {}
    for tag, text, _ in blocks:
        plain = _unstar(text)
        if not plain:
            continue
        if tag in _HEADINGS:
            if plain.casefold() == "notes":
                stream = None
                current = None
                texts.append(plain)
                continue
            if tag in ("h3", "h2", "h1"):
                stream = plain
                current = {"stream": stream, "name": plain}
                selections.append(current)
            elif stream is not None:       # "Occupation-specific selection" under its stream
                if current is not None and set(current) == {"stream", "name"}:
                    current["name"] = f"{stream}: {plain}"
                else:
                    current = {"stream": stream, "name": f"{stream}: {plain}"}
                    selections.append(current)
            texts.append(plain)
            continue
        texts.append(plain)
        if current is None:
            _read_totals(record, plain)
            continue
        if (c := _COUNT.match(plain)):
            _value(record, current, "invitations", c.group("v"), parse_count, problems)
        elif (s := _SCORE.match(plain)):
            _value(record, current, "score", s.group("v"), parse_count, problems)
        elif tag == "li" and (u := _UNIT_GROUP.match(plain)):
            current.setdefault("nocs", []).append(u.group("code"))
            codes.append(u.group("code"))
        elif tag == "li" and (b := _BROAD.match(plain)):
            current.setdefault("broad_categories", {})[b.group("code")] = b.group("title")
            broad[b.group("code")] = b.group("title")
        elif tag == "li" and (i := _INITIATIVE.match(plain)):
            current.setdefault("initiatives", {})[i.group("name")] = to_int(i.group(2))
        else:
            _read_totals(record, plain)
    record.text = "\n".join(texts)
    # A heading followed by no count, score, occupation or initiative (a sidebar's, on a
    # whole page) is no selection.
    selections = [s for s in selections if set(s) - {"stream", "name"}]
    record.extra["selections"] = selections
    if broad:
        record.extra["broad_categories"] = broad
    record.noc_codes = list(dict.fromkeys(codes))
    record.noc_version = noc_version(record.noc_codes)
    _settle(record, selections, problems)
    return record


def _value(record: DrawRecord, selection: dict, field: str, raw: str, read, problems: list[str]) -> None:
    value = read(raw)
    if value is None:   # kept as published, and said so
        selection.setdefault("raw", {})[field] = raw
        record.flags.append(f"unreadable_{field}")
        problems.append(f"{record.title}: {selection['name']}: {field} {raw!r} unreadable")
    else:
        selection[field] = value


def _settle(record: DrawRecord, selections: list[dict], problems: list[str]) -> None:
    """The draw's total and score from its selections, where the page leaves them implicit."""
    counts = [s.get("invitations") for s in selections]
    if record.invitations is None and counts and None not in counts:
        record.invitations = sum(counts)
    elif record.invitations is not None and counts and None not in counts and sum(counts) != record.invitations:
        record.flags.append("selections_disagree_with_total")
        problems.append(f"{record.title}: selections add up to {sum(counts)}, the total says {record.invitations}")
    scores = [s["score"] for s in selections if "score" in s]
    # One score stands for the draw only when the draw is one selection; otherwise each
    # selection keeps its own and the draw states no single cut-off to compare with.
    if len(selections) == 1 and scores:
        record.score_min, record.score_system = scores[0], "mb_eoi"


# -- one record per draw ------------------------------------------------------------------


def _pages(r: DrawRecord) -> set[str]:
    return set(str(r.extra.get("page", "")).split("+"))


def merge_mb(records: list[DrawRecord]) -> list[DrawRecord]:
    """One record per key: the post's selections, occupations and counts, the feed's date,
    title and excerpt where the post has none. Order-independent, and merging a merged
    record with either page's record again changes nothing unless that page changed."""
    by_key: dict[str, list[DrawRecord]] = {}
    for r in records:
        by_key.setdefault(r.key, []).append(r)
    out = []
    for key, group in by_key.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        # A fresh post first, then a merged record, then the feed: the post is what
        # Manitoba writes the draw in; the feed is an excerpt of it.
        group.sort(key=lambda r: (0 if _pages(r) == {"post"} else 1 if "post" in _pages(r) else 2,
                                  r.url or "", r.title, r.text))
        merged = DrawRecord(SOURCE, key, None, group[0].title)
        for name in ("date", "program", "invitations", "score_min", "score_max", "score_system", "url",
                     "noc_version", "text"):
            setattr(merged, name, next((getattr(r, name) for r in group if getattr(r, name) not in (None, "")),
                                       None if name != "text" else ""))
        merged.noc_codes = next((r.noc_codes for r in group if r.noc_codes), [])
        merged.flags = sorted({f for r in group for f in r.flags})
        extra: dict = {}
        for r in reversed(group):
            extra.update(r.extra)
        extra["page"] = "+".join(sorted(set().union(*(_pages(r) for r in group)) - {""}))
        merged.extra = extra
        out.append(merged)
    return out
