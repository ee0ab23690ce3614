"""IRCC Express Entry rounds feed (``ee_rounds_123_en.json``) -> draw records.

Every value in the feed is a string typed by hand; what cannot be read is kept
verbatim in ``extra["raw"]`` and listed in ``flags`` / ``ParseResult.problems``,
never invented. Any other JSON type where a string belongs (a list, an object, a
float) is unreadable in the same way; a plain JSON integer in a numeric field is read
as the number it is. Whatever the body, the parser returns a result or raises
ParseError.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from urllib.parse import urljoin

from scraper.parse.dates import parse_date
from scraper.parse.numbers import INT, to_int
from scraper.records import DrawRecord, ParseError, ParseResult
from scraper.sources.express_entry.categories import UNKNOWN, resolve_round_name

SOURCE = "express_entry"

# drawText2 names programs in two spellings ("Federal Skilled Worker" / "... Program").
PROGRAM_WORDS = (
    ("Federal Skilled Worker", "fsw"),
    ("Canadian Experience Class", "cec"),
    ("Federal Skilled Trades", "fst"),
    ("Provincial Nominee Program", "pnp"),
)

# dd3 and dd9 are subtotals of dd4-dd8 and dd10-dd14; dd18 is the total. Only the
# leaf buckets are stored, so nothing downstream can add a subtotal twice.
DISTRIBUTION_BUCKETS = {
    "dd1": "601-1200", "dd2": "501-600",
    "dd4": "491-500", "dd5": "481-490", "dd6": "471-480", "dd7": "461-470", "dd8": "451-460",
    "dd10": "441-450", "dd11": "431-440", "dd12": "421-430", "dd13": "411-420", "dd14": "401-410",
    "dd15": "351-400", "dd16": "301-350", "dd17": "0-300",
}
SUBTOTALS = {"dd3": ("dd4", "dd5", "dd6", "dd7", "dd8"), "dd9": ("dd10", "dd11", "dd12", "dd13", "dd14")}

# The feed's links are paths on IRCC's site (whatever mirror served the feed), and
# sometimes leak the CMS-internal prefix.
SITE = "https://www.canada.ca"
_CMS_PREFIX = "/content/canadasite"
_HREF = re.compile(r"""href\s*=\s*['"]([^'"]+)['"]""")

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}
# "July 3rd 2026 at 21:35:13 UTC", "March 02. 2024 at ...", "April 26,2023 18:10:04 UTC",
# "May 31, 2024 at12:48:30 UTC", "January 23, 2025 at 2025-01-23 15:30:04 UTC", "04:22:17 AM",
# "March 01, 2023, at 17:24:39 UTC"
_STAMP = re.compile(
    r"^(?P<month>[a-z]+)\s*(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?\s*[.,]?\s*(?P<year>[0-9]{4})"
    r"\s*,?\s*(?:at)?\s*(?:[0-9]{4}-[0-9]{2}-[0-9]{2}\s*)?"
    r"(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?\s*(?P<ampm>[ap]\.?m\.?)?\s*(?:utc)?$",
    re.IGNORECASE | re.ASCII,
)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DMY_DATE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")
# drawNumber: digits with an optional letter ("91a", "91b"): anything else would be a
# key nobody can recognise, so it fails the feed rather than invent a new round.
_DRAW_NUMBER = re.compile(r"[0-9]{1,6}[a-z]?")
_NUMBER = re.compile(INT)
# A feed holding more rounds than this is not IRCC's (412 rounds in 11 years): refused
# before any work per round, so a huge array costs a JSON decode and nothing more.
MAX_ROUNDS = 5_000
MAX_NAME = 500      # characters of a round name (the longest real one has 60)
NUMERIC = ("drawSize", "drawCRS", *DISTRIBUTION_BUCKETS, *SUBTOTALS, "dd18")


def parse_round_stamp(value: str) -> datetime | None:
    """A hand-typed "Month D, YYYY at HH:MM:SS UTC" as an aware UTC datetime, or None."""
    text = " ".join(value.split()).strip()
    m = _STAMP.match(text)
    if not m or m["month"].lower() not in _MONTHS:
        return None
    hour = int(m["h"])
    # "20:19:59 PM" and "15:48:39 AM" occur: a 24-hour time with a stray marker is
    # still unambiguous, so the marker only counts on 12-hour times.
    if m["ampm"] and hour <= 12:
        hour = hour % 12 + (12 if m["ampm"].lower().startswith("p") else 0)
    try:
        return datetime(int(m["year"]), _MONTHS[m["month"].lower()], int(m["day"]),
                        hour, int(m["m"]), int(m["s"] or 0), tzinfo=timezone.utc)
    except ValueError:
        return None


def parse_int(value: str) -> int | None:
    """ "3,300" -> 3300; None when the value is not one whole number written with ASCII
    digits and commas between thousands ("4,19", "4 19", "4²", "٤٠٠٠" are not)."""
    value = value.strip()
    if len(value) <= 9 and value.isascii() and value.isdigit():     # most values: "0", "419"
        return int(value)
    m = _NUMBER.fullmatch(value)
    return to_int(m.group(1)) if m else None


def parse_draw_date(value: str) -> date | None:
    """``2023-01-11`` or the ``11-01-2023`` (DD-MM-YYYY) some snapshots carry."""
    value = value.strip()
    # strptime would take "２０２３" too: the ASCII patterns decide, date() validates.
    if m := _ISO_DATE.fullmatch(value):
        y, mo, d = m.groups()
    elif m := _DMY_DATE.fullmatch(value):
        d, mo, y = m.groups()
    else:
        return None
    try:
        return date(int(y), int(mo), int(d))
    except ValueError:
        return None


def programs_covered(text: str) -> list[str]:
    text = text.lower()
    return [slug for words, slug in PROGRAM_WORDS if words.lower() in text]


def round_link(raw_anchor: str) -> str | None:
    m = _HREF.search(raw_anchor or "")
    if not m:
        return None
    href = m.group(1)
    if href.startswith(_CMS_PREFIX + "/"):
        href = href[len(_CMS_PREFIX):]
    if href.startswith("/") and not href.startswith("//") and "/." not in href:
        return SITE + href      # what urljoin gives for a plain path, at a fraction of its cost
    try:
        return urljoin(SITE, href)
    except ValueError:          # "//[x": urllib refuses a malformed IPv6 host
        return None


def load_rounds(body: bytes, url: str) -> list[dict]:
    """The feed's ``rounds`` list; anything else is a ParseError naming what is wrong."""
    if not body or not body.strip():
        raise ParseError("empty response body", url)
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"feed is not UTF-8: {exc}", url) from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", url) from exc
    except RecursionError as exc:
        # json's decoder recurses per level of nesting and gives up with this.
        raise ParseError("JSON nested too deep to be the rounds feed", url) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rounds"), list):
        raise ParseError('feed has no "rounds" list', url)
    if not doc["rounds"]:
        raise ParseError('feed has an empty "rounds" list', url)
    if len(doc["rounds"]) > MAX_ROUNDS:
        raise ParseError(f'feed has {len(doc["rounds"]):,} rounds, more than the {MAX_ROUNDS:,} '
                         "a real feed could hold", url)
    return doc["rounds"]


def _verbatim(value) -> str:
    """A value as the feed typed it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def draw_number(row: dict, url: str) -> str:
    """The round's key, or ParseError: a round nobody can name cannot be stored."""
    value = row.get("drawNumber")
    if type(value) is int and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"a round has no drawNumber: {json.dumps(row)[:120]}", url)
    if not _DRAW_NUMBER.fullmatch(value.strip()):
        raise ParseError(f"a round has drawNumber {value[:40]!r}, not a round number", url)
    return value.strip()


def _distribution(counts: dict[str, int | None], as_on_text: str, number: str, problems: list[str]) -> dict:
    buckets = {label: counts[k] for k, label in DISTRIBUTION_BUCKETS.items()}
    dist = {
        "as_on": None,
        "buckets": buckets,
        "total": counts["dd18"],
    }
    as_on = parse_date(as_on_text)
    dist["as_on"] = as_on.isoformat() if as_on else None
    if as_on_text.strip() and not as_on:
        problems.append(f"round {number}: drawDistributionAsOn={as_on_text!r} unreadable")
    # IRCC's subtotals are checked, not stored: a mismatch means a typo in the feed.
    for sub, parts in SUBTOTALS.items():
        if counts[sub] is not None and all(counts[p] is not None for p in parts):
            if counts[sub] != sum(counts[p] for p in parts):
                problems.append(f"round {number}: {sub} subtotal {counts[sub]} != sum of its parts")
    return dist


def parse_round(row: dict, url: str) -> tuple[DrawRecord, list[str]]:
    problems: list[str] = []
    number = draw_number(row, url)
    flags: list[str] = []
    raw: dict[str, str] = {}

    def unreadable(field: str, value) -> None:
        if field in raw:        # a non-string already reported by string_of
            return
        raw[field] = _verbatim(value)
        flags.append(f"unreadable_{field}")
        problems.append(f"round {number}: {field}={raw[field][:200]!r} cannot be read; kept verbatim")

    def string_of(field: str) -> str:
        """The field's string; "" when absent or null; any other type is unreadable."""
        value = row.get(field)
        if value is None or isinstance(value, str):
            return value or ""
        unreadable(field, value)
        return ""

    published_date = string_of("drawDate")
    drawn = parse_draw_date(published_date)
    if drawn is None:
        drawn = parse_date(string_of("drawDateFull"))
        if drawn is None:
            unreadable("drawDate", published_date)
    stamps = {}
    for field in ("drawDateTime", "drawCutOff"):
        value = string_of(field)
        stamps[field] = parse_round_stamp(value) if value.strip() else None
        if value.strip() and stamps[field] is None:
            unreadable(field, value)

    name = string_of("drawName").strip()
    # A "name" of thousands of characters names no category: not worth the lookup.
    category = resolve_round_name(name) if len(name) <= MAX_NAME else UNKNOWN
    if not category.known:
        flags.append("unknown_program")
        problems.append(f"round {number}: unknown round name {name[:200]!r}; kept as published")

    counts: dict[str, int | None] = {}
    for field in NUMERIC:
        value = row.get(field)
        if type(value) is str:
            n = parse_int(value)
            if n is None and value.strip():
                unreadable(field, value)
        elif type(value) is int and 0 <= value < 10**9:     # a JSON number (not a bool, not a float)
            n = value
        else:
            n = None
            if value is not None:
                unreadable(field, value)
        counts[field] = n
    covered = programs_covered(string_of("drawText2"))
    link = round_link(string_of("drawNumberURL"))
    # The date as typed: IRCC re-types dates in place ("11-01-2023" -> "2023-01-11"), and
    # such an edit is a correction users should be able to see in the draw's revisions.
    extra = {"published_date": published_date,
             "distribution": _distribution(counts, string_of("drawDistributionAsOn"), number, problems)}
    if category.language_rule:
        extra["language_rule"] = category.language_rule
    if raw:
        extra["raw"] = raw
    record = DrawRecord(
        source=SOURCE,
        key=number,
        date=drawn,
        title=name,
        program=category.slug,
        category_version=category.version_label,
        round_time=stamps["drawDateTime"],
        tiebreak_time=stamps["drawCutOff"],
        invitations=counts["drawSize"],
        score_min=counts["drawCRS"],
        score_system="crs",
        selection_kind="ita",
        programs_covered=covered,
        url=link,
        text=" | ".join(f"{k}: {row[k]}" for k in ("drawName", "drawText2", "drawDateTime", "drawCutOff")
                        if row.get(k) and isinstance(row[k], str)),
        extra=extra,
        flags=flags,
    )
    return record, problems


def parse_express_entry(body: bytes, url: str) -> ParseResult:
    result = ParseResult()
    seen: set[str] = set()
    for row in load_rounds(body, url):
        if not isinstance(row, dict):
            raise ParseError(f"a round is not an object: {row!r:.80}", url)
        record, problems = parse_round(row, url)
        if record.key in seen:
            raise ParseError(f"round {record.key} appears twice in the feed", url)
        seen.add(record.key)
        result.draws.append(record)
        result.problems.extend(problems)
    return result
