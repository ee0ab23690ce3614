"""Pages of about 2 MB in every shape a parser could choke on, built from the real
snapshots: the fuzz test times each one (under a second), bench/parsers.py prints the
figures.

Each case is (name, parser, body, url, outcome): outcome "draws" when the page must
parse to a result, "error" when it must be refused with ParseError, "either" when both
are right answers. Built lazily: a case costs nothing until asked for.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from scraper.sources.express_entry.parse import MAX_ROUNDS, parse_express_entry
from scraper.parse.html import MAX_TAGS
from scraper.sources.oinp.parse import MAX_BLOCK_CHARS, MAX_ENTRIES, MAX_ENTRY_CHARS, parse_oinp_updates
from scraper.sources.oinp.parse import parse_oinp_ledger
from tests.md_render import render

DATA = Path(__file__).parent / "data"
SIZE = 2_000_000
EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
EE_FEED = "ee_rounds_123_en.2026-04-21.raw.json"
UPDATES = "oinp_updates_2026.2026-06-19.md"
LEDGER = "oinp_invitations_apply.2026-06-19.md"


@dataclass(frozen=True)
class Case:
    name: str
    parser: Callable
    build: Callable[[], tuple[bytes, str]]
    outcome: str            # "draws" | "error" | "either"


def _fill(unit: str, size: int | None = None) -> str:
    """``unit`` repeated to ``size`` characters (SIZE, read when called: the bench varies it)."""
    return unit * ((SIZE if size is None else size) // len(unit) + 1)


def _feed() -> dict:
    return json.loads(_read(EE_FEED).decode("utf-8-sig"))


@cache
def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _feed_with(field: str, value) -> tuple[bytes, str]:
    """The real feed with one value of its newest round replaced: 2 MB in all."""
    doc = _feed()
    if isinstance(value, str):
        value = value[:SIZE - len(json.dumps(doc))]
    doc["rounds"][0][field] = value
    return json.dumps(doc, ensure_ascii=False).encode(), EE_URL


def _feed_repeated() -> tuple[bytes, str]:
    doc = _feed()
    rounds, n = [], 0
    size = 0
    while size < SIZE:
        for r in doc["rounds"]:
            n += 1
            copy = dict(r, drawNumber=str(n))
            rounds.append(copy)
            size += len(json.dumps(copy))
    return json.dumps({"classes": "wb-tables", "rounds": rounds}).encode(), EE_URL


def _tiny_rounds(count: int) -> tuple[bytes, str]:
    rounds = [{"drawNumber": str(i), "drawDate": "2024-01-02", "drawName": "Canadian Experience Class",
               "drawSize": "1,000", "drawCRS": "500"} for i in range(1, count + 1)]
    return json.dumps({"rounds": rounds}).encode(), EE_URL


@cache
def _page(name: str) -> tuple[str, str]:
    body, url = render(DATA / name)
    return body.decode("utf-8"), url


def _main_of(page: str) -> tuple[str, str, str]:
    start, end = page.index("<main>") + len("<main>"), page.index("</main>")
    return page[:start], page[start:end], page[end:]


def _repeated(name: str) -> tuple[bytes, str]:
    """The real page's content over and over, to 2 MB."""
    page, url = _page(name)
    head, inner, tail = _main_of(page)
    return (head + inner * (SIZE // len(inner) + 1) + tail).encode(), url


def _entry(inside: str) -> tuple[bytes, str]:
    """One dated entry of the real 2026 page whose paragraph is ``inside``."""
    page, url = _page(UPDATES)
    head, _, tail = _main_of(page)
    entry = "<h2>May</h2><h3>May 29, 2026</h3><h4>Invitations issued</h4>"
    return (head + entry + inside + tail).encode(), url


def _prose() -> str:
    """The real 2026 page's text with its markup removed: sentences Ontario wrote."""
    page, _ = _page(UPDATES)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", page))


_DRAW_POST = ("<p>We issued 5 invitations under the Foreign Worker stream to candidates with a score "
              "of 400-450. Profiles were created between January 1, 2026 and May 1, 2026.</p>")
_NOC_LIST_HEAD = "<p>We issued 5 invitations under the Foreign Worker stream with a score of 57 and above.</p><ul>"
_NOC_ITEM = "<li>NOC 21211 – Data scientists</li>"


def _paragraphs(unit: str) -> list[str]:
    """``unit`` over and over in paragraphs as long as the parser reads, grouped in
    posts as long as it reads, to 2 MB."""
    paragraph = "<p>" + unit * ((MAX_BLOCK_CHARS - 10) // len(unit)) + "</p>"
    per_post = MAX_ENTRY_CHARS // (MAX_BLOCK_CHARS + 1)
    return [paragraph * per_post] * (SIZE // (len(paragraph) * per_post) + 1)


def _posts(posts: list[str], per_day: int = 1) -> tuple[bytes, str]:
    """A page of the real 2026 page's frame holding ``posts``, each with its date and title."""
    page, url = _page(UPDATES)
    head, _, tail = _main_of(page)
    out = ["<h2>May</h2>"]
    for i, post in enumerate(posts):
        out.append(f"<h3>May {1 + i // per_day % 28}, 2026</h3><h4>Invitations issued {i}</h4>{post}")
    return (head + "".join(out) + tail).encode(), url


def _prose_page() -> tuple[bytes, str]:
    """The real page's sentences in paragraphs of real length, in posts of real length, to 2 MB."""
    words = _prose().split(" ")
    paragraphs, cur = [], []
    for w in words * (SIZE // len(" ".join(words)) + 1):
        cur.append(w)
        if len(cur) >= 80:
            paragraphs.append("<p>" + " ".join(cur) + "</p>")
            cur = []
    return _posts(["".join(paragraphs[i:i + 15]) for i in range(0, len(paragraphs), 15)])


def _nested(depth: int) -> tuple[bytes, str]:
    """The real page's content inside ``depth`` nested divs."""
    page, url = _page(UPDATES)
    head, content, tail = _main_of(page)
    return (head + "<div>" * depth + content + "</div>" * depth + tail).encode(), url


def _ledger_rows(row: str) -> tuple[bytes, str]:
    page, url = _page(LEDGER)
    head, _, tail = _main_of(page)
    table = ("<h2>2024</h2><h3>Foreign Worker stream</h3><table><tr><th>Date issued</th>"
             "<th>Number of invitations issued</th><th>Score range</th><th>Notes</th></tr>")
    count = (MAX_TAGS // 2 - 2_000) // max(row.count("<"), 1)
    return (head + table + row * count + "</table>" + tail).encode(), url


def _ledger_one_row(cell: str) -> tuple[bytes, str]:
    page, url = _page(LEDGER)
    head, content, tail = _main_of(page)
    row = ("<h2>2024</h2><h3>Foreign Worker stream</h3><table><tr><th>Date issued</th>"
           "<th>Number of invitations issued</th><th>Score range</th><th>Notes</th></tr>"
           "<tr><td>January 2, 2024</td><td>" + cell + "</td><td>" + cell + "</td><td>" + cell + "</td></tr></table>")
    return (head + content + row + tail).encode(), url


def _ee(name, build, outcome="draws") -> Case:
    return Case("ee/" + name, parse_express_entry, build, outcome)


def _up(name, build, outcome="either") -> Case:
    return Case("updates/" + name, parse_oinp_updates, build, outcome)


def _led(name, build, outcome="draws") -> Case:
    return Case("ledger/" + name, parse_oinp_ledger, build, outcome)


# Runs of what numbers, dates and score phrases are made of, each ~2 MB in one place.
RUNS = {
    "digits": "9",
    "digit-spaces": "9 ",
    "commas": "1,",
    "thousands": "1,000,",
    "unicode-digits": "٤٠٠٠ ４２ ",
    "dates": "January 2, 2024 ",
    "times": "January 2, 2024, 11:59 p.m. ",
    "scores": "score of 400-450 ",
    "score-words": "score of ",
    "counts": "we issued 1,063 invitations ",
    "number-of": "number of invitations ",
    "between": "profiles created between ",
    "held": "held ",
    "nocs": "NOC 21211 – Data scientists ",
    "streams": "Foreign Worker stream ",
    "capitals": "Aa ",
    "words": "a ",
    "lt": "<",
}


def cases() -> Iterator[Case]:
    yield _ee("real-feed-repeated", _feed_repeated)
    yield _ee("huge-array-of-rounds", lambda: (json.dumps({"rounds": [
        {"drawNumber": str(i)} for i in range(SIZE // 25)]}).encode(), EE_URL), "error")
    yield _ee("tiny-rounds-at-the-limit", lambda: _tiny_rounds(MAX_ROUNDS))
    yield _ee("deep-nesting", lambda: (b'{"rounds": ' + b"[" * (SIZE // 2) + b"]" * (SIZE // 2) + b"}", EE_URL), "error")
    for run in ("digits", "commas", "unicode-digits", "dates"):
        yield _ee(f"drawSize-{run}", lambda run=run: _feed_with("drawSize", _fill(RUNS[run])))
    yield _ee("drawName-commas", lambda: _feed_with("drawName", _fill(",") + " Version 1"))
    yield _ee("drawDateTime-dates", lambda: _feed_with("drawDateTime", _fill("January 2, 2024 at ")))
    yield _ee("drawNumberURL-hrefs", lambda: _feed_with("drawNumberURL", _fill("<a href='")))
    yield _ee("huge-list-in-a-field", lambda: _feed_with("drawCRS", list(range(SIZE // 10))))

    yield _up("real-page-repeated", lambda: _repeated(UPDATES))
    yield _up("real-prose-in-paragraphs", _prose_page, "draws")
    for run in ("digits", "words", "lt"):
        yield _up(f"one-paragraph-{run}", lambda run=run: _entry("<p>" + _fill(RUNS[run]) + "</p>"), "error")
    for run, unit in RUNS.items():
        # Each run in paragraphs and posts as long as the parser reads: every pattern
        # meets 2 MB of it, piece by piece.
        yield _up(f"paragraphs-{run}", lambda unit=unit: _posts(_paragraphs(unit)))
    yield _up("one-huge-heading", lambda: _entry("<h4>" + _fill("Invitations issued ") + "</h4>"), "error")
    yield _up("many-posts", lambda: _posts([_DRAW_POST] * (SIZE // len(_DRAW_POST)), 1), "error")
    yield _up("many-posts-at-the-limit", lambda: _posts([_DRAW_POST] * MAX_ENTRIES, 1), "draws")
    yield _up("long-noc-list", lambda: _entry(_NOC_LIST_HEAD + _fill(_NOC_ITEM, SIZE // 2) + "</ul>"), "error")
    # Ten posts, each a NOC list as long as a post may be or the page's tags allow.
    items = min(MAX_ENTRY_CHARS // len("NOC 21211 – Data scientists "), (MAX_TAGS - 10_000) // 20)
    yield _up("long-noc-lists-at-the-limit", lambda: _posts(
        [_NOC_LIST_HEAD + _NOC_ITEM * items + "</ul>"] * 10, 1), "draws")
    yield _up("nested-deeper-than-libxml2-reads", lambda: _nested(1_000), "error")
    yield _up("nested-250-deep", lambda: _nested(250), "draws")
    yield _up("tiny-elements", lambda: _entry(_fill("<b>a</b>")), "error")
    yield _up("tiny-paragraphs-at-the-limit", lambda: _entry("<p>a</p>" * (MAX_TAGS // 2 - 5_000)), "draws")

    yield _led("real-ledger-repeated", lambda: _repeated(LEDGER), "either")
    yield _led("many-rows-at-the-limit", lambda: _ledger_rows(
        "<tr><td>January 2, 2024</td><td>5</td><td>400-450</td><td>Targeted draw</td></tr>"))
    for run in ("digits", "commas", "dates", "words", "unicode-digits"):
        yield _led(f"one-huge-cell-{run}", lambda run=run: _ledger_one_row(_fill(RUNS[run], SIZE // 3)))
