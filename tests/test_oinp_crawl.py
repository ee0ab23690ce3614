"""Ontario for real: ``drawwatch crawl --source oinp`` over HTTP on 127.0.0.1, and the
store's handling of Ontario's early/late page pair. The yearly 2025/2026 pages and the two
ledgers exist only as markdown conversions of the live pages; they are rendered to HTML
for these tests (tests/md_render.py)."""
import subprocess
import sys
from datetime import date

import pytest
from sqlmodel import func, select

from scraper.sources.oinp.parse import merge_oinp
from scraper.records import ParseResult
from scraper.sources.oinp import oinp_urls
from scraper.sources.registry import SOURCES
from store.db import make_engine, session as open_session
from store.ingest import ingest
from store.models import CrawlRun, Draw, Notice
from tests.configs import sources_off
from tests.conftest import DATA, data
from tests.md_render import parse_oinp_page, render

YEAR_PATH = "/page/{year}-ontario-immigrant-nominee-program-updates"
LEDGERS = {
    "/page/ontario-immigrant-nominee-program-oinp-invitations-apply": "oinp_invitations_apply.2026-06-19.md",
    "/page/oinp-express-entry-notifications-interest": "oinp_express_entry_notifications_interest.2026-06-19.md",
}
TODAY = date.today()


def html(name):
    return render(DATA / name)[0] if name.endswith(".md") else data(name)


def test_url_plan_years_and_rollover():
    settings = SOURCES["oinp"].default_settings()
    urls, optional = oinp_urls(settings, backfill=False, today=date(2027, 1, 3))
    assert urls[:2] == ["https://www.ontario.ca/page/2027-ontario-immigrant-nominee-program-updates",
                        "https://www.ontario.ca/page/2026-ontario-immigrant-nominee-program-updates"]
    assert optional == {urls[0]}
    assert len(urls) == 4 and urls[2].endswith("oinp-invitations-apply")
    backfill, _ = oinp_urls(settings, backfill=True, today=date(2027, 1, 3))
    assert backfill[12].startswith("https://www.ontario.ca/page/2015-")


def test_early_then_late_2024_page(session):
    """The 2024-08-23 page, then the page as it ended the year: the 11 added dates' draws are new."""
    url = "https://www.ontario.ca" + YEAR_PATH.format(year=2024)
    combine = SOURCES["oinp"].load_combine()

    def crawl(name):
        result = parse_oinp_page(data(name), url)
        return ingest(session, "oinp", ParseResult(merge_oinp(result.draws), result.notices), combine=combine)

    early = crawl("oinp_updates_2024.2024-08-23.bs4prettified.html")
    late = crawl("oinp_updates_2024.wayback2025.raw.html")
    # 11 dates were added (draws on 8 of them, news on the others): 14 new draws, nothing changed.
    added_dates = {d.date for d in late.new} | {n.date for n in late.new_notices}
    assert len(added_dates) == 11 and min(added_dates) > date(2024, 8, 22)
    assert len(late.new) == 14 and late.changed == []
    assert late.unchanged == len(early.new) == 40
    again = crawl("oinp_updates_2024.wayback2025.raw.html")
    assert (len(again.new), len(again.changed)) == (0, 0)


@pytest.fixture
def oinp_site(site):
    site.put(YEAR_PATH.format(year=TODAY.year), html("oinp_updates_2026.2026-06-19.md"), "text/html")
    site.put(YEAR_PATH.format(year=TODAY.year - 1), html("oinp_updates_2025.2026-06-19.md"), "text/html")
    for path, name in LEDGERS.items():
        site.put(path, html(name), "text/html")
    return site


@pytest.fixture
def crawl(tmp_path, oinp_site):
    db = tmp_path / "dw.db"
    ledgers = ", ".join(f'"{oinp_site.url(p)}"' for p in LEDGERS)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[http]\ndelay = 0\nretries = 0\ntimeout = 5\n'
                      f'[sources.oinp]\nurl = "{oinp_site.url(YEAR_PATH)}"\npast_years = 1\nurls = [{ledgers}]\n'
                      + sources_off("oinp"))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), *args],
                              capture_output=True, text=True, timeout=120)

    run.engine = make_engine(f"sqlite:///{db}")
    yield run
    run.engine.dispose()


def held(engine):
    with open_session(engine) as s:
        return ({d.key: d.content_hash for d in s.exec(select(Draw))},
                s.exec(select(func.count()).select_from(Notice)).one(),
                [(r.outcome, r.error) for r in s.exec(select(CrawlRun).order_by(CrawlRun.id))])


def test_crawl_304_blocked_and_vanished_pages(crawl, oinp_site):
    first = crawl("crawl", "--source", "oinp")
    assert first.returncode == 0, first.stderr
    draws, notices, runs = held(crawl.engine)
    assert len(draws) > 100 and notices > 0 and runs == [("ok", None)]
    assert "2026-04-30/foreign_worker" in draws and "2026-04-30/international_student" in draws
    # Each real draw is one row, whichever page (updates or ledger) reported it.
    assert not any(k.endswith("/2") for k in draws)

    unchanged = crawl("crawl", "--source", "oinp")
    assert "oinp: not modified" in unchanged.stdout
    assert all(status == 304 for path in [YEAR_PATH.format(year=TODAY.year), *LEDGERS]
               for status, _ in oinp_site.hits(path)[1:])

    # A captcha page instead of last year's page: the crawl fails, nothing changes.
    oinp_site.put(YEAR_PATH.format(year=TODAY.year - 1),
                  html("CAPTCHA_BLOCKED_oinp_updates_2024.2026-06-19.md"), "text/html")
    blocked = crawl("crawl", "--source", "oinp")
    assert blocked.returncode == 1 and "SourceBlocked" in blocked.stderr
    after, after_notices, runs = held(crawl.engine)
    assert (after, after_notices) == (draws, notices) and runs[-1][0] == "failed"

    # This year's page, read before, now missing: an error, not "no draws".
    oinp_site.put(YEAR_PATH.format(year=TODAY.year - 1), html("oinp_updates_2025.2026-06-19.md"), "text/html")
    del oinp_site.pages[YEAR_PATH.format(year=TODAY.year)]
    gone = crawl("crawl", "--source", "oinp")
    assert gone.returncode == 1 and "HTTP 404" in gone.stderr
    assert held(crawl.engine)[0] == draws


def test_new_year_page_absent_is_normal(crawl, oinp_site):
    del oinp_site.pages[YEAR_PATH.format(year=TODAY.year)]
    proc = crawl("crawl", "--source", "oinp")
    assert proc.returncode == 0, proc.stderr
    with open_session(crawl.engine) as s:
        assert s.exec(select(func.count()).select_from(Draw)).one() > 50
    # The --noc query finds Ontario draws by a 2021 code, and by its 2016 code.
    listed = crawl("draws", "--source", "oinp", "--noc", "21231", "--format", "csv")
    assert listed.returncode == 0 and listed.stdout.count("\n") >= 1


# Past years' pages by their year: real copies where there is one, Ontario's real captcha
# page for the years only captured blocked (2022, 2023).
PAST = {2024: "oinp_updates_2024.wayback2025.raw.html", 2021: "oinp_updates_2021.2026-06-19.md",
        2020: "oinp_updates_2020.2020-12-17.drupal-body-fragment.TRUNCATED.html",
        **{y: f"oinp_updates_{y}.2026-06-19.md" for y in range(2015, 2020)},
        **{y: f"CAPTCHA_BLOCKED_oinp_updates_{y}.2026-06-19.md" for y in (2022, 2023)}}


def per_year(engine) -> dict[str, int]:
    with open_session(engine) as s:
        year = func.strftime("%Y", Draw.date)
        return dict(s.exec(select(year, func.count()).group_by(year)).all())


def test_backfill_stores_what_it_read_and_lists_what_it_could_not(crawl, oinp_site):
    past = {y: name for y, name in PAST.items() if y < TODAY.year - 1}  # older than the regular crawl's
    for year, name in past.items():
        oinp_site.put(YEAR_PATH.format(year=year), html(name), "text/html")
    url = lambda year: oinp_site.url(YEAR_PATH.format(year=year))  # noqa: E731
    # 2021's page gone for a while, 2020's answered by the captcha page.
    del oinp_site.pages[YEAR_PATH.format(year=2021)]
    oinp_site.put(YEAR_PATH.format(year=2020), html("CAPTCHA_BLOCKED_oinp_updates_2020.2026-06-19.md"), "text/html")
    blocked = {2020, 2022, 2023} | {y for y in range(2015, TODAY.year - 1) if y not in past}

    first = crawl("crawl", "--source", "oinp", "--backfill")
    assert first.returncode == 1, first.stderr
    assert f"oinp: {len(blocked) + 1} pages not read, the others stored without them" in first.stderr
    assert f"  not read  {url(2021)}: HTTP 404" in first.stderr
    for year in blocked:
        assert f"  not read  {url(year)}: SourceBlocked: bot-check page" in first.stderr
    draws, _, runs = held(crawl.engine)
    assert runs == [("ok", None)] and "first crawl: stored as the baseline" in first.stdout
    before = per_year(crawl.engine)
    assert all(before.get(year) for year in ("2018", "2019", "2024", str(TODAY.year - 1)))

    # The pages come back: the next backfill reads them (the others answer 304), and the
    # draws already stored stay as they were.
    oinp_site.put(YEAR_PATH.format(year=2021), html(PAST[2021]), "text/html")
    oinp_site.put(YEAR_PATH.format(year=2020), html(PAST[2020]), "text/html")
    second = crawl("crawl", "--source", "oinp", "--backfill")
    assert second.returncode == 1 and f"oinp: {len(blocked) - 1} pages not read" in second.stderr
    assert url(2021) not in second.stderr and url(2020) not in second.stderr
    after, _, runs = held(crawl.engine)
    assert [o for o, _ in runs] == ["ok", "ok"] and after.keys() >= draws.keys()
    # What the two pages added: draws of their years, new or completed (the ledgers name
    # some of them with fewer facts); nothing else moved.
    fresh = {k for k in after if k not in draws or after[k] != draws[k]}
    assert {k[:4] for k in fresh} == {"2020", "2021"}
    assert per_year(crawl.engine)["2020"] > before.get("2020", 0)
    assert [status for status, _ in oinp_site.hits(YEAR_PATH.format(year=2019))] == [200, 304]
    # Draws from the source's past: stored, never announced.
    assert "of the new from the source's past: stored, no alerts" in second.stdout

    # A past year read before now answers the captcha page: listed, and its draws are not
    # "lost" (store.plan judges only the pages read): nothing is held, nothing changes.
    oinp_site.put(YEAR_PATH.format(year=2019), html("CAPTCHA_BLOCKED_oinp_updates_2020.2026-06-19.md"), "text/html")
    third = crawl("crawl", "--source", "oinp", "--backfill")
    assert third.returncode == 1 and f"  not read  {url(2019)}: SourceBlocked" in third.stderr
    assert "HELD" not in third.stderr
    final, _, runs = held(crawl.engine)
    assert final == after and runs[-1] == ("not_modified", None)
