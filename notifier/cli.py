"""Commands for subscribers and alerts: ``subscribers``, ``notify-test``, ``matches``,
``outbox`` and ``deliver``. None of them imports Scrapy; URLs are shown masked."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import click
from sqlmodel import col, select

from notifier import subscribers
from notifier.match import decisions_for
from notifier.profile import INTERESTS, PROGRAMS, MatchProfile, Profile
from notifier.secrets import mask, mask_url
from store import queries
from store.cli import no_draw
from store.models import Draw, Notification, Subscriber, as_utc
from store.options import (DATE, DATE_FORM, fail, format_option, limit_option, since_option, source_option,
                           usage)
from store.output import QuietLogs, emit, ordered, readable, render

log = logging.getLogger(__name__)

# Fields ``subscribers edit --clear`` can unset: all but the name and the channels (a
# subscriber without a channel is removed, not edited).
CLEARABLE = tuple(f for f in Profile.model_fields if f not in ("name", "urls"))
# Checking or sending to a URL, Apprise logs why it failed; the command says it once, masked.
_APPRISE_QUIET = QuietLogs(("apprise", logging.CRITICAL))
MATCH_COLUMNS = ("subscriber", "draw", "headline", "matched", "reasons", "unmet")
OUTBOX_COLUMNS = ("id", "subscriber", "draw", "kind", "status", "attempts", "next_attempt", "error")
PROFILE_SHOWN = ("name", "origin", "active", "urls", "nocs", "crs", "programs", "notify", "delivery")


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
        click.option("--ee-profile-created", type=DATE,
                     help=f"Date your Express Entry profile was submitted ({DATE_FORM})."),
        click.option("--eoi-created", type=DATE,
                     help=f"Date your provincial expression of interest was registered ({DATE_FORM})."),
        source_option("--source", "sources", multiple=True, help="Only draws of this source (repeatable)."),
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


def _refused(name: str, exc: subscribers.ProfileError):
    """A profile value that cannot be saved: the user's input, so a usage error (exit 2)."""
    usage(f"subscriber {name!r}: {exc}")


def _existing(session, name: str):
    row = subscribers.get(session, name)
    if row is None:
        fail(f"no subscriber named {name!r} (`drawwatch subscribers list` lists them)")
    return row


def _summary(row) -> dict:
    """A subscriber as listings show it: every profile field, URLs masked."""
    p = row.profile
    return {"name": row.name, "origin": row.origin, "active": row.active,
            **{k: v for k, v in p.items() if k != "name"}, "urls": [mask_url(u) for u in p.get("urls", [])]}


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
            with _APPRISE_QUIET:
                row = subscribers.add(session, {"name": name, **_changes(options)})
        except subscribers.ProfileError as exc:
            _refused(name, exc)
    click.echo(f"added {row.name}")


@subscribers_group.command("edit")
@click.argument("name")
@_profile_options
@click.option("--clear", multiple=True, type=click.Choice(CLEARABLE),
              help="Unset this profile field, back to its default (repeatable), e.g. --clear crs.")
@click.pass_context
def edit_cmd(ctx, name, clear, **options):
    """Change fields of subscriber NAME (list options replace the whole list)."""
    changes = _changes(options)
    if not changes and not clear:
        usage(f"nothing to change for {name!r}: give the fields to set (e.g. --crs 480, --noc 21231; "
              "`drawwatch subscribers edit --help` lists them) or --clear FIELD")
    with ctx.obj.synced_session() as session:
        _existing(session, name)
        try:
            with _APPRISE_QUIET:
                subscribers.edit(session, name, changes, tuple(clear))
        except subscribers.ProfileError as exc:
            _refused(name, exc)
    click.echo(f"updated {name}")


@subscribers_group.command("remove")
@click.argument("name")
@click.pass_context
def remove_cmd(ctx, name):
    """Remove subscriber NAME and its outbox rows."""
    with ctx.obj.synced_session() as session:
        _existing(session, name)
        try:
            gone = subscribers.remove(session, name)
        except subscribers.ProfileError as exc:
            usage(str(exc))
    click.echo(f"removed {name} ({gone} outbox rows)")


@subscribers_group.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include config subscribers no longer in the file.")
@format_option
@click.pass_context
def list_cmd(ctx, include_inactive, fmt):
    """List subscribers (URLs masked)."""
    with ctx.obj.synced_session() as session:
        rows = [_summary(r) for r in subscribers.listing(session, include_inactive=include_inactive)]
    emit(rows, fmt, PROFILE_SHOWN)


@subscribers_group.command("show")
@click.argument("name")
@format_option
@click.pass_context
def show_cmd(ctx, name, fmt):
    """Show subscriber NAME's whole profile (URLs masked)."""
    with ctx.obj.synced_session() as session:
        row = _summary(_existing(session, name))
    if fmt != "table":
        click.echo(render([row], fmt, PROFILE_SHOWN))
        return
    shown = {k: v for k, v in ordered(row, PROFILE_SHOWN).items() if v not in (None, "", [], {})}  # as draws show
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        click.echo(f"{key:>{width}}: {readable(value)}")


@click.command("notify-test")
@click.argument("name")
@click.pass_context
def notify_test_cmd(ctx, name):
    """Send a test message to each channel of subscriber NAME and report each outcome."""
    from notifier.deliver import send_test  # deferred: delivery loads Apprise and Jinja

    app = ctx.obj
    with app.synced_session() as session:
        row = _existing(session, name)
    with _APPRISE_QUIET:  # each channel's outcome is printed below, its error with it
        outcomes = asyncio.run(send_test(row.name, row.profile["urls"], app.settings))
    for outcome in outcomes:
        click.echo(f"{outcome.masked}: " + ("sent" if outcome.ok else f"FAILED: {outcome.error}"))
    if not all(o.ok for o in outcomes):
        ctx.exit(1)


@click.command("matches")
@click.option("--subscriber", "names", multiple=True, help="Only this subscriber (repeatable).")
@click.option("--draw", "keys", multiple=True, help="Only this draw key, e.g. 411 (repeatable); shows unmatched too.")
@source_option(help="Only draws of this source.")
@since_option(help=f"Only draws on or after this date ({DATE_FORM}).")
@limit_option(default=50, help="Most recent draws to evaluate.")
@format_option
@click.pass_context
def matches_cmd(ctx, names, keys, source, since, limit, fmt):
    """Which past draws each profile would have matched, and why (to tune a profile)."""
    with ctx.obj.read_session() as session:
        rows = subscribers.current(session, ctx.obj.settings)
        if names:
            missing = set(names) - {r.name for r in rows}
            if missing:
                fail(f"no subscriber named {sorted(missing)[0]!r} (`drawwatch subscribers list` lists them)")
            rows = [r for r in rows if r.name in names]
        query = select(Draw).order_by(col(Draw.date).desc(), col(Draw.id).desc())
        if keys:
            query = query.where(col(Draw.key).in_(keys))
        if source:
            query = query.where(Draw.source == source)
        if since:
            query = query.where(Draw.date >= since)
        draws = list(session.exec(query.limit(None if keys else limit)))
        total = queries.count(session, query) if not keys and len(draws) == limit else len(draws)
    if keys and (missing := [k for k in keys if k not in {d.key for d in draws}]):
        fail(no_draw(missing[0], source))
    decisions = decisions_for([MatchProfile.from_profile(r.profile, r.id) for r in rows], draws)
    out = [{"subscriber": d.subscriber, "draw": d.draw_key, "headline": d.headline,
            "matched": ", ".join(d.interests) or "-", "reasons": d.reasons, "unmet": d.unmet}
           for d in decisions if d.matched or keys]
    note = f"the {len(draws)} most recent of {total} draws evaluated; --limit to change" if total > len(draws) else ""
    if fmt != "table":
        click.echo(render(out, fmt, MATCH_COLUMNS))
        if note:
            click.echo(note, err=True)
        return
    for d in out:
        click.echo(f"{d['subscriber']}  {d['headline']}  [{d['matched']}]")
        for r in d["reasons"]:
            click.echo(f"    + {r}")
        for r in d["unmet"]:
            click.echo(f"    - {r}")
    click.echo(f"{len(out)} of {len(decisions)} (subscriber, draw) pairs shown")
    if note:
        click.echo(note)


@click.command("outbox")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(("pending", "sending", "sent", "failed", "withdrawn")),
              help="Only rows in this state (repeatable; default pending, sending and failed).")
@limit_option(default=100, help="At most this many rows, newest first.")
@format_option
@click.pass_context
def outbox_cmd(ctx, statuses, limit, fmt):
    """Deliveries waiting, retrying or failed (errors shown with secrets masked)."""
    statuses = statuses or ("pending", "sending", "failed")
    query = (select(Notification, Subscriber.name, Draw.source, Draw.key)
             .join(Subscriber, Subscriber.id == Notification.subscriber_id)
             .join(Draw, Draw.id == Notification.draw_id)
             .where(col(Notification.status).in_(statuses)))
    with ctx.obj.read_session() as session:
        rows = session.exec(query.order_by(col(Notification.id).desc()).limit(limit)).all()
        total = queries.count(session, query) if len(rows) == limit else len(rows)
    out = [{"id": n.id, "subscriber": name, "draw": f"{source}:{key}", "kind": n.kind, "status": n.status,
            "digest": n.digest, "attempts": n.attempts,
            "next_attempt": as_utc(n.next_attempt_at) if n.status == "pending" else None,
            "error": mask(n.last_error or "")} for n, name, source, key in rows]
    emit(out, fmt, OUTBOX_COLUMNS, total=total, what="rows")


def summarised_lines() -> QuietLogs:
    """A dead channel is told once, per channel, after ``deliver`` (_report_channels):
    Apprise's line and the deliverer's line for each message it could not send would
    repeat it per row. Only those: any other line of the deliverer still shows."""
    from notifier.deliver import NOT_DELIVERED, RATE_LIMITED

    return QuietLogs(("apprise", logging.CRITICAL), ("notifier.deliver", logging.ERROR, NOT_DELIVERED),
                     ("notifier.deliver", logging.ERROR, RATE_LIMITED))


@click.command("deliver")
@click.pass_context
def deliver_cmd(ctx):
    """Send what is due in the outbox now (the service does this continuously)."""
    from notifier.deliver import deliver_due  # deferred: delivery loads Apprise and Jinja

    app = ctx.obj
    app.synced_session().close()
    with summarised_lines():
        report = asyncio.run(deliver_due(app.engine, app.settings))
    click.echo(str(report))
    if report.retrying or report.failed:
        with app.read_session() as session:
            _report_channels(session)
    if report.failed:
        ctx.exit(1)


def channel_backlog(session) -> list[dict]:
    """Per channel not yet reached: the rows owed to it (waiting for a retry, or failed for
    good), the next retry and the channel's last error, channel shown masked."""
    rows = session.exec(select(Notification, Subscriber)
                        .join(Subscriber, Subscriber.id == Notification.subscriber_id)
                        # tried and not delivered: failed, or waiting for a retry or a rate limit
                        .where(col(Notification.status).in_(("pending", "failed")),
                               col(Notification.last_error).is_not(None))).all()
    channels: dict[str, dict] = defaultdict(lambda: {"waiting": 0, "failed": 0, "next_retry": None, "error": ""})
    for note, sub in rows:
        done = set(note.delivered or [])
        for i, url in enumerate(sub.profile.get("urls", [])):
            if i in done:
                continue
            shown = mask_url(url)
            entry = channels[shown]
            entry["channel"] = shown
            if note.status == "failed":
                entry["failed"] += 1
            else:
                entry["waiting"] += 1
                due = as_utc(note.next_attempt_at)
                entry["next_retry"] = due if entry["next_retry"] is None else min(due, entry["next_retry"])
            # last_error is "<masked url>: <error>; <masked url>: <error>", masked (notifier.deliver)
            for part in (note.last_error or "").split("; "):
                if part.startswith(shown + ": "):
                    entry["error"] = mask(part[len(shown) + 2:])
    return sorted(channels.values(), key=lambda e: e["channel"])


def _report_channels(session) -> None:
    for entry in channel_backlog(session):
        retry = (f"next retry {entry['next_retry']:%Y-%m-%d %H:%M:%S} UTC" if entry["next_retry"] is not None
                 else "no retry left")
        failed = f", {entry['failed']} failed for good" if entry["failed"] else ""
        # The URL is followed by a space: the masking of log lines reads up to one.
        log.warning("%d rows waiting for %s (%s%s); last error: %s", entry["waiting"], entry["channel"], retry,
                    failed, entry["error"] or "(none recorded)")


COMMANDS = (subscribers_group, notify_test_cmd, matches_cmd, outbox_cmd, deliver_cmd)
