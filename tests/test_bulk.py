"""notifier.bulk writes what the ORM writes: rows read back alike, on SQLite and on
PostgreSQL (where the rows go as COPY text, escaped by drawwatch)."""
from __future__ import annotations

import datetime as dt

from sqlmodel import select

from notifier.bulk import column_writer, insert_rows
from store.models import Draw, Notification, Subscriber

# What COPY's text format must escape or could mistake: its NULL marker, its delimiter,
# line ends, backslashes, and text that is not ASCII.
AWKWARD = ["tab\there", "two\nlines", "cr\r", "back\\slash", r"\N", "", "quote ' \" é — 中", "\\t literal"]


def _draw_and_people(session, n: int, key: str) -> tuple[int, list[int]]:
    now = dt.datetime(2026, 4, 15, 12, 30, 5, 123456, tzinfo=dt.timezone.utc)
    draw = Draw(source="express_entry", key=key, title="t", content_hash="h", first_seen=now, last_seen=now)
    session.add(draw)
    people = [Subscriber(name=f"{key}-{i}", origin="cli", profile={}, created=now, updated=now) for i in range(n)]
    session.add_all(people)
    session.flush()
    return draw.id, [p.id for p in people]


def _rows(draw_id: int, ids: list[int]) -> list[dict]:
    at = dt.datetime(2026, 4, 15, 12, 30, 5, 123456, tzinfo=dt.timezone.utc)
    facts = {"date": "2026-04-15", "noc_codes": ["21231", "2173"], "note": AWKWARD}
    rows = []
    for i, sid in enumerate(ids):
        word = AWKWARD[i % len(AWKWARD)]
        rows.append(dict(subscriber_id=sid, draw_id=draw_id, kind="alert", ref=f"ref {word}", status="pending",
                         digest=bool(i % 2), interests=["eligible"] if i % 3 else [], reasons=[word, "same"],
                         unmet=[] if i % 2 else [word], facts=facts, changes={"k": [None, word]}, delivered=[],
                         attempts=i, next_attempt_at=at, created_at=at, last_error=None if i % 2 else word))
    return rows


KEYS = [c.key for c in Notification.__table__.columns if c.key != "id"]


def _read(session, draw_id: int) -> list[tuple]:
    session.expire_all()
    return [tuple(getattr(n, k) for k in KEYS)
            for n in session.exec(select(Notification).where(Notification.draw_id == draw_id)
                                   .order_by(Notification.subscriber_id))]


def test_rows_and_columns_read_back_as_the_orm_writes_them(store_session):
    s = store_session
    orm_draw, orm_ids = _draw_and_people(s, 24, "orm")
    s.add_all(Notification(**row) for row in _rows(orm_draw, orm_ids))
    s.flush()
    expected = _read(s, orm_draw)
    error = KEYS.index("last_error")
    assert any(r[error] == r"\N" for r in expected) and any(r[error] is None for r in expected)

    rows_draw, rows_ids = _draw_and_people(s, 24, "rows")
    insert_rows(s, Notification.__table__, _rows(rows_draw, rows_ids))

    columns_draw, columns_ids = _draw_and_people(s, 24, "columns")
    rows = _rows(columns_draw, columns_ids)
    varying = ("subscriber_id", "digest", "interests", "reasons", "unmet", "ref", "attempts", "last_error", "changes")
    shared = {k: v for k, v in rows[0].items() if k not in varying}
    assert all({k: v for k, v in row.items() if k not in varying} == shared for row in rows)
    with column_writer(s, Notification.__table__, list(varying), shared) as write:  # in one write
        write({k: [row[k] for row in rows] for k in varying})

    chunks_draw, chunks_ids = _draw_and_people(s, 24, "chunks")  # written in chunks, as the matcher does
    rows = _rows(chunks_draw, chunks_ids)
    with column_writer(s, Notification.__table__, list(varying), {**shared, "draw_id": chunks_draw}) as write:
        for start in range(0, len(rows), 5):
            write({k: [row[k] for row in rows[start:start + 5]] for k in varying})
        write({k: [] for k in varying})
    s.commit()

    assert KEYS[:2] == ["subscriber_id", "draw_id"]

    def same(rows, ids):  # with the subscriber and draw ids of the ORM's rows, for comparison
        swap = dict(zip(ids, orm_ids))
        return [(swap[r[0]], orm_draw, *r[2:]) for r in rows]

    assert same(_read(s, rows_draw), rows_ids) == expected
    assert same(_read(s, columns_draw), columns_ids) == expected
    assert same(_read(s, chunks_draw), chunks_ids) == expected
