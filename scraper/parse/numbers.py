"""Scores and counts: "405-435", "441-433" (reversed), "48 and above", "N/A",
"1,424", "we issued 1,063 invitations". Pure, on plain strings.

Numbers are read strictly: ASCII digits only (``int()`` and a regex digit class also
take "٤" and "４"), commas only between groups of three, and never a part of a longer run of digits;
what does not read that way is not a number here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from scraper.parse.text import DIGIT, MAX_PER_TEXT, Caseless, clean, too_many


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
                raise too_many("scores", text)
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
            raise too_many("counts", text)
        n = m.group("n").lower()
        value = _NUMBER_WORDS[n] if n in _NUMBER_WORDS else to_int(n)
        out.append(Count(m.start(), m.end(), value))
    for m in _NUMBER_ISSUED.finditer(text, low=low):
        if len(out) == MAX_PER_TEXT:
            raise too_many("counts", text)
        out.append(Count(m.start(), m.end(), to_int(m.group(1))))
    return sorted(out, key=lambda c: c.start)


# "<5", "&lt; 5", "Less than 10", "fewer than 5": a count a province hides below a bound.
_BELOW = re.compile(r"^\s*(?:<|less\s+than|fewer\s+than)\s*([0-9]{1,6})\s*\**$", re.IGNORECASE)


def parse_below(text: str) -> int | None:
    """The bound of a count published only as "fewer than N" ("<5", "Less than 10"): N,
    kept as a bound, never as the count; None for anything else."""
    m = _BELOW.match(clean(text))
    return int(m.group(1)) if m else None
