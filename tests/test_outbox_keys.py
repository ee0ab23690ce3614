"""The outbox has no foreign keys (``store.models.Notification`` says why: PostgreSQL's
row-by-row checks were half of a new draw's ingest at 100,000 profiles). A fresh schema has
none on either engine; a PostgreSQL database made with them loses them once; and a row
whose subscriber went away meanwhile (a removal racing a draw's matching, which the keys
used to turn into a failed ingest) is withdrawn by the deliverer: never sent, never stuck.
Nor an index on the subscriber alone, which the unique key's index already serves."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from store.db import make_engine, session as open_session
from store.models import Notification
from tests.cluster import create_database, drop_database
from tests.test_delivery import CEC_520, deliver, settings, store_with


def outbox_keys(engine) -> list:
    return inspect(engine).get_foreign_keys("notification")


def test_a_fresh_schema_has_no_outbox_keys(store_engine):
    assert outbox_keys(store_engine) == []
    assert inspect(store_engine).get_foreign_keys("drawnoc")  # the other tables keep theirs


def started_twice(url: str, caplog) -> tuple[object, list[str]]:
    """Start drawwatch's engine on ``url`` twice: (the first engine, what the first start
    logged). The second start must find nothing left to do, and say nothing."""
    engines = []
    try:
        with caplog.at_level(logging.INFO, logger="store.db"):
            engines.append(make_engine(url))
            said = [r.getMessage() for r in caplog.records]
            caplog.clear()
            engines.append(make_engine(url))
            assert caplog.records == []
        return engines[0], said
    finally:
        for engine in engines[1:]:
            engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_database_made_with_the_keys_loses_them_once(postgres_url, caplog):
    name, url = create_database(postgres_url)
    old = make_engine(url)
    try:
        with old.begin() as conn:  # as make_engine left a database before this change
            for column, table in (("subscriber_id", "subscriber"), ("draw_id", "draw")):
                conn.execute(text(f"ALTER TABLE notification ADD CONSTRAINT notification_{column}_fkey "
                                  f"FOREIGN KEY ({column}) REFERENCES {table} (id)"))
        assert len(outbox_keys(old)) == 2
        engine, said = started_twice(url, caplog)
        assert outbox_keys(engine) == []
        engine.dispose()
        assert sorted(line.split()[3] for line in said) == [
            "notification_draw_id_fkey", "notification_subscriber_id_fkey"]
    finally:
        old.dispose()
        drop_database(postgres_url, name)


def test_a_row_whose_subscriber_is_gone_is_withdrawn_not_sent(store_engine, hooks):
    store_with(store_engine, {"name": "ana", "urls": [hooks.json_url("/ana")], **CEC_520})
    with open_session(store_engine) as s:
        queued = s.exec(select(Notification)).all()
        assert len(queued) == 2  # rounds 410 and 411
        s.execute(text("DELETE FROM subscriber WHERE name = 'ana'"))  # gone after its rows were written
        s.commit()
    report = deliver(store_engine, settings())
    assert (report.messages, report.sent, report.failed) == (0, 0, 0)
    assert hooks.accepted == []
    with open_session(store_engine) as s:
        rows = s.exec(select(Notification)).all()
    assert [(n.status, n.last_error) for n in rows] == [("withdrawn", "the subscriber was removed")] * 2


def test_the_outbox_index_on_subscriber_alone_is_gone_and_an_old_one_dropped_once(store_engine, caplog):
    url = store_engine.url.render_as_string(hide_password=False)
    names = {ix["name"] for ix in inspect(store_engine).get_indexes("notification")}
    assert "ix_notification_subscriber_id" not in names and "ix_notification_draw_id" in names
    with store_engine.begin() as conn:  # as make_engine left a database before this change
        conn.execute(text("CREATE INDEX ix_notification_subscriber_id ON notification (subscriber_id)"))
    engine, said = started_twice(url, caplog)
    assert "ix_notification_subscriber_id" not in {ix["name"] for ix in inspect(engine).get_indexes("notification")}
    engine.dispose()
    assert said == ["outbox: index ix_notification_subscriber_id dropped (uq_notification's index serves it)"]
