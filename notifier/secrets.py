"""Keep passwords and tokens of Apprise URLs out of logs and output."""
from __future__ import annotations

import logging
import re

# scheme://user:password@host, and the token-in-path style most Apprise services use
# (slack://TokenA/TokenB/TokenC, discord://webhook_id/webhook_token, tgram://bot_token/...).
_URL = re.compile(r"\b([a-z][a-z0-9+.\-]{1,15})://([^\s'\"<>]+)", re.IGNORECASE)
_PLAIN_WEB = {"http", "https"}


def mask_url(url: str) -> str:
    """The URL with its secrets replaced: Apprise's own privacy rendering when it parses."""
    try:
        import apprise

        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        if plugin:
            # Apprise's privacy rendering leaves the path of generic webhooks
            # (json://, form://, xml://) in clear, where tokens often live.
            # Its query string is Apprise's own defaults (method=POST&overflow=...): noise.
            return mask(plugin.url(privacy=True).split("?", 1)[0])
    except Exception:  # a URL Apprise can't read is masked by the generic rule below
        pass
    return mask(url)


def _mask_match(m: re.Match) -> str:
    scheme, rest = m.group(1), m.group(2)
    # The query first: it may hold an "@" (mailto's ?to=me@example.org) that is not the
    # end of the credentials, and tokens (?token=...) of its own.
    main, query, _ = rest.partition("?")
    userinfo, at, hostpart = main.rpartition("@")
    if at:
        user = userinfo.split(":", 1)[0]
        main = f"{user}:****@{hostpart}" if ":" in userinfo else f"****@{hostpart}"
    tail = "?****" if query else ""
    if scheme.lower() in _PLAIN_WEB:
        # Web URLs: keep host and path for debugging.
        return f"{scheme}://{main}{tail}"
    host, _, path = main.partition("/")
    return f"{scheme}://{host}" + ("/****" if path else "") + tail


def mask(text: str) -> str:
    """Every URL-looking thing in ``text`` with credentials and path tokens hidden."""
    return _URL.sub(_mask_match, text)


class SecretMaskingFilter(logging.Filter):
    """Rewrites each record's final message through ``mask``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
