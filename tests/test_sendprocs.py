"""Send processes (``[delivery] send_processes``, notifier.sendprocs), for real: alerts of
the real Express Entry snapshots sent from separate processes to a webhook on 127.0.0.1.
What a user relies on: a send process that dies costs an attempt, never the alert; its
log lines reach the deliverer's log with secrets masked; none outlives its deliverer.
(The alerts themselves are checked both ways in tests/test_delivery.py and
tests/test_ratelimit.py, through the ``send_processes`` fixture.)
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from configfile import Settings
from notifier.deliver import deliver_due
from notifier.send import stop_senders
from store.models import utcnow
from tests.service_harness import ROOT
from tests.test_delivery import CEC_520, HEADLINE, key_of, outbox, settings, store_with


@pytest.fixture(autouse=True)
def no_send_processes_left():
    yield
    stop_senders()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_send_process_killed_mid_send_costs_an_attempt_and_the_alert_goes_next_time(engine, hooks, caplog):
    """Both of ana's alerts hang at the channel, each in a send process; both processes are
    SIGKILLed. The round records a failed attempt for each (the channel may or may not have
    taken it: as with a timeout, it cannot be known) and the next round, in new processes,
    sends both, each once."""
    store_with(engine, {"name": "ana", "urls": [hooks.json_url("/ana")], **CEC_520})
    hooks.hanging.add("/ana")
    config = settings(send_processes=2, backoff=60)
    t0 = utcnow()

    async def killed_mid_send():
        task = asyncio.create_task(deliver_due(engine, config, now=t0))
        await asyncio.to_thread(hooks.wait_held, 2)
        from notifier import send  # the deliverer's send processes, as it holds them

        pids = send.senders(config.delivery).pids()
        assert len(pids) == 2 and os.getpid() not in pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids, await task

    with caplog.at_level(logging.WARNING):
        killed, report = asyncio.run(killed_mid_send())
    assert (report.messages, report.sent, report.retrying, report.failed) == (2, 0, 2, 0)
    rows = outbox(engine, "ana")
    assert sorted(rows) == ["410", "411"]
    for row in rows.values():
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, t0 + dt.timedelta(seconds=60))
        assert "the send process ended (exit status -9)" in row.last_error, row.last_error
    assert "a send process ended (exit status -9) holding 1 sends: each is retried" in caplog.text

    hooks.unhang()
    report = asyncio.run(deliver_due(engine, config, now=t0 + dt.timedelta(seconds=60)))
    assert (report.messages, report.sent) == (2, 2)
    assert sorted(key_of(p["title"]) for p in hooks.to("/ana")) == ["410", "411"]
    from notifier import send

    assert not set(send.senders(config.delivery).pids()) & set(killed)  # new processes in their place
    assert not any(alive(pid) for pid in killed)


def test_a_send_processes_log_reaches_the_deliverers_log_masked_and_none_outlives_it(tmp_path, engine, hooks):
    """``drawwatch deliver`` at DEBUG with 2 send processes: the lines logged inside them
    (urllib3's DEBUG line of each request names the Mattermost URL's path, token and all)
    come out on the command's stderr, through its masking; once it exits, its send
    processes have ended."""
    token = "mm5ecrettoken42"
    store_with(engine, {"name": "ben", "urls": [hooks.mattermost_url(token)], **CEC_520})
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{engine.url}"\n[delivery]\ntimeout = 5\nsend_processes = 2\n'
                      '[logging]\nlevel = "DEBUG"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "deliver"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 messages: 2 rows sent" in done.stdout
    assert sorted(key_of(p["text"]) for p in hooks.to(f"/hooks/{token}")) == ["410", "411"]
    pids = [int(p) for p in re.findall(r"send process (\d+) started \(\d+ send threads\)", done.stderr)]
    assert len(pids) == 2, done.stderr
    # Logged in a send process (the deliverer itself sends nothing), through the deliverer's handler.
    assert len(re.findall(r'DEBUG urllib3\.connectionpool: http://127\.0\.0\.1:\d+ "POST /hooks/\*\*\*\* HTTP/1\.1" 200',
                          done.stderr)) == 2, done.stderr
    assert token not in done.stderr and token not in done.stdout
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)


@pytest.mark.parametrize("cpus, concurrency, expected", [
    (2, 8, 0), (2, 63, 0), (2, 64, 2), (2, 256, 2), (8, 64, 2), (8, 128, 4), (8, 256, 8), (1, 256, 0)])
def test_auto_send_processes_are_one_per_cpu_once_each_has_32_slots(monkeypatch, cpus, concurrency, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    delivery = Settings.model_validate({"delivery": {"concurrency": concurrency}}).delivery
    assert (delivery.send_processes, delivery.processes) == ("auto", expected)
    assert Settings.model_validate({"delivery": {"concurrency": concurrency, "send_processes": 3}}).delivery.processes == 3


@pytest.mark.parametrize("value", ["many", True, 2.5, -1, 65])
def test_a_bad_send_processes_names_itself(tmp_path, value):
    config = tmp_path / "config.toml"
    shown = {True: "true", "many": '"many"'}.get(value, value)
    config.write_text(f"[delivery]\nsend_processes = {shown}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "status"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert ("config error: " in done.stderr and "delivery.send_processes (line 2): "
            'must be "auto" or a number of processes from 0 to 64' in done.stderr), done.stderr
    assert "Traceback" not in done.stderr
