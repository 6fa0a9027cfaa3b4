"""Check-in: who actually came to a meeting, recorded by an organiser."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.moments import from_stored, stored
from bot.storage.rows import Repository, from_row, marks


@dataclass(frozen=True, slots=True)
class Checkin:
    guild_id: int
    meeting_id: int
    user_id: int
    checked_by: int | None
    checked_at: datetime


class CheckinRepository(Repository):
    async def record(
        self,
        guild_id: int,
        meeting_id: int,
        user_ids: Iterable[int],
        checked_by: int | None,
        now: datetime,
    ) -> builtins.list[Checkin]:
        """Replace the meeting's check-in with exactly `user_ids`, in one transaction.

        People already checked in keep their first `checked_at`/`checked_by`; an empty
        set removes the check-in (the report then counts people going instead).
        The meeting must belong to `guild_id` (else nothing is written and ValueError).
        """
        wanted = sorted(set(user_ids))
        stamp = stored(now)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM meetings WHERE id = ? AND guild_id = ?", (meeting_id, guild_id)
            ) as cur:
                if await cur.fetchone() is None:
                    raise ValueError("no such meeting in this server")
            if wanted:
                await conn.execute(
                    "DELETE FROM checkins WHERE meeting_id = ? "  # noqa: S608
                    f"AND user_id NOT IN ({marks(wanted)})",
                    (meeting_id, *wanted),
                )
            else:
                await conn.execute("DELETE FROM checkins WHERE meeting_id = ?", (meeting_id,))
            await conn.executemany(
                "INSERT INTO checkins (guild_id, meeting_id, user_id, checked_by, checked_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (meeting_id, user_id) DO NOTHING",
                [(guild_id, meeting_id, uid, checked_by, stamp) for uid in wanted],
            )
        return await self.list(meeting_id)

    async def list(self, meeting_id: int) -> builtins.list[Checkin]:
        """Everyone checked in to the meeting, by user id."""
        rows = await self.db.fetchall(
            "SELECT guild_id, meeting_id, user_id, checked_by, checked_at FROM checkins "
            "WHERE meeting_id = ? ORDER BY user_id",
            (meeting_id,),
        )
        return [from_row(Checkin, r, checked_at=from_stored(r["checked_at"])) for r in rows]

    async def user_ids(self, meeting_id: int) -> set[int]:
        return {c.user_id for c in await self.list(meeting_id)}
