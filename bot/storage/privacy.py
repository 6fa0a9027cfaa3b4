"""Privacy: export and delete a member's data, retention, and the leave grace period.

Plain storage, no discord. What a deletion keeps is anonymous aggregates only: counts of
answers and check-ins by meeting, status and sector (`anonymous_participation`), the dates
introductions were made (`anonymous_introductions`), and match members' sectors with
`user_id` NULL, so past reports keep their numbers. Nothing else about the member stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite
from dateutil.relativedelta import relativedelta

from bot.domain.moments import from_stored, stored
from bot.storage.privacy_export import export_member
from bot.storage.rows import Repository

DEFAULT_RETENTION_MONTHS = 24
DEFAULT_LEAVE_GRACE_DAYS = 30


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    guild_id: int
    retention_months: int = DEFAULT_RETENTION_MONTHS
    leave_grace_days: int = DEFAULT_LEAVE_GRACE_DAYS


@dataclass(frozen=True, slots=True)
class DeletionResult:
    """What the Discord side should still remove: the intro card and match threads."""

    found: bool  # False: nothing was stored about the member
    cards: tuple[tuple[int, int], ...] = ()  # (channel id, message id)
    threads: tuple[int, ...] = ()  # match threads the member was in


@dataclass(frozen=True, slots=True)
class RetentionResult:
    answers: int = 0  # rsvps and check-ins (and their anonymous counts)
    notices: int = 0
    rounds: int = 0
    deliveries: int = 0

    @property
    def total(self) -> int:
        return self.answers + self.notices + self.rounds + self.deliveries


@dataclass(frozen=True, slots=True)
class Departure:
    guild_id: int
    user_id: int
    left_at: datetime


@dataclass(frozen=True, slots=True)
class ErasureJob:
    """A deletion written down before it starts; `db_done` once the rows are gone."""

    id: int
    guild_id: int
    user_id: int
    actor_id: int | None
    db_done: bool
    found: bool


@dataclass(frozen=True, slots=True)
class ErasureStep:
    """One thing left to do on Discord for a job (deleted from the table once done)."""

    id: int
    kind: str  # 'card', 'thread' or 'reactions'
    channel_id: int
    message_id: int | None  # the card or the announcement; None for a thread
    meeting_id: int | None  # for 'reactions'


# The parts of an export, in order (keys of `export()["data"]`).
EXPORT_PARTS: tuple[str, ...] = (
    "profile",
    "answers",
    "checkins",
    "notices",
    "matches",
    "partner_searches",
    "partner_interests",
    "partner_settings",
    "collaborations",
    "proposals",
    "reminder_optout",
    "team_roles",
    "deliveries",
    "departure",
    "meetings_created",
    "series_created",
    "match_rounds_created",
    "match_rhythm_set",
    "checkins_recorded",
    "privacy_actions",
)


async def _delete_rows(
    conn: aiosqlite.Connection, guild_id: int, user_id: int, now: datetime, actor_id: int | None
) -> DeletionResult:
    """The deletion itself, inside the caller's transaction (see `PrivacyRepository.delete`)."""
    g, u = guild_id, user_id
    if actor_id is None:
        action, logged_actor = "delete_departed", None
    elif actor_id == user_id:
        action, logged_actor = "delete_self", None
    else:
        action, logged_actor = "delete_member", actor_id

    async def rows(sql: str, params: Sequence[Any]) -> list[aiosqlite.Row]:
        async with conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def run(sql: str, params: Sequence[Any]) -> int:
        async with conn.execute(sql, params) as cur:
            return cur.rowcount

    profile = await rows(
        "SELECT sector, created_at, card_channel_id, card_message_id FROM profiles "
        "WHERE guild_id = ? AND user_id = ?",
        (g, u),
    )
    sector = profile[0]["sector"] if profile else None
    cards = tuple(
        (int(r["card_channel_id"]), int(r["card_message_id"]))
        for r in profile
        if r["card_channel_id"] is not None and r["card_message_id"] is not None
    )
    # Partner-search cards the member posted, and threads they were in (their cards).
    cards += tuple(
        (int(r[0]), int(r[1]))
        for r in await rows(
            "SELECT channel_id, message_id FROM partner_searches WHERE guild_id = ? "
            "AND user_id = ? AND channel_id IS NOT NULL AND message_id IS NOT NULL",
            (g, u),
        )
    )
    threads = tuple(
        int(r[0])
        for r in await rows(
            "SELECT DISTINCT g.thread_id FROM match_members mm "
            "JOIN match_groups g ON g.id = mm.group_id "
            "WHERE mm.guild_id = ? AND mm.user_id = ? AND g.thread_id IS NOT NULL "
            "UNION SELECT i.thread_id FROM partner_interests i "
            "JOIN partner_searches s ON s.id = i.search_id "
            "WHERE i.guild_id = ? AND (i.user_id = ? OR s.user_id = ?) "
            "AND i.thread_id IS NOT NULL",
            (g, u, g, u, u),
        )
    )
    # Anonymous counts first, while the rows still say what they counted.
    await run(
        "INSERT INTO anonymous_participation (guild_id, meeting_id, kind, status, sector, "
        "people) SELECT guild_id, meeting_id, 'answer', status, ?, 1 FROM rsvps "
        "WHERE guild_id = ? AND user_id = ?",
        (sector, g, u),
    )
    await run(
        "INSERT INTO anonymous_participation (guild_id, meeting_id, kind, status, sector, "
        "people) SELECT guild_id, meeting_id, 'checkin', '', ?, 1 FROM checkins "
        "WHERE guild_id = ? AND user_id = ?",
        (sector, g, u),
    )
    if profile:
        await run(
            "INSERT INTO anonymous_introductions (guild_id, created_at) VALUES (?, ?)",
            (g, profile[0]["created_at"]),
        )
    # The team card still shows the member's roles: edited once the rows are gone (at once,
    # or at the next start after a crash).
    await run(
        "UPDATE team_cards SET stale = 1 WHERE guild_id = ? AND EXISTS (SELECT 1 FROM "
        "team_roles WHERE team_roles.guild_id = team_cards.guild_id AND user_id = ?)",
        (g, u),
    )
    changed = 0
    for sql in (
        "DELETE FROM profiles WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM team_roles WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM rsvps WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM checkins WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM notices WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM reminder_optouts WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM deliveries WHERE guild_id = ? AND recipient_id = ?",
        "DELETE FROM departures WHERE guild_id = ? AND user_id = ?",
        # A search goes with its interests (others' too: their thread was with the member).
        "DELETE FROM partner_interests WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM partner_searches WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM partner_prefs WHERE guild_id = ? AND user_id = ?",
        # The reasons of the member's groups name them (ids, organisation).
        "UPDATE match_groups SET reasons = '[]' WHERE guild_id = ? AND id IN "
        "(SELECT group_id FROM match_members WHERE user_id = ?)",
        "UPDATE match_members SET user_id = NULL, answered_at = NULL "
        "WHERE guild_id = ? AND user_id = ?",
        # A confirmed collaboration keeps counting: its sector and confirmation stay.
        "UPDATE collaboration_members SET user_id = NULL WHERE guild_id = ? AND user_id = ?",
        "UPDATE collaborations SET created_by = NULL WHERE guild_id = ? AND created_by = ?",
        "UPDATE checkins SET checked_by = NULL WHERE guild_id = ? AND checked_by = ?",
        "UPDATE meetings SET created_by = NULL WHERE guild_id = ? AND created_by = ?",
        "UPDATE series SET created_by = NULL WHERE guild_id = ? AND created_by = ?",
        "UPDATE match_rounds SET created_by = NULL WHERE guild_id = ? AND created_by = ?",
        "UPDATE match_settings SET rhythm_set_by = NULL WHERE guild_id = ? AND rhythm_set_by = ?",
        "UPDATE privacy_log SET actor_id = NULL WHERE guild_id = ? AND actor_id = ?",
        # Proposals stay as anonymous rows for the report's counts; an accepted one keeps
        # its place in the programme, shown as deleted (bot/domain/programme.py).
        "UPDATE proposals SET user_id = NULL, title = '', summary = '', co_presenter_1 = NULL, "
        "co_presenter_2 = NULL, notice = NULL, notice_sent_at = NULL "
        "WHERE guild_id = ? AND user_id = ?",
        "UPDATE proposals SET co_presenter_1 = co_presenter_2, co_presenter_2 = NULL "
        "WHERE guild_id = ? AND co_presenter_1 = ?",
        "UPDATE proposals SET co_presenter_2 = NULL WHERE guild_id = ? AND co_presenter_2 = ?",
        "UPDATE proposals SET decided_by = NULL WHERE guild_id = ? AND decided_by = ?",
    ):
        changed += await run(sql, (g, u))
    await run(
        "INSERT INTO privacy_log (guild_id, action, actor_id, at) VALUES (?, ?, ?, ?)",
        (g, action, logged_actor, stored(now)),
    )
    return DeletionResult(found=changed > 0, cards=cards, threads=threads)


class PrivacyRepository(Repository):
    # --- settings -------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> PrivacySettings:
        row = await self.db.fetchone(
            "SELECT retention_months, leave_grace_days FROM privacy_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return PrivacySettings(guild_id)
        return PrivacySettings(guild_id, row[0], row[1])

    async def save_settings(self, settings: PrivacySettings) -> None:
        await self.db.execute(
            "INSERT INTO privacy_settings (guild_id, retention_months, leave_grace_days) "
            "VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
            "retention_months = excluded.retention_months, "
            "leave_grace_days = excluded.leave_grace_days",
            (settings.guild_id, settings.retention_months, settings.leave_grace_days),
        )

    # --- export ---------------------------------------------------------------------------

    async def export(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Every row about the member in this server (`bot.storage.privacy_export`)."""
        return await export_member(self.db, guild_id, user_id)

    async def _ids(self, sql: str, guild_id: int, user_id: int) -> list[int]:
        return [int(r[0]) for r in await self.db.fetchall(sql, (guild_id, user_id))]

    @staticmethod
    def summarise(export: dict[str, Any]) -> dict[str, int]:
        """How many rows each part of an export holds (the profile counts as 0 or 1)."""
        data = export["data"]
        counts: dict[str, int] = {}
        for part in EXPORT_PARTS:
            value = data.get(part)
            counts[part] = (0 if value is None else 1) if part == "profile" else len(value or [])
        return counts

    # --- deletion -------------------------------------------------------------------------

    async def delete(
        self, guild_id: int, user_id: int, now: datetime, actor_id: int | None
    ) -> DeletionResult:
        """Delete everything about the member in this server, in one transaction.

        `actor_id` is the organiser who asked; the member themselves (actor_id == user_id)
        and the bot (None, after the leave grace period) are logged without an id.
        The bot deletes through `request_erasure` and `erase`, which also write down what
        is left to do on Discord; this is the same deletion without that bookkeeping.
        """
        async with self.db.transaction() as conn:
            return await _delete_rows(conn, guild_id, user_id, now, actor_id)

    # --- retention ------------------------------------------------------------------------

    async def _guilds_with_data(self) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT guild_id FROM meetings UNION SELECT guild_id FROM match_rounds "
            "UNION SELECT guild_id FROM deliveries ORDER BY 1"
        )
        return [int(r[0]) for r in rows]

    async def retention_sweep(self, now: datetime) -> RetentionResult:
        """Delete, per server, answers to meetings, match rounds and deliveries older than
        its `retention_months` (by meeting start, round date and due date)."""
        answers = notices = rounds = deliveries = 0
        for guild_id in await self._guilds_with_data():
            settings = await self.settings(guild_id)
            cutoff = stored(now - relativedelta(months=settings.retention_months))
            async with self.db.transaction() as conn:
                counts = []
                for sql in (
                    "DELETE FROM rsvps WHERE meeting_id IN "
                    "(SELECT id FROM meetings WHERE guild_id = ? AND starts_at < ?)",
                    "DELETE FROM checkins WHERE meeting_id IN "
                    "(SELECT id FROM meetings WHERE guild_id = ? AND starts_at < ?)",
                    "DELETE FROM anonymous_participation WHERE meeting_id IN "
                    "(SELECT id FROM meetings WHERE guild_id = ? AND starts_at < ?)",
                    "DELETE FROM notices WHERE meeting_id IN "
                    "(SELECT id FROM meetings WHERE guild_id = ? AND starts_at < ?)",
                    "DELETE FROM match_rounds WHERE guild_id = ? AND created_at < ?",
                    "DELETE FROM deliveries WHERE guild_id = ? AND due_at < ?",
                    # Proposals of old meetings stay as counts only (as after a deletion).
                    "UPDATE proposals SET user_id = NULL, title = '', summary = '', "
                    "co_presenter_1 = NULL, co_presenter_2 = NULL, decided_by = NULL "
                    "WHERE meeting_id IN (SELECT id FROM meetings WHERE guild_id = ? "
                    "AND starts_at < ?) AND (user_id IS NOT NULL OR decided_by IS NOT NULL "
                    "OR co_presenter_1 IS NOT NULL)",
                ):
                    async with conn.execute(sql, (guild_id, cutoff)) as cur:
                        counts.append(cur.rowcount)
                if any(counts):
                    await conn.execute(
                        "INSERT INTO privacy_log (guild_id, action, actor_id, at) "
                        "VALUES (?, 'retention', NULL, ?)",
                        (guild_id, stored(now)),
                    )
            answers += counts[0] + counts[1] + counts[2]
            notices += counts[3]
            rounds += counts[4]
            deliveries += counts[5]
        return RetentionResult(answers, notices, rounds, deliveries)

    # --- leaving the server ---------------------------------------------------------------

    async def people(self, guild_id: int) -> list[int]:
        """Everyone this server holds personal data about (to check they are still there)."""
        rows = await self.db.fetchall(
            "SELECT user_id FROM profiles WHERE guild_id = ? "
            "UNION SELECT user_id FROM rsvps WHERE guild_id = ? "
            "UNION SELECT user_id FROM checkins WHERE guild_id = ? "
            "UNION SELECT user_id FROM reminder_optouts WHERE guild_id = ? "
            "UNION SELECT user_id FROM match_members WHERE guild_id = ? AND user_id IS NOT NULL "
            "UNION SELECT user_id FROM team_roles WHERE guild_id = ? "
            "UNION SELECT user_id FROM collaboration_members WHERE guild_id = ? "
            "AND user_id IS NOT NULL "
            "UNION SELECT user_id FROM departures WHERE guild_id = ? ORDER BY 1",
            (guild_id,) * 8,
        )
        return [int(r[0]) for r in rows]

    async def guilds(self) -> list[int]:
        """Every server with personal data or a departure pending."""
        rows = await self.db.fetchall(
            "SELECT guild_id FROM profiles UNION SELECT guild_id FROM rsvps "
            "UNION SELECT guild_id FROM checkins UNION SELECT guild_id FROM reminder_optouts "
            "UNION SELECT guild_id FROM team_roles "
            "UNION SELECT guild_id FROM collaboration_members WHERE user_id IS NOT NULL "
            "UNION SELECT guild_id FROM departures ORDER BY 1"
        )
        return [int(r[0]) for r in rows]

    async def mark_departed(self, guild_id: int, user_id: int, now: datetime) -> bool:
        """Note that the member is gone; the first date counts. True if newly noted."""
        return await self.db.execute_one(
            "INSERT INTO departures (guild_id, user_id, left_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id, user_id) DO NOTHING",
            (guild_id, user_id, stored(now)),
        )

    async def clear_departed(self, guild_id: int, user_id: int) -> bool:
        """The member is back (or was never gone): their data stays. True if one was noted."""
        return await self.db.execute_one(
            "DELETE FROM departures WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )

    async def departed(self, guild_id: int) -> list[Departure]:
        rows = await self.db.fetchall(
            "SELECT guild_id, user_id, left_at FROM departures WHERE guild_id = ? ORDER BY left_at",
            (guild_id,),
        )
        return [Departure(r[0], r[1], from_stored(r[2])) for r in rows]

    async def departed_due(self, now: datetime) -> list[Departure]:
        """Departures older than their server's grace period: their data is to be deleted."""
        rows = await self.db.fetchall(
            "SELECT d.guild_id, d.user_id, d.left_at, "
            "COALESCE(s.leave_grace_days, ?) AS grace FROM departures d "
            "LEFT JOIN privacy_settings s ON s.guild_id = d.guild_id ORDER BY d.left_at",
            (DEFAULT_LEAVE_GRACE_DAYS,),
        )
        due: list[Departure] = []
        for r in rows:
            left_at = from_stored(r["left_at"])
            if left_at + timedelta(days=int(r["grace"])) <= now:
                due.append(Departure(r["guild_id"], r["user_id"], left_at))
        return due

    # --- erasure jobs ---------------------------------------------------------------------

    async def request_erasure(
        self, guild_id: int, user_id: int, actor_id: int | None, now: datetime
    ) -> ErasureJob:
        """Write the deletion down first (one job per person; asking again redoes the rows)."""
        await self.db.execute(
            "INSERT INTO erasure_jobs (guild_id, user_id, actor_id, requested_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET "
            "actor_id = excluded.actor_id, requested_at = excluded.requested_at, "
            "db_done_at = NULL",
            (guild_id, user_id, actor_id, stored(now)),
        )
        row = await self.db.fetchone(
            "SELECT id, guild_id, user_id, actor_id, db_done_at, found FROM erasure_jobs "
            "WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        assert row is not None
        return _job(row)

    async def pending_erasures(self) -> list[ErasureJob]:
        return await self.read_all(
            _job,
            "SELECT id, guild_id, user_id, actor_id, db_done_at, found FROM erasure_jobs "
            "ORDER BY id",
        )

    async def erase(self, job_id: int, now: datetime) -> ErasureJob | None:
        """The rows of a job, in one transaction, with what is left to do on Discord: the
        intro card, the match threads and, for every open announcement of the server, the
        member's reactions (and a marker that they are not answers). Done once per job."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id, guild_id, user_id, actor_id, db_done_at, found FROM erasure_jobs "
                "WHERE id = ?",
                (job_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            job = _job(row)
            if job.db_done:
                return job
            g, u = job.guild_id, job.user_id
            result = await _delete_rows(conn, g, u, now, job.actor_id)
            steps: list[tuple[Any, ...]] = [
                (job_id, "card", channel, message, None) for channel, message in result.cards
            ]
            steps.extend((job_id, "thread", thread, None, None) for thread in result.threads)
            stamp = stored(now)
            async with conn.execute(
                "SELECT id, channel_id, message_id FROM meetings WHERE guild_id = ? "
                "AND status = 'scheduled' AND starts_at > ? "
                "AND (rsvp_deadline IS NULL OR rsvp_deadline > ?) "
                "AND message_id IS NOT NULL AND channel_id IS NOT NULL "
                "AND announcement_missing = 0",
                (g, stamp, stamp),
            ) as cur:
                announcements = list(await cur.fetchall())
            steps.extend((job_id, "reactions", r[1], r[2], r[0]) for r in announcements)
            await conn.executemany(
                "INSERT INTO erasure_steps (job_id, kind, channel_id, message_id, meeting_id) "
                "VALUES (?, ?, ?, ?, ?)",
                steps,
            )
            await conn.executemany(
                "INSERT INTO erasure_markers (guild_id, meeting_id, user_id, erased_at, removed) "
                "VALUES (?, ?, ?, ?, 0) ON CONFLICT (meeting_id, user_id) DO UPDATE SET "
                "erased_at = excluded.erased_at, removed = 0",
                [(g, r[0], u, stamp) for r in announcements],
            )
            found = result.found or job.found
            await conn.execute(
                "UPDATE erasure_jobs SET db_done_at = ?, found = ? WHERE id = ?",
                (stamp, int(found), job_id),
            )
        return ErasureJob(job.id, g, u, job.actor_id, True, found)

    async def erasure_steps(self, job_id: int) -> list[ErasureStep]:
        rows = await self.db.fetchall(
            "SELECT id, kind, channel_id, message_id, meeting_id FROM erasure_steps "
            "WHERE job_id = ? ORDER BY id",
            (job_id,),
        )
        return [ErasureStep(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def step_done(self, step_id: int) -> None:
        await self.db.execute("DELETE FROM erasure_steps WHERE id = ?", (step_id,))

    async def finish_erasure(self, job_id: int) -> bool:
        """Drop the job once nothing is left to do. True if it is finished."""
        return await self.db.execute_one(
            "DELETE FROM erasure_jobs WHERE id = ? AND db_done_at IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM erasure_steps WHERE job_id = ?)",
            (job_id, job_id),
        )


def _job(row: aiosqlite.Row) -> ErasureJob:
    return ErasureJob(row[0], row[1], row[2], row[3], row[4] is not None, bool(row[5]))
