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
        insert_columns(session, table, {key: [row[key] for row in rows] for key in rows[0]})


def insert_columns(session: Session, table: Table, columns: dict[str, Sequence], shared: dict | None = None) -> None:
    """INSERT one row per position of ``columns`` (column key -> the rows' values, all of
    one length, at least one column), each row also holding ``shared``'s values (column
    key -> the value every row has, converted once). No dict is built per row here: the
    rows are zips of the columns."""
    shared = shared or {}
    if not next(iter(columns.values())):
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        _copy(connection, table, columns, shared)
        return
    keys = [*columns, *shared]
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup) if compiled.positional else keys
    ready = []
    for key in order:
        convert = _converter(table.c[key], dialect)
        if key in columns:
            values = columns[key]
            ready.append(values if convert is None else _converted(values, convert))
        else:
            value = shared[key]
            ready.append(repeat(value if convert is None or value is None else convert(value)))
    params = zip(*ready)  # ends with the columns: the shared values repeat without end
    if not compiled.positional:
        params = (dict(zip(order, values)) for values in params)
    connection.exec_driver_sql(compiled.string, list(params))


# COPY's text format: these four characters of a value are written escaped
# (PostgreSQL's COPY, "Text Format"); NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_COPY_ROWS = 4096  # rows per write to the server


def _copy(connection, table: Table, columns: dict[str, Sequence], shared: dict) -> None:
    """``insert_columns`` on PostgreSQL: one COPY, its rows written as text.

    executemany runs one INSERT per row on the server, and rows of VALUES cost psycopg a
    parse of every placeholder. COPY streams the rows inside the session's transaction;
    psycopg's ``write_row`` formats every value of every row (the draw's facts again and
    again: a quarter of the matcher's CPU), so each distinct value is put in COPY's text
    form once, by psycopg's own dumper, and a row is its fields joined."""
    from psycopg.adapt import PyFormat, Transformer  # the postgres extra's: here only

    dialect = connection.dialect
    quote = dialect.identifier_preparer
    keys = [*columns, *shared]
    sql = (f"COPY {quote.format_table(table)} "
           f"({', '.join(quote.format_column(table.c[k]) for k in keys)}) FROM STDIN")
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

        fields = [_converted(columns[key], field(key), none=r"\N") for key in columns]
        tail = "".join(f"\t{field(key)(shared[key])}" for key in shared) + "\n"
        rows = zip(*fields)
        with cursor.copy(sql) as copy:
            while chunk := list(islice(rows, _COPY_ROWS)):
                copy.write("".join(["\t".join(row) + tail for row in chunk]))
