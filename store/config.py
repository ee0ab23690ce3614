"""Settings: defaults in code, the TOML file merged over them, validated once.

Errors name the file, the key and (where the key is in the file) its line, and are
raised before anything is written anywhere.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from notifier.profile import Profile, check_timezone
from store.ingest import DEFAULT_HOLD_THRESHOLD

ENV_VAR = "DRAWWATCH_CONFIG"
DEFAULT_PATH = "config.toml"

_INTERVAL = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$")


class ConfigError(Exception):
    """A config file that cannot be used; the message names file, key and line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class DatabaseSettings(_Strict):
    # A relative SQLite path is relative to the config file's folder (see load_config).
    url: str = "sqlite:///drawwatch.db"
    # Seconds a write waits for another process's write to finish before giving up.
    lock_timeout: float = Field(10.0, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from sqlalchemy.engine import make_url

        try:
            backend = make_url(value).get_backend_name()
        except Exception:
            raise ValueError(f"{value!r} is not a database URL") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{value!r}: only sqlite:/// and postgresql:// URLs are supported")
        return value


class LoggingSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class HttpSettings(_Strict):
    user_agent: str = "drawwatch/0.1 (self-hosted immigration draw watcher; +https://github.com/drawwatch/drawwatch)"
    timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(3, ge=0, le=10)
    obey_robots: bool = True
    delay: float = Field(1.0, ge=0, le=60)  # seconds between two requests to one site


class SourceSettings(_Strict):
    enabled: bool = True
    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    schedule: list[str] = Field(default_factory=list)
    jitter: int = Field(60, ge=0, le=3600)  # seconds of random delay added to each run
    past_years: int = Field(1, ge=0, le=20)  # oinp: yearly pages crawled besides the current one
    # A crawl that would change or renumber more stored draws than this (or lose any) is
    # held for a person to accept instead of being stored and announced.
    hold_threshold: int = Field(DEFAULT_HOLD_THRESHOLD, ge=0, le=1_000_000)

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
    def _schedule(cls, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("must be a string or a list of strings")
        return [check_schedule(i) for i in items]


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

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)


class DeliverySettings(_Strict):
    concurrency: int = Field(8, ge=1, le=256)  # messages in flight at once
    max_attempts: int = Field(6, ge=1, le=100)  # then the row is marked failed
    backoff: float = Field(60.0, gt=0, le=86400)  # seconds before the first retry; doubles each time
    backoff_max: float = Field(3600.0, gt=0, le=7 * 86400)
    timeout: float = Field(30.0, gt=0, le=600)  # one channel's send
    # A row claimed by a deliverer that died mid-send is retried after this long.
    lease: float = Field(300.0, gt=0, le=86400)


class OperatorSettings(_Strict):
    # Apprise URLs that hear about broken or stale sources (not about draws).
    urls: list[str] = Field(default_factory=list)

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        from notifier.profile import check_apprise_url

        return [check_apprise_url(u) for u in value]


class TemplateSettings(_Strict):
    # A folder whose files replace the shipped templates of the same name
    # (alert.title, alert.txt, alert.md, alert.html, correction.*, digest.*, test.*).
    directory: Path | None = None


class Settings(_Strict):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    subscribers: list[Profile] = Field(default_factory=list)
    operator: OperatorSettings = Field(default_factory=OperatorSettings)
    templates: TemplateSettings = Field(default_factory=TemplateSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)

    path: Path | None = Field(default=None, exclude=True)

    def source(self, name: str) -> SourceSettings:
        return self.sources.get(name) or SourceSettings()


def _line_of(text: str, loc: tuple) -> int | None:
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


def load_config(path: str | os.PathLike | None = None) -> Settings:
    """Load ``path`` (or $DRAWWATCH_CONFIG, or ./config.toml if present, or the defaults)."""
    from scraper.sources import SOURCES  # the registry knows each source's defaults

    file = Path(path) if path is not None else default_path()
    data: dict[str, Any] = {}
    text = ""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except FileNotFoundError:
            raise ConfigError(f"{file}: no such config file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    where = str(file) if file else "built-in defaults"
    unknown = sorted(set(data.get("sources", {}) or {}) - set(SOURCES))
    if unknown:
        lines = [i for i, ln in enumerate(text.splitlines(), 1) if f"sources.{unknown[0]}" in ln]
        at = f" (line {lines[0]})" if lines else ""
        raise ConfigError(f"{where}: sources.{unknown[0]}{at}: unknown source (known: {', '.join(SOURCES)})")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc)
            line = _line_of(text, loc) if text else None
            at = f" (line {line})" if line else ""
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{where}: {key}{at}: {msg}")
        raise ConfigError("\n".join(problems)) from None
    seen: set[str] = set()
    for i, profile in enumerate(settings.subscribers):
        if profile.name in seen:
            line = _line_of(text, ("subscribers", i, "name")) if text else None
            raise ConfigError(f"{where}: subscribers.{i}.name{f' (line {line})' if line else ''}: "
                              f"two subscribers are named {profile.name!r}")
        seen.add(profile.name)
    # Source defaults come from the registry; the file overrides them key by key.
    merged = {}
    for name, spec in SOURCES.items():
        given = (data.get("sources") or {}).get(name, {})
        base = spec.default_settings().model_dump()
        base.update({k: v for k, v in settings.sources.get(name, SourceSettings()).model_dump().items() if k in given})
        merged[name] = SourceSettings.model_validate(base)
    settings.sources = merged
    if file is not None:
        settings.path = file
        settings.database.url = _anchor_sqlite(settings.database.url, file.parent)
    folder = settings.templates.directory
    if folder is not None:
        if file is not None and not folder.is_absolute():
            folder = settings.templates.directory = file.parent / folder
        from notifier.render import check_templates

        problem = check_templates(folder)
        if problem:
            line = _line_of(text, ("templates", "directory")) if text else None
            raise ConfigError(f"{where}: templates.directory{f' (line {line})' if line else ''}: {problem}")
    return settings


def _anchor_sqlite(url: str, folder: Path) -> str:
    """sqlite:///rel.db in a config file means next to that file, not the caller's cwd."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str((folder / url[len(prefix):]).resolve())
    return url
