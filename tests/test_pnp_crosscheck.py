"""A third party's parse of the same BC and Alberta pages (tests/data/pnp_draws_*.derived.json,
a rolling window of each province's latest rows) against what drawwatch reads from the
copies of those pages: every row of theirs dated within a copy of ours is found there with
the same stream, score and count. Where the two differ, the test says which is right and
why. The BC and AB copies are markdown conversions of the live pages, rendered to HTML
here (tests/md_render.py)."""
import json
from datetime import date

import pytest

from scraper.sources.ab_aaip.parse import parse_ab_processing
from scraper.sources.bc_pnp.parse import parse_bc_invitations
from tests.conftest import DATA
from tests.md_render import render

DERIVED = ["pnp_draws_bc_ab_mb.2026-07-05.derived.json", "pnp_draws_bc_ab_mb_on.2026-07-21.derived.json"]


def rows(name: str, province: str) -> list[dict]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["provinces"][province]["draws"]


@pytest.fixture(scope="module")
def bc():
    return parse_bc_invitations(*render(DATA / "bc_invitations_to_apply.2026-06-20.md")).draws


@pytest.fixture(scope="module")
def ab():
    return parse_ab_processing(*render(DATA / "ab_aaip_processing_information.2026-06-20.md")).draws


def test_bc_rows_agree_with_the_page(bc):
    ours = {(d.date.isoformat(), d.extra["stream"], d.extra["selection"][0]): d for d in bc
            if not d.program.startswith("entrepreneur-") and "announced_total" not in d.extra}
    compared = 0
    for name in DERIVED:
        for row in rows(name, "BC"):
            if date.fromisoformat(row["date"]) > date(2026, 6, 18):   # after our copy
                continue
            draw = ours[(row["date"], row["stream"], row["note"])]
            assert (draw.score_min, draw.invitations) == (row["score"], row["invitations"]), row
            # Their null score is the wage route; ours says so and compares no points.
            assert (row["score"] is None) == (draw.extra["route"] == "wage")
            compared += 1
    assert compared == 12 + 6
    # Where they differ: their veterinary rows keep only the first line of the selection.
    # The page spans that row's ITA type, score and count over two lines (raw page:
    # rowspan="2"), the second naming NOC 32104, so that line belongs to the same draw:
    # drawwatch keeps it and the code it names; the derived data loses the occupation.
    vet = ours[("2026-06-02", "Care: Veterinary Care", "All priority veterinary care occupations")]
    assert vet.noc_codes == ["32104"] and len(vet.extra["selection"]) == 2
    # They also carry only the Skills table: the prose high economic impact rounds and the
    # Entrepreneur table are draws of the same page they leave out.
    assert {r["stream"] for name in DERIVED for r in rows(name, "BC")} <= {d.extra["stream"] for d in bc}


def test_ab_rows_agree_with_the_page(ab):
    ours = {(d.date.isoformat(), d.title): d for d in ab}
    last = max(d.date for d in ab)
    compared = [row for name in DERIVED for row in rows(name, "AB") if date.fromisoformat(row["date"]) <= last]
    assert len(compared) == 6          # June 8-15 in the 5 July copy; the 21 July copy starts June 17
    for row in compared:
        draw = ours[(row["date"], row["stream"])]
        assert (draw.score_min, draw.invitations, row["note"]) == (row["score"], row["invitations"], ""), row
    # Their "Less than 10" (the Law Enforcement row of July 10, after our copy) is a null
    # count, as ours is; drawwatch also keeps the bound itself (extra.invitations_below).
    bounded = [r for r in rows(DERIVED[1], "AB") if r["invitations"] is None]
    assert [r["stream"] for r in bounded] == ["Alberta Express Entry Stream – Law Enforcement Pathway"]
    assert all(d.extra["invitations_below"] == 10 for d in ab if d.program == "aees-law-enforcement")
