"""Alberta's worker streams and pathways as its draw table names them.

The labels are typed by hand: en dashes or hyphens, and the sector in brackets drifts
("Priority Sectors (Construction)", "(Construction and skilled trade)"). A label reads
as one stream whatever its dash or spacing; a priority-sector draw's slug is named by the
sector's first words, so the two construction labels are one stream.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from scraper.parse.text import clean, slug


@dataclass(frozen=True)
class Stream:
    slug: str
    name: str
    # The occupations the stream takes, in words, where it takes only some (None: any):
    # AAIP publishes no code list for them on this page.
    sector: str | None = None


_STREAMS = [
    Stream("aos", "Alberta Opportunity Stream"),
    Stream("aos-priority-sectors", "Alberta Opportunity Stream – Priority Sectors", "AAIP's priority sectors"),
    Stream("rrs", "Rural Renewal Stream"),
    Stream("ths", "Tourism and Hospitality Stream", "tourism and hospitality occupations"),
    Stream("dhcp-ee", "Dedicated Health Care Pathway – Express Entry", "health care occupations"),
    Stream("dhcp-non-ee", "Dedicated Health Care Pathway – non-Express Entry", "health care occupations"),
    Stream("aees-tech", "Alberta Express Entry Stream – Accelerated Tech Pathway", "the pathway's tech occupations"),
    Stream("aees-law-enforcement", "Alberta Express Entry Stream – Law Enforcement Pathway",
           "law enforcement occupations"),
]
_PRIORITY = re.compile(r"^alberta express entry stream - priority sectors? \((?P<sector>[^()]+)\)$")


def _norm(label: str) -> str:
    return re.sub(r"\s*[-–—]\s*", " - ", clean(label)).casefold()


_BY_LABEL = {_norm(s.name): s for s in _STREAMS}


def find_stream(label: str) -> Stream | None:
    """The stream a draw table's label names; None for one not known."""
    norm = _norm(label)
    if norm in _BY_LABEL:
        return _BY_LABEL[norm]
    m = _PRIORITY.match(norm)
    if m:
        sector = clean(label)[clean(label).rindex("(") + 1:-1]
        return Stream(f"aees-priority-{slug(m.group('sector').split(' and ')[0])}",
                      f"Alberta Express Entry Stream – Priority Sectors ({sector})", f"the {sector} sector")
    return None


_BY_SLUG = {s.slug: s.name for s in _STREAMS}


def stream_name(slug: str) -> str | None:
    """The stream's name for a slug ``find_stream`` gave; None for one it never gives."""
    if slug in _BY_SLUG:
        return _BY_SLUG[slug]
    sector = slug.removeprefix("aees-priority-")
    if sector != slug and sector:
        return f"Alberta Express Entry Stream – Priority Sectors ({sector.replace('-', ' ').capitalize()})"
    return None
