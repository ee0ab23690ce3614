from __future__ import annotations

from pathlib import Path

import pytest

from store.config import Settings
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


@pytest.fixture
def site():
    site = Site().start()
    yield site
    site.stop()


@pytest.fixture
def fast_http():
    """HTTP settings for loopback tests: no politeness delay, one quick retry."""
    return {"delay": 0, "retries": 1, "timeout": 5}
