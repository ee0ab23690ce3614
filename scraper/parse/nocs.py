"""NOC lines and codes: "NOC 72010 - Title", "Data Scientists (NOC 21211)", several
"code – title" items run together, codes named in prose. Pure, on plain strings.
"""
from __future__ import annotations

import re

from scraper.parse.text import DIGIT, Caseless, clean

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
