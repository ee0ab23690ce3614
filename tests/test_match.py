"""Matching real draws against subscriber profiles, and the outbox the ingest writes.

Every draw here is parsed from the real snapshots in tests/data (IRCC's feed; Ontario's
updates pages and ledgers, the markdown ones rendered with tests/md_render.py), and every
expected sentence was checked against the draw as published.
"""
from __future__ import annotations

from functools import cache

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from notifier import subscribers
from notifier.match import enqueue_matches, evaluate
from notifier.profile import MatchProfile
from scraper.sources.express_entry.parse import parse_express_entry
from scraper.sources.oinp.parse import merge_oinp, parse_oinp_ledger
from scraper.records import ParseResult
from scraper.sources.registry import SOURCES
from configfile import ConfigError, load_config
from store.facts import record_facts
from store.ingest import ingest
from store.models import Draw, DrawRevision, Notification, Subscriber
from tests.conftest import DATA, data
from tests.md_render import parsed_updates, render

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
HOOK = "json://127.0.0.1:9/hook"  # never sent to here
LEDGERS = ("oinp_invitations_apply.2026-06-19.md", "oinp_express_entry_notifications_interest.2026-06-19.md")
SOFTWARE = "Software engineers and designers"


# --------------------------------------------------------------------------- real draws


def ee_result(snapshot: str):
    return parse_express_entry(data(f"ee_rounds_123_en.{snapshot}.raw.json"), EE_URL)


@cache
def ledger_records() -> tuple:
    return tuple(d for name in LEDGERS for d in parse_oinp_ledger(*render(DATA / name)).draws)


def oinp_result(*pages: str, ledgers: bool = True) -> ParseResult:
    """What a crawl of these updates pages (and the two ledgers) hands to ``ingest``."""
    results = [parsed_updates(DATA / page) for page in pages]
    records = [d for r in results for d in r.draws] + (list(ledger_records()) if ledgers else [])
    return ParseResult(merge_oinp(records), [n for r in results for n in r.notices])


@cache
def ee() -> dict[str, Draw]:
    """Every round of the 2026-04-21 feed, as ingest builds its rows."""
    return {r.key: Draw(source="express_entry", key=r.key, **record_facts(r))
            for r in ee_result("2026-04-21").draws}


@cache
def oinp() -> dict[str, Draw]:
    result = oinp_result("oinp_updates_2019.2026-06-19.md", "oinp_updates_2024.wayback2025.raw.html",
                         "oinp_updates_2026.2026-06-19.md")
    return {r.key: Draw(source="oinp", key=r.key, **record_facts(r)) for r in result.draws}


def profile(**fields) -> MatchProfile:
    """A profile through the same validation as the config file and the CLI."""
    return MatchProfile.from_profile(subscribers.validate({"name": "someone", "urls": [HOOK], **fields}))


def decide(draw: Draw, **fields):
    return evaluate(profile(**fields), draw)


# --------------------------------------------------------------------------- Express Entry


def test_stem_round_holds_software_engineers_on_its_version_1_list():
    stem = ee()["293"]  # "STEM occupations (Version 1)", 11 April 2024, CRS 491
    assert (stem.program, stem.category_version, stem.score_min) == ("stem", "Version 1", 491)
    d = decide(stem, nocs=["21231"], crs=495, programs=["fsw"])
    assert d.interests == ["eligible", "targeted"] and d.unmet == []
    assert d.headline == "Express Entry round #293: STEM occupations (Version 1), 11 Apr 2024"
    assert d.reasons == [
        "the round covers Federal Skilled Worker, Canadian Experience Class, Federal Skilled Trades, including yours",
        f"the STEM occupations (Version 1) list holds your NOC 21231 {SOFTWARE}",
        "your CRS 495 is above the minimum 491"]
    # A NOC 2016 profile is told which 2021 codes of the list its code became, not "your NOC 21231".
    old = decide(stem, nocs=["2173"], crs=495, programs=["fsw"])
    assert old.interests == ["eligible", "targeted"]
    assert f"the STEM occupations (Version 1) list holds NOC 21211, 21231 (your 2173 {SOFTWARE})" in old.reasons
    nurse = decide(stem, nocs=["31301"], crs=495, programs=["fsw"])
    assert nurse.interests == [] and not nurse.eligible
    assert nurse.unmet == ["the STEM occupations (Version 1) list holds 24 occupations, none of yours (31301)"]


def test_healthcare_round_and_near_miss():
    health = ee()["398"]  # "Healthcare and Social Services Occupations, 2026-Version 3", CRS 467
    nurse = decide(health, nocs=["31301"], crs=470, programs=["cec"])
    assert nurse.interests == ["eligible", "targeted"]
    # 2026-Version 3 is compiled with medium confidence (ee_category_nocs.md): the reason says so.
    assert ("the Healthcare and social services occupations (2026-Version 3, a list drawwatch holds with "
            "medium confidence) list holds your NOC 31301 Registered nurses and registered psychiatric nurses") \
        in nurse.reasons
    close = decide(health, nocs=["31301"], crs=460, programs=["cec"], notify=["eligible", "near_miss"])
    assert close.interests == ["near_miss"] and close.unmet == ["your CRS 460 is 7 below the minimum 467"]
    assert decide(health, nocs=["31301"], crs=460, programs=["cec"], notify=["near_miss"], near_miss=5).interests == []
    # Off the list: not near, whatever the score (an unmet condition other than the score).
    coder = decide(health, nocs=["21231"], crs=465, programs=["cec"], notify=["eligible", "near_miss"])
    assert coder.interests == []
    assert "the Healthcare and social services occupations (2026-Version 3, a list drawwatch holds with " \
           "medium confidence) list holds 37 occupations, none of yours (21231)" in coder.unmet


def test_french_round_needs_nclc_7():
    french = ee()["411"]  # "French-Language proficiency 2026-Version 2", 15 April 2026, CRS 419
    rule = ("French-language test results at NCLC 7 or higher in all four abilities "
            "(reading, writing, listening, speaking)")
    ok = decide(french, crs=420, nclc=7, programs=["cec"])
    assert ok.interests == ["eligible"] and not ok.targeted
    assert f"your French (NCLC 7) meets the rule: {rule}" in ok.reasons
    six = decide(french, crs=420, nclc=6, programs=["cec"], notify=["eligible", "near_miss"])
    assert six.interests == [] and six.unmet == [f"French-language round ({rule}); your NCLC is 6"]
    unknown = decide(french, crs=420, programs=["cec"])
    assert unknown.interests == [] and unknown.unmet == [f"French-language round ({rule}); your profile has no NCLC level"]
    # Short on points and on French: not a near miss (French is not a few points away).
    assert decide(french, crs=415, nclc=6, programs=["cec"], notify=["near_miss"]).interests == []


def test_pnp_round_needs_a_nomination():
    pnp = ee()["409"]  # "Provincial Nominee Program", 13 April 2026, CRS 786
    nominee = decide(pnp, crs=800, programs=["pnp", "cec"])
    assert nominee.interests == ["eligible"]
    assert nominee.reasons == ["the round is for provincial nomination candidates, as you are",
                               "your CRS 800 is above the minimum 786"]
    cec = decide(pnp, crs=800, programs=["cec"])
    assert cec.interests == [] and cec.unmet == ["the round is for provincial nomination candidates; your programs are cec"]


def test_cec_round_program():
    cec = ee()["410"]  # "Canadian Experience Class", 14 April 2026, CRS 515
    assert decide(cec, crs=530, programs=["cec"]).reasons == [
        "the round is for Canadian Experience Class candidates, as you are", "your CRS 530 is above the minimum 515"]
    fsw = decide(cec, crs=530, programs=["fsw"])
    assert fsw.interests == [] and fsw.unmet == [
        "the round is for Canadian Experience Class candidates; your programs are fsw"]
    none = decide(cec, crs=530)
    assert none.unmet == ["the round is for Canadian Experience Class candidates; your profile lists no program"]


def test_tie_break_at_the_exact_cut_off():
    cec = ee()["410"]  # CRS 515, tie-break 10 June 2025 02:46:26 UTC (9 June, 22:46 in Ottawa)
    before = decide(cec, crs=515, programs=["cec"], ee_profile_created="2025-06-08")
    assert before.interests == ["eligible"]
    assert ("your CRS 515 equals the minimum and your profile (2025-06-08) predates the tie-break "
            "2025-06-10 02:46 UTC") in before.reasons
    # 9 June is the tie-break's own day in Ottawa: a profile of that day may be later than 22:46.
    for day in ("2025-06-09", "2025-06-10", "2025-07-01"):
        after = decide(cec, crs=515, programs=["cec"], ee_profile_created=day, notify=["eligible", "near_miss"])
        assert after.interests == [], day
        assert after.unmet == [f"your CRS 515 equals the minimum but your profile ({day}) is not older than "
                               "the tie-break 2025-06-10 02:46 UTC"]
    unknown = decide(cec, crs=515, programs=["cec"])
    assert unknown.interests == [] and unknown.unmet == [
        "your CRS 515 equals the minimum, and the tie-break (2025-06-10 02:46 UTC) needs your profile's creation date"]
    # One point above the cut-off, the tie-break does not matter.
    assert decide(cec, crs=516, programs=["cec"]).interests == ["eligible"]


def test_near_miss_within_n_points():
    cec = ee()["410"]
    near = decide(cec, crs=508, programs=["cec"], notify=["eligible", "near_miss"])
    assert near.interests == ["near_miss"] and near.unmet == ["your CRS 508 is 7 below the minimum 515"]
    assert decide(cec, crs=508, programs=["cec"], notify=["eligible", "near_miss"], near_miss=7).interests == ["near_miss"]
    assert decide(cec, crs=508, programs=["cec"], notify=["eligible", "near_miss"], near_miss=6).interests == []
    # "all" hears of every draw, with the reasons it would not qualify.
    everything = decide(cec, crs=400, programs=["fsw"], notify=["all"])
    assert everything.interests == ["all"] and len(everything.unmet) == 2


# --------------------------------------------------------------------------- Ontario


def test_2019_tech_draw_publishes_noc_2016_and_matches_a_2021_profile():
    tech = oinp()["2019-08-01/hcp"]  # NOIs to CRS 435-458, profiles created 1 Aug 2018 - 1 Aug 2019
    assert tech.noc_version == "2016" and "2173" in tech.noc_codes and (tech.score_min, tech.score_max) == (435, 458)
    d = decide(tech, nocs=["21231"], crs=447, ee_profile_created="2019-01-05")
    assert d.headline == "Ontario Human Capital Priorities tech draw, 1 Aug 2019"
    assert d.interests == ["eligible", "targeted"] and d.unmet == []
    assert d.reasons == [
        f"the draw targets NOC 2173 (your 21231 {SOFTWARE})",
        "your CRS 447 is inside the range 435-458",
        "your Express Entry profile (2019-01-05) was created inside the window "
        "(between 2018-08-01 04:00 UTC and 2019-08-02 03:59 UTC)"]
    # The same profile in the code it was published in.
    assert f"the draw targets your NOC 2173 {SOFTWARE}" in decide(
        tech, nocs=["2173"], crs=447, ee_profile_created="2019-01-05").reasons
    nurse = decide(tech, nocs=["31301"], crs=447, ee_profile_created="2019-01-05")
    assert nurse.interests == [] and nurse.unmet[0].startswith("the draw targets ") \
        and nurse.unmet[0].endswith("occupations, none of yours (31301)")


@pytest.mark.parametrize("crs, unmet", [
    (459, "your CRS 459 is above this draw's range 435-458"),
    (430, "your CRS 430 is 5 below the minimum 435"),
])
def test_2019_tech_draw_crs_range(crs, unmet):
    d = decide(oinp()["2019-08-01/hcp"], nocs=["21231"], crs=crs, ee_profile_created="2019-01-05",
               notify=["eligible", "near_miss"])
    assert d.unmet == [unmet]
    assert d.interests == (["near_miss"] if crs < 435 else [])
    assert decide(oinp()["2019-08-01/hcp"], nocs=["21231"], crs=435, ee_profile_created="2019-01-05").reasons[1] \
        == "your CRS 435 is at the minimum 435"


@pytest.mark.parametrize("created, inside", [
    ("2018-08-01", True),   # the window opened 1 Aug 2018, midnight in Toronto
    ("2019-08-01", True),   # and closed 1 Aug 2019 at 11:59 p.m. (03:59 UTC on the 2nd)
    ("2018-07-31", False),
    ("2019-08-02", False),
])
def test_2019_tech_draw_profile_window(created, inside):
    d = decide(oinp()["2019-08-01/hcp"], nocs=["21231"], crs=447, ee_profile_created=created)
    window = "(between 2018-08-01 04:00 UTC and 2019-08-02 03:59 UTC)"
    if inside:
        assert d.interests == ["eligible", "targeted"]
        assert f"your Express Entry profile ({created}) was created inside the window {window}" in d.reasons
    else:
        assert d.interests == ["targeted"] and not d.eligible
        assert d.unmet == [f"your Express Entry profile ({created}) was not created in the window {window}"]
    missing = decide(oinp()["2019-08-01/hcp"], nocs=["21231"], crs=447)
    assert missing.unmet == ["the draw took Express Entry profiles created between 2018-08-01 04:00 UTC and "
                             "2019-08-02 03:59 UTC; your profile has no Express Entry profile creation date"]


def test_noc_2016_profile_matches_a_2021_coded_tech_draw():
    tech = oinp()["2024-02-08/hcp"]  # NOC 2021 codes, CRS 471-480
    assert tech.noc_version == "2021" and {"21211", "21231"} <= set(tech.noc_codes)
    d = decide(tech, nocs=["2173"], crs=475, ee_profile_created="2023-05-05")
    assert d.interests == ["eligible", "targeted"]
    assert d.reasons[0] == f"the draw targets NOC 21211, 21231 (your 2173 {SOFTWARE})"
    assert d.reasons[1] == "your CRS 475 is inside the range 471-480"


def test_2026_foreign_worker_draw_with_eoi_points():
    fw = oinp()["2026-04-30/foreign_worker"]  # GTA, EOI 57+, 39 NOCs, EOIs of 2 Jul 2025 - 28 Apr 2026
    assert (fw.score_system, fw.score_min, fw.region, len(fw.noc_codes)) == ("oinp_eoi", 57, "GTA", 39)
    window = "(between 2025-07-02 04:00 UTC and 2026-04-29 03:59 UTC)"
    d = decide(fw, nocs=["21231"], provincial_points={"ON": 62}, eoi_created="2026-04-28")
    assert d.headline == "Ontario Employer Job Offer: Foreign Worker draw (GTA), 30 Apr 2026"
    assert d.interests == ["eligible", "targeted"] and d.unmet == []
    assert d.reasons == [f"the draw targets your NOC 21231 {SOFTWARE}",
                         "your Ontario EOI score 62 is above the minimum 57",
                         f"your expression of interest (2026-04-28) was created inside the window {window}"]
    late = decide(fw, nocs=["21231"], provincial_points={"ON": 62}, eoi_created="2026-04-29")
    assert late.unmet == [f"your expression of interest (2026-04-29) was not created in the window {window}"]
    low = decide(fw, nocs=["21231"], provincial_points={"on": 52}, eoi_created="2026-01-10",
                 notify=["eligible", "near_miss"])
    assert low.interests == ["near_miss"] and low.unmet == ["your Ontario EOI score 52 is 5 below the minimum 57"]
    # A CRS is not an Ontario EOI score.
    crs_only = decide(fw, nocs=["21231"], crs=520, eoi_created="2026-01-10")
    assert crs_only.interests == ["targeted"]
    assert crs_only.unmet == ["your Ontario EOI score is not in your profile (the cut-off was 57)"]
    nurse = decide(fw, nocs=["31301"], provincial_points={"ON": 62}, eoi_created="2026-01-10")
    assert nurse.interests == ["eligible", "targeted"]  # registered nurses are on this draw's list
    welder = decide(fw, nocs=["72106"], provincial_points={"ON": 62}, eoi_created="2026-01-10")
    assert welder.interests == [] and welder.unmet == ["the draw targets 39 occupations, none of yours (72106)"]


def test_skilled_trades_draw_without_a_noc_list_still_needs_a_trade():
    """2019-12-11 Skilled Trades: CRS 410-479, no NOC list on the page. The stream only
    takes trades (NOC 2016 major groups 72, 73, 82, 92, minor groups 632, 633)."""
    draw = oinp()["2019-12-11/skilled_trades"]
    assert (draw.score_min, draw.score_max, draw.noc_codes) == (410, 479, [])
    welder = decide(draw, nocs=["72106"], crs=447, ee_profile_created="2019-05-01")
    assert welder.interests == ["eligible"] and not welder.targeted
    assert "the stream accepts your NOC 72106 Welders and related machine operators" in welder.reasons
    coder = decide(draw, nocs=["21231"], crs=447, ee_profile_created="2019-05-01")
    assert coder.interests == []
    assert coder.unmet == ["the stream accepts 93 occupations, none of yours (21231)"]
    cook_2016 = decide(draw, nocs=["6322"], crs=447, ee_profile_created="2019-05-01")  # minor group 632
    assert cook_2016.eligible


def test_province_and_source_filters():
    fw, cec = oinp()["2026-04-30/foreign_worker"], ee()["410"]
    elsewhere = profile(provinces=["BC", "AB"], notify=["all"], crs=530, programs=["cec"])
    out = evaluate(elsewhere, fw)
    assert out.interests == [] and out.unmet == ["Ontario is not among your provinces"]
    assert evaluate(elsewhere, cec).interests == ["all"]  # Express Entry is federal: every province
    assert evaluate(profile(provinces=["ON"], notify=["all"]), fw).interests == ["all"]
    ontario_only = profile(sources=["oinp"], notify=["all"], crs=530, programs=["cec"])
    out = evaluate(ontario_only, cec)
    assert out.interests == [] and out.unmet == ["Express Entry is not among your sources"]
    assert evaluate(ontario_only, fw).interests == ["all"]


# --------------------------------------------------------------------------- the outbox


def add(session, name, **fields):
    return subscribers.add(session, {"name": name, "urls": [HOOK], **fields})


def outbox(session, **where):
    query = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        query = query.where(getattr(Notification, key) == value)
    return session.exec(query).all()


def draw_id(session, source, key):
    return session.exec(select(Draw.id).where(Draw.source == source, Draw.key == key)).one()


def test_baseline_is_silent_then_new_draws_are_matched_once(store_session):
    s = store_session
    cec = add(s, "cec-515", crs=520, programs=["cec"])
    add(s, "everything", notify=["all"], sources=["express_entry"])
    first = ingest(s, "express_entry", ee_result("2026-04-02"), matcher=enqueue_matches)
    assert first.baseline and len(first.new) == 409 and outbox(s) == []
    report = ingest(s, "express_entry", ee_result("2026-04-21"), matcher=enqueue_matches)
    assert sorted(d.key for d in report.new) == ["409", "410", "411"]
    rows = outbox(s, subscriber_id=cec.id)
    assert [(r.draw_id, r.kind, r.status, r.interests) for r in rows] == [
        (draw_id(s, "express_entry", "410"), "alert", "pending", ["eligible"])]
    assert rows[0].reasons == ["the round is for Canadian Experience Class candidates, as you are",
                               "your CRS 520 is above the minimum 515"]
    assert rows[0].facts["score_min"] == 515 and rows[0].facts["date"] == "2026-04-14"
    assert len(outbox(s)) == 1 + 3
    again = ingest(s, "express_entry", ee_result("2026-04-21"), matcher=enqueue_matches)
    assert not again.new and not again.changed and len(outbox(s)) == 4


def test_notify_history_alerts_on_the_first_crawl_one_row_per_subscriber_and_draw(store_session):
    s = store_session
    coder = add(s, "coder", nocs=["21231"], crs=495, programs=["fsw", "cec"])
    add(s, "ontario-only", sources=["oinp"], notify=["all"])
    report = ingest(s, "express_entry", ee_result("2026-04-21"), matcher=enqueue_matches, notify_history=True)
    assert report.baseline
    rows = outbox(s)
    # The three STEM (Version 1) rounds, the only ones whose list holds 21231, are targeted.
    stem = {draw_id(s, "express_entry", k) for k in ("254", "274", "293")}
    assert {r.draw_id for r in rows if "targeted" in r.interests} == stem
    assert {r.subscriber_id for r in rows} == {coder.id}
    pairs = [(r.subscriber_id, r.draw_id) for r in rows]
    assert len(pairs) == len(set(pairs))
    ingest(s, "express_entry", ee_result("2026-04-21"), matcher=enqueue_matches, notify_history=True)
    assert [(r.subscriber_id, r.draw_id) for r in outbox(s)] == pairs


def test_correction_of_a_fact_the_alert_did_not_state_sends_nothing(store_session):
    """IRCC's 2023-01-29 feed re-typed round 237's drawDate "11-01-2023" as "2023-01-11":
    the same day (test_ingest), so since issue 11 the draw did not change at all. Three
    later snapshots change only the text of rounds 221, 234 and 235 ("April 27,2022" ->
    "April 27, 2022"): the same. No correction to anyone, sent or pending."""
    s = store_session
    sent = add(s, "sent", crs=510, programs=["cec"])
    pending = add(s, "pending", crs=520, programs=["fsw"])
    ingest(s, "express_entry", ee_result("2023-01-17"), matcher=enqueue_matches, notify_history=True)
    round_237 = draw_id(s, "express_entry", "237")
    s.exec(update(Notification).where(Notification.subscriber_id == sent.id).values(status="sent"))
    s.commit()
    before = {r.id: (r.status, r.facts, r.reasons) for r in outbox(s)}
    assert {r.subscriber_id for r in outbox(s, draw_id=round_237)} == {sent.id, pending.id}
    report = ingest(s, "express_entry", ee_result("2023-01-29"), matcher=enqueue_matches)
    assert report.changed == [] and [d.key for d in report.new] == ["238"]
    assert outbox(s, kind="correction") == []
    assert {r.id: (r.status, r.facts, r.reasons) for r in outbox(s) if r.id in before} == before
    # Round 238 is new: both hear of it once.
    assert {r.subscriber_id for r in outbox(s, draw_id=draw_id(s, "express_entry", "238"))} == {sent.id, pending.id}
    text_only = ingest(s, "express_entry", ee_result("2025-12-20"), matcher=enqueue_matches)
    assert text_only.changed == [] and len(text_only.new) == 150
    assert "April 27, 2022" in s.exec(select(Draw.text).where(Draw.key == "221")).one()
    assert outbox(s, kind="correction") == []


CENTRAL = "2026-04-23/international_student/central"


def test_correction_of_a_stated_fact(store_session):
    """Ontario's 2026 updates page says the 23 April Central Ontario International Student
    draw took EOI scores of 85 and above, with no window start; its ledger says 84, from
    2 July 2025. A crawl of the page alone, then of the page and the ledgers, is a real
    correction of two facts every alert on that draw stated."""
    s = store_session
    combine = SOURCES["oinp"].load_combine()
    accountant = dict(nocs=["11100"], provincial_points={"ON": 86}, notify=["eligible"])
    sent = add(s, "sent", eoi_created="2025-09-01", **accountant)
    pending = add(s, "pending", eoi_created="2025-09-01", **accountant)
    early_sent = add(s, "early-sent", eoi_created="2025-06-01", **accountant)
    early_pending = add(s, "early-pending", eoi_created="2025-06-01", **accountant)
    never = add(s, "never", nocs=["11100"], provincial_points={"ON": 80}, eoi_created="2025-09-01", notify=["eligible"])
    page_only = oinp_result("oinp_updates_2026.2026-06-19.md", ledgers=False)
    ingest(s, "oinp", page_only, combine=combine, matcher=enqueue_matches, notify_history=True)
    central = draw_id(s, "oinp", CENTRAL)
    alerted = {r.subscriber_id for r in outbox(s, draw_id=central)}
    assert alerted == {sent.id, pending.id, early_sent.id, early_pending.id}
    s.exec(update(Notification).where(Notification.subscriber_id.in_([sent.id, early_sent.id])).values(status="sent"))
    s.commit()

    report = ingest(s, "oinp", oinp_result("oinp_updates_2026.2026-06-19.md"), combine=combine,
                    matcher=enqueue_matches)
    changes = dict((d.key, ch) for d, ch in report.changed)[CENTRAL]
    assert changes["score_min"] == [85, 84] and changes["window_start"] == [None, "2025-07-02T04:00:00+00:00"]

    fix = outbox(s, draw_id=central, subscriber_id=sent.id, kind="correction")
    assert len(fix) == 1
    assert fix[0].changes == {"score_min": [85, 84], "window_start": [None, "2025-07-02T04:00:00+00:00"]}
    assert fix[0].interests == ["eligible"] and fix[0].status == "pending"
    assert "your Ontario EOI score 86 is above the minimum 84" in fix[0].reasons
    # Created before the window the ledger gives: told that it no longer fits.
    (gone,) = outbox(s, draw_id=central, subscriber_id=early_sent.id, kind="correction")
    assert gone.interests == [] and gone.unmet == [
        "your expression of interest (2025-06-01) was not created in the window "
        "(between 2025-07-02 04:00 UTC and 2026-04-22 03:59 UTC)"]
    # Alerts not sent yet are brought up to date instead: no second message.
    (alert,) = outbox(s, draw_id=central, subscriber_id=pending.id)
    assert alert.kind == "alert" and alert.status == "pending" and alert.facts["score_min"] == 84
    (withdrawn,) = outbox(s, draw_id=central, subscriber_id=early_pending.id)
    assert withdrawn.status == "withdrawn" and withdrawn.interests == []
    assert outbox(s, subscriber_id=never.id, draw_id=central) == []
    # Every correction is of a sent alert, one per draw, and re-crawling adds none.
    corrections = outbox(s, kind="correction")
    assert {r.subscriber_id for r in corrections} == {sent.id, early_sent.id}
    assert len({(r.subscriber_id, r.draw_id) for r in corrections}) == len(corrections)
    revisions = s.exec(select(func.count()).select_from(DrawRevision)).one()
    ingest(s, "oinp", oinp_result("oinp_updates_2026.2026-06-19.md"), combine=combine, matcher=enqueue_matches)
    assert len(outbox(s, kind="correction")) == len(corrections)
    assert s.exec(select(func.count()).select_from(DrawRevision)).one() == revisions


# --------------------------------------------------------------------------- config subscribers


GOOD = """\
[[subscribers]]
name = "priya"
urls = ["json://127.0.0.1:9/hook"]
nocs = ["21231", "2173"]
crs = 481
programs = ["cec"]

[[subscribers]]
name = "marc"
urls = ["json://127.0.0.1:9/hook"]
nclc = 8
provincial_points = {ON = 62}
delivery = "digest"
"""


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


MARC_URL = 'urls = ["json://127.0.0.1:9/hook"]\nnclc'


@pytest.mark.parametrize("old, new, expected", [
    ("", 'nocs = ["21231", "99999"]', "subscribers.1.nocs (line 14): '99999' is not a NOC 2021 unit group"),
    ("", 'nocs = ["software"]', "subscribers.1.nocs (line 14): 'software' is not a NOC code"),
    ("", "crs = 1300", "subscribers.1.crs (line 14): Input should be less than or equal to 1200"),
    ("", 'provinces = ["XX"]', "subscribers.1.provinces (line 14): 'XX' is not a province"),
    (MARC_URL, 'urls = ["notaurl://x"]\nnclc',
     "subscribers.1.urls (line 10): 'notaurl://x' is not a notification URL Apprise can send to"),
])
def test_bad_config_subscriber_names_file_key_and_line(tmp_path, old, new, expected):
    path = write(tmp_path, GOOD.replace(old, new) if old else GOOD + new + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_duplicate_subscriber_names_are_refused_naming_the_second(tmp_path):
    path = write(tmp_path, GOOD.replace('"marc"', '"priya"'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: subscribers.1.name (line 9): two subscribers are named 'priya'"


def test_config_subscribers_are_synced_into_the_database(tmp_path, store_session):
    s = store_session
    settings = load_config(write(tmp_path, GOOD))
    subscribers.sync_config(s, settings)
    rows = {r.name: r for r in subscribers.listing(s)}
    assert set(rows) == {"priya", "marc"} and all(r.origin == "config" for r in rows.values())
    assert rows["priya"].profile["nocs"] == ["21231", "2173"] and rows["marc"].profile["provincial_points"] == {"ON": 62}
    stamp = rows["priya"].updated
    subscribers.sync_config(s, settings)  # unchanged file: nothing rewritten
    assert subscribers.get(s, "priya").updated == stamp
    with pytest.raises(subscribers.ProfileError, match="declared in the config file"):
        subscribers.edit(s, "priya", {"crs": 500})
    # marc leaves the file; priya's score changes: marc is kept (his outbox refers to him) but inactive.
    subscribers.sync_config(s, load_config(write(tmp_path, GOOD.split("[[subscribers]]\nname = \"marc\"")[0]
                                                 .replace("crs = 481", "crs = 490"))))
    assert [r.name for r in subscribers.listing(s)] == ["priya"]
    assert subscribers.get(s, "priya").profile["crs"] == 490
    assert subscribers.get(s, "marc").active is False
    assert s.exec(select(func.count()).select_from(Subscriber)).one() == 2
    # Only the active subscriber is matched.
    report = ingest(s, "express_entry", ee_result("2026-04-21"), matcher=enqueue_matches, notify_history=True)
    assert report.new and {r.subscriber_id for r in outbox(s)} == {subscribers.get(s, "priya").id}
