"""A subscriber's profile: who to tell, about what, and the facts a draw is matched on.

One model for both doors in (``[[subscribers]]`` in the config file and
``drawwatch subscribers add|edit``), so a value refused in one is refused in the other,
with a message naming the field.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from notifier.secrets import mask
from scraper.sources import registry
from store.config import check_timezone
from store.reference.noc import NocError, as_2021, lookup
from store.reference.programs import PROGRAM_NAMES, PROGRAMS, PROVINCES  # noqa: F401  (re-exported)

INTERESTS = ("eligible", "targeted", "all", "near_miss")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,63}$")


def check_apprise_url(url: str) -> str:
    """``url`` if Apprise can send to it; otherwise a ValueError that shows it masked."""
    import apprise  # deferred: Apprise loads only where a URL is checked or sent

    if not isinstance(url, str) or not url.strip():
        raise ValueError("an empty notification URL")
    if apprise.Apprise.instantiate(url.strip(), suppress_exceptions=True) is None:
        raise ValueError(f"{mask(url)!r} is not a notification URL Apprise can send to "
                         "(see https://github.com/caronc/apprise/wiki for the URL of each channel)")
    return url.strip()


def check_apprise_urls(value: list[str], info: ValidationInfo) -> list[str]:
    """Each URL checked by Apprise, unless the config is loaded for a command that sends
    nothing (validation context ``{"channels": False}``): a query then never loads Apprise."""
    if info.context and info.context.get("channels") is False:
        return [u.strip() for u in value]
    return [check_apprise_url(u) for u in value]


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    urls: list[str] = Field(min_length=1)
    # NOC unit groups: five-digit 2021 codes, or four-digit 2016 codes (mapped through
    # Statistics Canada's correspondence when matching).
    nocs: list[str] = Field(default_factory=list)
    crs: int | None = Field(None, ge=0, le=1200)
    # Points in a province's own expression-of-interest system, e.g. {ON = 62}.
    provincial_points: dict[str, int] = Field(default_factory=dict)
    programs: list[Literal["cec", "fsw", "fst", "pnp"]] = Field(default_factory=list)
    clb: int | None = Field(None, ge=0, le=12)  # English, Canadian Language Benchmark
    nclc: int | None = Field(None, ge=0, le=12)  # French, Niveaux de compétence linguistique canadiens
    provinces: list[str] = Field(default_factory=list)  # empty: every province
    ee_profile_created: dt.date | None = None  # Express Entry profile submitted on
    eoi_created: dt.date | None = None  # provincial expression of interest registered on
    sources: list[str] = Field(default_factory=list)  # empty: every source
    notify: list[Literal["eligible", "targeted", "all", "near_miss"]] = Field(
        default_factory=lambda: ["eligible", "targeted"], min_length=1)
    near_miss: int = Field(10, ge=1, le=300)  # points under the cut-off that count as near
    delivery: Literal["immediate", "digest"] = "immediate"
    digest_time: dt.time = dt.time(8, 0)
    timezone: str = "America/Toronto"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r}: use 1-64 letters, digits and _ . @ + - (starting with a letter or digit)")
        return value

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_apprise_urls(value, info)

    @field_validator("nocs")
    @classmethod
    def _nocs(cls, value: list[str]) -> list[str]:
        out = []
        for code in value:
            code = str(code).strip()
            if not re.fullmatch(r"\d{4,5}", code):
                raise ValueError(f"{code!r} is not a NOC code (five digits for NOC 2021, four for NOC 2016)")
            try:
                unit = lookup(code)
            except NocError as exc:
                raise ValueError(str(exc)) from None
            if unit is None:
                version = "2021" if len(code) == 5 else "2016"
                raise ValueError(f"{code!r} is not a NOC {version} unit group")
            out.append(code)
        return list(dict.fromkeys(out))

    @field_validator("provinces")
    @classmethod
    def _provinces(cls, value: list[str]) -> list[str]:
        return [_province(p) for p in value]

    @field_validator("provincial_points")
    @classmethod
    def _points(cls, value: dict[str, int]) -> dict[str, int]:
        out = {}
        for province, points in value.items():
            if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 1000:
                raise ValueError(f"{province}: {points!r} is not a number of points between 0 and 1000")
            out[_province(province)] = points
        return out

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in registry.SOURCES:
                raise ValueError(f"{name!r} is not a source (known: {', '.join(registry.SOURCES)})")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)


def _province(code: str) -> str:
    upper = str(code).strip().upper()
    if upper not in PROVINCES:
        raise ValueError(f"{code!r} is not a province or territory code ({', '.join(PROVINCES)})")
    return upper


@dataclass(frozen=True)
class MatchProfile:
    """What matching needs of a profile, precomputed once per subscriber (the NOC
    crosswalk above all): matching runs for every subscriber on every new draw."""

    subscriber_id: int | None
    name: str
    noc2021: dict[str, str]  # 2021 code -> the code as the subscriber gave it
    crs: int | None
    provincial_points: dict[str, int]
    programs: frozenset[str]
    clb: int | None
    nclc: int | None
    provinces: frozenset[str]
    ee_profile_created: dt.date | None
    eoi_created: dt.date | None
    sources: frozenset[str]
    notify: tuple[str, ...]
    near_miss: int
    digest: bool

    @classmethod
    def of(cls, *values) -> "MatchProfile":
        """From its fields' values in order, already as the fields hold them (the profile
        index's own): half the cost of ``__init__``, which sets each field of a frozen
        dataclass through ``object.__setattr__``; the matcher builds one per candidate."""
        profile = object.__new__(cls)
        profile.__dict__.update(zip(_FIELDS, values))
        return profile

    @classmethod
    def from_profile(cls, profile: Profile | dict, subscriber_id: int | None = None) -> "MatchProfile":
        """From a validated profile (or its stored JSON form, already validated when saved)."""
        p = profile.model_dump() if isinstance(profile, Profile) else profile
        noc2021: dict[str, str] = {}
        for code in p.get("nocs") or ():
            for mapped in (as_2021(code) if len(code) == 4 else {code}):
                noc2021.setdefault(mapped, code)
        date = lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v  # noqa: E731
        return cls(
            subscriber_id=subscriber_id, name=p["name"], noc2021=noc2021, crs=p.get("crs"),
            provincial_points=dict(p.get("provincial_points") or {}), programs=frozenset(p.get("programs") or ()),
            clb=p.get("clb"), nclc=p.get("nclc"), provinces=frozenset(p.get("provinces") or ()),
            ee_profile_created=date(p.get("ee_profile_created")), eoi_created=date(p.get("eoi_created")),
            sources=frozenset(p.get("sources") or ()), notify=tuple(p.get("notify") or ("eligible", "targeted")),
            near_miss=p.get("near_miss", 10), digest=p.get("delivery") == "digest")


_FIELDS = tuple(f.name for f in fields(MatchProfile))
