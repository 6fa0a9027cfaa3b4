"""Meetings: what an organiser may create or change, checked before anything is stored.

User text is kept exactly as typed (no stripping, no mention filtering: the bot's
`allowed_mentions` keeps it from pinging). Lengths follow Discord's embed limits, since
the announcement is an embed: title 256, description 4096, a field value (the place)
1024, and 6000 for the whole embed, of which `EMBED_RESERVE` is kept for what the bot
adds (time, capacity, answer counts, footer).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.dates import combine, parse_date, parse_datetime, parse_end, parse_time
from bot.domain.moments import to_local
from bot.domain.rsvp import is_open
from bot.domain.zones import validate_timezone
from bot.errors import BadInput

__all__ = [
    "CANCEL_REASON_LIMIT",
    "CAPACITY_MAX",
    "CAPACITY_MIN",
    "DESCRIPTION_LIMIT",
    "EMBED_LIMIT",
    "EMBED_RESERVE",
    "PLACE_LIMIT",
    "TITLE_LIMIT",
    "UNSET",
    "Meeting",
    "MeetingChanges",
    "MeetingDraft",
    "MeetingStatus",
    "PublishState",
    "apply_changes",
    "check_cancel_reason",
    "check_not_over",
    "parse_draft",
    "validate_draft",
]

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
PLACE_LIMIT = 1024
EMBED_LIMIT = 6000
EMBED_RESERVE = 1000
CAPACITY_MIN = 1
CAPACITY_MAX = 10_000
CANCEL_REASON_LIMIT = 1024


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class PublishState(enum.StrEnum):
    """How far publishing a meeting got; each step is stored before the next one starts."""

    NEW = "new"  # stored, nothing posted yet
    POSTING = "posting"  # about to post: the announcement may exist without its id stored
    POSTED = "posted"  # announcement id stored; reactions, event or embed may still lag
    DONE = "done"  # announcement, reactions and event (if allowed) match the row


class _Unset(enum.Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET
"""Marks a field of `MeetingChanges` that is left as it is (None may mean "clear")."""


@dataclass(frozen=True, slots=True)
class MeetingDraft:
    """A meeting as the organiser describes it. Times are aware (stored in UTC)."""

    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    place: str = ""
    description: str = ""
    capacity: int | None = None
    rsvp_deadline: datetime | None = None
    series_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Meeting(MeetingDraft):
    """A stored meeting: the draft's fields and what storing and publishing it added."""

    id: int
    guild_id: int
    status: MeetingStatus = MeetingStatus.SCHEDULED
    cancel_reason: str | None = None
    channel_id: int | None = None
    message_id: int | None = None
    roster_message_id: int | None = None
    scheduled_event_id: int | None = None
    announcement_missing: bool = False
    ical_sequence: int = 0
    created_by: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    publish_state: PublishState = PublishState.DONE
    posting_since: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.status is MeetingStatus.CANCELLED

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def answers_open(self, now: datetime) -> bool:
        return is_open(
            starts_at=self.starts_at, deadline=self.rsvp_deadline, status=self.status, now=now
        )

    def is_over(self, now: datetime) -> bool:
        return now >= self.ends_at

    def draft(self) -> MeetingDraft:
        """The fields an organiser describes, without the stored ones."""
        return MeetingDraft(**_draft_fields(self))


def _draft_fields(draft: MeetingDraft) -> dict[str, Any]:
    """The fields an organiser describes, by name (of a draft or a meeting)."""
    return {f.name: getattr(draft, f.name) for f in fields(MeetingDraft)}


@dataclass(frozen=True, slots=True)
class MeetingChanges:
    """An edit: every field left at UNSET keeps its value."""

    title: str | _Unset = UNSET
    starts_at: datetime | _Unset = UNSET
    ends_at: datetime | _Unset = UNSET
    place: str | _Unset = UNSET
    description: str | _Unset = UNSET
    capacity: int | _Unset | None = UNSET
    rsvp_deadline: datetime | _Unset | None = UNSET

    def is_empty(self) -> bool:
        return all(
            value is UNSET
            for value in (
                self.title,
                self.starts_at,
                self.ends_at,
                self.place,
                self.description,
                self.capacity,
                self.rsvp_deadline,
            )
        )


def validate_capacity(capacity: int | None) -> int | None:
    """None (no limit) or a capacity within CAPACITY_MIN..CAPACITY_MAX; else BadInput."""
    if capacity is not None and not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        raise BadInput("meeting.error.capacity_range", min=CAPACITY_MIN, max=CAPACITY_MAX)
    return capacity


def _check_length(key: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise BadInput(key, limit=limit, length=len(text))


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("meeting times must be timezone-aware")


def validate_draft(
    draft: MeetingDraft, now: datetime, *, check_start: bool = True, check_deadline: bool = True
) -> MeetingDraft:
    """The draft, unchanged, if it can be announced; otherwise BadInput with a specific key.

    `check_start`/`check_deadline` False skip the "not in the past" check of that time (an
    edit that leaves it alone must not fail because it has since passed).
    """
    if not draft.title.strip():
        raise BadInput("meeting.error.title_empty")
    _check_length("meeting.error.title_too_long", draft.title, TITLE_LIMIT)
    _check_length("meeting.error.description_too_long", draft.description, DESCRIPTION_LIMIT)
    _check_length("meeting.error.place_too_long", draft.place, PLACE_LIMIT)
    _check_length(
        "meeting.error.text_too_long",
        draft.title + draft.description + draft.place,
        EMBED_LIMIT - EMBED_RESERVE,
    )
    validate_capacity(draft.capacity)
    validate_timezone(draft.timezone)
    for moment in (draft.starts_at, draft.ends_at, draft.rsvp_deadline):
        if moment is not None:
            _require_aware(moment)
    if draft.ends_at <= draft.starts_at:
        raise BadInput("meeting.error.end_before_start")
    if check_start and draft.starts_at <= now:
        raise BadInput("meeting.error.past_date")
    if draft.rsvp_deadline is not None:
        if draft.rsvp_deadline > draft.starts_at:
            raise BadInput("meeting.error.deadline_after_start")
        if check_deadline and draft.rsvp_deadline <= now:
            raise BadInput("meeting.error.deadline_past")
    return draft


def check_not_over(meeting: Meeting, now: datetime) -> None:
    """Editing or cancelling a meeting that has already ended makes no sense."""
    if meeting.is_over(now):
        raise BadInput("meeting.error.already_over")


def apply_changes(meeting: Meeting, changes: MeetingChanges, now: datetime) -> Meeting:
    """The meeting with `changes` applied and validated. The meeting must not be over.

    Moving the start keeps the duration unless a new end is given too. The start and the
    deadline are checked against `now` only when the edit changes them.
    """
    check_not_over(meeting, now)
    if meeting.cancelled:
        raise BadInput("meeting.error.cancelled")
    starts_at = meeting.starts_at if changes.starts_at is UNSET else changes.starts_at
    ends_at = changes.ends_at if changes.ends_at is not UNSET else starts_at + meeting.duration
    draft = replace(
        meeting.draft(),
        title=meeting.title if changes.title is UNSET else changes.title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        place=meeting.place if changes.place is UNSET else changes.place.strip(),
        description=(
            meeting.description if changes.description is UNSET else changes.description.strip()
        ),
        capacity=meeting.capacity if changes.capacity is UNSET else changes.capacity,
        rsvp_deadline=(
            meeting.rsvp_deadline if changes.rsvp_deadline is UNSET else changes.rsvp_deadline
        ),
    )
    validate_draft(
        draft,
        now,
        check_start=changes.starts_at is not UNSET,
        check_deadline=changes.rsvp_deadline is not UNSET,
    )
    return replace(meeting, **_draft_fields(draft), updated_at=now)


def check_cancel_reason(reason: str | None) -> str | None:
    """The reason without surrounding white space (None when nothing is left)."""
    if reason is not None:
        reason = reason.strip()
        _check_length("meeting.error.reason_too_long", reason, CANCEL_REASON_LIMIT)
    return reason or None


def parse_draft(
    *,
    title: str,
    date_text: str,
    start_text: str,
    end_text: str,
    timezone: str,
    now: datetime,
    place: str = "",
    description: str = "",
    capacity: int | None = None,
    deadline_text: str | None = None,
    series_id: int | None = None,
) -> MeetingDraft:
    """A validated draft from what the organiser typed (see `bot.domain.dates` for formats).

    `end_text` is an end time on the same day or a duration; `deadline_text` a date with
    an optional time (a date alone means the end of that day).
    """
    zone = validate_timezone(timezone)
    today = now.astimezone(ZoneInfo(zone)).date()
    starts_at = combine(parse_date(date_text, today=today), parse_time(start_text), zone)
    ends_at = parse_end(end_text, starts_at, zone)
    deadline = parse_datetime(deadline_text, zone, today=today) if deadline_text else None
    draft = MeetingDraft(
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=zone,
        place=place.strip(),  # Discord refuses an embed field of white space only
        description=description.strip(),
        capacity=capacity,
        rsvp_deadline=deadline,
        series_id=series_id,
    )
    return validate_draft(draft, now)


@dataclass(frozen=True, slots=True)
class EditRequest:
    """What an organiser typed in `/meeting edit`: None leaves a field as it is; a
    capacity of 0 removes the limit."""

    title: str | None = None
    date_text: str | None = None
    start_text: str | None = None
    end_text: str | None = None
    place: str | None = None
    description: str | None = None
    capacity: int | None = None
    deadline_text: str | None = None


def changes_from_edit(current: Meeting, request: EditRequest, now: datetime) -> MeetingChanges:
    """The edit rules: a new date keeps the start time and a new start keeps the date (both
    in the meeting's zone); the duration is kept unless a new end is given; only what
    really changes is set. Refuses a cancelled meeting and an edit that changes nothing."""
    if current.cancelled:
        raise BadInput("meeting.error.cancelled")
    zone = current.timezone
    local = to_local(current.starts_at, zone)
    today = to_local(now, zone).date()
    new_start = current.starts_at
    if request.date_text is not None or request.start_text is not None:
        day = (
            parse_date(request.date_text, today=today)
            if request.date_text is not None
            else local.date()
        )
        clock = (
            parse_time(request.start_text)
            if request.start_text is not None
            else local.timetz().replace(tzinfo=None)
        )
        new_start = combine(day, clock, zone)
    if request.end_text is not None:
        new_end = parse_end(request.end_text, new_start, zone)
    else:
        new_end = new_start + current.duration
    capacity = request.capacity
    changes = MeetingChanges(
        title=request.title if request.title is not None else UNSET,
        starts_at=new_start if new_start != current.starts_at else UNSET,
        ends_at=new_end if new_end != current.ends_at else UNSET,
        place=request.place if request.place is not None else UNSET,
        description=request.description if request.description is not None else UNSET,
        capacity=(None if capacity == 0 else capacity) if capacity is not None else UNSET,
        rsvp_deadline=parse_datetime(request.deadline_text, zone, today=today)
        if request.deadline_text is not None
        else UNSET,
    )
    if changes.is_empty():
        raise BadInput("meeting.error.nothing_to_change")
    return changes
