"""Draws carry resolved occupations: a 2021 code finds 2016-era draws and category rounds."""
import json

from click.testing import CliRunner

from scheduler import main
from scraper.sources.express_entry.parse import parse_express_entry
from scraper.records import ParseResult
from scraper.sources.registry import SOURCES
from store.ingest import ingest
from store.models import DrawNoc
from tests.conftest import DATA, data
from tests.md_render import parse_oinp_page, render

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"


def test_noc_21231_finds_2019_ontario_tech_draws_and_stem_rounds(tmp_path, session, engine):
    body, url = render(DATA / "oinp_updates_2019.2026-06-19.md")  # markdown conversion rendered to HTML
    combine = SOURCES["oinp"].load_combine()
    oinp = parse_oinp_page(body, url)
    ingest(session, "oinp", ParseResult(combine(oinp.draws), oinp.notices), combine=combine)
    ingest(session, "express_entry", parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), EE_URL))
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{engine.url}"\n')

    def draws(*args):
        result = CliRunner().invoke(main, ["--config", str(config), "draws", *args, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    found = draws("--noc", "21231")
    ontario = [d for d in found if d["source"] == "oinp"]
    assert ontario and all(d["date"].startswith("2019") and "2173" in d["noc_codes"] for d in ontario)
    assert all(d["noc_version"] == "2016" and d["program"] == "hcp" for d in ontario)
    tech_2019 = [d for d in oinp.draws if "2173" in d.noc_codes]
    assert {d["key"] for d in ontario} == {d.key for d in tech_2019}
    ee = {d["key"] for d in found if d["source"] == "express_entry"}
    assert ee == {"293", "274", "254"}  # the STEM (Version 1) rounds; 21231 left the list in 2025
    # The 2016 code finds the same draws, and the crosswalk is recorded as such.
    assert {d["key"] for d in draws("--noc", "2173")} >= {d["key"] for d in found}
    from sqlmodel import select

    vias = set(session.exec(select(DrawNoc.via).where(DrawNoc.noc2021 == "21231")))
    assert vias == {"crosswalk", "category"}
