"""HTML tables as grids: each row's cells in column order, a cell spanning rows or
columns standing in every place it covers (the same element object, so a reader can
tell a spanned cell from two cells that read alike). Provincial draw tables span a
draw's date over its rows, and inside a draw span a score over two lines of one
selection; reading spans as repeated values counts such a selection twice.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

from scraper.parse import html, numbers
from scraper.parse.text import clean

# A real table spans a few rows; a bigger span is a page error, not a reason to fill
# thousands of rows.
MAX_SPAN = 100


def _span(cell: etree._Element, attr: str) -> int:
    value = (cell.get(attr) or "1").strip()
    return min(int(value), MAX_SPAN) if value.isdigit() and int(value) > 0 else 1


def own_rows(table: etree._Element) -> list[etree._Element]:
    """The table's own ``<tr>`` (in ``thead``/``tbody``/``tfoot`` or directly), not a nested table's."""
    rows, stack = [], [c for c in reversed(table) if html.is_element(c)]
    while stack:
        el = stack.pop()
        if el.tag == "tr":
            rows.append(el)
        elif el.tag in ("thead", "tbody", "tfoot"):
            stack.extend(c for c in reversed(el) if html.is_element(c))
    return rows


def grid(table: etree._Element) -> list[list[etree._Element | None]]:
    """Every row of ``table`` as its cells in column order, spans expanded."""
    out: list[list[etree._Element | None]] = []
    carried: dict[int, tuple[etree._Element, int]] = {}   # column -> (cell, rows it still covers)
    for tr in own_rows(table):
        cells = [c for c in tr if html.is_element(c) and c.tag in ("td", "th")]
        row: list[etree._Element | None] = []
        col = 0
        pending = iter(cells)
        cell = next(pending, None)
        while cell is not None or any(c >= col for c in carried):
            if col in carried:
                spanned, left = carried[col]
                row.append(spanned)
                if left > 1:
                    carried[col] = (spanned, left - 1)
                else:
                    del carried[col]
                col += 1
                continue
            if cell is None:
                # Only carried cells further right remain: an empty place before them
                # keeps every cell in its column.
                row.append(None)
                col += 1
                continue
            down, across = _span(cell, "rowspan"), _span(cell, "colspan")
            for _ in range(across):
                row.append(cell)
                if down > 1:
                    carried[col] = (cell, down - 1)
                col += 1
            cell = next(pending, None)
        out.append(row)
    return out


def cell_text(cell: etree._Element | None) -> str:
    """A cell's text on one line (``<br>`` as a space); "" for no cell."""
    return "" if cell is None else clean(html.text(cell, br=" "))


def header_tables(root: etree._Element, columns: Callable[[list[str]], dict[str, int] | None]
                  ) -> Iterator[tuple[dict[str, int], list[list[str]]]]:
    """Each table under ``root`` whose first row ``columns`` reads as its header (column ->
    index; None: not the table sought), with the cell texts of its other non-blank rows,
    every row as wide as the header."""
    for table in root.iter("table"):
        rows = grid(table)
        header = [cell_text(c) for c in rows[0]] if rows else []
        cols = columns(header) if rows else None
        if cols is None:
            continue
        body = [[cell_text(c) for c in row] + [""] * (len(header) - len(row)) for row in rows[1:]]
        yield cols, [cells for cells in body if any(cells)]


def count_cell(text: str, extra: dict, flags: list[str]) -> int | None:
    """The invitations a cell states: a count; a bound ("<5", "Less than 10") kept in
    ``extra["invitations_below"]``, never as the count; anything else but a placeholder
    kept verbatim in ``extra["raw"]`` and flagged."""
    count = numbers.parse_count(text)
    if count is not None:
        return count
    below = numbers.parse_below(text)
    if below is not None:
        extra["invitations_below"] = below
        extra.setdefault("raw", {})["invitations"] = text
        flags.append("invitations_bound")
    elif not numbers.is_placeholder(text):
        extra.setdefault("raw", {})["invitations"] = text
        flags.append("unreadable_invitations")
    return None


def kept_verbatim(records) -> list[str]:
    """One problem line per value a table's parser kept verbatim because it could not read
    it (``extra["raw"]`` beside an ``unreadable_*`` flag; a bound is read, not listed)."""
    return [f"{r.key}: {field} {text!r} kept verbatim, flagged"
            for r in records for field, text in sorted((r.extra or {}).get("raw", {}).items())
            if f"unreadable_{field}" in r.flags]
