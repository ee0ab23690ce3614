"""Text helpers shared by the HTML parsers: whitespace, dates, score phrases, NOC lines.

Government pages are typed by hand: non-breaking spaces, en dashes, "April 05, 2019",
"March 3 2021", "September 19. 2023", "December 17" (no year), "405-435", "441-433"
(reversed), "48 and above", "N/A". Everything here is pure and works on plain strings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}
_MONTH_ABBR = {m[:3]: i for m, i in MONTHS.items()} | {"sept": 9}
_MONTH_WORD = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"

# "January 2, 2024", "April 05, 2019", "March 3 2021", "September 19. 2023",
# "June 1,2021", "December 17" (year optional: the caller knows the page's year).
DATE_RE = re.compile(
    r"\b(?P<month>" + _MONTH_WORD + r")\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b"
    r"(?:\s*[,.]?\s*(?P<year>(?:19|20)\d{2})\b)?",
    re.IGNORECASE,
)
# A clock time right after a date: "11:59 p.m.", "10:25 a.m. EST", "2:15PM", "12:28 p.m EST"
_TIME_RE = re.compile(
    r"^\s*,?\s*(?:at\s*)?(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ampm>[ap])\.?\s*m\b\.?",
    re.IGNORECASE,
)

EASTERN = ZoneInfo("America/Toronto")

_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
_SPACE_BEFORE = re.compile(r"\s+([,.;:)\]%])")
_SPACE_AFTER = re.compile(r"([(\[])\s+")


def clean(text: str) -> str:
    """One line of readable text: every kind of space collapsed, no space before
    punctuation or inside brackets (ontario.ca renders ``<abbr>`` as "( NOC )")."""
    text = _SPACES.sub(" ", text).strip()
    text = _SPACE_BEFORE.sub(r"\1", text)
    return _SPACE_AFTER.sub(r"\1", text)


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


def find_dates(text: str) -> list[DateMatch]:
    """Every "Month D[, YYYY]" in ``text``, in order."""
    out = []
    for m in DATE_RE.finditer(text):
        year = int(m.group("year")) if m.group("year") else None
        out.append(DateMatch(m.start(), m.end(), _month(m.group("month")), int(m.group("day")), year))
    return out


def parse_date(text: str, year: int | None = None) -> date | None:
    """The first date in ``text`` ("January 2, 2024"; "December 17" with ``year``)."""
    for m in find_dates(text):
        d = m.to_date(year)
        if d:
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
    m = _TIME_RE.match(text[pos:])
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


_BETWEEN = re.compile(r"\bbetween\b(?P<a>.*?)\band\b(?P<b>.*)", re.IGNORECASE)
_BY = re.compile(r"\b(?:by|before|on or before)\b(?P<b>.*)", re.IGNORECASE)


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


_WINDOW_SENTENCE = re.compile(
    r"(?:profiles?|expressions? of interest|eois?)\b[^.]*?\b(?:created|submitted|registered|received|scored)\b"
    r"|\b(?:created|submitted|registered)\b[^.]*?\b(?:profiles?|expressions? of interest|eois?)\b"
    r"|\bdate express entry profile submitted\b",
    re.IGNORECASE,
)


def find_window(sentence: str, year: int | None = None) -> Window | None:
    """The profile-creation window a sentence states, if it states one.

    "profiles ... created between X and Y" gives both ends; "created and attested to by
    April 28, 2026, 11:59 p.m." gives the end only; "Date Express Entry profile
    submitted: January 1, 2018 to March 26, 2018" gives both.
    """
    found = _WINDOW_SENTENCE.search(sentence)
    if not found:
        return None
    # "Date and time of portal search: November 26, 2018 ... Date Express Entry profile
    # submitted: January 1, 2018 to November 26, 2018": only what follows counts.
    sentence = sentence[found.start():]
    m = _BETWEEN.search(sentence)
    if m:
        a, b = find_dates(m.group("a")), find_dates(m.group("b"))
        if b:
            off_b = m.start("b")
            end_dm = b[0]
            end = _window_end(end_dm, sentence[off_b:], year)
            start = None
            if a:
                off_a = m.start("a")
                start = _window_start(a[0], sentence[off_a:], end_dm.year or year)
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


_NUM = r"\*{0,2}(\d{1,4})\*{0,2}"
_SCORE_PATTERNS = (
    # "score of 405-435", "score between 455 and 467", "CRS score range: 350-448",
    # "Comprehensive Ranking Score (CRS) between 410 and 479", "a CRS between 358 – 439",
    # "score of between 147 and 174", "score range: 444 to 433"
    re.compile(
        r"\b(?:scores?|crs\)?)\s*(?:range\s*:?|of between|of|between|ranging from|from)?\s*"
        + _NUM + r"\s*(?:-|–|—|\bto\b|\band\b)\s*" + _NUM + r"(?!\s*(?:and|or)\s+(?:above|higher))",
        re.IGNORECASE,
    ),
    # "score of 48 and above", "score 77 and above", "score of 67 or above"
    re.compile(r"\bscores?\s*(?:of\s*)?" + _NUM + r"\s*(?:and|or)\s+(?:above|higher|more)\b", re.IGNORECASE),
    # "The minimum score was 112."
    re.compile(r"\bminimum score (?:was|of)\s*" + _NUM, re.IGNORECASE),
)


# "..., and 80 and above under the International Student stream": a bare cut-off,
# read only in a sentence that already states a score.
_BARE_ABOVE = re.compile(r"(?<![\w,.])" + _NUM + r"\s*(?:and|or)\s+(?:above|higher)\b", re.IGNORECASE)


def find_scores(text: str) -> list[Score]:
    """Every score cut-off a sentence states, in order, without overlaps."""
    found: list[Score] = []
    patterns = _SCORE_PATTERNS
    if any(p.search(text) for p in _SCORE_PATTERNS):
        patterns = _SCORE_PATTERNS + (_BARE_ABOVE,)
    for pattern in patterns:
        for m in pattern.finditer(text):
            if any(s.start < m.end() and m.start() < s.end for s in found):
                continue
            nums = [int(g) for g in m.groups() if g is not None]
            low, high = (min(nums), max(nums)) if len(nums) == 2 else (nums[0], None)
            found.append(Score(m.start(), m.end(), low, high, m.group(0)))
    return sorted(found, key=lambda s: s.start)


_CELL_RANGE = re.compile(r"^\s*(\d{1,4})\s*(?:-|–|—|to)\s*(\d{1,4})\s*$", re.IGNORECASE)
_CELL_ABOVE = re.compile(r"^\s*(\d{1,4})\s*(?:and|or)\s+(?:above|higher|more)\s*$", re.IGNORECASE)
_CELL_ONE = re.compile(r"^\s*(\d{1,4})\s*$")


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


_COUNT_RE = re.compile(r"(?<![\d,.])(\d{1,3}(?:,\d{3})+|\d+)\*?(?![\d,])")


def parse_count(text: str) -> int | None:
    """A count as published: "1,424", "2084", "371*" (a footnote mark)."""
    m = _COUNT_RE.search(clean(text))
    return int(m.group(1).replace(",", "")) if m else None


_NUMBER_WORDS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "eleven", "twelve"])}
_ISSUED_COUNT = re.compile(
    r"(?<![\d,])(?P<n>\d{1,3}(?:,\d{3})+|\d+|\b(?:" + "|".join(_NUMBER_WORDS) + r"))\s+"
    r"(?:additional\s+)?(?:targeted\s+)?(?:invitations?|notifications?|nois?|itas?)\b",
    re.IGNORECASE,
)
_NUMBER_ISSUED = re.compile(r"\bnumber of (?:invitations|notifications|nois|itas)[^:]*:\s*(\d[\d,]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Count:
    start: int
    end: int
    value: int


def find_counts(text: str) -> list[Count]:
    """Invitation counts a sentence states ("we issued 1,063 invitations", "has issued
    15 Invitations to Apply", "issued four targeted invitations", "Number of invitations
    issued: 480"). Callers apply it to sentences that report an issuance."""
    out = []
    for m in _ISSUED_COUNT.finditer(text):
        n = m.group("n").lower()
        value = _NUMBER_WORDS[n] if n in _NUMBER_WORDS else int(n.replace(",", ""))
        out.append(Count(m.start(), m.end(), value))
    for m in _NUMBER_ISSUED.finditer(text):
        out.append(Count(m.start(), m.end(), int(m.group(1).replace(",", ""))))
    return sorted(out, key=lambda c: c.start)


# NOC lines: "NOC 72010 - Title", "NOC 00012 – Title", "NOC 0131: Title", "2173 Software
# engineers and designers", "0213 – Title", "Data Scientists (NOC 21211)", "NOC 73300 Title".
_NOC_LINE = re.compile(
    r"^\s*(?:NOC\s*(?:code\s*)?)?(?P<code>\d{4,5})\b\s*(?:[-–—:]\s*)?(?P<title>\D.*)?$", re.IGNORECASE)
_NOC_TRAILING = re.compile(r"^(?P<title>.+?)\s*\(\s*NOC\s*(?P<code>\d{4,5})\s*\)\s*$", re.IGNORECASE)
_NOC_INLINE = re.compile(r"\bNOC\s*(?:code\s*)?(?P<code>\d{5}|\d{4})\b", re.IGNORECASE)
# Several NOC lines run together in one paragraph (line breaks lost):
# "0111 – Financial managers 0114 – Other administrative services managers ..."
_NOC_RUN = re.compile(r"(?:^|\s)(?:NOC\s*)?(\d{4,5})\s*[-–—:]\s*", re.IGNORECASE)


def _is_year(code: str) -> bool:
    # No NOC 2016 unit group lies in 1900-2099's "19xx"/"20xx" (major groups 19 and 20
    # do not exist), so a bare four-digit number there is a year, not a code.
    return len(code) == 4 and code[:2] in ("19", "20")


def parse_noc_line(text: str) -> tuple[str, str] | None:
    """(code, title) when ``text`` is one NOC line, else None. Codes stay as published
    (four digits = NOC 2016, five = NOC 2021), zero padding kept."""
    t = clean(text)
    m = _NOC_TRAILING.match(t)
    if m:
        return m.group("code"), m.group("title").strip()
    m = _NOC_LINE.match(t)
    if not m:
        return None
    code, title = m.group("code"), (m.group("title") or "").strip()
    has_prefix = t.upper().startswith("NOC")
    if not has_prefix and (_is_year(code) or not title or not title[0].isalpha()):
        return None
    return code, title


def split_noc_run(text: str) -> list[tuple[str, str]]:
    """Several "code – title" items run together in one paragraph; [] when ``text`` is
    not such a run (fewer than two items, or prose around them)."""
    t = clean(text)
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


def inline_nocs(text: str) -> list[str]:
    """NOC codes named in prose: "work experience in NOC 31102 – General practitioners"."""
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
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[ap]\.m\.)(?<!\bn\.e\.c\.)(?<!\be\.g\.)(?<!\bi\.e\.)\s+(?=[A-Z0-9“\"(])")


def sentences(text: str) -> list[str]:
    """A paragraph split into sentences (good enough for government prose)."""
    return [s for s in (p.strip() for p in _SENTENCE_END.split(clean(text))) if s]
