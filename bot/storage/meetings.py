"""Meetings, RSVP answers and told-once notices.

`MeetingRepository` stores what organisers create; `RsvpRepository` stores answers and
applies the pure rules of `bot.domain.rsvp` inside one transaction per call, so a burst of
reactions (or two coroutines) can never lose an answer or promote someone twice.

Times are stored as UTC ISO-8601 strings; comparisons with `now` are string comparisons,
which are exact because every stored time has the same `+00:00` form.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.db import Database
from bot.domain.meeting import (
    Meeting,
    MeetingChanges,
    MeetingDraft,
    MeetingStatus,
    apply_changes,
    check_cancel_reason,
    check_not_over,
)
from bot.domain.rsvp import (
    Answer,
    Choice,
    Counts,
    Event,
    Outcome,
    React,
    Roster,
    RsvpState,
    SetCapacity,
    Status,
    apply_all,
    is_open,
    reconcile,
)
from bot.errors import NotFound

log = logging.getLogger(__name__)

__all__ = ["CancelResult", "MeetingRepository", "MeetingUpdate", "RsvpRepository"]

_SELECT = (
    "SELECT id, guild_id, series_id, title, description, place, starts_at, ends_at, timezone, "
    "capacity, rsvp_deadline, status, cancel_reason, channel_id, message_id, "
    "roster_message_id, scheduled_event_id, announcement_missing, ical_sequence, created_by, "
    "created_at, updated_at FROM meetings "
)

_UPSERT_RSVP = (
    "INSERT INTO rsvps (meeting_id, guild_id, user_id, status, seq, answered_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (meeting_id, user_id) DO UPDATE SET status = excluded.status, "
    "seq = excluded.seq, "
    "answered_at = CASE WHEN rsvps.seq = excluded.seq THEN rsvps.answered_at "
    "ELSE excluded.answered_at END, "
    "updated_at = excluded.updated_at"
)
_DELETE_RSVP = "DELETE FROM rsvps WHERE meeting_id = ? AND user_id = ?"

_STATUS: Mapping[str, Status] = {s.value: s for s in Status}


def _stamp(moment: datetime) -> str:
    """A stored time: UTC, whole seconds (`2026-12-03T07:30:00+00:00`)."""
    if moment.tzinfo is None:
        raise ValueError("stored times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _now(moment: datetime) -> str:
    """`now` for comparisons: UTC with full precision."""
    return moment.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _required_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _meeting(row: aiosqlite.Row | Sequence[Any]) -> Meeting:
    return Meeting(
        id=row[0],
        guild_id=row[1],
        series_id=row[2],
        title=row[3],
        description=row[4],
        place=row[5],
        starts_at=_required_time(row[6]),
        ends_at=_required_time(row[7]),
        timezone=row[8],
        capacity=row[9],
        rsvp_deadline=_time(row[10]),
        status=MeetingStatus(row[11]),
        cancel_reason=row[12],
        channel_id=row[13],
        message_id=row[14],
        roster_message_id=row[15],
        scheduled_event_id=row[16],
        announcement_missing=bool(row[17]),
        ical_sequence=row[18],
        created_by=row[19],
        created_at=_time(row[20]),
        updated_at=_time(row[21]),
    )


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _fetch(conn: aiosqlite.Connection, guild_id: int, meeting_id: int | None) -> Meeting:
    rows = await conn.execute_fetchall(
        _SELECT + "WHERE guild_id = ? AND id = ?", (guild_id, meeting_id)
    )
    for row in rows:
        return _meeting(row)
    raise NotFound("meeting.error.not_found")


@dataclass(frozen=True, slots=True)
class MeetingUpdate:
    """An edited meeting, and who moved up from the waitlist if the capacity grew."""

    meeting: Meeting
    promoted: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CancelResult:
    meeting: Meeting
    newly_cancelled: bool


class MeetingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, guild_id: int, draft: MeetingDraft, now: datetime, *, created_by: int | None = None
    ) -> Meeting:
        """Store a draft already checked with `bot.domain.meeting.validate_draft`."""
        stamp = _stamp(now)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO meetings (guild_id, series_id, title, description, place, "
                "starts_at, ends_at, timezone, capacity, rsvp_deadline, created_by, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    draft.series_id,
                    draft.title,
                    draft.description,
                    draft.place,
                    _stamp(draft.starts_at),
                    _stamp(draft.ends_at),
                    draft.timezone,
                    draft.capacity,
                    None if draft.rsvp_deadline is None else _stamp(draft.rsvp_deadline),
                    created_by,
                    stamp,
                    stamp,
                ),
            )
            meeting_id = cursor.lastrowid
            await cursor.close()
            meeting = await _fetch(conn, guild_id, meeting_id)
        log.info("meeting %d created in guild %d", meeting.id, guild_id)
        return meeting

    async def get(self, guild_id: int, meeting_id: int) -> Meeting | None:
        row = await self.db.fetchone(
            _SELECT + "WHERE guild_id = ? AND id = ?", (guild_id, meeting_id)
        )
        return None if row is None else _meeting(row)

    async def require(self, guild_id: int, meeting_id: int) -> Meeting:
        """The meeting, or NotFound (also for another server's meeting)."""
        meeting = await self.get(guild_id, meeting_id)
        if meeting is None:
            raise NotFound("meeting.error.not_found")
        return meeting

    async def update(
        self, guild_id: int, meeting_id: int, changes: MeetingChanges, now: datetime
    ) -> MeetingUpdate:
        """Apply an organiser's edit in one transaction (BadInput leaves everything as is).

        A capacity change goes through the RSVP rules, so raising it promotes from the
        waitlist in the same transaction. Changes that calendars show bump the iCalendar
        SEQUENCE.
        """
        async with self.db.transaction() as conn:
            before = await _fetch(conn, guild_id, meeting_id)
            after = apply_changes(before, changes, now)
            calendar_changed = (
                before.title,
                before.starts_at,
                before.ends_at,
                before.place,
                before.description,
            ) != (after.title, after.starts_at, after.ends_at, after.place, after.description)
            sequence = before.ical_sequence + (1 if calendar_changed else 0)
            after = replace(after, ical_sequence=sequence, updated_at=now)
            await conn.execute(
                "UPDATE meetings SET title = ?, description = ?, place = ?, starts_at = ?, "
                "ends_at = ?, rsvp_deadline = ?, ical_sequence = ?, updated_at = ? "
                "WHERE guild_id = ? AND id = ?",
                (
                    after.title,
                    after.description,
                    after.place,
                    _stamp(after.starts_at),
                    _stamp(after.ends_at),
                    None if after.rsvp_deadline is None else _stamp(after.rsvp_deadline),
                    sequence,
                    _stamp(now),
                    guild_id,
                    meeting_id,
                ),
            )
            promoted: tuple[int, ...] = ()
            if after.capacity != before.capacity:
                outcome = await _apply_in(conn, meeting_id, [SetCapacity(after.capacity)], now)
                promoted = outcome.promoted
        return MeetingUpdate(after, promoted)

    async def cancel(
        self, guild_id: int, meeting_id: int, now: datetime, reason: str | None = None
    ) -> CancelResult:
        """Cancel once; cancelling again changes nothing (`newly_cancelled` False)."""
        check_cancel_reason(reason)
        async with self.db.transaction() as conn:
            before = await _fetch(conn, guild_id, meeting_id)
            if before.cancelled:
                return CancelResult(before, False)
            check_not_over(before, now)
            await conn.execute(
                "UPDATE meetings SET status = 'cancelled', cancel_reason = ?, "
                "ical_sequence = ical_sequence + 1, updated_at = ? "
                "WHERE guild_id = ? AND id = ?",
                (reason, _stamp(now), guild_id, meeting_id),
            )
            after = await _fetch(conn, guild_id, meeting_id)
        log.info("meeting %d cancelled in guild %d", meeting_id, guild_id)
        return CancelResult(after, True)

    async def list_upcoming(self, guild_id: int, now: datetime, limit: int = 25) -> list[Meeting]:
        """Scheduled meetings that have not started, soonest first."""
        rows = await self.db.fetchall(
            _SELECT + "WHERE guild_id = ? AND status = 'scheduled' AND starts_at > ? "
            "ORDER BY starts_at, id LIMIT ?",
            (guild_id, _now(now), limit),
        )
        return [_meeting(r) for r in rows]

    async def list_open_announcements(self, now: datetime) -> list[Meeting]:
        """Every server's announced meetings that still take answers (for reconciliation)."""
        current = _now(now)
        rows = await self.db.fetchall(
            _SELECT + "WHERE status = 'scheduled' AND starts_at > ? "
            "AND (rsvp_deadline IS NULL OR rsvp_deadline > ?) "
            "AND message_id IS NOT NULL AND announcement_missing = 0 "
            "ORDER BY starts_at, id",
            (current, current),
        )
        return [_meeting(r) for r in rows]

    async def search_for_autocomplete(
        self, guild_id: int, text: str, now: datetime, limit: int = 25
    ) -> list[Meeting]:
        """Scheduled meetings not yet over whose title contains `text` (or whose id it is)."""
        needle = text.strip()
        by_id = int(needle) if needle.isdigit() and len(needle) < 19 else -1
        rows = await self.db.fetchall(
            _SELECT + "WHERE guild_id = ? AND status = 'scheduled' AND ends_at > ? "
            "AND (title LIKE ? ESCAPE '\\' OR id = ?) ORDER BY starts_at, id LIMIT ?",
            (guild_id, _now(now), _like_pattern(needle), by_id, min(limit, 25)),
        )
        return [_meeting(r) for r in rows]

    async def last_meeting(self, guild_id: int) -> Meeting | None:
        """The scheduled meeting with the latest start (past or future), for date hints."""
        row = await self.db.fetchone(
            _SELECT + "WHERE guild_id = ? AND status = 'scheduled' "
            "ORDER BY starts_at DESC, id DESC LIMIT 1",
            (guild_id,),
        )
        return None if row is None else _meeting(row)

    async def find_by_message(
        self, message_id: int, *, guild_id: int | None = None
    ) -> Meeting | None:
        """The meeting whose announcement (or roster message) this is."""
        row = await self.db.fetchone(
            _SELECT + "WHERE (message_id = ? OR roster_message_id = ?) "
            "AND (? IS NULL OR guild_id = ?)",
            (message_id, message_id, guild_id, guild_id),
        )
        return None if row is None else _meeting(row)

    async def _set(
        self, guild_id: int, meeting_id: int, sql: str, params: Sequence[Any]
    ) -> Meeting:
        """Run one of the constant UPDATEs below (params end with guild_id, meeting_id)."""
        async with self.db.transaction() as conn:
            await conn.execute(sql, params)
            return await _fetch(conn, guild_id, meeting_id)

    async def set_announcement(
        self, guild_id: int, meeting_id: int, channel_id: int, message_id: int, now: datetime
    ) -> Meeting:
        """A (new) announcement message; any roster message belonged to the old one."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET channel_id = ?, message_id = ?, roster_message_id = NULL, "
            "announcement_missing = 0, updated_at = ? WHERE guild_id = ? AND id = ?",
            (channel_id, message_id, _stamp(now), guild_id, meeting_id),
        )

    async def set_roster_message(
        self, guild_id: int, meeting_id: int, message_id: int | None, now: datetime
    ) -> Meeting:
        """The message showing the answers when the announcement can no longer be edited."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET roster_message_id = ?, updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (message_id, _stamp(now), guild_id, meeting_id),
        )

    async def set_scheduled_event(
        self, guild_id: int, meeting_id: int, event_id: int | None, now: datetime
    ) -> Meeting:
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET scheduled_event_id = ?, updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (event_id, _stamp(now), guild_id, meeting_id),
        )

    async def mark_announcement_missing(
        self, guild_id: int, meeting_id: int, now: datetime
    ) -> Meeting:
        """The announcement was deleted or cannot be reached; answers stay as they are."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET announcement_missing = 1, updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (_stamp(now), guild_id, meeting_id),
        )


# --- RSVP -------------------------------------------------------------------------------


async def _meeting_for_rsvp(
    conn: aiosqlite.Connection, meeting_id: int, reserve: int
) -> aiosqlite.Row:
    """The meeting's RSVP columns; with `reserve` > 0, also claims that many seq numbers."""
    if reserve:
        rows = await conn.execute_fetchall(
            "UPDATE meetings SET rsvp_seq = rsvp_seq + ? WHERE id = ? "
            "RETURNING guild_id, capacity, status, starts_at, rsvp_deadline, rsvp_seq",
            (reserve, meeting_id),
        )
    else:
        rows = await conn.execute_fetchall(
            "SELECT guild_id, capacity, status, starts_at, rsvp_deadline, rsvp_seq "
            "FROM meetings WHERE id = ?",
            (meeting_id,),
        )
    for row in rows:
        return row
    raise NotFound("meeting.error.not_found")


async def _answers(conn: aiosqlite.Connection | Database, meeting_id: int) -> list[Answer]:
    sql = "SELECT user_id, status, seq FROM rsvps WHERE meeting_id = ?"
    if isinstance(conn, Database):
        rows: Iterable[Any] = await conn.fetchall(sql, (meeting_id,))
    else:
        rows = await conn.execute_fetchall(sql, (meeting_id,))
    return [Answer(r[0], _STATUS[r[1]], r[2]) for r in rows]


def _accepting(row: aiosqlite.Row, now: datetime) -> bool:
    deadline = row["rsvp_deadline"]
    return is_open(
        starts_at=datetime.fromisoformat(row["starts_at"]),
        deadline=None if deadline is None else datetime.fromisoformat(deadline),
        status=row["status"],
        now=now,
    )


async def _write(
    conn: aiosqlite.Connection,
    meeting_id: int,
    guild_id: int,
    before: RsvpState,
    after: RsvpState,
    users: Iterable[int] | None,
    now: datetime,
) -> None:
    """Write the rows that differ between the states (only `users`, if given)."""
    stamp = _stamp(now)
    candidates = set(before.answers) | set(after.answers) if users is None else set(users)
    upserts: list[tuple[Any, ...]] = []
    deletes: list[tuple[int, int]] = []
    for user_id in candidates:
        old, new = before.answers.get(user_id), after.answers.get(user_id)
        if old == new:
            continue
        if new is None:
            deletes.append((meeting_id, user_id))
        else:
            upserts.append((meeting_id, guild_id, user_id, new.status.value, new.seq, stamp, stamp))
    if deletes:
        await conn.executemany(_DELETE_RSVP, deletes)
    if upserts:
        await conn.executemany(_UPSERT_RSVP, upserts)


async def _apply_in(
    conn: aiosqlite.Connection, meeting_id: int, events: Sequence[Event], now: datetime
) -> Outcome:
    """Load, apply and write inside an open transaction. React seqs are assigned here."""
    reacts = sum(1 for e in events if isinstance(e, React))
    meeting = await _meeting_for_rsvp(conn, meeting_id, reacts)
    seq = int(meeting["rsvp_seq"]) - reacts
    numbered: list[Event] = []
    for event in events:
        if isinstance(event, React):
            seq += 1
            event = replace(event, seq=seq)
        numbered.append(event)
    state = RsvpState.of(await _answers(conn, meeting_id), meeting["capacity"])
    outcome = apply_all(state, numbered, accepting=_accepting(meeting, now))
    if not outcome.changed:
        return outcome
    after = outcome.state
    if after.capacity != state.capacity:
        await conn.execute(
            "UPDATE meetings SET capacity = ?, updated_at = ? WHERE id = ?",
            (after.capacity, _stamp(now), meeting_id),
        )
    touched = {e.user_id for e in numbered if not isinstance(e, SetCapacity)}
    if any(isinstance(e, SetCapacity) for e in numbered) or len(numbered) > 1:
        touched_or_all: set[int] | None = None  # promotions may chain: compare everyone
    else:
        touched_or_all = touched | set(outcome.promoted)
    await _write(conn, meeting_id, meeting["guild_id"], state, after, touched_or_all, now)
    return outcome


class RsvpRepository:
    """Answers per meeting. Every write is one transaction: load, apply the rule, write."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load_state(self, meeting_id: int) -> RsvpState:
        capacity = await self.db.fetchone(
            "SELECT capacity FROM meetings WHERE id = ?", (meeting_id,)
        )
        if capacity is None:
            raise NotFound("meeting.error.not_found")
        return RsvpState.of(await _answers(self.db, meeting_id), capacity[0])

    async def apply(self, meeting_id: int, event: Event, now: datetime) -> Outcome:
        """One reaction or capacity change. A React's `seq` is ignored: the meeting's next
        first-come number is used (pass 0). Refused reactions come back with `closed`."""
        async with self.db.transaction() as conn:
            return await _apply_in(conn, meeting_id, [event], now)

    async def apply_many(self, meeting_id: int, events: Sequence[Event], now: datetime) -> Outcome:
        """A burst of events in order, in one transaction (the combined outcome)."""
        if not events:
            return Outcome(await self.load_state(meeting_id))
        async with self.db.transaction() as conn:
            return await _apply_in(conn, meeting_id, events, now)

    async def reconcile(
        self, meeting_id: int, observed: Mapping[Choice, Sequence[int]], now: datetime
    ) -> Outcome:
        """Bring stored answers in line with the reactions seen, atomically.

        Reactions that arrive while the caller was reading the announcement should be
        applied after this call, not before, or this snapshot would undo them.
        """
        async with self.db.transaction() as conn:
            meeting = await _meeting_for_rsvp(conn, meeting_id, 0)
            state = RsvpState.of(await _answers(conn, meeting_id), meeting["capacity"])
            next_seq = max(int(meeting["rsvp_seq"]), state.max_seq()) + 1
            outcome = reconcile(
                state, observed, next_seq=next_seq, accepting=_accepting(meeting, now)
            )
            if outcome.changed:
                await self._replace_in(conn, meeting_id, meeting["guild_id"], state, outcome, now)
        return outcome

    async def replace_state(self, meeting_id: int, outcome: Outcome, now: datetime) -> None:
        """Make the stored answers exactly `outcome.state`'s (the capacity is not touched)."""
        async with self.db.transaction() as conn:
            meeting = await _meeting_for_rsvp(conn, meeting_id, 0)
            state = RsvpState.of(await _answers(conn, meeting_id), meeting["capacity"])
            await self._replace_in(conn, meeting_id, meeting["guild_id"], state, outcome, now)

    @staticmethod
    async def _replace_in(
        conn: aiosqlite.Connection,
        meeting_id: int,
        guild_id: int,
        state: RsvpState,
        outcome: Outcome,
        now: datetime,
    ) -> None:
        await _write(conn, meeting_id, guild_id, state, outcome.state, None, now)
        await conn.execute(
            "UPDATE meetings SET rsvp_seq = max(rsvp_seq, ?) WHERE id = ?",
            (outcome.state.max_seq(), meeting_id),
        )

    async def counts(self, meeting_id: int) -> Counts:
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*) FROM rsvps WHERE meeting_id = ? GROUP BY status",
            (meeting_id,),
        )
        n = {row[0]: int(row[1]) for row in rows}
        return Counts(
            n.get("going", 0), n.get("maybe", 0), n.get("not_going", 0), n.get("waitlist", 0)
        )

    async def attendees(self, meeting_id: int) -> Roster:
        """User ids per status, in first-come order."""
        return RsvpState.of(await _answers(self.db, meeting_id)).roster()

    async def claim_notice(self, kind: str, meeting_id: int, user_id: int, now: datetime) -> bool:
        """True only the first time for (kind, meeting, user): tell people things once.

        Claim before sending; if sending fails in a way worth retrying, `release_notice`.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO notices (guild_id, kind, meeting_id, user_id, created_at) "
                "SELECT guild_id, ?, id, ?, ? FROM meetings WHERE id = ?",
                (kind, user_id, _stamp(now), meeting_id),
            )
            inserted = cursor.rowcount
            await cursor.close()
        return inserted == 1

    async def release_notice(self, kind: str, meeting_id: int, user_id: int) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM notices WHERE kind = ? AND meeting_id = ? AND user_id = ?",
                (kind, meeting_id, user_id),
            )
            deleted = cursor.rowcount
            await cursor.close()
        return deleted == 1
