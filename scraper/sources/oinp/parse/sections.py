"""An updates page cut into dated sections: ``<h2>`` month, ``<h3>``/``<h4>`` date (or a
topical ``<h2>`` opening an undated section); what follows a date until the next one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scraper.parse import dates as dt
from scraper.sources.oinp.parse.blocks import Block

_MONTH_NAMES = set(dt.MONTHS)
_STOP_SECTIONS = {"related information", "contact us", "footnotes", "questions or comments"}


@dataclass
class Section:
    date: date | None
    rest: str                   # the date heading's text after the date
    blocks: list[Block]


def sections(blocks: list[Block], year: int | None) -> tuple[list[Section], int]:
    """Split at month ``<h2>`` and date headings; returns sections and the number of
    date headings seen (zero means the page is not an updates page)."""
    out: list[Section] = []
    cur: Section | None = None
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
                cur = Section(None, b.text, [])
                out.append(cur)
                continue
            lead = dt.leading_date(b.text, year)
            if lead and b.level in (3, 4) and dt.DATE_RE.match(b.text):
                dated += 1
                cur = Section(lead[0], lead[1], [])
                out.append(cur)
                continue
        if cur is not None:      # text before the first date is the page's introduction
            cur.blocks.append(b)
    return out, dated
