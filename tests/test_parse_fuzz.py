"""The parsers on mutations of the real snapshots, and on 2 MB pages of every shape.

Whatever the input, a parser returns a ParseResult or raises ParseError: any other
exception fails the test (hypothesis then shrinks the input that raised it). And a
returned draw says nothing the input did not: each count, score, NOC code, round number
and date it carries is found written in the input. Deterministic (derandomize=True),
so a run here is a run in CI.
"""
from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from scraper.parse import html
from scraper.sources.express_entry.parse import parse_express_entry
from scraper.sources.oinp.parse import parse_oinp_updates
from scraper.sources.oinp.parse import parse_oinp_ledger
from scraper.parse.dates import MONTHS
from scraper.records import ParseError, ParseResult
from tests.big_pages import cases
from tests.md_render import fixture_page, render

DATA = Path(__file__).parent / "data"
EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- what the input says

_NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve"]
_MONTH_WORD = {i: (m, m[:3]) for m, i in MONTHS.items()}


class Said:
    """What an input states, gathered once: every number written in digits (plain,
    zero-padded, with thousands commas), every digit string (for NOC codes), every date
    in the forms the sources use, and the number words."""

    _MONTH = re.compile(r"\b(" + "|".join(sorted({w for pair in _MONTH_WORD.values() for w in pair} | {"sept"},
                                                     key=len, reverse=True))
                        + r")\.?\s+0?([0-9]{1,2})(?![0-9])")      # on the lower-cased text
    _WORDS = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")

    def __init__(self, text: str):
        self.text = text
        runs = re.findall(r"(?<![0-9])[0-9]+(?![0-9])", text)
        self.digits = set(runs)
        self.numbers = {int(r) for r in runs if len(r) < 15}
        self.numbers |= {int(r.replace(",", "")) for r in
                         re.findall(r"(?<![0-9,])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])", text)}
        low = text.lower()
        self.numbers |= {_NUMBER_WORDS.index(w) for w in self._WORDS.findall(low)}
        self.ymd = {(int(y), int(m), int(d)) for y, m, d in re.findall(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", text)}
        self.ymd |= {(int(y), int(m), int(d)) for d, m, y in re.findall(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})", text)}
        months = {w: i for i, pair in _MONTH_WORD.items() for w in pair} | {"sept": 9}
        self.month_days = {(months[w], int(d)) for w, d in self._MONTH.findall(low)}
        self.yesterday = "yesterday" in low

    def states_date(self, day: date) -> bool:
        """As the feed writes dates (2023-01-11, 11-01-2023) or as the pages do ("January
        11[, 2023]", the year often only in the page's address); or the day after so
        written beside "yesterday" (Ontario's "the results of yesterday's round")."""
        def written(d: date) -> bool:
            return (d.year, d.month, d.day) in self.ymd or (d.month, d.day) in self.month_days
        return written(day) or (self.yesterday and written(day + timedelta(days=1)))


def said_in_html(body: bytes) -> Said:
    """The page's text both as bytes decoded and as a browser shows it (entities such as
    ``&#52;`` resolved), so a value can be found in either."""
    text = html.decode(body)
    try:
        root = etree.fromstring(text.encode("utf-8"), etree.HTMLParser(encoding="utf-8", huge_tree=True))
    except (etree.ParserError, ValueError):
        root = None
    shown = " ".join(root.itertext()) if root is not None else ""
    return Said(text + "\n" + shown)


def said_in_json(body: bytes) -> Said:
    text = body.decode("utf-8", "replace")
    try:
        return Said(text + "\n" + json.dumps(json.loads(body.decode("utf-8-sig")), ensure_ascii=False))
    except (ValueError, RecursionError):
        return Said(text)


def check(result, said: Said, ee: bool = False) -> None:
    """Draws only, each fact found in the input."""
    assert isinstance(result, ParseResult)
    for d in result.draws:
        numbers = [d.invitations, d.score_min, d.score_max]
        if ee:
            dist = d.extra["distribution"]
            numbers += [dist["total"], *dist["buckets"].values()]
            assert d.key in said.digits or f'"{d.key}"' in said.text, d.key
        for n in numbers:
            assert n is None or n in said.numbers, (d.key, n)
        for code in d.noc_codes:
            assert code in said.digits, (d.key, code)
        if d.date is not None:
            assert said.states_date(d.date), (d.key, d.date)


def parsed(parser, body: bytes, url: str):
    """The parser's answer: a ParseResult, or None for a ParseError; anything else raises."""
    try:
        return parser(body, url)
    except ParseError:
        return None


# --------------------------------------------------------------------------- mutations

# What a number field or cell could hold instead of its digits.
ODD_NUMBERS = ["4,19", "4 19", "4,1,9", "4²", "٤٠٠٠", "４０００", "4.5", "-5", "1e3", "0x1F", "4,000",
               "4 000", " 419 ", "419\u00a0", "9" * 5000, "1," * 50, "", "N/A", "½", "Ⅳ", "𝟒𝟏𝟗"]
_UNICODE_DIGITS = [str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"), str.maketrans("0123456789", "０１２３４５６７８９"),
                   str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"), str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")]
odd_text = st.one_of(st.sampled_from(ODD_NUMBERS), st.text(max_size=40),
                     st.from_regex(r"[0-9][0-9, .]{0,14}", fullmatch=True))


@st.composite
def edited_bytes(draw, base: bytes, opener: bytes, closer: bytes) -> bytes:
    """``base`` after 1-4 edits: a byte flipped, a slice cut or repeated elsewhere, a run
    of digits retyped (other scripts' digits, odd numbers, random text), every digit of
    a stretch in another script, a stretch wrapped in deep nesting (``opener`` and
    ``closer``: "<div>"/"</div>" or "["/"]")."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "repeat", "digits", "unicode", "unicode-stretch", "nest"]))
        i = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            data[min(i, len(data) - 1)] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[i:i + draw(st.integers(1, 400))]
        elif kind == "repeat":
            piece = bytes(data[i:i + draw(st.integers(1, 400))])
            j = draw(st.integers(0, len(data)))
            data[j:j] = piece * draw(st.integers(1, 3))
        elif kind in ("digits", "unicode"):
            runs = list(re.finditer(rb"[0-9][0-9,]*", bytes(data)))
            if runs:
                m = runs[draw(st.integers(0, len(runs) - 1))]
                old = m.group(0).decode()
                new = (old.translate(draw(st.sampled_from(_UNICODE_DIGITS))) if kind == "unicode"
                       else draw(odd_text))
                data[m.start():m.end()] = new.encode("utf-8")
        elif kind == "unicode-stretch":        # every digit of a stretch, in another script
            j = i + draw(st.integers(1, 20_000))
            stretch = bytes(data[i:j]).decode("utf-8", "surrogateescape")
            data[i:j] = stretch.translate(draw(st.sampled_from(_UNICODE_DIGITS))).encode("utf-8", "surrogateescape")
        elif kind == "nest":
            depth = draw(st.sampled_from([10, 300, 1_000]))
            j = draw(st.integers(i, min(len(data), i + 5_000)))
            data[j:j] = closer * depth * draw(st.sampled_from([0, 1]))
            data[i:i] = opener * depth
    return bytes(data)


# --------------------------------------------------------------------------- Express Entry

@cache
def _rounds() -> list[dict]:
    """Real rounds of the 2026-04-21 feed: the newest 12, and those with quirks (91a/91b,
    208's unreadable cut-off, round 1 with all-zero distribution)."""
    rounds = json.loads((DATA / "ee_rounds_123_en.2026-04-21.raw.json").read_bytes().decode("utf-8-sig"))["rounds"]
    return rounds[:12] + [r for r in rounds if r["drawNumber"] in ("91a", "91b", "208", "1")]


ee_value = st.one_of(odd_text, st.integers(-10, 10**12), st.floats(allow_nan=True), st.booleans(), st.none(),
                     st.lists(st.integers(0, 500), max_size=3), st.dictionaries(st.text(max_size=3), st.text(max_size=3),
                                                                                 max_size=2))


@st.composite
def mutated_feed(draw) -> bytes:
    """The real rounds with keys deleted, duplicated, retyped or given odd values,
    rounds duplicated or dropped; then, sometimes, edited as bytes."""
    rounds = [dict(r) for r in _rounds()]
    keys = sorted(rounds[0])
    for _ in range(draw(st.integers(1, 6))):
        r = rounds[draw(st.integers(0, len(rounds) - 1))]
        kind = draw(st.sampled_from(["delete", "set", "retype", "unicode", "dup-round", "drop-round"]))
        key = draw(st.sampled_from(keys))
        if kind == "delete":
            r.pop(key, None)
        elif kind == "set":
            r[key] = draw(ee_value)
        elif kind == "retype" and isinstance(r.get(key), str) and r[key].replace(",", "").isdigit():
            r[key] = int(r[key].replace(",", ""))        # "drawCRS": 419 where the feed has "419"
        elif kind == "unicode" and isinstance(r.get(key), str):
            r[key] = r[key].translate(draw(st.sampled_from(_UNICODE_DIGITS)))
        elif kind == "dup-round":
            rounds.append(dict(r))
        elif kind == "drop-round" and len(rounds) > 1:
            rounds.remove(r)
    body = json.dumps({"classes": "wb-tables", "rounds": rounds}, ensure_ascii=False).encode()
    if draw(st.booleans()):
        body = draw(edited_bytes(body, b"[", b"]"))
    return body


@FUZZ
@given(mutated_feed())
def test_express_entry_feed_mutations(body):
    result = parsed(parse_express_entry, body, EE_URL)
    if result is not None:
        check(result, said_in_json(body), ee=True)


# --------------------------------------------------------------------------- Ontario

def _cut(body: bytes, tag: bytes, n: int, *, through: bool = False) -> bytes:
    """``body`` up to its ``n``-th ``tag`` (counted from 0): before it, or through it."""
    found = [*re.finditer(re.escape(tag), body)][n]
    return body[:found.end() if through else found.start()]


@cache
def _updates_pages() -> list[tuple[bytes, str]]:
    """Real updates pages cut to their first posts (whole posts): the 2026 page (five-digit
    NOCs, several selections per post) and the 2020 fragment (four-digit NOCs, headings
    without a year, entities)."""
    pages = []
    for name, posts in (("oinp_updates_2026.2026-06-19.md", 10),
                        ("oinp_updates_2020.2020-12-17.drupal-body-fragment.TRUNCATED.html", 4)):
        body, url = fixture_page(DATA / name)
        pages.append((_cut(body, b"<h3", posts), url))
    return pages


@cache
def _ledgers() -> list[tuple[bytes, str]]:
    """Both real ledgers cut to their first tables."""
    out = []
    for name, tables in (("oinp_invitations_apply.2026-06-19.md", 8),
                         ("oinp_express_entry_notifications_interest.2026-06-19.md", 6)):
        body, url = render(DATA / name)
        out.append((_cut(body, b"</table>", tables, through=True), url))
    return out


@st.composite
def mutated_page(draw, pages) -> tuple[bytes, str]:
    body, url = draw(st.sampled_from(pages()))
    return draw(edited_bytes(body, b"<div>", b"</div>")), url


@FUZZ
@given(mutated_page(_updates_pages))
def test_oinp_updates_page_mutations(page):
    body, url = page
    result = parsed(parse_oinp_updates, body, url)
    if result is not None:
        check(result, said_in_html(body))


@FUZZ
@given(mutated_page(_ledgers))
def test_oinp_ledger_mutations(page):
    body, url = page
    result = parsed(parse_oinp_ledger, body, url)
    if result is not None:
        check(result, said_in_html(body))


def test_unmutated_bases_pass_the_same_checks():
    """The checks hold on the real pages as they are (a check that failed there would
    make the fuzzing above meaningless)."""
    for body, url in _updates_pages():
        result = parse_oinp_updates(body, url)
        assert result.draws
        check(result, said_in_html(body))
    for body, url in _ledgers():
        result = parse_oinp_ledger(body, url)
        assert result.draws
        check(result, said_in_html(body))
    body = json.dumps({"rounds": _rounds()}).encode()
    result = parse_express_entry(body, EE_URL)
    assert len(result.draws) == len(_rounds())
    check(result, said_in_json(body), ee=True)


def test_the_checks_catch_an_invented_value():
    """A draw carrying a number, code or date its page does not state fails the check."""
    body, url = _ledgers()[0]
    result = parse_oinp_ledger(body, url)
    said = said_in_html(body)
    d = result.draws[0]
    for field, value in (("invitations", 987_654_321), ("noc_codes", ["98765"]), ("date", date(2001, 2, 3))):
        original = getattr(d, field)
        setattr(d, field, value)
        with pytest.raises(AssertionError):
            check(result, said)
        setattr(d, field, original)


# --------------------------------------------------------------------------- 2 MB pages

LIMIT = 1.0   # seconds of CPU time for any 2 MB page


@pytest.mark.parametrize("case", list(cases()), ids=lambda c: c.name)
def test_two_megabyte_page_parses_in_under_a_second(case):
    """Every shape of big page: read (or refused) in under a second of this process's
    CPU time. CPU time, not wall time: other work on a shared machine slows the clock,
    not the parser. Best of three when the first try is over the bound, for the same
    reason; a parser that is really slow is slow every time. (What the draws say is
    checked by the fuzzing above, on inputs small enough to look at every value.)"""
    body, url = case.build()
    best, outcome = float("inf"), None
    for _ in range(3):
        start = time.process_time()
        try:
            case.parser(body, url)
            outcome = "draws"
        except ParseError:
            outcome = "error"
        best = min(best, time.process_time() - start)
        if best < LIMIT:
            break
    assert case.outcome in (outcome, "either"), f"{case.name}: {outcome}"
    assert best < LIMIT, f"{case.name}: {best:.2f} s"
