"""What parsers return: plain records, independent of the database.

Parsers are pure functions ``parse_x(body: bytes, url: str) -> ParseResult``; the
store turns records into rows. Field names match the ``Draw`` / ``Notice`` columns so
the mapping is one line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime  # noqa: F401  (date: used in annotations that shadow it)
from typing import Any


class ParseError(Exception):
    """A page or feed that cannot be read as the source's format (never 'zero draws')."""

    def __init__(self, message: str, url: str | None = None):
        self.url = url
        super().__init__(f"{message} ({url})" if url else message)


class SourceBlocked(ParseError):
    """The server answered with a captcha / bot-block page instead of the content."""


@dataclass
class DrawRecord:
    """One selection of candidates, as a parser read it."""

    source: str                      # "express_entry", "oinp", ...
    key: str                         # natural key within the source ("91a", "2024-08-22/hcp/tech")
    date: date | None
    title: str                       # as published
    program: str | None = None       # normalised slug: EE program/category, OINP stream
    category_version: str | None = None   # EE: "Version 1", "2026-Version 3"
    round_time: datetime | None = None    # UTC
    tiebreak_time: datetime | None = None  # UTC
    invitations: int | None = None
    score_min: int | None = None
    score_max: int | None = None
    score_system: str | None = None  # "crs", "oinp_eoi", ...
    selection_kind: str | None = None  # "ita" (invitation to apply) or "noi" (notification of interest)
    programs_covered: list[str] = field(default_factory=list)  # EE: cec, fsw, fst, pnp
    window_start: datetime | None = None   # profile-creation window
    window_end: datetime | None = None
    region: str | None = None
    noc_codes: list[str] = field(default_factory=list)  # as published, zero-padded strings
    noc_version: str | None = None   # "2016" or "2021"
    announcement: str | None = None  # shared anchor when one announcement holds several draws
    url: str | None = None
    text: str = ""                   # the published text the facts came from
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific facts (EE distribution)
    flags: list[str] = field(default_factory=list)  # problems kept verbatim: "unknown_program", ...


@dataclass
class NoticeRecord:
    """Program news that is not a draw (closures, pauses, allocations)."""

    source: str
    key: str
    date: date | None
    title: str
    text: str = ""
    url: str | None = None


@dataclass
class ParseResult:
    draws: list[DrawRecord] = field(default_factory=list)
    notices: list[NoticeRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # values kept verbatim but not understood
