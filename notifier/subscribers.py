"""Subscribers in the database: the config file's ``[[subscribers]]`` and the CLI's.

The config file stays authoritative for the subscribers it declares (they are synced
in at start and cannot be edited from the CLI); CLI subscribers live only in the
database. Every write validates through ``Profile``.
"""
from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, event
from sqlmodel import Session, col, select

from notifier.config import NotifierConfig
from notifier.profile import Profile
from notifier.profile_index import refresh
from notifier.secrets import remember
from store.models import Notification, Subscriber, utcnow

log = logging.getLogger(__name__)


class ProfileError(ValueError):
    """A profile that cannot be saved; the message names each field at fault."""


def validate(data: dict[str, Any]) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "profile"
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {msg}")
        raise ProfileError("; ".join(problems)) from None


def _stored(profile: Profile) -> dict[str, Any]:
    return profile.model_dump(mode="json")


def sync_config(session: Session, settings: NotifierConfig) -> None:
    """Bring the config file's subscribers into the database (one commit)."""
    declared = {p.name: p for p in settings.subscribers}
    existing = {s.name: s for s in session.exec(select(Subscriber))}
    now = utcnow()
    for name, profile in declared.items():
        row = existing.get(name)
        data = _stored(profile)
        if row is None:
            session.add(Subscriber(name=name, origin="config", profile=data, created=now, updated=now))
        elif row.profile != data or row.origin != "config" or not row.active:
            if row.origin != "config":
                log.warning("subscriber %r: the config file now declares it; its CLI profile is replaced", name)
            row.profile, row.origin, row.active, row.updated = data, "config", True, now
            session.add(row)
    for name, row in existing.items():
        if row.origin == "config" and name not in declared and row.active:
            # Kept (its outbox history refers to it) but no longer matched nor sent to.
            row.active, row.updated = False, now
            session.add(row)
    if session.new or session.dirty:
        # The matcher's profile index, in the same transaction. Only then: a sync that
        # changes nothing writes nothing (the service starts beside a busy database); an
        # index made stale by other means is rebuilt by the matcher's own refresh.
        refresh(session)
    session.commit()


def current(session: Session, settings: NotifierConfig) -> list[Subscriber]:
    """The active subscribers as ``sync_config`` would leave them, without writing (for
    commands that only read): the config's as declared, and the CLI's."""
    declared = {p.name: _stored(p) for p in settings.subscribers}
    rows = [s for s in listing(session) if s.name not in declared and s.origin != "config"]
    ids = dict(session.exec(select(Subscriber.name, Subscriber.id).where(col(Subscriber.name).in_(declared))).all())
    # Detached copies: nothing here may ever be flushed.
    rows += [Subscriber(id=ids.get(name), name=name, origin="config", profile=data) for name, data in declared.items()]
    return sorted(rows, key=lambda s: s.name)


def get(session: Session, name: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.name == name)).first()


def listing(session: Session, *, include_inactive: bool = False) -> list[Subscriber]:
    query = select(Subscriber).order_by(Subscriber.name)
    if not include_inactive:
        query = query.where(Subscriber.active == True)  # noqa: E712 (SQL comparison)
    return list(session.exec(query))


def add(session: Session, data: dict[str, Any]) -> Subscriber:
    profile = validate(data)
    existing = get(session, profile.name)
    if existing is not None:
        hint = "it is declared in the config file" if existing.origin == "config" else "use edit"
        raise ProfileError(f"name: a subscriber named {profile.name!r} exists already ({hint})")
    row = Subscriber(name=profile.name, origin="cli", profile=_stored(profile))
    session.add(row)
    refresh(session)  # the matcher's profile index, in the same transaction
    session.commit()
    return row


def _editable(session: Session, name: str) -> Subscriber:
    row = get(session, name)
    if row is None:
        raise ProfileError(f"name: no subscriber named {name!r}")
    if row.origin == "config":
        raise ProfileError(f"name: {name!r} is declared in the config file; change it there")
    return row


def edit(session: Session, name: str, changes: dict[str, Any], clear: tuple[str, ...] = ()) -> Subscriber:
    row = _editable(session, name)
    data = {**row.profile, **changes}
    for field in clear:
        if field not in Profile.model_fields or field in ("name", "urls"):
            raise ProfileError(f"{field}: not a field that can be cleared")
        data.pop(field, None)
    if data.get("name") != name:
        raise ProfileError("name: a subscriber cannot be renamed (remove it and add it again)")
    row.profile, row.updated = _stored(validate(data)), utcnow()
    session.add(row)
    refresh(session)  # the matcher's profile index, in the same transaction
    session.commit()
    return row


def remove(session: Session, name: str) -> int:
    """Delete a CLI subscriber and its outbox rows; returns the rows deleted."""
    row = _editable(session, name)
    gone = session.exec(delete(Notification).where(Notification.subscriber_id == row.id)).rowcount
    session.delete(row)
    refresh(session)  # the matcher's profile index, in the same transaction
    session.commit()
    return gone


def _loaded(target, *_args) -> None:
    remember(*((target.profile or {}).get("urls") or ()))


def watch_subscribers() -> None:
    """Remember the URLs of each subscriber row read from the database from now on: those
    added with ``drawwatch subscribers add`` are written nowhere else, and the service
    reads new ones while it runs."""
    for name in ("load", "refresh"):
        if not event.contains(Subscriber, name, _loaded):
            event.listen(Subscriber, name, _loaded)
