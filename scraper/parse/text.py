"""Text helpers shared by the HTML parsers: whitespace, slugs, sentences, and the
pattern machinery the date, number and NOC readers build on.

Government pages are typed by hand: non-breaking spaces, en dashes, stray spaces inside
brackets. Everything here is pure and works on plain strings. Every pattern runs in time
linear in its text (no unbounded gap between two parts that can both occur many times).
"""
from __future__ import annotations

import re

from scraper.records import ParseError


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


def too_many(what: str, text: str) -> ParseError:
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
