"""``drawwatch serve`` (the background service) and ``drawwatch status`` (its health, for people
and monitoring checks). ``status`` reads the database only and never imports Scrapy."""
from __future__ import annotations

from datetime import datetime

import click

from scraper.sources.registry import SOURCES
from store import reads
from store.health import crawl_holders, outbox_counts, render_status, source_health
from store.options import format_option
from store.times import utcnow

EXIT_FAILING = 1


# What a `serve` process does (scraper.service.Service): any number of them may share one
# PostgreSQL database (docs/scaling.md).
ROLES = ("all", "crawler", "deliverer")


@click.command("serve")
@click.option("--once", is_flag=True, help="Crawl every enabled source once, deliver, and exit (for cron).")
@click.option("--role", type=click.Choice(ROLES), default="all", show_default=True,
              help="crawler: crawl the sources this process holds; deliverer: send alerts and health "
                   "messages; all: both. Any number of processes may share one PostgreSQL database.")
@click.pass_context
def serve_cmd(ctx, once, role):
    """Run the service: crawl each source on its schedule, deliver alerts, watch source health.

    Stops cleanly on SIGTERM or SIGINT (running crawls and deliveries get
    [service] shutdown_timeout seconds to finish). With --once the exit status is 1
    when a crawl failed, 3 when one was held (and none failed), as for `drawwatch crawl`;
    a source another process is crawling (a running service) is left to it.
    """
    from scraper.crawl import run_in_reactor
    from scraper.service import Service  # deferred: the service loads APScheduler, Apprise and Jinja
    from store.leases import setup_lock

    app = ctx.obj
    db = app.settings.database
    with setup_lock(db.url, db.lock_timeout):
        engine, matcher = app.engine, app.matcher()
    with app.session() as session:
        hint = no_subscriber_hint(session, app.settings)
    if hint:  # a service that would send nothing should say so before it starts
        click.echo(hint, err=True)
    service = Service(app.settings, engine, matcher=matcher, role=role)
    try:
        code = run_in_reactor(service.once if once else service.serve)
    finally:
        app.engine.dispose()
    ctx.exit(code)


def no_subscriber_hint(db, settings) -> str | None:
    """What ``serve`` and ``status`` say when nobody would be told of a draw (``db``: a
    ``store.sql`` Reader or a session)."""
    if settings.subscribers or reads.has_cli_subscriber(db):
        return None
    return ("no subscriber: draws are stored but no alert is sent. Add yourself with "
            "`drawwatch subscribers add NAME --url mailto://you:app-password@gmail.com` (or a Slack URL, "
            "slack://TokenA/TokenB/TokenC), then `drawwatch notify-test NAME`")


def _state(health, enabled: bool, threshold: int) -> str:
    if not enabled:
        return "disabled"
    if health.last_run is None:
        return "never crawled"
    if health.failing(threshold):
        return "failing"
    if health.held is not None:
        return "held"  # waits for `crawl --accept` or for the source to come back
    if health.consecutive_failures:
        return "failed"  # below the threshold: probably a blip, not yet an alert
    return "stale" if health.stale else "ok"


def status_rows(settings, db, now: datetime) -> list[dict]:
    """One dict per source: what ``status`` prints (JSON keys); ``db``: a ``store.sql`` Reader
    or a session."""
    from scraper.schedule import due_after  # deferred: APScheduler only for the service's schedule
    service = settings.service
    holders = crawl_holders(db, now)
    rows = []
    for name in SOURCES:
        src = settings.source(name)
        h = source_health(db, name, service, now)
        next_run = None
        if src.enabled:
            # What the schedule says; a time in the past means "at the service's next start".
            next_run = due_after(src, service.timezone, h.last_run) if h.last_run else now
        rows.append({
            "source": name,
            "enabled": src.enabled,
            "state": _state(h, src.enabled, service.failure_threshold),
            "last_success": h.last_success,
            "last_failure": h.last_failure,
            "last_error": h.last_error if h.consecutive_failures else None,  # only while current
            "failures": h.consecutive_failures,
            "failing_since": h.failing_since,
            "next_run": next_run,
            "draws": h.draws,
            "last_change": h.last_change,
            "stale_after_days": h.stale_after.days if h.stale_after else None,
            "crawled_by": holders.get(name),  # the process holding its crawls ("host:pid"), if one runs
            "held": None if h.held is None else {
                "new": h.held.n_new, "changed": h.held.n_changed, "lost": h.held.n_lost,
                "since": h.held_since, "summary": h.held.summary},
        })
    return rows


@click.command("status")
@format_option
@click.pass_context
def status_cmd(ctx, fmt):
    """Each source's last success and failure, next run and draws stored; the outbox by status.

    Exits 1 when a source has failed [service] failure_threshold times in a row, else 3
    when a source's crawl is held for a person to accept, so it can serve as a
    monitoring check.
    """
    app = ctx.obj
    now = utcnow()
    with app.query() as db:
        rows = status_rows(app.settings, db, now)
        outbox = outbox_counts(db)
        hint = no_subscriber_hint(db, app.settings)
    click.echo(render_status(rows, outbox, fmt, app.settings.service.timezone))
    if hint:
        click.echo(hint, err=True)
    failing = [r["source"] for r in rows if r["state"] == "failing"]
    if failing:
        if fmt == "table":
            click.echo(f"failing: {', '.join(failing)}", err=True)
        ctx.exit(EXIT_FAILING)
    if any(r["held"] for r in rows):
        from scraper.crawl import EXIT_HELD  # the crawl's module, loaded only to exit with its status

        ctx.exit(EXIT_HELD)


COMMANDS = (serve_cmd, status_cmd)
