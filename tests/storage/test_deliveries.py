"""The delivery ledger on real SQLite files: claimed exactly once, even across connections."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.db import Database
from bot.domain.reminders import (
    CHANNEL_REMINDER,
    DM_REMINDER,
    MONTHLY_POST,
    ReminderPlan,
    delivery_key,
    monthly_post_key,
)
from bot.errors import BadInput
from bot.storage.deliveries import (
    ABANDONED,
    Claim,
    DeliveryRepository,
    ReminderPlanRepository,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GUILD = 100


async def _meeting(db: Database, starts_at: datetime, guild_id: int = GUILD) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO meetings (guild_id, title, starts_at, ends_at, timezone, "
            "created_at, updated_at) VALUES (?, 'Frokostmøte', ?, ?, 'Europe/Oslo', ?, ?)",
            (
                guild_id,
                starts_at.isoformat(),
                (starts_at + timedelta(hours=1, minutes=30)).isoformat(),
                NOW.isoformat(),
                NOW.isoformat(),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


async def _claim(
    repo: DeliveryRepository, meeting_id: int, key: str, now: datetime = NOW
) -> Claim | None:
    return await repo.claim(
        GUILD,
        key,
        DM_REMINDER,
        meeting_id=meeting_id,
        offset_key="d1",
        recipient_id=int(key.rsplit(":", 1)[1]),
        due_at=NOW,
        now=now,
    )


async def test_claim_exactly_once(db: Database) -> None:
    repo = DeliveryRepository(db)
    meeting = await _meeting(db, NOW + timedelta(days=1))
    key = delivery_key(DM_REMINDER, meeting, "d1", 7)
    first = await _claim(repo, meeting, key)
    assert first is not None and first.attempt == 1 and first.key == key
    assert await _claim(repo, meeting, key) is None
    assert await repo.mark_sent(first, NOW)
    assert not await repo.mark_sent(first, NOW)  # a finished claim cannot be marked again
    assert await _claim(repo, meeting, key) is None
    stored = await repo.get(GUILD, key)
    assert stored is not None and stored.status == "sent" and stored.attempts == 1


async def test_concurrent_coroutines_on_one_connection(db: Database) -> None:
    repo = DeliveryRepository(db)
    meeting = await _meeting(db, NOW + timedelta(days=1))
    key = delivery_key(DM_REMINDER, meeting, "d1", 8)
    results = await asyncio.gather(*(_claim(repo, meeting, key) for _ in range(20)))
    assert sum(r is not None for r in results) == 1


async def test_two_databases_on_one_file_race_for_many_keys(db_path: Path) -> None:
    first_db = await Database.open(db_path)
    second_db = await Database.open(db_path)
    try:
        meeting = await _meeting(first_db, NOW + timedelta(days=1))
        keys = [delivery_key(DM_REMINDER, meeting, "d1", user) for user in range(1, 151)]
        one, two = DeliveryRepository(first_db), DeliveryRepository(second_db)
        tasks = []
        for key in keys:
            tasks.append(_claim(one, meeting, key))
            tasks.append(_claim(two, meeting, key))
        results = await asyncio.gather(*tasks)
        for index, key in enumerate(keys):
            pair = results[2 * index : 2 * index + 2]
            assert sum(r is not None for r in pair) == 1, key
        rows = await first_db.fetchval(
            "SELECT COUNT(*) FROM deliveries WHERE meeting_id = ?", (meeting,)
        )
        assert rows == len(keys)
    finally:
        await first_db.close()
        await second_db.close()


async def test_crash_between_claim_and_send_gives_one_retry_never_two(db_path: Path) -> None:
    db = await Database.open(db_path)
    meeting = await _meeting(db, NOW + timedelta(days=1))
    key = delivery_key(DM_REMINDER, meeting, "d1", 9)
    lost = await _claim(DeliveryRepository(db), meeting, key)
    assert lost is not None
    await db.close()  # the process dies before sending

    restarted = NOW + timedelta(minutes=10)
    db = await Database.open(db_path)
    repo = DeliveryRepository(db)
    assert await repo.reclaim_stale(NOW + timedelta(minutes=1)) == []  # not stale yet
    retry = await repo.reclaim_stale(restarted)
    assert [c.key for c in retry] == [key]
    assert retry[0].is_retry and retry[0].attempt == 2 and retry[0].token != lost.token
    assert await repo.reclaim_stale(restarted + timedelta(hours=1)) == []  # once only
    assert not await repo.mark_sent(lost, restarted)  # the dead process's claim is void
    await db.close()  # ... and it dies again before sending

    db = await Database.open(db_path)
    repo = DeliveryRepository(db)
    assert await repo.reclaim_stale(restarted + timedelta(days=1)) == []
    stored = await repo.get(GUILD, key)
    assert stored is not None
    assert (stored.status, stored.permanent, stored.last_error_code) == ("failed", True, ABANDONED)
    assert await repo.claim_retry(GUILD, key, restarted + timedelta(days=1)) is None
    await db.close()


async def test_two_starting_schedulers_take_over_a_stale_claim_once(db_path: Path) -> None:
    first_db = await Database.open(db_path)
    second_db = await Database.open(db_path)
    try:
        meeting = await _meeting(first_db, NOW + timedelta(days=1))
        one, two = DeliveryRepository(first_db), DeliveryRepository(second_db)
        keys = [delivery_key(DM_REMINDER, meeting, "d1", user) for user in range(1, 31)]
        for key in keys:
            assert await _claim(one, meeting, key) is not None
        later = NOW + timedelta(hours=1)
        a, b = await asyncio.gather(one.reclaim_stale(later), two.reclaim_stale(later))
        assert sorted(c.key for c in [*a, *b]) == sorted(keys)
        assert not {c.key for c in a} & {c.key for c in b}
    finally:
        await first_db.close()
        await second_db.close()


async def test_a_meeting_moved_after_its_reminder_was_claimed(db: Database) -> None:
    repo = DeliveryRepository(db)
    meeting = await _meeting(db, NOW + timedelta(days=8))
    channel_key = delivery_key(CHANNEL_REMINDER, meeting, "d7", 0)
    dm_key = delivery_key(DM_REMINDER, meeting, "d1", 5)
    in_flight = await repo.claim(
        GUILD, channel_key, CHANNEL_REMINDER, meeting_id=meeting, offset_key="d7",
        due_at=NOW, now=NOW,
    )  # fmt: skip
    sent = await _claim(repo, meeting, dm_key)
    assert in_flight is not None and sent is not None
    assert await repo.mark_sent(sent, NOW)
    assert [d.key for d in await repo.pending_for_meeting(GUILD, meeting)] == [channel_key]

    # The organiser moves the meeting a week later: unsent claims are dropped.
    assert await repo.reschedule_for_meeting(GUILD, meeting) == 1
    assert await repo.pending_for_meeting(GUILD, meeting) == []
    assert not await repo.mark_sent(in_flight, NOW)  # the old claim no longer counts
    new_due = NOW + timedelta(days=7)
    again = await repo.claim(
        GUILD, channel_key, CHANNEL_REMINDER, meeting_id=meeting, offset_key="d7",
        due_at=new_due, now=NOW,
    )  # fmt: skip
    assert again is not None and again.due_at == new_due
    # What was sent stays sent: people are not reminded twice for one key.
    assert await _claim(repo, meeting, dm_key) is None
    statuses = {d.key: d.status for d in await repo.for_meeting(GUILD, meeting)}
    assert statuses == {channel_key: "claimed", dm_key: "sent"}


async def test_cancelled_meeting_drops_unsent_and_deleted_meeting_cascades(db: Database) -> None:
    repo = DeliveryRepository(db)
    meeting = await _meeting(db, NOW + timedelta(days=8))
    for user in (1, 2, 3):
        assert await _claim(repo, meeting, delivery_key(DM_REMINDER, meeting, "d1", user))
    assert await repo.reschedule_for_meeting(GUILD, meeting) == 3
    assert await repo.reschedule_for_meeting(GUILD + 1, meeting) == 0  # other server: untouched
    claim = await _claim(repo, meeting, delivery_key(DM_REMINDER, meeting, "d1", 1))
    assert claim is not None
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM meetings WHERE id = ?", (meeting,))
    assert await repo.for_meeting(GUILD, meeting) == []


async def test_failures_retryable_and_permanent(db: Database) -> None:
    repo = DeliveryRepository(db)
    meeting = await _meeting(db, NOW + timedelta(days=2))
    busy_key = delivery_key(DM_REMINDER, meeting, "d1", 11)
    closed_key = delivery_key(DM_REMINDER, meeting, "d1", 12)
    busy = await _claim(repo, meeting, busy_key)
    closed = await _claim(repo, meeting, closed_key)
    assert busy is not None and closed is not None

    retry_at = NOW + timedelta(seconds=30)
    assert await repo.mark_failed(busy, 429, permanent=False, now=NOW, retry_at=retry_at)
    assert await repo.mark_failed(closed, 50007, permanent=True, now=NOW)
    assert await repo.claim_retry(GUILD, busy_key, NOW) is None  # not before retry_at
    assert [d.key for d in await repo.retry_due(retry_at)] == [busy_key]
    second = await repo.claim_retry(GUILD, busy_key, retry_at)
    assert second is not None and second.attempt == 2
    assert await repo.claim_retry(GUILD, busy_key, retry_at) is None  # one winner
    assert await repo.mark_sent(second, retry_at)
    assert await repo.claim_retry(GUILD, closed_key, NOW + timedelta(days=1)) is None
    stored = await repo.get(GUILD, closed_key)
    assert stored is not None
    assert (stored.status, stored.permanent, stored.last_error_code) == ("failed", True, "50007")

    # Attempts are capped.
    key = delivery_key(DM_REMINDER, meeting, "d1", 13)
    claim = await _claim(repo, meeting, key)
    for attempt in range(1, 4):
        assert claim is not None and claim.attempt == attempt
        assert await repo.mark_failed(claim, 503, permanent=False, now=NOW)
        claim = await repo.claim_retry(GUILD, key, NOW, max_attempts=3)
    assert claim is None


async def test_skips_and_monthly_posts(db: Database) -> None:
    repo = DeliveryRepository(db)
    meeting = await _meeting(db, NOW + timedelta(days=1))
    late_key = delivery_key(CHANNEL_REMINDER, meeting, "d7", 0)
    assert await repo.record_skipped(
        GUILD, late_key, CHANNEL_REMINDER, meeting_id=meeting, offset_key="d7",
        due_at=NOW - timedelta(days=6), now=NOW,
    )  # fmt: skip
    assert await repo.claim(GUILD, late_key, CHANNEL_REMINDER, due_at=NOW, now=NOW) is None

    assert await repo.last_monthly_post(GUILD) is None
    for year, month in ((2026, 11), (2026, 12)):
        claim = await repo.claim(
            GUILD, monthly_post_key(GUILD, year, month), MONTHLY_POST,
            offset_key=f"{year:04d}-{month:02d}", due_at=NOW, now=NOW,
        )  # fmt: skip
        assert claim is not None and await repo.mark_sent(claim, NOW)
    assert await repo.last_monthly_post(GUILD) == (2026, 12)
    assert await repo.last_monthly_post(GUILD + 1) is None


async def test_reminder_plans_and_opt_outs(db: Database) -> None:
    plans = ReminderPlanRepository(db)
    assert await plans.get(GUILD) == ReminderPlan()
    custom = ReminderPlan(
        channel_reminder_days=3,
        dm_days=2,
        local_time=time(9, 15),
        extra_hour_before=True,
        ping_role_id=555,
        monthly_day=15,
        monthly_time=time(12, 0),
        dm_enabled=False,
    )
    assert await plans.set(GUILD, custom, NOW) == custom
    assert await plans.get(GUILD) == custom
    assert await plans.get(GUILD + 1) == ReminderPlan()
    with pytest.raises(BadInput):
        await plans.set(GUILD, ReminderPlan(dm_days=99), NOW)
    assert await plans.get(GUILD) == custom

    assert await plans.set_dm_opt_out(GUILD, 42, True, NOW)
    assert not await plans.set_dm_opt_out(GUILD, 42, True, NOW)
    assert await plans.is_opted_out(GUILD, 42)
    assert not await plans.is_opted_out(GUILD + 1, 42)
    assert await plans.opted_out(GUILD) == frozenset({42})
    assert await plans.set_dm_opt_out(GUILD, 42, False, NOW)
    assert await plans.opted_out(GUILD) == frozenset()
