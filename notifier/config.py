"""The notifier's settings sections: delivery, the operator's channels, templates.

``configfile.load_config`` validates them with the rest of the file and hands the
notifier an object holding these sections and the subscribers (``NotifierConfig``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from notifier.profile import Profile, check_apprise_urls


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeliverySettings(_Strict):
    concurrency: int = Field(8, ge=1, le=256)  # messages in flight at once
    # Processes that do the sending for the deliverer (notifier.sendprocs); 0: its own
    # threads. "auto": one per CPU once concurrency is 64 or more (see ``processes``).
    send_processes: int | Literal["auto"] = "auto"

    @field_validator("send_processes", mode="before")
    @classmethod
    def _send_processes(cls, value):
        if value != "auto" and (type(value) is not int or not 0 <= value <= 64):
            raise ValueError(f'must be "auto" or a number of processes from 0 to 64, not {value!r}')
        return value

    @property
    def processes(self) -> int:
        """``send_processes`` as a number. One process's send threads top out at 700-1000
        messages/s on a 2-CPU machine, however many there are (bench/scale.py part (b)),
        so "auto" spreads the sends over every CPU once there are 32 in flight per CPU's
        process, at least two of them; below that the deliverer's own threads send as fast
        with less CPU (each send's hand-over to another process costs some)."""
        if self.send_processes != "auto":
            return self.send_processes
        processes = min(os.cpu_count() or 1, self.concurrency // 32)
        return processes if processes >= 2 else 0
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
