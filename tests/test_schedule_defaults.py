"""The default schedules: every minute in the weekday hours Ottawa and Toronto announce
draws in, the old rhythm otherwise; a jitter never longer than half a minute then."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scraper.schedule import effective_jitter, make_trigger
from scraper.sources.base import SourceSettings
from scraper.sources.registry import SOURCES

TORONTO = ZoneInfo("America/Toronto")


def fires(trigger, start: datetime, n: int) -> list[datetime]:
    times, t = [], start
    for _ in range(n):
        t = trigger.get_next_fire_time(times[-1] if times else None, t)
        times.append(t)
        t += timedelta(seconds=1)
    return times


@pytest.mark.parametrize("name, quiet_gap", [("express_entry", 3600), ("oinp", 7200)])
def test_every_minute_in_business_hours_and_as_before_off_hours(name, quiet_gap):
    src = SOURCES[name].default_settings().model_copy(update={"jitter": 0})
    trigger = make_trigger(name, src, "America/Toronto")
    tuesday = datetime(2026, 11, 24, 13, 59, 30, tzinfo=TORONTO)
    assert [t.strftime("%H:%M") for t in fires(trigger, tuesday, 3)] == ["14:00", "14:01", "14:02"]
    night = fires(trigger, datetime(2026, 11, 24, 21, 30, tzinfo=TORONTO), 3)
    assert {(b - a).total_seconds() for a, b in zip(night, night[1:])} == {quiet_gap}
    saturday = fires(trigger, datetime(2026, 11, 28, 13, 59, 30, tzinfo=TORONTO), 2)
    assert (saturday[1] - saturday[0]).total_seconds() == quiet_gap
    # The configured jitter (60 s by default) is cut to half a minute.
    assert effective_jitter(SOURCES[name].default_settings()) == 30


def test_jitter_is_bounded_by_a_cron_expressions_gap_too():
    assert effective_jitter(SourceSettings(schedule=["* 8-19 * * mon-fri", "0 * * * *"], jitter=60)) == 30
    assert effective_jitter(SourceSettings(schedule=["*/5 * * * *"], jitter=600)) == 150
    assert effective_jitter(SourceSettings(schedule=["0 9 * * 0"], jitter=600)) == 600
