"""Many rows into one table at once, for the matcher's outbox rows and the profile
index: one ``executemany`` (SQLite), or one COPY (PostgreSQL).

SQLAlchemy's bulk insert converts every value of every row through its column type
(``json.dumps`` six times a row for the outbox) and builds its parameters row by row;
at a hundred thousand rows inside the ingest transaction that was most of the time
spent. Here each value goes through the same column type's conversion, but a value
many rows share (the draw's facts, the same reasons worded the same way, the time of
the run) is converted once, and the rows go to the driver as they are.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from itertools import islice, repeat
from typing import Sequence

from sqlalchemy import JSON, Table, insert
from sqlmodel import Session

_MISSING = object()


def _converted(values: Sequence, convert, none=None) -> list:
    """``convert`` applied to each value, once per distinct value: by identity first (the
    matcher's rows share the lists of a decision worded alike), then lists by content and
    other hashable values by value; unhashable ones (dicts) by identity alone. None
    stays ``none``."""
    by_id: dict = {}  # every value is alive in ``values`` meanwhile: no id is reused
    by_value: dict = {}
    out = []
    append = out.append
    for value in values:
        if value is None:
            append(none)
            continue
        done = by_id.get(id(value), _MISSING)
        if done is _MISSING:
            key = (type(value), tuple(value)) if type(value) is list else (type(value), value)
            try:
                done = by_value.get(key, _MISSING)
                if done is _MISSING:
                    done = by_value[key] = convert(value)
            except TypeError:  # unhashable: a dict, or a list of dicts
                done = convert(value)
            by_id[id(value)] = done
        append(done)
    return out


def _converter(column, dialect):
    """The column type's own conversion of a value for this database, as the ORM applies it.

    PostgreSQL's JSON is the exception: SQLAlchemy hands psycopg a wrapper that psycopg
    serializes at every use; COPY takes the JSON text, serialized once per distinct value
    (by ``json.dumps``, as the wrapper would)."""
    if dialect.name == "postgresql" and isinstance(column.type, JSON):
        return json.dumps
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys, Python values as the ORM takes them)."""
    if rows:
        with column_writer(session, table, list(rows[0])) as write:
            write({key: [row[key] for row in rows] for key in rows[0]})


@contextmanager
def column_writer(session: Session, table: Table, keys: list[str], shared: dict | None = None):
    """``write(columns)`` for the block: INSERTs rows given as columns (``keys`` -> the
    rows' values, all of one length), each row also holding ``shared``'s values, converted
    once for the block. No dict is built per row: the rows are zips of the columns.

    On PostgreSQL the rows go by one COPY open for the block, so the server stores the
    rows written while the caller works out the next ones (2 CPUs: both at once)."""
    shared = shared or {}
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        with _copy_writer(connection, table, keys, shared) as write:
            yield write
        return
    compiled = insert(table).compile(dialect=dialect, column_keys=[*keys, *shared])
    order = list(compiled.positiontup) if compiled.positional else [*keys, *shared]
    converters = {key: _converter(table.c[key], dialect) for key in order}
    constant = {key: value if converters[key] is None or value is None else converters[key](value)
                for key, value in shared.items()}

    def write(columns: dict[str, Sequence]) -> None:
        if not len(columns[keys[0]]):
            return
        ready = []
        for key in order:
            convert = converters[key]
            if key in constant:
                ready.append(repeat(constant[key]))
            else:
                ready.append(columns[key] if convert is None else _converted(columns[key], convert))
        params = zip(*ready)  # ends with the columns: the shared values repeat without end
        if not compiled.positional:
            params = (dict(zip(order, values)) for values in params)
        connection.exec_driver_sql(compiled.string, list(params))

    yield write


# COPY's text format: these four characters of a value are written escaped
# (PostgreSQL's COPY, "Text Format"); NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_COPY_ROWS = 4096  # rows per write to the server


@contextmanager
def _copy_writer(connection, table: Table, keys: list[str], shared: dict):
    """``column_writer`` on PostgreSQL: one COPY, its rows written as text.

    executemany runs one INSERT per row on the server, and rows of VALUES cost psycopg a
    parse of every placeholder. COPY streams the rows inside the session's transaction;
    psycopg's ``write_row`` formats every value of every row (the draw's facts again and
    again: a quarter of the matcher's CPU), so each distinct value is put in COPY's text
    form once, by psycopg's own dumper, and a row is its fields joined."""
    from psycopg.adapt import PyFormat, Transformer  # the postgres extra's: here only

    dialect = connection.dialect
    quote = dialect.identifier_preparer
    sql = (f"COPY {quote.format_table(table)} "
           f"({', '.join(quote.format_column(table.c[k]) for k in [*keys, *shared])}) FROM STDIN")
    with connection.connection.driver_connection.cursor() as cursor:
        transformer = Transformer(cursor)

        def text(value) -> str:
            if value is None:
                return r"\N"
            if type(value) is not str:
                value = bytes(transformer.get_dumper(value, PyFormat.TEXT).dump(value)).decode()
            return value.translate(_COPY_ESCAPES)

        def field(key):
            convert = _converter(table.c[key], dialect)
            return text if convert is None else (lambda value: text(None if value is None else convert(value)))

        fields = {key: field(key) for key in keys}
        tail = "".join(f"\t{field(key)(shared[key])}" for key in shared) + "\n"
        with cursor.copy(sql) as copy:

            def write(columns: dict[str, Sequence]) -> None:
                rows = zip(*(_converted(columns[key], fields[key], none=r"\N") for key in keys))
                while chunk := list(islice(rows, _COPY_ROWS)):
                    copy.write("".join(["\t".join(row) + tail for row in chunk]))

            yield write
