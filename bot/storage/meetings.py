"""Meetings, RSVP answers and told-once notices.

`MeetingRepository` stores what organisers create; `RsvpRepository` stores answers and
applies the pure rules of `bot.domain.rsvp` inside one transaction per call, so a burst of
reactions (or two coroutines) can never lose an answer or promote someone twice.

Times are stored as UTC ISO-8601 strings; comparisons with `now` are string comparisons,
which are exact because every stored time has the same `+00:00` form.
"""

from __future__ import annotations

import asyncio
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
    PublishState,
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
    Unreact,
    apply,
    combine,
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
    "created_at, updated_at, publish_state, posting_since FROM meetings "
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

_OWE = (
    "INSERT OR IGNORE INTO notices (guild_id, kind, meeting_id, user_id, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


async def _user_ids(
    conn: aiosqlite.Connection, meeting_id: int, statuses: Sequence[str]
) -> list[int]:
    rows = await conn.execute_fetchall(
        "SELECT user_id, status FROM rsvps WHERE meeting_id = ? ORDER BY seq", (meeting_id,)
    )
    return [int(r[0]) for r in rows if r[1] in statuses]


async def _owe_promotions(
    conn: aiosqlite.Connection,
    meeting_id: int,
    guild_id: int,
    state: RsvpState,
    promoted: Iterable[int],
    now: datetime,
) -> None:
    """Who moved up from the waitlist (and is still going) is owed a notice, in the same
    transaction as the answers: told once, even if the bot stops right after the commit.
    Taken from the outcomes, not by comparing states: one batch may waitlist and promote."""
    still_going = [
        u
        for u in sorted(promoted)
        if (answer := state.answers.get(u)) is not None and answer.status is Status.GOING
    ]
    if still_going:
        await _owe(conn, guild_id, "promoted", meeting_id, still_going, now)


async def _owe(
    conn: aiosqlite.Connection,
    guild_id: int,
    kind: str,
    meeting_id: int,
    user_ids: Iterable[int],
    now: datetime,
) -> None:
    """Record notices owed (sent later, once), in the caller's transaction."""
    stamp = _stamp(now)
    await conn.executemany(_OWE, [(guild_id, kind, meeting_id, u, stamp) for u in user_ids])


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
        publish_state=PublishState(row[22]),
        posting_since=_time(row[23]),
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
                "updated_at, publish_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new')",
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

    async def find_by_id(self, meeting_id: int) -> Meeting | None:
        """Any server's meeting by id: for background work that starts from an id."""
        row = await self.db.fetchone(_SELECT + "WHERE id = ?", (meeting_id,))
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
                "ends_at = ?, rsvp_deadline = ?, ical_sequence = ?, updated_at = ?, "
                # a change Discord shows: publishing goes back to `posted` until synced
                "publish_state = CASE WHEN publish_state = 'done' THEN 'posted' "
                "ELSE publish_state END WHERE guild_id = ? AND id = ?",
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
                outcomes, _ = await _process(conn, meeting_id, [(SetCapacity(after.capacity), now)])
                promoted = outcomes[0].promoted
            if (before.starts_at, before.ends_at, before.place) != (
                after.starts_at,
                after.ends_at,
                after.place,
            ):
                going = await _user_ids(conn, meeting_id, ("going",))
                await _owe(conn, guild_id, f"changed:{sequence}", meeting_id, going, now)
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
                (reason, _stamp(now), guild_id, meeting_id),
            )
            told = await _user_ids(conn, meeting_id, ("going", "maybe", "waitlist"))
            await _owe(conn, guild_id, "cancelled", meeting_id, told, now)
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

    async def starts_between(self, guild_id: int, start: datetime, end: datetime) -> list[datetime]:
        """Start times of the meetings (not cancelled) starting in [start, end), in order
        (matching on a rhythm: the week after each meeting)."""
        rows = await self.db.fetchall(
            "SELECT starts_at FROM meetings WHERE guild_id = ? AND status = 'scheduled' "
            "AND starts_at >= ? AND starts_at < ? ORDER BY starts_at",
            (guild_id, _now(start), _now(end)),
        )
        return [datetime.fromisoformat(row["starts_at"]) for row in rows]

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
        since = _now(now if ended_since is None else ended_since)
        rows = await self.db.fetchall(
            _SELECT + "WHERE guild_id = ? AND status = 'scheduled' AND ends_at > ? "
            "AND (title LIKE ? ESCAPE '\\' OR id = ?) "
            "ORDER BY ABS(julianday(starts_at) - julianday(?)), id LIMIT ?",
            (guild_id, since, _like_pattern(needle), by_id, _now(now), min(limit, 25)),
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
        """A (new) announcement message; any roster message belonged to the old one.
        Publishing moves on to `posted` (reactions and event next)."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET channel_id = ?, message_id = ?, roster_message_id = NULL, "
            "announcement_missing = 0, publish_state = 'posted', updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (channel_id, message_id, _stamp(now), guild_id, meeting_id),
        )

    async def set_posting(self, guild_id: int, meeting_id: int, now: datetime) -> Meeting:
        """About to post the announcement: after a crash from here on, look for it first."""
        return await self._set(
            guild_id,
            meeting_id,
            "UPDATE meetings SET publish_state = 'posting', posting_since = ?, updated_at = ? "
            "WHERE guild_id = ? AND id = ?",
            (_stamp(now), _stamp(now), guild_id, meeting_id),
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
            (_stamp(now), force, guild_id, meeting_id),
        )

    async def list_unfinished(self, now: datetime) -> list[Meeting]:
        """Meetings not yet over (any status) whose publishing stopped before `done`."""
        rows = await self.db.fetchall(
            _SELECT + "WHERE publish_state != 'done' AND ends_at > ? ORDER BY starts_at, id",
            (_now(now),),
        )
        return [_meeting(r) for r in rows]

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

_LOAD_RSVP = (
    "SELECT m.guild_id, m.capacity, m.status, m.starts_at, m.rsvp_deadline, "
    "r.user_id, r.status, r.seq "
    "FROM meetings AS m LEFT JOIN rsvps AS r ON r.meeting_id = m.id WHERE m.id = ?"
)


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A meeting's answers and what decides whether it still takes them."""

    guild_id: int
    status: str
    starts_at: datetime
    deadline: datetime | None
    state: RsvpState

    def accepting(self, now: datetime) -> bool:
        return is_open(
            starts_at=self.starts_at, deadline=self.deadline, status=self.status, now=now
        )


async def _load(conn: aiosqlite.Connection, meeting_id: int) -> _Loaded:
    """The meeting row and every answer in one statement."""
    rows = await conn.execute_fetchall(_LOAD_RSVP, (meeting_id,))
    head: Any = None
    answers: list[Answer] = []
    for row in rows:
        if head is None:
            head = row
        if row[5] is not None:
            answers.append(Answer(row[5], _STATUS[row[6]], row[7]))
    if head is None:
        raise NotFound("meeting.error.not_found")
    return _Loaded(
        guild_id=head[0],
        status=head[2],
        starts_at=_required_time(head[3]),
        deadline=_time(head[4]),
        state=RsvpState.of(answers, head[1]),
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
    """Write the answers that differ between the states (only among `users`, if given)."""
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
    if after.capacity != before.capacity:
        await conn.execute(
            "UPDATE meetings SET capacity = ?, updated_at = ? WHERE id = ?",
            (after.capacity, stamp, meeting_id),
        )


# What this connection and every other one have changed so far. When both are as they
# were right after our last RSVP write, nothing can have changed since: no reload needed.
_MARKER = "SELECT total_changes(), data_version FROM pragma_data_version"
_CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class _Cached:
    marker: tuple[int, int]
    loaded: _Loaded


async def _process(
    conn: aiosqlite.Connection,
    meeting_id: int,
    items: Sequence[tuple[Event, datetime]],
    cache: dict[int, _Cached] | None = None,
) -> tuple[list[Outcome], _Cached | None]:
    """Load, apply each event in order, write once; inside an open transaction.

    A React's `seq` is replaced by the next first-come number, one past the highest
    stored at that moment (so the numbers do not depend on how events were grouped);
    callers pass 0. Each outcome is the state right after its own event.
    With a `cache`, the answers loaded by an earlier call are reused when nothing at all
    was written since; the second result is the entry to store once the transaction has
    committed (never before: a rolled-back write must not be remembered).
    """
    loaded: _Loaded | None = None
    marker: tuple[int, int] | None = None
    if cache is not None:
        rows = list(await conn.execute_fetchall(_MARKER))
        marker = (int(rows[0][0]), int(rows[0][1]))
        hit = cache.get(meeting_id)
        if hit is not None and hit.marker == marker:
            loaded = hit.loaded
    if loaded is None:
        loaded = await _load(conn, meeting_id)
    state = loaded.state
    top = state.max_seq()  # kept equal to state.max_seq() without a scan per event
    outcomes: list[Outcome] = []
    touched: set[int] = set()
    for event, now in items:
        if isinstance(event, React):
            event = replace(event, seq=top + 1)
        if not isinstance(event, SetCapacity):
            touched.add(event.user_id)
        outcome = apply(state, event, accepting=loaded.accepting(now))
        if outcome.changed and isinstance(event, React):
            top += 1
        elif (
            outcome.changed
            and isinstance(event, Unreact)
            and state.answers[event.user_id].seq == top
        ):
            top = outcome.state.max_seq()
        touched.update(outcome.promoted)
        outcomes.append(outcome)
        state = outcome.state
    if state is not loaded.state:
        # Every answer that changes is the actor's or a promotion: only those are written.
        latest = max(now for _, now in items)
        await _write(conn, meeting_id, loaded.guild_id, loaded.state, state, touched, latest)
        promoted = {u for outcome in outcomes for u in outcome.promoted}
        await _owe_promotions(conn, meeting_id, loaded.guild_id, state, promoted, latest)
        loaded = replace(loaded, state=state)
    if marker is None:
        return outcomes, None
    return outcomes, _Cached((conn.total_changes, marker[1]), loaded)


@dataclass(slots=True)
class _Pending:
    event: Event
    now: datetime
    future: asyncio.Future[Outcome | None]


class RsvpRepository:
    """Answers per meeting. Every answer is written in one transaction with the rule applied.

    `apply` commits in groups: while one transaction runs, answers for the same meeting
    queue up, and the next transaction takes them all, applying them one by one in
    arrival order (each caller still gets the outcome of its own event). Awaited one at a
    time, every answer gets its own transaction; in a burst, a few transactions carry
    many answers. If a group fails, each of its answers is retried alone, so one bad
    answer never takes the others down.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queues: dict[int, list[_Pending]] = {}
        self._cache: dict[int, _Cached] = {}

    def _remember(self, meeting_id: int, entry: _Cached | None) -> None:
        """Keep the state written by a committed transaction (a few meetings at most)."""
        if entry is None:
            return
        self._cache.pop(meeting_id, None)
        self._cache[meeting_id] = entry
        while len(self._cache) > _CACHE_SIZE:
            del self._cache[next(iter(self._cache))]

    async def load_state(self, meeting_id: int) -> RsvpState:
        return (await _load(self.db.conn, meeting_id)).state

    async def apply(self, meeting_id: int, event: Event, now: datetime) -> Outcome:
        """One reaction or capacity change (pass `seq=0` in a React: it is numbered here).

        Reactions while answers are closed come back unchanged with `closed` set.
        """
        mine = _Pending(event, now, asyncio.get_running_loop().create_future())
        queue = self._queues.get(meeting_id)
        if queue is not None:
            queue.append(mine)
            result = await mine.future
            if result is None:  # the group failed: try this answer on its own
                return await self._apply_alone(meeting_id, event, now)
            return result
        queue = [mine]
        self._queues[meeting_id] = queue
        try:
            async with self.db.transaction() as conn:
                if self._queues.get(meeting_id) is queue:
                    del self._queues[meeting_id]  # later answers form the next group
                outcomes, entry = await _process(
                    conn, meeting_id, [(p.event, p.now) for p in queue], self._cache
                )
        except BaseException as exc:
            if self._queues.get(meeting_id) is queue:
                del self._queues[meeting_id]
            for pending in queue[1:]:
                if not pending.future.done():
                    pending.future.set_result(None)
            if len(queue) > 1 and isinstance(exc, Exception):
                log.warning(
                    "rsvp group of %d for meeting %d failed; retrying each", len(queue), meeting_id
                )
                return await self._apply_alone(meeting_id, event, now)
            raise
        self._remember(meeting_id, entry)
        for pending, outcome in zip(queue[1:], outcomes[1:], strict=True):
            if not pending.future.done():
                pending.future.set_result(outcome)
        return outcomes[0]

    async def _apply_alone(self, meeting_id: int, event: Event, now: datetime) -> Outcome:
        async with self.db.transaction() as conn:
            outcomes, entry = await _process(conn, meeting_id, [(event, now)], self._cache)
        self._remember(meeting_id, entry)
        return outcomes[0]

    async def apply_many(self, meeting_id: int, events: Sequence[Event], now: datetime) -> Outcome:
        """A burst of events in order, in one transaction: all written or none.

        The combined outcome: `promoted` lists who moved up and is still going at the end,
        `reactions_to_remove` every leftover reaction, `waitlisted`/`closed` the last event.
        """
        if not events:
            return Outcome(await self.load_state(meeting_id))
        async with self.db.transaction() as conn:
            outcomes, entry = await _process(
                conn, meeting_id, [(e, now) for e in events], self._cache
            )
        self._remember(meeting_id, entry)
        return combine(outcomes)

    async def reconcile(
        self, meeting_id: int, observed: Mapping[Choice, Sequence[int]], now: datetime
    ) -> Outcome:
        """Bring stored answers in line with the reactions seen, atomically.

        Reactions that arrive while the caller reads the announcement should be applied
        after this call, not before, or this older snapshot would undo them.
        """
        async with self.db.transaction() as conn:
            loaded = await _load(conn, meeting_id)
            outcome = reconcile(loaded.state, observed, accepting=loaded.accepting(now))
            if outcome.changed:
                await _write(
                    conn, meeting_id, loaded.guild_id, loaded.state, outcome.state, None, now
                )
                await _owe_promotions(
                    conn, meeting_id, loaded.guild_id, outcome.state, outcome.promoted, now
                )
        return outcome

    async def replace_state(self, meeting_id: int, outcome: Outcome, now: datetime) -> None:
        """Make the stored answers exactly `outcome.state`'s (the capacity is not touched).

        Prefer `reconcile`, which computes and writes in one transaction.
        """
        async with self.db.transaction() as conn:
            loaded = await _load(conn, meeting_id)
            target = RsvpState(loaded.state.capacity, outcome.state.answers)
            await _write(conn, meeting_id, loaded.guild_id, loaded.state, target, None, now)

    async def counts(self, meeting_id: int) -> Counts:
        rows = await self.db.conn.execute_fetchall(
            "SELECT status, COUNT(*) FROM rsvps WHERE meeting_id = ? GROUP BY status",
            (meeting_id,),
        )
        n = {row[0]: int(row[1]) for row in rows}
        return Counts(
            n.get("going", 0), n.get("maybe", 0), n.get("not_going", 0), n.get("waitlist", 0)
        )

    async def attendees(self, meeting_id: int) -> Roster:
        """User ids per status, in first-come order."""
        return (await self.load_state(meeting_id)).roster()

    async def claim_notice(self, kind: str, meeting_id: int, user_id: int, now: datetime) -> bool:
        """True only the first time for (kind, meeting, user): tell people things once.

        Claim before sending and `mark_notice_sent` after (until then the notice is owed and
        sent again at start, see `owed_notices`); if sending failed in a way worth retrying,
        `release_notice`. Use user_id 0 for a notice about the whole meeting.
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

    async def owed_notices(self, meeting_id: int) -> list[tuple[str, int]]:
        """(kind, user id) of the meeting's notices recorded but not yet sent, oldest first."""
        rows = await self.db.fetchall(
            "SELECT kind, user_id FROM notices WHERE meeting_id = ? AND sent_at IS NULL "
            "ORDER BY rowid",
            (meeting_id,),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def meetings_owing_notices(self) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT meeting_id FROM notices WHERE sent_at IS NULL ORDER BY meeting_id"
        )
        return [int(r[0]) for r in rows]

    async def mark_notice_sent(
        self, kind: str, meeting_id: int, user_id: int, now: datetime
    ) -> bool:
        """The notice went out (or cannot go out): never again. False if it was already."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE notices SET sent_at = ? WHERE kind = ? AND meeting_id = ? "
                "AND user_id = ? AND sent_at IS NULL",
                (_stamp(now), kind, meeting_id, user_id),
            )
            updated = cursor.rowcount
            await cursor.close()
        return updated == 1

    async def release_notice(self, kind: str, meeting_id: int, user_id: int) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM notices WHERE kind = ? AND meeting_id = ? AND user_id = ?",
                (kind, meeting_id, user_id),
            )
            deleted = cursor.rowcount
            await cursor.close()
        return deleted == 1
