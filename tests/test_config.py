"""Config loading: the example file, defaults, and errors that name file, key and line."""
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from configfile import ConfigError, load_config
from scraper.sources.express_entry import FEED_URL as EE_FEED_URL
from scraper.sources.registry import SOURCES

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_example_config_loads():
    settings = load_config(ROOT / "config.example.toml")
    assert settings.source("express_entry").url == EE_FEED_URL
    assert settings.database.url.startswith("sqlite:///") and settings.database.url.endswith("drawwatch.db")


def test_defaults_cover_every_source(tmp_path):
    settings = load_config(write(tmp_path, ""))
    for name, spec in SOURCES.items():
        src = settings.source(name)
        assert src.enabled and src.schedule, name
        assert spec.plan(src, backfill=False, today=date.today()), name


def test_partial_source_table_keeps_other_defaults(tmp_path):
    settings = load_config(write(tmp_path, '[sources.express_entry]\nurl = "http://127.0.0.1:9/x.json"\n'))
    src = settings.source("express_entry")
    assert src.url == "http://127.0.0.1:9/x.json"
    assert src.schedule == SOURCES["express_entry"].default_settings().schedule


def test_relative_sqlite_path_is_next_to_the_config(tmp_path):
    settings = load_config(write(tmp_path, '[database]\nurl = "sqlite:///data/dw.db"\n'))
    assert settings.database.url == f"sqlite:///{tmp_path / 'data' / 'dw.db'}"


@pytest.mark.parametrize("text,expected", [
    ('[http]\ntimeout = 30\nretry = 2\n', "http.retry (line 3): unknown key"),
    ('[http]\n\ntimeout = "soon"\n', "http.timeout (line 3): Input should be a valid number"),
    ('[sources.express_entry]\nurl = "ftp://example.org/feed.json"\n',
     "sources.express_entry.url (line 2): 'ftp://example.org/feed.json' is not an http(s) URL"),
    ('[sources.express_entry]\nschedule = "whenever"\n', "sources.express_entry.schedule (line 2): 'whenever' is neither"),
    ('[sources.nowhere]\nenabled = true\n', "sources.nowhere (line 1): unknown source"),
    ('[database]\nurl = "mysql://x/y"\n', "database.url (line 2): 'mysql://x/y': only sqlite"),
    ('[service]\ntimezone = "Mars/Olympus"\n', "service.timezone (line 2): 'Mars/Olympus' is not a known time zone"),
    ('[http\n', "not valid TOML"),
])
def test_bad_config_names_file_key_and_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_cli_exit_2_and_nothing_written(tmp_path):
    db = tmp_path / "dw.db"
    path = write(tmp_path, f'[database]\nurl = "sqlite:///{db}"\n[http]\nretry = 2\n')
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(path), "draws"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert "http.retry (line 4): unknown key" in proc.stderr and str(path) in proc.stderr
    assert not db.exists()


def test_config_from_environment_variable(tmp_path):
    path = write(tmp_path, '[http]\nretries = "many"\n')
    proc = subprocess.run([sys.executable, "-m", "scheduler", "draws"], capture_output=True, text=True,
                          cwd=tmp_path, env={"DRAWWATCH_CONFIG": str(path), "PATH": ""})
    assert proc.returncode == 2 and "http.retries (line 2)" in proc.stderr


def test_example_subscriber_block_is_valid(tmp_path):
    """The commented [[subscribers]] example in config.example.toml, uncommented, loads."""
    text = (ROOT / "config.example.toml").read_text()
    block = text[text.index("# [[subscribers]]"):]
    uncommented = "\n".join(line[2:] for line in block.splitlines() if line.startswith("# "))
    settings = load_config(write(tmp_path, uncommented))
    (ana,) = settings.subscribers
    assert ana.name == "ana" and ana.nocs == ["21231", "2173"] and ana.provincial_points == {"ON": 62}
    assert ana.notify == ["eligible", "targeted", "near_miss"] and str(ana.ee_profile_created) == "2025-03-14"
