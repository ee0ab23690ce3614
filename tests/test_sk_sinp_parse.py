"""Saskatchewan's parsers against the real snapshots: the raw selection results PDF
("Updated: December 21, 2022", read with PDFium) and the processing statistics page, a
markdown conversion of the live page rendered to HTML here (tests/md_render.py), which
must yield no draw.

Every row of the PDF is checked below (date, category, lowest score, invited, how many
NOC codes). The table was checked against two other readings of the same PDF: the cells
pdfplumber's table finder extracts (122 of the rows: it misses the tables of some pages;
all 122 agree), and the "score count" pairs found line by line in pypdf's text (158: one
row's pair breaks over two lines; all agree, in order). pypdf, the reader before PDFium,
gave the same rows, every field and text alike (tests/golden/ kept byte for byte).

The PDF is read once for this file (module-scoped fixtures)."""
import pytest

from scraper.records import ParseError
from scraper.sources.sk_sinp.parse import parse_sk_selections, parse_sk_statistics, pdf_text, read_rows
from tests.conftest import DATA, data
from tests.md_render import render

PDF = "sk_sinp_isw_eoi_selection_results.2023-01-29.raw.pdf"
URL = "https://publications.saskatchewan.ca/api/v1/products/102708/formats/113850/download"

# date | category as printed | score of lowest ranked candidate | candidates invited | NOC codes [| ukraine]
ROWS = """\
2022-12-21 | Express Entry | 80 | 153 | 109
2022-12-21 | Occupations In-Demand | 80 | 315 | 109
2022-12-15 | Express Entry | 82 | 348 | 119
2022-12-15 | Occupations In-Demand | 82 | 285 | 119
2022-12-15 |  | 62 | 2 | 0 | ukraine
2022-11-08 | Express Entry | 69 | 10 | 6
2022-11-08 | Occupations in-Demand | 69 | 21 | 6
2022-11-08 |  | 64 | 4 | 0 | ukraine
2022-09-28 | Express Entry | 81 | 639 | 82
2022-09-28 | Occupations In-Demand | 83 | 507 | 94
2022-09-15 | Express Entry | 60 | 53 | 6
2022-09-15 | Occupations In-Demand | 60 | 273 | 6
2022-09-07 | Express Entry | 70 | 521 | 28
2022-09-07 | Occupations In-Demand | 70 | 422 | 28
2022-09-06 | Express Entry | 60 | 143 | 10
2022-09-06 | Occupations In-Demand | 60 | 240 | 10
2022-09-06 | Express Entry | 69 | 159 | 14
2022-09-06 | Occupations In-Demand | 69 | 218 | 14
2022-09-01 | Express Entry | 61 | 312 | 10
2022-09-01 | Occupations In-Demand | 61 | 629 | 10
2022-08-25 | Express Entry | 65 | 295 | 10
2022-08-25 | Occupations In-Demand | 65 | 334 | 10
2022-08-18 | Express Entry | 67 | 416 | 18
2022-08-18 | Occupations In-Demand | 67 | 252 | 18
2022-08-11 | Express Entry | 68 | 433 | 20
2022-08-11 | Occupations In-Demand | 68 | 312 | 20
2022-07-27 | Express Entry | 68 | 279 | 19
2022-07-27 | Occupations In-Demand | 68 | 469 | 19
2022-07-21 | Express Entry | 68 | 797 | 18
2022-07-21 |  | 60 | 5 | 0 | ukraine
2022-07-14 |  | 66 | 2 | 0 | ukraine
2022-07-14 | Occupations In-Demand | 69 | 195 | 20
2022-07-14 | Express Entry | 69 | 430 | 20
2022-07-06 | Occupations In-Demand | 61 | 5 | 0 | ukraine
2022-07-06 | Express Entry | 73 | 279 | 21
2022-07-06 | Occupations In-Demand | 73 | 398 | 21
2022-05-05 | Express Entry | 85 | 106 | 41
2022-05-05 | Occupations In-Demand | 85 | 91 | 41
2022-05-05 |  | 71 | 1 | 0 | ukraine
2022-03-08 | Express Entry | 87 | 39 | 31
2022-03-08 | Occupations In-Demand | 87 | 43 | 31
2022-03-08 | Express Entry & Occupations In-Demand | 61 | 3 | 0 | ukraine
2022-03-04 | Express Entry | 61 | 14 | 0 | ukraine
2022-03-04 | Occupations In-Demand | 60 | 22 | 0 | ukraine
2022-01-12 | Express Entry | 68 | 37 | 6
2022-01-12 | Occupations In-Demand | 68 | 67 | 6
2021-11-18 | Express Entry | 65 | 425 | 14
2021-11-18 | Occupations In-Demand | 65 | 208 | 14
2021-09-27 | Occupations In-Demand | 71 | 239 | 61
2021-09-27 | Express Entry | 71 | 152 | 61
2021-09-08 | Occupations In-Demand | 66 | 212 | 16
2021-09-08 | Express Entry | 66 | 316 | 16
2021-08-19 | Occupations In-Demand | 70 | 335 | 61
2021-08-19 | Express Entry | 71 | 161 | 43
2021-08-05 | Occupations In-Demand | 73 | 281 | 65
2021-08-05 | Express Entry | 73 | 171 | 65
2021-07-21 | Occupations In-Demand | 77 | 196 | 63
2021-07-21 | Express Entry | 77 | 84 | 63
2021-07-08 | Occupations In-Demand | 80 | 196 | 62
2021-07-08 | Express Entry | 80 | 99 | 62
2021-06-15 | Occupations In-Demand | 82 | 152 | 55
2021-06-15 | Express Entry | 82 | 103 | 55
2021-05-25 | Occupations In-Demand | 65 | 269 | 36
2021-05-06 | Express Entry | 70 | 136 | 63
2021-05-06 | Occupations In-Demand | 70 | 123 | 63
2021-04-22 | Express Entry | 70 | 130 | 61
2021-04-22 | Occupations In-Demand | 70 | 139 | 61
2021-04-08 | Express Entry | 70 | 146 | 58
2021-04-08 | Occupations In-Demand | 70 | 133 | 58
2021-03-24 | Express Entry | 70 | 183 | 78
2021-03-24 | Occupations In-Demand | 70 | 235 | 78
2021-03-11 | Express Entry | 71 | 72 | 76
2021-03-11 | Occupations In-Demand | 71 | 176 | 76
2021-02-25 | Express Entry | 70 | 299 | 70
2021-02-11 | Express Entry | 72 | 344 | 89
2021-02-11 | Occupations In-Demand | 72 | 197 | 89
2021-01-21 | Express Entry | 77 | 189 | 79
2021-01-21 | Occupations In-Demand | 77 | 313 | 79
2021-01-07 | Express Entry | 71 | 148 | 79
2021-01-07 | Occupations In-Demand | 71 | 237 | 79
2020-12-17 | Express Entry | 71 | 190 | 89
2020-12-17 | Occupations In-Demand | 71 | 386 | 89
2020-12-01 | Express Entry | 74 | 138 | 86
2020-12-01 | Occupations In-Demand | 74 | 426 | 86
2020-11-19 | Express Entry | 78 | 214 | 56
2020-11-19 | Occupations In-Demand | 80 | 337 | 75
2020-11-03 | Express Entry | 68 | 272 | 47
2020-11-03 | Occupations In-Demand | 68 | 262 | 55
2020-10-21 | Express Entry | 69 | 340 | 54
2020-10-21 | Occupations In-Demand | 78 | 278 | 66
2020-10-07 | Express Entry | 70 | 455 | 67
2020-09-24 | Occupations In-Demand | 82 | 257 | 81
2020-09-24 | Express Entry | 82 | 278 | 81
2020-09-15 | Occupations In-Demand | 68 | 166 | 3
2020-09-15 | Express Entry | 68 | 455 | 3
2020-08-26 | Occupations In-Demand | 68 | 573 | 51
2020-08-14 | Occupations In-Demand | 69 | 247 | 46
2020-08-14 | Express Entry | 69 | 286 | 46
2020-07-29 | Occupations In-Demand | 70 | 248 | 43
2020-07-29 | Express Entry | 70 | 254 | 43
2020-05-28 | Occupations In-Demand | 78 | 125 | 44
2020-05-28 | Express Entry | 78 | 127 | 44
2020-03-26 | Occupations In-Demand | 75 | 205 | 71
2020-02-27 | Express Entry | 69 | 301 | 93
2020-02-27 | Occupations In-Demand | 69 | 275 | 93
2020-02-13 | Express Entry | 70 | 277 | 106
2020-02-13 | Occupations In-Demand | 70 | 369 | 106
2020-01-13 | Express Entry | 69 | 125 | 65
2020-01-13 | Occupations In-Demand | 69 | 109 | 65
2020-01-09 | Express Entry | 69 | 142 | 80
2020-01-09 | Occupations In-Demand | 69 | 166 | 81
2019-12-20 | Express Entry | 69 | 304 | 96
2019-12-20 | Occupations In-Demand | 69 | 291 | 96
2019-11-28 | Express Entry | 69 | 200 | 96
2019-11-28 | Occupations In-Demand | 69 | 260 | 96
2019-11-12 | Express Entry | 69 | 303 | 93
2019-11-12 | Occupations In-Demand | 69 | 222 | 93
2019-10-31 | Express Entry | 68 | 627 | 58
2019-10-31 | Occupations In-Demand | 68 | 231 | 58
2019-10-24 | Express Entry | 69 | 372 | 129
2019-10-24 | Occupations In-Demand | 69 | 550 | 129
2019-10-17 | Express Entry | 67 | 986 | 12
2019-10-08 | Occupations In-Demand | 69 | 328 | 15
2019-10-08 | Express Entry | 69 | 231 | 15
2019-10-02 | Occupations In-Demand | 68 | 214 | 77
2019-10-02 | Express Entry | 68 | 396 | 77
2019-09-25 | Occupations In-Demand | 79 | 365 | 99
2019-09-25 | Express Entry | 70 | 404 | 99
2019-08-15 | Occupations In-Demand | 78 | 105 | 0
2019-08-15 | Express Entry | 78 | 45 | 0
2019-07-24 | Occupations In-Demand | 74 | 277 | 0
2019-07-24 | Express Entry | 74 | 104 | 0
2019-06-20 | Occupations In-Demand | 68 | 211 | 0
2019-06-20 | Express Entry | 68 | 268 | 0
2019-06-06 | Occupations In-Demand | 75 | 342 | 0
2019-06-06 | Express Entry | 75 | 84 | 0
2019-05-22 | Occupations In-Demand | 82 | 221 | 0
2019-05-22 | Express Entry | 82 | 104 | 0
2019-05-01 | Occupations In-Demand | 67 | 121 | 0
2019-05-01 | Express Entry | 67 | 81 | 0
2019-04-17 | Occupations In-Demand | 60 | 210 | 0
2019-04-17 | Express Entry | 60 | 114 | 0
2019-03-06 | Occupations In-Demand | 81 | 68 | 0
2019-03-06 | Express Entry | 67 | 70 | 0
2019-02-27 | Express Entry | 68 | 83 | 0
2019-01-16 | Occupations In-Demand | 66 | 234 | 0
2019-01-16 | Express Entry | 63 | 362 | 0
2018-12-06 | Occupations In-Demand | 61 | 532 | 0
2018-12-06 | Express Entry | 61 | 211 | 0
2018-11-23 | Occupations In-Demand | 64 | 267 | 0
2018-11-23 | Express Entry | 63 | 247 | 0
2018-11-01 | Occupations In-Demand | 61 | 671 | 0
2018-11-01 | Express Entry | 60 | 255 | 0
2018-10-10 | Occupations In-Demand | 63 | 494 | 0
2018-10-10 | Express Entry | 60 | 359 | 0
2018-09-27 | Occupations In-Demand | 66 | 213 | 0
2018-09-27 | Express Entry | 65 | 225 | 0
2018-09-20 | Occupations In-Demand | 75 | 140 | 0
2018-08-21 | Express Entry | 68 | 466 | 0
"""


@pytest.fixture(scope="module")
def texts() -> tuple[str, ...]:
    """The PDF's pages as text, extracted once for this file."""
    return tuple(pdf_text(data(PDF), URL))


@pytest.fixture(scope="module")
def selections(texts):
    """The rows as parse_sk_selections reads them (pdf_text, then read_rows; the whole
    parser runs on this PDF in tests/test_goldens.py and the crawl test)."""
    return read_rows(list(texts), URL)


def test_every_row_of_the_pdf(selections):
    draws = selections.draws
    seen = [" | ".join([str(d.date), d.extra["category"], str(d.score_min), str(d.invitations), str(len(d.noc_codes))]
                       + (["ukraine"] if d.program == "ukraine" else [])) for d in draws]
    assert seen == ROWS.splitlines()
    assert len(draws) == 159 and len({d.key for d in draws}) == 159
    # Newest first, December 21, 2022 back to August 21, 2018.
    assert [d.date for d in draws] == sorted((d.date for d in draws), reverse=True)
    assert all(d.score_system == "sinp_eoi" and d.url == URL and d.extra["updated"] == "2022-12-21" for d in draws)
    assert all(d.flags == ["no_category"] if not d.extra["category"] else d.flags == [] for d in draws)


def test_newest_rows_field_by_field(selections):
    by_key = {d.key: d for d in selections.draws}
    ee = by_key["2022-12-21/express-entry"]
    assert (ee.title, ee.program, ee.score_min, ee.score_max, ee.invitations) == (
        "SINP International Skilled Worker EOI selection: Express Entry", "express_entry", 80, None, 153)
    # The NOC 2021 list runs over a page break (the "Updated:" header in between).
    assert len(ee.noc_codes) == 109 and ee.noc_version == "2021"
    assert ee.noc_codes[:3] == ["00012", "00013", "00015"] and ee.noc_codes[-3:] == ["92012", "92100", "93101"]
    assert "60031" in ee.noc_codes and "60040" in ee.noc_codes
    oid = by_key["2022-12-21/occupations-in-demand"]
    assert (oid.program, oid.invitations, oid.noc_codes) == ("occupations_in_demand", 315, ee.noc_codes)
    # "3122,3143,3215,..." without spaces, and "Occupations in-Demand" with a small "in".
    nov = by_key["2022-11-08/occupations-in-demand"]
    assert nov.extra["category"] == "Occupations in-Demand" and nov.invitations == 21
    assert nov.noc_codes == ["3122", "3143", "3215", "3216", "3234", "4151"] and nov.noc_version == "2016"
    # Ukraine special measures: a blank category, or one shared with a regular row.
    ukraine = by_key["2022-12-15/no-category/ukraine"]
    assert (ukraine.program, ukraine.score_min, ukraine.invitations, ukraine.noc_codes) == ("ukraine", 62, 2, [])
    assert by_key["2022-07-06/occupations-in-demand/ukraine"].invitations == 5
    assert by_key["2022-03-08/express-entry-occupations-in-demand/ukraine"].extra["category"] == \
        "Express Entry & Occupations In-Demand"
    # Two rounds on September 6, 2022: the lower row on the page is the second key.
    assert [by_key[k].invitations for k in ("2022-09-06/express-entry", "2022-09-06/express-entry/2")] == [143, 159]
    # "19-Nov-2020", "20-Dec-19": the older date forms.
    assert by_key["2020-11-19/occupations-in-demand"].score_min == 80
    assert by_key["2018-08-21/express-entry"].invitations == 466
    # Occupations named, not coded (2019): no NOC code invented, the text kept.
    named = by_key["2019-06-20/express-entry"]
    assert named.noc_codes == [] and "Accounting technicians" in named.extra["considerations"]
    # "post-" ending a line, "secondary" the next: kept as printed (PDFium marks such a
    # hyphen U+0002 and joins the lines).
    considerations = by_key["2020-05-28/express-entry"].extra["considerations"]
    assert "studied at a Saskatchewan post- secondary institution." in considerations
    assert not any("\x02" in d.text for d in selections.draws)


def test_a_row_with_an_unreadable_score_is_kept_and_flagged(texts, selections):
    """The PDF's own text with the newest row's score "80" printed as "N/A": the row is
    still read, its score kept as printed and flagged, its count and codes as before."""
    pages = list(texts[:2])
    assert "80 153 Invited" in pages[0]
    pages[0] = pages[0].replace("80 153 Invited", "N/A 153 Invited")
    result = read_rows(pages, URL)
    first = result.draws[0]
    assert (first.key, first.score_min, first.score_system, first.invitations) == (
        "2022-12-21/express-entry", None, None, 153)
    assert first.flags == ["unreadable_score"] and first.extra["raw"] == {"score_min": "N/A"}
    assert first.noc_codes == selections.draws[0].noc_codes
    assert result.problems == ["2022-12-21/express-entry: score 'N/A' or count '153' unreadable"]


def test_statistics_page_yields_no_draw():
    body, url = render(DATA / "sk_sinp_processing_statistics.2026-06-20.md")
    result = parse_sk_statistics(body, url)
    assert (result.draws, result.notices, result.problems) == ([], [], [])


def test_not_a_pdf_and_not_the_statistics_page_are_errors():
    with pytest.raises(ParseError, match="not a PDF"):
        parse_sk_selections(b"<html><title>Access denied</title>captcha</html>", URL)
    # Cut short (a download broken off): PDFium cannot load it; the error names the address.
    with pytest.raises(ParseError, match=r"unreadable PDF: Failed to load document .*\(https://publications"):
        parse_sk_selections(data(PDF)[:4000], URL)
    # A stream filter no reader knows (a damaged document): PDFium reads that page as a
    # page without text, which is a ParseError naming the page, not 42 pages' rows.
    with pytest.raises(ParseError, match=r"unreadable PDF: no text on page 1 of 43"):
        parse_sk_selections(data(PDF).replace(b"/FlateDecode", b"/FlateDecodX", 1), URL)
    with pytest.raises(ParseError, match=r"unreadable PDF: no text on pages 1, 2, 3, 4, 5 \.\.\. of 43"):
        parse_sk_selections(data(PDF).replace(b"/FlateDecode", b"/FlateDecodX"), URL)
    with pytest.raises(ParseError, match="not the SINP processing statistics page"):
        parse_sk_statistics(b"<html><body><h1>Just a moment...</h1></body></html>", URL)
