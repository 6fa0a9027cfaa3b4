"""A delivery cut off by a crash: taken over at the next start, and never posted twice.

The ledger claims a delivery before sending and marks it after. A process that dies in
between leaves the claim `claimed`. At the next start the claim is taken over at once (it
was made before this process started, so its process is gone), and before sending again
the bot reads the channel (or the DM) for the copy the dead process may already have
posted. These tests build both states in the database as a crash leaves them (the copy
posted or not) and restart the real bot; tests/crash/ does the same with a SIGKILL of the
real process.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import aiosqlite
import pytest

from bot.domain.reminders import CHANNEL_REMINDER, DM_REMINDER, MONTHLY_POST, delivery_key
from bot.storage.deliveries import DeliveryRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_reminders import (
    CHANNEL_DUE,
    DM_DUE,
    claim_channel_reminder,
    clock,
    meeting_with_answers,
    replies_to,
    service,
)


def align(runner: BotRunner, world: World) -> None:
    """The emulator's clock (message ids, history `after`) at the bot's fake time."""
    world.emu.clock_offset = clock(runner).now().timestamp() - time.time()


async def interrupt(runner: BotRunner, key: str) -> None:
    """Leave the delivery as a crash between claim and mark leaves it: still `claimed`."""
    async with aiosqlite.connect(runner.db_path) as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET status = 'claimed', done_at = NULL WHERE key = ?", (key,)
        )
        assert cursor.rowcount == 1
        await conn.commit()


async def status(runner: BotRunner, world: World, key: str) -> tuple[str, int]:
    assert runner.db is not None
    found = await DeliveryRepository(runner.db).get(world.guild.id, key)
    assert found is not None
    return found.status, found.stale_reclaims


@pytest.mark.parametrize("posted", [True, False], ids=["copy-posted", "nothing-posted"])
async def test_channel_reminder_cut_off_by_a_crash_is_posted_once(
    fast: BotRunner, world: World, posted: bool
) -> None:
    meeting = await meeting_with_answers(fast, world, world.members[0])
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=1))
    align(fast, world)
    key = delivery_key(CHANNEL_REMINDER, meeting.id, "d7")
    if posted:
        await service(fast).tick()  # posted and marked ...
        assert len(replies_to(world, meeting.message_id)) == 1
    else:
        await claim_channel_reminder(fast, world, meeting)  # ... or claimed, then the process died
    await interrupt(fast, key)
    await fast.stop()
    # past the ledger's staleness limit: even a claim of this process would be taken over
    clock(fast).advance(timedelta(minutes=6))
    align(fast, world)
    await fast.start()
    await service(fast).tick()
    await service(fast).tick()
    assert len(replies_to(world, meeting.message_id)) == 1
    assert await status(fast, world, key) == ("sent", 1)
    # a later restart changes nothing
    await fast.restart()
    await service(fast).tick()
    assert len(replies_to(world, meeting.message_id)) == 1


async def test_dm_reminders_cut_off_by_a_crash_reach_each_person_once(
    fast: BotRunner, world: World
) -> None:
    first, second = world.members[0], world.members[1]
    meeting = await meeting_with_answers(fast, world, first, second)
    clock(fast).set(DM_DUE + timedelta(minutes=1))
    align(fast, world)
    await service(fast).tick()
    assert len(world.emu.dm_messages(first.id)) == len(world.emu.dm_messages(second.id)) == 1
    # The crash came after the first DM was sent and before either was marked.
    for person in (first, second):
        await interrupt(fast, delivery_key(DM_REMINDER, meeting.id, "d1", person.id))
    world.emu.remove_message(
        int(world.emu.dm_messages(second.id)[0]["channel_id"]),
        int(world.emu.dm_messages(second.id)[0]["id"]),
    )
    await fast.stop()
    clock(fast).advance(timedelta(minutes=2))
    align(fast, world)
    await fast.start()
    await service(fast).tick()
    assert len(world.emu.dm_messages(first.id)) == 1  # found, not sent again
    assert len(world.emu.dm_messages(second.id)) == 1  # not found: sent
    for person in (first, second):
        key = delivery_key(DM_REMINDER, meeting.id, "d1", person.id)
        assert await status(fast, world, key) == ("sent", 1)


async def test_monthly_post_cut_off_by_a_crash_is_posted_once(
    fast: BotRunner, world: World
) -> None:
    await meeting_with_answers(fast, world)
    due = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # 1 March, 09:00 in Oslo
    clock(fast).set(due + timedelta(minutes=1))
    align(fast, world)
    await service(fast).tick()
    monthly = [m for m in world.emu.messages(world.announce.id) if not m.get("embeds")]
    posts = [m for m in monthly if not m.get("message_reference")]
    assert len(posts) == 1
    rows = await _keys_of_kind(fast, MONTHLY_POST)
    assert len(rows) == 1
    await interrupt(fast, rows[0])
    await fast.stop()
    clock(fast).advance(timedelta(minutes=2))
    align(fast, world)
    await fast.start()
    await service(fast).tick()
    monthly = [m for m in world.emu.messages(world.announce.id) if not m.get("embeds")]
    assert len([m for m in monthly if not m.get("message_reference")]) == 1
    assert await status(fast, world, rows[0]) == ("sent", 1)


async def _keys_of_kind(runner: BotRunner, kind: str) -> list[str]:
    async with aiosqlite.connect(runner.db_path) as conn:
        cursor = await conn.execute("SELECT key FROM deliveries WHERE kind = ?", (kind,))
        return [row[0] for row in await cursor.fetchall()]
