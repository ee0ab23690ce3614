"""``drawwatch draws`` over a database filled from a real snapshot, in all three formats."""
import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from scheduler import main
from scraper.sources.express_entry.parse import parse_express_entry
from store.ingest import ingest
from tests.conftest import data

URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"


def corrected_feed() -> bytes:
    """The real 2026-04-21 feed with round 237's invitations corrected from 5,500 to 5,600:
    between the real snapshots nothing but wording changed (no revision), so the
    correction shown by ``draws show`` is made here."""
    doc = json.loads(data("ee_rounds_123_en.2026-04-21.raw.json").decode("utf-8-sig"))
    (row,) = [r for r in doc["rounds"] if r["drawNumber"] == "237"]
    row["drawSize"] = "5,600"
    return json.dumps(doc).encode()


@pytest.fixture
def config(tmp_path, store_session, store_engine):
    ingest(store_session, "express_entry", parse_express_entry(data("ee_rounds_123_en.2023-01-17.raw.json"), URL))
    ingest(store_session, "express_entry", parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), URL))
    ingest(store_session, "express_entry", parse_express_entry(corrected_feed(), URL))
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{store_engine.url.render_as_string(hide_password=False)}"\n')
    return str(path)


def run(config, *args):
    result = CliRunner().invoke(main, ["--config", config, *args], catch_exceptions=False)
    return result


def test_table_newest_first(config):
    result = run(config, "draws", "--limit", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["source", "key", "date", "program"]
    assert [ln.split()[1] for ln in lines[2:5]] == ["411", "410", "409"]
    assert "French-Language proficiency 2026-Version 2" in lines[2]
    # A listing cut by --limit says so, under the table.
    every = json.loads(run(config, "draws", "--limit", "1000", "--format", "json").output)
    assert lines[5:] == [f"3 of {len(every)} draws shown; --limit to change"]


def test_json_keys_are_model_fields(config):
    result = run(config, "draws", "--category", "stem", "--format", "json")
    rows = json.loads(result.output)
    assert [r["key"] for r in rows] == ["293", "274", "254"]
    assert {"source", "key", "date", "title", "program", "category_version", "invitations", "score_min",
            "tiebreak_time", "programs_covered", "extra", "content_hash"} <= rows[0].keys()
    assert rows[0]["date"] == "2024-04-11" and rows[0]["category_version"] == "Version 1"


def test_csv_and_filters(config):
    result = run(config, "draws", "--since", "2026-04-01", "--until", "2026-04-14", "--min-crs", "500",
                 "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["key"], r["score_min"]) for r in rows] == [("410", "515"), ("409", "786")]


def test_max_crs_and_source(config):
    rows = json.loads(run(config, "draws", "--source", "express_entry", "--max-crs", "300", "--format", "json").output)
    assert rows and all(r["score_min"] <= 300 for r in rows)
    assert json.loads(run(config, "draws", "--source", "oinp", "--format", "json").output) == []


def test_show_with_revision(config):
    result = run(config, "draws", "show", "237")
    assert result.exit_code == 0, result.output
    # The retyped date between the real 2023-01-17 and 2026-04-21 feeds is no revision.
    assert "revisions: 1" in result.output
    assert "invitations: 5500 -> 5600" in result.output
    detail = json.loads(run(config, "draws", "show", "237", "--format", "json").output)[0]
    assert detail["revisions"][0]["changes"] == {"invitations": [5500, 5600]}


def test_show_unknown_key(config):
    result = run(config, "draws", "show", "9999")
    assert result.exit_code == 1 and "no draw with key '9999'" in result.output


def test_noc_filter_finds_category_rounds(config):
    rows = json.loads(run(config, "draws", "--noc", "21231", "--format", "json").output)
    # 21231 was on the STEM list of Version 1 only (removed in 2025).
    assert {(r["program"], r["category_version"]) for r in rows} == {("stem", "Version 1")}
    as_2016 = json.loads(run(config, "draws", "--noc", "2173", "--format", "json").output)
    assert {r["key"] for r in as_2016} >= {r["key"] for r in rows}
    bad = run(config, "draws", "--noc", "12")
    assert bad.exit_code == 2 and "--noc" in bad.output


def test_query_commands_do_not_import_scrapy(config):
    code = ("import sys; from scheduler import main\n"
            "try:\n    main(['--config', sys.argv[1], 'draws', '--limit', '1'])\n"
            "except SystemExit:\n    pass\n"
            "assert 'scrapy' not in sys.modules and 'twisted' not in sys.modules, 'scrapy imported'\n")
    proc = subprocess.run([sys.executable, "-c", code, config], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "411" in proc.stdout
