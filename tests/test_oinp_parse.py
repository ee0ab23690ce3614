"""Ontario updates pages -> draws and notices, on the real snapshots.

Spot checks were read by hand from the pages (tests/data). Years that exist only as
markdown conversions of the live page (2015-2019, 2021, 2025, 2026) are rendered to
HTML here with tests/md_render.py: their content is real, their markup is not.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import pytest

from scraper.sources.oinp.parse import parse_oinp_updates
from scraper.records import ParseError, ParseResult, SourceBlocked
from tests.md_render import parsed_updates, render

DATA = Path(__file__).parent / "data"
PAGE = "https://www.ontario.ca/page/{}-ontario-immigrant-nominee-program-updates"
RAW_2024 = "oinp_updates_2024.wayback2025.raw.html"            # 42 dates, to 2024-12-23
EARLY_2024 = "oinp_updates_2024.2024-08-23.bs4prettified.html"  # 31 dates, to 2024-08-22
FRAGMENT_2020 = "oinp_updates_2020.2020-12-17.drupal-body-fragment.TRUNCATED.html"
MARKDOWN_YEARS = [2015, 2016, 2017, 2018, 2019, 2021, 2025, 2026]


def parsed(name: str) -> ParseResult:
    return parsed_updates(DATA / name)


def year_md(year: int) -> ParseResult:
    return parsed(f"oinp_updates_{year}.2026-06-19.md")


def draws(result: ParseResult) -> dict:
    return {d.key: d for d in result.draws}


def utc(*args) -> datetime:
    return datetime(*args)


def dates_of(result: ParseResult) -> set[date]:
    """Every day the page posted something (draws are dated by the post on 2024's page)."""
    return {d.date for d in result.draws} | {n.date for n in result.notices}


# --------------------------------------------------------------------------- 2024 pair

def test_2024_pages_hold_42_and_31_dates():
    assert len(dates_of(parsed(RAW_2024))) == 42
    assert len(dates_of(parsed(EARLY_2024))) == 31
    assert min(dates_of(parsed(RAW_2024))) == date(2024, 1, 2)
    assert max(dates_of(parsed(RAW_2024))) == date(2024, 12, 23)
    assert max(dates_of(parsed(EARLY_2024))) == date(2024, 8, 22)


def test_late_2024_page_adds_exactly_the_draws_of_the_11_added_dates():
    early, late = parsed(EARLY_2024), parsed(RAW_2024)
    added = dates_of(late) - dates_of(early)
    assert len(added) == 11 and dates_of(early) <= dates_of(late)
    new = set(draws(late)) - set(draws(early))
    assert new == {k for k, d in draws(late).items() if d.date in added}
    assert set(draws(early)) <= set(draws(late))
    assert len(new) == 14


def test_shared_2024_dates_parse_to_equal_records():
    early, late = draws(parsed(EARLY_2024)), draws(parsed(RAW_2024))
    assert len(early) == 40
    for key, record in early.items():
        assert late[key] == record, key
    early_n = {n.key: n for n in parsed(EARLY_2024).notices}
    late_n = {n.key: n for n in parsed(RAW_2024).notices}
    assert early_n and all(late_n[k] == n for k, n in early_n.items())


def test_each_month_counted_once_despite_the_index():
    keys = [d.key for d in parsed(RAW_2024).draws]
    assert len(keys) == len(set(keys)) == 54
    notice_titles = [n.title for n in parsed(RAW_2024).notices]
    assert notice_titles.count("Entrepreneur Stream closing") == 1


def test_2024_express_entry_draw():
    d = draws(parsed(RAW_2024))["2024-10-17/skilled_trades"]
    assert d.title == "Express Entry Skilled Trades stream: skilled trades occupations invited"
    assert (d.selection_kind, d.score_system, d.score_min, d.score_max) == ("noi", "crs", 405, 435)
    assert d.noc_version == "2021" and len(d.noc_codes) == 46
    assert d.noc_codes[:3] == ["72010", "72011", "72012"] and d.noc_codes[-1] == "82031"
    assert d.announcement == "october17-0"
    assert d.url == PAGE.format(2024) + "#october17-0"
    assert d.text.startswith("On October 17, 2024, we issued targeted notifications of interest")


def test_2024_one_entry_several_selections_of_one_stream():
    ds = draws(parsed(RAW_2024))
    general = ds["2024-03-12/international_student/general"]
    trades = ds["2024-03-12/international_student/trades"]
    health_tech = ds["2024-03-12/international_student/health"]
    assert (general.score_min, general.noc_codes) == (72, [])
    assert (trades.score_min, len(trades.noc_codes)) == (66, 63)
    # "Health occupations" and "Tech occupations", both 72 and above: one selection.
    assert health_tech.score_min == 72 and len(health_tech.noc_codes) == 41 + 15
    assert {"31301", "21231"} <= set(health_tech.noc_codes)
    assert health_tech.extra["targets"] == ["health", "tech"]
    assert {general.announcement, trades.announcement} == {"March12-0"}   # mis-cased, as published
    empp = ds["2024-10-08/foreign_worker/empp"]
    assert empp.invitations == 2 and empp.score_min is None
    assert ds["2024-10-08/foreign_worker/trades"].score_min == 48
    assert ds["2024-10-08/foreign_worker/priority"].score_min == 52


def test_2024_masters_and_phd_entry_gives_one_draw_per_stream():
    ds = draws(parsed(RAW_2024))
    assert ds["2024-09-17/masters_graduate"].score_min == 53
    assert ds["2024-09-17/phd_graduate"].score_min == 45


# --------------------------------------------------------------------------- 2026

def test_2026_04_30_two_streams_two_draws():
    ds = draws(year_md(2026))
    fw, ist = ds["2026-04-30/foreign_worker"], ds["2026-04-30/international_student"]
    assert (fw.score_min, fw.score_max, fw.selection_kind, fw.score_system) == (57, None, "ita", "oinp_eoi")
    assert (ist.score_min, ist.score_max) == (81, None)
    assert len(fw.noc_codes) == 39 and fw.noc_codes[0] == "00012" and fw.noc_codes[-1] == "72310"
    assert len(ist.noc_codes) == 35 and ist.noc_codes[0] == "10019" and ist.noc_codes[-1] == "73201"
    assert fw.noc_version == ist.noc_version == "2021"
    # "created and attested to by April 28, 2026, 11:59 p.m." (EDT) -> end only, UTC
    assert fw.window_start is None and fw.window_end == utc(2026, 4, 29, 3, 59)
    assert fw.region == ist.region == "GTA"
    # Anchors come from the index: the markdown conversion lost the heading ids.
    assert fw.announcement == ist.announcement == "april30-0"
    assert fw.invitations is None and fw.extra["announced_total"] == 1063


def test_2026_regional_and_targeted_draws_are_told_apart():
    ds = draws(year_md(2026))
    regions = {k.rsplit("/", 1)[1]: d.region for k, d in ds.items() if k.startswith("2026-04-23/foreign_worker/")}
    assert regions == {"eastern": "Eastern Ontario", "northern": "Northern Ontario",
                       "southwestern": "Southwestern Ontario", "central": "Central Ontario"}
    assert ds["2026-04-23/foreign_worker/eastern"].score_min == 63
    assert ds["2026-04-23/in_demand_skills/eastern"].noc_codes[0] == "14400"
    assert {k for k in ds if k.startswith("2026-04-08/foreign_worker/")} == {
        "2026-04-08/foreign_worker/physicians", "2026-04-08/foreign_worker/francophone",
        "2026-04-08/foreign_worker/redi", "2026-04-08/foreign_worker/health"}
    assert ds["2026-04-08/foreign_worker/physicians"].noc_codes == ["31100", "31101", "31102"]
    assert ds["2026-04-08/foreign_worker/physicians"].invitations == 15
    assert ds["2026-04-08/foreign_worker/redi"].region == "REDI"
    # "50 and above ... under the Foreign Worker stream, and 80 and above under the
    # International Student stream": one sentence, two cut-offs.
    assert ds["2026-02-18/foreign_worker"].score_min == 50
    assert ds["2026-02-18/international_student"].score_min == 80


def test_2026_masters_and_phd_counts_per_stream():
    ds = draws(year_md(2026))
    m, p = ds["2026-04-22/masters_graduate"], ds["2026-04-22/phd_graduate"]
    assert (m.invitations, m.score_min, p.invitations, p.score_min) == (674, 61, 244, 56)
    assert m.window_end == utc(2026, 4, 21, 3, 59)


def test_2026_notices():
    titles = {n.title for n in year_md(2026).notices}
    assert "Regulatory amendments coming into force May 30" in titles
    assert "Ontario’s 2026 nomination allocation" in titles


# --------------------------------------------------------------------------- 2025, 2021

def test_2025_spot_checks():
    ds = draws(year_md(2025))
    assert ds["2025-12-11/foreign_worker/eastern"].score_min == 54
    assert ds["2025-12-10/international_student/health"].score_min == 73
    sudbury = ds["2025-06-06/foreign_worker"]
    assert sudbury.region == "Greater Sudbury" and sudbury.extra["announced_total"] == 72
    empp = ds["2025-01-15/foreign_worker"]
    assert empp.invitations == 4 and "empp" in empp.extra["targets"]
    career = ds["2025-06-03/foreign_worker/general"]
    assert (career.score_min, career.noc_codes) == (45, ["41321"])


def test_2021_hcp_tech_draw_with_noc_2016_codes():
    d = draws(year_md(2021))["2021-10-27/hcp"]
    assert (d.score_min, d.score_max, d.selection_kind) == (455, 467, "noi")
    assert d.noc_codes == ["0213", "2147", "2172", "2173", "2174", "2175"] and d.noc_version == "2016"


def test_2021_one_entry_six_draws():
    ds = {k: d for k, d in draws(year_md(2021)).items() if k.startswith("2021-12-07/")}
    assert set(ds) == {
        "2021-12-07/foreign_worker/rip", "2021-12-07/international_student/rip", "2021-12-07/in_demand_skills/rip",
        "2021-12-07/foreign_worker/general", "2021-12-07/international_student/general",
        "2021-12-07/in_demand_skills/health"}
    assert ds["2021-12-07/foreign_worker/general"].score_min == 37
    assert ds["2021-12-07/international_student/general"].score_min == 62
    ids = ds["2021-12-07/in_demand_skills/health"]
    assert ids.score_min == 20 and len(ids.noc_codes) == 6 + 13 and ids.region is None   # "outside the GTA"
    assert ds["2021-12-07/foreign_worker/rip"].region == "Regional Immigration Pilot"


def test_2021_heading_without_year_and_entrepreneur_window():
    d = draws(year_md(2021))["2021-10-27/entrepreneur"]      # posted under "October 28"
    assert (d.invitations, d.score_min, d.score_max) == (20, 147, 174)
    assert d.extra["posted"] == "2021-10-28"
    assert d.window_end == utc(2021, 10, 22, 3, 59)           # scored by October 21, 2021


# --------------------------------------------------------------------------- 2015-2020

def test_2019_hcp_tech_draw_six_noc_2016_codes():
    d = draws(year_md(2019))["2019-08-01/hcp"]
    assert d.title.startswith("Tech Draw: Issuance of Notifications of Interest")
    assert d.noc_codes == ["2173", "2174", "2147", "2175", "2172", "0213"] and d.noc_version == "2016"
    assert (d.selection_kind, d.score_system, d.score_min) == ("noi", "crs", None)
    priority = draws(year_md(2019))["2019-05-31/hcp"]      # posted June 3: "On May 31, 2019, ..."
    assert len(priority.noc_codes) == 10 and priority.extra["posted"] == "2019-06-03"
    trades = draws(year_md(2019))["2019-12-11/skilled_trades"]
    assert (trades.score_min, trades.score_max) == (410, 479)
    assert trades.title == "Important Notice: Issuance of Notifications of Interest under Ontario’s Express Entry Skilled Trades stream"


def test_2018_results_of_yesterdays_round():
    ds = draws(year_md(2018))
    d = ds["2018-11-26/hcp"]          # posted November 27: "results of yesterday's round"
    assert (d.invitations, d.score_min, d.score_max) == (185, 350, 448)
    assert d.window_start == utc(2018, 1, 1, 5, 0) and d.window_end == utc(2018, 11, 27, 4, 59)
    assert "job_offer" in d.extra["targets"]
    assert (ds["2018-01-22/hcp"].score_min, ds["2018-01-22/hcp"].score_max) == (440, 446)
    assert (ds["2018-02-26/hcp"].score_min, ds["2018-02-26/hcp"].score_max) == (433, 441)   # "441-433"
    # Two searches in one post, told apart by whom they targeted.
    assert ds["2018-03-27/hcp/job_offer"].invitations == 480
    assert ds["2018-03-27/hcp/french"].invitations == 299


def test_2018_date_line_inside_a_paragraph_is_its_own_post():
    d = draws(year_md(2018))["2018-03-14/entrepreneur"]
    assert (d.invitations, d.score_min, d.score_system, d.selection_kind) == (10, 135, "oinp_eoi", "ita")
    assert any(n.date == date(2018, 3, 16) for n in year_md(2018).notices)


def test_2015_to_2017_hold_notices_only():
    for year in (2015, 2016, 2017):
        assert year_md(year).draws == [], year
    notices = {(n.date, n.title) for n in year_md(2015).notices}
    assert (date(2015, 10, 29), "Closure of the investor component and introducing redesigned business streams") in notices
    assert len(year_md(2017).notices) == 55


def test_truncated_2020_fragment_parses_what_it_holds():
    result = parsed(FRAGMENT_2020)
    ds = draws(result)
    assert len(ds) == 23
    tech = ds["2020-12-15/hcp"]          # "issued" post + "will be issued" post: one draw
    assert (tech.score_min, tech.score_max) == (460, 468)
    assert tech.noc_codes == ["0213", "2147", "2172", "2173", "2174", "2175"]
    assert "announced" not in tech.flags
    ent = ds["2020-12-15/entrepreneur"]  # under the year-less "December 17" heading
    assert (ent.invitations, ent.score_min, ent.score_max) == (19, 140, 200)
    assert ent.window_start == utc(2019, 11, 22, 5, 0) and ent.window_end == utc(2020, 12, 11, 4, 59)
    can, foreign = ds["2020-06-03/hcp/canadian_experience"], ds["2020-06-03/hcp/foreign_experience"]
    assert (can.score_min, can.score_max, foreign.score_min, foreign.score_max) == (358, 439, 471, 500)
    assert can.noc_codes == foreign.noc_codes == ["0111", "0114", "0124", "1111", "1114", "1122", "3012", "3124", "3132"]
    assert ds["2020-11-04/fssw"].score_min == 453 and ds["2020-11-04/skilled_trades"].score_min == 436
    # The cut ends inside the January 2, 2020 post: it is still read.
    assert any(n.date == date(2020, 1, 2) for n in result.notices)
    assert any(n.date == date(2020, 12, 17) for n in result.notices)


@pytest.mark.parametrize("year", MARKDOWN_YEARS)
def test_every_markdown_year_parses(year):
    result = year_md(year)
    assert result.notices
    assert all(d.date and d.date.year in (year, year - 1) for d in result.draws)
    assert all(d.program != "unknown" for d in result.draws)
    assert all(n.date is None or n.date.year == year for n in result.notices)


def test_noc_versions_follow_the_code_length():
    for result in (parsed(RAW_2024), parsed(FRAGMENT_2020), year_md(2019), year_md(2021), year_md(2026)):
        for d in result.draws:
            if d.noc_codes:
                assert d.noc_version == {4: "2016", 5: "2021"}[len(d.noc_codes[0])], d.key
                assert all(len(c) == len(d.noc_codes[0]) for c in d.noc_codes)


def test_reparse_gives_the_same_keys():
    body, url = render(DATA / "oinp_updates_2026.2026-06-19.md")
    assert [d.key for d in parse_oinp_updates(body, url).draws] == [d.key for d in year_md(2026).draws]


# --------------------------------------------------------------------------- failures

@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("CAPTCHA_BLOCKED_oinp_updates_*.md")))
def test_captcha_pages_raise_source_blocked(name):
    body, url = render(DATA / name)
    with pytest.raises(SourceBlocked, match=r"captcha.*incident"):
        parse_oinp_updates(body, url)


def test_page_without_dated_entries_raises_parse_error():
    body = (DATA / "oinp_tech_draws.wayback2025.raw.html").read_bytes()
    with pytest.raises(ParseError, match="no dated entries"):
        parse_oinp_updates(body, "https://www.ontario.ca/page/oinp-tech-draws")
    with pytest.raises(ParseError, match="no dated entries"):
        parse_oinp_updates(b"", PAGE.format(2027))


def test_renamed_stream_is_kept_verbatim_and_flagged():
    # The real 2026 page with one stream renamed, as Ontario did on 2026-06-26.
    body, url = render(DATA / "oinp_updates_2026.2026-06-19.md")
    body = body.replace(b"Masters Graduate", b"Talent Graduate")
    result = parse_oinp_updates(body, url)
    d = draws(result)["2026-04-22/unknown-talent-graduate-stream"]
    assert (d.program, d.extra["stream_name"], d.flags) == ("unknown", "Talent Graduate stream", ["unknown_stream"])
    assert (d.score_min, d.selection_kind) == (61, None)
    assert any("unknown stream 'Talent Graduate stream'" in p for p in result.problems)


def test_text_helpers_on_strings_from_the_pages():
    from scraper.parse import dates as dt, nocs as nc, numbers as nm, text as tx

    assert dt.parse_date("September 19. 2023") == date(2023, 9, 19)
    assert dt.parse_date("June 1,2021 –June 1 2022") == date(2021, 6, 1)
    assert dt.parse_date("April 05, 2019") == date(2019, 4, 5)
    assert dt.parse_date("December 17", 2020) == date(2020, 12, 17)
    assert dt.parse_date("December 17") is None
    stamp = "December 11, 2019 12:28 p.m EST"
    assert dt.time_after(stamp, dt.find_dates(stamp)[0].end).hour == 12
    assert nm.parse_score_cell("441-433") == (433, 441)
    assert nm.parse_score_cell("496 and above") == (496, None)
    assert nm.parse_score_cell("N/A") is None
    assert nm.parse_count("371*") == 371 and nm.parse_count("1,424") == 1424
    assert nc.parse_noc_line("NOC\u00a072010 - Contractors and supervisors") == ("72010", "Contractors and supervisors")
    assert nc.parse_noc_line("0213 – Computer and information systems managers")[0] == "0213"
    assert nc.parse_noc_line("Data Scientists ( NOC 21211)") == ("21211", "Data Scientists")
    assert nc.parse_noc_line("2024 OINP results") is None
    assert tx.clean("Comprehensive Ranking System ( CRS )\u00a0score") == "Comprehensive Ranking System (CRS) score"


# --------------------------------------------------------------------------- total and strict

def _page_2026() -> tuple[bytes, str]:
    return render(DATA / "oinp_updates_2026.2026-06-19.md")


def test_html_nested_1000_deep_is_a_parse_error_not_a_crash():
    body, url = _page_2026()
    body = body.replace(b"<main>", b"<main>" + b"<div>" * 1_000).replace(b"</main>", b"</div>" * 1_000 + b"</main>")
    with pytest.raises(ParseError, match="Excessive depth"):
        parse_oinp_updates(body, url)


def test_html_nested_250_deep_reads_the_same_draws():
    body, url = _page_2026()
    deep = body.replace(b"<main>", b"<main>" + b"<div>" * 250).replace(b"</main>", b"</div>" * 250 + b"</main>")
    plain, nested = parse_oinp_updates(body, url), parse_oinp_updates(deep, url)
    assert [asdict(d) for d in nested.draws] == [asdict(d) for d in plain.draws]


def test_digits_of_other_scripts_are_not_read_as_numbers():
    body, url = _page_2026()
    # The 2026-04-30 post's cut-off for the Foreign Worker stream, in Arabic-Indic and
    # full-width digits: neither is 57.
    for digits in ("٥٧", "５７"):
        odd = body.replace(b"Candidates with a score of 57 and above", f"Candidates with a score of {digits} and above".encode())
        fw = draws(parse_oinp_updates(odd, url))
        assert all(d.score_min != 57 for k, d in fw.items() if k.startswith("2026-04-30/foreign_worker"))


@pytest.mark.parametrize("written", ["1,063", "1063"])
def test_counts_with_thousands_where_thousands_are(written):
    from scraper.parse import numbers as nm

    assert [c.value for c in nm.find_counts(f"On April 30, 2026, we issued {written} invitations to apply")] == [1063]


@pytest.mark.parametrize("written", ["10,63", "1 063", "1,0,6,3", "١٠٦٣", "１０６３", "10²", "9" * 5000, "1.063"])
def test_counts_that_do_not_read(written):
    from scraper.parse import numbers as nm

    assert nm.find_counts(f"On April 30, 2026, we issued {written} invitations to apply") == []


def test_a_month_in_another_alphabet_is_no_date():
    from scraper.parse import dates as dt

    # "ſ" (long s) folds to "s" in Python's case-blind matching: not September.
    assert dt.find_dates("ſeptember 3, 2024") == [] and dt.parse_date("September 3, 2024") == date(2024, 9, 3)


def test_a_paragraph_no_page_has_is_refused():
    from scraper.sources.oinp.parse import MAX_BLOCK_CHARS

    body, url = _page_2026()
    long = b"<p>" + b"Ontario " * (MAX_BLOCK_CHARS // 8 + 1) + b"</p>"
    with pytest.raises(ParseError, match="a paragraph of .* characters") as caught:
        parse_oinp_updates(body.replace(b"</main>", long + b"</main>"), url)
    assert caught.value.url == url


def test_a_page_of_implausibly_many_tags_is_refused_before_parsing():
    from scraper.parse.html import MAX_TAGS

    body, url = _page_2026()
    with pytest.raises(ParseError, match="tags, more than"):
        parse_oinp_updates(body.replace(b"</main>", b"<b></b>" * MAX_TAGS + b"</main>"), url)
