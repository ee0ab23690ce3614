"""``drawwatch crawl``: one crawl now, printing what was new and changed; ``--accept``
applies a crawl that was held for a person to look at."""
from __future__ import annotations

import logging
from datetime import date

import click

from notifier.secrets import mask
from scraper.crawl import accept_source, crawl_source, exit_status, make_runner, run_in_reactor
from scraper.sources.registry import SOURCES
from store.ingest import NothingHeld
from store.options import fail, usage
from store.output import QuietLogs

SHOWN = 50  # draws listed per kind; the rest are counted
# Log records of a crawl that _show prints itself: the ingest's summary, failure and hold,
# and the crawl's "not modified". Its errors, and every other line, are still logged.
REPORTED = (("store.ingest", logging.ERROR), ("scraper.crawl", logging.WARNING, "%s: not modified"))


@click.command("crawl")
@click.option("--source", "sources", multiple=True, type=click.Choice(sorted(SOURCES)),
              help="Crawl only this source (repeatable); default every enabled source.")
@click.option("--backfill", is_flag=True, help="Also fetch the whole history where a source splits it (yearly pages).")
@click.option("--notify-history", is_flag=True,
              help="Alert subscribers of history too: a source's first crawl (normally a silent "
                   "baseline) and draws from the source's past (a backfilled year).")
@click.option("--accept", is_flag=True,
              help="Apply the source's held crawl as it was read (with --source NAME); fetches nothing.")
@click.pass_context
def crawl_cmd(ctx, sources, backfill, notify_history, accept):
    """Run one crawl of each source now and print what was new and changed.

    A crawl that would change or renumber more stored draws than the source's
    hold_threshold, or lose any, is held: nothing is stored or sent until
    `drawwatch crawl --source NAME --accept` applies it. Exit status: 0, 1 when a crawl
    failed, 3 when one was held (and none failed).
    """
    if accept:
        _accept(ctx, sources, backfill or notify_history)
        return
    app = ctx.obj
    settings = app.settings
    names = list(sources) or [n for n in SOURCES if settings.source(n).enabled]
    engine = app.engine
    matcher = app.matcher()

    async def main():
        runner = make_runner(settings)
        return [await crawl_source(n, settings, engine, runner, matcher=matcher,
                                   notify_history=notify_history, backfill=backfill) for n in names]

    # The summary, a failure and a hold are printed below, once each: not logged as well.
    with QuietLogs(*REPORTED):
        outcomes = run_in_reactor(main)
    for outcome in outcomes:
        _show(outcome, notify_history)
        _show_missing(outcome)
    ctx.exit(exit_status(outcomes))


def _accept(ctx, sources, other_options: bool) -> None:
    if len(sources) != 1 or other_options:
        usage("crawl --accept: name exactly one source (--source NAME), without --backfill or --notify-history")
    [name] = sources
    app = ctx.obj
    try:
        with QuietLogs(*REPORTED):
            outcome = accept_source(name, app.engine, matcher=app.matcher())
    except NothingHeld:
        fail(f"{name}: no held crawl to accept (`drawwatch status` shows which sources are held)")
    click.echo(f"{name}: held crawl accepted")
    _show(outcome, notify_history=False)


def _show(outcome, notify_history: bool) -> None:
    run, name = outcome.run, outcome.source
    if run.outcome == "failed":
        click.echo(f"{name}: FAILED: {mask(run.error or '')}", err=True)
        return
    if outcome.held:
        click.echo(f"{name}: HELD: {mask(run.error or '')}; check the source's page, then run "
                   f"`drawwatch crawl --source {name} --accept` to apply it", err=True)
        return
    if run.outcome == "not_modified":
        click.echo(f"{name}: not modified since the last crawl")
        return
    report = outcome.report
    baseline = " (first crawl: stored as the baseline, no alerts)" if run.baseline and not notify_history else ""
    past = (f" ({len(report.history)} of the new from the source's past: stored, no alerts)"
            if report.history and not baseline else "")
    click.echo(f"{name}: {len(report.new)} new, {len(report.changed)} changed, "
               f"{report.unchanged} unchanged{baseline}{past}")
    if report.kept:
        # A value the source stopped giving is kept as stored (store.facts.keep_vanished).
        click.echo(f"  kept     {len(report.kept)} values the source no longer gives: "
                   + ", ".join(f"{key} {what}" for key, what in report.kept[:5])
                   + (" ..." if len(report.kept) > 5 else ""))
    new = sorted(report.new, key=_newest, reverse=True)
    changed = sorted(report.changed, key=lambda item: _newest(item[0]), reverse=True)
    for draw in new[:SHOWN]:
        click.echo(f"  new      {draw.key:<24} {str(draw.date or ''):<10}  {draw.title}")
    if len(report.new) > SHOWN:
        click.echo(f"  ... and {len(report.new) - SHOWN} more new")
    for draw, changes in changed[:SHOWN]:
        click.echo(f"  changed  {draw.key:<24} " + ", ".join(f"{k}: {o!r} -> {n!r}" for k, (o, n) in changes.items()))
    if len(report.changed) > SHOWN:
        click.echo(f"  ... and {len(report.changed) - SHOWN} more changed")



def _newest(draw) -> tuple:
    """Newest first for every source, whatever order its pages list draws in."""
    return draw.date or date.min, draw.round_time is not None, draw.round_time or 0, draw.key


def _show_missing(outcome) -> None:
    """The pages a backfill could not read (stored without them): one line each."""
    if not outcome.missing:
        return
    name = outcome.source
    click.echo(f"{name}: {len(outcome.missing)} pages not read, the others stored without them "
               f"(`drawwatch crawl --source {name} --backfill` fetches them again):", err=True)
    for url, why in outcome.missing.items():
        click.echo(f"  not read  {mask(url)}: {mask(why)}", err=True)


COMMANDS = (crawl_cmd,)
