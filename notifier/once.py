"""Run a set-up at most once per process, however many threads ask at the same moment.

The send path changes two libraries in place (``notifier.ratelimit`` wraps requests' and
smtplib's answers, ``notifier.keepalive`` routes requests' one-call helpers): done twice,
each would wrap its own wrapper.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable


def once(setup: Callable[[], None]) -> Callable[[], None]:
    lock = threading.Lock()
    done = False

    @functools.wraps(setup)
    def run() -> None:
        nonlocal done
        if done:  # the common case, without the lock
            return
        with lock:
            if not done:
                setup()
                done = True

    return run
