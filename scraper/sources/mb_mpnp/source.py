"""Manitoba as drawwatch sees it: the site's news feed (every draw and notice, dated,
with the draw's total) and the draw posts (each selection with its count and the
occupations it considered), merged into one record per selection of a draw."""
from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Iterable

from scraper.sources.base import DrawLike
from scraper.sources.checks import Checks, day
from scraper.sources.provincial import ProvincialSource
from store.reference.noc import unit_groups

FEED_URL = "https://immigratemanitoba.com/feed/"
INDEX_URL = "https://immigratemanitoba.com/draws/"
_WITHIN = {"occupation-specific": "Occupation-specific selection"}


@cache
def _names() -> dict[str, str]:
    """A selection's ``program`` -> its name as Manitoba writes it; a selection within a
    stream is the stream's slug and its own ("...-occupation-specific"). The parser knows
    the streams: it loads on first use, not with the source."""
    from scraper.parse.text import slug
    from scraper.sources.mb_mpnp.parse import STREAMS

    return {slug(s): s for s in STREAMS} | {
        "ukraine": "Special Immigration Measure – Ukraine",
        "eoi": "EOI draw (selections not named)"}


@cache
def _broad_category(digit: str) -> frozenset[str]:
    """The NOC 2021 unit groups of a broad occupational category (its first digit)."""
    return frozenset(u.code for u in unit_groups("2021") if u.code.startswith(digit))


class MbMpnp(ProvincialSource):
    name = "mb_mpnp"
    title = "Manitoba Provincial Nominee Program EOI draws"
    display_name = "Manitoba"
    province = "MB"
    # Manitoba posts draws on weekday afternoons, Winnipeg time (an hour behind the
    # service's Ottawa clock): every 15 minutes in its office hours, every 2 hours otherwise.
    defaults = {"url": FEED_URL, "urls": [INDEX_URL],
                "schedule": ["*/15 9-19 * * mon-fri", "0 */2 * * *"]}
    # The feed is the first kind (``url``); the draws index and any post given in ``urls``
    # are read as posts.
    parsers = {"feed": "scraper.sources.mb_mpnp.parse:parse_mb_feed",
               "posts": "scraper.sources.mb_mpnp.parse:parse_mb_posts"}
    # The feed holds the latest ten items and the index the latest posts: an older draw
    # dropping out of them is not lost.
    urls_kind = "posts"
    windowed = frozenset({"feed", "posts"})
    combine = "scraper.sources.mb_mpnp.parse:merge_mb"
    score_labels = {"crs": "CRS", "mb_eoi": "Manitoba EOI ranking score"}
    points_label = "Manitoba EOI ranking score"
    restricted_programs = {"ukraine": "people affected by the situation in Ukraine (a special immigration measure)"}

    def headline(self, draw: DrawLike) -> str:
        """"Manitoba EOI Draw #270 (Skilled Worker Stream), 7 May 2026"."""
        selection, month = (draw.extra or {}).get("selection"), (draw.extra or {}).get("month")
        what = f" ({selection})" if selection else ""
        # A draw read from its post alone is dated by the month in the post's address.
        when = day(draw.date) if draw.date or not month else datetime.strptime(month, "%Y-%m").strftime("%b %Y")
        return f"Manitoba {draw.title.replace('Expression of Interest', 'EOI')}{what}, {when}"

    def category_name(self, slug: str | None) -> str:
        names = _names()
        if slug in names:
            return names[slug]
        stream = next((s for s in sorted(names, key=len, reverse=True) if (slug or "").startswith(s + "-")), None)
        if stream is None:
            return super().category_name(slug)
        within = slug[len(stream) + 1:]
        return f"{names[stream]}: {_WITHIN.get(within) or within.replace('-', ' ').capitalize() + ' selection'}"

    def listed_nocs(self, draw: DrawLike) -> Iterable[str]:
        # "3 – Health occupations": the page names a broad category, which is the NOC's
        # own list of every unit group whose code starts with that digit.
        codes: set[str] = set()
        for digit in (draw.extra or {}).get("broad_categories", {}):
            codes |= _broad_category(digit)
        return sorted(codes)

    def check(self, checks: Checks, profile: Any, draw: Any, facts: Any) -> bool:
        targets = super().check(checks, profile, draw, facts)
        if facts.on_list and not facts.targeted:
            names = "; ".join(f"{d} – {t}" for d, t in (draw.extra or {}).get("broad_categories", {}).items())
            targets = checks.occupations(profile, facts.on_list, draw,
                                         f"the draw's broad occupational category {names} includes")
        return targets
