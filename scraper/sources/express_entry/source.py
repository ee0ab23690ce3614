"""Express Entry as drawwatch sees it: one JSON feed, federal, CRS-scored rounds for the
federal programs or for a category (an occupation list or French), and what a profile
must hold to be invited."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from scraper.sources.base import DrawLike, Source
from scraper.sources.checks import Checks, day
from scraper.sources.needs import Needs
from scraper.sources.express_entry.categories import (CATEGORIES, categories_for_noc, category_nocs,
                                                      category_version)
from store.reference.programs import PROGRAM_NAMES

FEED_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
# The French-language category's rule when the round's version has none written down.
FRENCH_CATEGORY_NCLC = 7


# Cached: matching checks every candidate profile against the same draw, and these
# depend only on the draw (or on the profile's few programs), not on each profile.
_version = lru_cache(maxsize=256)(category_version)


@lru_cache(maxsize=256)
def _covered(programs: tuple[str, ...]) -> str:
    return ", ".join(PROGRAM_NAMES.get(p, p) for p in programs)


@lru_cache(maxsize=256)
def _mine(programs: frozenset[str]) -> str:
    return f"your programs are {', '.join(sorted(programs))}" if programs else "your profile lists no program"


class ExpressEntry(Source):
    name = "express_entry"
    title = "Express Entry rounds of invitations (IRCC)"
    display_name = "Express Entry"
    # IRCC publishes rounds on weekdays, usually early-to-mid afternoon Ottawa time:
    # poll every minute then (a poll answered 304 costs milliseconds: bench/service.py),
    # hourly otherwise.
    defaults = {"url": FEED_URL, "schedule": ["* 8-19 * * mon-fri", "0 * * * *"]}
    parsers = {"feed": "scraper.sources.express_entry.parse:parse_express_entry"}

    def headline(self, draw: DrawLike) -> str:
        return f"Express Entry round #{draw.key}: {draw.title}, {day(draw.date)}"

    def category_name(self, slug: str | None) -> str:
        category = CATEGORIES.get(slug or "")
        return category.title if category else super().category_name(slug)

    def listed_nocs(self, draw: DrawLike) -> Iterable[str]:
        if draw.program and draw.category_version:
            return category_nocs(draw.program, draw.category_version) or ()
        return ()

    def check(self, checks: Checks, profile: Any, draw: Any, facts: Any) -> bool:
        slug = draw.program or "unknown"
        category = CATEGORIES.get(slug)
        targets = False
        self._programs(checks, profile, draw, slug)
        if category is not None and category.kind == "language":
            version = _version(slug, draw.category_version)
            rule = version.language_rule if version else f"NCLC {FRENCH_CATEGORY_NCLC} in French"
            nclc = profile.nclc
            checks.check(nclc is not None and nclc >= FRENCH_CATEGORY_NCLC,
                         f"your French (NCLC {nclc}) meets the rule: {rule}",
                         f"French-language round ({rule}); " + (f"your NCLC is {nclc}" if nclc is not None
                                                                  else "your profile has no NCLC level"))
        elif category is not None and category.kind == "occupation":
            version = _version(slug, draw.category_version)
            # A list compiled from weaker sources says so: the user can check it on IRCC's page.
            caveat = f", a list drawwatch holds with {version.confidence} confidence" \
                if version is not None and version.confidence != "high" else ""
            label = f"{category.title} ({draw.category_version or 'no version'}{caveat})"
            if facts.on_list:
                targets = checks.occupations(profile, facts.on_list, draw, f"the {label} list holds")
            else:
                checks.check(None, "", f"{label}: drawwatch has no occupation list for this version, "
                             "so occupation eligibility cannot be checked")
        elif category is None:
            checks.check(None, "", f"round name {draw.title!r} is not a known program or category")
        checks.score(draw, profile.crs, "CRS", profile.ee_profile_created)
        return targets

    def needs(self, draw: Any, facts: Any) -> Needs:
        # check's conditions above, as the query asks them.
        slug = draw.program or "unknown"
        category = CATEGORIES.get(slug)
        programs = {slug} if slug in PROGRAM_NAMES else set(draw.programs_covered or ())
        occupation = category is not None and category.kind == "occupation"
        return Needs(score="crs", programs=frozenset(programs) or None,
                     nclc=FRENCH_CATEGORY_NCLC if category is not None and category.kind == "language" else None,
                     occupations=frozenset(facts.on_list) if occupation and facts.on_list else None,
                     impossible=category is None or (occupation and not facts.on_list))

    @staticmethod
    def _programs(checks: Checks, profile: Any, draw: Any, slug: str) -> None:
        mine = _mine(frozenset(profile.programs))
        if slug in PROGRAM_NAMES:
            checks.check(slug in profile.programs, f"the round is for {PROGRAM_NAMES[slug]} candidates, as you are",
                         f"the round is for {PROGRAM_NAMES[slug]} candidates; " + mine)
        elif draw.programs_covered:
            covered = set(draw.programs_covered) & profile.programs
            names = _covered(tuple(draw.programs_covered))
            checks.check(bool(covered), f"the round covers {names}, including yours",
                         f"the round covers {names}; " + mine)

    def noc_lists(self, codes2021: Iterable[str]) -> dict[str, list[str]]:
        # A list compiled from weaker sources says so (see data/ee_category_nocs.md).
        return {"ee_categories": sorted({f"{c.slug} {c.version_label}"
                                         + ("" if c.confidence == "high" else f" ({c.confidence} confidence)")
                                         for code in codes2021 for c in categories_for_noc(code)})}
