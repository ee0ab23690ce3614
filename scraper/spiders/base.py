"""What every drawwatch spider shares: fetch a list of pages, politely and conditionally.

A spider only fetches. Each response becomes a ``FetchedPage`` item; parsing, the
store and change detection happen after the crawl (scraper.crawl), so one crawl of a
multi-page source is judged as a whole.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure


@dataclass
class FetchedPage:
    url: str
    status: int               # 200, 304 (unchanged), 404 (for an optional page: absent)
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


class PageSpider(scrapy.Spider):
    """Fetches ``urls``; ``validators`` {url: (etag, last_modified)} make the GETs conditional.

    ``optional`` URLs may answer 404 without failing the crawl (a new year's page
    that does not exist yet). Every other failure is collected in ``failures`` by URL.
    ``deadline``: seconds the crawl may take from its first request (DeadlineMiddleware).
    """

    name = "page"

    def __init__(self, urls: Iterable[str] = (), validators: dict[str, tuple[str | None, str | None]] | None = None,
                 optional: Iterable[str] = (), deadline: float | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.urls = list(urls)
        self.validators = validators or {}
        self.optional = set(optional)
        self.failures: dict[str, str] = {}  # requested URL -> why it was not read
        self.deadline = deadline
        self.ends_at: float | None = None  # time.monotonic() at the deadline, from the start
        self.deadline_reached = False  # set by DeadlineMiddleware

    async def start(self):
        # From here, not from the crawl's set-up: the deadline bounds the waiting on the
        # source, not Scrapy's start-up (seconds on a loaded machine, before any request).
        if self.deadline:
            self.ends_at = time.monotonic() + self.deadline
        for url in self.urls:
            headers = {}
            etag, last_modified = self.validators.get(url, (None, None))
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            allowed = [304, 404] if url in self.optional else [304]
            yield scrapy.Request(url, headers=headers, callback=self.parse, errback=self.failed,
                                 dont_filter=True, meta={"handle_httpstatus_list": allowed},
                                 cb_kwargs={"requested": url})

    def parse(self, response, requested: str):
        header = response.headers.get
        yield FetchedPage(
            url=requested,
            status=response.status,
            body=response.body if response.status == 200 else b"",
            etag=(header("ETag") or b"").decode("latin-1") or None,
            last_modified=(header("Last-Modified") or b"").decode("latin-1") or None,
        )

    def failed(self, failure: Failure):
        request = failure.request if hasattr(failure, "request") else None
        # The URL of the plan, not the one a redirect led to: the crawl judges pages by it.
        url = request.cb_kwargs.get("requested", request.url) if request is not None else "?"
        if failure.check(HttpError):
            self.failures[url] = f"HTTP {failure.value.response.status}"
        elif failure.check(IgnoreRequest):  # the deadline, robots.txt: the message says which
            self.failures[url] = failure.getErrorMessage()
        else:
            self.failures[url] = f"{failure.type.__name__}: {failure.getErrorMessage()}"


class DeadlineMiddleware:
    """Fits every request of a crawl, robots.txt and retries included, inside its deadline
    (the spider's ``ends_at``, on ``time.monotonic()``; ``deadline``: its length in seconds).
    Robots.txt is fetched when the first page is requested, hence inside it too.

    Stopping a crawl waits for the requests in flight: each request's download timeout is
    therefore cut to the time left, and a request (a retry) that would start after the
    deadline is not sent. A source that accepts connections and never answers then ends
    the crawl at the deadline instead of after retries x timeout per page.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):  # Scrapy < 2.14 passes the spider
        spider = self.crawler.spider
        ends = getattr(spider, "ends_at", None)
        if ends is None:
            return None
        left = ends - time.monotonic()
        if left <= 0:
            spider.deadline_reached = True
            raise IgnoreRequest("not sent: the deadline was reached")
        timeout = request.meta.get("download_timeout") or self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
        request.meta["download_timeout"] = min(timeout, left)
        return None
