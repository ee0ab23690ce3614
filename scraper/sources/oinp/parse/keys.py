"""Keys: the same draw gets the same key from the updates page and from a ledger."""
from __future__ import annotations

from collections import defaultdict

from scraper.parse import text as tx
from scraper.records import DrawRecord, NoticeRecord


def assign_keys(records: list[DrawRecord]) -> None:
    """Set ``key`` on every record of one page: ``<date>/<stream>``, and when the page
    holds several selections of one stream on one day, ``/<target>`` (their primary
    targeted region or group, "general" for the untargeted one), else ``/<score>``,
    else a running number. Both the updates and the ledger parser use this, so the
    same draw gets the same key from either page."""
    by_day: dict[tuple, list[DrawRecord]] = defaultdict(list)
    for r in records:
        prog = r.program or "unknown"
        if prog == "unknown":
            prog = "unknown-" + (tx.slug(r.extra.get("stream_name", ""), 40) or "stream")
        by_day[(r.date.isoformat() if r.date else "undated", prog)].append(r)
    for (day, prog), rs in by_day.items():
        base = f"{day}/{prog}"
        if len(rs) == 1:
            rs[0].key = base
            continue
        options = [
            [r.extra.get("target") or "general" for r in rs],
            ["+".join(r.extra.get("targets") or ["general"]) for r in rs],
            [str(r.score_min) if r.score_min is not None else None for r in rs],
        ]
        for suffixes in options:
            if None not in suffixes and len(set(suffixes)) == len(rs):
                break
        else:
            suffixes = [str(i) for i in range(1, len(rs) + 1)]
        for r, sfx in zip(rs, suffixes):
            r.key = f"{base}/{sfx}"


def notice_keys(notices: list[NoticeRecord]) -> None:
    seen: dict[str, int] = defaultdict(int)
    for n in notices:
        base = f"{n.date.isoformat() if n.date else 'undated'}/{tx.slug(n.title) or 'notice'}"
        seen[base] += 1
        n.key = base if seen[base] == 1 else f"{base}-{seen[base]}"

