from __future__ import annotations

from pathlib import Path

import pytest

from store.db import make_engine, session as open_session
from tests.servers import Site

DATA = Path(__file__).parent / "data"
FEED = "/content/dam/ircc/documents/json/ee_rounds_123_en.json"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'drawwatch.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with open_session(engine) as s:
        yield s


@pytest.fixture(scope="session")
def postgres_url():
    from tests.pg import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        # .ci/run installs the server; a developer without one still gets a green SQLite run,
        # with the reason in the summary (pytest -rs) rather than 28 errors.
        pytest.skip("PostgreSQL is not installed (no initdb found): install the server to run the PostgreSQL tests")
    server = PostgresServer(bindir)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_engine(request, tmp_path):
    """The same store test on SQLite and on a real PostgreSQL server (a fresh schema each time)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'drawwatch.db'}")
        yield engine
        engine.dispose()
        return
    from sqlmodel import SQLModel

    engine = make_engine(request.getfixturevalue("postgres_url"))
    yield engine
    SQLModel.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def store_session(store_engine):
    with open_session(store_engine) as s:
        yield s


@pytest.fixture
def site():
    site = Site().start()
    yield site
    site.stop()


@pytest.fixture
def mailbox():
    """An SMTP server on 127.0.0.1 (tests/service_harness.py) keeping the mail it took."""
    from tests.service_harness import Mailbox

    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(params=[0, 2], ids=["own-threads", "send-processes"])
def send_processes(request):
    """``[delivery] send_processes`` for a delivery test run both ways: in the deliverer's
    own send threads, and in 2 send processes (notifier.sendprocs), which must then have
    answered the test's sends; they are ended after the test."""
    from notifier.send import stop_senders

    yield request.param
    ended = stop_senders()
    if request.param:
        assert ended is not None and ended.answered > 0, "no send went through the send processes"


@pytest.fixture
def hooks():
    """Webhook endpoints on 127.0.0.1 (tests/webhooks.py) keeping what they were sent."""
    from tests.webhooks import Webhooks

    server = Webhooks().start()
    yield server
    server.stop()


