"""The reminder plan as pure functions: what is due when, and whether to send it now.

Reminder times are computed in the meeting's local time: "7 days before at 10:00" is 10:00
local on the local calendar date seven days before the meeting's local date, converted to
UTC with the server's IANA zone, so it is 10:00 on both sides of a daylight-saving change
(gap and fold: `moments.local_to_utc`, gap → forward). "1 hour before" is one real hour.

Every delivery has a stable key (`delivery_key`): kind, meeting, offset and recipient. The
storage layer claims a key before sending, so a key is sent at most once; a meeting that
moves keeps its keys (sent reminders are not sent again; unsent ones are recomputed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from bot.domain.moments import local_to_utc, require_aware
from bot.domain.recurrence import Occurrence, SeriesSchedule, load_zone
from bot.errors import BadInput

CHANNEL_REMINDER: Final = "channel_reminder"
DM_REMINDER: Final = "dm_reminder"
HOUR_BEFORE: Final = "hour_before"
MONTHLY_POST: Final = "monthly_post"
CHANGE_NOTICE: Final = "change_notice"
REMINDER_KINDS: Final = (CHANNEL_REMINDER, DM_REMINDER, HOUR_BEFORE)

DEFAULT_GRACE: Final = timedelta(hours=6)
CHANNEL_DAYS_MAX: Final = 60
DM_DAYS_MAX: Final = 30


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """A server's reminder settings. The defaults are the plan of a new server."""

    channel_reminder_days: int = 7
    dm_days: int = 1
    local_time: time = time(10, 0)
    extra_hour_before: bool = False
    ping_role_id: int | None = None
    monthly_day: int = 1
    monthly_time: time = time(9, 0)
    channel_enabled: bool = True
    dm_enabled: bool = True
    monthly_enabled: bool = True


def validate_plan(plan: ReminderPlan) -> ReminderPlan:
    """Refuse values the plan cannot honour (BadInput with a `reminders.error.*` key).

    Days before may be 0 (the meeting day itself, at `local_time`). The monthly day is
    1..31; in shorter months the post goes out on the last day.
    """
    if not 0 <= plan.channel_reminder_days <= CHANNEL_DAYS_MAX:
        raise BadInput("reminders.error.days_range", min=0, max=CHANNEL_DAYS_MAX)
    if not 0 <= plan.dm_days <= DM_DAYS_MAX:
        raise BadInput("reminders.error.days_range", min=0, max=DM_DAYS_MAX)
    if not 1 <= plan.monthly_day <= 31:
        raise BadInput("reminders.error.monthly_day_range", min=1, max=31)
    return plan


@dataclass(frozen=True, slots=True)
class MeetingTimes:
    """What the plan needs to know about a meeting."""

    id: int
    starts_at_utc: datetime
    zone: str
    status: str = "scheduled"  # or "cancelled"


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    kind: str
    meeting_id: int
    offset_key: str
    due_utc: datetime
    meeting_start_utc: datetime


class Decision(StrEnum):
    SEND = "send"
    SKIP_TOO_LATE = "skip_too_late"
    NOT_YET = "not_yet"


def local_due(meeting_start_utc: datetime, zone: str, days_before: int, at: time) -> datetime:
    """`at` local time on the local date `days_before` days before the meeting's local date."""
    zi = load_zone(zone)
    meeting_day = require_aware(meeting_start_utc, "meeting_start_utc").astimezone(zi).date()
    day = meeting_day - timedelta(days=days_before)
    return local_to_utc(datetime.combine(day, at), zi, gap="forward")


def planned_deliveries(meeting: MeetingTimes, plan: ReminderPlan) -> list[PlannedDelivery]:
    """The reminders of one meeting under `plan`, ordered by due time.

    Nothing for a cancelled meeting. A delivery due at or after the meeting start is left
    out (a "7 days before" for a meeting created 2 days ahead is still sent if its due time
    lies in the past: `due_now` decides with the grace window).
    """
    if meeting.status != "scheduled":
        return []
    start = require_aware(meeting.starts_at_utc, "starts_at_utc")
    found: list[PlannedDelivery] = []

    def add(kind: str, offset_key: str, due: datetime) -> None:
        if due < start:
            found.append(PlannedDelivery(kind, meeting.id, offset_key, due, start))

    if plan.channel_enabled:
        days = plan.channel_reminder_days
        add(CHANNEL_REMINDER, f"d{days}", local_due(start, meeting.zone, days, plan.local_time))
    if plan.dm_enabled:
        days = plan.dm_days
        add(DM_REMINDER, f"d{days}", local_due(start, meeting.zone, days, plan.local_time))
    if plan.extra_hour_before:
        add(HOUR_BEFORE, "h1", start - timedelta(hours=1))
    found.sort(key=lambda d: (d.due_utc, d.kind))
    return found


def late_rule(due_utc: datetime, now: datetime, grace: timedelta = DEFAULT_GRACE) -> Decision:
    """The one rule for everything the bot posts at a time (reminders, the monthly post,
    series announcements): not yet before `due_utc`; send when at most `grace` late (the
    bot was down, or busy); skip (and log) when later than that."""
    require_aware(now, "now")
    if now < require_aware(due_utc, "due_utc"):
        return Decision.NOT_YET
    if now - due_utc > grace:
        return Decision.SKIP_TOO_LATE
    return Decision.SEND


def due_now(planned: PlannedDelivery, now: datetime, grace: timedelta = DEFAULT_GRACE) -> Decision:
    """`late_rule`, and skipped as well once the meeting has started."""
    decision = late_rule(planned.due_utc, now, grace)
    if decision is Decision.SEND and now >= planned.meeting_start_utc:
        return Decision.SKIP_TOO_LATE
    return decision


def delivery_key(kind: str, meeting_id: int, offset_key: str, recipient_id: int | None = 0) -> str:
    """A stable unique key: `dm_reminder:42:d1:1234`; recipient 0 for channel posts."""
    for part in (kind, offset_key):
        if not part or ":" in part:
            raise ValueError(f"bad key part: {part!r}")
    return f"{kind}:{meeting_id:d}:{offset_key}:{recipient_id or 0:d}"


def monthly_offset_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def monthly_post_key(guild_id: int, year: int, month: int) -> str:
    """The monthly post has no meeting: its key carries the server instead."""
    return f"{MONTHLY_POST}:g{guild_id:d}:{monthly_offset_key(year, month)}:0"


def _month_day(year: int, month: int, day: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    last = (first_next - timedelta(days=1)).day
    return date(year, month, min(day, last))


def monthly_post_time(plan: ReminderPlan, zone: str, year: int, month: int) -> datetime:
    """When the monthly post of (year, month) is due, in UTC."""
    day = _month_day(year, month, plan.monthly_day)
    return local_to_utc(datetime.combine(day, plan.monthly_time), load_zone(zone), gap="forward")


@dataclass(frozen=True, slots=True)
class MonthlyDue:
    """The monthly post of local (year, month), due at `due_utc`: send it or skip it."""

    year: int
    month: int
    due_utc: datetime
    decision: Decision


def monthly_post_due(
    plan: ReminderPlan,
    zone: str,
    now: datetime,
    last_done_month: tuple[int, int] | None,
    grace: timedelta = DEFAULT_GRACE,
    set_up_at: datetime | None = None,
) -> MonthlyDue | None:
    """The current local month's post once its day and time have come, if that month is
    not done yet: SEND within `grace` of its time, else SKIP_TOO_LATE (`late_rule`). None
    before its time, when done, and when the server was set up after this month's post
    time (it starts with next month's post). A month that passed is never posted."""
    if not plan.monthly_enabled:
        return None
    zi = load_zone(zone)
    local = require_aware(now, "now").astimezone(zi)
    year, month = local.year, local.month
    if last_done_month is not None and last_done_month >= (year, month):
        return None
    due = monthly_post_time(plan, zone, year, month)
    if set_up_at is not None and require_aware(set_up_at, "set_up_at") > due:
        return None
    decision = late_rule(due, now, grace)
    if decision is Decision.NOT_YET:
        return None
    return MonthlyDue(year, month, due, decision)


def series_announce_due(
    occurrence_start_utc: datetime, lead_days: int, series_created_at: datetime
) -> datetime:
    """A series meeting is created and announced `lead_days` before it starts, or when the
    series is created if that is later (a new series announces its next meeting at once)."""
    return max(occurrence_start_utc - timedelta(days=lead_days), series_created_at)


def next_to_create(
    series: SeriesSchedule,
    existing_meeting_local_dates: frozenset[date] | set[date],
    now: datetime,
    lead_days: int,
) -> Occurrence | None:
    """The next occurrence that has no meeting yet and starts within `lead_days` of now.

    Pass the local dates of every meeting already made from the series, cancelled ones
    included, so a cancelled meeting is not created again. Skipped dates never come back.
    Occurrences that already started are not considered.
    """
    require_aware(now, "now")
    if lead_days < 1:
        return None
    window = series.occurrences(now, now + timedelta(days=lead_days) + timedelta(microseconds=1))
    for occurrence in window:
        if occurrence.start_utc <= now:
            continue
        if occurrence.local_date not in existing_meeting_local_dates:
            return occurrence
    return None


def retry_backoff(
    attempts: int,
    retry_after: float | None = None,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=1),
) -> timedelta:
    """How long to wait before the next attempt after `attempts` failed ones (429, 5xx):
    Discord's `retry_after` when it gave one, else base·2^(attempts-1), at most `cap`."""
    if retry_after is not None and retry_after > 0:
        return min(timedelta(seconds=retry_after), cap)
    exponent = max(0, min(attempts - 1, 20))
    delay: timedelta = base * (1 << exponent)
    return min(delay, cap)
