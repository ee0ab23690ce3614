"""Keep passwords and tokens of Apprise URLs out of logs and output.

Two rules, both applied by ``mask``. Anything shaped like a URL loses its credentials
and (outside http/https) its path. And the secret parts of every notification URL
drawwatch has read (``remember``: the config's, and each subscriber row loaded from the
database) are masked wherever they appear, however a library prints them: urllib3 logs
a webhook's path without scheme nor host (``"POST /hooks/T0KEN HTTP/1.1"``), and Apprise
sends Slack's tokens to a host the URL never named.
"""
from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, quote, unquote

# scheme://user:password@host, and the token-in-path style most Apprise services use
# (slack://TokenA/TokenB/TokenC, discord://webhook_id/webhook_token, tgram://bot_token/...).
_URL = re.compile(r"\b([a-z][a-z0-9+.\-]{1,15})://([^\s'\"<>]+)", re.IGNORECASE)
_PLAIN_WEB = {"http", "https"}
# Apprise's generic webhooks post to the URL's own path and keep it in clear when it
# renders a URL privately: the whole path is the secret there (it is where tokens live).
_GENERIC = {"json", "jsons", "xml", "xmls", "form", "forms"}
# Shorter parts are left to the URL rule: masking every "api" or "v2" in a log line
# would garble the logs and protect nothing.
MIN_SECRET = 4
_PIECES = re.compile(r"[/:@?&=#,;\s]+")
_EDGE = r"A-Za-z0-9_\-~%"

_lock = threading.RLock()
_pending: list[str] = []  # URLs remembered, not yet taken apart
_seen: set[str] = set()  # URLs taken apart
_secrets: set[str] = set()
_known: re.Pattern | None = None  # every remembered secret, longest first


def mask_url(url: str) -> str:
    """The URL with its secrets replaced: Apprise's own privacy rendering when it parses."""
    shown = _private(url)
    # Apprise's privacy rendering leaves the path of generic webhooks (json://, form://,
    # xml://) in clear, where tokens often live: masked again. Its query string is
    # Apprise's own defaults (method=POST&overflow=...): noise. A URL Apprise can't read
    # is masked by the generic rule alone.
    return mask(shown.split("?", 1)[0] if shown is not None else url)


def _private(url: str) -> str | None:
    """Apprise's privacy rendering of ``url``, or None when Apprise cannot read it."""
    try:
        import apprise  # deferred: Apprise loads only where a URL is checked or sent

        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        return plugin.url(privacy=True) if plugin else None
    except Exception:  # unreadable to Apprise
        return None


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


def secret_parts(url: str) -> set[str]:
    """What of ``url`` must never be shown: the parts Apprise's privacy rendering hides
    (passwords, tokens, webhook ids), and the whole path of a generic webhook."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return set()
    main = rest.split("?", 1)[0]
    host = main.rpartition("@")[2].partition("/")[0]
    private = _private(url)
    shown = unquote(private) if private else ""  # unreadable: nothing but the host is taken as safe to show
    values = [v for _, v in parse_qsl(rest.partition("?")[2], keep_blank_values=True)]  # keys are not secret
    pieces = {p for part in _PIECES.split(" ".join([main, *values])) for p in {part, unquote(part)}
              if len(p) >= MIN_SECRET}
    secrets = {p for p in pieces if p not in (shown or host)}
    path = main.rpartition("@")[2][len(host):]
    if scheme.lower() in _GENERIC and len(path) > 1:
        secrets |= {path, unquote(path)}
    return secrets


def remember(*urls: str) -> None:
    """Mask the secret parts of these notification URLs wherever they appear from now on.

    Taken apart when a text is first masked: that loads Apprise, which a query command
    that logs nothing should not pay for.
    """
    _pending.extend(u for u in urls if isinstance(u, str) and u not in _seen)


def _learn() -> None:
    global _known
    with _lock:
        batch = [u for u in dict.fromkeys(_pending) if u not in _seen]
        _pending.clear()
        found: set[str] = set()
        for url in batch:
            found |= secret_parts(url)
            _seen.add(url)
        found |= {quote(s, safe="/") for s in found}
        if not found - _secrets:
            return
        _secrets.update(found)
        paths = _alternation(s for s in _secrets if s.startswith("/"))
        tokens = _alternation(s for s in _secrets if not s.startswith("/"))
        # Tokens as whole parts (one is printed between separators); a path as a whole,
        # after a space or a port (urllib3's request line, Apprise's URL) up to its end
        # -- not "/ana" inside "mailto://ana:...".
        _known = re.compile("|".join(filter(None, (
            tokens and rf"(?<![{_EDGE}])(?:{tokens})(?![{_EDGE}])",
            paths and rf"(?<!/)(?:{paths})(?=[\s\"'?#),;]|$)"))))


def _alternation(secrets) -> str:
    # Longest first: a secret that contains another is masked whole.
    return "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))


def mask(text: str) -> str:
    """``text`` with every URL's credentials and path tokens, and every remembered secret, hidden."""
    if _pending:
        _learn()
    text = _URL.sub(_mask_match, text)
    known = _known
    return known.sub(_hidden, text) if known is not None else text


def _hidden(m: re.Match) -> str:
    return "/****" if m.group(0).startswith("/") else "****"


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted record: message, arguments, traceback and stack alike."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))
