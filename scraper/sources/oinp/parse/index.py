"""A month's index: the list of links to that month's posts that opens each month of an
updates page (or an alert box repeating one). It is not a post; it gives the posts that
lack an anchor of their own their anchor, through the link's text."""
from __future__ import annotations

from scraper.sources.oinp.parse.sections import Section


def is_index(sec: Section) -> bool:
    """A section of nothing but in-page links (text of at most 3 characters besides)."""
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


def index_anchors(sections: list[Section]) -> dict[str, str]:
    """Link text (lower-cased) -> the anchor it points to, the first link of each text."""
    anchors: dict[str, str] = {}
    for sec in sections:
        if is_index(sec):
            for b in sec.blocks:
                if b.anchor_links and not b.in_alert:
                    anchors.setdefault(b.text.lower(), b.anchor_links[0])
    return anchors
