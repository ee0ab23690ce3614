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

from sqlalchemy import JSON, Table, insert
from sqlmodel import Session


def _converted(values: list, convert) -> list:
    """``convert`` applied to each value, once per distinct value (lists by content, as
    reasons worded alike; other unhashable values, the draw's facts, by identity)."""
    seen: dict = {}
    out = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        key = (type(value), tuple(value)) if type(value) is list else (type(value), value)
        try:
            out.append(seen[key])
        except KeyError:
            out.append(seen.setdefault(key, convert(value)))
        except TypeError:  # unhashable: a dict, or a list of dicts
            # By identity: the caller's rows hold every value, so no id is reused meanwhile.
            key = type(value) if not value else id(value)  # empty ones are all alike
            out.append(seen[key] if key in seen else seen.setdefault(key, convert(value)))
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
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup) if compiled.positional else keys
    columns = []
    for key in order:
        values = [row[key] for row in rows]
        convert = _converter(table.c[key], dialect)
        columns.append(values if convert is None else _converted(values, convert))
    params = zip(*columns)
    if dialect.name == "postgresql":
        # COPY: executemany runs one INSERT per row on the server, and rows of VALUES
        # cost psycopg a parse of every placeholder; COPY streams the rows in one go,
        # inside the session's transaction.
        quote = dialect.identifier_preparer
        sql = (f"COPY {quote.format_table(table)} "
               f"({', '.join(quote.format_column(table.c[k]) for k in order)}) FROM STDIN")
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in params:
                copy.write_row(row)
        return
    if not compiled.positional:
        params = (dict(zip(order, values)) for values in params)
    connection.exec_driver_sql(compiled.string, list(params))
