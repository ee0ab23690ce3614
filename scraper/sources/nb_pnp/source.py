"""New Brunswick as drawwatch sees it: the latest selection rounds, each a stream and
pathway with its invitations, the occupational categories it selected and the cut-off
of the expressions of interest it considered; no score is published."""
from __future__ import annotations

from scraper.sources.base import DrawLike
from scraper.sources.checks import day
from scraper.sources.provincial import ProvincialSource

URL = ("https://www2.gnb.ca/content/gnb/en/corporate/promo/immigration/immigrating-to-nb/"
       "invitations-to-apply.html")


class NbPnp(ProvincialSource):
    name = "nb_pnp"
    title = "New Brunswick Provincial Nominee Program and AIP selection rounds"
    display_name = "New Brunswick"
    province = "NB"
    # New Brunswick selects on weekdays in Atlantic office hours (an hour ahead of the
    # service's Ottawa clock): every 20 minutes then, every 3 hours otherwise.
    defaults = {"url": URL, "schedule": ["*/20 7-17 * * mon-fri", "0 */3 * * *"]}
    parsers = {"invitations": "scraper.sources.nb_pnp.parse:parse_nb_invitations"}
    # "Latest invitations" shows the latest rounds only; older ones move to other pages.
    windowed = frozenset({"invitations"})
    points_label = "New Brunswick EOI score"

    def headline(self, draw: DrawLike) -> str:
        """"New Brunswick Skilled Worker stream: New Brunswick Experience, 3 Jun 2026"."""
        return f"{draw.title}, {day(draw.date)}"
