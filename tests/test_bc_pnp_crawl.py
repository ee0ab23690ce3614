"""BC for real: ``drawwatch crawl --source bc_pnp`` over HTTP on 127.0.0.1, the page of
19 May 2026 (raw, as the server sent it) then the page of 20 June 2026 (a markdown
conversion of the live page, rendered to HTML by tests/md_render.py): exactly June's
draws are new, and a subscriber they fit gets an email saying why."""
import json

import pytest

from tests.conftest import DATA, data
from tests.md_render import render
from sqlmodel import select

from store.db import session as open_session
from store.models import Draw, DrawNoc
from tests.province_cli import ProvinceCli

PATH = "/immigrate-to-b-c/about-the-bc-provincial-nominee-program/invitations-to-apply"
EARLY = data("bc_invitations_to_apply.2026-05-19.raw.html")
LATE = render(DATA / "bc_invitations_to_apply.2026-06-20.md")[0]
CAPTCHA = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2024.2026-06-19.md")[0]
JUNE = ["2026-06-18/innovate-high-economic-impact/wage", "2026-06-18/innovate-high-economic-impact/points",
        "2026-06-02/care-childcare/points", "2026-06-02/care-health/points",
        "2026-06-02/care-veterinary-care/points", "2026-06-02/build-construction-trades/points",
        "2026-06-02/entrepreneur-base", "2026-06-02/entrepreneur-regional"]


@pytest.fixture
def bc(tmp_path, site, mailbox):
    site.put(PATH, EARLY, "text/html")
    cli = ProvinceCli(tmp_path, "bc_pnp", [
        # A veterinary technician with 120 SIRS points: June 2's veterinary draw (cut-off 92) names NOC 32104.
        {"name": "vet", "urls": [mailbox.url("vet@example.org")], "nocs": ["32104"],
         "provincial_points": {"BC": 120}},
        # 140 points, no occupation given: only the high economic impact points round (136) is sure to fit.
        {"name": "tech", "urls": [mailbox.url("tech@example.org")], "provincial_points": {"BC": 140}},
    ])
    cli.configure(url=site.url(PATH))
    yield cli
    cli.close()


def stored(cli) -> dict[str, str]:
    return cli.held()[0]


def nocs(cli, key: str) -> list[str]:
    with open_session(cli.engine) as s:
        return sorted(s.exec(select(DrawNoc.noc2021).join(Draw, Draw.id == DrawNoc.draw_id)
                             .where(Draw.source == "bc_pnp", Draw.key == key)))


def test_early_late_pair_alerts_listings_captcha_and_shrunken_page(bc, site, mailbox):
    """One store through the whole story (each crawl is a child process: the machine's
    slowest step, so the steps share them)."""
    first = bc.crawl()
    assert first.returncode == 0, first.stderr
    assert "bc_pnp: 20 new, 0 changed, 0 unchanged (first crawl" in first.stdout
    baseline = stored(bc)

    site.put(PATH, LATE, "text/html")
    late = bc.crawl()
    assert late.returncode == 0, late.stderr
    assert "bc_pnp: 8 new, 0 changed, 20 unchanged" in late.stdout
    # Conditional on what the first crawl stored.
    status, headers = site.hits(PATH)[-1]
    assert status == 200 and headers["if-none-match"].startswith('"') and "if-modified-since" in headers
    after = stored(bc)
    assert sorted(set(after) - set(baseline)) == sorted(JUNE)
    assert all(after[k] == v for k, v in baseline.items())
    assert nocs(bc, "2026-06-02/care-veterinary-care/points") == ["32104"]

    sent = bc.invoke("deliver")
    assert sent.exit_code == 0, sent.output
    [vet] = mailbox.wait("vet@example.org")
    assert vet.subject == "New draw: BC Skills Immigration draw (Care: Veterinary Care), 2 Jun 2026"
    assert "the draw targets your NOC 32104" in vet.body
    assert "your BC SIRS score 120 is above the minimum 92" in vet.body
    [tech] = mailbox.wait("tech@example.org")
    assert tech.subject == "New draw: BC Skills Immigration draw (Innovate: High Economic Impact), 18 Jun 2026"
    assert "your BC SIRS score 140 is above the minimum 136" in tech.body
    # Nothing else: the wage round, the Entrepreneur draws (another score) and the sector
    # draws naming no code of theirs are not known to fit either of them.
    assert len(mailbox.to("vet@example.org")) == len(mailbox.to("tech@example.org")) == 1

    # The wage round is held against nothing it does not state: no points compared, its wage unknown.
    wage = json.loads(bc.invoke("matches", "--draw", "2026-06-18/innovate-high-economic-impact/wage",
                         "--format", "json").stdout)
    assert sorted(m["subscriber"] for m in wage) == ["tech", "vet"]
    for m in wage:
        assert m["reasons"] == [] and m["matched"] == "-"
        assert m["unmet"] == ["the draw selected by wage (Minimum wage of $62/hour and $125,000/year, and NOC 0, "
                              "1, 2, or 3); drawwatch does not know your wage"]

    # A sector draw naming no code: the vet's 120 points are above its 100, but whether a
    # veterinary technician is among "all priority health care occupations" is not known.
    health = json.loads(bc.invoke("matches", "--draw", "2026-06-02/care-health/points", "--subscriber", "vet",
                                  "--format", "json").stdout)
    assert health[0]["reasons"] == ["your BC SIRS score 120 is above the minimum 100"]
    assert health[0]["unmet"] == ["the draw took only all priority health care occupations; the page does not "
                                  "give every one's NOC code, so whether yours is among them is not known"]

    # Every listing reads BC's draws; --noc through DrawNoc.
    listed = json.loads(bc.invoke("draws", "--source", "bc_pnp", "--format", "json").stdout)
    assert len(listed) == 28 and {d["source"] for d in listed} == {"bc_pnp"}
    assert listed[0]["date"] == "2026-06-18"
    vet = json.loads(bc.invoke("draws", "--source", "bc_pnp", "--noc", "32104", "--format", "json").stdout)
    assert [d["key"] for d in vet] == ["2026-06-02/care-veterinary-care/points",
                                       "2026-05-06/care-veterinary-care/points"]
    childcare = bc.invoke("draws", "--noc", "42202", "--format", "csv")
    assert childcare.exit_code == 0 and childcare.output.count("2026-05-06/care-childcare/points") == 1
    regional = json.loads(bc.invoke("draws", "--category", "entrepreneur-regional", "--format", "json").stdout)
    assert [d["invitations"] for d in regional] == [None] * 4
    assert all(d["extra"]["invitations_below"] == 5 for d in regional)
    sent_rows = json.loads(bc.invoke("outbox", "--status", "sent", "--format", "json").stdout)
    assert sorted(r["draw"] for r in sent_rows) == ["bc_pnp:2026-06-02/care-veterinary-care/points",
                                                   "bc_pnp:2026-06-18/innovate-high-economic-impact/points"]
    assert json.loads(bc.invoke("notices", "--source", "bc_pnp", "--format", "json").stdout) == []
    status = bc.invoke("status")
    assert "bc_pnp" in status.output, status.output

    site.put(PATH, CAPTCHA, "text/html")
    blocked = bc.crawl()
    assert blocked.returncode == 1 and "SourceBlocked" in blocked.stderr
    assert stored(bc) == after

    # The page keeps recent draws only (older ones move to its Archives page): the page as
    # it was a month earlier, without June's draws, takes nothing away.
    site.put(PATH, EARLY, "text/html")
    rolled = bc.crawl()
    assert rolled.returncode == 0 and "bc_pnp: 0 new, 0 changed, 20 unchanged" in rolled.stdout
    # A page cut off after the Skills table (6 draws where it gave 20): held, not believed.
    site.put(PATH, EARLY[:EARLY.index(b"<h3 id=\"isPasted\"><strong>April 22, 2026")], "text/html")
    shrunk = bc.crawl()
    assert shrunk.returncode == 3 and "bc_pnp: HELD" in shrunk.stderr
    assert "yielded 6 records where it held 20" in shrunk.stderr
    assert stored(bc) == after
    assert [o for o, _ in bc.held()[2]] == ["ok", "ok", "failed", "ok", "held"]
