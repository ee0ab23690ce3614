"""Which NOC 2021 unit groups a draw targets, in one vocabulary, for queries and matching."""
from __future__ import annotations

from typing import Protocol

from scraper.sources import registry
from store.reference.noc import NocError, as_2021


class _DrawLike(Protocol):
    source: str
    program: str | None
    category_version: str | None
    noc_codes: list[str]
    noc_version: str | None


def draw_nocs(draw: _DrawLike) -> dict[str, str]:
    """{noc2021: via}: "published" (as printed), "crosswalk" (a 2016 code mapped) or
    "category" (on a list the draw's source keeps for it, e.g. a category's)."""
    found: dict[str, str] = {}
    for code in draw.noc_codes or []:
        if len(code) == 5:
            found[code] = "published"
        else:
            try:
                mapped_codes = as_2021(code)
            except NocError:
                # A code the official correspondence doesn't know (a typo on the page):
                # it stays in noc_codes as published; there is nothing to map it to.
                continue
            for mapped in mapped_codes:
                found.setdefault(mapped, "crosswalk")
    for code in registry.get(draw.source).listed_nocs(draw):
        found.setdefault(code, "category")
    return found
