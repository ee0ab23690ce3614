"""The store's and the service's settings sections, and what every section's loader
shares: the error type, the key's line in the file, the file's default location.

The file itself is loaded at the top (``configfile.load_config``), which hands each part
its own section; a source's ``[sources.NAME]`` table is validated by the source.
Errors name the file, the key and (where the key is in the file) its line, and are
raised before anything is written anywhere.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_VAR = "DRAWWATCH_CONFIG"
# backend[+driver]:// as SQLAlchemy's URLs begin.
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\+[A-Za-z0-9_]+)?://")
DEFAULT_PATH = "config.toml"


class ConfigError(Exception):
    """A config file that cannot be used; the message names file, key and line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone") from None
    return value


class DatabaseSettings(_Strict):
    # A relative SQLite path is relative to the config file's folder (see load_config).
    url: str = "sqlite:///drawwatch.db"
    # Seconds a write waits for another process's write to finish before giving up.
    lock_timeout: float = Field(10.0, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        # The scheme is read by hand: a query command on SQLite must not import SQLAlchemy
        # for this (start-up, bench/cli.py); a SQLite URL's rest is a path. A PostgreSQL
        # command loads SQLAlchemy anyway, whose parser checks the rest (a port that is no
        # number) here, before anything runs.
        found = URL_SCHEME.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a database URL")
        backend = found.group(1)
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{value!r}: only sqlite:/// and postgresql:// URLs are supported")
        if backend == "postgresql":
            from sqlalchemy.engine import make_url

            try:
                make_url(value)
            except Exception:
                raise ValueError(f"{value!r} is not a database URL") from None
        return value


class LoggingSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class HttpSettings(_Strict):
    user_agent: str = "drawwatch/0.1 (self-hosted immigration draw watcher; +https://github.com/drawwatch/drawwatch)"
    timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(3, ge=0, le=10)
    obey_robots: bool = True
    delay: float = Field(1.0, ge=0, le=60)  # seconds between two requests to one site


class ServiceSettings(_Strict):
    timezone: str = "America/Toronto"  # cron schedules are read in this zone
    shutdown_timeout: float = Field(60.0, gt=0)
    # New alerts are sent as soon as a crawl finds them; this sweep retries failed
    # deliveries, sends digests when due and re-checks source health.
    delivery_interval: float = Field(30.0, gt=0, le=3600)
    # Consecutive failed crawls of one source before the operator is told (and told once).
    failure_threshold: int = Field(3, ge=1, le=1000)
    # A source with no new or corrected draw for stale_factor times its usual gap between
    # draws (and at least stale_min_days) is reported: it may have moved or changed format.
    stale_factor: float = Field(4.0, ge=1, le=100)
    stale_min_days: float = Field(21.0, gt=0, le=3650)
    # Seconds a process's hold on a source's crawls (and on the health checks) outlives its
    # last renewal: a process that dies hands them over within crawl_lease * 4/3.
    crawl_lease: float = Field(60.0, ge=1, le=3600)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)


def problems(exc: ValidationError, where: str, text: str, prefix: tuple = ()) -> list[str]:
    """One line per error: "<file>: <key> (line N): <what is wrong>"; ``prefix``: the
    keys above the validated table (("sources", NAME) for a source's)."""
    out = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        line = line_of(text, loc) if text else None
        at = f" (line {line})" if line else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        out.append(f"{where}: {key}{at}: {msg}")
    return out


def line_of(text: str, loc: tuple) -> int | None:
    """Best-effort line number of the key at ``loc`` in the TOML text."""
    lines = text.splitlines()
    table: list[str] = []
    array_seen: dict[str, int] = {}
    want_key = str(loc[-1])
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
        if header:
            table = [p.strip().strip('"') for p in header.group(1).split(".")]
            if line.startswith("[["):
                array_seen[".".join(table)] = array_seen.get(".".join(table), -1) + 1
                table = table + [str(array_seen[".".join(table)])]
            continue
        m = re.match(r'^"?([A-Za-z0-9_\-]+)"?\s*=', line)
        if m and m.group(1) == want_key and [str(p) for p in loc[:-1]] == table:
            return number
    return None


def default_path() -> Path | None:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(DEFAULT_PATH) if Path(DEFAULT_PATH).exists() else None


def anchor_sqlite(url: str, folder: Path) -> str:
    """sqlite:///rel.db in a config file means next to that file, not the caller's cwd."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str((folder / url[len(prefix):]).resolve())
    return url
