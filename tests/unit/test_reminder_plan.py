"""The reminder plan: due times in local time across DST, grace decisions, keys, series."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.moments import local_to_utc
from bot.domain.recurrence import SeriesSchedule
from bot.domain.reminders import (
    CHANNEL_REMINDER,
    DM_REMINDER,
    HOUR_BEFORE,
    Decision,
    MeetingTimes,
    MonthlyDue,
    PlannedDelivery,
    ReminderPlan,
    delivery_key,
    due_now,
    late_rule,
    monthly_post_due,
    monthly_post_key,
    next_to_create,
    planned_deliveries,
    retry_backoff,
    series_announce_due,
    validate_plan,
)
from bot.domain.rule_phrases import parse_rule
from bot.errors import BadInput

OSLO = ZoneInfo("Europe/Oslo")


def _local(moment: datetime) -> datetime:
    return moment.astimezone(OSLO)


def _by_kind(planned: list[PlannedDelivery]) -> dict[str, PlannedDelivery]:
    return {p.kind: p for p in planned}


def test_default_plan_seven_days_and_one_day_at_ten_local() -> None:
    start = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)  # Thursday 08:30 in Oslo
    planned = _by_kind(planned_deliveries(MeetingTimes(1, start, "Europe/Oslo"), ReminderPlan()))
    assert set(planned) == {CHANNEL_REMINDER, DM_REMINDER}
    assert planned[CHANNEL_REMINDER].due_utc == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert planned[DM_REMINDER].due_utc == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert planned[CHANNEL_REMINDER].offset_key == "d7"
    assert planned[DM_REMINDER].offset_key == "d1"


def test_meeting_at_0230_on_the_march_change_day() -> None:
    # 02:30 does not exist on 29 March 2026 in Oslo; the meeting is stored at 03:00 CEST.
    start = local_to_utc(datetime(2026, 3, 29, 2, 30), OSLO, gap="forward")  # noqa: DTZ001 (naive: local wall time)
    assert start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    plan = ReminderPlan(extra_hour_before=True)
    planned = _by_kind(planned_deliveries(MeetingTimes(7, start, "Europe/Oslo"), plan))
    # The day before and a week before are still in winter time: 10:00 CET = 09:00 UTC.
    assert planned[DM_REMINDER].due_utc == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    assert planned[CHANNEL_REMINDER].due_utc == datetime(2026, 3, 22, 9, 0, tzinfo=UTC)
    # One real hour before: 00:00 UTC, 01:00 local (before the jump).
    assert planned[HOUR_BEFORE].due_utc == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    for delivery in planned.values():
        assert delivery.due_utc < start


@pytest.mark.parametrize(
    ("meeting_local", "reminder_utc"),
    [
        # Meeting the day after the October change: the reminder is on the change day, after
        # the change (CET, +01:00).
        (datetime(2026, 10, 26, 18, 0), datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),  # noqa: DTZ001 (naive: local wall time)
        # Meeting on the change day: the reminder is the day before, still summer time.
        (datetime(2026, 10, 25, 18, 0), datetime(2026, 10, 24, 8, 0, tzinfo=UTC)),  # noqa: DTZ001 (naive: local wall time)
    ],
)
def test_day_before_reminder_is_ten_local_on_both_sides_of_october(
    meeting_local: datetime, reminder_utc: datetime
) -> None:
    start = local_to_utc(meeting_local, OSLO, gap="forward")
    dm = _by_kind(planned_deliveries(MeetingTimes(1, start, "Europe/Oslo"), ReminderPlan()))[
        DM_REMINDER
    ]
    assert dm.due_utc == reminder_utc
    assert _local(dm.due_utc).time() == time(10, 0)


@settings(max_examples=80, deadline=None)
@given(
    day=st.dates(date(2025, 1, 1), date(2028, 12, 31)),
    hour=st.integers(0, 23),
    zone=st.sampled_from(["Europe/Oslo", "Europe/Stockholm", "America/New_York", "UTC"]),
    channel_days=st.integers(0, 14),
    dm_days=st.integers(0, 3),
)
def test_reminders_are_at_local_time_on_the_right_local_date(
    day: date, hour: int, zone: str, channel_days: int, dm_days: int
) -> None:
    zi = ZoneInfo(zone)
    start = local_to_utc(datetime.combine(day, time(hour, 15)), zi, gap="forward")
    plan = ReminderPlan(channel_reminder_days=channel_days, dm_days=dm_days)
    for delivery in planned_deliveries(MeetingTimes(1, start, zone), plan):
        assert delivery.due_utc < start
        local = delivery.due_utc.astimezone(zi)
        assert local.time() == time(10, 0)  # 10:00 never falls in a gap or fold
        days = channel_days if delivery.kind == CHANNEL_REMINDER else dm_days
        assert local.date() == start.astimezone(zi).date() - timedelta(days=days)


def test_deliveries_after_the_start_are_left_out_and_cancelled_have_none() -> None:
    start = local_to_utc(datetime(2026, 12, 3, 9, 0), OSLO, gap="forward")  # noqa: DTZ001 (naive: local wall time)
    plan = ReminderPlan(channel_reminder_days=0, dm_days=0)  # 10:00 on the day: too late
    assert planned_deliveries(MeetingTimes(1, start, "Europe/Oslo"), plan) == []
    cancelled = MeetingTimes(1, start, "Europe/Oslo", status="cancelled")
    assert planned_deliveries(cancelled, ReminderPlan()) == []
    off = ReminderPlan(channel_enabled=False, dm_enabled=False)
    assert planned_deliveries(MeetingTimes(1, start, "Europe/Oslo"), off) == []


def _planned(due: datetime, start: datetime | None = None) -> PlannedDelivery:
    return PlannedDelivery(DM_REMINDER, 1, "d1", due, start or due + timedelta(days=1))


def test_grace_window_decisions() -> None:
    due = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    grace = timedelta(hours=6)
    assert due_now(_planned(due), due - timedelta(seconds=1), grace) is Decision.NOT_YET
    assert due_now(_planned(due), due, grace) is Decision.SEND
    assert due_now(_planned(due), due + timedelta(hours=2), grace) is Decision.SEND
    assert due_now(_planned(due), due + grace, grace) is Decision.SEND
    assert due_now(_planned(due), due + timedelta(days=2), grace) is Decision.SKIP_TOO_LATE
    # Within grace, but the meeting has begun: too late to remind.
    started = _planned(due, start=due + timedelta(hours=1))
    assert due_now(started, due + timedelta(hours=2), grace) is Decision.SKIP_TOO_LATE


@given(
    a=st.tuples(
        st.sampled_from([CHANNEL_REMINDER, DM_REMINDER, HOUR_BEFORE]),
        st.integers(1, 10**6),
        st.sampled_from(["d7", "d1", "h1", "d14"]),
        st.integers(0, 2**63 - 1),
    ),
    b=st.tuples(
        st.sampled_from([CHANNEL_REMINDER, DM_REMINDER, HOUR_BEFORE]),
        st.integers(1, 10**6),
        st.sampled_from(["d7", "d1", "h1", "d14"]),
        st.integers(0, 2**63 - 1),
    ),
)
@settings(max_examples=100, deadline=None)
def test_delivery_keys_are_stable_and_unique(
    a: tuple[str, int, str, int], b: tuple[str, int, str, int]
) -> None:
    assert delivery_key(*a) == delivery_key(*a)
    assert (delivery_key(*a) == delivery_key(*b)) == (a == b)


def test_delivery_key_shape() -> None:
    assert delivery_key(DM_REMINDER, 42, "d1", 1234) == "dm_reminder:42:d1:1234"
    assert delivery_key(CHANNEL_REMINDER, 42, "d7", None) == "channel_reminder:42:d7:0"
    assert monthly_post_key(9, 2026, 12) == "monthly_post:g9:2026-12:0"
    with pytest.raises(ValueError):
        delivery_key("a:b", 1, "d1")


def _month(result: MonthlyDue | None) -> tuple[int, int, Decision] | None:
    return None if result is None else (result.year, result.month, result.decision)


def test_monthly_post() -> None:
    plan = ReminderPlan()  # the 1st at 09:00 local
    zone = "Europe/Oslo"
    before = datetime(2026, 12, 1, 7, 59, tzinfo=UTC)
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    send = (2026, 12, Decision.SEND)
    assert monthly_post_due(plan, zone, before, (2026, 11)) is None
    assert _month(monthly_post_due(plan, zone, at, (2026, 11))) == send
    assert _month(monthly_post_due(plan, zone, at, None)) == send
    assert monthly_post_due(plan, zone, at, None) == MonthlyDue(2026, 12, at, Decision.SEND)
    assert monthly_post_due(plan, zone, at, (2026, 12)) is None
    assert monthly_post_due(replace(plan, monthly_enabled=False), zone, at, None) is None
    # Day 31 in February: the last day (28th), 09:00 local.
    late = replace(plan, monthly_day=31)
    assert monthly_post_due(late, zone, datetime(2027, 2, 28, 7, 59, tzinfo=UTC), None) is None
    assert _month(monthly_post_due(late, zone, datetime(2027, 2, 28, 8, 0, tzinfo=UTC), None)) == (
        2027,
        2,
        Decision.SEND,
    )
    # Local month, not UTC month: 23:30 UTC on 31 March is already 1 April in Oslo.
    april = replace(plan, monthly_time=time(0, 30))
    assert _month(
        monthly_post_due(april, zone, datetime(2026, 3, 31, 22, 30, tzinfo=UTC), None)
    ) == (2026, 4, Decision.SEND)


def test_a_late_monthly_post_follows_the_grace_window() -> None:
    plan, zone, at = ReminderPlan(), "Europe/Oslo", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    grace = timedelta(hours=6)
    assert _month(monthly_post_due(plan, zone, at + grace, None, grace)) == (
        2026,
        12,
        Decision.SEND,
    )
    for later in (grace + timedelta(seconds=1), timedelta(hours=11), timedelta(days=3)):
        assert _month(monthly_post_due(plan, zone, at + later, (2026, 11), grace)) == (
            2026,
            12,
            Decision.SKIP_TOO_LATE,
        )


def test_a_server_set_up_after_the_post_time_starts_with_next_month() -> None:
    plan, zone, at = ReminderPlan(), "Europe/Oslo", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    evening = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert (
        monthly_post_due(plan, zone, evening + timedelta(minutes=5), None, set_up_at=evening)
        is None
    )
    assert monthly_post_due(plan, zone, at + timedelta(hours=1), None, set_up_at=at) is not None
    # set up in the morning before 09:00: that day's post is due
    morning = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert _month(monthly_post_due(plan, zone, at, None, set_up_at=morning)) == (
        2026,
        12,
        Decision.SEND,
    )
    # and the month after, the evening server gets its first post
    january = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    assert _month(monthly_post_due(plan, zone, january, None, set_up_at=evening)) == (
        2027,
        1,
        Decision.SEND,
    )


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
        max_value=datetime(2035, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
        timezones=st.just(UTC),
    ),
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=48)),
)
def test_late_rule_is_one_window(due: datetime, offset: timedelta, grace: timedelta) -> None:
    decision = late_rule(due, due + offset, grace)
    if offset < timedelta(0):
        assert decision is Decision.NOT_YET
    elif offset <= grace:
        assert decision is Decision.SEND
    else:
        assert decision is Decision.SKIP_TOO_LATE


def test_series_announce_due_is_the_lead_time_or_the_creation() -> None:
    start = datetime(2027, 3, 4, 7, 30, tzinfo=UTC)
    created = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
    assert series_announce_due(start, 21, created) == datetime(2027, 2, 11, 7, 30, tzinfo=UTC)
    assert series_announce_due(start, 40, created) == created


def test_plan_validation() -> None:
    assert validate_plan(ReminderPlan()) == ReminderPlan()
    for bad, key in [
        (ReminderPlan(channel_reminder_days=-1), "reminders.error.days_range"),
        (ReminderPlan(dm_days=31), "reminders.error.days_range"),
        (ReminderPlan(monthly_day=0), "reminders.error.monthly_day_range"),
    ]:
        with pytest.raises(BadInput) as caught:
            validate_plan(bad)
        assert caught.value.key == key


def test_next_to_create() -> None:
    schedule = SeriesSchedule(
        parse_rule("first Thursday").rule, date(2026, 1, 1), time(8, 30), time(10), "Europe/Oslo"
    )
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    first = next_to_create(schedule, frozenset(), now, 21)
    assert first is not None and first.local_date == date(2026, 12, 3)
    assert first.start_utc == datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
    # Created already: the January one is 45 days away, beyond the lead time.
    assert next_to_create(schedule, {date(2026, 12, 3)}, now, 21) is None
    assert next_to_create(schedule, {date(2026, 12, 3)}, now, 60) is not None
    # Too far ahead yet.
    assert next_to_create(schedule, frozenset(), now, 5) is None
    # Skipped (the Christmas break): nothing to create.
    skipping = replace(schedule, skipped=frozenset({date(2026, 12, 3)}))
    assert next_to_create(skipping, frozenset(), now, 21) is None
    # A meeting that already started is not created.
    during = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert next_to_create(schedule, frozenset(), during, 21) is None
    # Weekly: one at a time, in order, each within the lead time.
    weekly = replace(schedule, rule=parse_rule("every Wednesday").rule)
    made: set[date] = set()
    while (occurrence := next_to_create(weekly, made, now, 21)) is not None:
        made.add(occurrence.local_date)
    assert sorted(made) == [date(2026, 11, 25), date(2026, 12, 2), date(2026, 12, 9)]


def test_retry_backoff() -> None:
    assert retry_backoff(1) == timedelta(seconds=30)
    assert retry_backoff(3) == timedelta(seconds=120)
    assert retry_backoff(50) == timedelta(hours=1)
    assert retry_backoff(1, retry_after=2.5) == timedelta(seconds=2.5)
