"""Match rounds, their groups, follow-up answers and per-server match settings."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from bot.domain.moments import (
    from_stored,
    from_stored_or_none,
    stored,
    stored_clock,
    stored_or_none,
)
from bot.storage.rows import Repository, from_row, marks


@dataclass(frozen=True, slots=True)
class MatchSettings:
    guild_id: int
    delivery: str = "thread"  # or "dm"
    window_rounds: int = 6
    followup_days: int = 14
    # Matching on a rhythm (bot.domain.rhythm): the kind, weekday (0 Monday), local time,
    # when it was set (slots are counted from then) and by whom (the report's DM).
    rhythm: str = "off"
    rhythm_weekday: int = 0
    rhythm_time: time = time(9, 0)
    rhythm_anchor: datetime | None = None
    rhythm_set_by: int | None = None
    report_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A group to store: (user id, sector) per member, its score and why (JSON)."""

    members: tuple[tuple[int, str], ...]
    score: int
    same_sector: bool
    reasons_json: str = "[]"


@dataclass(frozen=True, slots=True)
class MatchRound:
    id: int
    guild_id: int
    meeting_id: int | None
    kind: str
    seed: int
    people: int
    groups: int
    cross_sector: int
    score: int
    created_at: datetime
    followup_due_at: datetime | None
    followup_done: bool


@dataclass(frozen=True, slots=True)
class SavedGroup:
    id: int
    round_id: int
    position: int
    members: tuple[int, ...]
    sectors: tuple[str, ...]
    score: int
    same_sector: bool
    reasons_json: str
    thread_id: int | None
    delivered: bool


@dataclass(frozen=True, slots=True)
class MemberState:
    """One member of a stored group: how they got their match and what they answered."""

    group_id: int
    user_id: int
    met: str | None
    delivered_via: str | None  # thread | dm | gone; None: not delivered yet
    asked: bool  # the group's "did you meet?" was sent


@dataclass(frozen=True, slots=True)
class MetPair:
    a: int
    b: int
    at: datetime
    round_id: int


def _round(row: sqlite3.Row) -> MatchRound:
    return from_row(
        MatchRound,
        row,
        created_at=from_stored(row["created_at"]),
        followup_due_at=from_stored_or_none(row["followup_due_at"] or None),
        followup_done=bool(row["followup_done"]),
    )


_SETTINGS_SELECT = (
    "SELECT guild_id, delivery, window_rounds, followup_days, rhythm, rhythm_weekday, "
    "rhythm_time, rhythm_anchor, rhythm_set_by, report_channel_id FROM match_settings "
)


def _settings(row: sqlite3.Row) -> MatchSettings:
    return from_row(
        MatchSettings,
        row,
        rhythm_time=time.fromisoformat(row["rhythm_time"]),
        rhythm_anchor=from_stored_or_none(row["rhythm_anchor"] or None),
    )


_ROUND_COLUMNS = (
    "id, guild_id, meeting_id, kind, seed, people, groups, cross_sector, score, created_at, "
    "followup_due_at, followup_done"
)


class MatchRepository(Repository):
    async def settings(self, guild_id: int) -> MatchSettings:
        row = await self.db.fetchone(
            _SETTINGS_SELECT + "WHERE guild_id = ?",
            (guild_id,),
        )
        return MatchSettings(guild_id) if row is None else _settings(row)

    async def rhythm_settings(self) -> list[MatchSettings]:
        """Every server's settings with a rhythm on, by guild id."""
        return await self.read_all(
            _settings,
            _SETTINGS_SELECT + "WHERE rhythm != 'off' AND rhythm_anchor IS NOT NULL "
            "ORDER BY guild_id",
        )

    async def save_settings(self, settings: MatchSettings) -> None:
        anchor = settings.rhythm_anchor
        await self.db.execute(
            "INSERT INTO match_settings (guild_id, delivery, window_rounds, followup_days, "
            "rhythm, rhythm_weekday, rhythm_time, rhythm_anchor, rhythm_set_by, "
            "report_channel_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
            "delivery = excluded.delivery, window_rounds = excluded.window_rounds, "
            "followup_days = excluded.followup_days, rhythm = excluded.rhythm, "
            "rhythm_weekday = excluded.rhythm_weekday, rhythm_time = excluded.rhythm_time, "
            "rhythm_anchor = excluded.rhythm_anchor, "
            "rhythm_set_by = excluded.rhythm_set_by, "
            "report_channel_id = excluded.report_channel_id",
            (
                settings.guild_id,
                settings.delivery,
                settings.window_rounds,
                settings.followup_days,
                settings.rhythm,
                settings.rhythm_weekday,
                stored_clock(settings.rhythm_time),
                stored_or_none(anchor),
                settings.rhythm_set_by,
                settings.report_channel_id,
            ),
        )

    async def round_for_slot(self, guild_id: int, slot_key: str) -> MatchRound | None:
        """The round made for a rhythm slot (its ledger key), if one was saved."""
        return await self.read_one(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds "  # noqa: S608
            "WHERE guild_id = ? AND rhythm_slot = ?",
            (guild_id, slot_key),
        )

    async def save_round(
        self,
        guild_id: int,
        *,
        kind: str,
        seed: int,
        groups: Sequence[GroupRecord],
        now: datetime,
        meeting_id: int | None = None,
        created_by: int | None = None,
        followup_due: datetime | None = None,
        rhythm_slot: str | None = None,
    ) -> tuple[MatchRound, list[SavedGroup]]:
        """The round and all its groups in one transaction. `rhythm_slot`: the ledger key of
        the rhythm slot it is made for (unique per server: a second one is refused)."""
        people = sum(len(g.members) for g in groups)
        cross = sum(1 for g in groups if not g.same_sector)
        score = sum(g.score for g in groups)
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO match_rounds (guild_id, meeting_id, kind, seed, people, groups, "
                "cross_sector, score, created_by, created_at, followup_due_at, rhythm_slot) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    meeting_id,
                    kind,
                    seed,
                    people,
                    len(groups),
                    cross,
                    score,
                    created_by,
                    stored(now),
                    stored(followup_due) if followup_due else None,
                    rhythm_slot,
                ),
            )
            round_id = cur.lastrowid
            assert round_id is not None
            for position, group in enumerate(groups):
                gcur = await conn.execute(
                    "INSERT INTO match_groups (round_id, guild_id, position, score, same_sector, "
                    "reasons) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        round_id,
                        guild_id,
                        position,
                        group.score,
                        int(group.same_sector),
                        group.reasons_json,
                    ),
                )
                await conn.executemany(
                    "INSERT INTO match_members (group_id, guild_id, user_id, sector) "
                    "VALUES (?, ?, ?, ?)",
                    [(gcur.lastrowid, guild_id, uid, sector) for uid, sector in group.members],
                )
        saved = await self.get_round(guild_id, round_id)
        assert saved is not None
        return saved, await self.groups(round_id)

    async def get_round(self, guild_id: int, round_id: int) -> MatchRound | None:
        return await self.read_one(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds WHERE guild_id = ? AND id = ?",  # noqa: S608
            (guild_id, round_id),
        )

    async def last_round(self, guild_id: int, kind: str = "pairs") -> MatchRound | None:
        return await self.read_one(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds WHERE guild_id = ? AND kind = ? "  # noqa: S608
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            (guild_id, kind),
        )

    async def groups(self, round_id: int) -> list[SavedGroup]:
        rows = await self.db.fetchall(
            "SELECT g.id, g.round_id, g.position, g.score, g.same_sector, g.reasons, "
            "g.thread_id, g.delivered, m.user_id, m.sector FROM match_groups g "
            "JOIN match_members m ON m.group_id = g.id WHERE g.round_id = ? "
            "ORDER BY g.position, m.id",
            (round_id,),
        )
        result: list[SavedGroup] = []
        for _, members in itertools.groupby(rows, key=lambda r: r["id"]):
            block = list(members)
            first = block[0]
            result.append(
                SavedGroup(
                    id=first["id"],
                    round_id=first["round_id"],
                    position=first["position"],
                    members=tuple(r["user_id"] for r in block if r["user_id"] is not None),
                    sectors=tuple(r["sector"] for r in block),
                    score=first["score"],
                    same_sector=bool(first["same_sector"]),
                    reasons_json=first["reasons"],
                    thread_id=first["thread_id"],
                    delivered=bool(first["delivered"]),
                )
            )
        return result

    async def group(self, group_id: int) -> SavedGroup | None:
        row = await self.db.fetchone("SELECT round_id FROM match_groups WHERE id = ?", (group_id,))
        if row is None:
            return None
        return next((g for g in await self.groups(row[0]) if g.id == group_id), None)

    async def set_delivered(self, group_id: int, thread_id: int | None) -> None:
        await self.db.execute(
            "UPDATE match_groups SET delivered = 1, thread_id = ? WHERE id = ?",
            (thread_id, group_id),
        )

    async def history(
        self, guild_id: int, rounds: int, kinds: Sequence[str] = ("pairs", "tables")
    ) -> list[MetPair]:
        """Everyone who was grouped together in the last `rounds` rounds of these kinds."""
        round_rows = await self.db.fetchall(
            "SELECT id, created_at FROM match_rounds WHERE guild_id = ? "  # noqa: S608
            f"AND kind IN ({marks(kinds)}) "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (guild_id, *kinds, rounds),
        )
        pairs: list[MetPair] = []
        for round_row in round_rows:
            at = from_stored(round_row["created_at"])
            for group in await self.groups(round_row["id"]):
                for a, b in itertools.combinations(group.members, 2):
                    pairs.append(MetPair(min(a, b), max(a, b), at, round_row["id"]))
        return pairs

    async def record_answer(self, group_id: int, user_id: int, met: str, now: datetime) -> bool:
        """Store a "did you meet?" answer. False when the person is not in that group."""
        if met not in ("yes", "no", "planned"):
            raise ValueError(met)
        return await self.db.execute_one(
            "UPDATE match_members SET met = ?, answered_at = ? WHERE group_id = ? AND user_id = ?",
            (met, stored(now), group_id, user_id),
        )

    async def answers(self, round_id: int) -> dict[int, str | None]:
        rows = await self.db.fetchall(
            "SELECT m.user_id, m.met FROM match_members m JOIN match_groups g ON g.id = m.group_id "
            "WHERE g.round_id = ? AND m.user_id IS NOT NULL",
            (round_id,),
        )
        return {r[0]: r[1] for r in rows}

    async def due_followups(self, now: datetime) -> list[MatchRound]:
        return await self.read_all(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds WHERE followup_done = 0 "  # noqa: S608
            "AND followup_due_at IS NOT NULL AND followup_due_at <= ? ORDER BY followup_due_at",
            (stored(now),),
        )

    async def claim_followup(self, round_id: int) -> bool:
        """True only for the first caller: the follow-up of a round is sent once."""
        return await self.db.execute_one(
            "UPDATE match_rounds SET followup_done = 1 WHERE id = ? AND followup_done = 0",
            (round_id,),
        )

    async def open_followup_rounds(self, guild_id: int) -> list[MatchRound]:
        return await self.read_all(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds WHERE guild_id = ? AND kind = 'pairs' "  # noqa: S608
            "ORDER BY created_at DESC, id DESC",
            (guild_id,),
        )

    # ----- delivery and follow-up bookkeeping (migration 0006) ---------------------

    async def pending_followups(self) -> list[MatchRound]:
        """Rounds (of every server) whose follow-up is still to be sent, soonest first."""
        return await self.read_all(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds WHERE followup_done = 0 "  # noqa: S608
            "AND followup_due_at IS NOT NULL ORDER BY followup_due_at, id",
        )

    async def round_of_group(self, group_id: int) -> MatchRound | None:
        return await self.read_one(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds WHERE id = "  # noqa: S608
            "(SELECT round_id FROM match_groups WHERE id = ?)",
            (group_id,),
        )

    async def undelivered_groups(self, guild_id: int) -> list[SavedGroup]:
        """Groups of pair rounds whose delivery has not finished, oldest round first."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT r.id, r.created_at FROM match_rounds r "
            "JOIN match_groups g ON g.round_id = r.id "
            "WHERE r.guild_id = ? AND r.kind = 'pairs' AND g.delivered = 0 "
            "ORDER BY r.created_at, r.id",
            (guild_id,),
        )
        found: list[SavedGroup] = []
        for row in rows:
            found.extend(g for g in await self.groups(row["id"]) if not g.delivered)
        return found

    async def thread_ids(self, guild_id: int) -> set[int]:
        """Every thread stored for a match group of the server (a thread found on Discord
        that is not among them is an orphan a crash left between creating and storing it)."""
        rows = await self.db.fetchall(
            "SELECT thread_id FROM match_groups WHERE guild_id = ? AND thread_id IS NOT NULL",
            (guild_id,),
        )
        return {int(r["thread_id"]) for r in rows}

    async def set_thread(self, group_id: int, thread_id: int) -> None:
        """Remember a group's thread as soon as it exists (delivery may still fail after)."""
        await self.db.execute(
            "UPDATE match_groups SET thread_id = ? WHERE id = ?", (thread_id, group_id)
        )

    async def set_member_delivery(self, group_id: int, user_id: int, via: str) -> None:
        if via not in ("thread", "dm", "gone"):
            raise ValueError(via)
        await self.db.execute(
            "UPDATE match_members SET delivered_via = ? WHERE group_id = ? AND user_id = ?",
            (via, group_id, user_id),
        )

    async def member_states(self, round_id: int) -> list[MemberState]:
        """Every member of the round who still has an id (deleted data is left out)."""
        rows = await self.db.fetchall(
            "SELECT m.group_id, m.user_id, m.met, m.delivered_via, g.followup_asked_at "
            "FROM match_members m JOIN match_groups g ON g.id = m.group_id "
            "WHERE g.round_id = ? AND m.user_id IS NOT NULL ORDER BY g.position, m.id",
            (round_id,),
        )
        return [
            MemberState(
                group_id=r["group_id"],
                user_id=r["user_id"],
                met=r["met"],
                delivered_via=r["delivered_via"],
                asked=r["followup_asked_at"] is not None,
            )
            for r in rows
        ]

    async def claim_group_followup(self, group_id: int, now: datetime) -> bool:
        """True only for the first caller: each group is asked "did you meet?" once."""
        return await self.db.execute_one(
            "UPDATE match_groups SET followup_asked_at = ? "
            "WHERE id = ? AND followup_asked_at IS NULL",
            (stored(now), group_id),
        )

    async def mark_group_followup_sent(self, group_id: int) -> None:
        await self.db.execute("UPDATE match_groups SET followup_sent = 1 WHERE id = ?", (group_id,))

    async def release_interrupted_followups(self) -> tuple[list[int], int]:
        """At start: questions claimed but never marked sent were cut off by a crash.

        Each is released once for a retry (returned as group ids); one that was already
        retried and cut off again is given up on (counted), so nobody is asked three times.
        """
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id FROM match_groups WHERE followup_asked_at IS NOT NULL "
                "AND followup_sent = 0 AND followup_retried = 0 ORDER BY id"
            ) as cur:
                released = [int(r[0]) for r in await cur.fetchall()]
            given_up = await conn.execute(
                "UPDATE match_groups SET followup_sent = 1 WHERE followup_asked_at IS NOT NULL "
                "AND followup_sent = 0 AND followup_retried = 1"
            )
            await conn.executemany(
                "UPDATE match_groups SET followup_asked_at = NULL, followup_retried = 1 "
                "WHERE id = ?",
                [(gid,) for gid in released],
            )
        return released, given_up.rowcount

    async def retried_groups(self, round_id: int) -> set[int]:
        """Groups of the round whose question is a retry (the first try may have gone out)."""
        rows = await self.db.fetchall(
            "SELECT id FROM match_groups WHERE round_id = ? AND followup_retried = 1",
            (round_id,),
        )
        return {int(r[0]) for r in rows}

    async def rounds_with_unasked_groups(self) -> list[MatchRound]:
        """Rounds whose follow-up was claimed but where a delivered group was not asked yet
        (a restart in the middle, or a group delivered after the follow-up ran)."""
        return await self.read_all(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds r WHERE followup_done = 1 "  # noqa: S608
            "AND EXISTS (SELECT 1 FROM match_groups g WHERE g.round_id = r.id "
            "AND g.delivered = 1 AND g.followup_asked_at IS NULL) ORDER BY created_at, id",
        )

    async def rounds_to_count(self, guild_id: int) -> list[MatchRound]:
        """Pair rounds whose follow-up was sent and whose silence is not counted yet."""
        return await self.read_all(
            _round,
            f"SELECT {_ROUND_COLUMNS} FROM match_rounds WHERE guild_id = ? "  # noqa: S608
            "AND kind = 'pairs' AND followup_done = 1 AND ignores_counted = 0 "
            "ORDER BY created_at, id",
            (guild_id,),
        )

    async def claim_ignores(self, round_id: int) -> bool:
        """True only for the first caller: a round's unanswered follow-ups count once."""
        return await self.db.execute_one(
            "UPDATE match_rounds SET ignores_counted = 1 WHERE id = ? AND ignores_counted = 0",
            (round_id,),
        )
