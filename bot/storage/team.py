"""Team roles (who holds which of the handbook's roles) and the team card's message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.moments import stored
from bot.domain.team import Holding
from bot.storage.rows import Repository


@dataclass(frozen=True, slots=True)
class TeamCard:
    guild_id: int
    channel_id: int
    message_id: int
    stale: bool


def _holding(row: aiosqlite.Row) -> Holding:
    return Holding(int(row[0]), int(row[1]), str(row[2]), str(row[3]))


# In the transaction that changes the team: the card is out of date until edited.
_STALE = "UPDATE team_cards SET stale = 1 WHERE guild_id = ?"


class TeamRepository(Repository):
    async def set_role(
        self, guild_id: int, user_id: int, role: str, organisation: str | None, now: datetime
    ) -> Holding:
        """Give the role (again). An organisation given replaces the one stored; none given
        keeps it, or takes the one in the member's introduction for a new holding."""
        stamp = stored(now)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO team_roles (guild_id, user_id, role, organisation, created_at, "
                "updated_at) VALUES (?, ?, ?, COALESCE(?, (SELECT organisation FROM profiles "
                "WHERE guild_id = ? AND user_id = ?), ''), ?, ?) "
                "ON CONFLICT (guild_id, user_id, role) DO UPDATE SET "
                "organisation = COALESCE(?, organisation), updated_at = excluded.updated_at",
                (
                    guild_id,
                    user_id,
                    role,
                    organisation,
                    guild_id,
                    user_id,
                    stamp,
                    stamp,
                    organisation,
                ),
            )
            await conn.execute(_STALE, (guild_id,))
        row = await self.db.fetchone(
            "SELECT guild_id, user_id, role, organisation FROM team_roles "
            "WHERE guild_id = ? AND user_id = ? AND role = ?",
            (guild_id, user_id, role),
        )
        assert row is not None
        return _holding(row)

    async def remove_role(self, guild_id: int, user_id: int, role: str) -> bool:
        async with self.db.transaction() as conn:
            async with conn.execute(
                "DELETE FROM team_roles WHERE guild_id = ? AND user_id = ? AND role = ?",
                (guild_id, user_id, role),
            ) as cur:
                removed = cur.rowcount > 0
            if removed:
                await conn.execute(_STALE, (guild_id,))
        return removed

    async def holdings(self, guild_id: int, before: datetime | None = None) -> list[Holding]:
        """The server's team in the order roles were given (optionally: given before)."""
        if before is None:
            rows = await self.db.fetchall(
                "SELECT guild_id, user_id, role, organisation FROM team_roles "
                "WHERE guild_id = ? ORDER BY created_at, user_id",
                (guild_id,),
            )
        else:
            rows = await self.db.fetchall(
                "SELECT guild_id, user_id, role, organisation FROM team_roles "
                "WHERE guild_id = ? AND created_at < ? ORDER BY created_at, user_id",
                (guild_id, stored(before)),
            )
        return [_holding(r) for r in rows]

    async def of_member(self, guild_id: int, user_id: int) -> list[Holding]:
        return await self.read_all(
            _holding,
            "SELECT guild_id, user_id, role, organisation FROM team_roles "
            "WHERE guild_id = ? AND user_id = ? ORDER BY created_at",
            (guild_id, user_id),
        )

    async def holds_any(self, guild_id: int, user_id: int) -> bool:
        """True if the member holds a team role here (that makes them an organiser)."""
        return await self.db.exists(
            "SELECT 1 FROM team_roles WHERE guild_id = ? AND user_id = ? LIMIT 1",
            (guild_id, user_id),
        )

    async def organisations(self, guild_id: int) -> list[str]:
        """Every organisation named in the server's introductions and team."""
        rows = await self.db.fetchall(
            "SELECT organisation FROM team_roles WHERE guild_id = ? AND organisation != '' "
            "UNION SELECT organisation FROM profiles WHERE guild_id = ? AND organisation != ''",
            (guild_id, guild_id),
        )
        return [str(r[0]) for r in rows]

    # --- the card -------------------------------------------------------------------------

    async def card(self, guild_id: int) -> TeamCard | None:
        row = await self.db.fetchone(
            "SELECT guild_id, channel_id, message_id, stale FROM team_cards WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return None
        return TeamCard(int(row[0]), int(row[1]), int(row[2]), bool(row[3]))

    async def save_card(
        self, guild_id: int, channel_id: int, message_id: int, now: datetime
    ) -> TeamCard:
        await self.db.execute(
            "INSERT INTO team_cards (guild_id, channel_id, message_id, stale, updated_at) "
            "VALUES (?, ?, ?, 0, ?) ON CONFLICT (guild_id) DO UPDATE SET "
            "channel_id = excluded.channel_id, message_id = excluded.message_id, "
            "stale = 0, updated_at = excluded.updated_at",
            (guild_id, channel_id, message_id, stored(now)),
        )
        return TeamCard(guild_id, channel_id, message_id, False)

    async def forget_card(self, guild_id: int) -> None:
        await self.db.execute("DELETE FROM team_cards WHERE guild_id = ?", (guild_id,))

    async def stale_cards(self) -> list[TeamCard]:
        """Cards not edited since the team changed (a crash, a Discord error): edited at
        the next start."""
        rows = await self.db.fetchall(
            "SELECT guild_id, channel_id, message_id, stale FROM team_cards WHERE stale = 1 "
            "ORDER BY guild_id"
        )
        return [TeamCard(int(r[0]), int(r[1]), int(r[2]), True) for r in rows]
