"""Manitoba's pages read: the news feed (RSS: draws and notices, dated by ``pubDate``)
and draw posts (one post per draw, or the draws index holding several), merged by draw.

A draw selects from several streams (Skilled Worker in Manitoba's occupation-specific
selection, the Skilled Worker Stream, ...), each with its own count, score and
occupations: each selection is one record, keyed by the draw and the selection
("270-skilled-worker-stream"), as Ontario's streams of one announcement are. The draw's
number, its total (only in "Of the N Letters of Advice to Apply issued in this draw")
and its Express Entry count are in each selection's ``extra``. A post's body carries no
date: only its address (``/2026/05/``) and the feed do.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import date
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from lxml import etree

from scraper.parse import html
from scraper.parse.blocked import check_blocked
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
# Streams as Manitoba names them in its posts' headings and in the feed's excerpts,
# which run them together ("Skilled Worker in Manitoba International Education Stream
# Skilled Worker Overseas Of the 336 ...").
STREAMS = ("Skilled Worker in Manitoba", "Skilled Worker Overseas", "International Education Stream",
           "Skilled Worker Stream", "Business Investor Stream", "Francophone")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# A selection within a stream: "Occupation-specific selection" -> "occupation-specific".
_SELECTION_SUFFIX = re.compile(r"\s+selection$", re.IGNORECASE)


def _unstar(text: str) -> str:
    # Bold markers a markdown copy kept as text ("Regional Communities:** 14**").
    return clean(text.replace("*", " "))


def draw_key(number: str, ukraine: bool) -> str:
    """"270"; a Special Immigration Measure (Ukraine) draw counts apart: "ukraine-9"."""
    return f"ukraine-{int(number)}" if ukraine else str(int(number))


def selection_slug(stream: str, within: str | None = None) -> str:
    """"skilled-worker-stream"; "skilled-worker-in-manitoba-occupation-specific" for a
    selection within a stream: the record's ``program`` and the end of its key."""
    return slug(stream) + (f"-{slug(_SELECTION_SUFFIX.sub('', within))}" if within else "")


def selection_key(draw: str, selection: str | None) -> str:
    """"270-skilled-worker-stream"; a draw of one unnamed selection (Ukraine's) is its number."""
    return f"{draw}-{selection}" if selection else draw


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
    """The site's RSS feed: a record per selection of each "... Draw #N" item where its
    excerpt names them, else one for the draw; a notice per other item."""
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
        ukraine = bool(m.group("ukraine"))
        draw = DrawRecord(SOURCE, draw_key(m.group("n"), ukraine), day, title, url=link,
                          program="ukraine" if ukraine else "eoi", text=excerpt,
                          extra={"page": "feed", "number": int(m.group("n")),
                                 "draw": draw_key(m.group("n"), ukraine)})
        if day is None:
            draw.flags.append("unreadable_date")
            draw.extra["raw"] = {"pubDate": stamp}
            result.problems.append(f"{title}: pubDate {stamp!r} unreadable")
        _read_totals(draw, excerpt)
        result.draws += _feed_selections(draw, excerpt)
    return result


def _feed_selections(draw: DrawRecord, excerpt: str) -> list[DrawRecord]:
    """The draw's selections as its excerpt names them, or the draw as one record.

    An excerpt reading "<stream> <stream> ... Of the N Letters ..." names every selection
    (the sentence closes the post); any other (prose, a count, cut off mid-post) does not
    say which selections there were: the draw stays one record, for a post to split.
    """
    total = draw.extra.get("total")
    head = _unstar(excerpt).split(" Of the ")[0] if total is not None else ""
    streams = sorted((s for s in STREAMS if s in head), key=head.index)
    rest = head
    for stream in streams:
        rest = rest.replace(stream, " ")
    if not streams or rest.strip():
        # A count opening the excerpt is the draw's only selection's (Ukraine's draws).
        count = re.match(r"Number of Letters of Advice to Apply issued:\s*" + INT, _unstar(excerpt), re.IGNORECASE)
        if total is None and count:
            draw.invitations = to_int(count.group(1))
        else:
            draw.invitations = total
        return [draw]
    records = []
    for stream in streams:
        named = selection_slug(stream)
        program = draw.program if draw.program == "ukraine" else named
        record = DrawRecord(SOURCE, selection_key(draw.key, named), draw.date, draw.title, url=draw.url,
                            program=program, text=draw.text, flags=list(draw.flags),
                            extra={**draw.extra, "selection": stream, "stream": stream})
        # One selection issued the whole draw; of several, the excerpt gives no count.
        record.invitations = total if len(streams) == 1 else None
        records.append(record)
    return records


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
        record.extra["total"] = to_int(m.group(1))
        record.extra["express_entry"] = to_int(m.group(2))


# -- posts ------------------------------------------------------------------------------


def parse_mb_posts(body: bytes, url: str) -> ParseResult:
    """A draw post, or the draws index (a "Draw #N" heading per post): a record per selection."""
    # A bot-check page would read as a page without draws: the feed's draws would then be
    # stored whole, beside the selections their posts give once the page is back.
    check_blocked(body, url)
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
        result.draws += _post(blocks, title, url, result.problems)
        return result
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(blocks)
        # The index links each post ("Read More"): its address dates the draw.
        link = next((a.get("href") for _, _, el in blocks[start:end] for a in el.iter("a")
                     if _DRAW_URL.search(a.get("href") or "")), None)
        result.draws += _post(blocks[start + 1:end], blocks[start][1], link or url, result.problems)
    return result


def _post(blocks, title: str, url: str, problems: list[str]) -> list[DrawRecord]:
    m = _DRAW_TITLE.search(title)
    ukraine = bool(m.group("ukraine"))
    draw = DrawRecord(SOURCE, draw_key(m.group("n"), ukraine), None, title, url=url,
                      program="ukraine" if ukraine else "eoi",
                      extra={"page": "post", "number": int(m.group("n")), "draw": draw_key(m.group("n"), ukraine)})
    where = _DRAW_URL.search(url or "")
    if where:  # the body has no date; the address has the month it was posted in
        draw.extra["month"] = f"{where.group('y')}-{where.group('m')}"
    selections: list[dict] = []
    stream = None
    current: dict | None = None
    texts: list[tuple[dict | None, str]] = []      # (the selection a line belongs to, or None: the draw's)
    for tag, text, _ in blocks:
        plain = _unstar(text)
        if not plain:
            continue
        if tag in _HEADINGS:
            if plain.casefold() == "notes":
                stream = current = None
            elif tag in ("h3", "h2", "h1"):
                stream = plain
                current = {"stream": stream, "name": plain, "slug": selection_slug(plain)}
                selections.append(current)
            elif stream is not None:       # "Occupation-specific selection" under its stream
                within = {"stream": stream, "name": f"{stream}: {plain}", "slug": selection_slug(stream, plain)}
                if current is not None and set(current) == {"stream", "name", "slug"}:
                    current.update(within)
                else:
                    current = within
                    selections.append(current)
            texts.append((current, plain))
            continue
        if current is None and _COUNT.match(plain):
            # A count before any heading: the draw is one unnamed selection (Ukraine's).
            current = {"stream": None, "name": None, "slug": None}
            selections.append(current)
        if current is None or _TOTAL.search(plain):     # the draw's, wherever it stands
            texts.append((None, plain))
            _read_totals(draw, plain)
            continue
        texts.append((current, plain))
        if (c := _COUNT.match(plain)):
            _value(draw, current, "invitations", c.group("v"), parse_count, problems)
        elif (s := _SCORE.match(plain)):
            _value(draw, current, "score", s.group("v"), parse_count, problems)
        elif tag == "li" and (u := _UNIT_GROUP.match(plain)):
            current.setdefault("nocs", []).append(u.group("code"))
        elif tag == "li" and (b := _BROAD.match(plain)):
            current.setdefault("broad_categories", {})[b.group("code")] = b.group("title")
        elif tag == "li" and (i := _INITIATIVE.match(plain)):
            current.setdefault("initiatives", {})[i.group("name")] = to_int(i.group(2))
    # A heading followed by no count, score, occupation or initiative (a sidebar's, on a
    # whole page) is no selection.
    selections = [s for s in selections if set(s) - {"stream", "name", "slug"}]
    if not selections:     # an older post's shape, or none at all: the draw as one record
        selections = [{"stream": None, "name": None, "slug": None}]
    _settle(draw, selections, problems)
    return [_selection(draw, s, texts) for s in selections]


def _value(draw: DrawRecord, selection: dict, field: str, raw: str, read, problems: list[str]) -> None:
    value = read(raw)
    if value is None:   # kept as published, and said so
        selection.setdefault("raw", {})[field] = raw
        selection.setdefault("flags", []).append(f"unreadable_{field}")
        problems.append(f"{draw.title}: {selection['name'] or 'the draw'}: {field} {raw!r} unreadable")
    else:
        selection[field] = value


def _settle(draw: DrawRecord, selections: list[dict], problems: list[str]) -> None:
    """A lone selection's count from the draw's total where the post states only the
    total (#272); selections that do not add up to the total flagged."""
    total = draw.extra.get("total")
    if total is None:
        return
    if len(selections) == 1 and "invitations" not in selections[0] and "raw" not in selections[0]:
        selections[0]["invitations"] = total
        return
    counts = [s.get("invitations") for s in selections]
    if None not in counts and sum(counts) != total:
        draw.flags.append("selections_disagree_with_total")
        problems.append(f"{draw.title}: selections add up to {sum(counts)}, the total says {total}")


def _selection(draw: DrawRecord, selection: dict, texts: list[tuple[dict | None, str]]) -> DrawRecord:
    """One selection of the draw as its own record: its count, score and occupations; the
    draw's number, total and Express Entry count in ``extra``."""
    named = selection["slug"]
    nocs = list(dict.fromkeys(selection.get("nocs", [])))
    record = DrawRecord(SOURCE, selection_key(draw.key, named), None, draw.title, url=draw.url,
                        # a special measure's selections are all open to its people alone
                        program=draw.program if draw.program == "ukraine" else named or draw.program,
                        invitations=selection.get("invitations"),
                        noc_codes=nocs, noc_version=noc_version(nocs),
                        flags=draw.flags + selection.get("flags", []),
                        # its own lines and the draw's ("Of the N ...", the notes)
                        text="\n".join(t for owner, t in texts if owner is None or owner is selection),
                        extra=dict(draw.extra))
    if "score" in selection:
        record.score_min, record.score_system = selection["score"], "mb_eoi"
    if named:
        record.extra.update(selection=selection["name"], stream=selection["stream"])
    for part in ("initiatives", "broad_categories", "raw"):
        if part in selection:
            record.extra[part] = selection[part]
    return record


# -- one record per selection ---------------------------------------------------------------


def _pages(r: DrawRecord) -> set[str]:
    return set(str(r.extra.get("page", "")).split("+")) - {""}


def _draw_of(r: DrawRecord) -> str:
    return str(r.extra.get("draw") or r.key)


def merge_mb(records: list[DrawRecord]) -> list[DrawRecord]:
    """One record per selection. Where a post of the draw was read, its selections are
    the draw's: the feed's records of that draw (its excerpt's streams, or the draw as a
    whole) only date them. Records of one key merge: the post's selections, occupations
    and counts, the feed's date and excerpt where the post has none; among records from
    the same pages the later one (a crawl's over the stored draw). Merging a merged record
    with either page's records again changes nothing unless that page changed."""
    by_draw: dict[str, list[DrawRecord]] = {}
    for r in records:
        by_draw.setdefault(_draw_of(r), []).append(r)
    posts_read = any("post" in _pages(r) for r in records)
    out = []
    for group in by_draw.values():
        posted = [r for r in group if "post" in _pages(r)]
        feed = [r for r in group if "post" not in _pages(r)]
        if posted and feed:
            group = [_dated(r, feed) for r in posted]
        elif posts_read:
            # The feed's draw as a whole (its excerpt named no selections) where posts were
            # read but not this draw's (the index's window has moved on, or not yet come):
            # stored, it would stand beside the selections its post gives, alerted twice.
            group = [r for r in group if r.program != "eoi"]
        out += _merge_keys(group)
    return out


def _dated(record: DrawRecord, feed: list[DrawRecord]) -> DrawRecord:
    """A post's selection with what the feed knows of its draw: the day it was published."""
    day = record.date or next((r.date for r in sorted(feed, key=lambda r: r.key) if r.date), None)
    extra = {**{k: v for r in feed for k, v in r.extra.items() if k in ("total", "express_entry")}, **record.extra}
    extra["page"] = "+".join(sorted(_pages(record) | {"feed"}))
    return dataclasses.replace(record, date=day, extra=extra)


def _merge_keys(records: list[DrawRecord]) -> list[DrawRecord]:
    by_key: dict[str, list[tuple[int, DrawRecord]]] = {}
    for position, r in enumerate(records):
        by_key.setdefault(r.key, []).append((position, r))
    out = []
    for key, numbered in by_key.items():
        if len(numbered) == 1:
            out.append(numbered[0][1])
            continue
        # A fresh post first, then a merged record, then the feed: the post is what
        # Manitoba writes the draw in; the feed is an excerpt of it. Of the same pages,
        # the later record (the crawl's, given after the stored draw).
        numbered.sort(key=lambda pr: (0 if _pages(pr[1]) == {"post"} else 1 if "post" in _pages(pr[1]) else 2,
                                      -pr[0]))
        group = [r for _, r in numbered]
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
        extra["page"] = "+".join(sorted(set().union(*(_pages(r) for r in group))))
        merged.extra = extra
        out.append(merged)
    return out
