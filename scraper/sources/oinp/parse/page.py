"""What an Ontario page is before it is read: a captcha instead of content (the shared
check), its tree, its article body, the year an updates page covers, and errors that name
the page."""
from __future__ import annotations

import re
from contextlib import contextmanager

from lxml import etree

from scraper.parse import html
from scraper.parse.blocked import check_blocked
from scraper.records import ParseError

SOURCE = "oinp"


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


_YEAR_IN_URL = re.compile(r"/([0-9]{4})-ontario-immigrant-nominee-program-updates")
_YEAR_IN_TITLE = re.compile(r"\b((?:19|20)[0-9]{2})\s+Ontario Immigrant Nominee Program", re.IGNORECASE)


def page_year(root, url: str) -> int | None:
    """The year an updates page covers: from its address, its title, or its canonical link."""
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


@contextmanager
def naming_page(url: str):
    """A ParseError raised deep in the reading, where the page is not at hand, names it."""
    try:
        yield
    except ParseError as exc:
        if exc.url is None:
            raise ParseError(str(exc), url) from exc
        raise
