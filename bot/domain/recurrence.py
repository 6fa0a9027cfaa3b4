"""Recurring meetings: RRULE strings and occurrences in local time (the phrases people type
for a rule, in nb/sv/en, are read and written by `bot.domain.rule_phrases`).

A series is stored as an RFC 5545 RRULE (only the subset below) plus a first local date,
a local start and end time and the server's IANA zone. Supported rules:

- `FREQ=MONTHLY;BYDAY=1TH` - the first Thursday of every month (ordinals 1..5, -1 the last,
  -2 the second to last), optionally `INTERVAL=n` (every n months);
- `FREQ=WEEKLY;BYDAY=WE` - every Wednesday, optionally `INTERVAL=n` (every n weeks).

Occurrences are computed on naive local wall-clock datetimes with dateutil's `rrule`, then
localised with `zoneinfo`, so a meeting at 08:30 stays at 08:30 on both sides of a
daylight-saving change. The two local times that need a decision follow
`bot.domain.moments`' rule for generated times (`gap="forward"`): a time in the
spring-forward gap (02:30 on the last Sunday of March in Europe/Oslo) moves forward to the
first valid local time (03:00); a time in the autumn fold is the first of the two.

Nothing here imports discord; every user-facing refusal is a `BadInput` with a catalogue key
from the `reminders` domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

from bot.domain.moments import local_to_utc, require_aware
from bot.errors import BadInput

Freq = Literal["MONTHLY", "WEEKLY"]

WEEKDAY_CODES: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_WEEK_INTERVAL = 52
MAX_MONTH_INTERVAL = 12
LEAD_DAYS_MIN = 1
LEAD_DAYS_MAX = 90
DEFAULT_LEAD_DAYS = 21
# How far ahead next_occurrence looks before deciding a rule has no further date. A fifth
# weekday every twelfth month can be decades apart; we do not plan meetings that far.
SEARCH_HORIZON_DAYS = 366 * 10

_DU_WEEKDAYS = (du.MO, du.TU, du.WE, du.TH, du.FR, du.SA, du.SU)


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    """A structured recurrence: every `interval` weeks on `weekday`, or the `ordinal`-th
    `weekday` of every `interval` months.

    `weekday` is 0 for Monday … 6 for Sunday. `ordinal` is set only for monthly rules:
    1..5, or -1 (last) and -2 (second to last).
    """

    freq: Freq
    weekday: int
    ordinal: int | None = None
    interval: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday out of range: {self.weekday}")
        if self.freq == "WEEKLY":
            if self.ordinal is not None:
                raise ValueError("a weekly rule has no ordinal")
            if not 1 <= self.interval <= MAX_WEEK_INTERVAL:
                raise ValueError(f"weekly interval out of range: {self.interval}")
        elif self.freq == "MONTHLY":
            if self.ordinal not in (1, 2, 3, 4, 5, -1, -2):
                raise ValueError(f"monthly ordinal out of range: {self.ordinal}")
            if not 1 <= self.interval <= MAX_MONTH_INTERVAL:
                raise ValueError(f"monthly interval out of range: {self.interval}")
        else:
            raise ValueError(f"unsupported frequency: {self.freq}")

    @property
    def skips_some_months(self) -> bool:
        """True when some months have no such day (a fifth weekday): those months are skipped
        silently by the rule, so the cog should say so when the series is created."""
        return self.freq == "MONTHLY" and self.ordinal == 5

    def to_rrule(self) -> str:
        """The RRULE value, e.g. `FREQ=MONTHLY;BYDAY=1TH` or `FREQ=WEEKLY;INTERVAL=4;BYDAY=WE`."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        prefix = "" if self.ordinal is None else str(self.ordinal)
        parts.append(f"BYDAY={prefix}{WEEKDAY_CODES[self.weekday]}")
        return ";".join(parts)

    @classmethod
    def from_rrule(cls, text: str) -> RecurrenceRule:
        """Parse an RRULE value written by `to_rrule` (an optional `RRULE:` prefix and a
        `WKST=MO` are accepted). Anything outside the supported subset raises ValueError."""
        body = text.strip()
        if body.upper().startswith("RRULE:"):
            body = body[6:]
        fields: dict[str, str] = {}
        for part in body.split(";"):
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep or name.upper() in fields:
                raise ValueError(f"bad RRULE part: {part!r}")
            fields[name.upper()] = value.upper()
        if fields.pop("WKST", "MO") != "MO":
            raise ValueError("only WKST=MO is supported")
        freq = fields.pop("FREQ", "")
        interval_text = fields.pop("INTERVAL", "1")
        byday = fields.pop("BYDAY", "")
        if fields:
            raise ValueError(f"unsupported RRULE parts: {sorted(fields)}")
        match = re.fullmatch(r"([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)", byday)
        if match is None or not interval_text.isdigit():
            raise ValueError(f"unsupported RRULE: {text!r}")
        ordinal = int(match.group(1)) if match.group(1) else None
        if freq not in ("MONTHLY", "WEEKLY"):
            raise ValueError(f"unsupported frequency: {freq!r}")
        return cls(
            freq="MONTHLY" if freq == "MONTHLY" else "WEEKLY",
            weekday=WEEKDAY_CODES.index(match.group(2)),
            ordinal=ordinal,
            interval=int(interval_text),
        )

    def matches(self, day: date) -> bool:
        """Whether `day` has the right weekday and position in its month (ignores interval)."""
        if day.weekday() != self.weekday:
            return False
        if self.ordinal is None:
            return True
        if self.ordinal > 0:
            return (day.day - 1) // 7 + 1 == self.ordinal
        days_left = (_month_end(day) - day).days
        return days_left // 7 + 1 == -self.ordinal

    def _rrule(self, dtstart: datetime) -> du.rrule:
        weekday = _DU_WEEKDAYS[self.weekday]
        return du.rrule(
            du.MONTHLY if self.freq == "MONTHLY" else du.WEEKLY,
            dtstart=dtstart,
            interval=self.interval,
            byweekday=weekday if self.ordinal is None else weekday(self.ordinal),
            wkst=du.MO,
        )


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One meeting of a series: UTC start and end, and the local date it falls on."""

    start_utc: datetime
    end_utc: datetime
    local_date: date


@dataclass(frozen=True, slots=True)
class SeriesSchedule:
    """Everything needed to compute a series' meetings (storage builds it from a row)."""

    rule: RecurrenceRule
    dtstart_local: date
    start_time: time
    end_time: time
    zone: str
    skipped: frozenset[date] = frozenset()

    def occurrences(self, after: datetime, before: datetime) -> list[Occurrence]:
        return occurrences(
            self.rule,
            self.dtstart_local,
            self.start_time,
            self.end_time,
            self.zone,
            after,
            before,
            self.skipped,
        )

    def next_occurrence(self, after: datetime) -> Occurrence | None:
        return next_occurrence(
            self.rule,
            self.dtstart_local,
            self.start_time,
            self.end_time,
            self.zone,
            after,
            self.skipped,
        )


# --------------------------------------------------------------------------- time zones


def load_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or BadInput("series.error.bad_timezone", zone=...)."""
    cleaned = name.strip()
    if not cleaned or cleaned.startswith(("/", ".")) or ".." in cleaned:
        raise BadInput("series.error.bad_timezone", zone=cleaned[:64])
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadInput("series.error.bad_timezone", zone=cleaned[:64]) from None


def _month_end(day: date) -> date:
    first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


# --------------------------------------------------------------------------- occurrences

EndSpec = time | timedelta


def _duration(start_time: time, end: EndSpec) -> timedelta:
    if isinstance(end, timedelta):
        duration = end
    else:
        duration = datetime.combine(date.min, end) - datetime.combine(date.min, start_time)
    if duration <= timedelta(0):
        raise BadInput("series.error.end_before_start")
    return duration


def occurrences(
    rule: RecurrenceRule,
    dtstart_local_date: date,
    start_time: time,
    end: EndSpec,
    zone: str,
    after: datetime,
    before: datetime,
    skipped: Iterable[date] = frozenset(),
) -> list[Occurrence]:
    """Every occurrence with `after <= start_utc < before`, in order, without skipped dates.

    `end` is the local end time on the same day, or a duration. The rule runs on naive local
    datetimes from `dtstart_local_date` at `start_time`; each result is localised with
    `moments.local_to_utc` (gap → forward, fold → first). The end is the local end wall
    time, localised the same way (never before the start).
    """
    zi = load_zone(zone)
    duration = _duration(start_time, end)
    after = require_aware(after, "after")
    before = require_aware(before, "before")
    if before <= after:
        return []
    skip = frozenset(skipped)
    lo = after.astimezone(zi).replace(tzinfo=None) - timedelta(days=1)
    hi = before.astimezone(zi).replace(tzinfo=None) + timedelta(days=1)
    first = datetime.combine(dtstart_local_date, start_time)
    if hi < first:
        return []
    found: list[Occurrence] = []
    candidates: list[datetime] = rule._rrule(first).between(max(lo, first), hi, inc=True)
    for local_start in candidates:
        if local_start.date() in skip:
            continue
        start_utc = local_to_utc(local_start, zi, gap="forward")
        if not after <= start_utc < before:
            continue
        end_utc = local_to_utc(local_start + duration, zi, gap="forward")
        if end_utc <= start_utc:
            end_utc = start_utc + duration
        found.append(Occurrence(start_utc, end_utc, local_start.date()))
    return found


def next_occurrence(
    rule: RecurrenceRule,
    dtstart_local_date: date,
    start_time: time,
    end: EndSpec,
    zone: str,
    after: datetime,
    skipped: Iterable[date] = frozenset(),
) -> Occurrence | None:
    """The first occurrence with `start_utc >= after`, or None within SEARCH_HORIZON_DAYS."""
    skip = frozenset(skipped)
    window = timedelta(days=400)
    lo = require_aware(after, "after")
    first = datetime.combine(dtstart_local_date - timedelta(days=2), time())
    lo = max(lo, first.replace(tzinfo=UTC))
    limit = lo + timedelta(days=SEARCH_HORIZON_DAYS)
    while lo < limit:
        hi = min(lo + window, limit)
        found = occurrences(rule, dtstart_local_date, start_time, end, zone, lo, hi, skip)
        if found:
            return found[0]
        lo = hi
    return None


# --------------------------------------------------------------------------- validation


def validate_lead_days(days: int) -> int:
    """Days ahead a meeting is created and announced: 1..90 (0 is refused)."""
    if not LEAD_DAYS_MIN <= days <= LEAD_DAYS_MAX:
        raise BadInput("series.error.lead_range", min=LEAD_DAYS_MIN, max=LEAD_DAYS_MAX)
    return days


def validate_series(
    rule: RecurrenceRule,
    dtstart_local_date: date,
    start_time: time,
    end: EndSpec,
    zone: str,
    now: datetime,
    lead_days: int = DEFAULT_LEAD_DAYS,
    skipped: Iterable[date] = frozenset(),
) -> Occurrence:
    """Check a new or edited series; returns its next occurrence.

    Raises BadInput with `series.error.bad_timezone`, `series.error.end_before_start`,
    `series.error.lead_range` or `series.error.no_future`.
    """
    load_zone(zone)
    _duration(start_time, end)
    validate_lead_days(lead_days)
    upcoming = next_occurrence(rule, dtstart_local_date, start_time, end, zone, now, skipped)
    if upcoming is None:
        raise BadInput("series.error.no_future")
    return upcoming
