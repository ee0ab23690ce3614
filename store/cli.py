"""Query commands over the local history: ``draws``, ``notices`` and ``noc``. No Scrapy here; the
listings read through ``store.reads`` (on SQLite, no SQLAlchemy either: start-up time)."""
from __future__ import annotations

import click

from scraper.sources import registry
from store import reads
from store.options import (SCORE, check_period, fail, format_option, limit_option, since_option,
                           source_option, until_option, usage)
from store.output import as_json, emit, readable, render
from store.reference.noc import NocError, as_2021, lookup, noc2021_codes, normalize_code, search, to_2016

DRAW_COLUMNS = ("source", "key", "date", "program", "category_version", "invitations", "score_min",
                "score_max", "title")


SHOW_ORDER = ("source", "key", "title", "date", "round_time", "tiebreak_time", "program", "category_version",
              "programs_covered", "selection_kind", "invitations", "score_system", "score_min", "score_max",
              "window_start", "window_end", "region", "noc_version", "noc_codes", "announcement", "url",
              "flags", "extra", "first_seen", "last_seen", "updated")


def check_categories(db, categories, source: str | None) -> None:
    """A usage error naming the stored categories when one asked for is none of them
    (``draws``, ``stats``, ``chart``; the web answers the same words with a 400)."""
    error = reads.unknown_category(db, categories, source)
    if error:
        raise click.BadParameter(error, param_hint="'--category'")


def _noc_codes(values: tuple[str, ...]) -> list[str]:
    """User NOC codes (2016 or 2021) as the NOC 2021 codes draws are indexed by."""
    try:
        return noc2021_codes(values)
    except NocError as exc:
        raise click.BadParameter(str(exc), param_hint="'--noc'") from None


@click.group("draws", invoke_without_command=True)
@source_option(help="Only this source.")
@click.option("--category", help="Program / category / stream slug (cec, stem, french, foreign_worker, ...).")
@since_option()
@until_option()
@click.option("--min-crs", type=SCORE, help="Lowest CRS at least this (draws scored on the CRS only).")
@click.option("--max-crs", type=SCORE, help="Lowest CRS at most this (draws scored on the CRS only).")
@click.option("--min-score", type=SCORE, help="Lowest score at least this, on the --source's own scale.")
@click.option("--max-score", type=SCORE, help="Lowest score at most this, on the --source's own scale.")
@click.option("--noc", multiple=True, help="Draws targeting this NOC (2021 or 2016 code); repeatable.")
@limit_option(default=100, help="At most this many draws.")
@format_option
@click.pass_context
def draws_cmd(ctx, source, category, since, until, min_crs, max_crs, min_score, max_score, noc, limit, fmt):
    """List draws, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    check_period(since, until)
    if (min_score is not None or max_score is not None) and not source:
        usage("--min-score and --max-score need --source: each source scores on its own scale "
              "(--min-crs/--max-crs compare CRS scores across sources)")
    codes = _noc_codes(noc) if noc else []
    with ctx.obj.query() as db:
        check_categories(db, (category,) if category is not None else (), source)
        where, params = reads.draw_filter(source=source, category=category, since=since, until=until,
                                          min_crs=min_crs, max_crs=max_crs, min_score=min_score,
                                          max_score=max_score, noc2021=codes)
        rows = reads.draws(db, where, params, limit=limit)
        total = reads.count(db, "draw", where, params) if len(rows) == limit else len(rows)
    emit(rows, fmt, DRAW_COLUMNS, total=total, what="draws")


@draws_cmd.command("show")
@click.argument("key")
@source_option(help="Needed only when several sources use the same key.")
@format_option
@click.pass_context
def show_cmd(ctx, key, source, fmt):
    """Show one draw with its targeted occupations and its revisions."""
    from store import queries  # the ORM's: a draw with its revisions

    with ctx.obj.read_session() as session:
        found = queries.find_draw(session, key, source)
        if not found:
            fail(no_draw(key, source))
        if len(found) > 1:
            usage(f"key {key!r} exists in {', '.join(d.source for d in found)}: add --source")
        detail = queries.draw_detail(session, found[0])
    if fmt != "table":
        click.echo(render([detail], fmt, (*SHOW_ORDER, "nocs_2021", "text", "revisions")))  # the table's order
        return
    for name in SHOW_ORDER:
        value = detail.get(name)
        if value not in (None, "", [], {}):
            click.echo(f"{name:>17}: {_shown(value)}")
    if detail["nocs_2021"]:
        click.echo(f"{'nocs_2021':>17}: " + " ".join(f"{n['noc2021']}({n['via']})" for n in detail["nocs_2021"]))
    click.echo(f"{'text':>17}: {detail['text']}")
    click.echo(f"\nrevisions: {len(detail['revisions'])}")
    for rev in detail["revisions"]:
        click.echo(f"  {rev['changed_at']:%Y-%m-%d %H:%M:%S} (crawl {rev['crawl_run_id']})")
        for name, (old, new) in rev["changes"].items():
            click.echo(f"    {name}: {as_json(old)} -> {as_json(new)}")


def _shown(value) -> str:
    """A field of ``draws show``: a dict (``extra``) one key a line, aligned under the first."""
    if isinstance(value, dict):
        return ("\n" + " " * 19).join(f"{k}: {readable(v)}" for k, v in value.items())
    return readable(value)


def no_draw(key: str, source: str | None = None) -> str:
    """The error of a draw key that matches nothing (``draws show``, ``matches --draw``)."""
    return f"no draw with key {key!r}" + (f" in {source}" if source else "") + " (`drawwatch draws` lists them)"


@click.command("notices")
@source_option(help="Only this source.")
@limit_option(default=100, help="At most this many notices.")
@format_option
@click.pass_context
def notices_cmd(ctx, source, limit, fmt):
    """List program news that is not a draw (closures, pauses, allocations)."""
    with ctx.obj.query() as db:
        rows, total = reads.notices(db, source, limit=limit)
    emit(rows, fmt, ("source", "date", "title", "url"), total=total, what="notices")


@click.command("noc")
@click.argument("query", nargs=-1, required=True)
@limit_option(default=20, help="At most this many occupations (a search by words).")
@format_option
@click.pass_context
def noc_cmd(ctx, query, limit, fmt):
    """Find occupations by NOC code (2016 or 2021) or words ("software engineer")."""
    text = " ".join(query).strip()
    if text.isdigit():
        try:
            code, _version = normalize_code(text)
        except NocError as exc:
            raise click.BadParameter(str(exc), param_hint="'QUERY'") from None
        units = [lookup(code)]
    else:
        units = search(text, limit=limit)
    if not units:
        fail(f"no NOC unit group matches {text!r}")
    rows = []
    with ctx.obj.query() as db:
        for unit in units:
            codes21 = sorted(as_2021(unit.code))
            n_draws, latest = reads.targeting(db, codes21)
            row = {"code": unit.code, "version": unit.version, "title": unit.title,
                   "equivalents": sorted(to_2016(unit.code)) if unit.version == "2021" else codes21}
            for source in registry.SOURCES.values():  # the lists each source keeps (a category's)
                row.update(source.noc_lists(codes21))
            row.update({"draws": n_draws,
                        "latest_draw": f"{latest['source']} {latest['key']} {latest['date']}" if latest else None})
            rows.append(row)
    click.echo(render(rows, fmt, tuple(rows[0])))


COMMANDS = (draws_cmd, notices_cmd, noc_cmd)
