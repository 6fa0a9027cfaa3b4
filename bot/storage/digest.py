"""Small read-only queries for the monthly post."""

from __future__ import annotations

from datetime import datetime

from bot.domain.moments import stored
from bot.storage.rows import Repository


class DigestRepository(Repository):
    async def new_profiles(self, guild_id: int, start: datetime, end: datetime) -> int:
        """How many introductions (profiles) were created in [start, end)."""
        value = await self.db.fetchval(
            "SELECT COUNT(*) FROM profiles WHERE guild_id = ? AND created_at >= ? "
            "AND created_at < ?",
            (guild_id, stored(start), stored(end)),
        )
        return int(value or 0)
