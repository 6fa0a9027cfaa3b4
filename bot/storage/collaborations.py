"""Collaborations and their members (migration 0013). SQL only, parameters only."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.collaborations import CollabFact, CollabMemberFact, Origin
from bot.domain.moments import from_stored_or_none, stored
from bot.domain.stats import UNKNOWN_SECTOR as UNKNOWN
from bot.storage.rows import Repository, from_row, marks


@dataclass(frozen=True, slots=True)
class Collaboration:
    id: int
    guild_id: int
    title: str
    link: str | None
    origin: Origin
    origin_ref: int | None
    created_by: int | None
    fallback_channel_id: int | None
    state: str  # draft | open
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CollabMember:
    collaboration_id: int
    user_id: int | None
    sector: str | None
    included: bool
    answer: str  # pending | confirmed | declined
    confirmed_at: datetime | None
    asked_at: datetime | None
    asked_sent: bool

    def fact(self) -> CollabMemberFact:
        return CollabMemberFact(self.user_id, self.sector or UNKNOWN, self.confirmed_at)


_COLUMNS = (
    "id, guild_id, title, link, origin, origin_ref, created_by, fallback_channel_id, state, "
    "created_at"
)
_MEMBER_COLUMNS = (
    "collaboration_id, user_id, sector, included, answer, confirmed_at, asked_at, asked_sent"
)


def _collab(row: sqlite3.Row) -> Collaboration:
    created = from_stored_or_none(row["created_at"])
    assert created is not None
    return from_row(Collaboration, row, created_at=created)


def _member(row: sqlite3.Row) -> CollabMember:
    return from_row(
        CollabMember,
        row,
        included=bool(row["included"]),
        confirmed_at=from_stored_or_none(row["confirmed_at"]),
        asked_at=from_stored_or_none(row["asked_at"]),
        asked_sent=bool(row["asked_sent"]),
    )


class CollaborationRepository(Repository):
    async def create(
        self,
        guild_id: int,
        *,
        title: str,
        link: str | None,
        origin: Origin,
        origin_ref: int | None,
        created_by: int,
        fallback_channel_id: int | None,
        members: Sequence[tuple[int, str | None]],
        now: datetime,
        state: str = "open",
    ) -> Collaboration:
        """The collaboration and its members in one transaction. The recorder, when a
        member, is confirmed at once and never asked."""
        at = stored(now)
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO collaborations (guild_id, title, link, origin, origin_ref, "
                "created_by, fallback_channel_id, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    title,
                    link,
                    origin,
                    origin_ref,
                    created_by,
                    fallback_channel_id,
                    state,
                    at,
                ),
            )
            collab_id = cur.lastrowid
            assert collab_id is not None
            await conn.executemany(
                "INSERT INTO collaboration_members (collaboration_id, guild_id, user_id, sector, "
                "answer, confirmed_at, asked_at, asked_sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (collab_id, guild_id, uid, sector, "confirmed", at, at, 1)
                    if uid == created_by
                    else (collab_id, guild_id, uid, sector, "pending", None, None, 0)
                    for uid, sector in members
                ],
            )
        found = await self.get(collab_id)
        assert found is not None
        return found

    async def get(self, collab_id: int) -> Collaboration | None:
        return await self.read_one(
            _collab,
            f"SELECT {_COLUMNS} FROM collaborations WHERE id = ?",  # noqa: S608
            (collab_id,),
        )

    async def find(
        self, guild_id: int, origin: Origin, origin_ref: int | None, created_by: int, title: str
    ) -> Collaboration | None:
        """The same recorder's collaboration with the same origin and title (a second press
        or a resubmitted form), draft or open."""
        return await self.read_one(
            _collab,
            f"SELECT {_COLUMNS} FROM collaborations WHERE guild_id = ? AND origin = ? "  # noqa: S608
            "AND origin_ref IS ? AND created_by = ? AND lower(title) = lower(?) "
            "ORDER BY id LIMIT 1",
            (guild_id, origin, origin_ref, created_by, title),
        )

    async def members(self, collab_id: int) -> list[CollabMember]:
        return await self.read_all(
            _member,
            f"SELECT {_MEMBER_COLUMNS} FROM collaboration_members "  # noqa: S608
            "WHERE collaboration_id = ? ORDER BY id",
            (collab_id,),
        )

    async def set_included(self, collab_id: int, included: Sequence[int]) -> None:
        """A draft's ticked members (the others are unticked); the recorder stays as is."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE collaboration_members SET included = 0 WHERE collaboration_id = ? "
                "AND answer = 'pending' AND collaboration_id IN "
                "(SELECT id FROM collaborations WHERE state = 'draft')",
                (collab_id,),
            )
            await conn.executemany(
                "UPDATE collaboration_members SET included = 1 "
                "WHERE collaboration_id = ? AND user_id = ?",
                [(collab_id, uid) for uid in included],
            )

    async def open_draft(self, collab_id: int) -> bool:
        """Draft → open, dropping unticked members. True only for the first caller."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE collaborations SET state = 'open' WHERE id = ? AND state = 'draft'",
                (collab_id,),
            )
            if cur.rowcount != 1:
                return False
            await conn.execute(
                "DELETE FROM collaboration_members WHERE collaboration_id = ? AND included = 0",
                (collab_id,),
            )
        return True

    async def claim_ask(self, collab_id: int, user_id: int, now: datetime) -> bool:
        """True only for the first caller: each member is asked to confirm once."""
        return await self.db.execute_one(
            "UPDATE collaboration_members SET asked_at = ? WHERE collaboration_id = ? "
            "AND user_id = ? AND asked_at IS NULL AND answer = 'pending'",
            (stored(now), collab_id, user_id),
        )

    async def mark_asked(self, collab_id: int, user_id: int) -> None:
        await self.db.execute(
            "UPDATE collaboration_members SET asked_sent = 1 "
            "WHERE collaboration_id = ? AND user_id = ?",
            (collab_id, user_id),
        )

    async def owed(self) -> list[tuple[Collaboration, CollabMember]]:
        """Open collaborations' members (every server) not yet asked, or whose request was
        claimed but not marked sent (a crash in between: the caller checks for a copy)."""
        rows = await self.db.fetchall(
            "SELECT c.id FROM collaborations c WHERE c.state = 'open' AND EXISTS "
            "(SELECT 1 FROM collaboration_members m WHERE m.collaboration_id = c.id "
            "AND m.asked_sent = 0 AND m.user_id IS NOT NULL AND m.answer = 'pending') "
            "ORDER BY c.id"
        )
        found: list[tuple[Collaboration, CollabMember]] = []
        for row in rows:
            collab = await self.get(row["id"])
            assert collab is not None
            found.extend(
                (collab, m)
                for m in await self.members(collab.id)
                if not m.asked_sent and m.user_id is not None and m.answer == "pending"
            )
        return found

    async def answer(self, collab_id: int, user_id: int, confirmed: bool, now: datetime) -> bool:
        """A member's Confirm / Not me. False when they are not a member. A confirmation
        keeps its first time (pressing twice does not move the month)."""
        if confirmed:
            return await self.db.execute_one(
                "UPDATE collaboration_members SET answer = 'confirmed', "
                "confirmed_at = coalesce(confirmed_at, ?) "
                "WHERE collaboration_id = ? AND user_id = ?",
                (stored(now), collab_id, user_id),
            )
        return await self.db.execute_one(
            "UPDATE collaboration_members SET answer = 'declined', confirmed_at = NULL "
            "WHERE collaboration_id = ? AND user_id = ?",
            (collab_id, user_id),
        )

    async def in_guild(
        self, guild_id: int, limit: int | None = None
    ) -> list[tuple[Collaboration, list[CollabMember]]]:
        """The server's open collaborations with their members, newest first."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM collaborations WHERE guild_id = ? AND state = 'open' "  # noqa: S608
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (guild_id, -1 if limit is None else limit),
        )
        collabs = [_collab(r) for r in rows]
        if not collabs:
            return []
        member_rows = await self.db.fetchall(
            f"SELECT {_MEMBER_COLUMNS} FROM collaboration_members "  # noqa: S608
            f"WHERE collaboration_id IN ({marks(collabs)}) ORDER BY collaboration_id, id",
            [c.id for c in collabs],
        )
        by_id: dict[int, list[CollabMember]] = {c.id: [] for c in collabs}
        for key, block in itertools.groupby(member_rows, key=lambda r: r["collaboration_id"]):
            by_id[key] = [_member(r) for r in block]
        return [(c, by_id[c.id]) for c in collabs]

    async def count(self, guild_id: int) -> int:
        """How many open collaborations the server has."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM collaborations WHERE guild_id = ? AND state = 'open'",
                (guild_id,),
            )
        )

    async def facts(self, guild_id: int) -> tuple[CollabFact, ...]:
        """Every open collaboration of the server as report facts (anonymised included)."""
        return tuple(
            CollabFact(c.id, c.origin, tuple(m.fact() for m in members))
            for c, members in await self.in_guild(guild_id)
        )

    async def export(self, guild_id: int, user_id: int) -> list[dict[str, Any]]:
        """The member's collaborations for /privacy show: title, link, origin, their own
        answer and the sectors involved (not who else)."""
        return await self.read_all(
            dict,
            "SELECT c.id AS collaboration_id, c.title, c.link, c.origin, c.created_at, "
            "m.answer, m.confirmed_at, (c.created_by = m.user_id) AS recorded_by_you, "
            "(SELECT group_concat(coalesce(o.sector, ?), ',') FROM collaboration_members o "
            " WHERE o.collaboration_id = c.id) AS sectors "
            "FROM collaboration_members m JOIN collaborations c ON c.id = m.collaboration_id "
            "WHERE m.guild_id = ? AND m.user_id = ? ORDER BY c.created_at, c.id",
            (UNKNOWN, guild_id, user_id),
        )
