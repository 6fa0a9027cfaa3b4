"""The `/meeting edit` rules, decided in the domain (`changes_from_edit`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.meeting import (
    UNSET,
    EditRequest,
    Meeting,
    MeetingStatus,
    changes_from_edit,
)
from bot.domain.moments import to_local
from bot.errors import BadInput

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# Thursday 3 December 2026, 08:30–10:00 in Oslo (UTC+1).
MEETING = Meeting(
    id=1,
    guild_id=10,
    title="Inkluderingsdagen",
    starts_at=datetime(2026, 12, 3, 7, 30, tzinfo=UTC),
    ends_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
    timezone="Europe/Oslo",
    capacity=30,
)


def test_a_new_date_keeps_the_local_start_time_and_the_duration() -> None:
    changes = changes_from_edit(MEETING, EditRequest(date_text="7.1.2027"), NOW)
    assert changes.starts_at == datetime(2027, 1, 7, 7, 30, tzinfo=UTC)
    assert changes.ends_at == datetime(2027, 1, 7, 9, 0, tzinfo=UTC)
    assert changes.title is UNSET and changes.capacity is UNSET


def test_a_new_start_keeps_the_date_and_a_new_end_is_taken_as_typed() -> None:
    changes = changes_from_edit(MEETING, EditRequest(start_text="09:00", end_text="11:00"), NOW)
    assert changes.starts_at == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert changes.ends_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_across_the_summer_time_change_the_wall_clock_is_kept() -> None:
    changes = changes_from_edit(MEETING, EditRequest(date_text="1.4.2027"), NOW)
    assert isinstance(changes.starts_at, datetime)
    assert to_local(changes.starts_at, "Europe/Oslo").strftime("%H:%M") == "08:30"


def test_capacity_zero_removes_the_limit() -> None:
    assert changes_from_edit(MEETING, EditRequest(capacity=0), NOW).capacity is None
    assert changes_from_edit(MEETING, EditRequest(capacity=12), NOW).capacity == 12


@pytest.mark.parametrize(
    ("meeting", "request_", "key"),
    [
        (MEETING, EditRequest(), "meeting.error.nothing_to_change"),
        (MEETING, EditRequest(start_text="08:30"), "meeting.error.nothing_to_change"),
        (
            replace(MEETING, status=MeetingStatus.CANCELLED),
            EditRequest(title="x"),
            "meeting.error.cancelled",
        ),
        (MEETING, EditRequest(date_text="31.2.2027"), "meeting.error.invalid_date"),
        (MEETING, EditRequest(start_text="25:00"), "meeting.error.time_format"),
    ],
)
def test_refused_edits_say_why(meeting: Meeting, request_: EditRequest, key: str) -> None:
    with pytest.raises(BadInput) as err:
        changes_from_edit(meeting, request_, NOW)
    assert err.value.key == key


@given(st.integers(min_value=1, max_value=400))
def test_moving_by_days_keeps_wall_clock_and_duration(days: int) -> None:
    day = to_local(MEETING.starts_at, "Europe/Oslo").date() + timedelta(days=days)
    changes = changes_from_edit(MEETING, EditRequest(date_text=day.isoformat()), NOW)
    assert isinstance(changes.starts_at, datetime) and isinstance(changes.ends_at, datetime)
    local = to_local(changes.starts_at, "Europe/Oslo")
    assert local.date() == day and local.strftime("%H:%M") == "08:30"
    assert to_local(changes.ends_at, "Europe/Oslo").strftime("%H:%M") == "10:00"
