"""Every parser's output on every snapshot in tests/data, as golden JSON files in tests/golden/.

The goldens pin what the parsers read today, so a change to a parser that was meant to
keep its output (a refactor, a speed-up) is shown to keep it byte for byte by
tests/test_goldens.py. Only when a change of output is intended, rewrite them and read
the diff before committing it:

    .venv/bin/python -m tests.golden_write

One file per (fixture, parser): ``<fixture file name>.<parser>.json``; a parser that
refuses the page records its error (type and message) instead. The encoding is stable:
keys sorted, dates and times ISO 8601, records in the order the parser returned them.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):       # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scraper.sources.express_entry.parse import parse_express_entry  # noqa: E402
from scraper.sources.oinp.parse import merge_oinp, parse_oinp_ledger, parse_oinp_updates  # noqa: E402
from scraper.records import ParseError, ParseResult  # noqa: E402
from tests.md_render import fixture_page, parsed_updates, render  # noqa: E402

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
TECH_DRAWS_URL = "https://www.ontario.ca/page/oinp-tech-draws"
# Read by store/reference (the NOC data and its tests), not by a page parser; a third
# party's parse of the provinces' pages (the cross-checks read it).
NOT_PAGES = ("statcan_", "pnp_draws_")
MERGED = "oinp_merge.json"          # merge_oinp over every Ontario page that reads


def _page(name: str) -> tuple[bytes, str]:
    """(body, URL) of an Ontario snapshot, markdown rendered to HTML as the tests do."""
    if name.startswith("oinp_tech_draws"):
        return (DATA / name).read_bytes(), TECH_DRAWS_URL
    path = DATA / name
    return render(path) if path.suffix == ".md" else fixture_page(path)


def _updates(name: str) -> ParseResult:
    if name.startswith("oinp_updates_"):
        return parsed_updates(DATA / name)      # shared with the other OINP tests
    return parse_oinp_updates(*_page(name))


def _ledger(name: str) -> ParseResult:
    return parse_oinp_ledger(*_page(name))


def _express_entry(name: str) -> ParseResult:
    return parse_express_entry((DATA / name).read_bytes(), EE_URL)


def _province(source: str, kind: str | None = None) -> Callable[[str], ParseResult]:
    """A province's snapshot read by its source's parser of ``kind`` (default: the first):
    a markdown copy rendered (its URL from the front matter), a raw copy at the source's
    official address."""
    from scraper.sources.registry import SOURCES

    spec = SOURCES[source]

    def parse(name: str) -> ParseResult:
        path = DATA / name
        body, url = render(path) if path.suffix == ".md" else (path.read_bytes(), spec.default_settings().url)
        return spec.parser(kind or spec.default_kind)(body, url)
    return parse


# Snapshot name prefix -> the province source reading it.
PROVINCES = {"bc_invitations_to_apply.": "bc_pnp", "ab_aaip_processing_information.": "ab_aaip",
             "nl_invitations_to_apply_updates.": "nl_pnp", "ns_eoi_selection.": "ns_nsnp"}
# Snapshot name prefix -> (source, page kind), for sources reading pages of several kinds.
PROVINCE_PAGES = {"mb_immigratemanitoba_feed.": ("mb_mpnp", "feed"), "mb_eoi_draw": ("mb_mpnp", "posts"),
                  "sk_sinp_isw_eoi_selection_results.": ("sk_sinp", "selections"),
                  "sk_sinp_processing_statistics.": ("sk_sinp", "statistics"),
                  "pe_eoi_draws.": ("pe_pnp", "draws"), "nb_invitations_to_apply.": ("nb_pnp", "invitations")}


def _parsers_of(name: str) -> dict[str, Callable[[str], ParseResult]]:
    """Which parsers read the snapshot ``name`` (the crawl's page kinds, plus the
    not-a-page snapshots each Ontario parser must refuse)."""
    if name.startswith("ee_rounds_"):
        return {"express_entry": _express_entry}
    if name.startswith("oinp_updates_"):
        return {"oinp_updates": _updates}
    if name.startswith(("oinp_invitations_apply", "oinp_express_entry_notifications_interest")):
        return {"oinp_ledger": _ledger}
    if name.startswith(("CAPTCHA_BLOCKED_oinp_", "oinp_tech_draws")):
        return {"oinp_updates": _updates, "oinp_ledger": _ledger}
    for prefix, source in PROVINCES.items():
        if name.startswith(prefix):
            return {source: _province(source)}
    for prefix, (source, kind) in PROVINCE_PAGES.items():
        if name.startswith(prefix):
            return {source: _province(source, kind)}
    if name.startswith(NOT_PAGES):
        return {}
    raise SystemExit(f"tests/data/{name}: no parser is known to read it; say which in tests/golden_write.py")


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a parser's output: no stable JSON form")


def encode(outcome: dict) -> str:
    return json.dumps(outcome, default=_plain, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _outcome(parse: Callable[[str], ParseResult], name: str) -> tuple[dict, ParseResult | None]:
    try:
        result = parse(name)
    except ParseError as exc:
        return {"error": {"type": type(exc).__name__, "message": str(exc)}}, None
    return dataclasses.asdict(result), result


def goldens() -> dict[str, str]:
    """Golden file name -> its content, for every snapshot and every parser reading it."""
    out: dict[str, str] = {}
    ontario = []
    for path in sorted(DATA.iterdir()):
        for parser, parse in _parsers_of(path.name).items():
            outcome, result = _outcome(parse, path.name)
            out[f"{path.name}.{parser}.json"] = encode(outcome)
            if result is not None and parser.startswith("oinp_"):
                ontario += result.draws
    out[MERGED] = encode({"draws": [dataclasses.asdict(r) for r in merge_oinp(ontario)]})
    return out


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    wanted = goldens()
    for stale in sorted(set(p.name for p in GOLDEN.glob("*.json")) - set(wanted)):
        (GOLDEN / stale).unlink()
        print(f"removed {stale}")
    changed = 0
    for name, content in wanted.items():
        path = GOLDEN / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            changed += 1
            print(f"wrote {name}")
    print(f"{len(wanted)} goldens, {changed} written")


if __name__ == "__main__":
    main()
