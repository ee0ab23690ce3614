"""The fault harness (bench/faults.py) judges what it sees correctly: on stores written by the
real CLI over loopback, with faults planted that it must catch. The harness's full run is
``python bench/faults.py [--quick]``; this keeps its judgement and plumbing working."""
import subprocess
import sys
from collections import Counter

import pytest

from bench import faults
from bench.fault_rig import (BLOCK_PSYCOPG, Answer, Run, numbers_as_numbers, read_state, renumbered, run,
                             without_dac_override, without_rounds)
from tests.conftest import data

OLD = data(faults.OLD_FEED)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = faults.Rig(tmp_path_factory.mktemp("faults"), "sqlite")
    faults.baseline(rig)
    yield rig
    rig.close()


@pytest.fixture(scope="module")
def newer(rig):
    """The newer real feed crawled over the baseline (a good crawl): (its run, its store's state)."""
    rig.stores.copy("base", "newer")
    rig.site.put(faults.FEED, Answer(rig.new))
    r = run(rig.crawl_argv(rig.config("newer", rig.stores.url("newer"))))
    assert r.code == 0, r.err
    return r, read_state(rig.stores.url("newer"))


def test_a_good_crawl_judged_as_a_fault_is_caught(rig, newer):
    # The newer feed in place of a fault: drawwatch rightly stores 23 rounds and queues
    # alerts, and each of those is a violation the source-fault judge must count.
    r, after = newer
    assert len(after.draws) - len(rig.before.draws) == 23 and after.outbox
    tally = faults.Tally("planted")
    faults.judge_source_fault(rig, tally, r, rig.before, after)
    assert (tally.trials, tally.changed, tally.wrong) == (1, 1, 1)
    assert tally.false_alerts == len(after.outbox) - len(rig.before.outbox)


def test_a_refused_feed_is_judged_clean(rig):
    rig.stores.copy("base", "e500")
    rig.site.put(faults.FEED, Answer(b"<html>Internal Server Error</html>", 500, "text/html"))
    r = run(rig.crawl_argv(rig.config("e500", rig.stores.url("e500"))))
    tally = faults.Tally("HTTP 500")
    faults.judge_source_fault(rig, tally, r, rig.before, read_state(rig.stores.url("e500")))
    assert tally.trials == 1 and tally.violations() == 0, tally.notes


def test_half_applied_ingest_is_told_from_before_and_after(rig, newer):
    _, after = newer
    assert faults.classify(rig.before, rig.before, after) == "before"
    assert faults.classify(after, rig.before, after) == "after"
    # Plant the fault the harness hunts: a new draw stored without its outbox rows.
    rig.stores.copy("newer", "half")
    name, source, key, _ = after.outbox[0]
    import sqlite3

    conn = sqlite3.connect(rig.stores.path("half"))
    conn.execute("DELETE FROM notification WHERE draw_id = (SELECT id FROM draw WHERE source = ? AND key = ?)",
                 (source, key))
    conn.commit()
    conn.close()
    half = read_state(rig.stores.url("half"))
    assert faults.classify(half, rig.before, after) == "neither before nor after in outbox"
    assert rig.stores.integrity("half") == []


def test_alert_counts():
    due = Counter({("ana", "alert", "express_entry", "410"): 1, ("ana", "alert", "express_entry", "411"): 1})
    got = Counter({("ana", "alert", "express_entry", "410"): 3, ("bo", "alert", "express_entry", "411"): 1})
    assert faults.alert_counts(due, got) == (1, 2, 1)  # 411 lost, 410 twice too many, bo's not due
    assert faults._messages([("/hook/ana/t0k3n", "alert express_entry 410")]) == \
        Counter({("ana", "alert", "express_entry", "410"): 1})


def test_tracebacks_and_secrets_are_counted_and_never_repeated(rig):
    tally = faults.Tally("planted")
    leak = Run(1, "", f"error: json://drawwatch:{rig.password}@127.0.0.1/hook\n", 0.1)
    crash = Run(1, "", "Traceback (most recent call last):\n  File \"x\", line 1\nValueError: boom\n", 0.1)
    tally.runs(rig, leak, crash, Run(1, "", "error: the database is locked\n", 0.1))
    assert (tally.secrets, tally.tracebacks) == (1, 1)
    assert not any(rig.password in n for n in tally.notes) and any("<SECRET>" in n for n in tally.notes)


def test_broken_feeds_are_the_real_feed_broken_one_way():
    import json

    rounds = json.loads(OLD)["rounds"]
    shifted = json.loads(renumbered(OLD))["rounds"]
    assert [r["drawNumber"] for r in shifted[:2]] == [str(int(rounds[0]["drawNumber"]) + 1),
                                                       str(int(rounds[1]["drawNumber"]) + 1)]
    assert "92a" in {r["drawNumber"] for r in shifted} and "91a" in {r["drawNumber"] for r in rounds}
    assert [{k: v for k, v in r.items() if k != "drawNumber"} for r in shifted] == \
        [{k: v for k, v in r.items() if k != "drawNumber"} for r in rounds]
    typed = json.loads(numbers_as_numbers(OLD))["rounds"]
    assert typed[0]["drawCRS"] == int(rounds[0]["drawCRS"]) and isinstance(typed[0]["drawCRS"], int)
    assert json.loads(without_rounds(OLD))["rounds"] == []


def test_psycopg_missing_is_simulated_for_that_process_only():
    code = "import psycopg; print(psycopg.__name__)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "psycopg"
    blocked = subprocess.run([sys.executable, "-c", BLOCK_PSYCOPG + code], capture_output=True, text=True)
    assert blocked.returncode == 1 and "ModuleNotFoundError: No module named 'psycopg'" in blocked.stderr


def test_read_only_files_stay_read_only_for_the_cli(tmp_path):
    target = tmp_path / "dw.db"
    target.write_bytes(b"")
    target.chmod(0o444)
    write = [*without_dac_override(), sys.executable, "-c", f"open({str(target)!r}, 'ab')"]
    assert "PermissionError" in subprocess.run(write, capture_output=True, text=True).stderr
