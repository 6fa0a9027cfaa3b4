"""Small read-only queries for /about."""

from __future__ import annotations

from datetime import datetime

from bot.db import Database
from bot.domain.moments import stored


async def count_upcoming_meetings(db: Database, guild_id: int | None, now: datetime) -> int:
    value = await db.fetchval(
        "SELECT COUNT(*) FROM meetings WHERE guild_id = ? AND status = 'scheduled' "
        "AND starts_at > ?",
        (guild_id, stored(now)),
    )
    return int(value or 0)
