"""Told-once notices about a meeting: owed in the transaction that decides them, claimed
before sending, marked after.

A notice is owed (`owe`, in the caller's transaction) when a decision is stored that
someone must hear about: promoted from the waitlist, the time or place changed, the meeting
cancelled. The sender claims it (`claim_notice`), sends, and marks it sent; a notice still
owed at start is sent then (`owed_notices`), so nobody is told twice or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import aiosqlite

from bot.domain.moments import stored
from bot.domain.rsvp import RsvpState, Status
from bot.storage.rows import Repository

__all__ = ["NoticeRepository", "owe", "owe_promotions", "user_ids_with"]

_OWE = (
    "INSERT OR IGNORE INTO notices (guild_id, kind, meeting_id, user_id, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


async def user_ids_with(
    conn: aiosqlite.Connection, meeting_id: int, statuses: Sequence[str]
) -> list[int]:
    """Who has one of `statuses` for the meeting, in first-come order."""
    rows = await conn.execute_fetchall(
        "SELECT user_id, status FROM rsvps WHERE meeting_id = ? ORDER BY seq", (meeting_id,)
    )
    return [int(r[0]) for r in rows if r[1] in statuses]


async def owe(
    conn: aiosqlite.Connection,
    guild_id: int,
    kind: str,
    meeting_id: int,
    user_ids: Iterable[int],
    now: datetime,
) -> None:
    """Record notices owed (sent later, once), in the caller's transaction."""
    stamp = stored(now)
    await conn.executemany(_OWE, [(guild_id, kind, meeting_id, u, stamp) for u in user_ids])


async def owe_promotions(
    conn: aiosqlite.Connection,
    meeting_id: int,
    guild_id: int,
    state: RsvpState,
    promoted: Iterable[int],
    now: datetime,
) -> None:
    """Who moved up from the waitlist (and is still going) is owed a notice, in the same
    transaction as the answers: told once, even if the bot stops right after the commit.
    Taken from the outcomes, not by comparing states: one batch may waitlist and promote."""
    still_going = [
        u
        for u in sorted(promoted)
        if (answer := state.answers.get(u)) is not None and answer.status is Status.GOING
    ]
    if still_going:
        await owe(conn, guild_id, "promoted", meeting_id, still_going, now)


class NoticeRepository(Repository):
    async def claim_notice(self, kind: str, meeting_id: int, user_id: int, now: datetime) -> bool:
        """True only the first time for (kind, meeting, user): tell people things once.

        Claim before sending and `mark_notice_sent` after (until then the notice is owed and
        sent again at start, see `owed_notices`); if sending failed in a way worth retrying,
        `release_notice`. Use user_id 0 for a notice about the whole meeting.
        """
        return await self.db.execute_one(
            "INSERT OR IGNORE INTO notices (guild_id, kind, meeting_id, user_id, created_at) "
            "SELECT guild_id, ?, id, ?, ? FROM meetings WHERE id = ?",
            (kind, user_id, stored(now), meeting_id),
        )

    async def owed_notices(self, meeting_id: int) -> list[tuple[str, int]]:
        """(kind, user id) of the meeting's notices recorded but not yet sent, oldest first."""
        rows = await self.db.fetchall(
            "SELECT kind, user_id FROM notices WHERE meeting_id = ? AND sent_at IS NULL "
            "ORDER BY rowid",
            (meeting_id,),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def meetings_owing_notices(self) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT meeting_id FROM notices WHERE sent_at IS NULL ORDER BY meeting_id"
        )
        return [int(r[0]) for r in rows]

    async def mark_notice_sent(
        self, kind: str, meeting_id: int, user_id: int, now: datetime
    ) -> bool:
        """The notice went out (or cannot go out): never again. False if it was already."""
        return await self.db.execute_one(
            "UPDATE notices SET sent_at = ? WHERE kind = ? AND meeting_id = ? "
            "AND user_id = ? AND sent_at IS NULL",
            (stored(now), kind, meeting_id, user_id),
        )

    async def release_notice(self, kind: str, meeting_id: int, user_id: int) -> bool:
        return await self.db.execute_one(
            "DELETE FROM notices WHERE kind = ? AND meeting_id = ? AND user_id = ?",
            (kind, meeting_id, user_id),
        )
