"""One message to one Apprise URL: rendered in the channel's format, sent, its outcome read.

The URL's Apprise plugin sends in a worker thread of a pool sized to the deliverer's
concurrency. Apprise's own ``async_notify`` runs every send in a process-wide pool of
CPU count + 4 threads (6 on a 2-CPU machine): with a channel that takes 50 ms to answer,
that caps a deliverer at 120 messages/s whatever its ``concurrency``, and its dispatch
around one plugin costs more CPU than the send. The send threads keep their HTTP
connections open between messages (``notifier.keepalive``). Why a send failed is read
from the plugin's own warnings, recorded for that send only (``ratelimit.Observed``).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from notifier import keepalive, ratelimit
from notifier.config import NotifierConfig
from notifier.render import render
from notifier.secrets import mask, mask_url
from store.models import utcnow

log = logging.getLogger(__name__)


@dataclass
class UrlOutcome:
    url: str  # as configured: show ``masked``, never this
    ok: bool
    error: str = ""  # already masked
    # A channel that asked to wait (HTTP 429, SMTP 421/451): not before then. Not a failure
    # of the message: it counts no attempt.
    limited_until: dt.datetime | None = None

    @property
    def masked(self) -> str:
        # Computed only when shown: masking parses the URL again, which costs as much
        # as sending on a fast channel.
        return mask_url(self.url)


class _Capture(logging.Handler):
    """Apprise's warnings during a watched send, kept on that send's ``Observed``."""

    def emit(self, record: logging.LogRecord) -> None:
        seen = ratelimit.current()
        if seen is not None:
            seen.warnings.append(record.getMessage())


_capture: _Capture | None = None
_pool: ThreadPoolExecutor | None = None


def _workers(wanted: int) -> ThreadPoolExecutor:
    """The send threads: at least ``wanted`` (a send that outlived its timeout may still hold one)."""
    global _pool, _capture
    if _capture is None:
        _capture = _Capture(logging.WARNING)
        apprise_log = logging.getLogger("apprise")
        apprise_log.addHandler(_capture)
        if apprise_log.getEffectiveLevel() > logging.WARNING:
            # Their failures must be read even where the log shows errors only (as Apprise's
            # own capture does); the handlers' filters still decide what the log shows.
            apprise_log.setLevel(logging.WARNING)
    if _pool is None or _pool._max_workers < wanted:
        # The old pool's threads finish their sends and end; new sends go to the new one.
        _pool = ThreadPoolExecutor(max_workers=wanted, thread_name_prefix="drawwatch-send",
                                   initializer=keepalive.start_thread, initargs=(keepalive.connections(wanted),))
    return _pool


_asset = None


def plugin_for(url: str):
    """The Apprise plugin for ``url``, or None when Apprise cannot send to it.

    A URL in one of Apprise's own schemes is parsed and its plugin made as
    ``Apprise.instantiate`` makes it, without the two log lines that function formats
    whatever the log level (the URL with its secrets masked, then the plugin's own URL):
    in a profile of a delivery round they were a third of the event loop's time.
    Anything else (a service's native https URL, a disabled plugin, a URL the plugin
    refuses) goes through ``Apprise.instantiate``, which logs why. The plugins share one
    asset, as those of an ``Apprise`` object do.
    """
    global _asset
    import apprise  # deferred: Apprise loads only where a URL is checked or sent
    from apprise.plugins import N_MGR

    if _asset is None:
        _asset = apprise.AppriseAsset()
    scheme, found, _ = url.partition("://")
    if found and (scheme := scheme.lower()) in N_MGR and N_MGR[scheme].enabled:
        try:
            results = N_MGR[scheme].parse_url(url.replace("/#", "/%23"))  # as Apprise reads a URL
            if results:
                plugin = N_MGR[results["schema"]](**{**results, "tag": set(), "asset": _asset})
                if plugin.enabled:
                    return plugin
        except Exception:  # Apprise.instantiate below says what it refused
            pass
    return apprise.Apprise.instantiate(url, asset=_asset, suppress_exceptions=True)


async def send_to_url(url: str, kind: str, context: dict, settings: NotifierConfig,
                      now: dt.datetime | None = None) -> UrlOutcome:
    """Render ``kind`` in the format the channel takes and send it; never raises.

    A channel closed by a rate limit is not tried until the time it named (``now``:
    the round's clock).
    """
    now = now or utcnow()
    timeout = settings.delivery.timeout
    try:
        plugin = plugin_for(url)
        if plugin is None:
            return UrlOutcome(url, False, "not a notification URL Apprise can send to")
        # Naming the channel costs as much as a fast send: only while one is closed.
        if ratelimit.CHANNELS and (until := ratelimit.CHANNELS.closed_until(ratelimit.channel_key(plugin), now)):
            return UrlOutcome(url, False, f"rate-limited: the channel asked to wait until {until:%H:%M:%S} UTC",
                              until)
        # notify_format may be a tuple (email: html or text; json: any): resolve_format
        # names the one this channel sends, honouring a ?format= in the URL.
        fmt = plugin.resolve_format().value
        title, body = render(kind, fmt if fmt in ("text", "markdown", "html") else "text", context,
                             settings.templates.directory)
        seen = ratelimit.Observed()
        pool = _workers(settings.delivery.concurrency * 2)
        ctx = ratelimit.watching(seen)
        ok = await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(
                pool, ctx.run, partial(plugin.notify, body=body, title=title, body_format=fmt)),
            timeout=timeout + 5)
    except TimeoutError:
        return UrlOutcome(url, False, f"no answer within {timeout:g}s")
    except Exception as exc:  # a template or plugin bug must cost one message, not the round
        return UrlOutcome(url, False, mask(f"{type(exc).__name__}: {exc}"))
    if ok:
        return UrlOutcome(url, True)
    error = mask("; ".join(dict.fromkeys(seen.warnings)) or "the channel did not accept it")
    if not seen.limited:
        return UrlOutcome(url, False, error)
    wait = ratelimit.wait_seconds(seen.retry_after, now)
    wait = min(settings.delivery.backoff if wait is None else wait, settings.delivery.backoff_max)
    until = ratelimit.CHANNELS.close(ratelimit.channel_key(plugin), now + dt.timedelta(seconds=wait))
    said = f"SMTP {seen.smtp_code}" if seen.smtp_code else "HTTP 429" + (
        f" (Retry-After: {seen.retry_after})" if seen.retry_after else "")
    log.warning("%s: rate-limited (%s): this channel waits until %s UTC, the others go on",
                mask_url(url), said, f"{until:%H:%M:%S}")
    return UrlOutcome(url, False, f"rate-limited ({said}): {error}", until)
