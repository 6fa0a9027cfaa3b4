"""Issue 10: every slash command and component is acknowledged within Discord's 3 s even
while another write holds the database lock for longer, and still ends with its normal
answer once the lock is gone (the tree defers before the command's first write)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.storage.checkins import CheckinRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_checkin import checkin_opened
from tests.e2e.test_interactions import hold_database
from tests.e2e.test_meetings import configure

HOLD = 3.5  # longer than the deadline, shorter than busy_timeout (5 s)


async def under_lock(
    runner: BotRunner, world: World, command: str, options: dict[str, Any], user: int = 0
) -> Any:
    busy = asyncio.create_task(hold_database(runner, HOLD))
    await asyncio.sleep(0.05)  # the lock is held before the command arrives
    res = await world.emu.invoke(
        world.guild.id, user or world.organiser.id, command, options=options, timeout=HOLD + 5
    )
    await busy
    emu = world.emu
    assert res.error is None, (command, res)
    assert res.latency < emu.interaction_deadline, (command, res.latency)
    assert res.ephemeral and (res.content or res.embeds), (command, res)
    return res


async def sql(runner: BotRunner, query: str, guild_id: int) -> Any:
    assert runner.db is not None
    return await runner.db.fetchval(query, (guild_id,))


async def test_writing_commands_are_acknowledged_while_the_database_is_locked(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    gid = world.guild.id
    text = runner.catalog.text

    res = await under_lock(runner, world, "setup configure", {"language": "sv"}, world.admin.id)
    assert res.content == text("sv", "setup.saved")
    assert await sql(runner, "SELECT language FROM guild_settings WHERE guild_id = ?", gid) == "sv"
    await under_lock(runner, world, "setup configure", {"language": "en"}, world.admin.id)

    await under_lock(runner, world, "match settings", {"window": 3})
    assert (
        await sql(runner, "SELECT window_rounds FROM match_settings WHERE guild_id = ?", gid) == 3
    )

    await under_lock(runner, world, "privacy settings", {"retention_months": 12})
    query = "SELECT retention_months FROM privacy_settings WHERE guild_id = ?"
    assert await sql(runner, query, gid) == 12

    await under_lock(runner, world, "reminders plan", {"dm_days": 2})
    assert await sql(runner, "SELECT dm_days FROM reminder_plans WHERE guild_id = ?", gid) == 2

    series = {"rule": "first thursday of the month 08:30-10:00", "title": "Breakfast"}
    await under_lock(runner, world, "series create", series)
    assert await sql(runner, "SELECT COUNT(*) FROM series WHERE guild_id = ?", gid) == 1

    meeting = {"title": "Inkluderingsdagen", "date": "4.3.2027", "start": "08:30", "end": "10:00"}
    await under_lock(runner, world, "meeting create", meeting)
    assert (
        await sql(
            runner,
            "SELECT COUNT(*) FROM meetings WHERE guild_id = ? AND title = 'Inkluderingsdagen'",
            gid,
        )
        == 1
    )


async def test_a_component_is_acknowledged_while_the_database_is_locked(
    runner: BotRunner, world: World
) -> None:
    meeting, opened = await checkin_opened(runner, world, world.organiser.id)
    message = opened.primary
    busy = asyncio.create_task(hold_database(runner, HOLD))
    await asyncio.sleep(0.05)
    walk_in = world.members[4].id
    clicked = await world.emu.select(
        message["channel_id"],
        message["id"],
        world.organiser.id,
        "checkin:others",
        [str(walk_in)],
        timeout=HOLD + 5,
    )
    await busy
    assert clicked.error is None
    assert clicked.latency < world.emu.interaction_deadline
    assert runner.db is not None
    assert await CheckinRepository(runner.db).user_ids(meeting.id) == {walk_in}
