"""What a source is, as the rest of drawwatch sees it: one small interface.

A source (a package under ``scraper/sources/``, or a third party's, registered in the
``drawwatch.sources`` entry-point group) subclasses ``Source`` and answers every
question the crawl, the store, the matcher and the renderer have about its program:
its settings, the pages it reads (each with its kind), the parser for each kind, how
records read from several pages combine, and its rules (province, headline, score,
targeted occupations, language and eligibility checks). The core asks; it never names
a source.

This module sits just above the shared records: it imports neither the store nor the
notifier, nor Scrapy (spiders and parsers are named by dotted path, loaded on use).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from importlib import import_module
from typing import Any, Callable, ClassVar, Iterable, Mapping, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from scraper.sources.checks import Checks, day
from scraper.sources.needs import Needs

# Real corrections touch one or two draws; more stored draws than this rewritten or
# renumbered by one crawl (or any lost) is a broken or redesigned source until a person
# says otherwise: the crawl is held (store.ingest). The default of every source's
# hold_threshold, hence defined with the sources' settings.
DEFAULT_HOLD_THRESHOLD = 3

_INTERVAL = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$")


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def interval_seconds(entry: str) -> int | None:
    """Seconds of an ``every N(s|m|h|d)`` schedule entry; None for a cron expression."""
    m = _INTERVAL.match(" ".join(entry.split()))
    if not m:
        return None
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def check_schedule(value: str) -> str:
    """``every 10m`` (s/m/h/d) or a five-field cron expression."""
    text = " ".join(value.split())
    m = _INTERVAL.match(text)
    if m:
        if int(m.group(1)) <= 0:
            raise ValueError(f"{value!r}: the interval must be positive")
        return text
    from apscheduler.triggers.cron import CronTrigger  # light import, only when a cron is given

    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise ValueError(f"{value!r} is neither 'every N(s|m|h|d)' nor a cron expression: {exc}") from None
    return text


class SourceSettings(BaseModel):
    """The keys of ``[sources.NAME]`` every source has; a source adds its own in a subclass."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    schedule: list[str] = Field(default_factory=list)
    jitter: int = Field(60, ge=0, le=3600)  # seconds of random delay added to each run
    # A crawl that would change or renumber more stored draws than this (or lose any) is
    # held for a person to accept instead of being stored and announced.
    hold_threshold: int = Field(DEFAULT_HOLD_THRESHOLD, ge=0, le=1_000_000)
    # Seconds one crawl of the source may take, robots.txt and retries included: a site
    # that accepts connections and never answers fails the crawl then, with a message.
    deadline: float = Field(60.0, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return [check_http_url(u) for u in value]

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any, info: ValidationInfo) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("must be a string or a list of strings")
        # A source's own default entries are checked by the tests (test_default_schedules_are_valid),
        # not on every command: checking a cron loads APScheduler, a tenth of a query's start-up.
        known = (info.context or {}).get("default_schedule", ())
        return [i if i in known else check_schedule(i) for i in items]


@dataclass(frozen=True)
class Page:
    """One page of a crawl: its address, its kind (which parser reads it) and whether it
    may be absent (a 404 is then no failure: a year's page not published yet)."""

    url: str
    kind: str
    optional: bool = False


class DrawLike(Protocol):
    """What the rules read of a stored draw (``store.models.Draw``) or a parsed one."""

    source: str
    key: str
    title: str
    date: date | None
    program: str | None
    category_version: str | None
    score_system: str | None
    region: str | None
    noc_codes: list[str]
    extra: dict


def load_object(path: str) -> Any:
    """``module:attr`` -> the object (imported on first use)."""
    module, _, attr = path.partition(":")
    return getattr(import_module(module), attr)


class Source:
    """One watched program. Subclasses set the class attributes and override the rules
    that differ from these defaults (a federal source with one page and no rules of its own)."""

    name: ClassVar[str]
    title: ClassVar[str]                 # "Express Entry rounds of invitations (IRCC)"
    display_name: ClassVar[str]          # "Express Entry", "Ontario": in sentences and headlines
    province: ClassVar[str | None] = None  # a province's nominee program; None: federal
    settings_model: ClassVar[type[SourceSettings]] = SourceSettings
    defaults: ClassVar[dict[str, Any]] = {}  # defaults of its [sources.NAME] keys
    # page kind -> "module:function" (body, url) -> ParseResult; the first is the kind of
    # the pages of the default plan (``url`` and ``urls``)
    parsers: ClassVar[dict[str, str]] = {}
    # "module:function" list[DrawRecord] -> list[DrawRecord]: merges the records of one draw
    # read from several pages, within a crawl and with the stored draw (see store.ingest)
    combine: ClassVar[str | None] = None
    # Page kinds that show only the latest draws (a feed's last ten items): a draw that
    # drops out of such a page is not lost; only the page's count is watched (store.plan).
    windowed: ClassVar[frozenset[str]] = frozenset()
    # Page kinds that show the current calendar year's draws only (a table that starts
    # afresh in January): a page whose draws are all of a later year than every draw it
    # showed last time has turned over, and last year's leaving it are not lost (store.plan).
    yearly: ClassVar[frozenset[str]] = frozenset()
    # The kind of the pages in ``urls`` when it is not the first (``url``'s): a feed and
    # the posts it announces, a PDF and a page beside it.
    urls_kind: ClassVar[str | None] = None
    spider: ClassVar[str] = "scraper.spiders.base:PageSpider"
    # score_system -> what the alert calls the score (others: "Score")
    score_labels: ClassVar[Mapping[str, str]] = {"crs": "CRS"}

    # -- settings and pages ---------------------------------------------------------

    def settings(self, given: Mapping[str, Any] | None = None) -> SourceSettings:
        """Its ``[sources.NAME]`` table over its defaults, validated (pydantic's error)."""
        return self.settings_model.model_validate({**self.defaults, **(given or {})},
                                                  context={"default_schedule": self.defaults.get("schedule", ())})

    def default_settings(self) -> SourceSettings:
        return self.settings()

    def plan(self, settings: SourceSettings, *, backfill: bool, today: date) -> list[Page]:
        """The pages of one crawl: ``url`` of the first parser's kind, then ``urls`` (of
        ``urls_kind``, when set)."""
        kind = self.default_kind
        return [Page(u, kind) for u in ([settings.url] if settings.url else [])] + \
            [Page(u, self.urls_kind or kind) for u in settings.urls]

    @property
    def default_kind(self) -> str:
        return next(iter(self.parsers))

    def parser(self, kind: str) -> Callable:
        return load_object(self.parsers[kind])

    def load_combine(self) -> Callable | None:
        return load_object(self.combine) if self.combine else None

    def load_spider(self) -> type:
        return load_object(self.spider)

    # -- rules ----------------------------------------------------------------------

    def headline(self, draw: DrawLike) -> str:
        return f"{self.display_name}: {draw.title}, {day(draw.date)}"

    def category_name(self, slug: str | None) -> str:
        """A category's or stream's name as people know it ("STEM occupations"), for
        listings and charts; the slug where the source knows no better."""
        return slug or "no category"

    def score_label(self, score_system: str | None) -> str:
        """The score's name in an alert ("CRS", "Ontario EOI points")."""
        return self.score_labels.get(score_system or "", "Score")

    def listed_nocs(self, draw: DrawLike) -> Iterable[str]:
        """NOC 2021 codes a draw targets through a list the source keeps (a category's),
        beyond the codes the draw itself prints."""
        return ()

    def stream_nocs(self, draw: DrawLike) -> frozenset[str] | None:
        """NOC 2021 codes the draw's stream accepts at all (None: any occupation)."""
        return None

    def check(self, checks: Checks, profile: Any, draw: DrawLike, facts: Any) -> bool:
        """Adds the source's conditions for ``profile`` (a ``MatchProfile``) to ``checks``;
        ``facts`` is what every decision on the draw shares (``notifier.match.DrawFacts``).
        Returns whether the draw targets one of the profile's occupations."""
        return bool(facts.targeted) and checks.occupations(profile, facts.targeted, draw, "the draw targets")

    def needs(self, draw: DrawLike, facts: Any) -> Needs | None:
        """What ``check`` asks of an eligible profile, for the matcher's query
        (``scraper.sources.needs``); None: nothing known, every profile is checked."""
        return None

    def noc_lists(self, codes2021: Iterable[str]) -> dict[str, list[str]]:
        """{column: labels} of the source's lists holding one of these NOC 2021 codes
        (``drawwatch noc``)."""
        return {}
