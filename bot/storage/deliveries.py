"""The delivery ledger (claim before send, mark after), reminder plans and DM opt-outs.

Exactly once: a delivery is claimed by inserting its unique key (`INSERT … ON CONFLICT DO
NOTHING` inside `BEGIN IMMEDIATE`), so of any number of callers - coroutines, or separate
connections to the same file - exactly one gets the claim. After sending, the holder marks
it `sent`, `failed` (permanent, or retryable with `retry_at`) or `skipped`, checking its
claim token so a claim that was taken over or dropped cannot be marked by a late caller.

A claim still `claimed` after a crash is taken over at most once (`reclaim_stale`): one
retry, never more. A second crash leaves it `failed` with code `abandoned`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import aiosqlite

from bot.domain.moments import from_stored, from_stored_or_none, stored, stored_clock
from bot.domain.reminders import MONTHLY_POST, ReminderPlan, validate_plan
from bot.storage.rows import Repository, from_row

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 5
ABANDONED = "abandoned"

_COLUMNS = (
    "id, guild_id, key, kind, meeting_id, offset_key, recipient_id, due_at, status, "
    "attempts, permanent, stale_reclaims, last_error_code, retry_at, claimed_at, done_at, "
    "claim_token"
)
_SELECT = f"SELECT {_COLUMNS} FROM deliveries "  # noqa: S608 (fixed column names)


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to send one delivery. Pass it back to `mark_*`."""

    id: int
    guild_id: int
    key: str
    kind: str
    meeting_id: int | None
    recipient_id: int
    due_at: datetime
    token: str
    attempt: int
    is_retry: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    guild_id: int
    key: str
    kind: str
    meeting_id: int | None
    offset_key: str
    recipient_id: int
    due_at: datetime
    status: str  # claimed | sent | failed | skipped
    attempts: int
    permanent: bool
    stale_reclaims: int
    last_error_code: str | None
    retry_at: datetime | None
    claimed_at: datetime | None
    done_at: datetime | None


def _delivery(row: aiosqlite.Row) -> Delivery:
    return from_row(
        Delivery,
        row,
        due_at=from_stored(row["due_at"]),
        permanent=bool(row["permanent"]),
        retry_at=from_stored_or_none(row["retry_at"]),
        claimed_at=from_stored_or_none(row["claimed_at"]),
        done_at=from_stored_or_none(row["done_at"]),
    )


def _claim(row: aiosqlite.Row, *, is_retry: bool) -> Claim:
    return from_row(
        Claim,
        row,
        due_at=from_stored(row["due_at"]),
        token=row["claim_token"],
        attempt=row["attempts"],
        is_retry=is_retry,
    )


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """What one delivery is, before the ledger has a row for it: `claim_row` claims it,
    `skip_row` records that it will not be sent."""

    guild_id: int
    key: str
    kind: str
    meeting_id: int | None
    offset_key: str
    recipient_id: int
    due_at: datetime


async def _insert_new(
    conn: aiosqlite.Connection,
    row: LedgerRow,
    status: str,
    *,
    attempts: int,
    claimed_at: str | None = None,
    claim_token: str | None = None,
    last_error_code: str | None = None,
    done_at: str | None = None,
) -> aiosqlite.Row | None:
    """The one INSERT of a ledger row: the row written, None (a no-op) when the key has
    a row already."""
    cursor = await conn.execute(
        "INSERT INTO deliveries (guild_id, key, kind, meeting_id, offset_key, recipient_id, "
        "due_at, status, attempts, claimed_at, claim_token, last_error_code, done_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING "
        "RETURNING " + _COLUMNS,
        (
            row.guild_id,
            row.key,
            row.kind,
            row.meeting_id,
            row.offset_key,
            row.recipient_id,
            stored(row.due_at),
            status,
            attempts,
            claimed_at,
            claim_token,
            last_error_code,
            done_at,
        ),
    )
    return await cursor.fetchone()


def _token() -> str:
    return secrets.token_hex(16)


class DeliveryRepository(Repository):
    async def claim(
        self,
        guild_id: int,
        key: str,
        kind: str,
        *,
        due_at: datetime,
        now: datetime,
        meeting_id: int | None = None,
        offset_key: str = "",
        recipient_id: int = 0,
    ) -> Claim | None:
        """Claim `key` for sending: the Claim for the first caller ever, None for any other
        (whatever the key's state: claimed, sent, failed or skipped)."""
        row = LedgerRow(guild_id, key, kind, meeting_id, offset_key, recipient_id, due_at)
        return await self.claim_row(row, now)

    async def claim_row(self, row: LedgerRow, now: datetime) -> Claim | None:
        """`claim` for a row already put together."""
        async with self.db.transaction() as conn:
            written = await _insert_new(
                conn, row, "claimed", attempts=1, claimed_at=stored(now), claim_token=_token()
            )
        return None if written is None else _claim(written, is_retry=False)

    async def claim_retry(
        self, guild_id: int, key: str, now: datetime, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> Claim | None:
        """Claim a delivery that failed with a retryable error (429, 5xx) once its `retry_at`
        has come and it has had fewer than `max_attempts` attempts. One caller wins."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE deliveries SET status = 'claimed', attempts = attempts + 1, "  # noqa: S608
                "claimed_at = ?, claim_token = ?, done_at = NULL "
                "WHERE guild_id = ? AND key = ? AND status = 'failed' AND permanent = 0 "
                "AND attempts < ? AND (retry_at IS NULL OR retry_at <= ?) "
                "RETURNING " + _COLUMNS,
                (stored(now), _token(), guild_id, key, max_attempts, stored(now)),
            )
            rows = list(await cursor.fetchall())
        return _claim(rows[0], is_retry=True) if rows else None

    async def reclaim_stale(
        self, now: datetime, *, stale_after: timedelta = DEFAULT_STALE_AFTER
    ) -> list[Claim]:
        """At start (and from time to time): claims left `claimed` by a crash, older than
        `stale_after`, are taken over once and returned for one retry. A claim that was
        already taken over once and is stale again is marked failed (`abandoned`) instead:
        never a second retry. Pass `stale_after=timedelta(0)` at start when this process
        is known to be the only one (a live claim of another instance would be taken)."""
        cutoff = stored(now - stale_after)
        stamp = stored(now)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE deliveries SET status = 'failed', permanent = 1, last_error_code = ?, "
                "done_at = ? WHERE status = 'claimed' AND stale_reclaims >= 1 "
                "AND claimed_at <= ?",
                (ABANDONED, stamp, cutoff),
            )
            abandoned = cursor.rowcount
            cursor = await conn.execute(
                "UPDATE deliveries SET stale_reclaims = stale_reclaims + 1, "  # noqa: S608
                "attempts = attempts + 1, claimed_at = ?, "
                "claim_token = lower(hex(randomblob(16))) "
                "WHERE status = 'claimed' AND stale_reclaims = 0 AND claimed_at <= ? "
                "RETURNING " + _COLUMNS,
                (stamp, cutoff),
            )
            rows = list(await cursor.fetchall())
        if abandoned:
            log.warning("%d deliveries abandoned after a second interrupted attempt", abandoned)
        if rows:
            log.info("%d interrupted deliveries taken over for one retry", len(rows))
        return sorted((_claim(row, is_retry=True) for row in rows), key=lambda c: c.id)

    async def _finish(self, claim: Claim, sql: str, params: Sequence[Any]) -> bool:
        return await self.db.execute_one(
            sql + " WHERE id = ? AND claim_token = ? AND status = 'claimed'",
            (*params, claim.id, claim.token),
        )

    async def mark_sent(self, claim: Claim, now: datetime) -> bool:
        """True if the claim was still ours (False: dropped by a reschedule or taken over)."""
        return await self._finish(
            claim,
            "UPDATE deliveries SET status = 'sent', done_at = ?, retry_at = NULL",
            (stored(now),),
        )

    async def mark_failed(
        self,
        claim: Claim,
        code: str | int,
        *,
        permanent: bool,
        now: datetime,
        retry_at: datetime | None = None,
    ) -> bool:
        """Record a failed attempt. `permanent` (e.g. 50007, DMs closed): never retried.
        Otherwise (429, 5xx) `claim_retry` may take it again from `retry_at`."""
        return await self._finish(
            claim,
            "UPDATE deliveries SET status = 'failed', last_error_code = ?, permanent = ?, "
            "retry_at = ?, done_at = ?",
            (
                str(code),
                int(permanent),
                None if permanent or retry_at is None else stored(retry_at),
                stored(now),
            ),
        )

    async def mark_skipped(self, claim: Claim, now: datetime, reason: str = "") -> bool:
        return await self._finish(
            claim,
            "UPDATE deliveries SET status = 'skipped', last_error_code = ?, done_at = ?",
            (reason or None, stored(now)),
        )

    async def record_skipped(
        self,
        guild_id: int,
        key: str,
        kind: str,
        *,
        due_at: datetime,
        now: datetime,
        reason: str = "too_late",
        meeting_id: int | None = None,
        offset_key: str = "",
        recipient_id: int = 0,
    ) -> bool:
        """Record that a delivery nobody claimed will not be sent (e.g. past the grace
        window), so it is not considered again. False if the key already has a row."""
        row = LedgerRow(guild_id, key, kind, meeting_id, offset_key, recipient_id, due_at)
        return await self.skip_row(row, now, reason)

    async def skip_row(self, row: LedgerRow, now: datetime, reason: str = "too_late") -> bool:
        """`record_skipped` for a row already put together."""
        async with self.db.transaction() as conn:
            written = await _insert_new(
                conn, row, "skipped", attempts=0, last_error_code=reason, done_at=stored(now)
            )
        return written is not None

    async def get(self, guild_id: int, key: str) -> Delivery | None:
        return await self.read_one(
            _delivery,
            _SELECT + "WHERE guild_id = ? AND key = ?",
            (guild_id, key),
        )

    async def for_meeting(self, guild_id: int, meeting_id: int) -> list[Delivery]:
        """Every ledger row of a meeting, any status."""
        return await self.read_all(
            _delivery,
            _SELECT + "WHERE guild_id = ? AND meeting_id = ? ORDER BY due_at, id",
            (guild_id, meeting_id),
        )

    async def pending_for_meeting(self, guild_id: int, meeting_id: int) -> list[Delivery]:
        """Claims not finished: in flight, or failed and waiting for a retry."""
        return await self.read_all(
            _delivery,
            _SELECT + "WHERE guild_id = ? AND meeting_id = ? "
            "AND (status = 'claimed' OR (status = 'failed' AND permanent = 0)) "
            "ORDER BY due_at, id",
            (guild_id, meeting_id),
        )

    async def retry_due(
        self, now: datetime, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> list[Delivery]:
        """Failed, retryable deliveries whose retry time has come (all servers)."""
        return await self.read_all(
            _delivery,
            _SELECT + "WHERE status = 'failed' AND permanent = 0 "
            "AND attempts < ? AND (retry_at IS NULL OR retry_at <= ?) ORDER BY retry_at, id",
            (max_attempts, stored(now)),
        )

    async def reschedule_for_meeting(self, guild_id: int, meeting_id: int) -> int:
        """A meeting moved or was cancelled: drop what was not sent (claims in flight,
        retryable failures, skips) so the plan can be recomputed. Sent deliveries and
        permanent failures stay: a key is never sent twice. Returns the rows dropped."""
        return await self.db.execute(
            "DELETE FROM deliveries WHERE guild_id = ? AND meeting_id = ? "
            "AND (status IN ('claimed', 'skipped') OR (status = 'failed' AND permanent = 0))",
            (guild_id, meeting_id),
        )

    async def last_monthly_post(self, guild_id: int) -> tuple[int, int] | None:
        """The latest (year, month) whose monthly post was claimed, sent or skipped."""
        value = await self.db.fetchval(
            "SELECT MAX(offset_key) FROM deliveries WHERE guild_id = ? AND kind = ? "
            "AND status IN ('claimed', 'sent', 'skipped', 'failed')",
            (guild_id, MONTHLY_POST),
        )
        if not value:
            return None
        year, _, month = str(value).partition("-")
        return int(year), int(month)


# --------------------------------------------------------------------------- plans


class ReminderPlanRepository(Repository):
    async def get(self, guild_id: int) -> ReminderPlan:
        """The server's plan, or the defaults if it never changed it."""
        row = await self.db.fetchone(
            "SELECT channel_enabled, channel_reminder_days, dm_enabled, dm_days, local_time, "
            "extra_hour_before, ping_role_id, monthly_enabled, monthly_day, monthly_time "
            "FROM reminder_plans WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return ReminderPlan()
        return from_row(
            ReminderPlan,
            row,
            local_time=time.fromisoformat(row["local_time"]),
            extra_hour_before=bool(row["extra_hour_before"]),
            monthly_time=time.fromisoformat(row["monthly_time"]),
            channel_enabled=bool(row["channel_enabled"]),
            dm_enabled=bool(row["dm_enabled"]),
            monthly_enabled=bool(row["monthly_enabled"]),
        )

    async def set(self, guild_id: int, plan: ReminderPlan, now: datetime) -> ReminderPlan:
        """Validate and save (BadInput with a `reminders.error.*` key if out of range)."""
        validate_plan(plan)
        stamp = stored(now)
        await self.db.execute(
            "INSERT INTO reminder_plans (guild_id, channel_enabled, channel_reminder_days, "
            "dm_enabled, dm_days, local_time, extra_hour_before, ping_role_id, "
            "monthly_enabled, monthly_day, monthly_time, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET "
            "channel_enabled = excluded.channel_enabled, "
            "channel_reminder_days = excluded.channel_reminder_days, "
            "dm_enabled = excluded.dm_enabled, dm_days = excluded.dm_days, "
            "local_time = excluded.local_time, "
            "extra_hour_before = excluded.extra_hour_before, "
            "ping_role_id = excluded.ping_role_id, "
            "monthly_enabled = excluded.monthly_enabled, "
            "monthly_day = excluded.monthly_day, monthly_time = excluded.monthly_time, "
            "updated_at = excluded.updated_at",
            (
                guild_id,
                int(plan.channel_enabled),
                plan.channel_reminder_days,
                int(plan.dm_enabled),
                plan.dm_days,
                stored_clock(plan.local_time),
                int(plan.extra_hour_before),
                plan.ping_role_id,
                int(plan.monthly_enabled),
                plan.monthly_day,
                stored_clock(plan.monthly_time),
                stamp,
                stamp,
            ),
        )
        return await self.get(guild_id)

    async def set_dm_opt_out(
        self, guild_id: int, user_id: int, opted_out: bool, now: datetime
    ) -> bool:
        """`/reminders off` (True) or `on` (False) for one person. True if it changed."""
        if opted_out:
            return await self.db.execute_one(
                "INSERT INTO reminder_optouts (guild_id, user_id, created_at) "
                "VALUES (?, ?, ?) ON CONFLICT (guild_id, user_id) DO NOTHING",
                (guild_id, user_id, stored(now)),
            )
        return await self.db.execute_one(
            "DELETE FROM reminder_optouts WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )

    async def is_opted_out(self, guild_id: int, user_id: int) -> bool:
        return await self.db.exists(
            "SELECT 1 FROM reminder_optouts WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )

    async def opted_out(self, guild_id: int) -> frozenset[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM reminder_optouts WHERE guild_id = ?", (guild_id,)
        )
        return frozenset(int(row["user_id"]) for row in rows)
