"""Commands for subscribers and alerts: ``subscribers``, ``notify-test``, ``matches``,
``outbox`` and ``deliver``. None of them imports Scrapy; URLs are shown masked."""
from __future__ import annotations

import asyncio
import json

import click
from sqlmodel import col, select

from notifier import subscribers
from notifier.match import decisions_for
from notifier.profile import INTERESTS, PROGRAMS, MatchProfile
from notifier.secrets import mask, mask_url
from store.models import Draw, Notification, Subscriber
from store.output import FORMATS, render

EXIT_USAGE = 2


def _profile_options(func):
    """The profile fields as options (shared by ``add`` and ``edit``)."""
    options = [
        click.option("--url", "urls", multiple=True, help="Apprise URL to notify (repeatable), e.g. mailto://..."),
        click.option("--noc", "nocs", multiple=True, help="NOC code, 2021 (5 digits) or 2016 (4 digits); repeatable."),
        click.option("--crs", type=int, help="Comprehensive Ranking System score."),
        click.option("--points", "points", multiple=True, metavar="PROV=N",
                     help="Points in a province's expression-of-interest system, e.g. ON=62 (repeatable)."),
        click.option("--program", "programs", multiple=True, type=click.Choice(PROGRAMS),
                     help="Express Entry program you qualify under (repeatable); pnp = holds a nomination."),
        click.option("--clb", type=int, help="English level, CLB 0-12."),
        click.option("--nclc", type=int, help="French level, NCLC 0-12."),
        click.option("--province", "provinces", multiple=True, help="Province of interest, e.g. ON (repeatable)."),
        click.option("--ee-profile-created", help="Date your Express Entry profile was submitted (YYYY-MM-DD)."),
        click.option("--eoi-created", help="Date your provincial expression of interest was registered."),
        click.option("--source", "sources", multiple=True, help="Only draws of this source (repeatable)."),
        click.option("--notify", multiple=True, type=click.Choice(INTERESTS),
                     help="What to be told about (repeatable; default eligible and targeted)."),
        click.option("--near-miss", type=int, help="Points under the cut-off that count as a near miss."),
        click.option("--delivery", type=click.Choice(("immediate", "digest"))),
        click.option("--digest-time", help="HH:MM, local time of the daily digest."),
        click.option("--timezone", help="Time zone of the digest time, e.g. America/Toronto."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _changes(options: dict) -> dict:
    """Only the fields given on the command line, named as the profile names them."""
    out = {}
    for key, value in options.items():
        if value is None or value == ():
            continue
        if key == "points":
            points = {}
            for item in value:
                prov, sep, n = item.partition("=")
                if not sep or not n.strip().lstrip("-").isdigit():
                    raise click.BadParameter(f"{item!r}: expected PROVINCE=POINTS, e.g. ON=62", param_hint="--points")
                points[prov.strip()] = int(n)
            out["provincial_points"] = points
        else:
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _fail(ctx, message: str) -> None:
    click.echo(f"error: {message}", err=True)
    ctx.exit(EXIT_USAGE)


def _summary(row) -> dict:
    p = row.profile
    return {"name": row.name, "origin": row.origin, "active": row.active,
            "urls": [mask_url(u) for u in p.get("urls", [])], "nocs": p.get("nocs", []), "crs": p.get("crs"),
            "programs": p.get("programs", []), "provinces": p.get("provinces", []), "notify": p.get("notify", []),
            "delivery": p.get("delivery")}


@click.group("subscribers")
def subscribers_group():
    """Manage subscribers (the config file's [[subscribers]] are listed too, read-only)."""


@subscribers_group.command("add")
@click.argument("name")
@_profile_options
@click.pass_context
def add_cmd(ctx, name, **options):
    """Add a subscriber NAME with the given profile."""
    with ctx.obj.synced_session() as session:
        try:
            row = subscribers.add(session, {"name": name, **_changes(options)})
        except subscribers.ProfileError as exc:
            _fail(ctx, f"subscriber {name!r}: {exc}")
    click.echo(f"added {row.name}")


@subscribers_group.command("edit")
@click.argument("name")
@_profile_options
@click.option("--clear", multiple=True, help="Unset this profile field (repeatable), e.g. --clear crs.")
@click.pass_context
def edit_cmd(ctx, name, clear, **options):
    """Change fields of subscriber NAME (list options replace the whole list)."""
    with ctx.obj.synced_session() as session:
        try:
            subscribers.edit(session, name, _changes(options), tuple(clear))
        except subscribers.ProfileError as exc:
            _fail(ctx, f"subscriber {name!r}: {exc}")
    click.echo(f"updated {name}")


@subscribers_group.command("remove")
@click.argument("name")
@click.pass_context
def remove_cmd(ctx, name):
    """Remove subscriber NAME and its outbox rows."""
    with ctx.obj.synced_session() as session:
        try:
            gone = subscribers.remove(session, name)
        except subscribers.ProfileError as exc:
            _fail(ctx, str(exc))
    click.echo(f"removed {name} ({gone} outbox rows)")


@subscribers_group.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include config subscribers no longer in the file.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def list_cmd(ctx, include_inactive, fmt):
    """List subscribers (URLs masked)."""
    with ctx.obj.synced_session() as session:
        rows = [_summary(r) for r in subscribers.listing(session, include_inactive=include_inactive)]
    click.echo(render(rows, fmt, ("name", "origin", "urls", "nocs", "crs", "programs", "notify", "delivery")))


@subscribers_group.command("show")
@click.argument("name")
@click.pass_context
def show_cmd(ctx, name):
    """Show subscriber NAME's whole profile (URLs masked)."""
    with ctx.obj.synced_session() as session:
        row = subscribers.get(session, name)
    if row is None:
        _fail(ctx, f"no subscriber named {name!r}")
    profile = {**row.profile, "urls": [mask_url(u) for u in row.profile.get("urls", [])]}
    click.echo(json.dumps({"name": row.name, "origin": row.origin, "active": row.active, "profile": profile},
                          indent=2, ensure_ascii=False))


@click.command("notify-test")
@click.argument("name")
@click.pass_context
def notify_test_cmd(ctx, name):
    """Send a test message to each channel of subscriber NAME and report each outcome."""
    from notifier.deliver import send_test  # deferred: delivery loads Apprise and Jinja

    app = ctx.obj
    with app.synced_session() as session:
        row = subscribers.get(session, name)
    if row is None:
        _fail(ctx, f"no subscriber named {name!r}")
    outcomes = asyncio.run(send_test(row.name, row.profile["urls"], app.settings))
    for outcome in outcomes:
        click.echo(f"{outcome.masked}: " + ("sent" if outcome.ok else f"FAILED: {outcome.error}"))
    if not all(o.ok for o in outcomes):
        ctx.exit(1)


@click.command("matches")
@click.option("--subscriber", "names", multiple=True, help="Only this subscriber (repeatable).")
@click.option("--draw", "keys", multiple=True, help="Only this draw key, e.g. 411 (repeatable); shows unmatched too.")
@click.option("--source", help="Only draws of this source.")
@click.option("--since", type=click.DateTime(("%Y-%m-%d",)), help="Only draws on or after this date.")
@click.option("--limit", type=int, default=50, show_default=True, help="Most recent draws to evaluate.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def matches_cmd(ctx, names, keys, source, since, limit, fmt):
    """Which past draws each profile would have matched, and why (to tune a profile)."""
    with ctx.obj.read_session() as session:
        rows = subscribers.current(session, ctx.obj.settings)
        if names:
            missing = set(names) - {r.name for r in rows}
            if missing:
                _fail(ctx, f"no subscriber named {sorted(missing)[0]!r}")
            rows = [r for r in rows if r.name in names]
        query = select(Draw).order_by(col(Draw.date).desc(), col(Draw.id).desc())
        if keys:
            query = query.where(col(Draw.key).in_(keys))
        if source:
            query = query.where(Draw.source == source)
        if since:
            query = query.where(Draw.date >= since.date())
        draws = list(session.exec(query.limit(None if keys else limit)))
    if keys and not draws:
        _fail(ctx, f"no draw with key {', '.join(keys)}")
    decisions = decisions_for([MatchProfile.from_profile(r.profile, r.id) for r in rows], draws)
    out = [{"subscriber": d.subscriber, "draw": d.draw_key, "headline": d.headline,
            "matched": ", ".join(d.interests) or "-", "reasons": d.reasons, "unmet": d.unmet}
           for d in decisions if d.matched or keys]
    if fmt != "table":
        click.echo(render(out, fmt))
        return
    for d in out:
        click.echo(f"{d['subscriber']}  {d['headline']}  [{d['matched']}]")
        for r in d["reasons"]:
            click.echo(f"    + {r}")
        for r in d["unmet"]:
            click.echo(f"    - {r}")
    click.echo(f"{len(out)} of {len(decisions)} (subscriber, draw) pairs shown")


@click.command("outbox")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(("pending", "sending", "sent", "failed", "withdrawn")),
              help="Only rows in this state (repeatable; default pending, sending and failed).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def outbox_cmd(ctx, statuses, limit, fmt):
    """Deliveries waiting, retrying or failed (errors shown with secrets masked)."""
    statuses = statuses or ("pending", "sending", "failed")
    with ctx.obj.read_session() as session:
        rows = session.exec(select(Notification, Subscriber.name, Draw.source, Draw.key)
                            .join(Subscriber, Subscriber.id == Notification.subscriber_id)
                            .join(Draw, Draw.id == Notification.draw_id)
                            .where(col(Notification.status).in_(statuses))
                            .order_by(col(Notification.id).desc()).limit(limit)).all()
    out = [{"id": n.id, "subscriber": name, "draw": f"{source}:{key}", "kind": n.kind, "status": n.status,
            "digest": n.digest, "attempts": n.attempts, "next_attempt": n.next_attempt_at if n.status == "pending" else None,
            "error": mask(n.last_error or "")} for n, name, source, key in rows]
    click.echo(render(out, fmt, ("id", "subscriber", "draw", "kind", "status", "attempts", "next_attempt", "error")))


@click.command("deliver")
@click.pass_context
def deliver_cmd(ctx):
    """Send what is due in the outbox now (the service does this continuously)."""
    from notifier.deliver import deliver_due  # deferred: delivery loads Apprise and Jinja

    app = ctx.obj
    app.synced_session().close()
    report = asyncio.run(deliver_due(app.engine, app.settings))
    click.echo(str(report))
    if report.failed:
        ctx.exit(1)


COMMANDS = (subscribers_group, notify_test_cmd, matches_cmd, outbox_cmd, deliver_cmd)
