"""Small read-only queries for the monthly post."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.db import Database


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) time")
    return moment.astimezone(UTC).isoformat()


class DigestRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def new_profiles(self, guild_id: int, start: datetime, end: datetime) -> int:
        """How many introductions (profiles) were created in [start, end)."""
        value = await self.db.fetchval(
            "SELECT COUNT(*) FROM profiles WHERE guild_id = ? AND created_at >= ? "
            "AND created_at < ?",
            (guild_id, _iso(start), _iso(end)),
        )
        return int(value or 0)
