"""One CLI, one set of rules (issue 14, points 4-10), through the CLI runner over a database
filled from the real Express Entry feed and Ontario's real 2026 updates page (a markdown copy
rendered to HTML by tests/md_render.py), with a subscriber whose channel is dead."""
from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from notifier.match import enqueue_matches
from scheduler import main
from scraper.sources.express_entry.parse import parse_express_entry
from store.db import make_engine, session as open_session
from store.ingest import ingest
from tests.configs import sources_off
from tests.conftest import FEED, data
from tests.service_harness import ROOT, free_port
from tests.test_match import oinp_result

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
SECRET = "s3cretpw"
DATE_ERROR = "is not a date: expected YYYY-MM-DD"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """(config path, dead channel URL): Express Entry's 2023 baseline, then ana (NOC 21231,
    told about draws targeting it, on a channel nobody listens to), then the 2026 feed, whose
    rounds targeting her occupation are owed to her; Ontario's 2026 page as its baseline."""
    folder = tmp_path_factory.mktemp("rules")
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{folder / "dw.db"}"\n[delivery]\ntimeout = 5\n', encoding="utf-8")
    engine = make_engine(f"sqlite:///{folder / 'dw.db'}")
    with open_session(engine) as s:
        ingest(s, "express_entry", parse_express_entry(data("ee_rounds_123_en.2023-01-17.raw.json"), EE_URL))
    dead = f"json://ana:{SECRET}@127.0.0.1:{free_port()}/hook"
    added = run(str(config), "subscribers", "add", "ana", "--url", dead, "--noc", "21231", "--notify", "targeted")
    assert added.exit_code == 0, added.output
    with open_session(engine) as s:
        ingest(s, "express_entry", parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), EE_URL),
               matcher=enqueue_matches)
        ingest(s, "oinp", oinp_result("oinp_updates_2026.2026-06-19.md", ledgers=False))
    engine.dispose()
    return str(config), dead


def run(config: str, *args: str):
    return CliRunner().invoke(main, ["--config", config, *args], catch_exceptions=False)


def ok(config: str, *args: str):
    result = run(config, *args)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    return result


# -- 4. unknown values refused with the valid choices, exit 2 ---------------------------


REFUSED = [
    (("draws", "--source", "bogus"), ["Invalid value for '--source': 'bogus' is not one of", "'express_entry'", "'oinp'"]),
    (("notices", "--source", "bogus"), ["Invalid value for '--source': 'bogus' is not one of", "'express_entry'"]),
    (("matches", "--source", "bogus"), ["Invalid value for '--source'", "'oinp'"]),
    (("draws", "--category", "bogus"), ["Invalid value for '--category': 'bogus' is not one of", "'stem'",
                                        "'foreign_worker'"]),
    (("draws", "--since", "2026-04-10", "--until", "2026-04-01"),
     ["Invalid value for '--since': 2026-04-10 is after --until 2026-04-01"]),
    (("draws", "--limit", "0"), ["Invalid value for '--limit': '0': must be 1 or more"]),
    (("draws", "--limit", "-5"), ["Invalid value for '--limit': '-5': must be 1 or more"]),
    (("notices", "--limit", "0"), ["'--limit': '0': must be 1 or more"]),
    (("outbox", "--limit", "0"), ["'--limit': '0': must be 1 or more"]),
    (("matches", "--limit", "-1"), ["'--limit': '-1': must be 1 or more"]),
    (("noc", "software", "--limit", "0"), ["'--limit': '0': must be 1 or more"]),
    # No database binds a number this large: refused, not an OverflowError.
    (("draws", "--limit", "99999999999999999999"), ["'--limit': '99999999999999999999': must be at most 2147483647"]),
    (("outbox", "--limit", "99999999999999999999"), ["'--limit': '99999999999999999999': must be at most"]),
    (("draws", "--min-crs", "99999999999999999999"), ["Invalid value for '--min-crs'", "0<=x<=2147483647"]),
    (("draws", "--source", "oinp", "--max-score", "-1"), ["Invalid value for '--max-score'", "0<=x<=2147483647"]),
    # Date errors read the same everywhere.
    (("draws", "--since", "2026-13-01"), [f"Invalid value for '--since': '2026-13-01' {DATE_ERROR}"]),
    (("draws", "--until", "April 1"), [f"Invalid value for '--until': 'April 1' {DATE_ERROR}"]),
    (("matches", "--since", "01/04/2026"), [f"Invalid value for '--since': '01/04/2026' {DATE_ERROR}"]),
    (("subscribers", "add", "bo", "--url", "json://127.0.0.1:9/x", "--ee-profile-created", "14/03/2025"),
     [f"Invalid value for '--ee-profile-created': '14/03/2025' {DATE_ERROR}"]),
    (("subscribers", "edit", "ana", "--eoi-created", "2025-02-30"),
     [f"Invalid value for '--eoi-created': '2025-02-30' {DATE_ERROR}"]),
]


@pytest.mark.parametrize("args,says", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_unknown_values_are_refused_with_the_choices(db, args, says):
    config, _ = db
    result = run(config, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # nothing half-printed
    for fragment in says:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_a_category_is_one_of_the_source_s(db):
    config, _ = db
    refused = run(config, "draws", "--source", "oinp", "--category", "stem")
    assert refused.exit_code == 2 and "'stem' is not one of 'foreign_worker'" in refused.stderr
    assert "(the categories stored for oinp)" in refused.stderr and ", 'stem'" not in refused.stderr
    stem = json.loads(ok(config, "draws", "--category", "stem", "--format", "json").stdout)
    assert stem and {d["program"] for d in stem} == {"stem"}


# -- 5. one error style, one exit-code convention ----------------------------------------


def test_a_name_that_matches_nothing_is_the_same_runtime_error_everywhere(db):
    config, _ = db
    shown, matched = run(config, "draws", "show", "9999"), run(config, "matches", "--draw", "9999")
    assert shown.exit_code == matched.exit_code == 1
    assert shown.stderr == matched.stderr == "Error: no draw with key '9999' (`drawwatch draws` lists them)\n"
    nobody = [run(config, *args) for args in (("subscribers", "show", "nobody"), ("notify-test", "nobody"),
                                              ("matches", "--subscriber", "nobody"),
                                              ("subscribers", "edit", "nobody", "--crs", "400"),
                                              ("subscribers", "remove", "nobody"))]
    assert {r.exit_code for r in nobody} == {1}
    assert {r.stderr for r in nobody} == {"Error: no subscriber named 'nobody' (`drawwatch subscribers list` lists them)\n"}
    unheld = run(config, "crawl", "--source", "express_entry", "--accept")
    assert (unheld.exit_code, unheld.stderr) == (1, "Error: express_entry: no held crawl to accept "
                                                    "(`drawwatch status` shows which sources are held)\n")
    # A usage error says so, with the usage, exit 2; a runtime failure has no usage text.
    bad = run(config, "draws", "--source", "bogus")
    assert bad.stderr.startswith("Usage: ") and "\nError: Invalid value" in bad.stderr
    assert "Usage:" not in shown.stderr


# -- 6. CRS filters compare CRS; provincial scores their own filter -----------------------


def test_crs_filters_never_list_provincial_points(db):
    config, _ = db
    low = json.loads(ok(config, "draws", "--max-crs", "300", "--limit", "1000", "--format", "json").stdout)
    assert low and all(d["score_system"] == "crs" and d["score_min"] <= 300 for d in low)
    # Ontario's 2026 Employer Job Offer draws, scored 57 and 81 in EOI points, are not CRS.
    eoi = json.loads(ok(config, "draws", "--source", "oinp", "--max-score", "60", "--limit", "1000",
                        "--format", "json").stdout)
    assert eoi and all(d["source"] == "oinp" and d["score_min"] <= 60 for d in eoi)
    assert not {d["key"] for d in eoi} & {d["key"] for d in low}
    high = json.loads(ok(config, "draws", "--source", "oinp", "--min-score", "80", "--format", "json").stdout)
    assert high and all(d["score_min"] >= 80 for d in high)
    mixed = run(config, "draws", "--max-score", "60")
    assert mixed.exit_code == 2 and "--min-score and --max-score need --source" in mixed.stderr


# -- 7. every listing takes table|json|csv; JSON and CSV in the table's order ------------


LISTINGS = [("draws", "--limit", "5"), ("draws", "show", "293"), ("notices", "--limit", "5"), ("noc", "21231"),
            ("subscribers", "list"), ("subscribers", "show", "ana"), ("outbox",), ("matches", "--draw", "293"),
            ("status",)]
TABLES = {"draws", "notices", "noc", "subscribers list", "outbox", "status"}  # the others: one record's fields


@pytest.mark.parametrize("args", LISTINGS, ids=[" ".join(a) for a in LISTINGS])
def test_every_listing_in_three_formats(db, args):
    config, _ = db
    rows = json.loads(run(config, *args, "--format", "json").stdout)
    table = run(config, *args)
    csv_out = run(config, *args, "--format", "csv")
    assert csv_out.exit_code in (0, table.exit_code), csv_out.output
    records = list(csv.reader(io.StringIO(csv_out.stdout)))
    header = records[0]
    if args[0] == "status":  # JSON: the sources and the outbox; CSV: a row per source
        rows = rows["sources"]
    assert rows, "the listing is empty: nothing to compare"
    # JSON's keys and CSV's columns are the same fields in the same order.
    assert list(rows[0]) == header
    if " ".join(args[:2]) in TABLES or (args[0] in TABLES and args[1:2] != ("show",)):
        # The table's columns come first, in its order.
        columns = table.stdout.splitlines()[0].split()
        assert header[:len(columns)] == columns
    elif "show" in args:  # one record, a field a line: in the JSON's order
        fields = [line.split(":")[0].strip() for line in table.stdout.splitlines()
                  if line.startswith(" ") and ":" in line and line.split(":")[0].strip() in header]
        assert len(fields) > 5 and fields == [k for k in header if k in fields]
    # Nested values in a CSV cell are JSON, never Python's repr.
    assert "{'" not in csv_out.stdout and "['" not in csv_out.stdout
    assert len(records) == len(rows) + 1
    for row, record in zip(rows, records[1:]):
        for name, cell in zip(header, record):
            if isinstance(row[name], (list, dict)):
                assert json.loads(cell) == row[name], (name, cell)
    assert SECRET not in table.output + csv_out.output


def test_extra_is_readable_in_the_table(db):
    config, _ = db
    shown = ok(config, "draws", "show", "237").stdout
    [extra] = [line for line in shown.splitlines() if line.strip().startswith("extra:")]
    assert extra.strip().startswith("extra: published_date: 2023-01-11")
    assert "{'" not in shown and "'as_on'" not in shown
    # A dict one key a line, its dicts as "key: value; ...", anything deeper as JSON.
    assert 'distribution: as_on: 2023-01-11; buckets: {"601-1200": 2995, "501-600": 3897' in shown


# -- 8. a listing cut by --limit says so -------------------------------------------------


def test_a_limited_listing_says_how_many_it_left_out(db):
    config, _ = db
    every = json.loads(ok(config, "draws", "--limit", "10000", "--format", "json").stdout)
    cut = ok(config, "draws", "--limit", "2")
    assert cut.stdout.splitlines()[-1] == f"2 of {len(every)} draws shown; --limit to change"
    assert "shown" not in ok(config, "draws", "--limit", str(len(every))).stdout.splitlines()[-1]
    # Default limit: 100.
    assert ok(config, "draws").stdout.splitlines()[-1] == f"100 of {len(every)} draws shown; --limit to change"
    owed = json.loads(ok(config, "outbox", "--format", "json").stdout)
    assert len(owed) >= 2
    one = ok(config, "outbox", "--limit", "1")
    assert one.stdout.splitlines()[-1] == f"1 of {len(owed)} rows shown; --limit to change"
    # JSON and CSV stay data: the note goes to stderr.
    as_json = ok(config, "outbox", "--limit", "1", "--format", "json")
    assert len(json.loads(as_json.stdout)) == 1 and as_json.stderr == f"1 of {len(owed)} rows shown; --limit to change\n"
    notices = json.loads(ok(config, "notices", "--limit", "1000", "--format", "json").stdout)
    assert ok(config, "notices", "--limit", "1").stdout.splitlines()[-1] == \
        f"1 of {len(notices)} notices shown; --limit to change"


# -- 9. a dead channel during deliver: one summary line, not lines per row ---------------


def test_deliver_to_a_dead_channel_logs_one_summary(db, tmp_path):
    source_config, dead = db
    # Its own copy of the database: this sends (and fails), the other tests only read.
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(source_config.replace("config.toml", "dw.db"), folder / "dw.db")
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{folder / "dw.db"}"\n[delivery]\ntimeout = 5\n', encoding="utf-8")
    owed = json.loads(ok(str(config), "outbox", "--format", "json").stdout)
    result = run(str(config), "deliver")
    assert result.exit_code == 0, result.output  # retrying is no failure yet
    assert result.stdout == f"{len(owed)} messages: 0 rows sent, {len(owed)} to retry, 0 failed\n"
    port = dead.split(":")[-1].split("/")[0]
    lines = [line for line in result.stderr.splitlines() if f"127.0.0.1:{port}" in line]
    assert len(lines) == 1, result.stderr  # one line for the channel, whatever the rows
    [line] = lines
    assert f"{len(owed)} rows waiting for json://ana:****@127.0.0.1:{port}/**** (next retry " in line
    assert "A Connection error occurred sending JSON notification" in line
    assert " apprise:" not in result.stderr and "notifier.deliver" not in result.stderr
    assert SECRET not in result.output


def test_deliver_leaves_out_only_the_lines_its_summary_replaces(caplog):
    """The filter ``deliver`` runs under, on the deliverer's own logger: its per-row lines
    (the very format strings it logs with) are left out, any other line still shows."""
    from notifier.cli import summarised_lines
    from notifier.deliver import NOT_DELIVERED, RATE_LIMITED

    deliverer = logging.getLogger("notifier.deliver")
    with caplog.at_level(logging.INFO), summarised_lines():
        deliverer.warning(NOT_DELIVERED, "ana", "alert", "not delivered", 1, 8, "json://ana:****@127.0.0.1/****: down")
        deliverer.info(RATE_LIMITED, "ana", "alert", "json://ana:****@127.0.0.1/****: rate-limited")
        deliverer.warning("operator channel: not delivered everywhere: %s", "down")
        deliverer.info("a line nobody summarises: %s", 1)
    assert [r.getMessage() for r in caplog.records if r.name == "notifier.deliver"] == [
        "operator channel: not delivered everywhere: down", "a line nobody summarises: 1"]


def test_a_refused_url_is_said_once(db):
    config, _ = db
    result = run(config, "subscribers", "add", "bo", "--url", f"mailto://bo:{SECRET}@127.0.0.1:9?to=x")
    assert result.exit_code == 2
    assert result.stderr.count("mailto://bo:****@127.0.0.1:9") == 1, result.stderr
    assert " apprise:" not in result.stderr and "Could not load" not in result.stderr
    assert SECRET not in result.output


def test_crawl_summary_once_and_newest_first_for_every_source(tmp_path, site):
    """``drawwatch crawl`` of both sources over loopback, as a real process (a Scrapy
    reactor runs once per process)."""
    from tests.test_oinp_crawl import LEDGERS, TODAY, YEAR_PATH, html

    site.put(FEED, data("ee_rounds_123_en.2026-04-21.raw.json"))
    site.put(YEAR_PATH.format(year=TODAY.year), html("oinp_updates_2026.2026-06-19.md"), "text/html")
    for path, name in LEDGERS.items():
        site.put(path, html(name), "text/html")
    ledgers = ", ".join(f'"{site.url(p)}"' for p in LEDGERS)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dw.db"}"\n[http]\ndelay = 0\nretries = 0\n'
                      f'timeout = 5\n[sources.express_entry]\nurl = "{site.url(FEED)}"\n'
                      f'[sources.oinp]\nurl = "{site.url(YEAR_PATH)}"\npast_years = 0\nurls = [{ledgers}]\n'
                      + sources_off("oinp", "express_entry"))
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), "crawl",
                           "--source", "oinp", "--source", "express_entry"],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    for source in ("oinp", "express_entry"):
        summary = [line for line in (proc.stdout + proc.stderr).splitlines() if f"{source}: " in line and " new, " in line]
        assert len(summary) == 1, summary  # printed, not logged as well
    blocks = {}
    for line in proc.stdout.splitlines():
        if not line.startswith(" "):
            current = blocks.setdefault(line.split(":")[0], [])
        elif line.startswith("  new "):
            current.append(line.split()[2])  # the date column
    assert set(blocks) == {"oinp", "express_entry"}
    for source, dates in blocks.items():
        assert len(dates) > 10 and dates == sorted(dates, reverse=True), (source, dates[:12])


# -- 10. subscribers edit says what it needs ----------------------------------------------


def test_edit_with_nothing_to_change_and_clear_lists_its_fields(db):
    config, _ = db
    nothing = run(config, "subscribers", "edit", "ana")
    assert nothing.exit_code == 2
    assert "nothing to change for 'ana': give the fields to set" in nothing.stderr
    wrong = run(config, "subscribers", "edit", "ana", "--clear", "score")
    assert wrong.exit_code == 2
    assert "Invalid value for '--clear': 'score' is not one of 'nocs', 'crs'" in wrong.stderr
    assert "'eoi_created'" in wrong.stderr and "'urls'" not in wrong.stderr
    helped = run(config, "subscribers", "edit", "--help").stdout
    assert "--clear [nocs|crs|" in " ".join(helped.split())
