"""RSVP answers: load a meeting's answers (cached), write what a decision changed.

The rules are not here: `bot.domain.rsvp.decide` decides, `bot.services.answers` runs
load → decide → write in one transaction per group of answers. This module only reads and
writes rows:

* `RsvpRepository.transaction()` opens a transaction and gives an `RsvpTransaction`:
  `load(meeting_id)` the meeting's gate (status, start, deadline) and every answer in one
  statement, `write(loaded, batch, now)` the rows of the people the batch touched plus the
  notices it owes (promotions). The loaded answers are remembered after the commit (never
  before: a rolled-back write must not be remembered) and reused by the next transaction
  when nothing at all was written since (`_MARKER`), so a burst reads the answers once.
* `counts`, `attendees`, `load_state` read outside a transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import aiosqlite

from bot.db import Database
from bot.domain.moments import from_stored, from_stored_or_none, stored
from bot.domain.rsvp import Answer, Batch, Counts, Roster, RsvpState, Status, is_open
from bot.errors import NotFound
from bot.storage.notices import owe_promotions
from bot.storage.rows import Repository

__all__ = ["Loaded", "RsvpRepository", "RsvpTransaction"]

_LOAD_RSVP = (
    "SELECT m.guild_id, m.capacity, m.status, m.starts_at, m.rsvp_deadline, "
    "r.user_id, r.status, r.seq "
    "FROM meetings AS m LEFT JOIN rsvps AS r ON r.meeting_id = m.id WHERE m.id = ?"
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

# What this connection and every other one have changed so far. When both are as they
# were right after our last RSVP write, nothing can have changed since: no reload needed.
_MARKER = "SELECT total_changes(), data_version FROM pragma_data_version"
_CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class Loaded:
    """A meeting's answers and what decides whether it still takes them."""

    meeting_id: int
    guild_id: int
    status: str
    starts_at: datetime
    deadline: datetime | None
    state: RsvpState

    def accepting(self, now: datetime) -> bool:
        return is_open(
            starts_at=self.starts_at, deadline=self.deadline, status=self.status, now=now
        )


@dataclass(frozen=True, slots=True)
class _Cached:
    marker: tuple[int, int]
    loaded: Loaded


async def _load(conn: aiosqlite.Connection, meeting_id: int) -> Loaded:
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
    return Loaded(
        meeting_id=meeting_id,
        guild_id=head[0],
        status=head[2],
        starts_at=from_stored(head[3]),
        deadline=from_stored_or_none(head[4]),
        state=RsvpState.of(answers, head[1]),
    )


async def _write_rows(
    conn: aiosqlite.Connection,
    loaded: Loaded,
    after: RsvpState,
    users: Iterable[int] | None,
    now: datetime,
) -> None:
    """Write the answers that differ between the states (only among `users`, if given)."""
    before = loaded.state
    stamp = stored(now)
    candidates = set(before.answers) | set(after.answers) if users is None else set(users)
    upserts: list[tuple[Any, ...]] = []
    deletes: list[tuple[int, int]] = []
    for user_id in candidates:
        old, new = before.answers.get(user_id), after.answers.get(user_id)
        if old == new:
            continue
        if new is None:
            deletes.append((loaded.meeting_id, user_id))
        else:
            row = (loaded.meeting_id, loaded.guild_id, user_id, new.status.value, new.seq)
            upserts.append((*row, stamp, stamp))
    if deletes:
        await conn.executemany(_DELETE_RSVP, deletes)
    if upserts:
        await conn.executemany(_UPSERT_RSVP, upserts)
    if after.capacity != before.capacity:
        await conn.execute(
            "UPDATE meetings SET capacity = ?, updated_at = ? WHERE id = ?",
            (after.capacity, stamp, loaded.meeting_id),
        )


class RsvpTransaction:
    """One open transaction over answers (see the module docstring)."""

    def __init__(self, conn: aiosqlite.Connection, cache: dict[int, _Cached] | None) -> None:
        self.conn = conn
        self._cache = cache
        self._marker: tuple[int, int] | None = None
        self.remember: dict[int, _Cached] = {}

    async def load(self, meeting_id: int) -> Loaded:
        if self._cache is not None:
            rows = list(await self.conn.execute_fetchall(_MARKER))
            self._marker = (int(rows[0][0]), int(rows[0][1]))
            hit = self._cache.get(meeting_id)
            if hit is not None and hit.marker == self._marker:
                return hit.loaded
        loaded = await _load(self.conn, meeting_id)
        self._keep(loaded)
        return loaded

    async def write(self, loaded: Loaded, batch: Batch, now: datetime) -> None:
        """What `batch` changed: the touched people's rows and the promotions owed."""
        if not batch.changed:
            return
        await _write_rows(self.conn, loaded, batch.state, batch.touched, now)
        await owe_promotions(
            self.conn, loaded.meeting_id, loaded.guild_id, batch.state, batch.promoted, now
        )
        self._keep(replace(loaded, state=batch.state))

    async def write_state(
        self, loaded: Loaded, state: RsvpState, promoted: Iterable[int], now: datetime
    ) -> None:
        """Make the stored answers `state`'s, comparing every answer (reconciliation)."""
        await _write_rows(self.conn, loaded, state, None, now)
        await owe_promotions(self.conn, loaded.meeting_id, loaded.guild_id, state, promoted, now)
        self._keep(replace(loaded, state=state))

    def _keep(self, loaded: Loaded) -> None:
        if self._marker is not None:
            marker = (self.conn.total_changes, self._marker[1])
            self.remember[loaded.meeting_id] = _Cached(marker, loaded)


class RsvpRepository(Repository):
    """Answers per meeting: transactions for the answer path, reads for everyone."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._cache: dict[int, _Cached] = {}

    @asynccontextmanager
    async def transaction(self, *, cached: bool = True) -> AsyncIterator[RsvpTransaction]:
        async with self.db.transaction() as conn:
            tx = RsvpTransaction(conn, self._cache if cached else None)
            yield tx
        for meeting_id, entry in tx.remember.items():  # committed: remember what it wrote
            self._cache.pop(meeting_id, None)
            self._cache[meeting_id] = entry
        while len(self._cache) > _CACHE_SIZE:
            del self._cache[next(iter(self._cache))]

    async def load_state(self, meeting_id: int) -> RsvpState:
        return (await _load(self.db.conn, meeting_id)).state

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
