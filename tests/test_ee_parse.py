"""The Express Entry parser over every real snapshot of IRCC's feed."""
import json
from datetime import date, datetime, timezone

import pytest

from scraper.sources.express_entry.parse import parse_express_entry, parse_round_stamp
from scraper.records import ParseError
from tests.conftest import data

URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
SNAPSHOTS = {
    "ee_rounds_123_en.2023-01-17.raw.json": 238,
    "ee_rounds_123_en.2023-01-29.raw.json": 239,
    "ee_rounds_123_en.2025-12-20.raw.json": 389,
    "ee_rounds_123_en.2026-04-02.raw.json": 409,
    "ee_rounds_123_en.2026-04-21.raw.json": 412,
}


@pytest.fixture(scope="module")
def latest():
    return {d.key: d for d in parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), URL).draws}


@pytest.mark.parametrize("name,count", SNAPSHOTS.items())
def test_every_round_of_every_snapshot(name, count):
    result = parse_express_entry(data(name), URL)
    assert len(result.draws) == count
    assert len({d.key for d in result.draws}) == count
    for d in result.draws:
        assert d.date is not None, d.key
        assert d.invitations and d.invitations > 0, d.key
        assert d.score_min is not None, d.key
        assert d.url.startswith("https://www.canada.ca/en/immigration-refugees-citizenship/"), d.url
        assert "/content/canadasite" not in d.url
        assert d.program != "unknown" and "unknown_program" not in d.flags, d.title
        assert d.programs_covered, d.key


def test_spot_values(latest):
    d = latest["411"]
    assert d.date == date(2026, 4, 15)
    assert d.title == "French-Language proficiency 2026-Version 2"
    assert (d.program, d.category_version) == ("french", "2026-Version 2")
    assert d.invitations == 4000 and d.score_min == 419
    assert d.round_time == datetime(2026, 4, 15, 10, 43, 11, tzinfo=timezone.utc)
    assert d.tiebreak_time == datetime(2025, 11, 14, 7, 14, 25, tzinfo=timezone.utc)
    assert d.programs_covered == ["fsw", "cec", "fst"]
    assert d.url.endswith("/express-entry-rounds/invitations.html?q=411")
    first = latest["1"]
    assert (first.date, first.program, first.invitations, first.score_min) == (date(2015, 1, 31), "no_program", 779, 886)
    assert first.programs_covered == ["fsw", "cec", "fst", "pnp"]


def test_draw_91_is_two_draws(latest):
    assert {"91a", "91b"} <= latest.keys() and "91" not in latest
    assert latest["91a"].invitations != latest["91b"].invitations or latest["91a"].program != latest["91b"].program


def test_distribution_leaf_buckets_sum_to_total(latest):
    dist = latest["411"].extra["distribution"]
    assert dist["as_on"] == "2026-04-12"
    assert dist["total"] == 233555
    assert "451-500" not in dist["buckets"] and "401-450" not in dist["buckets"]  # subtotals not stored
    assert sum(dist["buckets"].values()) == dist["total"]
    assert dist["buckets"]["601-1200"] == 325 and dist["buckets"]["0-300"] == 8253


def test_dd_mm_yyyy_dates():
    old = {d.key: d for d in parse_express_entry(data("ee_rounds_123_en.2023-01-17.raw.json"), URL).draws}
    assert old["237"].date == date(2023, 1, 11)  # published as "11-01-2023"


@pytest.mark.parametrize("text,expected", [
    ("July 3rd 2026 at 21:35:13 UTC", datetime(2026, 7, 3, 21, 35, 13)),
    ("October 18, 2025 at  7:18:52 UTC", datetime(2025, 10, 18, 7, 18, 52)),
    ("March 05, 2025 at 05:10:48", datetime(2025, 3, 5, 5, 10, 48)),
    ("May 26 2025 at 12:28:38 UTC", datetime(2025, 5, 26, 12, 28, 38)),
    ("March 02. 2024 at 14:10:00 UTC", datetime(2024, 3, 2, 14, 10)),
    ("March 02, 2024 at 04:22:17 AM UTC", datetime(2024, 3, 2, 4, 22, 17)),
    ("March 02, 2024 at 04:22:17 PM UTC", datetime(2024, 3, 2, 16, 22, 17)),
    ("January 23, 2025 at 2025-01-23 15:30:04 UTC", datetime(2025, 1, 23, 15, 30, 4)),
    ("May 31, 2024 at12:48:30 UTC", datetime(2024, 5, 31, 12, 48, 30)),
    ("April 26,2023 18:10:04 UTC", datetime(2023, 4, 26, 18, 10, 4)),
    ("June 19, 2023 06:41:05 UTC", datetime(2023, 6, 19, 6, 41, 5)),
    ("March 01, 2023, at 17:24:39 UTC", datetime(2023, 3, 1, 17, 24, 39)),
    ("June 22, 2021 at 20:19:59 PM UTC", datetime(2021, 6, 22, 20, 19, 59)),
])
def test_hand_typed_stamps(text, expected):
    assert parse_round_stamp(text) == expected.replace(tzinfo=timezone.utc)


def test_unreadable_stamp_is_kept_verbatim_and_reported(latest):
    result = parse_express_entry(data("ee_rounds_123_en.2026-04-21.raw.json"), URL)
    d = {x.key: x for x in result.draws}["208"]
    assert d.tiebreak_time is None  # "October 7 at 16:38:21 UTC": no year, not guessed
    assert d.extra["raw"]["drawCutOff"] == "October 7 at 16:38:21 UTC"
    assert "unreadable_drawCutOff" in d.flags
    assert any("round 208" in p and "drawCutOff" in p for p in result.problems)


def test_empty_round_stamp_is_none_not_a_problem(latest):
    assert latest["1"].tiebreak_time is None and "unreadable_drawCutOff" not in latest["1"].flags


def test_malformed_snapshot_is_a_parse_error():
    with pytest.raises(ParseError, match="malformed JSON at line 4"):
        parse_express_entry(data("ee_rounds_123_en.2025-02-19.raw.MALFORMED.json"), URL)


@pytest.mark.parametrize("body,message", [
    (b"", "empty response body"),
    (b"   \n", "empty response body"),
    (data("ee_rounds_123_en.2026-04-21.raw.json")[:50_000], "malformed JSON"),  # truncated transfer
    (b'{"classes": "wb-tables"}', 'no "rounds" list'),
    (b'{"rounds": []}', 'empty "rounds" list'),
    (b"<html><body>Access denied</body></html>", "malformed JSON"),
])
def test_broken_bodies_fail_loudly(body, message):
    with pytest.raises(ParseError, match=message):
        parse_express_entry(body, URL)


# --------------------------------------------------------------------------- total and strict

def _feed_with(changes: dict, number: str = "411") -> bytes:
    """The real 2026-04-21 feed with round ``number``'s values replaced (None: key removed)."""
    doc = json.loads(data("ee_rounds_123_en.2026-04-21.raw.json").decode("utf-8-sig"))
    row = next(r for r in doc["rounds"] if r["drawNumber"] == number)
    for key, value in changes.items():
        if value is None:
            row.pop(key)
        else:
            row[key] = value
    return json.dumps(doc, ensure_ascii=False).encode()


def _round(changes: dict, number: str = "411"):
    result = parse_express_entry(_feed_with(changes, number), URL)
    return {d.key: d for d in result.draws}[number], result.problems


def test_a_json_number_where_the_feed_has_a_string_is_that_number():
    d, problems = _round({"drawCRS": 419, "drawSize": 4000})
    assert (d.score_min, d.invitations) == (419, 4000) and not d.flags


@pytest.mark.parametrize("field,value,attribute", [
    ("drawCRS", [419], "score_min"), ("drawCRS", {"crs": 419}, "score_min"), ("drawCRS", 419.0, "score_min"),
    ("drawCRS", True, "score_min"), ("drawCRS", -419, "score_min"),
    ("drawSize", "4²", "invitations"), ("drawSize", "9" * 5000, "invitations"),
    ("drawSize", "٤٠٠٠", "invitations"), ("drawSize", "４０００", "invitations"),
    ("drawSize", "4,19", "invitations"), ("drawSize", "4 19", "invitations"), ("drawSize", "4,1,9", "invitations"),
    ("drawDateTime", ["April 15, 2026 at 10:43:11 UTC"], "round_time"),
    ("drawDateTime", "April 15, 2026 at 1٠:43:11 UTC", "round_time"),
    ("drawNumberURL", 7, "url"), ("drawText2", {"a": 1}, "programs_covered"),
])
def test_what_does_not_read_is_kept_verbatim_and_flagged(field, value, attribute):
    d, problems = _round({field: value})
    assert getattr(d, attribute) in (None, [])
    assert f"unreadable_{field}" in d.flags
    verbatim = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    assert d.extra["raw"][field] == verbatim
    assert any(f"round 411: {field}=" in p for p in problems)


def test_an_unreadable_distribution_bucket_is_flagged_not_summed():
    d, _ = _round({"dd1": "3²5", "dd18": ["233555"]})
    dist = d.extra["distribution"]
    assert dist["buckets"]["601-1200"] is None and dist["total"] is None
    assert {"unreadable_dd1", "unreadable_dd18"} <= set(d.flags)


def test_a_round_name_of_another_type_is_unreadable_and_unknown():
    d, _ = _round({"drawName": 3})
    assert d.title == "" and d.program == "unknown"
    assert {"unreadable_drawName", "unknown_program"} <= set(d.flags)


@pytest.mark.parametrize("value", ["4,000", "1,000,000", "4000", " 419 ", "0", "419\u00a0"])
def test_numbers_with_thousands_where_thousands_are(value):
    from scraper.sources.express_entry.parse import parse_int

    assert parse_int(value) == int(value.replace(",", "").strip())


@pytest.mark.parametrize("value", ["4,19", "4 19", "4,1,9", "4,0000", "04,000,", "4²", "٤٠٠٠", "４０００",
                                   "4.5", "-5", "9" * 5000, "1234567890", ""])
def test_numbers_that_do_not_read(value):
    from scraper.sources.express_entry.parse import parse_int

    assert parse_int(value) is None


def test_dates_in_other_digits_do_not_read():
    from scraper.sources.express_entry.parse import parse_draw_date

    assert parse_draw_date("2023-01-11") == parse_draw_date("11-01-2023") == date(2023, 1, 11)
    assert parse_draw_date("２０２３-01-11") is None and parse_draw_date("٢٠٢٣-01-11") is None
    assert parse_draw_date("2023-02-30") is None


@pytest.mark.parametrize("value,message", [
    ([411], "no drawNumber"), ({"n": 411}, "no drawNumber"), ("", "no drawNumber"),
    ("٤١١", "not a round number"), ("411 412", "not a round number"), ("91-A", "not a round number"),
])
def test_a_round_nobody_can_name_fails_the_feed(value, message):
    with pytest.raises(ParseError, match=message):
        parse_express_entry(_feed_with({"drawNumber": value}), URL)


def test_a_round_number_typed_as_a_json_number_keeps_its_key():
    result = parse_express_entry(_feed_with({"drawNumber": 411}), URL)
    assert "411" in {d.key for d in result.draws}


def test_json_nested_too_deep_is_a_parse_error():
    with pytest.raises(ParseError, match="nested too deep"):
        parse_express_entry(b'{"rounds": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", URL)


def test_a_feed_of_implausibly_many_rounds_is_refused():
    from scraper.sources.express_entry.parse import MAX_ROUNDS

    body = json.dumps({"rounds": [{"drawNumber": str(i)} for i in range(MAX_ROUNDS + 1)]}).encode()
    with pytest.raises(ParseError, match="rounds, more than"):
        parse_express_entry(body, URL)


def test_a_malformed_link_is_no_link():
    d, _ = _round({"drawNumberURL": "<a href='//[broken'>411</a>"})
    assert d.url is None
