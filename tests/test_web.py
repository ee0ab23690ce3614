"""The local web page, its JSON API and Atom feeds, over real HTTP on 127.0.0.1, on a
database filled from the real snapshots (tests/web_app.py: Ontario's pages are markdown
conversions rendered to HTML by tests/md_render.py). Every page, feed and endpoint is
fetched; the API is checked against the CLI's own JSON, the feeds parsed back with
feedparser."""
from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import urllib.request
from urllib.parse import quote, urlencode

import feedparser
import pytest
from click.testing import CliRunner

from scheduler import main
from store.db import make_engine, session as open_session
from store.models import Subscriber
from tests.configs import sources_off
from tests.service_harness import ROOT, ServiceProcess, free_port
from tests.web_app import LiveApp, fill, get
from web.config import WebSettings

SECRET = "s3cret-app-password"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'drawwatch.db'}"
    engine = make_engine(url)
    with open_session(engine) as session:
        fill(session)
        # A subscriber with a secret in its channel: the web page must never show it.
        session.add(Subscriber(name="private-person", profile={"name": "private-person",
                                                               "urls": [f"mailto://me:{SECRET}@example.org"]}))
        session.commit()
    engine.dispose()
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    return url, str(config)


@pytest.fixture(scope="module")
def site(db):
    engine = make_engine(db[0], read_only=True)
    app = LiveApp(engine, WebSettings(port=free_port())).start()
    yield app
    app.stop()
    engine.dispose()


def cli(config: str, *args: str):
    result = CliRunner().invoke(main, ["--config", config, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # stdout only: a listing cut at --limit says so on stderr
    return json.loads(result.stdout) if "json" in args else result.stdout


def fetch(site, path: str, status: int = 200, **headers) -> tuple[dict, bytes]:
    code, head, body = get(site.url + path, headers)
    assert code == status, (path, code, body[:500])
    return head, body


def page(site, path: str, status: int = 200) -> str:
    head, body = fetch(site, path, status)
    assert head["content-type"].startswith("text/html")
    return body.decode()


def rows_of(html: str) -> list[str]:
    """The draw links of the history table, in order."""
    table = html.split('id="draws"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="(/draws/[^"]+)"', table)


# -- pages ----------------------------------------------------------------------------


def test_history_lists_every_draw_newest_first_with_both_charts(site, db):
    html = page(site, "/?limit=5000")
    every = cli(db[1], "draws", "--limit", "5000", "--format", "json")
    assert rows_of(html) == [f"/draws/{d['source']}/{d['key']}" for d in every]
    assert f"{len(every)} draws" in html
    for chart, label in (("chart-cutoffs", "CRS cut-off (lowest invited)"), ("chart-invitations", "Invitations per month")):
        figure = html.split(f'id="{chart}"', 1)[1].split("</figure>", 1)[0]
        assert figure.lstrip(">").lstrip().startswith("<svg") and label in figure
    # Categories named as people know them, in the table, the legend and the filter.
    assert "Canadian Experience Class" in html and "STEM occupations" in html
    assert "Ontario EOI points cut-off" in html and "Employer Job Offer: Foreign Worker stream" in html
    # Offline: no script, stylesheet or image from anywhere but this server.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//(?!www\.canada\.ca|www\.ontario\.ca)', html)
    assert 'href="/static/style.css"' in html
    head, css = fetch(site, "/static/style.css")
    assert head["content-type"].startswith("text/css") and b"figure.chart" in css


def test_history_filters_match_the_cli(site, db):
    cases = [
        {"source": "oinp", "category": "hcp"},
        {"noc": "21231"},              # NOC 2021, finds 2016-era Ontario tech draws through the crosswalk
        {"noc": "2173"},               # the same occupation's NOC 2016 code
        {"since": "2026-04-01", "until": "2026-04-14"},
        {"source": "express_entry", "category": "stem"},
    ]
    for params in cases:
        args = [a for k, v in params.items() for a in (f"--{k}", v)]
        expected = [f"/draws/{d['source']}/{d['key']}" for d in cli(db[1], "draws", *args, "--limit", "5000",
                                                                    "--format", "json")]
        assert expected, params
        html = page(site, "/?" + urlencode(params))
        assert rows_of(html) == expected, params
        # The filter form shows what is applied, the feed link keeps it.
        assert f'href="/feeds/draws.atom?{urlencode(params)}"' in html.replace("&amp;", "&")
    # Two occupations: as repeated parameters, or as the form's field shows and sends them.
    both = cli(db[1], "draws", "--noc", "21231", "--noc", "21311", "--limit", "5000", "--format", "json")
    assert both
    html = page(site, "/?noc=21231&noc=21311")
    assert rows_of(html) == [f"/draws/{d['source']}/{d['key']}" for d in both]
    assert 'name="noc" size="6" inputmode="numeric" placeholder="21231" value="21231 21311"' in html
    assert rows_of(page(site, "/?noc=21231+21311")) == rows_of(html)
    # A filter with nothing to show says so; the charts are left out, not drawn empty.
    html = site.drawn("/?since=2030-01-01")[2].decode()
    assert "No draw matches these filters." in html and "<svg" not in html and "chart drawing" not in html


def test_history_pages(site):
    first = rows_of(page(site, "/?limit=40"))
    second_html = page(site, "/?limit=40&offset=40")
    assert rows_of(page(site, "/?limit=80")) == first + rows_of(second_html)
    assert 'href="/?offset=0&amp;limit=40"' in second_html and 'href="/?offset=80&amp;limit=40"' in second_html


def test_bad_filters_are_one_line_errors(site):
    for path, words in (("/?since=14-03-2025", "since: '14-03-2025' is not a date"),
                        ("/?noc=99999", "noc: 99999"),
                        ("/?source=nowhere", "source: 'nowhere' is not one of"),
                        ("/?since=2026-01-02&until=2026-01-01", "since: 2026-01-02 is after until"),
                        # No database binds a number this large: refused, not a server error.
                        ("/?min_crs=99999999999999999999", "min_crs: Input should be less than or equal to"),
                        ("/?offset=99999999999999999999", "offset: Input should be less than or equal to")):
        html = page(site, path, 400)
        assert words in html.replace("&#39;", "'"), path
    for path in ("/api/draws?offset=99999999999999999999",
                 "/api/draws?source=oinp&max_score=99999999999999999999"):
        _, body = fetch(site, path, 400)
        assert "less than or equal to 2147483647" in json.loads(body)["detail"], path
    code, head, body = get(site.url + "/api/draws?since=tomorrow")
    assert code == 400 and json.loads(body) == {"detail": "since: 'tomorrow' is not a date: expected YYYY-MM-DD, "
                                                          "e.g. 2025-03-14"}


def test_an_unknown_category_is_refused_as_the_cli_refuses_it(site, db):
    for params, option_args in (("category=bogus", ("--category", "bogus")),
                                ("source=oinp&category=stem", ("--source", "oinp", "--category", "stem"))):
        refused = CliRunner().invoke(main, ["--config", db[1], "draws", *option_args])
        assert refused.exit_code == 2
        said = " ".join(refused.stderr.split("Invalid value for '--category': ", 1)[1].split())
        assert said.startswith(f"'{option_args[-1]}' is not one of ") and "'hcp'" in said
        for path in (f"/api/draws?{params}", f"/feeds/draws.atom?{params}", f"/api/stats?{params}"):
            _, body = fetch(site, path, 400)
            assert json.loads(body)["detail"] == f"category: {said}", path
        html = page(site, f"/?{params}", 400)
        assert f"category: {said}" in html.replace("&#39;", "'"), params
    assert "(the categories stored for oinp)" in said and "'stem'" not in said.split("is not one of", 1)[1]
    assert rows_of(page(site, "/?category=stem"))  # a stored one still filters


def test_draw_page_shows_facts_occupations_revisions_and_charts(site, db):
    html = site.drawn("/draws/express_entry/237")[2].decode()
    detail = cli(db[1], "draws", "show", "237", "--format", "json")[0]
    assert "Express Entry round #237" in html
    assert f'href="{detail["url"]}"' in html  # the official page
    assert "invitations: 5500 → 5600" in html  # the correction
    pool = html.split('id="chart-pool"', 1)[1].split("</figure>", 1)[0]
    assert "CRS band" in pool and "601-1200" in pool
    assert 'id="chart-trend"' in html

    stem = page(site, "/draws/express_entry/293")  # a STEM round: occupations from the category's list
    nocs = stem.split('id="nocs"', 1)[1].split("</table>", 1)[0]
    assert "21231" in nocs and "Software engineers and designers" in nocs and "category" in nocs
    assert "STEM occupations (Version 1)" in stem

    ontario = cli(db[1], "draws", "--source", "oinp", "--category", "hcp", "--noc", "21231", "--format", "json")[0]
    html = page(site, f"/draws/oinp/{ontario['key']}")
    assert "Express Entry Human Capital Priorities stream" in html
    assert "crosswalk" in html and "As published (NOC 2016)" in html
    assert 'href="/feeds/draws.atom?source=oinp&amp;category=hcp"' in html

    assert "no draw with key" in page(site, "/draws/express_entry/99999", 404)


def test_no_subscriber_data_anywhere(site, db):
    paths = ["/", "/?source=oinp", "/draws/express_entry/237", "/api/draws?limit=1000", "/api/draws/latest",
             "/api/stats", "/feeds/draws.atom", "/openapi.json", "/docs"]
    for path in paths:
        _, body = fetch(site, path)
        assert SECRET.encode() not in body and b"private-person" not in body, path
    spec = json.loads(fetch(site, "/openapi.json")[1])
    assert not [p for p in spec["paths"] if "subscri" in p or "outbox" in p]


# -- API ------------------------------------------------------------------------------


def test_api_draws_is_the_cli_json_with_pages(site, db):
    head, body = fetch(site, "/api/draws?limit=100")
    assert head["content-type"] == "application/json"
    assert json.loads(body) == cli(db[1], "draws", "--limit", "100", "--format", "json")
    link = head["link"]
    assert link.startswith(f"<{site.url}/api/draws?limit=100&offset=100>") and link.endswith('rel="next"')
    second = json.loads(fetch(site, "/api/draws?limit=100&offset=100")[1])
    assert json.loads(body) + second == cli(db[1], "draws", "--limit", "200", "--format", "json")
    filtered = json.loads(fetch(site, "/api/draws?source=express_entry&min_crs=500&since=2026-01-01")[1])
    assert filtered == cli(db[1], "draws", "--source", "express_entry", "--min-crs", "500", "--since", "2026-01-01",
                           "--format", "json")
    ontario = json.loads(fetch(site, "/api/draws?source=oinp&min_score=80&max_score=90")[1])
    assert ontario == cli(db[1], "draws", "--source", "oinp", "--min-score", "80", "--max-score", "90",
                          "--format", "json") and ontario
    _, body = fetch(site, "/api/draws?min_score=80", 400)
    assert json.loads(body)["detail"].startswith("min_score: needs source")
    # The last page has no next.
    head, body = fetch(site, "/api/draws?noc=21231&limit=1000")
    assert "link" not in {k.lower() for k in head} and json.loads(body)


def test_api_one_draw_and_latest(site, db):
    detail = json.loads(fetch(site, "/api/draws/express_entry/237")[1])
    assert detail == cli(db[1], "draws", "show", "237", "--format", "json")
    assert detail[0]["revisions"][0]["changes"]["invitations"] == [5500, 5600]
    latest = json.loads(fetch(site, "/api/draws/latest")[1])[0]
    newest = cli(db[1], "draws", "--limit", "1", "--format", "json")[0]
    assert (latest["source"], latest["key"]) == (newest["source"], newest["key"])
    ontario = json.loads(fetch(site, "/api/draws/latest?source=oinp")[1])[0]
    key = cli(db[1], "draws", "--source", "oinp", "--limit", "1", "--format", "json")[0]["key"]
    assert ontario["key"] == key and "/" in key
    assert json.loads(fetch(site, f"/api/draws/oinp/{key}")[1])[0]["key"] == key
    _, body = fetch(site, "/api/draws/express_entry/nope", 404)
    assert json.loads(body) == {"detail": "no draw with key 'nope' in express_entry"}


def test_api_stats_is_the_cli_json(site, db):
    for args in ([], ["--since", "2019-01-01", "--until", "2019-12-31"], ["--source", "oinp"]):
        params = urlencode({a.lstrip("-"): b for a, b in zip(args[::2], args[1::2])})
        got = json.loads(fetch(site, f"/api/stats?{params}")[1])
        assert got == cli(db[1], "stats", *args, "--format", "json"), args
        assert got


def test_openapi_description_and_offline_docs(site):
    spec = json.loads(fetch(site, "/openapi.json")[1])
    assert {"/api/draws", "/api/draws/latest", "/api/draws/{source}/{key}", "/api/stats",
            "/feeds/draws.atom"} <= set(spec["paths"])
    names = {p["name"] for p in spec["paths"]["/api/draws"]["get"]["parameters"]}
    assert {"source", "category", "since", "until", "min_crs", "max_crs", "min_score", "max_score", "noc", "limit",
            "offset"} <= names
    docs = page(site, "/docs")
    scripts = re.findall(r'(?:src|href)="([^"]+)"', docs)
    assert scripts and all(s.startswith("/") for s in scripts), scripts
    for asset in scripts:
        fetch(site, asset)
    assert "/openapi.json" in docs


# -- feeds ----------------------------------------------------------------------------


def check_atom(site, params: dict) -> feedparser.FeedParserDict:
    """The feed parsed back: well-formed Atom 1.0 with every element Atom requires."""
    head, body = fetch(site, "/feeds/draws.atom?" + urlencode(params))
    assert head["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.id and feed.feed.title and feed.feed.updated_parsed and feed.feed.author
    assert [link.href for link in feed.feed.links if link.rel == "self"]
    for entry in feed.entries:
        assert entry.id and entry.title and entry.updated_parsed and entry.link
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    return feed


def test_feeds_all_source_category_and_occupation(site, db):
    cases = [({}, []), ({"source": "oinp"}, ["--source", "oinp"]),
             ({"source": "express_entry", "category": "cec"}, ["--source", "express_entry", "--category", "cec"]),
             ({"noc": "21231"}, ["--noc", "21231"]), ({"noc": "2173"}, ["--noc", "2173"])]
    for params, args in cases:
        feed = check_atom(site, params)
        expected = cli(db[1], "draws", *args, "--limit", "50", "--format", "json")
        assert [e.id for e in feed.entries] == [f"urn:drawwatch:draw:{d['source']}:{quote(d['key'], safe='')}"
                                                for d in expected], params
    feed = check_atom(site, {"noc": "21231"})
    assert "NOC 21231" in feed.feed.title


def test_feed_entry_reads_like_the_alert(site, db):
    feed = check_atom(site, {"source": "express_entry", "until": "2023-01-31"})
    entry = next(e for e in feed.entries if e.id.endswith(":237"))
    detail = cli(db[1], "draws", "show", "237", "--format", "json")[0]
    assert entry.title == f"Express Entry round #237: {detail['title']}, 11 Jan 2023" and detail["date"] == "2023-01-11"
    assert entry.link == detail["url"]
    facts = entry.content[0].value
    assert "Invitations: 5600" in facts and f"Lowest CRS invited: {detail['score_min']} and above" in facts
    # Corrected after it was first seen: updated moves, published stays.
    assert entry.updated_parsed > entry.published_parsed or entry.updated != entry.published
    local = f'<a href="{site.url}/draws/express_entry/237">This draw on drawwatch</a>'
    assert local in facts
    fetch(site, "/draws/express_entry/237")
    assert entry.tags[0].term == "no_program" and entry.tags[0].label == "No Program Specified"


def test_bad_feed_filter(site):
    _, body = fetch(site, "/feeds/draws.atom?noc=abc", 400)
    assert json.loads(body)["detail"].startswith("noc: ")


# -- access -----------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_token_guards_every_request(db, caplog):
    token = "a-long-enough-access-token"
    engine = make_engine(db[0], read_only=True)
    app = LiveApp(engine, WebSettings(port=free_port(), token=token)).start()
    try:
        for path in ("/", "/api/draws", "/feeds/draws.atom", "/docs", "/static/style.css"):
            code, _, body = get(app.url + path)
            assert code == 401 and b"access token" in body, path
        code, _, _ = get(app.url + "/api/draws?limit=1", {"Authorization": f"Bearer {token}"})
        assert code == 200
        assert get(app.url + "/", {"Authorization": "Bearer wrong-token-of-some-length"})[0] == 401
        # A browser: ?token= once, then the cookie; the token leaves the address at once.
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(app.url + f"/?source=oinp&token={token}")
        assert redirect.value.code == 303 and redirect.value.headers["location"].endswith("/?source=oinp")
        cookie = redirect.value.headers["set-cookie"].split(";")[0]
        assert get(app.url + "/?source=oinp", {"Cookie": cookie})[0] == 200
    finally:
        app.stop()
        engine.dispose()
    assert caplog.records and token not in caplog.text  # no request line logged with it


def test_binding_beyond_this_machine_needs_a_token(db, tmp_path):
    result = CliRunner().invoke(main, ["--config", db[1], "web", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "binding 0.0.0.0 (beyond this machine) needs an access token" in result.output
    config = tmp_path / "config.toml"
    config.write_text('[web]\nhost = "0.0.0.0"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert result.exit_code == 2
    assert f"{config}: web: binding 0.0.0.0 (beyond this machine) needs an access token" in result.output
    config.write_text('[web]\nhost = "0.0.0.0"\ntoken = "short"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert result.exit_code == 2 and "web.token (line 3): String should have at least 16 characters" in result.output


def test_a_taken_port_is_one_line(db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", db[1], "web", "--port", str(port)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in proc.stderr


def test_the_page_inside_serve_reads_only(db, tmp_path):
    """The service writes with its engine; the page it serves gets one that only reads, as
    ``drawwatch web``'s: a write through the page's engine is refused."""
    from configfile import load_config
    from scraper.service import Service
    from store.db import DatabaseError

    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db[0]}"\n[web]\nenabled = true\nport = {port}\n' + sources_off())
    writer = make_engine(db[0])

    async def serve_page():
        page = Service(load_config(config, channels=False), writer)._web()
        try:
            code, _, body = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/api/draws?limit=2")
            assert code == 200 and len(json.loads(body)) == 2
            reader = page.server.config.app.state.engine
            assert reader is not writer
            with pytest.raises(DatabaseError, match="readonly|read-only|query_only"):
                with reader.begin() as conn:
                    conn.exec_driver_sql("CREATE TABLE intruder (x INTEGER)")
        finally:
            await page.stop()

    try:
        asyncio.run(serve_page())
    finally:
        writer.dispose()


def test_serve_runs_the_page_in_its_own_loop(db, tmp_path):
    """``[web] enabled = true``: ``drawwatch serve`` serves the page beside its schedule and
    stops both on SIGTERM."""
    port = free_port()
    config = tmp_path / "config.toml"
    # No source crawled: every registered one disabled (no test touches the internet).
    config.write_text(f'[database]\nurl = "{db[0]}"\n[web]\nenabled = true\nport = {port}\n'
                      + sources_off())
    service = ServiceProcess(config).start()
    try:
        service.wait_for(rf"web page on http://127\.0\.0\.1:{port}/", timeout=60)
        code, _, body = get(f"http://127.0.0.1:{port}/api/draws?limit=3")
        assert code == 200 and len(json.loads(body)) == 3
        # A second service on the same config: the page's port is taken, it runs on without it.
        second = ServiceProcess(config).start()
        try:
            second.wait_for(rf"web page: cannot listen on 127\.0\.0\.1:{port}: .*; running without it", timeout=60)
            second.wait_for("no source is enabled", timeout=30)
        finally:
            assert second.stop() == 0, second.log
        assert "Traceback" not in second.log
    finally:
        status = service.stop()
    assert status == 0, service.log
    assert "stopped" in service.log
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
