"""Rendering rows for the CLI: one function for every listing command's --format.

The rules every listing follows: JSON is a list of objects and CSV a header and rows, both
with every field, in the table's column order first; a nested value (a list, a dict) is
JSON inside a CSV cell and readable text in the table; a listing cut at ``--limit`` says
so (``limit_note``).
"""
from __future__ import annotations

import csv
import io
import json
import logging
from datetime import date, datetime, time
from typing import Any, Sequence

import click

FORMATS = ("table", "json", "csv")
TABLE_WIDTH = 60  # characters of a table cell before it is cut with "..."


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return value


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: str(_plain(v)))


def csv_cell(value: Any) -> str:
    """A CSV cell: text as it is, a list or a dict as JSON (never Python's repr)."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return as_json(value)
    return str(value)


def readable(value: Any) -> str:
    """A value as a person reads it in a table: a list of plain values space-separated,
    a dict as ``key: value; ...``, anything deeper as JSON."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (list, tuple, dict)) for v in value):
            return " ".join(str(_plain(v)) for v in value)
        return as_json(value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {readable(v) if not isinstance(v, dict) else as_json(v)}" for k, v in value.items())
    return str(value)


def ordered(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """``row`` with the table's columns first, then its other fields as they come."""
    return {**{c: row.get(c) for c in columns}, **{k: v for k, v in row.items() if k not in columns}}


def render(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> str:
    """``rows`` as a table (``columns`` only), JSON or CSV (every field, ``columns`` first)."""
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        return json.dumps([{k: _plain(v) for k, v in ordered(row, cols).items()} for row in rows], indent=2,
                          ensure_ascii=False, default=lambda v: str(_plain(v)))  # nested dates ISO too
    if fmt == "csv":
        every = list(ordered(rows[0], cols)) if rows else cols
        for row in rows[1:]:  # rows of one listing share their fields; a stray one is kept too
            every += [k for k in row if k not in every]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(every)
        for row in rows:
            writer.writerow([csv_cell(row.get(c)) for c in every])
        return buf.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    cells = [[readable(row.get(c)) for c in cols] for row in rows]
    widths = [max([len(c)] + [min(len(r[i]), TABLE_WIDTH) for r in cells]) for i, c in enumerate(cols)]

    def line(values: Sequence[str]) -> str:
        return "  ".join((v if len(v) <= TABLE_WIDTH else v[:TABLE_WIDTH - 3] + "...").ljust(w)
                         for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells])


def limit_note(shown: int, total: int, what: str = "") -> str | None:
    """"100 of 175 shown; --limit to change" when a limit cut the listing, else None."""
    if total <= shown:
        return None
    return f"{shown} of {total}{' ' + what if what else ''} shown; --limit to change"


def emit(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None, *,
         total: int | None = None, what: str = "") -> None:
    """Print a listing; when ``total`` says more rows exist than were shown, say so: under a
    table, or on stderr for JSON and CSV (their output stays data a program can read)."""
    click.echo(render(rows, fmt, columns))
    note = limit_note(len(rows), total, what) if total is not None else None
    if note:
        click.echo(note, err=fmt != "table")


class QuietLogs:
    """Leave out of the log, for the duration of a block, the records a command already
    tells the person itself (one line per event): each rule is (logger, level) for that
    logger's records below ``level``, or (logger, level, message) for one message of it.
    A filter on the handlers, not a logger's level: a library that reads its own records
    back (Apprise tells why a send failed from them) still sees them."""

    def __init__(self, *rules: tuple):
        self.rules = rules

    def filter(self, record: logging.LogRecord) -> bool:
        for name, level, *message in self.rules:
            if ((record.name == name or record.name.startswith(name + ".")) and record.levelno < level
                    and (not message or record.msg == message[0])):
                return False
        return True

    def __enter__(self) -> "QuietLogs":
        for handler in logging.getLogger().handlers:
            handler.addFilter(self)
        return self

    def __exit__(self, *exc) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)
