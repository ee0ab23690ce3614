"""The merge of Ontario's pages: one record per key, the updates page's facts completed
by the ledgers' counts, windows and score ranges."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import fields

from scraper.records import DrawRecord

# Which page's value wins when both have one: the ledger for what it exists to record
# (per-stream counts, windows, score ranges, the time of the round), the updates page
# for everything else (title, text, anchor, NOC list, region). A record merged before
# ("ledger+updates", e.g. the stored row) ranks after a fresh page of either kind.
_LEDGER_FIRST = {"invitations", "window_start", "window_end", "score_min", "score_max", "round_time"}
_OWN = {"extra", "flags", "score_min", "score_max", "noc_version"}


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _pages(r: DrawRecord) -> set[str]:
    return set(str(r.extra.get("page", "")).split("+"))


def _rank(r: DrawRecord, kind: str) -> tuple:
    pages = _pages(r)
    first = 0 if pages == {kind} else 1 if kind in pages else 2
    return (first, r.url or "", r.title, r.text)


def merge_oinp(records: list[DrawRecord]) -> list[DrawRecord]:
    """One record per key: the updates page's facts completed by the ledgers' counts,
    windows and score ranges; non-empty values preferred; every page's URL kept in
    ``extra["sources"]``. The result does not depend on the order of ``records``, and
    merging a merged record with either page's record again changes nothing unless that
    page changed, so it also reconciles a stored draw with a new crawl."""
    by_key: dict[tuple[str, str], list[DrawRecord]] = defaultdict(list)
    for r in records:
        by_key[(r.source, r.key)].append(r)
    out = []
    for _, rs in sorted(by_key.items()):
        updates_first = sorted(rs, key=lambda r: _rank(r, "updates"))
        ledger_first = sorted(rs, key=lambda r: _rank(r, "ledger"))
        merged = {}
        for f in fields(DrawRecord):
            if f.name in _OWN:
                continue
            order = ledger_first if f.name in _LEDGER_FIRST else updates_first
            merged[f.name] = next((getattr(r, f.name) for r in order if not _empty(getattr(r, f.name))),
                                  getattr(order[0], f.name))
        # Both ends of a score range come from one page, never half from each.
        score_src = next((r for r in ledger_first if r.score_min is not None), ledger_first[0])
        merged["score_min"], merged["score_max"] = score_src.score_min, score_src.score_max
        merged["noc_version"] = next((r.noc_version for r in updates_first if r.noc_codes == merged["noc_codes"]), None)
        extra: dict = {}
        for r in reversed(updates_first):       # the best-ranked page's values last, so they win
            extra.update(r.extra)
        sources = {u for r in rs for u in r.extra.get("sources", [])} | {r.url for r in rs if r.url}
        extra["sources"] = sorted(sources)
        extra["page"] = "+".join(sorted({p for r in rs for p in _pages(r) if p}))
        merged["extra"] = extra
        merged["flags"] = sorted({f for r in rs for f in r.flags})
        out.append(DrawRecord(**merged))
    return out
