"""``drawwatch noc``: a 2021 code, a 2016 code and words, with categories and past draws."""
import json

import pytest
from click.testing import CliRunner

from scheduler import main
from scraper.sources.express_entry.parse import parse_express_entry
from store.ingest import ingest
from tests.conftest import data

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"


@pytest.fixture
def noc(tmp_path, session, engine):
    ingest(session, "express_entry", parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), EE_URL))
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{engine.url}"\n')

    def run(*args):
        return CliRunner().invoke(main, ["--config", str(config), "noc", *args])

    return run


def test_2021_code(noc):
    [row] = json.loads(noc("21231", "--format", "json").output)
    assert row["title"] == "Software engineers and designers" and row["version"] == "2021"
    assert row["equivalents"] == ["2173"]
    assert row["ee_categories"] == ["stem Version 1"]
    assert row["draws"] == 3 and row["latest_draw"] == "express_entry 293 2024-04-11"


def test_2016_code(noc):
    [row] = json.loads(noc("0213", "--format", "json").output)
    assert (row["code"], row["version"]) == ("0213", "2016")
    assert row["equivalents"] == ["20012"]
    assert row["ee_categories"] == ["stem Version 1"]


def test_words_table(noc):
    result = noc("software", "engineer")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["code", "version", "title"]
    assert lines[2].startswith("21231  2021     Software engineers and designers")
    assert any(line.startswith("2173 ") for line in lines)


def test_healthcare_code_on_several_lists(noc):
    [row] = json.loads(noc("31102", "--format", "json").output)
    assert {"healthcare Version 1", "healthcare Version 2", "healthcare 2026-Version 3 (medium confidence)",
            "physicians 2026-Version 1"} <= set(row["ee_categories"])
    assert row["draws"] >= 15


def test_bad_and_unknown(noc):
    bad = noc("12")
    assert bad.exit_code == 2 and "4 digits for NOC 2016" in bad.output
    assert noc("zzzqqq").exit_code == 1
