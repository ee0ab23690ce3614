"""A post's NOC lists: a list item, a line of a ``<br>``-split paragraph, or a run of
"code – title" pairs; and the codes listed before any selection was reported."""
from __future__ import annotations

from scraper.parse import nocs as nc
from scraper.sources.oinp.parse.blocks import Block
from scraper.sources.oinp.parse.selection import Sel


def listed_codes(b: Block) -> list[str]:
    """The codes of a block that is a NOC list, else [] (a sentence merely naming a code
    is not a list: its codes are read as inline codes). Block texts and lines are clean
    already (the walker made them so)."""
    nocs = [c for c, _ in nc.split_noc_run(b.text, cleaned=True)] or [
        p[0] for line in (b.lines or (b.text,)) if (p := nc.parse_noc_line(line, cleaned=True))]
    if nocs and (b.is_li or len(nocs) > 1 or b.lines == (b.text,) or nc.parse_noc_line(b.text, cleaned=True)):
        return nocs
    return []


def give_unclaimed(sels: list[Sel], codes: list[str]) -> None:
    """Codes listed before any selection was reported go to every selection without a list."""
    if codes:
        for x in sels:
            if not x.nocs:
                x.add_nocs(codes)
