"""Render a markdown conversion of a real page back to HTML for the parsers (and
parse each OINP fixture page once per test session).

Only some of Ontario's pages exist here as markdown conversions of the live page
(content real, markup not). Headings keep their levels and tables stay tables, so
the HTML parsers can read them; the YAML front matter gives the page's real URL.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import markdown

_FRONT = re.compile(r"\A---\n(?P<meta>.*?)\n---\n", re.DOTALL)


def render(path: Path) -> tuple[bytes, str]:
    """(HTML bytes, source URL) of a markdown fixture."""
    text = path.read_text(encoding="utf-8")
    url = ""
    m = _FRONT.match(text)
    if m:
        text = text[m.end():]
        src = re.search(r"^source:\s*(\S+)", m.group("meta"), re.MULTILINE)
        url = src.group(1) if src else ""
    html = markdown.markdown(text, extensions=["tables"])
    return f"<html><body><main>{html}</main></body></html>".encode(), url


def fixture_page(path: Path) -> tuple[bytes, str]:
    """(HTML bytes, URL) of an OINP fixture: markdown rendered, HTML as stored (its URL
    rebuilt from the year in the file name, "oinp_updates_<year>....html")."""
    if path.suffix == ".md":
        return render(path)
    year = path.name.split("_")[2].split(".")[0]
    return path.read_bytes(), f"https://www.ontario.ca/page/{year}-ontario-immigrant-nominee-program-updates"


@cache
def parsed_updates(path: Path):
    """An updates page parsed once per test session (the OINP test files share it)."""
    from scraper.sources.oinp.parse import parse_oinp_updates

    return parse_oinp_updates(*fixture_page(path))


def parse_oinp_page(body: bytes, url: str):
    """An Ontario fixture page read by the parser of its kind. The crawl is told each
    page's kind by the source's plan; a fixture's kind shows in its address (a yearly
    updates page's, or a ledger's)."""
    from scraper.sources.oinp.parse import parse_oinp_ledger, parse_oinp_updates

    updates = url.rstrip("/").endswith("-ontario-immigrant-nominee-program-updates")
    return (parse_oinp_updates if updates else parse_oinp_ledger)(body, url)
