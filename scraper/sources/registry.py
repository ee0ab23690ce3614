"""The sources drawwatch watches: every ``Source`` registered in the ``drawwatch.sources``
entry-point group (this project's own in pyproject.toml; a third party's package adds its
own the same way). The core asks the registry by name and never lists a source itself.

Loading a source imports its package only (no Scrapy, no parser: those load on use), so
query commands and config loading stay fast.
"""
from __future__ import annotations

import logging
from importlib.metadata import entry_points

from scraper.sources.base import Source

log = logging.getLogger(__name__)

GROUP = "drawwatch.sources"


class RegistryError(Exception):
    """A registered source that cannot be used (names the entry point)."""


def _discover() -> dict[str, Source]:
    found: dict[str, Source] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        if point.name in found:  # the same distribution seen twice on sys.path
            continue
        source = point.load()
        if not isinstance(source, Source) or source.name != point.name:
            raise RegistryError(f"entry point {GROUP}:{point.name} ({point.value}) is not a Source named "
                                f"{point.name!r}")
        found[point.name] = source
    log.debug("sources: %s", ", ".join(found))
    return found


# name -> Source, in name order. A dict so that tests can register a source of their own.
SOURCES: dict[str, Source] = _discover()


class Unregistered(Source):
    """The rules of a source whose package is gone (its stored draws stay readable): the
    defaults of ``Source``, under its name."""

    def __init__(self, name: str) -> None:
        self.name = self.title = self.display_name = name


def get(name: str) -> Source:
    """The source called ``name``; for a name no package registers (draws stored by a
    source since uninstalled), the default rules under that name."""
    return SOURCES.get(name) or Unregistered(name)


def names() -> list[str]:
    return list(SOURCES)
