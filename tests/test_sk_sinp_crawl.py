"""Saskatchewan for real: ``drawwatch serve`` crawling ``sk_sinp`` over HTTP on 127.0.0.1
(the raw selection results PDF, and the processing statistics page, a markdown
conversion of the live page rendered to HTML here: tests/md_render.py), then the
listings and the match reasons through the command line."""
import io
import json

import pypdfium2
import pytest

from tests.conftest import DATA, data
from tests.md_render import render
from tests.province_cli import ProvinceCli

PDF, STATS = "/api/v1/products/102708/formats/113850/download", "/sinp-processing-statistics"
SNAPSHOT = "sk_sinp_isw_eoi_selection_results.2023-01-29.raw.pdf"
BLOCK = b"<!DOCTYPE html><html><head><title>Access denied</title></head><body>Please complete the captcha</body></html>"


def first_pages(n: int) -> bytes:
    """The real PDF cut to its first ``n`` pages: a document that suddenly holds far fewer rows."""
    whole, cut = pypdfium2.PdfDocument(data(SNAPSHOT)), pypdfium2.PdfDocument.new()
    cut.import_pages(whole, list(range(n)))
    out = io.BytesIO()
    cut.save(out)
    return out.getvalue()


@pytest.fixture
def sk(tmp_path, site):
    site.put(PDF, data(SNAPSHOT), "application/pdf")
    site.put(STATS, render(DATA / "sk_sinp_processing_statistics.2026-06-20.md")[0], "text/html")
    cli = ProvinceCli(tmp_path, "sk_sinp", [
        {"name": "dev", "urls": ["json://127.0.0.1:9/unused"], "nocs": ["21231"], "provincial_points": {"SK": 85},
         "notify": ["eligible"]}])
    cli.configure(url=site.url(PDF), urls=[site.url(STATS)])
    yield cli
    cli.close()


def test_pdf_crawl_blocks_listings_and_reasons(sk, site):
    service = sk.serve()
    service.wait_for(r"sk_sinp: 159 new, 0 changed, 0 unchanged \(baseline\)", timeout=90)
    draws, _, _ = sk.held()
    service.wait_for("sk_sinp: not modified")
    assert [s for s, _ in site.hits(PDF)][:2] == [200, 304]
    assert site.hits(PDF)[1][1].get("if-none-match") == site.pages[PDF].etag
    # A bot-check page instead of the PDF: the crawl fails. The PDF cut to its first two
    # pages: held for a person (156 stored draws would be lost), nothing stored.
    site.put(PDF, BLOCK, "text/html")
    service.wait_for(r"sk_sinp: crawl failed: .*not a PDF")
    site.put(PDF, first_pages(2), "application/pdf")
    service.wait_for(r"sk_sinp: crawl held, nothing stored or sent: .*156 would be lost")
    assert service.stop() == 0, service.log
    assert sk.held()[0] == draws and "Traceback" not in service.log

    listed = json.loads(sk.invoke("draws", "--source", "sk_sinp", "--since", "2022-12-01", "--format", "json").stdout)
    assert sorted((d["key"], d["invitations"], d["score_min"]) for d in listed) == [
        ("2022-12-15/express-entry", 348, 82), ("2022-12-15/no-category/ukraine", 2, 62),
        ("2022-12-15/occupations-in-demand", 285, 82),
        ("2022-12-21/express-entry", 153, 80), ("2022-12-21/occupations-in-demand", 315, 80)]
    # --noc: the NOC 2021 code, and the draws that printed its 2016 predecessor (2173).
    by_noc = json.loads(sk.invoke("draws", "--source", "sk_sinp", "--noc", "21231", "--format", "json").stdout)
    keys = {d["key"] for d in by_noc}
    assert {"2022-12-21/express-entry", "2022-12-15/occupations-in-demand"} <= keys
    assert "2020-09-15/express-entry" in keys and "2022-12-15/no-category/ukraine" not in keys

    (fits,) = json.loads(sk.invoke("matches", "--subscriber", "dev", "--draw", "2022-12-21/express-entry",
                                   "--format", "json").stdout)
    assert fits["matched"] == "eligible" and fits["reasons"] == [
        "the draw targets your NOC 21231 Software engineers and designers",
        "your SINP EOI points 85 is above the minimum 80"]
    (ukraine,) = json.loads(sk.invoke("matches", "--subscriber", "dev", "--draw", "2022-12-15/no-category/ukraine",
                                      "--format", "json").stdout)
    assert ukraine["matched"] == "-" and ukraine["unmet"][0] == (
        "the selection was open only to candidates whose current country of residence is Ukraine (a special measure)")
