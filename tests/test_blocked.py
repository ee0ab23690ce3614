"""The bot-check test the provinces' parsers share (scraper/parse/blocked.py): each real
captcha page in tests/data is refused, and no real page of any source is (the pages with the
most script and markup around their content included). Markdown copies are rendered to HTML
(tests/md_render.py)."""
import pytest

from scraper.parse.blocked import check_blocked
from scraper.records import SourceBlocked
from tests.conftest import DATA
from tests.md_render import render

PAGES = sorted(p for p in DATA.iterdir() if p.suffix in (".html", ".md", ".rss") and "CAPTCHA" not in p.name)
CAPTCHAS = sorted(p for p in DATA.iterdir() if "CAPTCHA" in p.name)


def body(path) -> bytes:
    return render(path)[0] if path.suffix == ".md" else path.read_bytes()


@pytest.mark.parametrize("path", CAPTCHAS, ids=lambda p: p.name)
def test_every_captcha_page_is_refused(path):
    with pytest.raises(SourceBlocked, match="bot-check page instead of content"):
        check_blocked(body(path), "http://127.0.0.1/page")


def test_no_real_page_is_taken_for_one():
    assert len(PAGES) > 20 and len(CAPTCHAS) == 5
    for path in PAGES:
        check_blocked(body(path), "http://127.0.0.1/page")

