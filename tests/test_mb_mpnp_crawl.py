"""Manitoba for real: ``drawwatch serve`` crawling ``mb_mpnp`` over HTTP on 127.0.0.1
through the real spider, the store, the matcher and delivery to a local SMTP server; the
listings through the command line. The feed copies are raw; the posts and the draws
index exist only as markdown conversions of the live pages and are rendered to HTML here
(tests/md_render.py)."""
import json

import pytest

from tests.conftest import DATA, data
from tests.md_render import render
from tests.province_cli import ProvinceCli

FEED, INDEX = "/feed/", "/draws/"
# #270 comes later, through the draws index.
POSTS = {n: f"/2026/{m}/expression-of-interest-draw-{n}" for n, m in ((269, "04"), (271, "05"), (272, "06"))}
NURSE, EVERY = "nurse@example.org", "every@example.org"
STREAMS = ("skilled-worker-in-manitoba", "international-education-stream", "skilled-worker-overseas")
OCCUPATION = "skilled-worker-in-manitoba-occupation-specific"
EARLY, LATE = "mb_immigratemanitoba_feed.2023-01-17.raw.rss", "mb_immigratemanitoba_feed.2023-01-29.raw.rss"
BLOCK = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><h1>Checking if the site "
         b"connection is secure</h1>Enable JavaScript and cookies to continue</body></html>")


def index_with_270(tmp_path) -> bytes:
    """The draws index with #270's post added below #273's, as the index lists each post
    (its heading, its body, "Read More" to its address)."""
    index = (DATA / "mb_eoi_draws_index.2026-06-20.md").read_text(encoding="utf-8")
    post = (DATA / "mb_eoi_draw_270.2026-06-20.md").read_text(encoding="utf-8").split("\n---\n", 1)[1]
    entry = (f"\n## Expression of Interest Draw #270\n{post}\n[Expression of Interest Draw #270Read More »]"
             "(https://immigratemanitoba.com/2026/05/expression-of-interest-draw-270/)\n")
    (tmp_path / "index.md").write_text(index + entry, encoding="utf-8")
    return render(tmp_path / "index.md")[0]


@pytest.fixture
def mb(tmp_path, site, mailbox):
    site.put(FEED, data(EARLY), "application/rss+xml")
    site.put(INDEX, render(DATA / "mb_eoi_draws_index.2026-06-20.md")[0], "text/html")
    for n, path in POSTS.items():
        site.put(path, render(DATA / f"mb_eoi_draw_{n}.2026-06-20.md")[0], "text/html")
    cli = ProvinceCli(tmp_path, "mb_mpnp", [
        {"name": "nurse", "urls": [mailbox.url(NURSE)], "nocs": ["31301"], "provinces": ["MB"],
         "provincial_points": {"MB": 700}, "notify": ["eligible", "targeted"]},
        {"name": "every", "urls": [mailbox.url(EVERY)], "notify": ["all"], "sources": ["mb_mpnp"]}])
    cli.configure(url=site.url(FEED), urls=[site.url(INDEX)] + [site.url(p) for p in POSTS.values()])
    yield cli
    cli.close()


def test_feed_pair_alerts_blocks_and_listings(mb, site, mailbox, tmp_path):
    service = mb.serve()
    # The feed's 8 draws (18 selections: the streams each excerpt names) and 2 notices,
    # the posts #269, #271, #272 and the index's #273 (5 selections): a silent baseline.
    service.wait_for(r"mb_mpnp: 23 new, 0 changed, 0 unchanged \(baseline\)", timeout=60)
    draws, notices, _ = mb.held()
    assert set(draws) == {f"{n}-{s}" for n in (158, 160, 162, 164, 165) for s in STREAMS} | {
        "161-skilled-worker-overseas", "ukraine-8", "ukraine-9",
        f"269-{OCCUPATION}", "269-skilled-worker-stream", "271-skilled-worker-stream", "272-skilled-worker-stream", "273-skilled-worker-stream"} and notices == 2
    # Unchanged pages: conditional requests, answered 304.
    service.wait_for("mb_mpnp: not modified")
    assert [s for s, _ in site.hits(FEED)][:2] == [200, 304]
    assert site.hits(FEED)[1][1].get("if-none-match") == site.pages[FEED].etag

    # The later feed copy: #166 added, #158 out of its ten items. Exactly #166's three
    # selections are new, #158's stay stored (the feed is a window), and both
    # subscribers hear of each.
    site.put(FEED, data(LATE), "application/rss+xml")
    service.wait_for(r"mb_mpnp: 3 new, 0 changed")
    subjects = sorted(f"New draw: Manitoba EOI Draw #166 ({s}), 26 Jan 2023" for s in (
        "Skilled Worker in Manitoba", "International Education Stream", "Skilled Worker Overseas"))
    assert sorted(m.subject for m in mailbox.wait(EVERY, 3)) == subjects
    # #166 names no occupation and states no score: nothing to hold the nurse against,
    # so it is a draw she is eligible for as far as the page says.
    assert sorted(m.subject for m in mailbox.wait(NURSE, 3)) == subjects
    after, _, _ = mb.held()
    assert set(after) - set(draws) == {f"166-{s}" for s in STREAMS} and all(after[k] == draws[k] for k in draws)

    # #270 on the draws index: its two selections are new. Its occupation-specific
    # selection (teachers, educators) is not open to the nurse; its Skilled Worker Stream
    # selection names no occupation and is: she is told of that one alone.
    site.put(INDEX, index_with_270(tmp_path), "text/html")
    service.wait_for(r"mb_mpnp: 2 new, 0 changed")
    stream, occupation = (f"New draw: Manitoba EOI Draw #270 ({s}), May 2026" for s in (
        "Skilled Worker Stream", "Skilled Worker in Manitoba: Occupation-specific selection"))
    assert sorted(m.subject for m in mailbox.wait(EVERY, 5))[-2:] == sorted([occupation, stream])
    assert [m.subject for m in mailbox.wait(NURSE, 4)][3:] == [stream]
    after, _, _ = mb.held()

    # A bot-check page instead of the feed, then the real feed cut to two items (far
    # fewer than it held): the first crawl fails, the second is held for a person to look
    # at (the page may really have been cut); the store stays as it was.
    site.put(FEED, BLOCK, "text/html")
    service.wait_for(r"mb_mpnp: crawl failed: .*not an RSS feed")
    items = data(LATE).decode().split("<item>")
    site.put(FEED, ("<item>".join(items[:3]) + "</channel></rss>").encode(), "application/rss+xml")
    service.wait_for(r"mb_mpnp: crawl held, nothing stored or sent: .*/feed/ yielded 4 records where it held 20")
    assert service.stop() == 0, service.log
    assert mb.held()[0] == after and (len(mailbox.to(EVERY)), len(mailbox.to(NURSE))) == (5, 4)
    assert "Traceback" not in service.log

    # --source and --noc list Manitoba's selections: #269's occupation-specific one
    # through its broad category (3, health), #270's by the unit group it names.
    listed = json.loads(mb.invoke("draws", "--source", "mb_mpnp", "--format", "json").stdout)
    assert {d["key"] for d in listed} == set(after)
    assert {d["key"]: (d["invitations"], d["extra"]["total"], d["program"]) for d in listed
            if d["extra"]["draw"] in ("269", "270", "166")} == {
        f"269-{OCCUPATION}": (192, 308, OCCUPATION), "269-skilled-worker-stream": (116, 308, "skilled-worker-stream"),
        f"270-{OCCUPATION}": (431, 906, OCCUPATION), "270-skilled-worker-stream": (475, 906, "skilled-worker-stream"),
        **{f"166-{s}": (None, 336, s) for s in STREAMS}}
    assert [d["key"] for d in json.loads(mb.invoke("draws", "--noc", "41220", "--format", "json").stdout)] == [
        f"270-{OCCUPATION}"]
    nurses = json.loads(mb.invoke("draws", "--source", "mb_mpnp", "--noc", "31301", "--format", "json").stdout)
    assert [d["key"] for d in nurses] == [f"269-{OCCUPATION}"]
    # The table reads draws dated only by their post's month (no feed copy of them).
    table = mb.invoke("draws", "--source", "mb_mpnp", "--format", "table")
    assert table.exit_code == 0 and "Expression of Interest Draw #269" in table.output, table.output
    stats = mb.invoke("stats", "--source", "mb_mpnp", "--since", "2022-11-01", "--until", "2023-01-31",
                      "--format", "json")
    assert stats.exit_code == 0, stats.output
    # Nov 2022 - Jan 2023: #158-#166 of the feed by stream, as each excerpt names them
    # (#161 Skilled Worker Overseas alone: its 1,030; the others' per-stream counts are
    # not in the excerpt), and the two Ukraine draws (11 + 16).
    assert {(r["name"], r["rounds"], r["invitations"]) for r in json.loads(stats.output)} == {
        ("Skilled Worker in Manitoba", 6, None), ("International Education Stream", 6, None),
        ("Skilled Worker Overseas", 7, 1030), ("Special Immigration Measure – Ukraine", 2, 27)}

    def decision(draw):
        (one,) = json.loads(mb.invoke("matches", "--subscriber", "nurse", "--draw", draw, "--source", "mb_mpnp",
                                      "--format", "json").stdout)
        return one
    # What the nurse would have been told of #269's occupation-specific selection, and why.
    health = decision(f"269-{OCCUPATION}")
    assert health["matched"] == "eligible, targeted"
    assert health["reasons"] == [
        "the draw's broad occupational category 3 – Health occupations includes your NOC 31301 Registered nurses "
        "and registered psychiatric nurses"]
    # #270: its occupation-specific selection is not open to her; its Skilled Worker
    # Stream selection, which names no occupation, is (one record per selection).
    teachers = decision(f"270-{OCCUPATION}")
    assert teachers["matched"] == "-" and teachers["unmet"] == ["the draw targets 4 occupations, none of yours (31301)"]
    stream = decision("270-skilled-worker-stream")
    assert (stream["matched"], stream["unmet"]) == ("eligible", [])
