"""Manitoba's parsers against the real snapshots: the site's RSS feed (raw, two copies)
and the draw posts and draws index, which exist only as markdown conversions of the live
pages and are rendered to HTML for these tests (tests/md_render.py). Every draw of every
copy is checked field by field; the third party's derived rows for the same draws are
checked against what the pages say (issue 16, point 6)."""
import dataclasses
import json
from datetime import date

import pytest

from scraper.records import ParseError, SourceBlocked
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
    """The post's selections, by key."""
    body, url = render(DATA / f"mb_eoi_draw_{number}.2026-06-20.md")
    return {d.key: d for d in parse_mb_posts(body, url).draws}


def initiatives(employer, ethno, franco, regional, tpp):
    return {EMPLOYER: employer, ETHNO: ethno, FRANCO: franco, REGIONAL: regional, TPP: tpp}


def sws(count, *numbers):
    """The Skilled Worker Stream selection: (key suffix, invitations, NOC codes, extra of its own)."""
    return ("skilled-worker-stream", count, [],
            {"selection": SWS, "stream": SWS, "initiatives": initiatives(*numbers)})


def occupations(count, nocs, broad=None):
    extra = {"selection": OCCUPATION, "stream": "Skilled Worker in Manitoba"}
    if broad:
        extra["broad_categories"] = broad
    return ("skilled-worker-in-manitoba-occupation-specific", count, nocs, extra)


# number -> (month, total, with Express Entry, its selections)
POSTS = {
    269: ("2026-04", 308, 105, [occupations(192, [], {"3": "Health occupations"}), sws(116, 61, 14, 15, 14, 12)]),
    270: ("2026-05", 906, 326, [occupations(431, ["41220", "41221", "42202", "43100"]),
                                sws(475, 29, 7, 7, 3, 429)]),
    271: ("2026-05", 96, 20, [sws(96, 31, 9, 4, 4, 48)]),
    # No "Number of Letters of Advice to Apply issued" line: the draw's one selection
    # issued the draw's total, stated only in the "Of the 104" sentence.
    272: ("2026-06", 104, 15, [sws(104, 40, 6, 17, 2, 39)]),
    273: ("2026-06", 124, 22, [sws(124, 49, 9, 15, 19, 32)]),
}


@pytest.mark.parametrize("number", sorted(POSTS))
def test_each_selection_of_each_draw_post_field_by_field(number):
    month, total, ee, selections = POSTS[number]
    rows = post(number)
    assert list(rows) == [f"{number}-{suffix}" for suffix, *_ in selections]
    for suffix, count, nocs, own in selections:
        d = rows[f"{number}-{suffix}"]
        assert (d.source, d.title, d.program) == ("mb_mpnp", f"Expression of Interest Draw #{number}", suffix)
        # The post's body has no date; its address has the month (the feed dates the draw).
        assert d.date is None
        assert d.extra == {"page": "post", "number": number, "draw": str(number), "month": month, "total": total,
                           "express_entry": ee, **own}
        assert d.invitations == count
        assert d.noc_codes == nocs and d.noc_version == ("2021" if nocs else None)
        # These 2026 posts state no ranking score: nothing to compare a profile with.
        assert (d.score_min, d.score_max, d.score_system) == (None, None, None)
        assert d.flags == [] and d.url.endswith(f"expression-of-interest-draw-{number}")
        # Its own lines and the draw's, not the other selection's.
        assert f"Of the {total} Letters of Advice to Apply" in d.text and "Notes" in d.text
        assert d.text.startswith(own["selection"].split(": ")[0])
    if len(selections) == 2:
        occupation, stream = rows[f"{number}-{selections[0][0]}"], rows[f"{number}-skilled-worker-stream"]
        assert "Employer Services" in stream.text and "Employer Services" not in occupation.text
        assert "were considered in this draw" in occupation.text and "in this draw:" not in stream.text


def test_selection_counts_add_up_to_the_total():
    for number, (_, total, _, selections) in POSTS.items():
        assert sum(count for _, count, _, _ in selections) == total, number
        assert sum(post(number)[f"{number}-{s}"].invitations for s, *_ in selections) == total
    assert sum(initiatives(40, 6, 17, 2, 39).values()) == 104  # #272: only the breakdown


def test_broad_category_is_the_nocs_own_list():
    """#269 names broad category 3 (health) for its occupation-specific selection: every
    NOC 2021 unit group starting with 3 is targeted through it, 31301 (registered nurses)
    among them, 41220 not; its Skilled Worker Stream selection names none."""
    mb = SOURCES["mb_mpnp"]
    rows = post(269)
    listed = set(mb.listed_nocs(rows["269-skilled-worker-in-manitoba-occupation-specific"]))
    assert "31301" in listed and "32101" in listed and "41220" not in listed
    assert all(c.startswith("3") and len(c) == 5 for c in listed) and len(listed) > 30
    assert list(mb.listed_nocs(rows["269-skilled-worker-stream"])) == []
    assert all(list(mb.listed_nocs(d)) == [] for d in post(270).values())


def test_selection_names_and_headlines():
    mb = SOURCES["mb_mpnp"]
    rows = post(270)
    assert [mb.category_name(d.program) for d in rows.values()] == [OCCUPATION, SWS]
    occupation = rows["270-skilled-worker-in-manitoba-occupation-specific"]
    occupation.date = date(2026, 5, 7)
    assert mb.headline(occupation) == f"Manitoba EOI Draw #270 ({OCCUPATION}), 7 May 2026"
    assert mb.category_name("ukraine") == "Special Immigration Measure – Ukraine"


def edited_270(old: bytes, new: bytes):
    """#270's real post with one figure edited (what a typo on the live page would be)."""
    body, url = render(DATA / "mb_eoi_draw_270.2026-06-20.md")
    assert body.count(old) == 1
    return parse_mb_posts(body.replace(old, new), url)


def test_an_unreadable_count_is_kept_verbatim_and_flagged_on_its_selection():
    result = edited_270(b"<strong>431</strong>", b"<strong>about 431</strong>")
    occupation, stream = result.draws
    assert (occupation.invitations, occupation.extra["raw"], occupation.flags) == (
        None, {"invitations": "about 431"}, ["unreadable_invitations"])
    # The other selection is read as before; an unknown count is no disagreement with the total.
    assert stream == post(270)["270-skilled-worker-stream"]
    assert result.problems == ["Expression of Interest Draw #270: " + OCCUPATION + ": invitations 'about 431' unreadable"]


def test_selections_that_do_not_add_up_to_the_total_are_flagged():
    result = edited_270(b"<strong>475</strong>", b"<strong>470</strong>")
    assert [(d.invitations, d.flags) for d in result.draws] == [
        (431, ["selections_disagree_with_total"]), (470, ["selections_disagree_with_total"])]
    assert result.problems == ["Expression of Interest Draw #270: selections add up to 901, the total says 906"]


def test_draws_index_reads_its_post_as_the_post_does():
    body, url = render(DATA / "mb_eoi_draws_index.2026-06-20.md")
    (d,) = parse_mb_posts(body, url).draws
    single = post(273)["273-skilled-worker-stream"]
    assert (d.key, d.invitations, d.extra) == (single.key, single.invitations, single.extra)
    assert d.url == "https://immigratemanitoba.com/2026/06/expression-of-interest-draw-273/"


FEED_STREAMS = ("skilled-worker-in-manitoba", "international-education-stream", "skilled-worker-overseas")


def streams_of(number, day, total, ee, streams=FEED_STREAMS):
    """A draw whose excerpt names its streams: a selection each, the count of each not in
    the excerpt (one selection alone issued the draw's total)."""
    title = f"Expression of Interest Draw #{number}"
    count = total if len(streams) == 1 else None
    return {f"{number}-{s}": (day, title, s, count, total, ee) for s in streams}


def ukraine(number, day, count):
    return {f"ukraine-{number}": (day, f"Special Immigration Measure - Ukraine Draw #{number}", "ukraine", count,
                                  None, None)}


# key -> (date as Winnipeg saw pubDate, title, program, invitations, the draw's total, with Express Entry)
FEED_DRAWS = {
    **streams_of(165, date(2023, 1, 12), 322, 27),
    **streams_of(164, date(2022, 12, 29), 280, 21),
    **ukraine(9, date(2022, 12, 28), 16),
    **streams_of(162, date(2022, 12, 16), 249, 36),
    **streams_of(161, date(2022, 12, 15), 1030, 656, ("skilled-worker-overseas",)),
    **streams_of(160, date(2022, 12, 1), 305, 31),
    **ukraine(8, date(2022, 11, 22), 11),
}


def feed_facts(result):
    return {d.key: (d.date, d.title, d.program, d.invitations, d.extra.get("total"), d.extra.get("express_entry"))
            for d in result.draws}


def test_feed_early_copy_every_item():
    result = parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-17.raw.rss"), FEED)
    assert feed_facts(result) == {**FEED_DRAWS, **streams_of(158, date(2022, 11, 17), 518, 125)}
    # #159 and #163 are not in the feed: the numbers are not contiguous and none is invented.
    assert list(dict.fromkeys(d.extra["draw"] for d in result.draws)) == [
        "165", "164", "ukraine-9", "162", "161", "160", "ukraine-8", "158"]
    by_key = {d.key: d for d in result.draws}
    assert [by_key[f"165-{s}"].extra["selection"] for s in FEED_STREAMS] == [
        "Skilled Worker in Manitoba", "International Education Stream", "Skilled Worker Overseas"]
    assert by_key["165-skilled-worker-overseas"].extra == {
        "page": "feed", "number": 165, "draw": "165", "total": 322, "express_entry": 27,
        "selection": "Skilled Worker Overseas", "stream": "Skilled Worker Overseas"}
    assert by_key["ukraine-9"].extra == {"page": "feed", "number": 9, "draw": "ukraine-9"}
    assert by_key["165-skilled-worker-in-manitoba"].url == "https://immigratemanitoba.com/2023/01/eoi-draw-165/"
    assert all(d.score_min is None and d.noc_codes == [] and d.flags == [] for d in result.draws)
    assert [(n.key, n.date, n.title) for n in result.notices] == [
        ("mpnp-information-sessions", date(2023, 1, 13), "Business Investor Stream information sessions resuming"),
        ("eoi-notices", date(2022, 12, 2), "Expression of Interest system notices")]
    text = by_key["165-skilled-worker-in-manitoba"].text
    assert "Continue reading" not in text and text.startswith("Skilled Worker in")


def test_feed_late_copy_adds_166s_selections_and_drops_158():
    early = feed_facts(parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-17.raw.rss"), FEED))
    late = feed_facts(parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-29.raw.rss"), FEED))
    # pubDate Thu, 26 Jan 2023 21:54:09 +0000 is 15:54 in Winnipeg, the 26th.
    added = streams_of(166, date(2023, 1, 26), 336, 32)
    assert {k: late[k] for k in set(late) - set(early)} == added
    assert set(early) - set(late) == {f"158-{s}" for s in FEED_STREAMS}
    assert {k: v for k, v in late.items() if k not in added} == FEED_DRAWS


def test_an_excerpt_that_does_not_name_its_selections_is_one_record():
    """A 2026 post's excerpt runs into its first selection's prose and is cut off before
    the others: the feed cannot say which selections the draw had, so the draw is one
    record (a post of it splits it); its first count is that selection's, not the draw's."""
    rss = data("mb_immigratemanitoba_feed.2023-01-29.raw.rss").decode()
    excerpt = ("Skilled Worker in Manitoba Occupation-specific selection Profiles declaring current employment in "
               "Manitoba in the unit groups listed below were considered. Number of Letters of Advice to Apply "
               "issued: 431 The following National Occupational Classification (NOC) 2021 unit groups")
    old = rss.split("<description><![CDATA[<p>", 2)[1].split(" &#8230;", 1)[0]
    rss = rss.replace(old, excerpt, 1).replace("Expression of Interest Draw #166", "Expression of Interest Draw #270")
    result = parse_mb_feed(rss.encode(), FEED)
    d = next(d for d in result.draws if d.extra["draw"] == "270")
    assert (d.key, d.program, d.invitations, d.extra.get("total")) == ("270", "eoi", None, None)
    assert [r.key for r in result.draws if r.extra["draw"] == "270"] == ["270"]
    # With the post: the post's selections, dated by the feed; the feed's record is gone.
    merged = merge_mb([d, *post(270).values()])
    assert [(m.key, m.date, m.invitations, m.extra["page"]) for m in merged] == [
        ("270-skilled-worker-in-manitoba-occupation-specific", date(2023, 1, 26), 431, "feed+post"),
        ("270-skilled-worker-stream", date(2023, 1, 26), 475, "feed+post")]
    # Posts read, but not #270's (the index's window past it, or not there yet): the
    # whole draw is left for its post to split, not stored beside its selections.
    assert [m.key for m in merge_mb([d, *post(271).values()])] == ["271-skilled-worker-stream"]
    # The feed alone (no post configured or read): the draw as one record.
    assert merge_mb([d]) == [d]


def test_feed_and_post_merge_by_selection_in_any_order():
    feed = [d for d in parse_mb_feed(data("mb_immigratemanitoba_feed.2023-01-29.raw.rss"), FEED).draws
            if d.extra["draw"] == "166"]
    # The feed copy is from 2023, the posts from 2026: the merge is what is tested. #270's
    # selections posing as #166's, the feed naming only their streams.
    page = []
    for d in post(270).values():
        d.key, d.extra["draw"], d.extra["number"] = d.key.replace("270", "166"), "166", 166
        page.append(d)
    one = merge_mb([*feed, *page])
    assert merge_mb([*page, *feed]) == one and merge_mb([*reversed(page), *reversed(feed)]) == list(reversed(one))
    # The post's selections are the draw's; the feed's three streams only date them.
    assert [(m.key, m.date, m.invitations, m.noc_codes, m.extra["page"]) for m in one] == [
        ("166-skilled-worker-in-manitoba-occupation-specific", date(2023, 1, 26), 431,
         ["41220", "41221", "42202", "43100"], "feed+post"),
        ("166-skilled-worker-stream", date(2023, 1, 26), 475, [], "feed+post")]
    assert [m.extra["selection"] for m in one] == [OCCUPATION, SWS]
    # Merged again with either page, nothing moves (a stored draw reconciled with a crawl).
    for m in one:
        assert merge_mb([m, *feed]) == [m]
        assert merge_mb([m, next(p for p in page if p.key == m.key)]) == [m]
    # The stored selection and a later crawl's correction of it: the later one stands.
    corrected = dataclasses.replace(one[1], invitations=480, extra={**one[1].extra})
    assert merge_mb([one[1], corrected])[0].invitations == 480


def test_not_a_feed_and_a_post_without_number_are_errors():
    with pytest.raises(ParseError, match="not an RSS feed"):
        parse_mb_feed(b"<html><body>Just a moment...</body></html>", FEED)
    body, _ = render(DATA / "mb_eoi_draw_271.2026-06-20.md")
    with pytest.raises(ParseError, match="draw number"):
        parse_mb_posts(body, "https://immigratemanitoba.com/some-page/")


def test_a_captcha_page_fails_instead_of_reading_as_no_draws():
    """A bot-check page served for the draws index (no draw number in its address) is a
    block, not an index without draws: read as none, the feed's draws would be stored
    whole (merge_mb) beside the selections their posts give later."""
    captcha, _ = render(DATA / "CAPTCHA_BLOCKED_oinp_updates_2024.2026-06-19.md")
    with pytest.raises(SourceBlocked):
        parse_mb_posts(captcha, "https://immigratemanitoba.com/draws/")


def test_derived_dataset_misreads_manitoba():
    """The third party's rows for #269-#273 against the posts. Its dates fall in the
    month each post's address names. Its counts are wrong where a draw has more than one
    selection or no count line: it takes the first selection's count as the draw's (#269:
    192 of 308, #270: 431 of 906, the occupation-specific selections) and gives null where
    the count is only in "Of the 104 Letters ..." (#272). The pages are right: the
    selections, one record each here, add up to the "Of the N" total the post states."""
    derived = json.loads(data("pnp_draws_bc_ab_mb.2026-07-05.derived.json"))["provinces"]["MB"]["draws"]
    rows = {int(r["note"].removeprefix("Draw #")): r for r in derived}
    ours = {n: list(post(n).values()) for n in POSTS}
    for n, selections in ours.items():
        assert {d.extra["month"] for d in selections} == {rows[n]["date"][:7]}
        assert rows[n]["score"] is None and all(d.score_min is None for d in selections)
        assert {d.extra["total"] for d in selections} == {sum(d.invitations for d in selections)}
    totals = {n: selections[0].extra["total"] for n, selections in ours.items()}
    agree = {n for n in ours if rows[n]["invitations"] == totals[n]}
    assert agree == {271, 273}
    assert {n: (rows[n]["invitations"], totals[n]) for n in (269, 270, 272)} == {
        269: (192, 308), 270: (431, 906), 272: (None, 104)}
    # What it took for the total is the occupation-specific selection's count.
    assert [(ours[n][0].program, ours[n][0].invitations) for n in (269, 270)] == [
        ("skilled-worker-in-manitoba-occupation-specific", 192), ("skilled-worker-in-manitoba-occupation-specific", 431)]


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
    assert d == post(271)["271-skilled-worker-stream"] and d.invitations == 96
