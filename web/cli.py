"""``drawwatch stats``, ``drawwatch chart`` and ``drawwatch web``: the history as trends,
as chart files, and as a local web page. matplotlib, FastAPI and uvicorn load only when
the command that needs them runs."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from store import stats
from store.cli import check_categories
from store.options import check_period, fail, format_option, since_option, source_option, until_option, usage
from store.output import render

STATS_COLUMNS = ("source", "name", "score", "rounds", "invitations", "last_draw", "last", "change", "min",
                 "median", "max", "sparkline")
CHART_KINDS = ("cutoffs", "invitations", "pool")


def category_option(f):
    return click.option("--category", help="A category or stream slug (cec, stem, hcp, ...); "
                        "`drawwatch stats` lists those with draws.")(f)


@click.command("stats")
@source_option()
@category_option
@since_option(help=f"Window start (YYYY-MM-DD; default: {stats.WINDOW_MONTHS} months before the end).")
@until_option(help="Window end (YYYY-MM-DD; default: today).")
@format_option
@click.pass_context
def stats_cmd(ctx, source, category, since, until, fmt):
    """Per source and category: rounds, invitations, cut-offs and their trend."""
    check_period(since, until)
    since = since or stats.window_start(until)
    with ctx.obj.read_session() as session:
        check_categories(session, (category,) if category else (), source)
        rows = stats.category_stats(session, since=since, until=until, source=source, category=category)
    if fmt == "table":
        # A signed change reads as a trend; JSON and CSV keep the number.
        rows = [{**r, "change": None if r["change"] is None else f"{r['change']:+d}"} for r in rows]
    click.echo(render(rows, fmt, STATS_COLUMNS))


def _write(path: Path, content: bytes) -> None:
    """All of the chart or nothing: a temporary file beside it, renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.command("chart")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write: FILE.svg or FILE.png.")
@click.option("--kind", type=click.Choice(CHART_KINDS), default="cutoffs", show_default=True,
              help="cutoffs: cut-off over time per category; invitations: per month; pool: a round's "
                   "score distribution.")
@source_option()
@click.option("--category", multiple=True, help="Only this category or stream (slug); repeatable.")
@since_option(help="From this date (YYYY-MM-DD; default: all history).")
@until_option()
@click.option("--draw", "key", help="pool: the round's key (default: the latest round with a distribution).")
@click.pass_context
def chart_cmd(ctx, out, kind, source, category, since, until, key):
    """Write a chart of the draw history as SVG or PNG (by the file's extension)."""
    fmt = out.suffix.lower().lstrip(".")
    from web import charts  # matplotlib: only when a chart is drawn

    if fmt not in charts.FORMATS:
        raise click.BadParameter(f"{str(out)!r} must end in .svg or .png", param_hint="'--out'")
    if not out.parent.is_dir():
        raise click.BadParameter(f"{str(out.parent)!r} is not a folder", param_hint="'--out'")
    check_period(since, until)
    with ctx.obj.read_session() as session:
        check_categories(session, category, source)
        try:
            if kind == "pool":
                content = charts.pool_chart(_pool_draw(session, key, source), fmt)
            else:
                points = [p for c in (category or (None,))
                          for p in stats.points(session, source=source, category=c, since=since, until=until)]
                draw = charts.cutoff_chart if kind == "cutoffs" else charts.invitations_chart
                content = draw(sorted(points, key=lambda p: p.date), fmt)
        except charts.ChartError as exc:
            fail(str(exc))
    try:
        _write(out, content)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(f"wrote {out} ({len(content):,} bytes)")


def _pool_draw(session, key: str | None, source: str | None):
    from store import queries
    from web.charts import distribution

    if key:
        found = queries.find_draw(session, key, source)
        if not found:
            fail(f"no draw with key {key!r}" + (f" in {source}" if source else ""))
        if len(found) > 1:
            usage(f"key {key!r} exists in {', '.join(d.source for d in found)}: add --source")
        return found[0]
    for draw in queries.draws(session, source=source, limit=200):
        if distribution(draw.extra):
            return draw
    fail("no stored draw has a published pool distribution" + (f" in {source}" if source else ""))


@click.command("web")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: [web] port, 8080).")
@click.option("--host", help="Address to bind (default: [web] host, 127.0.0.1; another needs [web] token).")
@click.pass_context
def web_cmd(ctx, port, host):
    """Serve the draw history as a local web page, a JSON API (/api, /docs) and Atom feeds.

    Read-only: public draw data only, never subscribers. Runs until Ctrl-C.
    """
    from web.config import WebError, check_bind

    app = ctx.obj
    settings = app.settings.web.model_copy(update={k: v for k, v in (("port", port), ("host", host)) if v})
    try:
        check_bind(settings.host, settings.token)
    except WebError as exc:
        raise click.BadParameter(str(exc), param_hint="'--host'") from None
    from web.server import run  # FastAPI and uvicorn: only when serving

    try:
        run(app.reader, settings)
    except OSError as exc:  # the port is taken, the address is not this machine's
        fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")


COMMANDS = (stats_cmd, chart_cmd, web_cmd)
