"""Ontario's two draw ledgers, and their merge with the updates pages.

The ledgers exist here only as markdown conversions of the live pages: they are
rendered to HTML in this test (tests/md_render.py), content real, markup not.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime
from functools import cache
from pathlib import Path

import pytest

from scraper.sources.oinp.parse import merge_oinp, parse_oinp_ledger
from scraper.records import DrawRecord, ParseError, SourceBlocked
from tests.md_render import parsed_updates, render

DATA = Path(__file__).parent / "data"
ITA = "oinp_invitations_apply.2026-06-19.md"
NOI = "oinp_express_entry_notifications_interest.2026-06-19.md"
UPDATES = "https://www.ontario.ca/page/{}-ontario-immigrant-nominee-program-updates"


@cache
def ledger(name: str) -> tuple[DrawRecord, ...]:
    return tuple(parse_oinp_ledger(*render(DATA / name)).draws)


def updates(name: str) -> tuple[DrawRecord, ...]:
    return tuple(parsed_updates(DATA / name).draws)


def by_key(records) -> dict[str, DrawRecord]:
    return {r.key: r for r in records}


def both_ledgers() -> list[DrawRecord]:
    return list(ledger(ITA)) + list(ledger(NOI))


def test_every_table_row_is_a_draw_with_a_unique_key():
    assert len(ledger(ITA)) == 258 and len(ledger(NOI)) == 181
    keys = [r.key for r in both_ledgers()]
    assert len(keys) == len(set(keys))
    assert all(r.program != "unknown" and r.date for r in both_ledgers())


# Totals the pages print above their tables ("Invitations to apply issued in 2024").
PUBLISHED_TOTALS = {
    (2025, "foreign_worker"): 4860, (2025, "international_student"): 6605, (2025, "in_demand_skills"): 1063,
    (2024, "foreign_worker"): 6695, (2024, "international_student"): 8363,
    (2024, "masters_graduate"): 5519, (2024, "phd_graduate"): 533,
    (2023, "international_student"): 2963, (2023, "in_demand_skills"): 1069,
    (2023, "masters_graduate"): 5734, (2023, "phd_graduate"): 486, (2023, "entrepreneur"): 58,
    (2022, "foreign_worker"): 1534, (2022, "masters_graduate"): 3890, (2022, "phd_graduate"): 445,
    (2021, "international_student"): 2290, (2021, "in_demand_skills"): 238, (2021, "masters_graduate"): 1834,
    (2021, "phd_graduate"): 204, (2021, "entrepreneur"): 61,
    (2024, "hcp"): 12731, (2024, "fssw"): 1525, (2024, "skilled_trades"): 9006,
    (2023, "hcp"): 17502, (2023, "fssw"): 1490, (2023, "skilled_trades"): 7512,
    (2022, "hcp"): 4012, (2022, "fssw"): 1539, (2022, "skilled_trades"): 7506,
    (2021, "hcp"): 6259, (2021, "fssw"): 651, (2021, "skilled_trades"): 1324,
    (2020, "hcp"): 6716, (2020, "fssw"): 902, (2020, "skilled_trades"): 1464,
    (2019, "hcp"): 6958, (2019, "fssw"): 549, (2019, "skilled_trades"): 1399,
    (2018, "hcp"): 3719, (2018, "fssw"): 1633, (2018, "skilled_trades"): 1626,
}
# Where Ontario's rows do not add up to its own totals (read by hand): the 2023
# In-Demand Skills table holds a row dated July 16, 2024 (424, a copy of an
# International Student row), so 2024 sums to 914 + 424.
ROWS_DISAGREE_WITH_TOTALS = {
    (2024, "in_demand_skills"): (914, 1338), (2023, "foreign_worker"): (6456, 6869),
    (2022, "international_student"): (1812, 2258), (2022, "in_demand_skills"): (523, 580),
    (2022, "entrepreneur"): (99, 98), (2021, "foreign_worker"): (2866, 2899),
}


def test_rows_add_up_to_the_published_yearly_totals():
    sums = Counter()
    for r in both_ledgers():
        sums[(r.date.year, r.program)] += r.invitations or 0
    for key, total in PUBLISHED_TOTALS.items():
        assert sums[key] == total, key
    for key, (published, rows) in ROWS_DISAGREE_WITH_TOTALS.items():
        assert sums[key] == rows != published, key


def test_ledger_spot_checks():
    ita, noi = by_key(ledger(ITA)), by_key(ledger(NOI))
    r = ita["2026-04-30/foreign_worker"]
    assert (r.invitations, r.score_min, r.score_max, r.region) == (786, 57, None, "GTA")
    assert (r.selection_kind, r.score_system) == ("ita", "oinp_eoi")
    assert r.window_start == datetime(2025, 7, 2, 4, 0) and r.window_end == datetime(2026, 4, 29, 3, 59)
    assert ita["2024-03-12/international_student/health"].invitations == 684     # "health and tech"
    assert ita["2022-03-03/entrepreneur"].score_max == 169                       # "152 to 169"
    assert ita["2025-06-03/international_student/redi"].score_min is None         # "N/A"
    h = noi["2024-10-17/skilled_trades"]
    assert (h.invitations, h.score_min, h.score_max, h.selection_kind) == (1307, 405, 435, "noi")
    assert noi["2022-09-28/hcp"].score_min == 496 and noi["2022-09-28/hcp"].score_max is None
    t = noi["2019-08-15/hcp"]                                   # "August 15, 2019 10:00 a.m. EST"
    assert t.round_time == datetime(2019, 8, 15, 14, 0) and t.invitations == 997
    assert noi["2019-01-24/skilled_trades"].invitations == 371 and "footnote" in noi["2019-01-24/skilled_trades"].flags
    ranged = noi["2023-08-11/hcp"]                              # "August 11 - 16, 2023"
    assert ranged.extra["date_range"] and ranged.invitations == 2084
    old = noi["2018-11-26/hcp"]                                 # "January 1 to November 26, 2018"
    assert old.window_start == datetime(2018, 1, 1, 5, 0) and old.window_end == datetime(2018, 11, 27, 4, 59)
    assert {noi["2018-03-26/hcp/job_offer"].invitations, noi["2018-03-26/hcp/french"].invitations} == {480, 299}
    assert noi["2020-06-03/hcp/canadian_experience"].score_min == 358


# Keys the updates pages and the ledgers cannot share, each read by hand:
KNOWN_UNMATCHED = {
    # the In-Demand Skills table repeats an International Student row under July 16, 2024
    "2024-07-16/in_demand_skills/health", "2024-07-16/in_demand_skills/general",
    "2024-07-16/in_demand_skills",
    # 2026-04-15: the updates page has two selections (agriculture 35+, other priority
    # 36+), the ledger one row (other priority, 1024)
    "2026-04-15/in_demand_skills", "2026-04-15/in_demand_skills/agriculture",
    "2026-04-15/in_demand_skills/priority",
    # 2025-06-03: the updates page names all three streams; the ledger has no Foreign
    # Worker / In-Demand Skills row for Eastern Ontario nor a Foreign Worker health row
    "2025-06-03/foreign_worker/eastern", "2025-06-03/in_demand_skills/eastern", "2025-06-03/foreign_worker/health",
}


@pytest.mark.parametrize("page, year", [
    ("oinp_updates_2024.wayback2025.raw.html", 2024), ("oinp_updates_2021.2026-06-19.md", 2021),
    ("oinp_updates_2025.2026-06-19.md", 2025), ("oinp_updates_2026.2026-06-19.md", 2026),
])
def test_updates_and_ledger_give_the_same_keys(page, year):
    upd = {r.key for r in updates(page) if r.date.year == year and r.program != "entrepreneur"}
    led = {r.key for r in both_ledgers() if r.date.year == year and r.program != "entrepreneur"}
    assert upd - KNOWN_UNMATCHED == led - KNOWN_UNMATCHED
    assert len(upd & led) >= 44


def test_2020_fragment_and_the_ledger_agree():
    upd = {r.key for r in updates("oinp_updates_2020.2020-12-17.drupal-body-fragment.TRUNCATED.html")
           if r.program != "entrepreneur"}
    led = {r.key for r in ledger(NOI) if r.date.year == 2020}
    assert upd == led and len(led) == 17


def test_merge_completes_updates_facts_with_ledger_counts():
    merged = by_key(merge_oinp(list(updates("oinp_updates_2026.2026-06-19.md")) + both_ledgers()))
    fw = merged["2026-04-30/foreign_worker"]
    assert fw.invitations == 786                        # the ledger's count
    assert len(fw.noc_codes) == 39 and fw.announcement == "april30-0"   # the updates page's facts
    assert fw.title == "Employer Job Offer streams: candidates invited in the Greater Toronto Area (GTA)"
    assert fw.window_start == datetime(2025, 7, 2, 4, 0) and fw.window_end == datetime(2026, 4, 29, 3, 59)
    assert fw.extra["sources"] == [
        UPDATES.format(2026) + "#april30-0",
        "https://www.ontario.ca/page/ontario-immigrant-nominee-program-oinp-invitations-apply"]
    ist = merged["2026-04-23/international_student/central"]
    assert (ist.score_min, ist.invitations) == (84, 173)  # the pages disagree (85 vs 84): the ledger wins
    ledger_only = merged["2018-07-19/fssw"]
    assert ledger_only.invitations == 31 and ledger_only.extra["sources"] == [
        "https://www.ontario.ca/page/oinp-express-entry-notifications-interest"]


def test_merge_gives_one_record_per_draw_in_any_order():
    records = (list(updates("oinp_updates_2024.wayback2025.raw.html"))
               + list(updates("oinp_updates_2024.2024-08-23.bs4prettified.html"))
               + list(updates("oinp_updates_2026.2026-06-19.md")) + both_ledgers())
    first = merge_oinp(records)
    keys = [r.key for r in first]
    assert len(keys) == len(set(keys))
    assert len(first) == len({r.key for r in records})
    rng = random.Random(4)
    for _ in range(3):
        shuffled = records[:]
        rng.shuffle(shuffled)
        assert merge_oinp(shuffled) == first
    # Crawling the early 2024 page as well as the late one adds nothing.
    late_only = merge_oinp(list(updates("oinp_updates_2024.wayback2025.raw.html")) + both_ledgers())
    with_early = merge_oinp(list(updates("oinp_updates_2024.wayback2025.raw.html"))
                            + list(updates("oinp_updates_2024.2024-08-23.bs4prettified.html")) + both_ledgers())
    assert [r.key for r in late_only] == [r.key for r in with_early]


def test_captcha_and_non_ledger_pages_fail():
    with pytest.raises(SourceBlocked):
        parse_oinp_ledger(*render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2024.2026-06-19.md"))
    with pytest.raises(ParseError, match="no draw tables"):
        parse_oinp_ledger((DATA / "oinp_tech_draws.wayback2025.raw.html").read_bytes(),
                          "https://www.ontario.ca/page/oinp-tech-draws")


def test_ledger_dates_are_real_days():
    assert all(isinstance(r.date, date) and 2018 <= r.date.year <= 2026 for r in both_ledgers())


def test_stored_draw_and_a_new_crawl_of_either_page_converge():
    upd = by_key(updates("oinp_updates_2026.2026-06-19.md"))
    led = by_key(both_ledgers())
    merged = by_key(merge_oinp(list(upd.values()) + list(led.values())))
    for key in ("2026-04-30/foreign_worker", "2026-04-23/international_student/central"):
        stored = merged[key]
        assert merge_oinp([stored, upd[key]]) == [stored]
        assert merge_oinp([led[key], stored]) == [stored]
        # a ledger-only row, then the updates page: the same row as both at once
        assert merge_oinp([merge_oinp([led[key]])[0], upd[key]]) == [stored]


# --------------------------------------------------------------------------- strict cells

def test_real_ledgers_read_every_cell_or_say_it_has_no_value():
    # Every number, score and window cell of both real ledgers reads, or is "N/A"/empty.
    assert not [r.key for r in both_ledgers() if any(f.startswith("unreadable_") for f in r.flags)]


@pytest.mark.parametrize("cell", ["7,86", "78 6", "7,8,6", "٧٨٦", "７８６", "78⁶", "about 786", "9" * 5000])
def test_a_count_cell_that_does_not_read_is_kept_verbatim_and_flagged(cell):
    body, url = render(DATA / ITA)
    row = b"| April 30, 2026 | 786 |"
    assert row in (DATA / ITA).read_bytes()
    html = body.replace(b"<td>April 30, 2026</td>\n<td>786</td>", f"<td>April 30, 2026</td>\n<td>{cell}</td>".encode())
    assert html != body
    r = by_key(parse_oinp_ledger(html, url).draws)["2026-04-30/foreign_worker"]
    assert r.invitations is None and "unreadable_number" in r.flags and r.extra["raw"]["number"] == cell
    assert r.score_min == 57            # the rest of the row still reads


def test_a_count_cell_with_thousands_where_thousands_are_reads():
    body, url = render(DATA / ITA)
    html = body.replace(b"<td>April 30, 2026</td>\n<td>786</td>", b"<td>April 30, 2026</td>\n<td>1,786*</td>")
    r = by_key(parse_oinp_ledger(html, url).draws)["2026-04-30/foreign_worker"]
    assert r.invitations == 1786 and "footnote" in r.flags and "unreadable_number" not in r.flags
