"""What every test config that could crawl shares: the registered sources' default URLs are
on the internet (and more sources are enabled by default as provinces are added), so a test
turns off every source but those it serves on 127.0.0.1. No test touches the internet."""
from __future__ import annotations

from scraper.sources.registry import SOURCES


def sources_off(*keep: str) -> str:
    """``[sources.NAME] enabled = false`` tables for every registered source (test-only
    ones a test registered included) but ``keep``."""
    return "".join(f"[sources.{name}]\nenabled = false\n" for name in SOURCES if name not in keep)
