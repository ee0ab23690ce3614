"""HTML pages as lxml trees, read in time linear in the page, whatever its shape.

The tree is libxml2's (C, no Python object per node until one is touched); every walk
here is iterative (no recursion, so no depth limit of Python's), and each text node
is read once per question asked. libxml2 stops at 256 levels of nesting and would drop
the rest of the page without a word: that, and a page with implausibly many tags, are
ParseErrors instead.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from scraper.records import ParseError

# The largest real page (Ontario's 2024 updates page, with the site around it) has
# about 10,000 tags ("<" counted). Six times that is refused before parsing: the cost of
# reading a page grows with its tags, and a page with that many is not one Ontario wrote.
MAX_TAGS = 60_000

# Text inside these is not shown as text (scripts, styles, templates, ruby annotations),
# as BeautifulSoup's get_text() also leaves it out.
_NOT_TEXT = frozenset({"script", "style", "template", "rt", "rp"})

_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)


def decode(body: bytes) -> str:
    """The page as text: its byte-order mark, else its declared charset, else UTF-8,
    else Windows-1252 (what a browser falls back to); never an exception."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom):].decode(codec, "replace")
    declared = _CHARSET.search(body[:4096])
    codecs = [declared.group(1).decode("ascii")] if declared else []
    # A page cannot declare UTF-16/32 in its own ASCII-compatible bytes: browsers read
    # such a declaration as UTF-8 (WHATWG encoding sniffing), and so does this.
    codecs = [c for c in codecs if not c.lower().replace("-", "").startswith(("utf16", "utf32"))]
    for codec in codecs + ["utf-8"]:
        try:
            return body.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")


def parse_html(body: bytes, url: str) -> etree._Element:
    """The page's ``<html>`` element (an empty one for an empty page), or ParseError
    when the page has too many tags or nests too deep to be read whole."""
    tags = body.count(b"<")
    if tags > MAX_TAGS:
        raise ParseError(f"page has {tags:,} tags, more than the {MAX_TAGS:,} any page of this source comes near", url)
    # Decoded here and handed to libxml2 as UTF-8, so a page without a charset
    # declaration is not read as Latin-1 (libxml2's default for HTML).
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=False, no_network=True)
    text = decode(body)
    root = etree.fromstring(text.encode("utf-8"), parser) if text.strip() else None
    if root is None:        # nothing but blanks or comments: a page without content
        return etree.Element("html")
    for error in parser.error_log:
        if error.level_name == "FATAL":
            # "Excessive depth in document: 256": everything after it is missing.
            raise ParseError(f"page cannot be read whole: {error.message.strip()} (line {error.line})", url)
    return root


def is_element(node) -> bool:
    """True for elements; False for comments, processing instructions and entities."""
    return isinstance(node.tag, str)


def strings(el: etree._Element, prune: Iterable[str] = (), br: str | None = None,
            links: list | None = None) -> list[str]:
    """The text nodes under ``el``, in document order. Elements named in ``prune`` are
    not entered (their tails still count: they belong to the parent); ``br`` stands
    for each ``<br>``, when given; in-page links (``<a href="#...">``) met on the way
    are added to ``links``, when given."""
    prune = _NOT_TEXT.union(prune) if prune else _NOT_TEXT
    out = [el.text] if el.text else []
    # The stack holds elements still to open and tails still to emit, so an element's
    # tail comes after everything inside it.
    stack: list = list(reversed(el))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        if item.tail:
            stack.append(item.tail)
        tag = item.tag
        if not isinstance(tag, str) or tag in prune:
            continue
        if tag == "br" and br:
            out.append(br)
        elif tag == "a" and links is not None and (item.get("href") or "").startswith("#"):
            links.append(item)
        if item.text:
            out.append(item.text)
        stack.extend(reversed(item))
    return out


def text(el: etree._Element, prune: Iterable[str] = (), br: str | None = None, links: list | None = None) -> str:
    """The text under ``el``, text nodes joined with a space (as ``get_text(" ")``)."""
    return " ".join(strings(el, prune, br, links))


def classes(el: etree._Element) -> tuple[str, ...]:
    return tuple((el.get("class") or "").split())


def first(root: etree._Element, tag: str) -> etree._Element | None:
    """The first ``tag`` element under ``root`` (or ``root`` itself), in document order."""
    return next(root.iter(tag), None)


def count_within(root: etree._Element, outer: list[etree._Element], tags: set[str]) -> dict:
    """For each element of ``outer``: how many ``tags`` elements lie inside it. One pass
    (document-order positions and prefix sums), however the ``outer`` ones nest."""
    order = list(root.iter(etree.Element))
    position = {e: i for i, e in enumerate(order)}
    seen = [0]
    for e in order:
        seen.append(seen[-1] + (e.tag in tags))
    last: dict = {}          # position of the last element inside each element
    for e in reversed(order):
        inner = None
        for child in reversed(e):
            if is_element(child):
                inner = child
                break
        last[e] = last[inner] if inner is not None else position[e]
    return {e: seen[last[e] + 1] - seen[position[e] + 1] for e in outer}
