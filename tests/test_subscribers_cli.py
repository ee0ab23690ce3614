"""``drawwatch subscribers ...`` and ``notify-test`` run as the user runs them
(``python -m scheduler --config X ...``), against a webhook server on 127.0.0.1."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.service_harness import ROOT, free_port

PASSWORD = "hunter2pw"
MAIL = f"mailto://ana:{PASSWORD}@127.0.0.1:2525?from=drawwatch@example.org&to=ana@example.org&mode=insecure"


@pytest.fixture
def cli(tmp_path):
    """``cli(*args)`` runs drawwatch on a fresh database with one config-file subscriber."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dw.db"}"\n[delivery]\ntimeout = 5\n'
                      '[[subscribers]]\nname = "filed"\nurls = ["json://127.0.0.1:9/filed"]\ncrs = 470\n',
                      encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        # No command ever prints a subscriber's password, on either stream.
        assert PASSWORD not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        return proc

    return run


def test_add_list_show_edit_remove(cli):
    added = cli("subscribers", "add", "ana", "--url", MAIL, "--url", "json://127.0.0.1:9/ana", "--noc", "21231",
                "--crs", "480", "--program", "cec", "--province", "on", "--delivery", "digest",
                "--digest-time", "07:30")
    # One line and nothing else: the profile index it rebuilds is no news (a DEBUG line).
    assert (added.returncode, added.stdout, added.stderr) == (0, "added ana\n", ""), added.stderr

    table = cli("subscribers", "list")
    assert table.returncode == 0
    rows = {line.split()[0]: line for line in table.stdout.splitlines()[2:]}
    assert sorted(rows) == ["ana", "filed"]
    assert "mailto://ana:****@127.0.0.1:2525/" in rows["ana"] and " cli " in rows["ana"]
    assert " config " in rows["filed"]
    listed = {r["name"]: r for r in json.loads(cli("subscribers", "list", "--format", "json").stdout)}
    assert listed["ana"]["urls"][0] == "mailto://ana:****@127.0.0.1:2525/****"
    assert (listed["ana"]["nocs"], listed["ana"]["crs"], listed["ana"]["delivery"]) == (["21231"], 480, "digest")

    [profile] = json.loads(cli("subscribers", "show", "ana", "--format", "json").stdout)
    assert (profile["origin"], profile["provinces"], profile["digest_time"]) == ("cli", ["ON"], "07:30:00")
    assert profile["urls"][0].startswith("mailto://ana:****@") and profile["urls"][1] == "json://127.0.0.1:9/****"

    edited = cli("subscribers", "edit", "ana", "--crs", "500", "--clear", "nocs")
    assert (edited.returncode, edited.stdout, edited.stderr) == (0, "updated ana\n", ""), edited.stderr
    [profile] = json.loads(cli("subscribers", "show", "ana", "--format", "json").stdout)
    assert (profile["crs"], profile["nocs"], profile["programs"]) == (500, [], ["cec"])

    refused = cli("subscribers", "edit", "ana", "--crs", "1300")
    assert refused.returncode == 2 and "Error: subscriber 'ana': crs: " in refused.stderr
    assert json.loads(cli("subscribers", "show", "ana", "--format", "json").stdout)[0]["crs"] == 500
    filed = cli("subscribers", "edit", "filed", "--crs", "500")
    assert filed.returncode == 2 and "'filed' is declared in the config file" in filed.stderr

    removed = cli("subscribers", "remove", "ana")
    assert (removed.returncode, removed.stdout) == (0, "removed ana (0 outbox rows)\n"), removed.stderr
    # A name that matches nothing is a runtime failure (1), as for every command.
    gone = cli("subscribers", "show", "ana")
    assert gone.returncode == 1 and "Error: no subscriber named 'ana'" in gone.stderr
    assert cli("subscribers", "remove", "ana").returncode == 1
    assert cli("subscribers", "remove", "filed").returncode == 2  # the config file owns it


BAD = [
    (("--noc", "99999"), "nocs: '99999' is not a NOC 2021 unit group"),
    (("--noc", "12ab"), "nocs: '12ab' is not a NOC code"),
    (("--crs", "2000"), "crs: Input should be less than or equal to 1200"),
    (("--province", "XX"), "provinces: 'XX' is not a province or territory code"),
    (("--url", "foo://user:s3cret@host/path"), "urls: 'foo://user:****@host/****' is not a notification URL"),
    (("--url", f"mailto://ana:{PASSWORD}@"), "urls: 'mailto://ana:****@' is not a notification URL"),
]


def test_bad_values_exit_2_naming_the_field(cli):
    for args, message in BAD:
        proc = cli("subscribers", "add", "bad", "--url", "json://127.0.0.1:9/bad", *args)
        assert proc.returncode == 2, args
        assert f"Error: subscriber 'bad': {message}" in proc.stderr, proc.stderr
        assert "s3cret" not in proc.stderr
    listed = json.loads(cli("subscribers", "list", "--format", "json").stdout)
    assert [r["name"] for r in listed] == ["filed"]  # nothing was written


def test_notify_test_reports_each_channel(cli, hooks):
    dead = free_port()
    assert cli("subscribers", "add", "ana", "--url", hooks.json_url("/ana")).returncode == 0
    ok = cli("notify-test", "ana")
    assert ok.returncode == 0, ok.stderr
    # Paths of generic webhooks are masked: that is where their tokens live.
    assert ok.stdout == f"json://127.0.0.1:{hooks.port}/****: sent\n"
    [payload] = hooks.to("/ana")
    assert payload["title"] == "drawwatch test message for ana"
    assert payload["message"].startswith("Hello ana,\n\nThis is a test from drawwatch")

    assert cli("subscribers", "add", "bob", "--url", hooks.json_url("/bob"),
               "--url", f"json://bob:{PASSWORD}@127.0.0.1:{dead}/hook").returncode == 0
    failed = cli("notify-test", "bob")
    assert failed.returncode == 1
    good, bad = failed.stdout.splitlines()
    assert good == f"json://127.0.0.1:{hooks.port}/****: sent"
    assert bad.startswith(f"json://bob:****@127.0.0.1:{dead}/****: ")
    assert bad.endswith(": FAILED: A Connection error occurred sending JSON notification to 127.0.0.1.")
    assert len(hooks.to("/bob")) == 1

    missing = cli("notify-test", "nobody")
    assert missing.returncode == 1 and "Error: no subscriber named 'nobody'" in missing.stderr
