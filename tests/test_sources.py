"""Sources as plugins: found through the ``drawwatch.sources`` entry points, each page
read by the parser of the kind its plan declares (never by the shape of its address),
each source's ``[sources.NAME]`` table validated by the source's own settings model."""
from datetime import date
from importlib.metadata import entry_points

import pytest

from configfile import ConfigError, load_config
from scraper.crawl import _parse_pages
from scraper.sources.base import Source, check_schedule
from scraper.sources.oinp import SOURCE as OINP
from scraper.sources.oinp.parse import parse_oinp_updates
from scraper.sources.registry import GROUP, SOURCES
from scraper.spiders.base import FetchedPage
from tests.conftest import data

REAL_2024 = "https://www.ontario.ca/page/2024-ontario-immigrant-nominee-program-updates"


def test_the_registry_is_the_entry_points():
    registered = {point.name: point.load() for point in entry_points(group=GROUP)}
    assert {"express_entry", "oinp"} <= set(registered)
    for name, source in registered.items():
        assert isinstance(source, Source) and source.name == name and SOURCES[name] is source


def test_the_plan_declares_each_page_kind():
    settings = OINP.settings({"url": "http://127.0.0.1:9/mirror/{year}.html", "urls": ["http://127.0.0.1:9/l.html"],
                              "past_years": 1})
    pages = OINP.plan(settings, backfill=False, today=date(2027, 1, 3))
    assert [(p.url, p.kind, p.optional) for p in pages] == [
        ("http://127.0.0.1:9/mirror/2027.html", "updates", True),
        ("http://127.0.0.1:9/mirror/2026.html", "updates", False),
        ("http://127.0.0.1:9/l.html", "ledger", False)]


def test_a_page_is_read_by_its_declared_kind_whatever_its_address():
    """Ontario's 2024 page served from an address of another shape is still read as an
    updates page (it was read as a ledger, which found nothing, when the URL chose)."""
    body = data("oinp_updates_2024.wayback2025.raw.html")
    mirror = "http://127.0.0.1:9/mirror/2024.html"
    result, (fetch,) = _parse_pages(OINP, [FetchedPage(mirror, 200, body)], {mirror: "updates"})
    real = parse_oinp_updates(body, REAL_2024)
    assert len(real.draws) > 50
    facts = lambda draws: [(d.key, d.date, d.program, d.score_min, d.invitations) for d in draws]  # noqa: E731
    assert facts(result.draws) == facts(OINP.load_combine()(real.draws))
    assert fetch.keys == tuple(d.key for d in real.draws)


@pytest.mark.parametrize("text,expected", [
    ("[sources.express_entry]\npast_years = 2\n", "sources.express_entry.past_years (line 2): unknown key"),
    ("[sources.oinp]\n\npast_years = 30\n",
     "sources.oinp.past_years (line 3): Input should be less than or equal to 20"),
])
def test_a_sources_table_is_validated_by_that_source(tmp_path, text, expected):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {expected}"


def test_default_schedules_are_valid():
    """A source's default schedule is not checked when a config is loaded (that would load
    APScheduler for every query, scraper.sources.base): it is checked here, entry by entry;
    an entry a person writes, even one beside the defaults, is checked at load."""
    for name, source in SOURCES.items():
        for entry in source.defaults.get("schedule", ()):
            assert check_schedule(entry) == entry, name
    with pytest.raises(ValueError, match="'61 \\* \\* \\* \\*' is neither"):
        SOURCES["express_entry"].settings({"schedule": [*SOURCES["express_entry"].defaults["schedule"], "61 * * * *"]})


def test_a_sources_own_keys_reach_it(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[sources.oinp]\npast_years = 4\n")
    settings = load_config(path)
    assert settings.source("oinp").past_years == 4
    assert settings.source("oinp").urls == OINP.default_settings().urls  # the rest: its defaults
