"""Every parser's output on every snapshot is byte-identical to its golden file.

A failure here means a parser now reads a real page differently. If that change is
intended, rewrite the goldens and review the diff before committing it:

    .venv/bin/python -m tests.golden_write
"""
from __future__ import annotations

import difflib

import pytest

from tests.golden_write import GOLDEN, goldens

REGENERATE = "if this change of output is intended: .venv/bin/python -m tests.golden_write, then read the diff"


@pytest.fixture(scope="module")
def wanted() -> dict[str, str]:
    return goldens()


def test_every_snapshot_has_its_goldens_and_no_golden_is_stale(wanted):
    on_disk = {p.name for p in GOLDEN.glob("*.json")}
    assert sorted(set(wanted) - on_disk) == [], f"goldens missing: {REGENERATE}"
    assert sorted(on_disk - set(wanted)) == [], f"goldens of no snapshot: {REGENERATE}"


def test_the_goldens_cover_every_parser_and_their_refusals(wanted):
    kinds = {name.rsplit(".", 2)[-2] for name in wanted}
    assert {"express_entry", "oinp_updates", "oinp_ledger"} <= kinds
    refused = [name for name, content in wanted.items() if content.startswith('{\n "error"')]
    assert any("MALFORMED" in n for n in refused) and any("CAPTCHA" in n for n in refused)
    assert '"key": "411"' in wanted["ee_rounds_123_en.2026-04-21.raw.json.express_entry.json"]


def test_parsers_give_their_goldens_byte_for_byte(wanted):
    differ = []
    for name, content in wanted.items():
        path = GOLDEN / name
        stored = path.read_text(encoding="utf-8") if path.exists() else ""
        if stored != content:
            diff = difflib.unified_diff(stored.splitlines(), content.splitlines(), f"golden/{name}", "parsed now",
                                        n=1, lineterm="")
            differ.append("\n".join(list(diff)[:40]))
    assert not differ, f"{len(differ)} golden(s) differ; {REGENERATE}\n" + "\n\n".join(differ[:3])
