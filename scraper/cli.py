"""``drawwatch crawl``: one crawl now, printing what was new and changed."""
from __future__ import annotations

import click

from scraper.sources import SOURCES


@click.command("crawl")
@click.option("--source", "sources", multiple=True, type=click.Choice(sorted(SOURCES)),
              help="Crawl only this source (repeatable); default every enabled source.")
@click.option("--backfill", is_flag=True, help="Also fetch the whole history where a source splits it (oinp).")
@click.option("--notify-history", is_flag=True,
              help="Alert subscribers even on a source's first crawl (normally a silent baseline).")
@click.pass_context
def crawl_cmd(ctx, sources, backfill, notify_history):
    """Run one crawl of each source now and print what was new and changed."""
    from scraper.crawl import crawl_source, make_runner, run_in_reactor

    app = ctx.obj
    settings = app.settings
    names = list(sources) or [n for n in SOURCES if settings.source(n).enabled]
    engine = app.engine
    matcher = app.matcher()

    async def main():
        runner = make_runner(settings)
        return [await crawl_source(n, settings, engine, runner, matcher=matcher,
                                   notify_history=notify_history, backfill=backfill) for n in names]

    outcomes = run_in_reactor(main)
    failed = False
    for outcome in outcomes:
        run = outcome.run
        if run.outcome == "failed":
            failed = True
            click.echo(f"{outcome.source}: FAILED: {run.error}", err=True)
            continue
        if run.outcome == "not_modified":
            click.echo(f"{outcome.source}: not modified since the last crawl")
            continue
        report = outcome.report
        baseline = " (first crawl: stored as the baseline, no alerts)" if run.baseline and not notify_history else ""
        click.echo(f"{outcome.source}: {len(report.new)} new, {len(report.changed)} changed, "
                   f"{report.unchanged} unchanged{baseline}")
        for draw in report.new[:50]:
            click.echo(f"  new      {draw.key:<24} {str(draw.date or ''):<10}  {draw.title}")
        if len(report.new) > 50:
            click.echo(f"  ... and {len(report.new) - 50} more new")
        for draw, changes in report.changed:
            click.echo(f"  changed  {draw.key:<24} " + ", ".join(f"{k}: {o!r} -> {n!r}" for k, (o, n) in changes.items()))
    if failed:
        ctx.exit(1)


COMMANDS = (crawl_cmd,)
