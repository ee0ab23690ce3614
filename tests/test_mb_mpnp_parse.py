"""Manitoba's parsers against the real snapshots: the site's RSS feed (raw, two copies)
and the draw posts and draws index, which exist only as markdown conversions of the live
pages and are rendered to HTML for these tests (tests/md_render.py). Every draw of every
copy is checked field by field; the third party's derived rows for the same draws are
checked against what the pages say (issue 16, point 6)."""
import json
from datetime import date

import pytest

from scraper.records import ParseError
from scraper.sources.mb_mpnp.parse import merge_mb, parse_mb_feed, parse_mb_posts
from scraper.sources.registry import SOURCES
from tests.conftest import DATA, data
from tests.md_render import render

FEED = "https://immigratemanitoba.com/feed/"
TPP = "Temporary Public Policy to Facilitate Work Permits for Prospective Provincial Nominee Program Candidates (TPP)"
EMPLOYER, ETHNO, FRANCO, REGIONAL = ("Employer Services", "Ethnocultural Communities", "Francophone Community",
                                     "Regional Communities")
SWS = "Skilled Worker Stream"
OCCUPATION = "Skilled Worker in Manitoba: Occupation-specific selection"


def post(number):
    body, url = render(DATA / f"mb_eoi_draw_{number}.2026-06-20.md")
    (draw,) = parse_mb_posts(body, url).draws
    return draw


def initiatives(employer, ethno, franco, regional, tpp):
    return {EMPLOYER: employer, ETHNO: ethno, FRANCO: franco, REGIONAL: regional, TPP: tpp}


def sws(count, *numbers):
    selection = {"stream": SWS, "name": SWS, "initiatives": initiatives(*numbers)}
    if count is not None:
        selection["invitations"] = count
    return selection


# number -> (month, total, with Express Entry, selections, NOC codes)
POSTS = {
    269: ("2026-04", 308, 105, [
        {"stream": "Skilled Worker in Manitoba", "name": OCCUPATION, "invitations": 192,
         "broad_categories": {"3": "Health occupations"}},
        sws(116, 61, 14, 15, 14, 12)], []),
    270: ("2026-05", 906, 326, [
        {"stream": "Skilled Worker in Manitoba", "name": OCCUPATION, "invitations": 431,
         "nocs": ["41220", "41221", "42202", "43100"]},
        sws(475, 29, 7, 7, 3, 429)], ["41220", "41221", "42202", "43100"]),
    271: ("2026-05", 96, 20, [sws(96, 31, 9, 4, 4, 48)], []),
    # No "Number of Letters of Advice to Apply issued" line: the selection's count is not
    # stated, the draw's total only in the "Of the 104" sentence.
    272: ("2026-06", 104, 15, [sws(None, 40, 6, 17, 2, 39)], []),
    273: ("2026-06", 124, 22, [sws(124, 49, 9, 15, 19, 32)], []),
}


@pytest.mark.parametrize("number", sorted(POSTS))
def test_each_draw_post_field_by_field(number):
    month, total, ee, selections, nocs = POSTS[number]
    d = post(number)
    assert (d.source, d.key, d.title, d.program) == ("mb_mpnp", str(number),
                                                     f"Expression of Interest Draw #{number}", "eoi")
    # The post's body has no date; its address has the month (the feed dates the draw).
    assert d.date is None and d.extra["month"] == month
    assert (d.invitations, d.extra["express_entry"]) == (total, ee)
    assert d.extra["selections"] == selections
    assert d.noc_codes == nocs and d.noc_version == ("2021" if nocs else None)
    # These 2026 posts state no ranking score: nothing to compare a profile with.
    assert (d.score_min, d.score_max, d.score_system) == (None, None, None)
    assert d.flags == [] and d.url.endswith(f"expression-of-interest-draw-{number}")
    assert "Letters of Advice to Apply" in d.text and "Notes" in d.text


def test_selection_counts_add_up_to_the_total():
    for number, (_, total, _, selections, _) in POSTS.items():
        counts = [s.get("invitations") for s in selections]
        if None not in counts:
            assert sum(counts) == total, number
    assert sum(sws(None, 40, 6, 17, 2, 39)["initiatives"].values()) == 104  # #272: only the breakdown


def test_broad_category_is_the_nocs_own_list():
    """#269 names broad category 3 (health): every NOC 2021 unit group starting with 3
    is targeted through it, 31301 (registered nurses) among them, 41220 not."""
    listed = set(SOURCES["mb_mpnp"].listed_nocs(post(269)))
    assert "31301" in listed and "32101" in listed and "41220" not in listed
    assert all(c.startswith("3") and len(c) == 5 for c in listed) and len(listed) > 30
    assert list(SOURCES["mb_mpnp"].listed_nocs(post(270))) == []


def test_draws_index_reads_its_post_as_the_post_does():
    body, url = render(DATA / "mb_eoi_draws_index.2026-06-20.md")
    (d,) = parse_mb_posts(body, url).draws
    single = post(273)
    assert (d.key, d.invitations, d.extra["express_entry"], d.extra["selections"], d.extra["month"]) == \
        (single.key, single.invitations, single.extra["express_entry"], single.extra["selections"], "2026-06")
    assert d.url == "https://immigratemanitoba.com/2026/06/expression-of-interest-draw-273/"


# key -> (date as Winnipeg saw pubDate, title, invitations, with Express Entry)
FEED_DRAWS = {
    "165": (date(2023, 1, 12), "Expression of Interest Draw #165", 322, 27),
    "164": (date(2022, 12, 29), "Expression of Interest Draw #164", 280, 21),
    "ukraine-9": (date(2022, 12, 28), "Special Immigration Measure - Ukraine Draw #9", 16, None),
    "162": (date(2022, 12, 16), "Expression of Interest Draw #162", 249, 36),
    "161": (date(2022, 12, 15), "Expression of Interest Draw #161", 1030, 656),
    "160": (date(2022, 12, 1), "Expression of Interest Draw #160", 305, 31),
    "ukraine-8": (date(2022, 11, 22), "Special Immigration Measure - Ukraine Draw #8", 11, None),
}


def feed_facts(result):
    return {d.key: (d.date, d.title, d.invitations, d.extra.get("express_entry")) for d in result.draws}


def test_feed_early_copy_every_item():
    result = parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-17.raw.rss"), FEED)
    assert feed_facts(result) == {**FEED_DRAWS, "158": (date(2022, 11, 17), "Expression of Interest Draw #158",
                                                        518, 125)}
    # #159 and #163 are not in the feed: the numbers are not contiguous and none is invented.
    assert [d.key for d in result.draws] == ["165", "164", "ukraine-9", "162", "161", "160", "ukraine-8", "158"]
    by_key = {d.key: d for d in result.draws}
    assert by_key["165"].extra["streams"] == ["Skilled Worker in Manitoba", "International Education Stream",
                                              "Skilled Worker Overseas"]
    assert by_key["161"].extra["streams"] == ["Skilled Worker Overseas"]
    assert by_key["ukraine-9"].program == "ukraine" and by_key["165"].program == "eoi"
    assert by_key["165"].url == "https://immigratemanitoba.com/2023/01/eoi-draw-165/"
    assert all(d.score_min is None and d.noc_codes == [] and d.flags == [] for d in result.draws)
    assert [(n.key, n.date, n.title) for n in result.notices] == [
        ("mpnp-information-sessions", date(2023, 1, 13), "Business Investor Stream information sessions resuming"),
        ("eoi-notices", date(2022, 12, 2), "Expression of Interest system notices")]
    assert "Continue reading" not in by_key["165"].text and by_key["165"].text.startswith("Skilled Worker in")


def test_feed_late_copy_adds_166_and_drops_158():
    early = feed_facts(parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-17.raw.rss"), FEED))
    late = feed_facts(parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-29.raw.rss"), FEED))
    assert set(late) - set(early) == {"166"} and set(early) - set(late) == {"158"}
    # pubDate Thu, 26 Jan 2023 21:54:09 +0000 is 15:54 in Winnipeg, the 26th.
    assert late["166"] == (date(2023, 1, 26), "Expression of Interest Draw #166", 336, 32)
    assert {k: v for k, v in late.items() if k != "166"} == FEED_DRAWS


def test_feed_and_post_merge_into_one_draw_in_any_order():
    feed = next(d for d in parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-29.raw.rss"), FEED).draws
                if d.key == "166")
    page = post(270)
    page.key = "166"  # the feed copy is from 2023, the posts from 2026: the merge is what is tested
    one = merge_mb([feed, page])
    assert merge_mb([page, feed])[0] == one[0] and len(one) == 1
    m = one[0]
    assert m.date == date(2023, 1, 26) and m.extra["selections"] == page.extra["selections"]
    assert m.noc_codes == page.noc_codes and m.extra["page"] == "feed+post"
    # Merged again with either page, nothing moves (a stored draw reconciled with a crawl).
    assert merge_mb([m, feed])[0] == m and merge_mb([m, page])[0] == m


def test_not_a_feed_and_a_post_without_number_are_errors():
    with pytest.raises(ParseError, match="not an RSS feed"):
        parse_mb_feed(b"<html><body>Just a moment...</body></html>", FEED)
    body, _ = render(DATA / "mb_eoi_draw_271.2026-06-20.md")
    with pytest.raises(ParseError, match="draw number"):
        parse_mb_posts(body, "https://immigratemanitoba.com/some-page/")


def test_derived_dataset_misreads_manitoba():
    """The third party's rows for #269-#273 against the posts. Its dates fall in the
    month each post's address names. Its counts are wrong where a draw has more than one
    selection or no count line: it takes the first selection's count as the draw's (#269:
    192 of 308, #270: 431 of 906, the occupation-specific selections) and gives null where
    the count is only in "Of the 104 Letters ..." (#272). The pages are right: the
    selections add up to the "Of the N" total the post states."""
    derived = json.loads(data("pnp_draws_bc_ab_mb.2026-07-05.derived.json"))["provinces"]["MB"]["draws"]
    rows = {int(r["note"].removeprefix("Draw #")): r for r in derived}
    ours = {n: post(n) for n in POSTS}
    for n, d in ours.items():
        assert rows[n]["date"][:7] == d.extra["month"]
        assert rows[n]["score"] is None and d.score_min is None
    agree = {n for n, d in ours.items() if rows[n]["invitations"] == d.invitations}
    assert agree == {271, 273}
    assert {n: (rows[n]["invitations"], ours[n].invitations) for n in (269, 270, 272)} == {
        269: (192, 308), 270: (431, 906), 272: (None, 104)}
    # What it took for the total is the occupation-specific selection's count.
    assert [ours[n].extra["selections"][0]["invitations"] for n in (269, 270)] == [192, 431]


def test_plan_reads_the_feed_then_the_posts():
    mb = SOURCES["mb_mpnp"]
    pages = mb.plan(mb.settings({"urls": ["https://immigratemanitoba.com/draws/",
                                          "https://immigratemanitoba.com/2026/05/expression-of-interest-draw-270"]}),
                    backfill=False, today=date(2026, 6, 20))
    assert [(p.url, p.kind) for p in pages] == [
        ("https://immigratemanitoba.com/feed/", "feed"), ("https://immigratemanitoba.com/draws/", "posts"),
        ("https://immigratemanitoba.com/2026/05/expression-of-interest-draw-270", "posts")]
    # Both are windows of the latest posts: an older draw dropping out of them is not lost.
    assert mb.windowed == {"feed", "posts"}


def test_a_sidebar_after_the_post_adds_no_selection():
    """The live post sits in a page with a sidebar ("Recent Posts" and links to other
    draws): the post rendered with such a sidebar after it reads as the post alone."""
    body, url = render(DATA / "mb_eoi_draw_271.2026-06-20.md")
    sidebar = (b"<aside><h2>Recent Posts</h2><ul><li><a href='/2026/06/expression-of-interest-draw-272/'>"
               b"Expression of Interest Draw #272</a></li><li>Employer Services</li></ul></aside>")
    (d,) = parse_mb_posts(body.replace(b"</main>", sidebar + b"</main>"), url).draws
    assert d.extra["selections"] == POSTS[271][3] and d.invitations == 96
