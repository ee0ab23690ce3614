"""The long-lived service: every source on its schedule, the outbox drained, health watched.

One process and one asyncio loop (Scrapy's asyncio reactor, see ``run_in_reactor``)
shared by APScheduler's AsyncIOScheduler, one Scrapy AsyncCrawlerRunner and Apprise.
Each source is its own job (at most one crawl of it at a time), so a slow source never
holds up another. One sender task does everything that talks to people: it drains the
notifier's outbox as soon as a crawl may have added to it (or, on PostgreSQL, another
process's crawl did), sends operator health messages, and sweeps every
``delivery_interval`` for retries and digests.

Any number of these processes may share one database (``role``: crawler, deliverer or
both). A source is crawled only by the process holding its lease (store/leases.py), the
health checks only by the one holding the ``health`` lease; every deliverer drains the
outbox, whose rows are claimed one deliverer at a time (notifier/deliver.py).
"""
from __future__ import annotations

import asyncio
import logging
import signal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from notifier.deliver import deliver_due, send_operator
from notifier.send import stop_senders
from notifier.wake import OutboxWaiter
from scraper.crawl import EXIT_FAILED, CrawlOutcome, crawl_source, describe, exit_status, make_runner
from scraper.schedule import effective_jitter, first_run, make_trigger
from scraper.sources.registry import SOURCES
from store import health_alerts
from configfile import Settings
from store.db import DatabaseError, session as open_session
from store.ingest import Matcher
from store.leases import HEALTH, Leases, crawl_lease
from store.models import CrawlRun, utcnow

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: Settings, engine: Engine, *, matcher: Matcher | None = None, role: str = "all"):
        self.settings = settings
        self.engine = engine
        self.matcher = matcher
        self.names = [n for n in SOURCES if settings.source(n).enabled]
        self.role = role
        self.crawls = role in ("all", "crawler")
        self.delivers = role in ("all", "deliverer")
        wanted = [crawl_lease(n) for n in self.names] if self.crawls else []
        self.leases = Leases(engine, wanted + ([HEALTH] if self.delivers else []), settings.service.crawl_lease)
        self.runner = None
        self.scheduler = None
        self._crawls: dict[str, asyncio.Task] = {}
        # Sources whose last crawl failed or was held: their next success may end that.
        self._failing: set[str] = set()
        self._signals = 0

    # -- one crawl ------------------------------------------------------------------

    async def crawl(self, name: str) -> CrawlOutcome | None:
        """Crawl one source now if this process holds its lease; never raises (a broken
        source must not stop the others)."""
        if not self.leases.held(crawl_lease(name)):
            log.debug("%s: not crawled: another process holds its crawls", name)
            return None
        task = asyncio.current_task()
        self._crawls[name] = task
        try:
            log.info("%s: crawl started", name)
            outcome = await crawl_source(name, self.settings, self.engine, self.runner, matcher=self.matcher,
                                         holder=self.leases.holder.name)
        except Exception as exc:  # the failure could not even be recorded (the database): the next run tries again
            log.error("%s: crawl not recorded: %s", name, describe(exc))
            log.debug("%s: crawl not recorded", name, exc_info=exc)
            return None
        finally:
            self._crawls.pop(name, None)
        if task.cancelling():  # abandoned (shutdown, lease lost): Scrapy ends the crawl instead of raising
            raise asyncio.CancelledError
        if outcome is None:  # the lease ran out mid-crawl: another process stores the source now
            return None
        report = outcome.report
        changed = report is not None and bool(report.new or report.changed)
        # A 304 of a healthy source cannot have queued alerts nor changed its health.
        if changed or not outcome.ok or name in self._failing:
            self._wake.set()
        (self._failing.add if not outcome.ok else self._failing.discard)(name)
        return outcome

    async def _scheduled_crawl(self, name: str) -> None:
        try:
            await self.crawl(name)
        except asyncio.CancelledError:  # abandoned (shutdown, lease lost): logged as such, not as a traceback
            pass

    # -- talking to people ----------------------------------------------------------

    async def deliver(self) -> None:
        try:
            report = await deliver_due(self.engine, self.settings)
        except DatabaseError as exc:  # locked, full, unreachable: one line, and the next round tries again
            log.error("delivery round failed: database error: %s; the outbox keeps every unsent alert", exc)
            return
        except Exception:
            log.exception("delivery round failed; the outbox keeps every unsent alert")
            return
        # Quiet when there was nothing to send (every sweep); one line when there was.
        log.log(logging.INFO if report.messages else logging.DEBUG, "delivery: %s", report)

    async def _tell_operator(self, title: str, body: str) -> bool:
        if not self.settings.operator.urls:
            # No channel: the log is the operator's channel of last resort.
            log.error("%s\n%s", title, body)
            return True
        try:
            # Bounded like a subscriber's send: a channel that never answers must not stall
            # the sender (and with it every alert) for good.
            return bool(await asyncio.wait_for(send_operator(self.settings, title, body),
                                               timeout=self.settings.delivery.timeout + 5))
        except TimeoutError:
            log.warning("operator message %r: no answer within %gs; retried at the next check",
                        title, self.settings.delivery.timeout + 5)
            return False
        except Exception:
            log.exception("operator message %r not sent; retried at the next check", title)
            return False

    def _pending(self) -> list[health_alerts.OperatorMessage]:
        with open_session(self.engine) as session:
            return health_alerts.pending_messages(session, self.names, self.settings.service)

    def _record(self, message: health_alerts.OperatorMessage) -> None:
        with open_session(self.engine) as session:
            health_alerts.record_sent(session, message)

    async def check_health(self) -> None:
        """Send each due failure, recovery, staleness or hold message once (by the one process
        holding the ``health`` lease)."""
        if not self.leases.held(HEALTH):
            return
        async with self._health_lock:
            try:
                for message in await asyncio.to_thread(self._pending):
                    log.warning("operator: %s", message.title)
                    if await self._tell_operator(message.title, message.body):
                        await asyncio.to_thread(self._record, message)
            except DatabaseError as exc:  # must not end the sender task: the next check tries again
                log.error("health check failed: database error: %s", exc)

    async def send_due(self) -> None:
        # Subscribers first: an operator channel that hangs until its timeout must not
        # hold back the alerts a crawl just queued.
        await self.deliver()
        await self.check_health()

    async def _sender(self) -> None:
        # Woken by this process's crawls (``_wake``) and, on PostgreSQL, by any process's
        # commit of outbox rows.
        async with OutboxWaiter(self.engine, self._wake) as waiter:
            while not self._stop.is_set():
                await waiter.wait(self.settings.service.delivery_interval)
                await self.send_due()

    # -- leases ---------------------------------------------------------------------

    async def _refresh(self) -> None:
        gained, lost = await self.leases.refresh()
        for name in (n.removeprefix("crawl:") for n in sorted(lost) if n != HEALTH):
            log.warning("%s: this process no longer holds its crawls (lease not renewed in time); "
                        "another process may take them", name)
            if self.scheduler is not None:
                self.scheduler.pause_job(name)
            if name in self._crawls:
                self._crawls[name].cancel()
        sources = [n.removeprefix("crawl:") for n in sorted(gained) if n != HEALTH]
        if sources and self.scheduler is not None:
            await self._schedule(sources)
        for lease, holder in sorted(self.leases.others.items()):
            if self._told_other.get(lease) != holder:
                what = "health checks" if lease == HEALTH else lease.removeprefix("crawl:")
                log.info("%s: done by another process (%s)", what, holder)
                self._told_other[lease] = holder

    async def _let_go(self, keeper: asyncio.Task) -> None:
        """Stop renewing and give the leases back: another process takes over now, not
        ``crawl_lease`` seconds later."""
        self._letting_go.set()
        await keeper
        await self.leases.release()

    async def _keeper(self) -> None:
        # Runs until the crawls are over, shutdown included: a crawl finishing after a signal
        # still holds its lease. Stopped by ``_let_go``, never cancelled: a renewal cut off
        # mid-write could land after the release.
        while not self._letting_go.is_set():
            try:
                await asyncio.wait_for(self._letting_go.wait(), timeout=self.leases.next_refresh())
            except TimeoutError:
                pass
            if self._letting_go.is_set():
                return
            try:
                await self._refresh()
            except Exception:  # a bug: the leases run out and the log says why
                log.exception("lease renewal failed")
            # Loop timers don't count time the machine was asleep: let the scheduler look
            # at the wall clock again so a run missed while asleep happens now.
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.wakeup()

    # -- lifecycle ------------------------------------------------------------------

    def _setup(self) -> None:
        loop = asyncio.get_running_loop()
        self.runner = make_runner(self.settings)
        self._wake, self._stop = asyncio.Event(), asyncio.Event()
        self._health_lock = asyncio.Lock()
        self._told_other: dict[str, str] = {}  # lease -> the other holder last logged
        self._letting_go = asyncio.Event()
        self._deadline: float | None = None
        health_alerts.ensure_schema(self.engine)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self._signals += 1
        loop = asyncio.get_running_loop()
        if self._signals == 1:
            log.info("%s: no new crawls; finishing running crawls and deliveries (at most %gs; "
                     "send again to stop at once)", sig.name, self.settings.service.shutdown_timeout)
            self._deadline = loop.time() + self.settings.service.shutdown_timeout
            self._stop.set()
            self._wake.set()
        else:
            log.warning("%s again: stopping now", sig.name)
            self._deadline = loop.time()
            for task in list(self._crawls.values()):
                task.cancel()

    def _remaining(self) -> float:
        return max(0.0, self._deadline - asyncio.get_running_loop().time())

    async def _finish_crawls(self) -> None:
        if not self._crawls:
            return
        log.info("waiting for %d running crawl(s)", len(self._crawls))
        _, pending = await asyncio.wait(set(self._crawls.values()), timeout=self._remaining())
        if pending:
            log.warning("shutdown timeout: abandoning %d running crawl(s)", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=5)

    async def _bounded(self, coro, what: str) -> None:
        try:
            await asyncio.wait_for(coro, timeout=self._remaining())
        except TimeoutError:
            log.warning("shutdown timeout: %s cut short", what)

    def _first_runs(self, names: list[str]) -> dict:
        now = utcnow()
        with open_session(self.engine) as session:
            last = dict(session.exec(select(CrawlRun.source, func.max(CrawlRun.started_at))
                                     .where(col(CrawlRun.source).in_(names)).group_by(CrawlRun.source)).all())
        tz = self.settings.service.timezone
        return {n: first_run(self.settings.source(n), tz, last.get(n), now) for n in names}

    async def _schedule(self, names: list[str]) -> None:
        """Resume the jobs of sources this process now holds, from their last crawl by any process."""
        try:
            firsts = await asyncio.to_thread(self._first_runs, names)
        except DatabaseError as exc:  # the crawl is due now, then: one more crawl rather than none
            log.error("last crawls not read: database error: %s", exc)
            firsts = dict.fromkeys(names, utcnow())
        now, tz = utcnow(), self.settings.service.timezone
        for name in names:
            src = self.settings.source(name)
            self.scheduler.modify_job(name, next_run_time=firsts[name])
            log.info("%s: schedule %s, jitter %ss; first crawl %s", name, " | ".join(src.schedule),
                     effective_jitter(src),
                     "now" if firsts[name] <= now else firsts[name].astimezone(ZoneInfo(tz)).isoformat())

    async def serve(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # deferred: only `serve` schedules

        self._setup()
        tz = self.settings.service.timezone
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo(tz), job_defaults={
            # One crawl of a source at a time; runs missed while busy or asleep collapse
            # into one, however late.
            "max_instances": 1, "coalesce": True, "misfire_grace_time": None})
        log.info("role %s: %s", self.role, ", ".join(
            (["crawls the sources it holds"] if self.crawls else []) + (["delivers"] if self.delivers else [])))
        if self.crawls:
            for name in self.names:
                # Paused (no next run) until this process holds the source's lease.
                self.scheduler.add_job(self._scheduled_crawl, make_trigger(name, self.settings.source(name), tz),
                                       args=[name], id=name, name=name, next_run_time=None)
            if not self.names:
                log.warning("no source is enabled: only delivering the outbox")
        web = self._web()
        self.scheduler.start()
        await self._refresh()
        keeper = asyncio.create_task(self._keeper())
        sender = asyncio.create_task(self._sender()) if self.delivers else None
        self._wake.set()  # at start-up: anything left unsent or untold by the last run
        await self._stop.wait()

        self.scheduler.pause()
        await self._finish_crawls()
        if sender is not None:
            await self._bounded(sender, "the delivery in progress")
            # What the last crawls found goes out now rather than at the next start.
            await self._bounded(self.send_due(), "the last delivery round")
            await self._bounded(asyncio.to_thread(stop_senders), "the send processes' last sends")
        await self._let_go(keeper)  # the crawls are over: another process may take the sources now
        self.scheduler.shutdown(wait=False)
        if web is not None:
            await web.stop()
        log.info("stopped")
        return 0

    def _web(self):
        """``[web] enabled``: the local web page served in this loop (``web.server``); None
        when it is off or its address cannot be bound (said in one line: crawls and alerts
        go on without the page)."""
        if not self.settings.web.enabled:
            return None
        from web.server import Embedded  # deferred: FastAPI and uvicorn only when the page is on

        try:
            return Embedded.reading(self.settings.database, self.settings.web).start()
        except OSError as exc:
            log.error("web page: cannot listen on %s:%s: %s; running without it", self.settings.web.host,
                      self.settings.web.port, exc.strerror or exc)
            return None

    async def once(self) -> int:
        """Crawl every enabled source whose crawls no other process holds, deliver, and return
        the exit status (``exit_status``)."""
        self._setup()
        await self._refresh()
        names = [n for n in self.names if self.crawls and self.leases.held(crawl_lease(n))]
        keeper = asyncio.create_task(self._keeper())  # renews the leases while the crawls run
        try:
            crawls = asyncio.gather(*(self.crawl(n) for n in names))
            stop = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({crawls, stop}, return_when=asyncio.FIRST_COMPLETED)
            if self._stop.is_set():
                await self._finish_crawls()
            stop.cancel()
            outcomes = await asyncio.gather(crawls, return_exceptions=True)
            outcomes = outcomes[0] if isinstance(outcomes[0], list) else []
            if self.delivers:
                await (self._bounded(self.send_due(), "delivery") if self._stop.is_set() else self.send_due())
        finally:
            await self._let_go(keeper)
        if len(outcomes) != len(names):  # cut short by a signal
            return EXIT_FAILED
        return exit_status(outcomes)
