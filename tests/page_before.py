"""A page as it stood before its newest rows: a markdown copy with those table rows taken
out, rendered to HTML (tests/md_render.py). For pages whose draw table only grows (Alberta's
Table 10, Newfoundland and Labrador's ITA table) and of which only one copy exists, this is
the earlier page of an early/late pair. And a copy with one cell typed otherwise (a value
not yet out, a value no parser can read)."""
from __future__ import annotations

from pathlib import Path

from tests.md_render import render


def page_before(page: Path, rows: tuple[str, ...], folder: Path) -> bytes:
    """``page`` (a markdown copy) without the table rows starting with ``rows``, rendered."""
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(rows)]
    assert len(lines) - len(kept) == len(rows), "every row to take out is on the page, once"
    path = folder / page.name
    path.write_text("".join(kept), encoding="utf-8")
    return render(path)[0]


def page_edited(page: Path, old: str, new: str, folder: Path) -> bytes:
    """``page`` (a markdown copy) with its one ``old`` text typed as ``new``, rendered."""
    text = page.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is on the page once"
    path = folder / page.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return render(path)[0]
