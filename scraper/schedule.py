"""A source's ``schedule`` as an APScheduler trigger, and when the source is next due.

Shared by the service (which runs the triggers) and ``drawwatch status`` (which only
reports them); imports APScheduler's triggers, never Scrapy.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scraper.sources.base import SourceSettings, interval_seconds


class ScheduleError(Exception):
    """A source has nothing to schedule."""


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekdays(field: str) -> str:
    """A crontab day-of-week field (0 and 7 = Sunday, names, ranges, steps) as day names.

    APScheduler 3 numbers the days from Monday = 0, so "1-5" given to it unchanged would
    mean Tuesday to Saturday; names mean the same thing to both.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        if span == "*":
            lo, hi = 0, 6
        else:
            lo = int(first) if first.isdigit() else _DAYS.index(first[:3])
            hi = (int(last) if last.isdigit() else _DAYS.index(last[:3])) if last else (6 if step else lo)
            if hi < lo:  # "fri-mon" style wrap-around
                hi += 7
        days.update(d % 7 for d in range(lo, hi + 1, int(step or 1)))
    return ",".join(_DAYS[d] for d in sorted(days))


def cron_trigger(text: str, tz: ZoneInfo) -> CronTrigger:
    """A five-field crontab expression read the way cron reads it."""
    fields = text.split()
    fields[4] = _weekdays(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=tz)


def _entry(text: str, tz: ZoneInfo, jitter: int | None = None) -> IntervalTrigger | CronTrigger:
    seconds = interval_seconds(text)
    if seconds is not None:
        return IntervalTrigger(seconds=seconds, timezone=tz, jitter=jitter)
    trigger = cron_trigger(text, tz)
    trigger.jitter = jitter  # from_crontab() takes no jitter
    return trigger


_UTC = ZoneInfo("UTC")
_FROM = datetime(2026, 1, 5, tzinfo=_UTC)  # a Monday: weekday entries fire from it on


def _gap(text: str) -> float:
    """Seconds between two runs of one schedule entry: its interval, or the shortest of a
    cron expression's first gaps ("* 8-19 * * mon-fri": 60 s)."""
    seconds = interval_seconds(text)
    if seconds is not None:
        return seconds
    trigger = cron_trigger(text, _UTC)
    times = [trigger.get_next_fire_time(None, _FROM)]
    while len(times) < 4 and times[-1] is not None:
        times.append(trigger.get_next_fire_time(times[-1], times[-1] + timedelta(seconds=1)))
    times = [t for t in times if t is not None]
    return min(((b - a).total_seconds() for a, b in zip(times, times[1:])), default=float("inf"))


def effective_jitter(src: SourceSettings) -> int:
    """The configured jitter, but never more than half the shortest time between two runs.

    A jitter meant for "every 10m" (a minute) would otherwise turn "every 2s" into
    "every half minute or so", and a poll due every minute into one that may come two
    minutes after the last.
    """
    shortest = min(map(_gap, src.schedule), default=float("inf"))
    return min(src.jitter, int(shortest // 2)) if shortest != float("inf") else src.jitter


def make_trigger(name: str, src: SourceSettings, timezone: str) -> BaseTrigger:
    """One trigger firing whenever any of the source's schedule entries fires."""
    if not src.schedule:
        raise ScheduleError(f"sources.{name}.schedule is empty: nothing would ever crawl {name}")
    tz = ZoneInfo(timezone)
    jitter = effective_jitter(src) or None
    if len(src.schedule) == 1:
        return _entry(src.schedule[0], tz, jitter)
    return OrTrigger([_entry(text, tz) for text in src.schedule], jitter=jitter)


def due_after(src: SourceSettings, timezone: str, last_run: datetime) -> datetime:
    """The first time after ``last_run`` at which the schedule wanted the source crawled.

    Intervals count from the last run, so a service restarted more often than its
    interval still crawls; cron entries fire at their next matching time.
    """
    tz = ZoneInfo(timezone)
    times = []
    for text in src.schedule:
        seconds = interval_seconds(text)
        if seconds is not None:
            times.append(last_run + timedelta(seconds=seconds))
        else:
            times.append(cron_trigger(text, tz).get_next_fire_time(None, last_run))
    return min(t for t in times if t is not None)


def first_run(src: SourceSettings, timezone: str, last_run: datetime | None, now: datetime) -> datetime:
    """When the service should first crawl a source: now if it never ran or a run was
    missed while the service was down (one catch-up run, not one per missed time)."""
    if last_run is None:
        return now
    return max(due_after(src, timezone, last_run), now)
