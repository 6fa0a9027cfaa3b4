"""Introductions: one profile per member per server."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.domain.moments import from_stored, from_stored_or_none, stored
from bot.storage.rows import Repository, from_row

_COLUMNS = (
    "guild_id, user_id, display_name, organisation, role, sector, interests, offers, seeks, "
    "matching, paused_until, ignored_rounds, priority, card_channel_id, card_message_id, "
    "created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class ProfileText:
    """What the /introduce modal collects."""

    display_name: str
    organisation: str = ""
    role: str = ""
    offers: str = ""
    seeks: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    guild_id: int
    user_id: int
    display_name: str
    organisation: str
    role: str
    sector: str | None
    interests: tuple[str, ...]
    offers: str
    seeks: str
    matching: str
    paused_until: datetime | None
    ignored_rounds: int
    priority: int
    card_channel_id: int | None
    card_message_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def complete(self) -> bool:
        return self.sector is not None

    def takes_part(self, now: datetime) -> bool:
        """Active, or paused with a pause that has run out."""
        if self.matching == "active":
            return True
        return (
            self.matching == "paused" and self.paused_until is not None and self.paused_until <= now
        )


def _row_to_profile(r: sqlite3.Row) -> Profile:
    return from_row(
        Profile,
        r,
        interests=tuple(json.loads(r["interests"])),
        paused_until=from_stored_or_none(r["paused_until"] or None),
        created_at=from_stored(r["created_at"]),
        updated_at=from_stored(r["updated_at"]),
    )


class ProfileRepository(Repository):
    async def get(self, guild_id: int, user_id: int) -> Profile | None:
        return await self.read_one(
            _row_to_profile,
            f"SELECT {_COLUMNS} FROM profiles WHERE guild_id = ? AND user_id = ?",  # noqa: S608
            (guild_id, user_id),
        )

    async def save_text(
        self, guild_id: int, user_id: int, text: ProfileText, now: datetime, *, opt_in: bool
    ) -> Profile:
        """Create the profile or replace its free text; sector and interests are kept."""
        stamp = stored(now)
        matching = "active" if opt_in else "left"
        await self.db.execute(
            "INSERT INTO profiles (guild_id, user_id, display_name, organisation, role, "
            "offers, seeks, matching, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, user_id) DO UPDATE SET "
            "display_name = excluded.display_name, organisation = excluded.organisation, "
            "role = excluded.role, offers = excluded.offers, seeks = excluded.seeks, "
            "updated_at = excluded.updated_at",
            (
                guild_id,
                user_id,
                text.display_name,
                text.organisation,
                text.role,
                text.offers,
                text.seeks,
                matching,
                stamp,
                stamp,
            ),
        )
        profile = await self.get(guild_id, user_id)
        assert profile is not None
        return profile

    async def set_sector(self, guild_id: int, user_id: int, sector: str, now: datetime) -> None:
        await self._update(guild_id, user_id, now, sector=sector)

    async def set_interests(
        self, guild_id: int, user_id: int, interests: Collection[str], now: datetime
    ) -> None:
        await self._update(guild_id, user_id, now, interests=json.dumps(sorted(set(interests))))

    async def set_matching(
        self,
        guild_id: int,
        user_id: int,
        status: str,
        now: datetime,
        paused_until: datetime | None = None,
    ) -> None:
        if status not in ("active", "paused", "left"):
            raise ValueError(status)
        await self._update(
            guild_id,
            user_id,
            now,
            matching=status,
            paused_until=stored(paused_until) if paused_until else None,
            ignored_rounds=0,
        )

    async def set_card(
        self, guild_id: int, user_id: int, channel_id: int | None, message_id: int | None
    ) -> None:
        await self.db.execute(
            "UPDATE profiles SET card_channel_id = ?, card_message_id = ? "
            "WHERE guild_id = ? AND user_id = ?",
            (channel_id, message_id, guild_id, user_id),
        )

    async def _update(self, guild_id: int, user_id: int, now: datetime, **fields: object) -> None:
        allowed = {"sector", "interests", "matching", "paused_until", "ignored_rounds"}
        if not set(fields) <= allowed:
            raise ValueError(f"unknown fields {set(fields) - allowed}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self.db.execute(
            f"UPDATE profiles SET {assignments}, updated_at = ? "  # noqa: S608
            "WHERE guild_id = ? AND user_id = ?",
            (*fields.values(), stored(now), guild_id, user_id),
        )

    async def participants(
        self, guild_id: int, now: datetime, only: Collection[int] | None = None
    ) -> list[Profile]:
        """Complete profiles that take part in matching now (optionally only these ids)."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM profiles WHERE guild_id = ? AND sector IS NOT NULL "  # noqa: S608
            "AND matching != 'left' ORDER BY user_id",
            (guild_id,),
        )
        wanted = set(only) if only is not None else None
        found = [_row_to_profile(r) for r in rows]
        return [p for p in found if p.takes_part(now) and (wanted is None or p.user_id in wanted)]

    async def paused(self, guild_id: int, now: datetime) -> list[Profile]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM profiles WHERE guild_id = ? AND matching = 'paused'",  # noqa: S608
            (guild_id,),
        )
        return [p for p in map(_row_to_profile, rows) if not p.takes_part(now)]

    async def all(self, guild_id: int) -> list[Profile]:
        return await self.read_all(
            _row_to_profile,
            f"SELECT {_COLUMNS} FROM profiles WHERE guild_id = ? ORDER BY user_id",  # noqa: S608
            (guild_id,),
        )

    async def display_names(self, guild_id: int, user_ids: Collection[int]) -> dict[int, str]:
        """The introduction's display name of each of these members who has one."""
        wanted = set(user_ids)
        if not wanted:
            return {}
        rows = await self.db.fetchall(
            "SELECT user_id, display_name FROM profiles WHERE guild_id = ? AND display_name != ''",
            (guild_id,),
        )
        return {int(r[0]): str(r[1]) for r in rows if int(r[0]) in wanted}

    async def set_priorities(self, guild_id: int, raised: Collection[int]) -> None:
        """People left out or paused-out this round get priority next time; others reset."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE profiles SET priority = 0 WHERE guild_id = ?", (guild_id,))
            await conn.executemany(
                "UPDATE profiles SET priority = 1 WHERE guild_id = ? AND user_id = ?",
                [(guild_id, user_id) for user_id in raised],
            )

    async def record_ignored(
        self, guild_id: int, ignored: Collection[int], answered: Collection[int], limit: int
    ) -> list[int]:
        """Count unanswered follow-ups; pause people at `limit` in a row. Returns who was paused."""
        paused: list[int] = []
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE profiles SET ignored_rounds = 0 WHERE guild_id = ? AND user_id = ?",
                [(guild_id, u) for u in answered],
            )
            for user_id in ignored:
                await conn.execute(
                    "UPDATE profiles SET ignored_rounds = ignored_rounds + 1 "
                    "WHERE guild_id = ? AND user_id = ?",
                    (guild_id, user_id),
                )
                async with conn.execute(
                    "SELECT ignored_rounds, matching FROM profiles "
                    "WHERE guild_id = ? AND user_id = ?",
                    (guild_id, user_id),
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and row[0] >= limit and row[1] == "active":
                    await conn.execute(
                        "UPDATE profiles SET matching = 'paused', paused_until = NULL "
                        "WHERE guild_id = ? AND user_id = ?",
                        (guild_id, user_id),
                    )
                    paused.append(user_id)
        return paused
