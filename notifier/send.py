"""One message to one Apprise URL: rendered in the channel's format, sent, its outcome read.

``attempt`` makes the URL's Apprise plugin, renders the message and sends it, in a send
thread: one of the deliverer's own, in a pool sized to its concurrency, or one of a send
process's (``notifier.sendprocs``, ``[delivery] send_processes``); the same function
either way, its outcome in plain values. Apprise's own ``async_notify`` runs every send in
a process-wide pool of CPU count + 4 threads (6 on a 2-CPU machine): with a channel that
takes 50 ms to answer, that caps a deliverer at 120 messages/s whatever its
``concurrency``, and its dispatch around one plugin costs more CPU than the send. The
send threads keep their HTTP connections open between messages (``notifier.keepalive``).
Why a send failed is read from the plugin's own warnings, recorded for that send only
(``ratelimit.Observed``). Rate-limited channels are closed in the deliverer
(``ratelimit.CHANNELS``), whichever process sent.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from notifier import keepalive, ratelimit
from notifier.config import DeliverySettings, NotifierConfig
from notifier.once import once
from notifier.render import render
from notifier.secrets import mask, mask_url
from notifier.sendprocs import SendProcesses
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


@once
def _watch_apprise() -> None:
    """Read Apprise's failures in this process (the deliverer's, or a send process)."""
    apprise_log = logging.getLogger("apprise")
    apprise_log.addHandler(_Capture(logging.WARNING))
    if apprise_log.getEffectiveLevel() > logging.WARNING:
        # Their failures must be read even where the log shows errors only (as Apprise's
        # own capture does); the handlers' filters still decide what the log shows.
        apprise_log.setLevel(logging.WARNING)


_pool: ThreadPoolExecutor | None = None
_processes: SendProcesses | None = None


def senders(delivery: DeliverySettings) -> Executor:
    """Where sends run: this process's send threads, or send processes
    (``notifier.sendprocs``, ``[delivery] send_processes``)."""
    global _pool, _processes
    if processes := delivery.processes:
        # Each process's share of the slots, and a few spare for a message to several URLs
        # (a send per URL). Not twice the share, as below: at concurrency 64 in two
        # processes, 36 threads each sent 900-940 messages/s and 64 each 780-860/s, at more
        # CPU per message (bench/scale.py part (b), one run each).
        threads = -(-delivery.concurrency // processes) + 4
        if _processes is None or (_processes.processes, _processes.threads) != (processes, threads):
            if _processes is not None:
                _processes.shutdown(wait=False)  # they finish their sends and end
            _processes = SendProcesses(processes, threads)
        return _processes
    # At least twice ``concurrency``: a send that outlived its timeout may still hold one.
    wanted = delivery.concurrency * 2
    if _pool is None or _pool._max_workers < wanted:
        # The old pool's threads finish their sends and end; new sends go to the new one.
        _pool = ThreadPoolExecutor(max_workers=wanted, thread_name_prefix="drawwatch-send",
                                   initializer=keepalive.start_thread, initargs=(keepalive.connections(wanted),))
    return _pool


def stop_senders() -> SendProcesses | None:
    """End the send processes (the service's shutdown), once the sends they hold are
    answered; the ones ended, if there were any."""
    global _processes
    ended, _processes = _processes, None
    if ended is not None:
        ended.shutdown(wait=True)
    return ended


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


@dataclass
class Sent:
    """What one send came to, in plain values: it may come back from a send process."""

    ok: bool = False
    refused: bool = False  # not a URL Apprise can send to
    error: str = ""  # what raised (a template, a plugin bug); unmasked: a send process
    # knows none of the secrets the deliverer masks (``secrets.remember``)
    seen: ratelimit.Observed | None = None
    channel: str = ""  # the channel's key, when it asked to wait


def attempt(url: str, kind: str, context: dict, templates: Path | None) -> Sent:
    """In a send thread: render ``kind`` in the format the channel takes and send it;
    never raises."""
    _watch_apprise()
    try:
        plugin = plugin_for(url)
        if plugin is None:
            return Sent(refused=True)
        # notify_format may be a tuple (email: html or text; json: any): resolve_format
        # names the one this channel sends, honouring a ?format= in the URL.
        fmt = plugin.resolve_format().value
        title, body = render(kind, fmt if fmt in ("text", "markdown", "html") else "text", context, templates)
        seen = ratelimit.Observed()
        ok = ratelimit.watching(seen).run(plugin.notify, body=body, title=title, body_format=fmt)
        return Sent(bool(ok), seen=seen, channel=ratelimit.channel_key(plugin) if seen.limited else "")
    except Exception as exc:  # a template or plugin bug must cost one message, not the round
        return Sent(error=f"{type(exc).__name__}: {exc}")


def _closed_until(url: str, now: dt.datetime) -> dt.datetime | None:
    plugin = plugin_for(url)
    return plugin and ratelimit.CHANNELS.closed_until(ratelimit.channel_key(plugin), now)


async def send_to_url(url: str, kind: str, context: dict, settings: NotifierConfig,
                      now: dt.datetime | None = None) -> UrlOutcome:
    """Send ``kind`` to ``url`` in a send thread (``attempt``); never raises.

    A channel closed by a rate limit is not tried until the time it named (``now``:
    the round's clock).
    """
    now = now or utcnow()
    timeout = settings.delivery.timeout
    try:
        # Naming the channel costs as much as a fast send: only while one is closed.
        if ratelimit.CHANNELS and (until := _closed_until(url, now)):
            return UrlOutcome(url, False, f"rate-limited: the channel asked to wait until {until:%H:%M:%S} UTC",
                              until)
        sent = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
            senders(settings.delivery), attempt, url, kind, context, settings.templates.directory),
            timeout=timeout + 5)
    except TimeoutError:
        return UrlOutcome(url, False, f"no answer within {timeout:g}s")
    except Exception as exc:  # a send process that ended, a bug in this process
        return UrlOutcome(url, False, mask(f"{type(exc).__name__}: {exc}"))
    if sent.refused:
        return UrlOutcome(url, False, "not a notification URL Apprise can send to")
    if sent.ok:
        return UrlOutcome(url, True)
    if sent.error:
        return UrlOutcome(url, False, mask(sent.error))
    seen = sent.seen
    error = mask("; ".join(dict.fromkeys(seen.warnings)) or "the channel did not accept it")
    if not seen.limited:
        return UrlOutcome(url, False, error)
    wait = ratelimit.wait_seconds(seen.retry_after, now)
    wait = min(settings.delivery.backoff if wait is None else wait, settings.delivery.backoff_max)
    until = ratelimit.CHANNELS.close(sent.channel, now + dt.timedelta(seconds=wait))
    said = f"SMTP {seen.smtp_code}" if seen.smtp_code else "HTTP 429" + (
        f" (Retry-After: {seen.retry_after})" if seen.retry_after else "")
    log.warning("%s: rate-limited (%s): this channel waits until %s UTC, the others go on",
                mask_url(url), said, f"{until:%H:%M:%S}")
    return UrlOutcome(url, False, f"rate-limited ({said}): {error}", until)
