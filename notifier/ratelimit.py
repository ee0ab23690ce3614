"""Channels that ask us to slow down: HTTP 429 (with its Retry-After) and SMTP 421/451.

Apprise reports such an answer only as a failed send (an SMTP code not even in its log),
so what a send saw on the wire is read where every HTTP and SMTP answer passes: requests'
adapter and smtplib's reply reader. The two hooks record an answer only for a send that
asked to be watched (``watching``), in a context variable that Apprise's worker threads
inherit, so they cost one lookup per answer and change nothing for anyone else.

A rate-limited channel is closed, in this process, until the time it named (or
``[delivery] backoff`` without one): its other messages wait without being tried, while
every other channel goes on at full speed.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import smtplib
import threading
from dataclasses import dataclass, field

from notifier.once import once

SMTP_BUSY = frozenset({421, 451})  # service not available / local error: "try again later"


@dataclass
class Observed:
    """What one send saw from its channel."""

    warnings: list[str] = field(default_factory=list)  # Apprise's WARNING+ lines (unmasked)
    limited: bool = False  # HTTP 429 or SMTP 421/451
    retry_after: str | None = None  # the Retry-After header of a 429, as sent
    smtp_code: int | None = None


_seen: contextvars.ContextVar[Observed | None] = contextvars.ContextVar("drawwatch_send_seen", default=None)


def watching(seen: Observed) -> contextvars.Context:
    """A context in which a send's answers are recorded into ``seen`` (run the send in it)."""
    install()
    ctx = contextvars.copy_context()
    ctx.run(_seen.set, seen)
    return ctx


def current() -> Observed | None:
    return _seen.get()


@once
def install() -> None:
    """Wrap requests' response building and smtplib's reply reading."""
    from requests.adapters import HTTPAdapter

    build = HTTPAdapter.build_response

    def build_response(self, req, resp):
        response = build(self, req, resp)
        seen = _seen.get()
        if seen is not None and response.status_code == 429:
            seen.limited = True
            seen.retry_after = response.headers.get("Retry-After")
        return response

    getreply = smtplib.SMTP.getreply

    def smtp_getreply(self):
        code, message = getreply(self)
        seen = _seen.get()
        if seen is not None and code in SMTP_BUSY:
            seen.limited, seen.smtp_code = True, code
        return code, message

    HTTPAdapter.build_response = build_response
    smtplib.SMTP.getreply = smtp_getreply


def wait_seconds(retry_after: str | None, now: dt.datetime) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not retry_after:
        return None
    value = retry_after.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def channel_key(plugin) -> str:
    """Which channel a URL sends through: a mail server account is one channel for all
    its recipients (each subscriber's own Gmail account is a channel of its own); any other
    URL is its own endpoint (Apprise's hash of it, no secret kept)."""
    host = getattr(plugin, "smtp_host", None)
    if host:
        return f"smtp:{plugin.user or ''}@{host}:{plugin.port or ''}"
    return f"{plugin.service_name}:{plugin.url_id()}"


class Channels:
    """The channels closed by a rate limit in this process, and until when."""

    def __init__(self) -> None:
        self._until: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._until)

    def closed_until(self, key: str, now: dt.datetime) -> dt.datetime | None:
        until = self._until.get(key)
        if until is not None and until <= now:
            with self._lock:
                if self._until.get(key) == until:
                    del self._until[key]  # open again: no more looking up channels for it
            return None
        return until

    def close(self, key: str, until: dt.datetime) -> dt.datetime:
        with self._lock:
            until = max(until, self._until.get(key, until))
            self._until[key] = until
            return until


CHANNELS = Channels()  # per process: a deliverer in another process learns from its own first answer
