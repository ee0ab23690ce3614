"""Keep-alive HTTP for the deliverer's sends: connections to a channel's host kept open.

Apprise's HTTP plugins call ``requests.post``/``requests.request``, which build a session
for that one call and close it: every message opens a new TCP connection (and, to an
https channel such as Slack's webhooks, does a new TLS handshake), and pays for a
session's set-up: on a loopback webhook a send took 1.92 ms of CPU that way and 1.27 ms
over a kept connection (bench/scale.py compares the two).
In drawwatch's send threads (``notifier.send``), those calls go through the thread's own
session instead, and every send thread's session draws on one pool of connections (one
``HTTPAdapter``; urllib3's pools hand a connection to one thread at a time), so a message
goes out over any connection an earlier one left open, whichever thread sends it.
Anywhere else (another library, another thread) the calls are what requests made them.

What a call sees is what a fresh session gave it, but for the open connection: the same
default headers, proxies, CA bundle and ``.netrc`` read from the environment, and no
cookies. Each thread has its own cookie jar, emptied before each call, so a cookie one
channel set never rides along to the next message. A kept connection the server has since
closed is noticed by urllib3 before it is reused, and a new one opened.

The environment (proxies, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``) is read once per channel
host in a send thread, not at every message: requests scans every environment variable
twice per call to find them, 0.1-0.25 ms of a 0.6-0.8 ms send to a loopback webhook (with
about 90 variables set). A change to the environment of a running process is therefore
not seen, as no service expects it to be.
"""
from __future__ import annotations

import functools
import threading
from urllib.parse import urlsplit

from notifier.once import once

_local = threading.local()
_SETTINGS_KEPT = 1024  # environment settings kept per thread, one per host


@once
def _install() -> None:
    """Route requests' one-call helpers through the send thread's session."""
    import requests
    import requests.api

    one_call = requests.api.request

    def request(method, url, **kwargs):
        session = getattr(_local, "session", None)
        if session is None:
            return one_call(method, url, **kwargs)
        session.cookies.clear()
        return session.request(method=method, url=url, **kwargs)

    # requests.post, .get, ... look ``request`` up in requests.api; requests.request is
    # the same function, bound at import.
    requests.api.request = request
    requests.request = request


HOSTS_KEPT = 32  # hosts whose idle connections stay open (the most recently used)


def connections(threads: int):
    """One pool of kept connections for ``threads`` send threads: as many per host, so
    none is closed for want of room while every thread sends to the same host. Only the
    ``HOSTS_KEPT`` hosts used last keep theirs: subscribers on hosts of their own (a
    self-hosted ntfy or Mattermost each) gain nothing from an idle socket apiece."""
    from requests.adapters import HTTPAdapter

    return HTTPAdapter(pool_connections=HOSTS_KEPT, pool_maxsize=threads)


@functools.cache
def _session_class():
    import requests  # deferred: the CLI's query commands never send

    class Session(requests.Session):
        """A send thread's session: the environment's settings read once per host."""

        def __init__(self, adapter) -> None:
            super().__init__()
            self._environment: dict[tuple, dict] = {}
            self.mount("http://", adapter)
            self.mount("https://", adapter)

        def merge_environment_settings(self, url, proxies, stream, verify, cert):
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
            found = self._environment.get(key)
            if found is None:
                if len(self._environment) >= _SETTINGS_KEPT:
                    self._environment.clear()
                found = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
            return {**found, "proxies": dict(found["proxies"])}  # the caller's to change

    return Session


def start_thread(adapter) -> None:
    """Make the calling thread (a send thread) send over ``adapter``'s kept connections:
    its pool's initializer."""
    _install()
    _local.session = _session_class()(adapter)
