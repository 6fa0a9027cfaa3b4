"""Meeting drafts and edits: what is refused, with which key and parameters."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.meeting import (
    DESCRIPTION_LIMIT,
    PLACE_LIMIT,
    TITLE_LIMIT,
    UNSET,
    Meeting,
    MeetingChanges,
    MeetingDraft,
    MeetingStatus,
    apply_changes,
    check_cancel_reason,
    parse_draft,
    validate_capacity,
    validate_draft,
)
from bot.errors import BadInput

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
DRAFT = MeetingDraft(
    title="Frokostmøte",
    starts_at=START,
    ends_at=START + timedelta(hours=1, minutes=30),
    timezone="Europe/Oslo",
    place="Kulturhuset",
    description="@everyone velkommen <@123>",
    capacity=20,
    rsvp_deadline=START - timedelta(days=1),
)


def typed(**texts: str) -> MeetingDraft:
    """`parse_draft` of what a person typed in `/meeting create`: the breakfast of 3
    December 08:30–10:00 unless `texts` says otherwise."""
    fields: dict[str, str] = {
        "title": "Frokost",
        "date_text": "3.12.2026",
        "start_text": "8.30",
        "end_text": "1h30",
        "timezone": "Europe/Oslo",
    }
    return parse_draft(**(fields | texts), now=NOW)  # type: ignore[arg-type]


def key_of(draft: MeetingDraft, now: datetime = NOW) -> tuple[str, dict[str, object]]:
    with pytest.raises(BadInput) as err:
        validate_draft(draft, now)
    return err.value.key, err.value.params


def test_a_good_draft_passes_unchanged() -> None:
    assert validate_draft(DRAFT, NOW) is DRAFT  # text kept exactly, mentions included


@pytest.mark.parametrize(
    ("field", "limit", "key"),
    [
        ("title", TITLE_LIMIT, "meeting.error.title_too_long"),
        ("description", DESCRIPTION_LIMIT, "meeting.error.description_too_long"),
        ("place", PLACE_LIMIT, "meeting.error.place_too_long"),
    ],
)
def test_length_limits(field: str, limit: int, key: str) -> None:
    assert validate_draft(replace(DRAFT, **{field: "x" * limit}), NOW)
    got_key, params = key_of(replace(DRAFT, **{field: "x" * (limit + 1)}))
    assert got_key == key and params == {"limit": limit, "length": limit + 1}


def test_whole_embed_budget() -> None:
    draft = replace(DRAFT, title="t" * 256, description="d" * 4096, place="p" * 1024)
    key, params = key_of(draft)
    assert key == "meeting.error.text_too_long"
    assert params["length"] == 256 + 4096 + 1024


def test_empty_title() -> None:
    assert key_of(replace(DRAFT, title="   "))[0] == "meeting.error.title_empty"


@pytest.mark.parametrize("capacity", [0, -1, 10_001])
def test_capacity_range(capacity: int) -> None:
    key, params = key_of(replace(DRAFT, capacity=capacity))
    assert key == "meeting.error.capacity_range" and params == {"min": 1, "max": 10_000}


@pytest.mark.parametrize("capacity", [None, 1, 10_000])
def test_capacity_allowed(capacity: int | None) -> None:
    validate_draft(replace(DRAFT, capacity=capacity), NOW)


def test_times() -> None:
    assert key_of(replace(DRAFT, ends_at=START))[0] == "meeting.error.end_before_start"
    past = replace(DRAFT, starts_at=NOW - timedelta(hours=1), ends_at=NOW, rsvp_deadline=None)
    assert key_of(past)[0] == "meeting.error.past_date"
    late = replace(DRAFT, rsvp_deadline=START + timedelta(minutes=1))
    assert key_of(late)[0] == "meeting.error.deadline_after_start"
    gone = replace(DRAFT, rsvp_deadline=NOW - timedelta(minutes=1))
    assert key_of(gone)[0] == "meeting.error.deadline_past"


def test_unknown_zone() -> None:
    assert key_of(replace(DRAFT, timezone="Oslo/Nowhere"))[0] == "setup.error.bad_timezone"


def test_parse_draft_from_typed_text() -> None:
    draft = typed(timezone="europe/oslo", deadline_text="1.12.2026")
    assert draft.starts_at == START and draft.ends_at == START + timedelta(minutes=90)
    assert draft.timezone == "Europe/Oslo"
    assert draft.rsvp_deadline == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def test_white_space_around_texts_is_dropped() -> None:
    """Discord refuses an embed field of white space only: a place of " " is no place."""
    draft = typed(title="  Frokost\n", place=" \t ", description=" \n")
    assert (draft.title, draft.place, draft.description) == ("Frokost", "", "")
    edited = apply_changes(MEETING, MeetingChanges(place="  ", description=" Ny "), NOW)
    assert (edited.place, edited.description) == ("", "Ny")
    assert check_cancel_reason("   ") is None
    assert check_cancel_reason(" Sykdom ") == "Sykdom"


@pytest.mark.parametrize("capacity", [-(2**53), -1, 0, 10_001, 2**53])
def test_capacity_outside_the_range_is_refused_wherever_it_is_set(capacity: int) -> None:
    with pytest.raises(BadInput) as err:
        validate_capacity(capacity)
    assert err.value.key == "meeting.error.capacity_range"
    assert validate_capacity(None) is None and validate_capacity(1) == 1


def test_parse_draft_end_before_start() -> None:
    with pytest.raises(BadInput) as err:
        typed(start_text="10:00", end_text="09:00")
    assert err.value.key == "meeting.error.end_before_start"


MEETING = Meeting(
    id=1,
    guild_id=10,
    title=DRAFT.title,
    starts_at=DRAFT.starts_at,
    ends_at=DRAFT.ends_at,
    timezone=DRAFT.timezone,
    capacity=DRAFT.capacity,
    rsvp_deadline=DRAFT.rsvp_deadline,
)


def test_moving_the_start_keeps_the_duration() -> None:
    later = apply_changes(MEETING, MeetingChanges(starts_at=START + timedelta(days=7)), NOW)
    assert later.duration == MEETING.duration and later.ends_at == MEETING.ends_at + timedelta(
        days=7
    )


def test_edit_after_the_deadline_passed_is_allowed_when_times_stay() -> None:
    after_deadline = START - timedelta(hours=2)
    edited = apply_changes(MEETING, MeetingChanges(title="Nytt navn"), after_deadline)
    assert edited.title == "Nytt navn" and edited.rsvp_deadline == MEETING.rsvp_deadline


def test_clearing_capacity_and_deadline() -> None:
    edited = apply_changes(MEETING, MeetingChanges(capacity=None, rsvp_deadline=None), NOW)
    assert edited.capacity is None and edited.rsvp_deadline is None
    kept = apply_changes(MEETING, MeetingChanges(capacity=UNSET), NOW)
    assert kept.capacity == MEETING.capacity


def test_no_edits_once_over_or_cancelled() -> None:
    with pytest.raises(BadInput) as err:
        apply_changes(MEETING, MeetingChanges(title="x"), MEETING.ends_at)
    assert err.value.key == "meeting.error.already_over"
    cancelled = replace(MEETING, status=MeetingStatus.CANCELLED)
    with pytest.raises(BadInput) as err:
        apply_changes(cancelled, MeetingChanges(title="x"), NOW)
    assert err.value.key == "meeting.error.cancelled"
