"""The database session of one request: read-only use of the engine the app was built with."""
from __future__ import annotations

from typing import Iterator

from fastapi import Request
from sqlmodel import Session

from store.db import session as open_session


def read_session(request: Request) -> Iterator[Session]:
    with open_session(request.app.state.engine) as session:
        yield session
