"""Saskatchewan as drawwatch sees it: one PDF of selection rounds (International
Skilled Worker: Express Entry and Occupations In-Demand), scored in SINP EOI points,
each naming the NOC codes it selected."""
from __future__ import annotations

from scraper.sources.base import DrawLike
from scraper.sources.checks import day
from scraper.sources.provincial import ProvincialSource

PDF_URL = "https://publications.saskatchewan.ca/api/v1/products/102708/formats/113850/download"
STATISTICS_URL = ("https://www.saskatchewan.ca/residents/moving-to-saskatchewan/live-in-saskatchewan/"
                  "by-immigrating/saskatchewan-immigrant-nominee-program/sinp-processing-statistics")
UKRAINE = "candidates whose current country of residence is Ukraine (a special measure)"


class SkSinp(ProvincialSource):
    name = "sk_sinp"
    title = "Saskatchewan Immigrant Nominee Program International Skilled Worker EOI selections"
    display_name = "Saskatchewan"
    province = "SK"
    # Saskatchewan updates the PDF after a selection, on weekdays (Regina keeps Central
    # Standard Time all year, an hour or two behind the service's Ottawa clock): every 20
    # minutes in its office hours, every 3 hours otherwise; an unchanged PDF costs a 304.
    defaults = {"url": PDF_URL, "urls": [STATISTICS_URL],
                "schedule": ["*/20 9-19 * * mon-fri", "0 */3 * * *"]}
    # ``url``: the selection results PDF; ``urls``: the processing statistics page, read
    # to notice if selection results ever move onto it (today it holds none).
    parsers = {"selections": "scraper.sources.sk_sinp.parse:parse_sk_selections",
               "statistics": "scraper.sources.sk_sinp.parse:parse_sk_statistics"}
    urls_kind = "statistics"
    score_labels = {"crs": "CRS", "sinp_eoi": "SINP EOI points"}
    points_label = "SINP EOI points"
    restricted_programs = {"ukraine": UKRAINE}

    def headline(self, draw: DrawLike) -> str:
        """"Saskatchewan International Skilled Worker selection (Express Entry), 21 Dec 2022"."""
        category = (draw.extra or {}).get("category") or "no category stated"
        special = ", Ukraine special measure" if draw.program == "ukraine" else ""
        return f"Saskatchewan International Skilled Worker selection ({category}{special}), {day(draw.date)}"
