"""Does a draw concern a subscriber, and why: every decision carries its reasons and the
conditions left unmet, in sentences a user can check against the official page.

``evaluate`` is pure (a profile, a draw, the draw's NOC 2021 codes). ``enqueue_matches``
is the ingest's matcher: it runs inside the transaction that stores the draws, so an
outbox row exists exactly when its draw does.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, col, select

from notifier.profile import PROGRAM_NAMES, PROVINCES, MatchProfile
from store.ingest import baseline_end, history_before
from store.models import Draw, Notification, Subscriber, as_utc, utcnow
from store.reference.ee_categories import CATEGORIES, category_version
from store.reference.resolve import draw_nocs

# Which province's nominee program a source is; Express Entry is federal (every province).
SOURCE_PROVINCE = {"oinp": "ON"}
SOURCE_TITLE = {"express_entry": "Express Entry", "oinp": "Ontario"}
# Ontario's French-Speaking Skilled Worker stream: NCLC 7 in French and CLB 6 in English.
FRENCH_STREAMS = {"fssw": (7, 6)}
FRENCH_CATEGORY_NCLC = 7
# Profile creation dates are days as Ottawa/Toronto shows them (the draws' own clock):
# a window ending "April 28, 11:59 p.m." is stored as 03:59 UTC on the 29th, and the
# 29th must not count as inside it.
DRAW_ZONE = ZoneInfo("America/Toronto")


@dataclass
class Decision:
    """What one draw means for one profile."""

    subscriber: str
    draw_key: str
    headline: str
    interests: list[str] = field(default_factory=list)  # the profile's interests this draw hits
    eligible: bool = False
    targeted: bool = False
    reasons: list[str] = field(default_factory=list)  # conditions met, as sentences
    unmet: list[str] = field(default_factory=list)  # conditions not met or not known
    facts: dict = field(default_factory=dict)  # the draw's facts the decision rests on

    @property
    def matched(self) -> bool:
        return bool(self.interests)


def _day(value: dt.date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "undated"


def _moment(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "?"


def _local_day(value: dt.datetime) -> dt.date:
    return as_utc(value).astimezone(DRAW_ZONE).date()


def _noc_title(code: str) -> str:
    from store.reference.noc import lookup

    unit = lookup(code)
    return f"{code} {unit.title}" if unit else code


def headline(draw: Draw) -> str:
    """"Ontario Human Capital Priorities tech draw, 1 Aug 2019" / "Express Entry #411 ..."."""
    if draw.source == "express_entry":
        return f"Express Entry round #{draw.key}: {draw.title}, {_day(draw.date)}"
    if draw.source == "oinp":
        from store.reference.oinp_streams import RegistryError, get_stream

        try:
            stream = get_stream(draw.program).name.removesuffix(" stream") if draw.program else draw.title
        except (RegistryError, KeyError):
            stream = draw.title
        target = (draw.extra or {}).get("target")
        # A regional selection names its region below: not "gta draw (GTA)".
        regional = bool(target and draw.region and target in draw.region.casefold())
        what = f"{target} draw" if target and target != "general" and not regional else "draw"
        region = f" ({draw.region})" if draw.region else ""
        return f"Ontario {stream.removeprefix('Express Entry ')} {what}{region}, {_day(draw.date)}"
    return f"{SOURCE_TITLE.get(draw.source, draw.source)}: {draw.title}, {_day(draw.date)}"


class _Checks:
    """Collects conditions: met -> reasons; unmet or unknown -> unmet."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.unmet: list[str] = []
        self.all_met = True
        self.score_gap: int | None = None  # points under the cut-off, when only the score failed
        self.non_score_unmet = False

    def check(self, met: bool | None, yes: str, no: str, *, score: bool = False) -> None:
        if met:
            self.reasons.append(yes)
            return
        self.all_met = False
        self.unmet.append(no)
        if not score:
            self.non_score_unmet = True


def _score(checks: _Checks, draw: Draw, mine: int | None, system: str, tiebreak_date: dt.date | None) -> None:
    label = "CRS" if system == "crs" else "Ontario EOI score"
    lo, hi = draw.score_min, draw.score_max
    if lo is None and hi is None:
        return
    if mine is None:
        checks.check(None, "", f"your {label} is not in your profile (the cut-off was {lo})")
        checks.non_score_unmet = True
        return
    if hi is not None and mine > hi:
        checks.check(False, "", f"your {label} {mine} is above this draw's range {lo}-{hi}")
        checks.non_score_unmet = True
        return
    if lo is None or mine > lo:
        where = f"inside the range {lo}-{hi}" if hi is not None else f"above the minimum {lo}"
        checks.check(True, f"your {label} {mine} is {where}", "")
        return
    if mine == lo:
        if draw.tiebreak_time is not None:
            # At the cut-off score only profiles submitted before the tie-break moment were invited.
            if tiebreak_date is None:
                checks.check(None, "", f"your {label} {mine} equals the minimum, and the tie-break "
                             f"({_moment(draw.tiebreak_time)}) needs your profile's creation date")
                checks.non_score_unmet = True
            else:
                before = tiebreak_date < _local_day(draw.tiebreak_time)
                checks.check(before, f"your {label} {mine} equals the minimum and your profile "
                             f"({tiebreak_date}) predates the tie-break {_moment(draw.tiebreak_time)}",
                             f"your {label} {mine} equals the minimum but your profile ({tiebreak_date}) "
                             f"is not older than the tie-break {_moment(draw.tiebreak_time)}")
                if not before:
                    checks.non_score_unmet = True
            return
        checks.check(True, f"your {label} {mine} is at the minimum {lo}", "")
        return
    checks.score_gap = lo - mine
    checks.check(False, "", f"your {label} {mine} is {lo - mine} below the minimum {lo}", score=True)


def _occupations(checks: _Checks, profile: MatchProfile, targeted: dict[str, str], draw: Draw,
                 what: str) -> bool:
    """Targeted NOCs against the profile's; True when one of them is targeted."""
    mine = [c for c in profile.noc2021 if c in targeted]
    if mine:
        shown: dict[str, list[str]] = {}  # the code the subscriber gave -> the draw's codes it hits
        for code in sorted(mine)[:3]:
            given = profile.noc2021[code]
            published = [c for c in draw.noc_codes or [] if c == code or (len(c) == 4 and c == given)]
            if targeted[code] == "crosswalk":
                from store.reference.noc import to_2016

                published = sorted(set(draw.noc_codes or []) & to_2016(code)) or published
            # The subscriber's own code when the draw printed it (2173 on a 2016-coded page).
            hit = given if given in published else published[0] if published else code
            if hit not in shown.setdefault(given, []):
                shown[given].append(hit)
        # Name the code the subscriber gave: their 2016 code 2173 is not "your NOC 21231".
        leads = [f"your NOC {_noc_title(given)}" if hits == [given]
                 else f"NOC {', '.join(hits)} (your {_noc_title(given)})" for given, hits in shown.items()]
        checks.check(True, f"{what} {', '.join(leads)}", "")
        return True
    if not profile.noc2021:
        checks.check(None, "", f"{what} {len(targeted)} occupations; your profile has no NOC code")
    else:
        checks.check(False, "", f"{what} {len(targeted)} occupations, none of yours "
                     f"({', '.join(sorted(set(profile.noc2021.values())))})")
    return False


def _window(checks: _Checks, draw: Draw, created: dt.date | None, what: str) -> None:
    start, end = draw.window_start, draw.window_end
    if start is None and end is None:
        return
    span = (f"between {_moment(start)} and {_moment(end)}" if start and end
            else f"by {_moment(end)}" if end else f"from {_moment(start)}")
    if created is None:
        checks.check(None, "", f"the draw took {what}s created {span}; your profile has no {what} creation date")
        return
    # Profile dates are days: a day overlapping the window counts as inside.
    inside = (start is None or created >= _local_day(start)) and (end is None or created <= _local_day(end))
    checks.check(inside, f"your {what} ({created}) was created inside the window ({span})",
                 f"your {what} ({created}) was not created in the window ({span})")


def _express_entry(checks: _Checks, profile: MatchProfile, draw: Draw, shared: "DrawFacts") -> bool:
    slug = draw.program or "unknown"
    category = CATEGORIES.get(slug)
    targets = False
    if slug in PROGRAM_NAMES:
        checks.check(slug in profile.programs, f"the round is for {PROGRAM_NAMES[slug]} candidates, as you are",
                     f"the round is for {PROGRAM_NAMES[slug]} candidates; "
                     + (f"your programs are {', '.join(sorted(profile.programs))}" if profile.programs
                        else "your profile lists no program"))
    elif draw.programs_covered:
        covered = set(draw.programs_covered) & profile.programs
        names = ", ".join(PROGRAM_NAMES.get(p, p) for p in draw.programs_covered)
        checks.check(bool(covered), f"the round covers {names}, including yours",
                     f"the round covers {names}; "
                     + (f"your programs are {', '.join(sorted(profile.programs))}" if profile.programs
                        else "your profile lists no program"))
    if category is not None and category.kind == "language":
        version = category_version(slug, draw.category_version)
        rule = version.language_rule if version else f"NCLC {FRENCH_CATEGORY_NCLC} in French"
        nclc = profile.nclc
        checks.check(nclc is not None and nclc >= FRENCH_CATEGORY_NCLC,
                     f"your French (NCLC {nclc}) meets the rule: {rule}",
                     f"French-language round ({rule}); " + (f"your NCLC is {nclc}" if nclc is not None
                                                              else "your profile has no NCLC level"))
    elif category is not None and category.kind == "occupation":
        on_list = shared.on_list
        version = category_version(slug, draw.category_version)
        # A list compiled from weaker sources says so: the user can check it on IRCC's page.
        caveat = f", a list drawwatch holds with {version.confidence} confidence" \
            if version is not None and version.confidence != "high" else ""
        label = f"{category.title} ({draw.category_version or 'no version'}{caveat})"
        if on_list:
            targets = _occupations(checks, profile, on_list, draw, f"the {label} list holds")
        else:
            checks.check(None, "", f"{label}: drawwatch has no occupation list for this version, "
                         "so occupation eligibility cannot be checked")
    elif category is None:
        checks.check(None, "", f"round name {draw.title!r} is not a known program or category")
    _score(checks, draw, profile.crs, "crs", profile.ee_profile_created)
    return targets


def _provincial(checks: _Checks, profile: MatchProfile, draw: Draw, shared: "DrawFacts", province: str) -> bool:
    targeted = shared.targeted
    targets = bool(targeted) and _occupations(checks, profile, targeted, draw, "the draw targets")
    if not targeted and shared.stream_nocs:
        # A draw that names no occupations still only selects those its stream accepts
        # (Skilled Trades: trades): not a match for every occupation.
        _occupations(checks, profile, shared.stream_nocs, draw, "the stream accepts")
    if draw.program in FRENCH_STREAMS:
        need_fr, need_en = FRENCH_STREAMS[draw.program]
        ok = (profile.nclc or 0) >= need_fr and (profile.clb or 0) >= need_en
        checks.check(ok, f"your French NCLC {profile.nclc} and English CLB {profile.clb} meet the stream's "
                     f"NCLC {need_fr} / CLB {need_en}",
                     f"the stream needs NCLC {need_fr} in French and CLB {need_en} in English; you have "
                     f"NCLC {profile.nclc if profile.nclc is not None else '?'} / "
                     f"CLB {profile.clb if profile.clb is not None else '?'}")
    if draw.score_system == "crs":
        _score(checks, draw, profile.crs, "crs", None)
        _window(checks, draw, profile.ee_profile_created, "Express Entry profile")
    else:
        _score(checks, draw, profile.provincial_points.get(province), "eoi", None)
        _window(checks, draw, profile.eoi_created, "expression of interest")
    return targets


def facts_of(draw: Draw) -> dict:
    """The facts of a draw an alert states; a correction is owed when one of them changes."""
    return {
        "date": draw.date.isoformat() if draw.date else None,
        "program": draw.program,
        "category_version": draw.category_version,
        "score_min": draw.score_min,
        "score_max": draw.score_max,
        "tiebreak_time": draw.tiebreak_time.isoformat() if draw.tiebreak_time else None,
        "window_start": draw.window_start.isoformat() if draw.window_start else None,
        "window_end": draw.window_end.isoformat() if draw.window_end else None,
        "noc_codes": list(draw.noc_codes or []),
        "programs_covered": list(draw.programs_covered or []),
    }


@dataclass(frozen=True)
class DrawFacts:
    """What every decision on one draw shares, worked out once per draw: matching runs
    each new draw against every subscriber. ``facts`` is shared by those decisions."""

    headline: str
    facts: dict
    on_list: dict[str, str]  # NOC 2021 codes on the draw's Express Entry category list
    targeted: dict[str, str]  # NOC 2021 codes the draw itself names (published or crosswalked)
    stream_nocs: dict[str, str]  # NOC 2021 codes the draw's provincial stream accepts at all


def draw_facts(draw: Draw, nocs: dict[str, str] | None = None) -> DrawFacts:
    nocs = draw_nocs(draw) if nocs is None else nocs
    accepted = _stream_nocs(draw) if draw.source in SOURCE_PROVINCE else None
    return DrawFacts(headline(draw), facts_of(draw),
                     on_list={c: v for c, v in nocs.items() if v == "category"},
                     targeted={c: v for c, v in nocs.items() if v in ("published", "crosswalk")},
                     stream_nocs=dict.fromkeys(accepted or (), "stream"))


def _stream_nocs(draw: Draw) -> frozenset[str] | None:
    from store.reference.oinp_streams import stream_nocs

    try:
        return stream_nocs(draw.program) if draw.program else None
    except KeyError:  # a stream name the registry doesn't know: stored verbatim, flagged
        return None


def evaluate(profile: MatchProfile, draw: Draw, nocs: dict[str, str] | None = None, *,
             shared: DrawFacts | None = None) -> Decision:
    """The decision for one profile and one draw (``shared``: ``draw_facts(draw)``, passed
    in when the caller evaluates many profiles against the same draw; ``nocs``:
    ``draw_nocs(draw)``, when only that is at hand)."""
    shared = draw_facts(draw, nocs) if shared is None else shared
    decision = Decision(profile.name, draw.key, shared.headline, facts=shared.facts)
    province = SOURCE_PROVINCE.get(draw.source)
    if profile.sources and draw.source not in profile.sources:
        decision.unmet.append(f"{SOURCE_TITLE.get(draw.source, draw.source)} is not among your sources")
        return decision
    if province and profile.provinces and province not in profile.provinces:
        decision.unmet.append(f"{PROVINCES[province]} is not among your provinces")
        return decision
    checks = _Checks()
    if province:
        targets = _provincial(checks, profile, draw, shared, province)
    else:
        targets = _express_entry(checks, profile, draw, shared)
    decision.reasons, decision.unmet = checks.reasons, checks.unmet
    decision.eligible, decision.targeted = checks.all_met, targets
    near = (not checks.all_met and not checks.non_score_unmet and checks.score_gap is not None
            and checks.score_gap <= profile.near_miss)
    hits = {"all": True, "eligible": checks.all_met, "targeted": targets, "near_miss": near}
    decision.interests = [i for i in profile.notify if hits[i]]
    return decision


# -- the outbox ----------------------------------------------------------------------


def load_profiles(session: Session) -> list[MatchProfile]:
    rows = session.exec(select(Subscriber.id, Subscriber.profile).where(col(Subscriber.active).is_(True)))
    return [MatchProfile.from_profile(profile, subscriber_id) for subscriber_id, profile in rows]


def _row(profile: MatchProfile, draw: Draw, decision: Decision, now: dt.datetime, **extra) -> dict:
    row = dict(subscriber_id=profile.subscriber_id, draw_id=draw.id, kind="alert", ref="alert", status="pending",
               digest=profile.digest, interests=decision.interests, reasons=decision.reasons,
               unmet=decision.unmet, facts=decision.facts, changes={}, delivered=[], attempts=0,
               next_attempt_at=now, created_at=now)
    row.update(extra)
    return row


def _corrections(session: Session, profiles: dict[int, MatchProfile], draws: list[Draw],
                 shared: dict[int, DrawFacts], now: dt.datetime) -> tuple[list[dict], set[tuple[int, int]]]:
    """Rows owed for corrected draws, and the (subscriber, draw) pairs already alerted.

    A correction states what changed since the subscriber was last told (the alert, or
    the latest correction sent); one not sent yet is brought up to date instead of
    queueing a second one.
    """
    rows: list[dict] = []
    by_id = {d.id: d for d in draws}
    history: dict[tuple[int, int], list[Notification]] = {}
    for note in session.exec(select(Notification).where(col(Notification.draw_id).in_(list(by_id)))
                             .order_by(Notification.id)):
        history.setdefault((note.subscriber_id, note.draw_id), []).append(note)
    alerted = set()
    for (subscriber_id, draw_id), notes in history.items():
        alert = next((n for n in notes if n.kind == "alert"), None)
        profile = profiles.get(subscriber_id)
        if alert is None:
            continue
        alerted.add((subscriber_id, draw_id))
        if profile is None or alert.status in ("withdrawn", "failed"):
            continue  # failed: the subscriber never heard of it, so there is nothing to correct
        draw = by_id[draw_id]
        decision = evaluate(profile, draw, shared=shared[draw_id])
        if alert.status == "pending":
            # Not sent yet: the alert itself is brought up to date instead.
            _refresh(alert, decision)
            if not decision.matched:
                alert.status, alert.last_error = "withdrawn", "a correction of the draw made it no longer apply"
            session.add(alert)
            continue
        told = [n for n in notes if n.status in ("sent", "sending")][-1].facts
        changed = {k: [told.get(k), v] for k, v in decision.facts.items() if told.get(k) != v}
        waiting = [n for n in notes if n.kind == "correction" and n.status == "pending"]
        if waiting:
            _refresh(waiting[-1], decision)
            waiting[-1].changes = changed
            if not changed:  # corrected back to what the subscriber was told
                waiting[-1].status, waiting[-1].last_error = "withdrawn", "the draw was corrected back"
            session.add(waiting[-1])
        elif changed:  # else e.g. only the invitation count or the text moved: nothing the alert said
            ref = f"correction:{draw.content_hash[:20]}"
            # A draw corrected back to a version already corrected to has had its message.
            if all(n.ref != ref for n in notes):
                rows.append(_row(profile, draw, decision, now, kind="correction", ref=ref, changes=changed))
    return rows, alerted


def _first_alert_due(session: Session, draws: list[Draw], profiles: dict[int, MatchProfile]) -> dict[int, set[int]]:
    """For changed draws: the subscribers who may still get a first alert about it.

    A change is not news: only a draw first seen after its source's baseline, and after
    the subscriber was created, and not from the source's past (``history_before``: a
    backfilled year), is one they could have been told about as new; such a
    draw that only now matches (a later page completed it) gets its first alert. A
    baseline draw, or one older than the subscriber, never does.
    """
    created = {sid: as_utc(when) for sid, when in session.exec(
        select(Subscriber.id, Subscriber.created).where(col(Subscriber.id).in_(list(profiles))))}
    sources = {d.source for d in draws}
    baselines = {source: baseline_end(session, source) for source in sources}
    pasts = {source: history_before(session, source) for source in sources}
    due = {}
    for draw in draws:
        seen, baseline, past = as_utc(draw.first_seen), as_utc(baselines[draw.source]), pasts[draw.source]
        news = (baseline is not None and seen > baseline
                and not (past is not None and draw.date is not None and draw.date < past))
        due[draw.id] = {sid for sid, when in created.items() if news and seen >= when}
    return due


def _refresh(note: Notification, decision: Decision) -> None:
    note.reasons, note.unmet, note.facts, note.interests = (decision.reasons, decision.unmet, decision.facts,
                                                            decision.interests)


def enqueue_matches(session: Session, report) -> int:
    """Outbox rows for the report's new and changed draws (the ingest's matcher): a first
    alert for a new draw, a correction for a changed one to those told about it.

    Runs in the ingest transaction, before its commit. Returns the rows written.
    """
    changed = [draw for draw, _ in report.changed]
    if len(report.history) == len(report.new) and not changed:
        return 0
    profiles = {p.subscriber_id: p for p in load_profiles(session)}
    if not profiles:
        return 0
    now = utcnow()
    # A backfilled year is stored, not announced (store.ingest.HISTORY_MARGIN).
    draws = [*(d for d in report.new if d.key not in report.history), *changed]
    shared = {draw.id: draw_facts(draw) for draw in draws}  # once per draw, not per subscriber
    rows, alerted = _corrections(session, profiles, changed, shared, now) if changed else ([], set())
    late = _first_alert_due(session, changed, profiles) if changed else {}
    for draw in draws:
        for profile in profiles.values():
            if (profile.subscriber_id, draw.id) in alerted:
                continue
            if draw.id in late and profile.subscriber_id not in late[draw.id]:
                continue
            decision = evaluate(profile, draw, shared=shared[draw.id])
            if decision.matched:
                rows.append(_row(profile, draw, decision, now))
    if rows:
        # Core bulk insert: a draw matching a large share of 100,000 profiles must not
        # build 100,000 ORM objects inside the ingest transaction.
        session.execute(insert(Notification), rows)
    return len(rows)


def decisions_for(profiles: Iterable[MatchProfile], draws: Iterable[Draw]) -> list[Decision]:
    """Every (profile, draw) decision, for ``drawwatch matches``."""
    profiles = list(profiles)
    out = []
    for draw in draws:
        shared = draw_facts(draw)
        out += [evaluate(p, draw, shared=shared) for p in profiles]
    return out
