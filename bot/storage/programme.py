"""Proposals for meetings' programmes (migration 0011). SQL only, parameters only.

Every change that depends on the current state (the three-open limit, edits and decisions
while open, the order of the accepted items) is checked and written in one transaction,
so two clicks or two processes never both win.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime

from bot.domain.moments import from_stored_or_none, stored
from bot.domain.programme import (
    MAX_OPEN_PER_MEETING,
    Decision,
    ProgrammeFact,
    Proposal,
    ProposalText,
    Status,
)
from bot.errors import BadInput
from bot.storage.rows import Repository, from_row, marks

_COLUMNS = (
    "id, guild_id, meeting_id, user_id, title, summary, kind, co_presenter_1, co_presenter_2, "
    "sector, status, position, slot, decided_by, decided_at, notice, notice_sent_at, "
    "created_at, updated_at"
)


def _proposal(r: sqlite3.Row) -> Proposal:
    created = from_stored_or_none(r["created_at"])
    updated = from_stored_or_none(r["updated_at"])
    assert created is not None and updated is not None
    return from_row(
        Proposal,
        r,
        co_presenters=tuple(
            int(u) for u in (r["co_presenter_1"], r["co_presenter_2"]) if u is not None
        ),
        status=Status(r["status"]),
        decided_at=from_stored_or_none(r["decided_at"]),
        notice=Decision(r["notice"]) if r["notice"] is not None else None,
        notice_sent_at=from_stored_or_none(r["notice_sent_at"]),
        created_at=created,
        updated_at=updated,
    )


def _written(
    text: ProposalText, co_presenters: Sequence[int], sector: str | None
) -> tuple[object, ...]:
    """What the proposer writes, as the columns `title` to `sector` (propose and edit)."""
    first = co_presenters[0] if co_presenters else None
    second = co_presenters[1] if len(co_presenters) > 1 else None
    return (text.title, text.summary, text.kind, first, second, sector)


class ProposalRepository(Repository):
    async def get(self, guild_id: int, proposal_id: int) -> Proposal | None:
        return await self.read_one(
            _proposal,
            f"SELECT {_COLUMNS} FROM proposals WHERE guild_id = ? AND id = ?",  # noqa: S608
            (guild_id, proposal_id),
        )

    async def find_by_id(self, proposal_id: int) -> Proposal | None:
        """For a button, whose custom id carries only the proposal's id (the guild is
        checked by the caller)."""
        return await self.read_one(
            _proposal,
            f"SELECT {_COLUMNS} FROM proposals WHERE id = ?",  # noqa: S608
            (proposal_id,),
        )

    async def create(
        self,
        guild_id: int,
        meeting_id: int,
        user_id: int,
        text: ProposalText,
        co_presenters: Sequence[int],
        sector: str | None,
        now: datetime,
    ) -> Proposal:
        """A new open proposal; BadInput when the person has three open ones already.

        Sending the same title again for the same meeting (a retry after the bot did not
        answer, e.g. it restarted) returns the open proposal already stored: never two."""
        stamp = stored(now)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id, title FROM proposals WHERE guild_id = ? AND meeting_id = ? "
                "AND user_id = ? AND status = 'open'",
                (guild_id, meeting_id, user_id),
            ) as cur:
                open_ones = list(await cur.fetchall())
            same = [int(r[0]) for r in open_ones if r[1] == text.title]
            if same:
                new_id: int | None = same[0]
            elif len(open_ones) >= MAX_OPEN_PER_MEETING:
                raise BadInput("programme.error.too_many", limit=MAX_OPEN_PER_MEETING)
            else:
                async with conn.execute(
                    "INSERT INTO proposals (guild_id, meeting_id, user_id, title, summary, "
                    "kind, co_presenter_1, co_presenter_2, sector, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        guild_id,
                        meeting_id,
                        user_id,
                        *_written(text, co_presenters, sector),
                        stamp,
                        stamp,
                    ),
                ) as cur:
                    new_id = cur.lastrowid
        assert new_id is not None
        found = await self.get(guild_id, new_id)
        assert found is not None
        return found

    async def edit(
        self,
        guild_id: int,
        proposal_id: int,
        user_id: int,
        text: ProposalText,
        co_presenters: Sequence[int],
        sector: str | None,
        now: datetime,
    ) -> Proposal | None:
        """Replace the text of the person's own open proposal; None if it is no longer
        open (decided meanwhile) or not theirs."""
        changed = await self.db.execute(
            "UPDATE proposals SET title = ?, summary = ?, kind = ?, co_presenter_1 = ?, "
            "co_presenter_2 = ?, sector = ?, updated_at = ? "
            "WHERE guild_id = ? AND id = ? AND user_id = ? AND status = 'open'",
            (*_written(text, co_presenters, sector), stored(now), guild_id, proposal_id, user_id),
        )
        return await self.get(guild_id, proposal_id) if changed else None

    async def withdraw(self, guild_id: int, proposal_id: int, user_id: int, now: datetime) -> bool:
        return await self.db.execute_one(
            "UPDATE proposals SET status = 'withdrawn', updated_at = ? "
            "WHERE guild_id = ? AND id = ? AND user_id = ? AND status = 'open'",
            (stored(now), guild_id, proposal_id, user_id),
        )

    async def decide(
        self,
        guild_id: int,
        proposal_id: int,
        decision: Decision,
        decided_by: int,
        now: datetime,
        *,
        to_meeting: int | None = None,
    ) -> Proposal | None:
        """Accept, decline or move an open proposal, and owe its proposer the notice, in
        one transaction. None when it is not open any more (someone decided first): the
        notice is then owed once, for the first decision only."""
        stamp = stored(now)
        status = {
            Decision.ACCEPTED: Status.ACCEPTED,
            Decision.DECLINED: Status.DECLINED,
            Decision.MOVED: Status.OPEN,
        }[decision]
        # The decision's columns and the proposal, in the order both statements take them.
        decided = (status.value, decided_by, stamp, decision.value, stamp, guild_id, proposal_id)
        if decision is Decision.MOVED:
            assert to_meeting is not None
            changed = await self.db.execute(
                "UPDATE proposals SET meeting_id = ?, status = ?, position = NULL, "
                "slot = NULL, decided_by = ?, decided_at = ?, notice = ?, "
                "notice_sent_at = NULL, updated_at = ? "
                "WHERE guild_id = ? AND id = ? AND status = 'open' AND meeting_id != ? "
                "AND EXISTS (SELECT 1 FROM meetings WHERE id = ? AND guild_id = ?)",
                (to_meeting, *decided, to_meeting, to_meeting, guild_id),
            )
        else:
            changed = await self.db.execute(
                "UPDATE proposals SET status = ?, position = NULL, slot = NULL, "
                "decided_by = ?, decided_at = ?, notice = ?, notice_sent_at = NULL, "
                "updated_at = ? WHERE guild_id = ? AND id = ? AND status = 'open'",
                decided,
            )
        return await self.get(guild_id, proposal_id) if changed else None

    async def arrange(
        self,
        guild_id: int,
        meeting_id: int,
        order: Sequence[int],
        proposal_id: int,
        slot: str | None,
        now: datetime,
    ) -> bool:
        """Store the accepted items' order (`order`: every accepted id of the meeting, as
        `bot.domain.programme.moved_to` made it) and, when given, the item's slot. False
        (nothing written) when the accepted items changed meanwhile."""
        stamp = stored(now)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id FROM proposals WHERE guild_id = ? AND meeting_id = ? "
                "AND status = 'accepted'",
                (guild_id, meeting_id),
            ) as cur:
                current = {int(r[0]) for r in await cur.fetchall()}
            if current != set(order) or proposal_id not in current:
                return False
            await conn.executemany(
                "UPDATE proposals SET position = ?, updated_at = ? WHERE id = ?",
                [(n, stamp, pid) for n, pid in enumerate(order, start=1)],
            )
            if slot is not None:
                await conn.execute(
                    "UPDATE proposals SET slot = ? WHERE id = ?", (slot, proposal_id)
                )
        return True

    async def for_meeting(
        self, meeting_id: int, statuses: Collection[Status] = tuple(Status)
    ) -> list[Proposal]:
        wanted = [s.value for s in statuses]
        return await self.read_all(
            _proposal,
            f"SELECT {_COLUMNS} FROM proposals WHERE meeting_id = ? "  # noqa: S608
            f"AND status IN ({marks(wanted)}) ORDER BY id",
            (meeting_id, *wanted),
        )

    async def accepted(self, meeting_id: int) -> list[Proposal]:
        return await self.for_meeting(meeting_id, (Status.ACCEPTED,))

    async def of_user(
        self, guild_id: int, user_id: int, statuses: Collection[Status] = tuple(Status)
    ) -> list[Proposal]:
        """The person's own proposals, newest first."""
        wanted = [s.value for s in statuses]
        return await self.read_all(
            _proposal,
            f"SELECT {_COLUMNS} FROM proposals WHERE guild_id = ? AND user_id = ? "  # noqa: S608
            f"AND status IN ({marks(wanted)}) ORDER BY id DESC",
            (guild_id, user_id, *wanted),
        )

    async def accepted_in_guild(self, guild_id: int, since: datetime) -> list[Proposal]:
        """Accepted items of the server's meetings that start after `since` (arranging)."""
        return await self.read_all(
            _proposal,
            "SELECT p.id, p.guild_id, p.meeting_id, p.user_id, p.title, p.summary, p.kind, "
            "p.co_presenter_1, p.co_presenter_2, p.sector, p.status, p.position, p.slot, "
            "p.decided_by, p.decided_at, p.notice, p.notice_sent_at, p.created_at, p.updated_at "
            "FROM proposals p JOIN meetings m ON m.id = p.meeting_id "
            "WHERE p.guild_id = ? AND p.status = 'accepted' AND m.starts_at > ? "
            "AND m.status = 'scheduled' ORDER BY m.starts_at, p.id",
            (guild_id, stored(since)),
        )

    async def owed(self) -> list[Proposal]:
        """Decisions whose notice was not sent yet (after a crash), oldest first."""
        return await self.read_all(
            _proposal,
            f"SELECT {_COLUMNS} FROM proposals "  # noqa: S608
            "WHERE notice IS NOT NULL AND notice_sent_at IS NULL ORDER BY decided_at, id",
        )

    async def mark_notice_sent(self, proposal_id: int, decided_at: datetime, now: datetime) -> bool:
        """Mark the notice of this decision (the one made at `decided_at`) sent; False when
        it was marked already or a later decision replaced it."""
        return await self.db.execute_one(
            "UPDATE proposals SET notice_sent_at = ? WHERE id = ? AND decided_at = ? "
            "AND notice_sent_at IS NULL",
            (stored(now), proposal_id, stored(decided_at)),
        )

    async def facts(self, guild_id: int) -> list[ProgrammeFact]:
        """Every proposal of the server as the report counts it (no one's id)."""
        rows = await self.db.fetchall(
            "SELECT meeting_id, status, sector FROM proposals WHERE guild_id = ?", (guild_id,)
        )
        return [ProgrammeFact(int(r[0]), Status(r[1]), r[2]) for r in rows]
