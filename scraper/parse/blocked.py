"""A bot check or captcha page served instead of the content a parser expects.

Government sites sit behind several such services (Radware on ontario.ca, Cloudflare,
Imperva/Incapsula, Akamai...): each answers a scraper with a page of its own, often with
status 200. Read as content it yields no draws, or none of the ones stored; it must
instead fail the crawl and leave the store alone.
"""
from __future__ import annotations

import re

from scraper.records import SourceBlocked

# Phrases the challenge pages of the common services write. Each alone can occur in
# a real page (a link to a captcha policy): two of them, or one in a short page, is a block.
MARKERS = (
    # Radware (ontario.ca; tests/data/CAPTCHA_BLOCKED_*)
    "radware captcha", "captcha.perfdrive.com", "made us think that you are a bot",
    "please solve this captcha", "request unblock to the website",
    # Cloudflare
    "cf-browser-verification", "challenge-platform", "cf_chl_opt", "attention required! | cloudflare",
    "checking your browser before accessing", "enable javascript and cookies to continue",
    # Imperva / Incapsula, Akamai, generic captcha widgets
    "_incapsula_resource", "incapsula incident id", "request unsuccessful. incapsula",
    "access denied</title>", "errors.edgesuite.net", "g-recaptcha", "h-captcha",
    "verify you are human", "are you a robot",
)
# A draw page with its site around it is tens of kilobytes at least; challenge pages are small.
SHORT_PAGE = 20_000
# The reference a challenge page gives for asking the site to unblock (Radware's "Incident ID").
_INCIDENT = re.compile(r"Incident ID:?\**\s*([\w-]+)", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")    # no "<" inside: a run of "<" without ">" is not rescanned


def check_blocked(body: bytes, url: str, markers: tuple[str, ...] = MARKERS) -> None:
    """Raise SourceBlocked when ``body`` is a bot-check / captcha page."""
    head = body[:200_000].decode("utf-8", "replace")
    low = head.lower()
    hits = [m for m in markers if m in low]
    if len(hits) >= 2 or (hits and len(low) < SHORT_PAGE):
        incident = _INCIDENT.search(_TAG.sub(" ", head))
        detail = f", incident {incident.group(1)}" if incident else ""
        raise SourceBlocked(f"bot-check page instead of content ({hits[0]!r}{detail})", url)
