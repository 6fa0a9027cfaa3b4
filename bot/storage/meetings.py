"""Meetings: what organisers create, edit and cancel, and how far publishing got.

Answers are in `bot.storage.rsvps`, told-once notices in `bot.storage.notices`; an edit
or a cancellation owes its notices (and a capacity change its promotions) in the same
transaction as the change.

Times are stored as UTC ISO-8601 strings; comparisons with `now` are string comparisons,
which are exact because every stored time has the same `+00:00` form.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import aiosqlite

from bot.domain.meeting import (
    Meeting,
    MeetingChanges,
    MeetingDraft,
    MeetingStatus,
    PublishState,
    apply_changes,
    check_cancel_reason,
    check_not_over,
)
from bot.domain.moments import from_stored, from_stored_or_none, stored
from bot.domain.rsvp import SetCapacity, decide
from bot.errors import NotFound
from bot.storage.notices import owe, user_ids_with
from bot.storage.rows import Repository, from_row
from bot.storage.rsvps import RsvpTransaction

log = logging.getLogger(__name__)

__all__ = ["CancelResult", "MeetingRepository", "MeetingUpdate"]

_SELECT = (
    "SELECT id, guild_id, series_id, title, description, place, starts_at, ends_at, timezone, "
    "capacity, rsvp_deadline, status, cancel_reason, channel_id, message_id, "
    "roster_message_id, scheduled_event_id, announcement_missing, ical_sequence, created_by, "
    "created_at, updated_at, publish_state, posting_since FROM meetings "
)


def _meeting(row: aiosqlite.Row) -> Meeting:
    return from_row(
        Meeting,
        row,
        starts_at=from_stored(row["starts_at"]),
        ends_at=from_stored(row["ends_at"]),
        rsvp_deadline=from_stored_or_none(row["rsvp_deadline"]),
        status=MeetingStatus(row["status"]),
        announcement_missing=bool(row["announcement_missing"]),
        created_at=from_stored_or_none(row["created_at"]),
        updated_at=from_stored_or_none(row["updated_at"]),
        publish_state=PublishState(row["publish_state"]),
        posting_since=from_stored_or_none(row["posting_since"]),
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


class MeetingRepository(Repository):
    async def create(
        self, guild_id: int, draft: MeetingDraft, now: datetime, *, created_by: int | None = None
    ) -> Meeting:
        """Store a draft already checked with `bot.domain.meeting.validate_draft`."""
        stamp = stored(now)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO meetings (guild_id, series_id, title, description, place, "
                "starts_at, ends_at, timezone, capacity, rsvp_deadline, created_by, created_at, "
                "updated_at, publish_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new')",
                (
                    guild_id,
                    draft.series_id,
                    draft.title,
                    draft.description,
                    draft.place,
                    stored(draft.starts_at),
                    stored(draft.ends_at),
                    draft.timezone,
                    draft.capacity,
                    None if draft.rsvp_deadline is None else stored(draft.rsvp_deadline),
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
        return await self.read_one(
            _meeting, _SELECT + "WHERE guild_id = ? AND id = ?", (guild_id, meeting_id)
        )

    async def find_by_id(self, meeting_id: int) -> Meeting | None:
        """Any server's meeting by id: for background work that starts from an id."""
        return await self.read_one(_meeting, _SELECT + "WHERE id = ?", (meeting_id,))

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
                "ends_at = ?, rsvp_deadline = ?, ical_sequence = ?, updated_at = ?, "
                # a change Discord shows: publishing goes back to `posted` until synced
                "publish_state = CASE WHEN publish_state = 'done' THEN 'posted' "
                "ELSE publish_state END WHERE guild_id = ? AND id = ?",
                (
                    after.title,
                    after.description,
                    after.place,
                    stored(after.starts_at),
                    stored(after.ends_at),
                    None if after.rsvp_deadline is None else stored(after.rsvp_deadline),
                    sequence,
                    stored(now),
                    guild_id,
                    meeting_id,
                ),
            )
            promoted: tuple[int, ...] = ()
            if after.capacity != before.capacity:
                # The RSVP rules decide who moves up, in this same transaction.
                tx = RsvpTransaction(conn, None)
                loaded = await tx.load(meeting_id)
                batch = decide(loaded.state, [(SetCapacity(after.capacity), now)], loaded.accepting)
                await tx.write(loaded, batch, now)
                promoted = batch.outcomes[0].promoted
            if (before.starts_at, before.ends_at, before.place) != (
                after.starts_at,
                after.ends_at,
                after.place,
            ):
                going = await user_ids_with(conn, meeting_id, ("going",))
                await owe(conn, guild_id, f"changed:{sequence}", meeting_id, going, now)
            after = await _fetch(conn, guild_id, meeting_id)
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
                "ical_sequence = ical_sequence + 1, updated_at = ?, "
                "publish_state = CASE WHEN publish_state = 'done' THEN 'posted' "
                "ELSE publish_state END WHERE guild_id = ? AND id = ?",
                (reason, stored(now), guild_id, meeting_id),
            )
            told = await user_ids_with(conn, meeting_id, ("going", "maybe", "waitlist"))
            await owe(conn, guild_id, "cancelled", meeting_id, told, now)
            after = await _fetch(conn, guild_id, meeting_id)
        log.info("meeting %d cancelled in guild %d", meeting_id, guild_id)
        return CancelResult(after, True)

    async def list_upcoming(self, guild_id: int, now: datetime, limit: int = 25) -> list[Meeting]:
        """Scheduled meetings that have not started, soonest first."""
        return await self.read_all(
            _meeting,
            _SELECT + "WHERE guild_id = ? AND status = 'scheduled' AND starts_at > ? "
            "ORDER BY starts_at, id LIMIT ?",
            (guild_id, stored(now), limit),
        )

    async def starts_between(self, guild_id: int, start: datetime, end: datetime) -> list[datetime]:
        """Start times of the meetings (not cancelled) starting in [start, end), in order
        (matching on a rhythm: the week after each meeting)."""
        rows = await self.db.fetchall(
            "SELECT starts_at FROM meetings WHERE guild_id = ? AND status = 'scheduled' "
            "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
            (guild_id, stored(start), stored(end)),
        )
        return [from_stored(row["starts_at"]) for row in rows]

    async def list_open_announcements(self, now: datetime) -> list[Meeting]:
        """Every server's announced meetings that still take answers (for reconciliation)."""
        current = stored(now)
        return await self.read_all(
            _meeting,
            _SELECT + "WHERE status = 'scheduled' AND starts_at > ? "
            "AND (rsvp_deadline IS NULL OR rsvp_deadline > ?) "
            "AND message_id IS NOT NULL AND announcement_missing = 0 "
            "ORDER BY starts_at, id",
            (current, current),
        )

    async def search_for_autocomplete(
        self,
        guild_id: int,
        text: str,
        now: datetime,
        limit: int = 25,
        *,
        ended_since: datetime | None = None,
    ) -> list[Meeting]:
        """Scheduled meetings not yet over whose title contains `text` (or whose id it is).

        With `ended_since`, meetings that ended after it count too (check-in, attendees),
        nearest to `now` first.
        """
        needle = text.strip()
        by_id = int(needle) if needle.isdigit() and len(needle) < 19 else -1
        since = stored(now if ended_since is None else ended_since)
        return await self.read_all(
            _meeting,
            _SELECT + "WHERE guild_id = ? AND status = 'scheduled' AND ends_at > ? "
            "AND (title LIKE ? ESCAPE '\\' OR id = ?) "
            "ORDER BY ABS(julianday(starts_at) - julianday(?)), id LIMIT ?",
            (guild_id, since, _like_pattern(needle), by_id, stored(now), min(limit, 25)),
        )

    async def last_meeting(self, guild_id: int) -> Meeting | None:
        """The scheduled meeting with the latest start (past or future), for date hints."""
        return await self.read_one(
            _meeting,
            _SELECT + "WHERE guild_id = ? AND status = 'scheduled' "
            "ORDER BY starts_at DESC, id DESC LIMIT 1",
            (guild_id,),
        )

    async def find_by_message(
        self, message_id: int, *, guild_id: int | None = None
    ) -> Meeting | None:
        """The meeting whose announcement (or roster message) this is."""
        return await self.read_one(
            _meeting,
            _SELECT + "WHERE (message_id = ? OR roster_message_id = ?) "
            "AND (? IS NULL OR guild_id = ?)",
            (message_id, message_id, guild_id, guild_id),
        )

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
        """A (new) announcement message; any roster message belonged to the old one.
        Publishing moves on to `posted` (reactions and event next)."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET channel_id = ?, message_id = ?, roster_message_id = NULL, "
            "announcement_missing = 0, publish_state = 'posted', updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (channel_id, message_id, stored(now), guild_id, meeting_id),
        )

    async def set_posting(self, guild_id: int, meeting_id: int, now: datetime) -> Meeting:
        """About to post the announcement: after a crash from here on, look for it first."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET publish_state = 'posting', posting_since = ?, updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (stored(now), stored(now), guild_id, meeting_id),
        )

    async def set_published(
        self, guild_id: int, meeting_id: int, now: datetime, *, force: bool = False
    ) -> Meeting:
        """Every step done: the announcement, its reactions and the event match the row.
        Only from `posted` unless `force` (a meeting cancelled before it was posted)."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET publish_state = 'done', updated_at = ? "
            "WHERE (publish_state = 'posted' OR ?) AND guild_id = ? AND id = ?",
            (stored(now), force, guild_id, meeting_id),
        )

    async def list_unfinished(self, now: datetime) -> list[Meeting]:
        """Meetings not yet over (any status) whose publishing stopped before `done`."""
        return await self.read_all(
            _meeting,
            _SELECT + "WHERE publish_state != 'done' AND ends_at > ? ORDER BY starts_at, id",
            (stored(now),),
        )

    async def scheduled_event_ids(self, guild_id: int) -> set[int]:
        """Scheduled events already mirroring one of the server's meetings."""
        rows = await self.db.fetchall(
            "SELECT scheduled_event_id FROM meetings WHERE guild_id = ? "
            "AND scheduled_event_id IS NOT NULL",
            (guild_id,),
        )
        return {int(r[0]) for r in rows}

    async def message_ids(self, guild_id: int) -> set[int]:
        """Announcement and roster messages already stored for one of the server's meetings."""
        rows = await self.db.fetchall(
            "SELECT message_id FROM meetings WHERE guild_id = ? AND message_id IS NOT NULL "
            "UNION SELECT roster_message_id FROM meetings WHERE guild_id = ? "
            "AND roster_message_id IS NOT NULL",
            (guild_id, guild_id),
        )
        return {int(r[0]) for r in rows}

    async def set_roster_message(
        self, guild_id: int, meeting_id: int, message_id: int | None, now: datetime
    ) -> Meeting:
        """The message showing the answers when the announcement can no longer be edited."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET roster_message_id = ?, updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (message_id, stored(now), guild_id, meeting_id),
        )

    async def set_scheduled_event(
        self, guild_id: int, meeting_id: int, event_id: int | None, now: datetime
    ) -> Meeting:
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET scheduled_event_id = ?, updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (event_id, stored(now), guild_id, meeting_id),
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
            (stored(now), guild_id, meeting_id),
        )
