"""The configuration file: defaults in code, the TOML file merged over them, validated
once, at the top, where each part is handed its own section (the store's and the
service's from ``store.config``, the notifier's from ``notifier.config``, each source's
``[sources.NAME]`` table validated by that source's own settings model).

Errors name the file, the key and (where the key is in the file) its line, and are
raised before anything is written anywhere.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, SerializeAsAny, ValidationError

from notifier.config import DeliverySettings, OperatorSettings, TemplateSettings
from notifier.profile import Profile
from scraper.sources import registry
from scraper.sources.base import SourceSettings
from store.config import (ENV_VAR, ConfigError, DatabaseSettings, HttpSettings, LoggingSettings,  # noqa: F401
                          ServiceSettings, _Strict, anchor_sqlite, default_path, line_of, problems)
from web.config import WebSettings


class Settings(_Strict):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    # name -> the source's own settings model (validated by load_config, not here)
    sources: dict[str, SerializeAsAny[SourceSettings]] = Field(default_factory=dict)
    subscribers: list[Profile] = Field(default_factory=list)
    operator: OperatorSettings = Field(default_factory=OperatorSettings)
    templates: TemplateSettings = Field(default_factory=TemplateSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    web: WebSettings = Field(default_factory=WebSettings)

    path: Path | None = Field(default=None, exclude=True)

    def source(self, name: str) -> SourceSettings:
        return self.sources.get(name) or SourceSettings()


_ORDER = list(Settings.model_fields)


def _read(file: Path) -> tuple[dict[str, Any], str]:
    try:
        text = file.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


def _sources(tables: dict[str, Any], where: str, text: str) -> tuple[dict[str, SourceSettings], list[str]]:
    """Every registered source's settings: its defaults, its table over them, key by key."""
    unknown = sorted(set(tables) - set(registry.SOURCES))
    if unknown:
        lines = [i for i, ln in enumerate(text.splitlines(), 1) if f"sources.{unknown[0]}" in ln]
        at = f" (line {lines[0]})" if lines else ""
        raise ConfigError(f"{where}: sources.{unknown[0]}{at}: unknown source "
                          f"(known: {', '.join(registry.SOURCES)})")
    merged, errors = {}, []
    for name, source in registry.SOURCES.items():
        given = tables.get(name) or {}
        if not isinstance(given, dict):
            errors += [f"{where}: sources.{name}: must be a table"]
            continue
        try:
            merged[name] = source.settings(given)
        except ValidationError as exc:
            errors += problems(exc, where, text, ("sources", name))
    return merged, errors


def load_config(path: str | os.PathLike | None = None, *, channels: bool = True) -> Settings:
    """Load ``path`` (or $DRAWWATCH_CONFIG, or ./config.toml if present, or the defaults).

    ``channels=False``: for a command that sends nothing, the notification URLs are not
    checked by Apprise (whose import alone costs a query a quarter of a second).
    """
    file = Path(path) if path is not None else default_path()
    data, text = _read(file) if file is not None else ({}, "")
    where = str(file) if file else "built-in defaults"
    tables = data.get("sources", {}) or {}
    sources, errors = _sources(tables if isinstance(tables, dict) else {}, where, text)
    rest = {k: v for k, v in data.items() if k != "sources"}
    if not isinstance(tables, dict):
        rest["sources"] = tables  # pydantic says what is wrong with it
    try:
        settings = Settings.model_validate(rest, context={"channels": channels})
    except ValidationError as exc:
        errors += problems(exc, where, text)
    if errors:
        # In the order of the file's sections, as one validation of the whole file gave them.
        top = lambda line: line.removeprefix(f"{where}: ").split(".", 1)[0].split(" ", 1)[0]  # noqa: E731
        errors.sort(key=lambda line: _ORDER.index(top(line)) if top(line) in _ORDER else len(_ORDER))
        raise ConfigError("\n".join(errors)) from None
    settings.sources = sources
    seen: set[str] = set()
    for i, profile in enumerate(settings.subscribers):
        if profile.name in seen:
            line = line_of(text, ("subscribers", i, "name")) if text else None
            raise ConfigError(f"{where}: subscribers.{i}.name{f' (line {line})' if line else ''}: "
                              f"two subscribers are named {profile.name!r}")
        seen.add(profile.name)
    if file is not None:
        settings.path = file
        settings.database.url = anchor_sqlite(settings.database.url, file.parent)
    _check_templates(settings, file, where, text)
    return settings


def _check_templates(settings: Settings, file: Path | None, where: str, text: str) -> None:
    folder = settings.templates.directory
    if folder is None:
        return
    if file is not None and not folder.is_absolute():
        folder = settings.templates.directory = file.parent / folder
    from notifier.render import check_templates  # Jinja only when a templates folder is set

    problem = check_templates(folder)
    if problem:
        line = line_of(text, ("templates", "directory")) if text else None
        raise ConfigError(f"{where}: templates.directory{f' (line {line})' if line else ''}: {problem}")
