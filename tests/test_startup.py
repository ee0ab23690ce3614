"""What a command loads before it answers: ``--help`` and ``--version`` only click, a query
(``draws``, ``noc``, ``status``) on SQLite neither SQLAlchemy nor the ORM, nor Scrapy nor
Apprise nor the other commands' modules, nor any source's parser (nor lxml, PDFium, the
chart or web libraries), even with a
subscriber's email URL in the config; and it writes nothing, not even the matcher's profile
index when that is behind. Checked on ``sys.modules`` of a real ``drawwatch`` process (how
fast that is, bench/cli.py measures)."""
import importlib
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from scheduler import COMMANDS, QUERIES
from scraper.sources.express_entry.parse import parse_express_entry
from scraper.sources.registry import SOURCES
from store.db import make_engine, session as open_session
from store.ingest import ingest
from store.models import ProfileIndex, Subscriber
from tests.conftest import data
from tests.service_harness import ROOT

URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
# Runs the command as the console script does, then prints the modules it loaded.
PROBE = ("import json, sys\nfrom scheduler import main\ntry:\n    main(sys.argv[1:], prog_name='drawwatch')\n"
         "except SystemExit as exc:\n    code = exc.code\n"
         "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n")
NEVER_FOR_A_QUERY = ("scrapy", "twisted", "apprise", "jinja2", "notifier.deliver", "matplotlib", "fastapi",
                     "lxml", "pypdfium2", "scraper.crawl", "scraper.spiders", "scraper.parse")
# Every registered source's parsers and merge, as the registry names them (loaded on use).
PARSERS = sorted({path.partition(":")[0] for source in SOURCES.values()
                  for path in (*source.parsers.values(), *([source.combine] if source.combine else []))})


def loaded(*args: str) -> tuple[int, set[str], str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["code"], set(out["modules"]), proc.stdout


def packages(modules: set[str], names) -> list[str]:
    return sorted(m for m in modules for name in names if m == name or m.startswith(name + "."))


@pytest.fixture
def config(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'dw.db'}")
    with open_session(engine) as s:
        ingest(s, "express_entry", parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), URL))
        # A subscriber written by other means than drawwatch's: the profile index is behind
        # (the next command that writes rebuilds it; one that reads must not).
        s.add(Subscriber(name="written-elsewhere", profile={"name": "written-elsewhere", "urls": [], "crs": 470}))
        s.commit()
    engine.dispose()
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dw.db"}"\n'
                    '[[subscribers]]\nname = "me"\nurls = ["mailto://me:app-password@example.org"]\ncrs = 480\n')
    return str(path)


def test_every_command_is_listed_with_its_own_help():
    modules = {module for module, _, _ in COMMANDS.values()}
    exported = {cmd.name: (module, cmd) for module in modules
                for cmd in importlib.import_module(module).COMMANDS}
    assert set(exported) == set(COMMANDS)
    for name, (module, attr, line) in COMMANDS.items():
        assert getattr(importlib.import_module(module), attr) is exported[name][1]
        # The line --help shows without importing the command: the command's own help.
        assert line == exported[name][1].get_short_help_str(limit=10**6), f"scheduler.COMMANDS[{name!r}]"
    assert QUERIES <= set(COMMANDS)


def test_help_and_version_load_click_only():
    for args in (["--help"], ["--version"]):
        code, modules, _ = loaded(*args)
        assert code == 0
        assert packages(modules, ("sqlalchemy", "sqlmodel", "pydantic", "configfile", "store", "scraper")) == []


def test_help_lists_every_command(capsys):
    from scheduler import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"], prog_name="drawwatch")
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)
    with pytest.raises(SystemExit):
        main(["--version"], prog_name="drawwatch")
    assert capsys.readouterr().out.strip() == f"drawwatch {importlib.metadata.version('drawwatch')}"


def test_the_registry_names_parsers_to_look_for():
    # The check below looks for these modules: it must know them all (Ontario's package of
    # parsers and its merge, every province's module), and they must exist.
    assert {"scraper.sources.express_entry.parse", "scraper.sources.oinp.parse.merge",
            "scraper.sources.sk_sinp.parse"} <= set(PARSERS)
    assert len(PARSERS) >= len(SOURCES)
    for module in PARSERS:
        assert importlib.util.find_spec(module) is not None, module


@pytest.mark.parametrize("args", [["draws", "--limit", "20"], ["noc", "2123"], ["status"]])
def test_a_query_loads_no_crawler_no_channel_no_parser(config, args):
    code, modules, out = loaded("--config", config, *args)
    assert code in (0, None), out
    assert packages(modules, NEVER_FOR_A_QUERY) == []
    assert packages(modules, PARSERS) == []
    # On SQLite a query reads through the sqlite3 module (store.reads): importing the ORM
    # alone costs more than its start-up target.
    assert packages(modules, ("sqlalchemy", "sqlmodel", "store.models", "store.db")) == []
    # Only its own command module: the others (and what they import) stay unloaded.
    own = COMMANDS[args[0]][0]
    assert packages(modules, {m for m, _, _ in COMMANDS.values()} - {own}) == []
    # Every source is still known (the registry loads each one's declaration).
    assert {f"scraper.sources.{name}" for name in SOURCES} <= modules
    # Nothing written: the profile index stays behind the subscriber added beside drawwatch.
    engine = make_engine(f"sqlite:///{Path(config).parent / 'dw.db'}", read_only=True)
    with open_session(engine) as s:
        assert s.exec(select(Subscriber.name)).all() == ["written-elsewhere"]
        assert s.exec(select(ProfileIndex)).all() == []
    engine.dispose()


def test_a_command_that_sends_still_checks_the_channels(config):
    path = Path(config)
    path.write_text(path.read_text().replace("mailto://me:app-password@example.org", "nosuchscheme://x"))
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(path), "deliver"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "is not a notification URL Apprise can send to" in proc.stderr
    # A query with the same config answers (it sends nothing, so the URL is not its business).
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(path), "noc", "2123"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
