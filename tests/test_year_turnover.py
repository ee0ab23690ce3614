"""January on the pages that show the current year's draws only (Alberta, Nova Scotia, PEI),
for real: ``drawwatch crawl`` over HTTP on 127.0.0.1, alerts to a local SMTP server; and
the pages that must still be held, through the crawl's own parse and ingest on SQLite and
PostgreSQL.

No copy of these pages in January exists. The January page is made from the real copy:
its newest row kept alone, its date moved into the next year (Nova Scotia: the months
table moved into 2027 with only January's total out). Alberta's and Nova Scotia's copies
are markdown conversions of the live pages, rendered to HTML here (tests/md_render.py);
PEI's is the rendered page itself. Beside it, a truncated page: the real copy with its
newest rows only, same year, which must still be held as before; and a January row beside
last year's newest (a page half updated or a year misread), held too."""
import logging
import re

import pytest

from scraper.crawl import _parse_pages
from scraper.sources.registry import SOURCES
from scraper.spiders.base import FetchedPage
from store.ingest import ingest
from store.models import PageKeys
from tests.conftest import DATA, data
from tests.md_render import render
from tests.page_before import page_before, page_edited
from tests.province_cli import ProvinceCli

EVERY = "every@example.org"


def ab_pages(folder):
    """The real copy, its six newest draws (June 8-15) alone, the January page, and the
    six newest with a January row above them."""
    page = DATA / "ab_aaip_processing_information.2026-06-20.md"
    rows = tuple(re.findall(r"^\| [A-Z][a-z]+ \d+, 2026 \|", page.read_text(encoding="utf-8"), re.MULTILINE))
    assert len(rows) == 50 and rows[0] == "| June 15, 2026 |"  # Table 10, newest first
    truncated = page_before(page, rows[6:], folder)
    newest = re.search(r"^\| June 15, 2026 \|.*$", (folder / page.name).read_text(encoding="utf-8"),
                       re.MULTILINE).group()
    mixed = page_edited(folder / page.name, newest, newest.replace("June 15, 2026", "January 8, 2027") + "\n" + newest,
                        folder)
    page_before(page, rows[1:], folder)
    january = page_edited(folder / page.name, "| June 15, 2026 |", "| January 8, 2027 |", folder)
    return render(page)[0], truncated, january, mixed


def ns_pages(folder):
    page = DATA / "ns_eoi_selection.2026-06-20.md"
    text = page.read_text(encoding="utf-8")
    # The first month row is the markdown table's header: a month is emptied ("TBD", as the
    # page shows a month not out yet), never taken out.
    truncated = text
    for month in ("| January 2026 | 363 |", "| February 2026 | 357 |", "| March 2026 | 370 |"):
        assert truncated.count(month) == 1
        truncated = truncated.replace(month, month.rsplit("|", 2)[0] + "| TBD |")
    january = re.sub(r"^\| (\w+) 2026 \| [^|]+ \|$", r"| \1 2027 | TBD |", text, flags=re.MULTILINE)
    january = january.replace("| January 2027 | TBD |", "| January 2027 | 363 |")
    assert january.count(" 2027 |") == 12 and " 2026 |" not in january
    return render(page)[0], _rendered(truncated, folder, page.name), _rendered(january, folder, page.name), None


def _rendered(text: str, folder, name: str) -> bytes:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return render(path)[0]


def pe_pages(folder):
    """The real page, its newest two rows alone, the January page, and the January page
    with last year's newest row (6/18/2026) still above its own."""
    page = data("pe_eoi_draws.2026-06-20.rendered.html").decode()
    rows = re.findall(r"<tr>\s*<td>[0-9]+/[0-9]+/2026</td>.*?</tr>\s*", page, re.DOTALL)
    assert len(rows) == 6 and "6/18/2026" in rows[-1]  # oldest first; the first row holds the spanning cell
    truncated, january = page, page
    for row in rows[:4]:  # the newest two of six left
        truncated = truncated.replace(row, "")
    for row in rows[:-1]:
        january = january.replace(row, "")
    january = january.replace(rows[-1], rows[-1].replace("6/18/2026", "1/14/2027"))
    assert january.count("Invitation Totals<br>for 2026") == 1
    january = january.replace("Invitation Totals<br>for 2026", "Invitation Totals<br>for 2027")
    first = re.search(r"<tr>\s*<td>1/14/2027</td>", january).start()
    mixed = january[:first] + rows[-1] + january[first:]
    return page.encode(), truncated.encode(), january.encode(), mixed.encode()


CASES = {
    # source: (path, its pages (real, truncated, January, mixed), the draws the real copy holds,
    #          the truncated page's summary, the January draw's key, its alert's subject)
    "ab_aaip": ("/aaip-processing-information", ab_pages, 50, r"44 would be lost",
                "2027-01-08/aees-priority-manufacturing",
                "New draw: AAIP Alberta Express Entry Stream – Priority Sectors (Manufacturing) draw, 8 Jan 2027"),
    "ns_nsnp": ("/eoi-selection", ns_pages, 4, r"3 would be lost", "2027-01",
                "New draw: Nova Scotia EOI selections, January 2027 (monthly total)"),
    "pe_pnp": ("/en/information/office-of-immigration/expression-of-interest-draws", pe_pages, 6,
               r"yielded 2 records where it held 6", "2027-01-14/labour",
               "New draw: PEI Labour & Express Entry invitations, 14 Jan 2027"),
}


@pytest.mark.parametrize("source", sorted(CASES))
def test_january_page_is_new_year_not_lost_draws(source, tmp_path, site, mailbox):
    path, pages, n_real, _, key, subject = CASES[source]
    real, _, january, _ = pages(tmp_path)
    site.put(path, real, "text/html")
    cli = ProvinceCli(tmp_path, source, [{"name": "every", "urls": [mailbox.url(EVERY)], "notify": ["all"]}])
    cli.configure(url=site.url(path))
    try:
        first = cli.crawl()
        assert first.returncode == 0, first.stderr
        baseline = cli.held()[0]
        assert len(baseline) == n_real

        # January: the page began the next year. Last year's draws left it and are kept;
        # the one draw of the new year is new, stored and told.
        site.put(path, january, "text/html")
        turned = cli.crawl()
        assert turned.returncode == 0, turned.stderr
        assert f"{source}: {site.url(path)} began 2027" in turned.stderr
        assert turned.stderr.count("began 2027") == 1
        after, _, runs = cli.held()
        assert set(after) - set(baseline) == {key} and set(baseline) <= set(after)
        assert runs[-1] == ("ok", None)
        sent = cli.invoke("deliver")
        assert sent.exit_code == 0, sent.output
        assert [m.subject for m in mailbox.wait(EVERY)] == [subject]
    finally:
        cli.close()


def ingest_page(session, source: str, url: str, body: bytes):
    """What a crawl stores of one fetch of ``body`` (the crawl's own parse, no HTTP)."""
    result, pages = _parse_pages(SOURCES[source], [FetchedPage(url, 200, body)])
    return ingest(session, source, result, pages=pages)


@pytest.mark.parametrize("source", sorted(CASES))
def test_a_page_still_showing_last_year_is_held_on_either_database(source, store_session, tmp_path, caplog):
    path, pages, n_real, held_summary, key, _ = CASES[source]
    real, truncated, january, mixed = pages(tmp_path)
    url = "https://example.org" + path  # nothing fetched: the address only names the page
    assert len(ingest_page(store_session, source, url, real).new) == n_real

    with caplog.at_level(logging.INFO, logger="store.plan"):
        # The newest rows alone, same year: a truncated page, held as it always was.
        held = ingest_page(store_session, source, url, truncated)
        assert held.held and re.search(held_summary, held.run.error), held.run.error
        # The January row beside the newest row(s) of last year (a page half updated, or a
        # year misread): not all of a later year, so judged as any page and held.
        if mixed is not None:  # Nova Scotia's months are one year's: no row of another fits
            held = ingest_page(store_session, source, url, mixed)
            assert held.held, held.run
        assert "began" not in caplog.text
        turned = ingest_page(store_session, source, url, january)
    assert not turned.held and [d.key for d in turned.new] == [key]
    assert caplog.text.count(f"{source}: {url} began 2027") == 1
    assert store_session.get(PageKeys, url).keys == [key]
