"""Natural keys of draws read from a table: date and stream, which a page may repeat."""
from __future__ import annotations

from scraper.records import DrawRecord


def number_repeats(records: list[DrawRecord]) -> list[DrawRecord]:
    """Records sharing a key (two selections of one day and stream: possible, not seen
    yet) kept apart as "<key>/2", "<key>/3" in page order; the first keeps its key."""
    seen: dict[str, int] = {}
    for rec in records:
        n = seen[rec.key] = seen.get(rec.key, 0) + 1
        if n > 1:
            rec.key = f"{rec.key}/{n}"
    return records
