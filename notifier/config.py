"""The notifier's settings sections: delivery, the operator's channels, templates.

``configfile.load_config`` validates them with the rest of the file and hands the
notifier an object holding these sections and the subscribers (``NotifierConfig``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from notifier.profile import Profile, check_apprise_urls


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    def _urls(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_apprise_urls(value, info)


class TemplateSettings(_Strict):
    # A folder whose files replace the shipped templates of the same name
    # (alert.title, alert.txt, alert.md, alert.html, correction.*, digest.*, test.*).
    directory: Path | None = None


class NotifierConfig(Protocol):
    """The sections of the loaded configuration the notifier reads."""

    delivery: DeliverySettings
    operator: OperatorSettings
    templates: TemplateSettings
    subscribers: list[Profile]
