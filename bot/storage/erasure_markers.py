"""Erasure markers: a deleted member's reactions on open announcements that are not
answers (until the bot removed them, or a new live reaction comes), so reconciliation and
replays never bring a deletion back (migration 0008)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.moments import stored
from bot.storage.rows import Repository


class ErasureMarkers(Repository):
    """Deleted members' reactions that are not answers, per open announcement."""

    async def for_meeting(self, meeting_id: int) -> dict[int, bool]:
        """user id → whether the bot removed their reactions (then any seen later are new)."""
        rows = await self.db.fetchall(
            "SELECT user_id, removed FROM erasure_markers WHERE meeting_id = ?", (meeting_id,)
        )
        return {int(r[0]): bool(r[1]) for r in rows}

    async def in_guild(self, guild_id: int, user_id: int) -> dict[int, bool]:
        """meeting id → removed, for one member."""
        rows = await self.db.fetchall(
            "SELECT meeting_id, removed FROM erasure_markers WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return {int(r[0]): bool(r[1]) for r in rows}

    async def all(self) -> dict[tuple[int, int], bool]:
        rows = await self.db.fetchall("SELECT meeting_id, user_id, removed FROM erasure_markers")
        return {(int(r[0]), int(r[1])): bool(r[2]) for r in rows}

    async def removed(self, meeting_id: int, user_id: int) -> None:
        await self.db.execute(
            "UPDATE erasure_markers SET removed = 1 WHERE meeting_id = ? AND user_id = ?",
            (meeting_id, user_id),
        )

    async def clear(self, meeting_id: int, user_ids: Sequence[int]) -> None:
        if not user_ids:
            return
        await self.db.executemany(
            "DELETE FROM erasure_markers WHERE meeting_id = ? AND user_id = ?",
            [(meeting_id, u) for u in user_ids],
        )

    async def prune(self, now: datetime) -> int:
        """Drop the markers of meetings that no longer take answers."""
        stamp = stored(now)
        return await self.db.execute(
            "DELETE FROM erasure_markers WHERE meeting_id NOT IN (SELECT id FROM meetings "
            "WHERE status = 'scheduled' AND starts_at > ? "
            "AND (rsvp_deadline IS NULL OR rsvp_deadline > ?) AND announcement_missing = 0)",
            (stamp, stamp),
        )
