"""Atom feeds of the draws (feedgen): all of them, or one source's, one category's or
stream's, or those targeting an occupation. An entry is titled like the alert's headline,
states the facts the alert states, links the official page, and its ``updated`` moves
when a correction changes the draw, so a feed reader shows the draw again."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence
from urllib.parse import quote

from markupsafe import escape

from notifier.render import draw_context, environment, link_url
from scraper.sources import registry
from store.models import Draw, as_utc

FEED_SIZE = 50  # entries: the latest draws; a reader keeps what it has already seen
EPOCH = datetime(2015, 1, 1, tzinfo=timezone.utc)  # an empty feed's "updated": before any draw


def draw_id(draw: Draw) -> str:
    """An entry's permanent id: the draw's natural key (keys hold "/", so quoted)."""
    return f"urn:drawwatch:draw:{quote(draw.source, safe='')}:{quote(draw.key, safe='')}"


def _facts_html(draw: Draw) -> str:
    # The alert's facts macro (notifier/templates/_draw.html, or the operator's
    # override): one wording of a draw's facts for alerts and feeds, scraped text escaped.
    macro = environment().get_template("_draw.html").module.facts
    return str(macro(draw_context(draw)))


def atom(draws: Sequence[Draw], *, title: str, feed_id: str, self_url: str, page_url: str,
         draw_url) -> bytes:
    """The feed of ``draws`` (newest first). ``draw_url(draw)`` is the draw's local page."""
    from feedgen.feed import FeedGenerator  # feedgen loads lxml's writer: only when a feed is asked for

    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(title)
    feed.author({"name": "drawwatch"})
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.generator("drawwatch")
    feed.updated(max((as_utc(d.updated) for d in draws), default=EPOCH))
    for draw in draws:
        context = draw_context(draw)
        entry = feed.add_entry(order="append")
        entry.id(draw_id(draw))
        entry.title(context["headline"])
        entry.updated(as_utc(draw.updated))
        entry.published(as_utc(draw.first_seen))
        local = draw_url(draw)
        # One link, the official page (the local page without an http(s) one): feedgen 1.0
        # writes an entry's links without their rel, so a second would read as a second alternate.
        entry.link(href=link_url(draw.url) or local)
        if draw.program:
            entry.category(term=draw.program, label=registry.get(draw.source).category_name(draw.program))
        entry.content(_facts_html(draw) + f'\n<p><a href="{escape(local)}">This draw on drawwatch</a></p>',
                      type="html")
    return feed.atom_str(pretty=False)
