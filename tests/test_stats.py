"""``drawwatch stats`` and ``drawwatch chart`` over a database filled from the real
snapshots (tests/web_app.py); the expected figures are worked out here from the parsed
records themselves, not from the store."""
from __future__ import annotations

import csv
import io
import json
import statistics
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from click.testing import CliRunner

from scheduler import main
from scraper.sources.express_entry.parse import parse_express_entry
from store.db import make_engine, session as open_session
from store.stats import months_before, sparkline
from tests.conftest import data
from tests.web_app import EE_URL, fill

UNTIL = date(2026, 4, 21)  # the 2026 feed's day: the window ends there, whatever today is


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def config(request, tmp_path_factory):
    """The same history on SQLite and on a real PostgreSQL server."""
    folder = tmp_path_factory.mktemp("stats")
    url = f"sqlite:///{folder / 'drawwatch.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with open_session(engine) as session:
        fill(session)
    path = folder / "config.toml"
    path.write_text(f'[database]\nurl = "{engine.url.render_as_string(hide_password=False)}"\n')
    yield str(path)
    if request.param == "postgresql":
        from sqlmodel import SQLModel

        SQLModel.metadata.drop_all(engine)
    engine.dispose()


def run(config, *args):
    return CliRunner().invoke(main, ["--config", config, *args])


def feed_rounds(category: str):
    """The 2026 feed's rounds of one category, oldest first (round 237 as corrected)."""
    rounds = [r for r in parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), EE_URL).draws
              if r.program == category]
    return sorted(rounds, key=lambda r: (r.date, r.round_time or r.date))


def test_stats_json_from_the_rounds(config):
    result = run(config, "stats", "--until", UNTIL.isoformat(), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {(r["source"], r["category"]): r for r in json.loads(result.output)}
    since = months_before(UNTIL, 12)
    for category in ("cec", "french", "pnp"):
        every = feed_rounds(category)
        window = [r for r in every if since <= r.date <= UNTIL]
        row = rows[("express_entry", category)]
        cutoffs = [r.score_min for r in window]
        assert row["rounds"] == len(window) and row["cutoffs"] == cutoffs
        assert row["invitations"] == sum(r.invitations for r in window)
        assert row["last_draw"] == window[-1].date.isoformat() and row["last_key"] == window[-1].key
        assert (row["last"], row["min"], row["max"]) == (cutoffs[-1], min(cutoffs), max(cutoffs))
        assert row["median"] == statistics.median(cutoffs)
        assert row["change"] == every[-1].score_min - every[-2].score_min
        assert row["sparkline"] == sparkline(cutoffs)
        assert row["score"] == "CRS"
    assert rows[("express_entry", "cec")]["name"] == "Canadian Experience Class"
    assert rows[("express_entry", "french")]["name"] == "French-language proficiency"
    ontario = rows[("oinp", "foreign_worker")]
    assert ontario["name"] == "Employer Job Offer: Foreign Worker stream"
    assert ontario["score"] == "Ontario EOI points"
    # No round of a category in the window: no row (2019's Ontario tech draws, long ago).
    assert ("oinp", "hcp") not in rows


def test_stats_table_csv_and_window(config):
    table = run(config, "stats", "--until", UNTIL.isoformat(), "--source", "express_entry")
    assert table.exit_code == 0, table.output
    head, rule, *lines = table.output.splitlines()
    assert head.split()[:4] == ["source", "name", "score", "rounds"] and set(rule) <= {"-", " "}
    cec = next(line for line in lines if "Canadian Experience Class" in line)
    change = feed_rounds("cec")[-1].score_min - feed_rounds("cec")[-2].score_min
    assert f" {change:+d} " in cec  # the trend signed in the table
    assert sparkline([r.score_min for r in feed_rounds("cec") if r.date >= months_before(UNTIL, 12)]) in cec
    assert all(line.startswith("express_entry") for line in lines)

    rows = list(csv.DictReader(io.StringIO(run(config, "stats", "--since", "2019-01-01", "--until", "2019-12-31",
                                                "--format", "csv").output)))
    hcp = next(r for r in rows if r["category"] == "hcp")
    assert hcp["name"] == "Express Entry Human Capital Priorities stream" and hcp["source"] == "oinp"
    assert all("2019-01-01" <= r["last_draw"] <= "2019-12-31" for r in rows)


def test_stats_bad_input(config):
    result = run(config, "stats", "--since", "2026-02-01", "--until", "2026-01-01")
    assert result.exit_code == 2 and "2026-02-01 is after --until 2026-01-01" in result.output
    result = run(config, "stats", "--source", "nowhere")
    assert result.exit_code == 2 and "'nowhere' is not one of" in result.output
    result = run(config, "stats", "--since", "1/2/2026")
    assert result.exit_code == 2 and "expected YYYY-MM-DD" in result.output
    result = run(config, "stats", "--source", "oinp", "--category", "stem")
    assert result.exit_code == 2 and "'stem' is not one of" in result.output and "'hcp'" in result.output
    # A window ending in the calendar's first year starts at its first day (no traceback).
    result = run(config, "stats", "--until", "0001-01-05", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == [], result.output


def test_months_before():
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2024, 3, 30), 13) == date(2023, 2, 28)
    assert months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)
    assert months_before(date(1, 11, 5), 12) == date.min


def svg_text(path) -> str:
    root = ET.parse(path).getroot()  # well-formed XML, or this raises
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return " ".join(t.strip() for t in root.itertext() if t.strip())


def test_chart_cutoffs_svg(config, tmp_path):
    out = tmp_path / "cutoffs.svg"
    result = run(config, "chart", "--out", str(out), "--source", "express_entry", "--category", "cec",
                 "--category", "stem", "--since", "2023-01-01")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out} (")
    text = svg_text(out)
    assert "CRS cut-off (lowest invited)" in text
    assert "Canadian Experience Class" in text and "STEM occupations" in text
    assert "French-language proficiency" not in text  # only the categories asked for
    assert "2024" in text and "2025" in text  # dates on the axis


def test_chart_invitations_and_pool_png(config, tmp_path):
    out = tmp_path / "months.png"
    assert run(config, "chart", "--out", str(out), "--kind", "invitations").exit_code == 0
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (900, 420)
    pool = tmp_path / "pool.svg"
    result = run(config, "chart", "--out", str(pool), "--kind", "pool", "--draw", "237")
    assert result.exit_code == 0, result.output
    text = svg_text(pool)
    assert "CRS band" in text and "601-1200" in text and "round 237" in text


def test_chart_bad_input_writes_nothing(config, tmp_path):
    cases = [(["--out", str(tmp_path / "x.gif")], 2, "must end in .svg or .png"),
             (["--out", str(tmp_path / "no" / "x.svg")], 2, "is not a folder"),
             (["--out", str(tmp_path / "x.svg"), "--since", "2030-01-01"], 1, "no draw with a cut-off score"),
             (["--out", str(tmp_path / "x.svg"), "--category", "nope"], 2, "'nope' is not one of"),
             (["--out", str(tmp_path / "x.svg"), "--kind", "pool", "--draw", "999"], 1, "no draw with key '999'"),
             (["--out", str(tmp_path / "x.svg"), "--kind", "pool", "--source", "oinp"], 1,
              "no stored draw has a published pool distribution in oinp")]
    for args, code, words in cases:
        result = run(config, "chart", *args)
        assert result.exit_code == code and words in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
