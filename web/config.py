"""``[web]``: where the local web page listens, whether ``drawwatch serve`` runs it, and
the access token that binding beyond this machine requires."""
from __future__ import annotations

import ipaddress
import secrets

from pydantic import BaseModel, ConfigDict, Field, model_validator

LOOPBACK_NAMES = ("localhost",)
MIN_TOKEN = 16  # characters: a token short enough to guess protects nothing


class WebError(ValueError):
    """An address the page may not be served on as configured (says what to change)."""


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Only this machine may reach the page unless a token guards it: the draw data is
    public, but the machine's other users and the network are not this page's audience
    by default."""
    if not is_loopback(host) and not token:
        raise WebError(f"binding {host} (beyond this machine) needs an access token: set [web] token "
                       f"(at least {MIN_TOKEN} characters), or bind 127.0.0.1")


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False  # `drawwatch serve` runs the page too, in its own event loop
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # Asked of every request when set (header "Authorization: Bearer TOKEN", or ?token=
    # once in a browser, which then keeps it in a cookie). Never logged.
    token: str | None = Field(None, min_length=MIN_TOKEN, repr=False)

    @model_validator(mode="after")
    def _guarded(self) -> "WebSettings":
        check_bind(self.host, self.token)
        return self
