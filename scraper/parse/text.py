"""Text helpers shared by the HTML parsers: whitespace, dates, score phrases, NOC lines.

Government pages are typed by hand: non-breaking spaces, en dashes, "April 05, 2019",
"March 3 2021", "September 19. 2023", "December 17" (no year), "405-435", "441-433"
(reversed), "48 and above", "N/A". Everything here is pure and works on plain strings.

Numbers are read strictly: ASCII digits only (``int()`` and a regex digit class also
take "٤" and "４"), commas only between groups of three, and never a part of a longer run of digits;
what does not read that way is not a number here. Every pattern runs in time linear in
its text (no unbounded gap between two parts that can both occur many times).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from scraper.records import ParseError

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}
_MONTH_ABBR = {m[:3]: i for m, i in MONTHS.items()} | {"sept": 9}
_MONTH_WORD = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"



class Caseless:
    """A case-blind pattern, run as a case-sensitive one on the lower-cased text when
    that keeps every position (lower-casing rarely changes a text's length: "İ"): Python's
    re skips ahead to where a match can start only without IGNORECASE, several times
    faster on long texts. Match positions are the text's; groups hold lower-cased text."""

    def __init__(self, pattern: str, flags: int = 0):
        self.blind = re.compile(pattern, flags | re.IGNORECASE)
        self._low = re.compile(pattern, flags)

    def _on(self, text: str, low: str | None) -> tuple[re.Pattern, str]:
        low = text.lower() if low is None else low
        return (self._low, low) if len(low) == len(text) else (self.blind, text)

    def search(self, text: str, pos: int = 0, low: str | None = None) -> re.Match | None:
        pattern, target = self._on(text, low)
        return pattern.search(target, pos)

    def finditer(self, text: str, low: str | None = None):
        pattern, target = self._on(text, low)
        return pattern.finditer(target)


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

_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
# Once spaces are collapsed, a space before punctuation or after a bracket is exactly
# " ," or "( ": plain replacements, much cheaper than a regex with a group per call.
_NO_SPACE = [(" " + c, c) for c in ",.;:)]%"] + [(c + " ", c) for c in "(["]


def _is_tight(text: str) -> bool:
    """No double space, no space before punctuation or after a bracket: substring tests,
    several times faster than one regex search for any of them."""
    return " " not in text or (
        "  " not in text and " ," not in text and " ." not in text and " ;" not in text
        and " :" not in text and " )" not in text and " ]" not in text and " %" not in text
        and "( " not in text and "[ " not in text)
# A digit: without one, a text holds no date, count, score or NOC code.
DIGIT = re.compile(r"[0-9]")

# Dates, scores or counts one sentence (or cell) may state: the real ones state four at
# most. Past this a text is not prose a person wrote, and reading every one of
# thousands of matches would be the slowest part of parsing a page.
MAX_PER_TEXT = 50


def _too_many(what: str, text: str) -> ParseError:
    return ParseError(f"one sentence states more than {MAX_PER_TEXT} {what} ({text[:60]!r}...)")


def clean(text: str) -> str:
    """One line of readable text: every kind of space collapsed, no space before
    punctuation or inside brackets (ontario.ca renders ``<abbr>`` as "( NOC )")."""
    # Text read back in (the parsers clean each block, then ask about it) is usually
    # clean already: isprintable() is False for every space but " " and for controls,
    # so this test is exact, and cheaper than the substitutions.
    if text.isprintable() and text[:1] != " " and text[-1:] != " " and _is_tight(text):
        return text
    text = _SPACES.sub(" ", text).strip()
    if " " in text:
        for spaced, tight in _NO_SPACE:
            if spaced in text:
                text = text.replace(spaced, tight)
    return text


def slug(text: str, limit: int = 60) -> str:
    """Lower-case ASCII words joined by "-", for keys built from headings."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("’", "").replace("'", ""))
    out = "-".join(words)
    return out[:limit].rstrip("-")


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
            raise _too_many("dates", text)
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


@dataclass(frozen=True)
class Score:
    start: int
    end: int
    low: int
    high: int | None   # None: "N and above" / "minimum score was N"
    text: str


# A number is never read out of a longer one: not after a digit, a comma or a point, nor
# after "<digit> " ("4 19"); not before a digit, nor before a comma, point or space that
# is followed by one ("4,19", "4.5", "4 000"). The lookarounds use Unicode digits so that
# "٣5" is not read as 5 either. A comma only groups thousands: "4,000" yes, "4,1,9" no.
_BEFORE = r"(?<![\d,.])(?<!\d )"
_AFTER = r"(?!\d|[,. ]\d)"
_INT_BODY = r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,9}"     # at most nine digits
INT = _BEFORE + "(" + _INT_BODY + ")" + _AFTER
_NUM = r"\*{0,2}" + _BEFORE + r"([0-9]{1,4})" + _AFTER + r"\*{0,2}"   # a score: 1-4 digits


def to_int(digits: str) -> int:
    """The value of text :data:`INT` matched ("1,063" -> 1063)."""
    return int(digits.replace(",", ""))
_SCORE_PATTERNS = (
    # "score of 405-435", "score between 455 and 467", "CRS score range: 350-448",
    # "Comprehensive Ranking Score (CRS) between 410 and 479", "a CRS between 358 – 439",
    # "score of between 147 and 174", "score range: 444 to 433"
    Caseless(
        r"\b(?:scores?|crs\)?)\s*(?:range\s*:?|of between|of|between|ranging from|from)?\s*"
        + _NUM + r"\s*(?:-|–|—|\bto\b|\band\b)\s*" + _NUM + r"(?!\s*(?:and|or)\s+(?:above|higher))"),
    # "score of 48 and above", "score 77 and above", "score of 67 or above"
    Caseless(r"\bscores?\s*(?:of\s*)?" + _NUM + r"\s*(?:and|or)\s+(?:above|higher|more)\b"),
    # "The minimum score was 112."
    Caseless(r"\bminimum score (?:was|of)\s*" + _NUM),
)


# "..., and 80 and above under the International Student stream": a bare cut-off,
# read only in a sentence that already states a score.
_BARE_ABOVE = Caseless(r"(?<![\w,.])" + _NUM + r"\s*(?:and|or)\s+(?:above|higher)\b")


def find_scores(text: str, low: str | None = None) -> list[Score]:
    """Every score cut-off a sentence states, in order, without overlaps. ``low``: the
    caller's ``text.lower()``, when it has it."""
    found: list[Score] = []
    low = text.lower() if low is None else low
    # Every match holds "score" or "crs", and a digit: cheap to test first.
    if ("score" not in low and "crs" not in low) or not DIGIT.search(text):
        return found
    for pattern in _SCORE_PATTERNS + (_BARE_ABOVE,):
        if pattern is _BARE_ABOVE and not found:
            break           # a bare "80 and above" counts only beside a stated score
        # Earlier patterns win overlaps. ``found`` is sorted and free of overlaps, and
        # finditer goes left to right, so one pointer walk checks each new match.
        kept, i = [], 0
        for m in pattern.finditer(text, low=low):
            if len(found) + len(kept) == MAX_PER_TEXT:
                raise _too_many("scores", text)
            while i < len(found) and found[i].end <= m.start():
                i += 1
            if i < len(found) and found[i].start < m.end():
                continue
            nums = [int(g) for g in m.groups() if g is not None]
            low_score, high = (min(nums), max(nums)) if len(nums) == 2 else (nums[0], None)
            kept.append(Score(m.start(), m.end(), low_score, high, text[m.start():m.end()]))
        found = sorted(found + kept, key=lambda s: s.start)
    return found


_CELL_RANGE = re.compile(r"^\s*([0-9]{1,4})\s*(?:-|–|—|to)\s*([0-9]{1,4})\s*$", re.IGNORECASE)
_CELL_ABOVE = re.compile(r"^\s*([0-9]{1,4})\s*(?:and|or)\s+(?:above|higher|more)\s*$", re.IGNORECASE)
_CELL_ONE = re.compile(r"^\s*([0-9]{1,4})\s*$")
# What a table shows for "no value": read as nothing, and not reported as unreadable.
_PLACEHOLDER = re.compile(r"^\s*(?:n/?a|-|–|—|none|nil|tbd)?\s*$", re.IGNORECASE)


def is_placeholder(text: str) -> bool:
    """True for an empty cell or one saying "no value" ("N/A", "–")."""
    return bool(_PLACEHOLDER.match(text))


def parse_score_cell(text: str) -> tuple[int, int | None] | None:
    """A table cell: "405-435", "471–480", "473 - 480", "137 to 162", "496 and above";
    None for "N/A" or anything else. Reversed ranges ("441-433") are put in order."""
    t = clean(text).replace("*", "")
    m = _CELL_RANGE.match(t)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        return min(a, b), max(a, b)
    m = _CELL_ABOVE.match(t)
    if m:
        return int(m.group(1)), None
    m = _CELL_ONE.match(t)
    if m:
        return int(m.group(1)), int(m.group(1))
    return None


_COUNT_CELL = re.compile(r"^" + INT + r"\s*\**$")


def parse_count(text: str) -> int | None:
    """A table cell holding a count as published: "1,424", "2084", "371*" (a footnote
    mark); None for anything else ("4,19", "about 400", "٤٠٠")."""
    m = _COUNT_CELL.match(clean(text))
    return to_int(m.group(1)) if m else None


_NUMBER_WORDS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "eleven", "twelve"])}


def _first_letter_first(words) -> str:
    """``\b(?:one|two|...)`` written so that each branch starts with its letter ("o" then
    "is it a word start?" then "ne"): Python's re can then skip to the positions holding
    one of those letters instead of trying every branch at every position."""
    by_letter: dict[str, list[str]] = {}
    for w in words:
        by_letter.setdefault(w[0], []).append(w[1:])
    return "(?:" + "|".join(f"{c}(?<!\\w{c})(?:{'|'.join(rest)})" for c, rest in by_letter.items()) + ")"


# An INT, written digit-first for the same reason (the lookbehinds follow the first digit).
_INT_DIGIT_FIRST = r"[0-9](?<![\d,.][0-9])(?<!\d [0-9])(?:[0-9]{0,2}(?:,[0-9]{3})+|[0-9]{0,8})" + _AFTER
_ISSUED_COUNT_PATTERN = (
    r"(?P<n>" + _INT_DIGIT_FIRST + "|" + _first_letter_first(_NUMBER_WORDS) + r")\s+"
    r"(?:additional\s+)?(?:targeted\s+)?(?:invitations?|notifications?|nois?|itas?)\b")
_ISSUED_COUNT = Caseless(_ISSUED_COUNT_PATTERN)
# The gap to the colon is bounded: unbounded, every "number of invitations" without a
# colon after it would rescan the rest of the text.
_NUMBER_ISSUED = Caseless(r"\bnumber of (?:invitations|notifications|nois|itas)[^:]{0,60}:\s*" + INT)


@dataclass(frozen=True)
class Count:
    start: int
    end: int
    value: int


def find_counts(text: str, low: str | None = None) -> list[Count]:
    """Invitation counts a sentence states ("we issued 1,063 invitations", "has issued
    15 Invitations to Apply", "issued four targeted invitations", "Number of invitations
    issued: 480"). Callers apply it to sentences that report an issuance."""
    out: list[Count] = []
    low = text.lower() if low is None else low
    # Every match names invitations, notifications, NOIs or ITAs: cheap to test first.
    if "invitation" not in low and "notification" not in low and "noi" not in low and "ita" not in low:
        return out
    for m in _ISSUED_COUNT.finditer(text, low=low):
        if len(out) == MAX_PER_TEXT:
            raise _too_many("counts", text)
        n = m.group("n").lower()
        value = _NUMBER_WORDS[n] if n in _NUMBER_WORDS else to_int(n)
        out.append(Count(m.start(), m.end(), value))
    for m in _NUMBER_ISSUED.finditer(text, low=low):
        if len(out) == MAX_PER_TEXT:
            raise _too_many("counts", text)
        out.append(Count(m.start(), m.end(), to_int(m.group(1))))
    return sorted(out, key=lambda c: c.start)


# NOC lines: "NOC 72010 - Title", "NOC 00012 – Title", "NOC 0131: Title", "2173 Software
# engineers and designers", "0213 – Title", "Data Scientists (NOC 21211)", "NOC 73300 Title".
_NOC_LINE = re.compile(
    r"^\s*(?:NOC\s*(?:code\s*)?)?(?P<code>[0-9]{4,5})\b\s*(?:[-–—:]\s*)?(?P<title>\D.*)?$", re.IGNORECASE)
# "Title (NOC 21211)": found from its "(" (only the last one can reach the end), the
# title being all before it.
_NOC_TRAILING = Caseless(r"\(\s*noc\s*(?P<code>[0-9]{4,5})\s*\)\s*$")
_NOC_INLINE = Caseless(r"\bnoc\s*(?:code\s*)?(?P<code>[0-9]{5}|[0-9]{4})\b")
# Several NOC lines run together in one paragraph (line breaks lost):
# "0111 – Financial managers 0114 – Other administrative services managers ..."
_NOC_RUN = re.compile(r"(?:^|\s)(?:NOC\s*)?([0-9]{4,5})\s*[-–—:]\s*", re.IGNORECASE)


def _is_year(code: str) -> bool:
    # No NOC 2016 unit group lies in 1900-2099's "19xx"/"20xx" (major groups 19 and 20
    # do not exist), so a bare four-digit number there is a year, not a code.
    return len(code) == 4 and code[:2] in ("19", "20")


def parse_noc_line(text: str, cleaned: bool = False) -> tuple[str, str] | None:
    """(code, title) when ``text`` is one NOC line, else None. Codes stay as published
    (four digits = NOC 2016, five = NOC 2021), zero padding kept. ``cleaned``: the
    caller passes text clean() gave it (as the parsers' blocks are), read as it is."""
    t = text if cleaned else clean(text)
    if not DIGIT.search(t):
        return None
    m = _NOC_TRAILING.search(t) if "(" in t else None
    if m and m.start() > 0:
        return m.group("code"), t[:m.start()].strip()
    m = _NOC_LINE.match(t)
    if not m:
        return None
    code, title = m.group("code"), (m.group("title") or "").strip()
    has_prefix = t.upper().startswith("NOC")
    if not has_prefix and (_is_year(code) or not title or not title[0].isalpha()):
        return None
    return code, title


def split_noc_run(text: str, cleaned: bool = False) -> list[tuple[str, str]]:
    """Several "code – title" items run together in one paragraph; [] when ``text`` is
    not such a run (fewer than two items, or prose around them)."""
    t = text if cleaned else clean(text)
    if not _NOC_RUN.match(t):       # a run starts with its first code
        return []
    marks = list(_NOC_RUN.finditer(t))
    if len(marks) < 2 or marks[0].start() != 0:
        return []
    items = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(t)
        code, title = m.group(1), t[m.end():end].strip()
        if _is_year(code) or not title:
            return []
        items.append((code, title))
    return items


def inline_nocs(text: str, cleaned: bool = False, low: str | None = None) -> list[str]:
    """NOC codes named in prose: "work experience in NOC 31102 – General practitioners"."""
    if "noc" not in (text.lower() if low is None else low):
        return []
    if cleaned:
        return [m.group("code") for m in _NOC_INLINE.finditer(text, low=low)]
    return [m.group("code") for m in _NOC_INLINE.finditer(clean(text))]


def noc_version(codes: list[str]) -> str | None:
    """"2016" for four-digit codes, "2021" for five-digit, None if none or mixed."""
    lengths = {len(c) for c in codes}
    if lengths == {4}:
        return "2016"
    if lengths == {5}:
        return "2021"
    return None


# Sentence ends, but not inside "p.m.", "a.m.", "n.e.c.", "e.g.", "i.e.", "No. 5".
# The stop is matched, not looked behind at, so that re can skip ahead to the next one.
_SENTENCE_END = re.compile(r"[.!?](?<!\b[ap]\.m\.)(?<!\bn\.e\.c\.)(?<!\be\.g\.)(?<!\bi\.e\.)(\s+)(?=[A-Z0-9“\"(])")


def sentences(text: str, cleaned: bool = False) -> list[str]:
    """A paragraph split into sentences (good enough for government prose); each is clean."""
    t = text if cleaned else clean(text)
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(t):     # split at the spaces after each stop
        parts.append(t[start:m.start(1)])
        start = m.end(1)
    parts.append(t[start:])
    return [s for s in (p.strip() for p in parts) if s]
