"""IRCC Express Entry rounds feed (``ee_rounds_123_en.json``) -> draw records.

Every value in the feed is a string typed by hand; what cannot be read is kept
verbatim in ``extra["raw"]`` and listed in ``flags`` / ``ParseResult.problems``,
never invented.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from urllib.parse import urljoin

from scraper.parse.text import parse_date
from scraper.records import DrawRecord, ParseError, ParseResult
from store.reference.ee_categories import resolve_round_name

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
    r"^(?P<month>[a-z]+)\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*[.,]?\s*(?P<year>\d{4})"
    r"\s*,?\s*(?:at)?\s*(?:\d{4}-\d{2}-\d{2}\s*)?"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?\s*(?:utc)?$",
    re.IGNORECASE,
)


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
    """ "3,300" -> 3300; None when the value is not a whole number."""
    digits = value.replace(",", "").replace("\u00a0", "").replace(" ", "").strip()
    return int(digits) if digits.isdigit() else None


def parse_draw_date(value: str) -> date | None:
    """``2023-01-11`` or the ``11-01-2023`` (DD-MM-YYYY) some snapshots carry."""
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def programs_covered(text: str) -> list[str]:
    return [slug for words, slug in PROGRAM_WORDS if words.lower() in text.lower()]


def round_link(raw_anchor: str) -> str | None:
    m = _HREF.search(raw_anchor or "")
    if not m:
        return None
    href = m.group(1)
    if href.startswith(_CMS_PREFIX + "/"):
        href = href[len(_CMS_PREFIX):]
    return urljoin(SITE, href)


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
    if not isinstance(doc, dict) or not isinstance(doc.get("rounds"), list):
        raise ParseError('feed has no "rounds" list', url)
    if not doc["rounds"]:
        raise ParseError('feed has an empty "rounds" list', url)
    return doc["rounds"]


def _distribution(row: dict, number: str, problems: list[str]) -> dict:
    counts = {}
    for key in [*DISTRIBUTION_BUCKETS, *SUBTOTALS, "dd18"]:
        raw = row.get(key, "")
        counts[key] = parse_int(raw)
        if counts[key] is None and raw.strip():
            problems.append(f"round {number}: {key}={raw!r} is not a number")
    buckets = {label: counts[k] for k, label in DISTRIBUTION_BUCKETS.items()}
    dist = {
        "as_on": None,
        "buckets": buckets,
        "total": counts["dd18"],
    }
    as_on = parse_date(row.get("drawDistributionAsOn", ""))
    dist["as_on"] = as_on.isoformat() if as_on else None
    if row.get("drawDistributionAsOn", "").strip() and not as_on:
        problems.append(f"round {number}: drawDistributionAsOn={row['drawDistributionAsOn']!r} unreadable")
    # IRCC's subtotals are checked, not stored: a mismatch means a typo in the feed.
    for sub, parts in SUBTOTALS.items():
        if counts[sub] is not None and all(counts[p] is not None for p in parts):
            if counts[sub] != sum(counts[p] for p in parts):
                problems.append(f"round {number}: {sub} subtotal {counts[sub]} != sum of its parts")
    return dist


def parse_round(row: dict, url: str) -> tuple[DrawRecord, list[str]]:
    problems: list[str] = []
    number = str(row.get("drawNumber", "")).strip()
    if not number:
        raise ParseError(f"a round has no drawNumber: {json.dumps(row)[:120]}", url)
    flags: list[str] = []
    raw: dict[str, str] = {}

    def unreadable(field: str, value: str) -> None:
        raw[field] = value
        flags.append(f"unreadable_{field}")
        problems.append(f"round {number}: {field}={value!r} cannot be read; kept verbatim")

    drawn = parse_draw_date(row.get("drawDate", ""))
    if drawn is None:
        drawn = parse_date(row.get("drawDateFull", ""))
        if drawn is None:
            unreadable("drawDate", row.get("drawDate", ""))
    stamps = {}
    for field in ("drawDateTime", "drawCutOff"):
        value = row.get(field, "") or ""
        stamps[field] = parse_round_stamp(value) if value.strip() else None
        if value.strip() and stamps[field] is None:
            unreadable(field, value)

    name = (row.get("drawName") or "").strip()
    category = resolve_round_name(name)
    if not category.known:
        flags.append("unknown_program")
        problems.append(f"round {number}: unknown round name {name!r}; kept as published")

    ints = {}
    for field in ("drawSize", "drawCRS"):
        value = row.get(field, "") or ""
        ints[field] = parse_int(value)
        if ints[field] is None and value.strip():
            unreadable(field, value)

    # The date as typed: IRCC re-types dates in place ("11-01-2023" -> "2023-01-11"), and
    # such an edit is a correction users should be able to see in the draw's revisions.
    extra = {"published_date": row.get("drawDate", ""), "distribution": _distribution(row, number, problems)}
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
        invitations=ints["drawSize"],
        score_min=ints["drawCRS"],
        score_system="crs",
        selection_kind="ita",
        programs_covered=programs_covered(row.get("drawText2", "") or ""),
        url=round_link(row.get("drawNumberURL", "")),
        text=" | ".join(f"{k}: {row[k]}" for k in ("drawName", "drawText2", "drawDateTime", "drawCutOff")
                        if row.get(k)),
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
