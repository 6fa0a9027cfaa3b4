"""Matching on a rhythm: when the automatic rounds are due (pure; no discord imports).

A rhythm is one of `RHYTHMS`: off, every 2 or every 4 weeks (counted from the moment the
rhythm was set, its `anchor`), or the week after each meeting (the given weekday in the
calendar week, Monday to Sunday, after the week of each meeting). A slot is that weekday
at the given local wall time in the server's zone, as a UTC instant.

Daylight saving time:

the rule for generated times in `bot.domain.moments` (`gap="forward"`), as for series
and reminders:

* a local time that does not exist (the spring-forward gap, e.g. 02:30 on the last Sunday
  of March in Oslo) moves forward to the first wall time that exists: 03:00 (summer time);
* a local time that exists twice (the autumn fold) takes the first occurrence (summer
  time, `fold=0`).

So a slot is always on the given weekday, and at the given local time except in the gap.
No slot is ever at or before the anchor: setting a rhythm never runs a round for a slot
that had already passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.moments import local_to_utc
from bot.errors import BadInput

OFF = "off"
EVERY_2_WEEKS = "every_2_weeks"
EVERY_4_WEEKS = "every_4_weeks"
AFTER_MEETING = "after_meeting"
RHYTHMS = (OFF, EVERY_2_WEEKS, EVERY_4_WEEKS, AFTER_MEETING)
CADENCE_DAYS = {EVERY_2_WEEKS: 14, EVERY_4_WEEKS: 28}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_TIME = time(9, 0)
_HHMM = re.compile(r"\s*([0-9]{1,2})[:.]([0-9]{2})\s*")


@dataclass(frozen=True, slots=True)
class Rhythm:
    """`weekday` 0 is Monday; `anchor` is when the rhythm was set (aware)."""

    kind: str
    weekday: int
    local_time: time
    zone: str
    anchor: datetime

    def __post_init__(self) -> None:
        if self.kind not in RHYTHMS:
            raise ValueError(f"unknown rhythm: {self.kind!r}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday out of range: {self.weekday}")
        if self.anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware")


def parse_weekday(value: str) -> int:
    """A weekday choice value (`monday` … `sunday`) → 0 … 6; BadInput otherwise."""
    cleaned = value.strip().casefold()
    if cleaned not in WEEKDAYS:
        raise BadInput("match.error.rhythm_weekday")
    return WEEKDAYS.index(cleaned)


def parse_time(value: str) -> time:
    """ "HH:MM" (24 hours; "8:30" and "08.30" too) → a time; BadInput otherwise."""
    found = _HHMM.fullmatch(value)
    if found is None:
        raise BadInput("match.error.rhythm_time")
    hour, minute = int(found[1]), int(found[2])
    if hour > 23 or minute > 59:
        raise BadInput("match.error.rhythm_time")
    return time(hour, minute)


def local_slot(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at local wall time `at` in `zone`, as UTC: a missing time moves forward to the
    end of the gap, a doubled one takes the first occurrence (see the module's docstring)."""
    return local_to_utc(datetime.combine(day, at), zone, gap="forward")


def _week_after(day: date, weekday: int) -> date:
    """`weekday` in the calendar week (Monday to Sunday) after the week of `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday + timedelta(days=7 + weekday)


def _first_cadence_day(rhythm: Rhythm, zone: ZoneInfo) -> date:
    """The first day on the rhythm's weekday whose slot is after the anchor."""
    start = rhythm.anchor.astimezone(zone).date()
    day = start + timedelta(days=(rhythm.weekday - start.weekday()) % 7)
    if local_slot(day, rhythm.local_time, zone) <= rhythm.anchor:
        day += timedelta(days=7)
    return day


def iter_slots(
    rhythm: Rhythm, after: datetime, meetings: Iterable[datetime] = ()
) -> Iterator[datetime]:
    """Slots strictly after `after` (and after the anchor), ascending. Endless for the
    2/4-week cadence; for "after each meeting", one per week that follows a week with a
    meeting among `meetings` (their start times; several in one week give one slot)."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if rhythm.kind == OFF:
        return
    zone = ZoneInfo(rhythm.zone)
    floor = max(after, rhythm.anchor)
    if rhythm.kind == AFTER_MEETING:
        days = {_week_after(m.astimezone(zone).date(), rhythm.weekday) for m in meetings}
        for day in sorted(days):
            slot = local_slot(day, rhythm.local_time, zone)
            if slot > floor:
                yield slot
        return
    step = CADENCE_DAYS[rhythm.kind]
    first = _first_cadence_day(rhythm, zone)
    # jump close to `floor` (a step early, so a slot near it is not passed over)
    skip = max(0, (floor.astimezone(zone).date() - first).days // step - 1)
    day = first + timedelta(days=skip * step)
    while True:
        slot = local_slot(day, rhythm.local_time, zone)
        if slot > floor:
            yield slot
        day += timedelta(days=step)


def next_slot(
    rhythm: Rhythm, after: datetime, meetings: Iterable[datetime] = ()
) -> datetime | None:
    """The first slot strictly after `after`, or None (off, or no meeting to follow)."""
    return next(iter_slots(rhythm, after, meetings), None)


def last_slot(
    rhythm: Rhythm, now: datetime, since: datetime, meetings: Iterable[datetime] = ()
) -> datetime | None:
    """The latest slot in (`since`, `now`], or None: the one a round may be due for."""
    found = None
    for slot in iter_slots(rhythm, since, meetings):
        if slot > now:
            break
        found = slot
    return found


def slot_key(guild_id: int, slot: datetime) -> str:
    """The slot's unique ledger key, also stored on the round it made."""
    return f"match-rhythm:{guild_id:d}:{slot.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"


def report_key(guild_id: int, slot: datetime) -> str:
    """The ledger key of the organisers' report after the slot's round."""
    return f"match-rhythm-report:{guild_id:d}:{slot.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"
