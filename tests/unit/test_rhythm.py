"""Slots of matching on a rhythm (bot.domain.rhythm): cadence, the week after meetings, DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.rhythm import (
    AFTER_MEETING,
    EVERY_2_WEEKS,
    EVERY_4_WEEKS,
    OFF,
    Rhythm,
    iter_slots,
    last_slot,
    local_slot,
    next_slot,
    parse_time,
    parse_weekday,
    slot_key,
)
from bot.errors import BadInput

OSLO = "Europe/Oslo"
NEW_YORK = "America/New_York"  # its DST changes fall on other days than Europe's
ZONES = (OSLO, NEW_YORK, "Europe/Stockholm", "UTC")
SUNDAY = 6


def rhythm(
    kind: str, weekday: int, at: time, zone: str = OSLO, anchor: datetime | None = None
) -> Rhythm:
    return Rhythm(kind, weekday, at, zone, anchor or datetime(2027, 1, 1, tzinfo=UTC))


def take(r: Rhythm, after: datetime, n: int) -> list[datetime]:
    return list(itertools.islice(iter_slots(r, after), n))


def local(slot: datetime, zone: str) -> datetime:
    return slot.astimezone(ZoneInfo(zone))


# ----- examples ---------------------------------------------------------------------------


def test_every_two_weeks_counts_from_the_day_it_was_set() -> None:
    # set on Monday 1 Feb 2027 at 09:30 Oslo for Mondays 09:00: that slot had passed, so
    # the first is a week later, then every 14 days
    r = rhythm(EVERY_2_WEEKS, 0, time(9, 0), anchor=datetime(2027, 2, 1, 8, 30, tzinfo=UTC))
    slots = take(r, r.anchor, 3)
    assert [local(s, OSLO).date() for s in slots] == [
        date(2027, 2, 8),
        date(2027, 2, 22),
        date(2027, 3, 8),
    ]
    assert all(local(s, OSLO).time() == time(9, 0) for s in slots)


def test_a_slot_later_the_same_day_as_the_setting_is_the_first() -> None:
    r = rhythm(EVERY_4_WEEKS, 0, time(12, 0), anchor=datetime(2027, 2, 1, 8, 30, tzinfo=UTC))
    assert next_slot(r, r.anchor) == datetime(2027, 2, 1, 11, 0, tzinfo=UTC)


def test_spring_forward_in_oslo_moves_a_missing_time_to_the_end_of_the_gap() -> None:
    # 28 March 2027: 02:00 → 03:00 in Oslo; 02:30 does not exist and becomes 03:00 CEST
    # (bot.domain.moments, gap="forward": the rule for every generated time)
    r = rhythm(EVERY_2_WEEKS, SUNDAY, time(2, 30), anchor=datetime(2027, 3, 8, tzinfo=UTC))
    slots = take(r, r.anchor, 4)
    assert [local(s, OSLO).date() for s in slots] == [
        date(2027, 3, 14),
        date(2027, 3, 28),
        date(2027, 4, 11),
        date(2027, 4, 25),
    ]
    assert local(slots[1], OSLO).time() == time(3, 0)
    assert slots[1] == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert [local(s, OSLO).time() for s in slots[2:]] == [time(2, 30), time(2, 30)]


def test_fall_back_in_oslo_takes_the_first_of_a_doubled_time() -> None:
    # 31 October 2027: 03:00 → 02:00; 02:30 happens twice, the first (CEST, 00:30 UTC)
    r = rhythm(EVERY_4_WEEKS, SUNDAY, time(2, 30), anchor=datetime(2027, 10, 1, tzinfo=UTC))
    slots = take(r, r.anchor, 3)
    assert slots[1] == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert [s - a for a, s in itertools.pairwise(slots)] == [
        timedelta(days=28),
        timedelta(days=28, hours=1),  # a 25-hour day in between
    ]


def test_new_york_changes_on_its_own_days() -> None:
    # 14 March 2027 (second Sunday of March) 02:00 → 03:00 in New York
    r = rhythm(EVERY_2_WEEKS, SUNDAY, time(2, 15), NEW_YORK, datetime(2027, 3, 8, tzinfo=UTC))
    first, second = take(r, r.anchor, 2)
    assert local(first, NEW_YORK) == datetime(2027, 3, 14, 3, 0, tzinfo=ZoneInfo(NEW_YORK))
    assert local(second, NEW_YORK).time() == time(2, 15)
    # an ordinary 09:00 stays 09:00 local across it (the UTC hour moves)
    r = rhythm(EVERY_2_WEEKS, 0, time(9, 0), NEW_YORK, datetime(2027, 3, 1, tzinfo=UTC))
    assert [s.hour for s in take(r, r.anchor, 2)] == [14, 13]


def test_week_after_each_meeting() -> None:
    # meetings on Thursday 4 and Friday 5 February (one week) and Thursday 4 March 2027:
    # Tuesdays at 10:00 give Tuesday 9 February and Tuesday 9 March, once each
    meetings = [
        datetime(2027, 2, 4, 7, 30, tzinfo=UTC),
        datetime(2027, 2, 5, 7, 30, tzinfo=UTC),
        datetime(2027, 3, 4, 7, 30, tzinfo=UTC),
    ]
    r = rhythm(AFTER_MEETING, 1, time(10, 0))
    assert list(iter_slots(r, r.anchor, meetings)) == [
        datetime(2027, 2, 9, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 9, 9, 0, tzinfo=UTC),
    ]
    # a Sunday meeting: the week after starts the next day
    sunday = [datetime(2027, 2, 7, 17, 0, tzinfo=UTC)]
    assert next_slot(rhythm(AFTER_MEETING, 0, time(9, 0)), r.anchor, sunday) == datetime(
        2027, 2, 8, 8, 0, tzinfo=UTC
    )
    # a meeting at 00:30 on Monday in Oslo is on Sunday in UTC: the local week counts
    late = [datetime(2027, 2, 7, 23, 30, tzinfo=UTC)]
    assert next_slot(rhythm(AFTER_MEETING, 0, time(9, 0)), r.anchor, late) == datetime(
        2027, 2, 15, 8, 0, tzinfo=UTC
    )


def test_off_and_no_meetings_give_no_slot() -> None:
    assert next_slot(rhythm(OFF, 0, time(9, 0)), datetime(2027, 1, 1, tzinfo=UTC)) is None
    assert next_slot(rhythm(AFTER_MEETING, 0, time(9, 0)), datetime(2027, 1, 1, tzinfo=UTC)) is None


def test_last_slot_is_the_latest_passed_one() -> None:
    r = rhythm(EVERY_2_WEEKS, 0, time(9, 0), anchor=datetime(2027, 2, 1, 8, 30, tzinfo=UTC))
    now = datetime(2027, 2, 23, 12, 0, tzinfo=UTC)
    assert last_slot(r, now, now - timedelta(days=29)) == datetime(2027, 2, 22, 8, 0, tzinfo=UTC)
    assert last_slot(r, datetime(2027, 2, 8, 7, 59, tzinfo=UTC), r.anchor) is None


def test_slot_key_is_per_server_and_instant() -> None:
    slot = datetime(2027, 2, 8, 8, 0, tzinfo=UTC)
    assert slot_key(5, slot) == "match-rhythm:5:2027-02-08T08:00Z"
    assert slot_key(5, slot.astimezone(ZoneInfo(OSLO))) == slot_key(5, slot)


@pytest.mark.parametrize("text", ["08:30", "8:30", "08.30", " 23:59 "])
def test_times_read(text: str) -> None:
    assert parse_time(text) in (time(8, 30), time(23, 59))


@pytest.mark.parametrize("text", ["", "8", "24:00", "12:60", "half past eight", "08:30:00"])
def test_bad_times_refused_with_their_key(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_time(text)
    assert caught.value.key == "match.error.rhythm_time"


def test_weekdays() -> None:
    assert parse_weekday("Sunday") == SUNDAY
    with pytest.raises(BadInput) as caught:
        parse_weekday("someday")
    assert caught.value.key == "match.error.rhythm_weekday"


# ----- properties -------------------------------------------------------------------------

anchors = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001 (hypothesis takes naive bounds)
    timezones=st.just(UTC),
)
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


def in_gap(day: date, at: time, zone: str) -> bool:
    naive = datetime.combine(day, at)
    there = naive.replace(tzinfo=ZoneInfo(zone), fold=0)
    return there.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) != naive


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from((EVERY_2_WEEKS, EVERY_4_WEEKS)),
    weekday=st.integers(0, 6),
    at=times,
    zone=st.sampled_from(ZONES),
    anchor=anchors,
    skip=st.integers(0, 400),
)
def test_cadence_slots(
    kind: str, weekday: int, at: time, zone: str, anchor: datetime, skip: int
) -> None:
    r = Rhythm(kind, weekday, at, zone, anchor)
    after = anchor + timedelta(days=skip)
    slots = take(r, after, 30)  # more than a year: both DST changes
    step = 14 if kind == EVERY_2_WEEKS else 28
    assert slots[0] > after and slots[0] > anchor
    zi = ZoneInfo(zone)
    for a, b in itertools.pairwise(slots):
        assert b > a
        assert (b.astimezone(zi).date() - a.astimezone(zi).date()).days == step
    for slot in slots:
        there = slot.astimezone(zi)
        assert there.weekday() == weekday
        if not in_gap(there.date(), at, zone):
            assert there.time() == at
        else:  # moved forward to the end of the gap (03:00 in these zones)
            assert there.time() == time(3, 0) and at < time(3, 0)
    # the first slot is the first such weekday and time after the anchor (or `after`)
    assert slots[0] - max(after, anchor) <= timedelta(days=step, hours=1)
    # counted from the anchor, whatever `after` is
    base = take(r, anchor, 1)[0].astimezone(zi).date()
    assert all((s.astimezone(zi).date() - base).days % step == 0 for s in slots)


@settings(max_examples=100, deadline=None)
@given(
    weekday=st.integers(0, 6),
    at=times,
    zone=st.sampled_from(ZONES),
    meetings=st.lists(anchors, max_size=12),
)
def test_week_after_meeting_slots(
    weekday: int, at: time, zone: str, meetings: list[datetime]
) -> None:
    anchor = datetime(2025, 12, 1, tzinfo=UTC)
    r = Rhythm(AFTER_MEETING, weekday, at, zone, anchor)
    slots = list(iter_slots(r, anchor, meetings))
    zi = ZoneInfo(zone)
    assert all(b > a for a, b in itertools.pairwise(slots))
    weeks = {m.astimezone(zi).isocalendar()[:2] for m in meetings}
    assert len(slots) == len(weeks)
    for slot in slots:
        there = slot.astimezone(zi)
        assert there.weekday() == weekday
        before = there.date() - timedelta(days=7)
        assert before.isocalendar()[:2] in weeks
        assert there.time() == at or in_gap(there.date(), at, zone)


def test_local_slot_gap_and_fold() -> None:
    oslo = ZoneInfo(OSLO)
    assert local_slot(date(2027, 3, 28), time(2, 0), oslo) == datetime(
        2027, 3, 28, 1, 0, tzinfo=UTC
    )
    assert local_slot(date(2027, 10, 31), time(2, 0), oslo) == datetime(
        2027, 10, 31, 0, 0, tzinfo=UTC
    )
