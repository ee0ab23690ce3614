"""Dates, clock times and profile-creation windows as government pages write them:
"April 05, 2019", "March 3 2021", "September 19. 2023", "December 17" (no year),
"11:59 p.m.", "between X and Y", "by <date>, 11:59 p.m.". Pure, on plain strings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from scraper.parse.text import DIGIT, MAX_PER_TEXT, Caseless, too_many

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}
_MONTH_ABBR = {m[:3]: i for m, i in MONTHS.items()} | {"sept": 9}
_MONTH_WORD = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"

# "January 2, 2024", "April 05, 2019", "March 3 2021", "September 19. 2023",
# "June 1,2021", "December 17" (year optional: the caller knows the page's year).
_DATE = (r"\b(?P<month>" + _MONTH_WORD + r")\s+(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?\b"
         r"(?:\s*[,.]?\s*(?P<year>(?:19|20)[0-9]{2})\b)?")
# ASCII: Unicode case folding would read "ſeptember" (long s) as September.
DATE_RE = re.compile(_DATE, re.IGNORECASE | re.ASCII)
_DATES = Caseless(_DATE, re.ASCII)
# A clock time right after a date: "11:59 p.m.", "10:25 a.m. EST", "2:15PM", "12:28 p.m EST"
_TIME_RE = re.compile(
    r"\s*,?\s*(?:at\s*)?(?P<h>[0-9]{1,2})(?:[:.](?P<m>[0-9]{2}))?\s*(?P<ampm>[ap])\.?\s*m\b\.?",
    re.IGNORECASE | re.ASCII,
)

EASTERN = ZoneInfo("America/Toronto")

def _month(word: str) -> int:
    word = word.lower().rstrip(".")
    return MONTHS.get(word) or _MONTH_ABBR[word[:4] if word.startswith("sept") else word[:3]]


@dataclass(frozen=True)
class DateMatch:
    start: int
    end: int
    month: int
    day: int
    year: int | None

    def to_date(self, year: int | None = None) -> date | None:
        """The date, taking ``year`` when the text had none; None if impossible."""
        y = self.year or year
        if y is None:
            return None
        try:
            return date(y, self.month, self.day)
        except ValueError:
            return None


def _date_matches(text: str):
    if not DIGIT.search(text):     # cheap, and most prose has no date
        return
    for m in _DATES.finditer(text):
        year = int(m.group("year")) if m.group("year") else None
        yield DateMatch(m.start(), m.end(), _month(m.group("month")), int(m.group("day")), year)


def find_dates(text: str) -> list[DateMatch]:
    """Every "Month D[, YYYY]" in ``text``, in order."""
    out = []
    for dm in _date_matches(text):
        if len(out) == MAX_PER_TEXT:
            raise too_many("dates", text)
        out.append(dm)
    return out


def parse_date(text: str, year: int | None = None) -> date | None:
    """The first date in ``text`` ("January 2, 2024"; "December 17" with ``year``);
    None when none of its first few date-like phrases is a real date."""
    for i, m in enumerate(_date_matches(text)):
        d = m.to_date(year)
        if d or i == MAX_PER_TEXT:
            return d
    return None


def leading_date(text: str, year: int | None = None) -> tuple[date, str] | None:
    """(date, rest) when ``text`` starts with a date, as Ontario's date headings do
    ("May 30, 2016 Important notification: ...")."""
    m = DATE_RE.match(text.strip())
    if not m:
        return None
    d = find_dates(m.group(0))[0].to_date(year)
    if d is None:
        return None
    return d, text.strip()[m.end():].strip(" ,.:–-")


def time_after(text: str, pos: int) -> time | None:
    """A clock time ("11:59 p.m.", "2:15PM") starting at ``pos``, if any."""
    m = _TIME_RE.match(text, pos)     # at pos, without copying the rest of the text
    if not m:
        return None
    hour, minute = int(m.group("h")), int(m.group("m") or 0)
    if not (1 <= hour <= 12 and minute < 60):
        return None
    if m.group("ampm").lower() == "p" and hour != 12:
        hour += 12
    elif m.group("ampm").lower() == "a" and hour == 12:
        hour = 0
    return time(hour, minute)


def eastern_to_utc(day: date, at: time) -> datetime:
    """Ontario wall-clock time -> naive UTC (the store keeps every datetime in UTC)."""
    local = datetime.combine(day, at, tzinfo=EASTERN)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


# Ontario states profile windows in dates, or "by <date>, 11:59 p.m.": a date alone
# means the whole day, so a window ends at 11:59 p.m. that day, as Ontario writes it.
DAY_START = time(0, 0)
DAY_END = time(23, 59)


@dataclass(frozen=True)
class Window:
    start: datetime | None   # naive UTC
    end: datetime | None     # naive UTC
    text: str


_BETWEEN = re.compile(r"\bbetween\b", re.IGNORECASE)
_AND = re.compile(r"\band\b", re.IGNORECASE)
_BY = re.compile(r"\b(?:by|before|on or before)\b(?P<b>.*)", re.IGNORECASE)


def _between(sentence: str) -> tuple[str, int, str, int] | None:
    """(a, start of a, b, start of b) for "between <a> and <b>": the first "between"
    and the first "and" after it. Two searches, where one regex with a lazy gap
    would rescan the rest of the text from every "between" that has no "and"."""
    m = _BETWEEN.search(sentence)
    if not m:
        return None
    n = _AND.search(sentence, m.end())
    if not n:
        return None
    return sentence[m.end():n.start()], m.end(), sentence[n.end():], n.end()


def _window_end(dm: DateMatch, text: str, year: int | None) -> datetime | None:
    d = dm.to_date(year)
    if d is None:
        return None
    return eastern_to_utc(d, time_after(text, dm.end) or DAY_END)


def _window_start(dm: DateMatch, text: str, year: int | None) -> datetime | None:
    d = dm.to_date(year)
    if d is None:
        return None
    return eastern_to_utc(d, time_after(text, dm.end) or DAY_START)


def date_range(text: str, year: int | None = None) -> tuple[date | None, date | None]:
    """(first, last) of "September 19, 2023 – September 19, 2024", "January 1 to
    November 26, 2018" (the first takes the last's year), "April 28, 2021-October 20, 2021"."""
    dates = find_dates(text)
    if not dates:
        return None, None
    last = dates[-1]
    end_year = last.year or year
    if len(dates) == 1:
        return None, last.to_date(year)
    first = dates[0]
    start = first.to_date(end_year)
    if start and first.year is None and end_year and (first.month, first.day) > (last.month, last.day):
        start = first.to_date(end_year - 1)   # "December 15 – January 15, 2021"
    return start, last.to_date(end_year)


# The gaps are bounded: unbounded, each "profiles" without "created" after it would
# rescan the rest of the sentence (quadratic in a long one).
_WINDOW_SENTENCE = Caseless(
    r"(?:profiles?|expressions? of interest|eois?)\b[^.]{0,400}?\b(?:created|submitted|registered|received|scored)\b"
    r"|\b(?:created|submitted|registered)\b[^.]{0,400}?\b(?:profiles?|expressions? of interest|eois?)\b"
    r"|\bdate express entry profile submitted\b")


def find_window(sentence: str, year: int | None = None, low: str | None = None) -> Window | None:
    """The profile-creation window a sentence states, if it states one.

    "profiles ... created between X and Y" gives both ends; "created and attested to by
    April 28, 2026, 11:59 p.m." gives the end only; "Date Express Entry profile
    submitted: January 1, 2018 to March 26, 2018" gives both.
    """
    low = sentence.lower() if low is None else low      # ``low``: the caller's sentence.lower()
    # Every match names profiles (expressions of interest, EOIs) and how they came to be.
    if ("created" not in low and "submitted" not in low and "registered" not in low
            and "received" not in low and "scored" not in low) or (
            "profile" not in low and "expression" not in low and "eoi" not in low):
        return None
    found = _WINDOW_SENTENCE.search(sentence, low=low)
    if not found:
        return None
    # "Date and time of portal search: November 26, 2018 ... Date Express Entry profile
    # submitted: January 1, 2018 to November 26, 2018": only what follows counts.
    sentence = sentence[found.start():]
    between = _between(sentence)
    if between:
        text_a, off_a, text_b, off_b = between
        a, b = find_dates(text_a), find_dates(text_b)
        if b:
            end_dm = b[0]
            end = _window_end(end_dm, text_b, year)
            start = None
            if a:
                start = _window_start(a[0], text_a, end_dm.year or year)
            return Window(start, end, sentence)
    m = _BY.search(sentence)
    if m:
        b = find_dates(m.group("b"))
        if b:
            return Window(None, _window_end(b[0], m.group("b"), year), sentence)
    dates = find_dates(sentence)
    if len(dates) >= 2:
        tail = sentence[dates[0].start:]
        start_d, end_d = date_range(tail, year)
        end_dm = dates[-1]
        end = _window_end(end_dm, sentence, end_dm.year or year) if end_d else None
        start = eastern_to_utc(start_d, DAY_START) if start_d else None
        return Window(start, end, sentence)
    return None


def window_from_range(text: str, year: int | None = None) -> Window | None:
    """A table cell holding a window ("July 2, 2025 – April 28, 2026")."""
    start, end = date_range(text, year)
    if start is None and end is None:
        return None
    return Window(
        eastern_to_utc(start, DAY_START) if start else None,
        eastern_to_utc(end, DAY_END) if end else None,
        text,
    )
