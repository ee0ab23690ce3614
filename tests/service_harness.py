"""The real service as a child process, and a local SMTP server that catches its mail.

Shared by tests/test_service.py and bench/service.py: both must measure the process a
user runs (``python -m scheduler --config ... serve``), not an in-process stand-in.
"""
from __future__ import annotations

import email
import email.policy
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str
    at: float  # time.monotonic() on arrival


class Mailbox:
    """An aiosmtpd server on 127.0.0.1 keeping every message it is handed."""

    def __init__(self):
        self.messages: list[Mail] = []
        self._lock = threading.Lock()
        self._controller = None
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        with self._lock:
            self.messages.append(Mail(list(envelope.rcpt_tos), str(msg["subject"] or ""), body, time.monotonic()))
        return "250 OK"

    def start(self) -> "Mailbox":
        from aiosmtpd.controller import Controller

        # The server's own INFO lines ("connection lost", late after a send) would land in the
        # output of whatever drawwatch command runs in this process next (CliRunner): not ours.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()

    def url(self, to: str) -> str:
        """An Apprise URL delivering to ``to`` through this server, in plain SMTP."""
        return f"mailto://127.0.0.1:{self.port}?from=drawwatch@example.org&to={to}&mode=insecure"

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.messages if address in m.to]

    def wait(self, address: str, count: int = 1, timeout: float = 20.0) -> list[Mail]:
        """The first ``count`` messages to ``address``, waiting for them; fails on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{address}: {len(self.to(address))} message(s) after {timeout}s, wanted {count}")


class ServiceProcess:
    """``python -m scheduler --config CONFIG serve`` with its stderr kept line by line."""

    def __init__(self, config: Path, *args: str):
        self.config = config
        self.args = args
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> "ServiceProcess":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(self.config), "serve",
                                      *self.args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, pattern: str) -> int:
        return sum(1 for line in list(self.lines) if re.search(pattern, line))

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(pattern) >= count:
                return
            if self.proc.poll() is not None:
                self._reader.join(2)
                if self.count(pattern) >= count:
                    return
                raise AssertionError(f"service exited ({self.proc.returncode}) before {pattern!r}:\n{self.log}")
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} x{count} within {timeout}s:\n{self.log}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"service did not stop within {timeout}s:\n{self.log}") from None
        self._reader.join(5)
        return code

    def wait_exit(self, timeout: float = 60.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
