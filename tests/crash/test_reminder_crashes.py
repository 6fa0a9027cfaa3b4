"""SIGKILL of the real `python -m bot run` around a reminder post: posted once, never twice.

The process runs on the real clock, so the reminders are made due now: the plan's time is
00:00 and the meeting a week (or a day) ahead, with a grace window of 30 hours, so a
reminder due "today at 00:00" is always due and never too late, whatever the hour.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.crash.harness import BotProcess
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure

GOING = "✅"
OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def process_env() -> dict[str, str]:
    return {"REMINDER_GRACE_HOURS": "30"}


async def set_up(world: World, **plan: Any) -> None:
    await configure(world)
    emu = world.emu
    options = {"time": "00:00", "monthly_day": 0, **plan}
    await emu.invoke(world.guild.id, world.organiser.id, "reminders plan", options=options)


def meeting_options(days_ahead: int) -> dict[str, str]:
    day = datetime.now(OSLO).date() + timedelta(days=days_ahead)
    return {
        "title": "Frokostmøte",
        "date": day.strftime("%d.%m.%Y"),
        "start": "12:00",
        "end": "13:00",
    }


def replies(world: World) -> list[dict[str, Any]]:
    return [m for m in world.emu.messages(world.announce.id) if m.get("message_reference")]


def ledger(db_path: Path, kind: str) -> list[str]:
    con = sqlite3.connect(db_path)
    try:
        return [r[0] for r in con.execute("SELECT status FROM deliveries WHERE kind = ?", (kind,))]
    finally:
        con.close()


@pytest.mark.parametrize("after", [True, False], ids=["killed-after-post", "killed-before-post"])
async def test_channel_reminder_killed_around_its_post_is_posted_once(
    process: BotProcess, world: World, after: bool
) -> None:
    emu = world.emu
    await process.start()
    await set_up(world)
    # 1: the announcement, 2: the reminder (a reply to it), due at once
    point = process.kill_on("POST", rf"/channels/{world.announce.id}/messages$", after=after, nth=2)
    create = emu.invoke(
        world.guild.id, world.organiser.id, "meeting create", options=meeting_options(7)
    )
    await process.crash_during(point, create)
    await process.start()
    await emu.wait_until(lambda: ledger(process.db_path, "channel_reminder") == ["sent"], 20)
    assert len(replies(world)) == 1
    await process.restart()
    assert len(replies(world)) == 1
    assert ledger(process.db_path, "channel_reminder") == ["sent"]


async def test_dm_reminders_killed_between_two_dms_reach_each_person_once(
    process: BotProcess, world: World
) -> None:
    emu = world.emu
    await process.start()
    await set_up(world, dm_days=1, channel_days=-1)
    res = await emu.invoke(
        world.guild.id, world.organiser.id, "meeting create", options=meeting_options(7)
    )
    assert res.error is None
    announcement = next(m for m in emu.messages(world.announce.id) if m.get("embeds"))
    people = world.members[:3]
    for person in people:
        await emu.react(world.announce.id, int(announcement["id"]), person.id, GOING)
    dm_channels = "|".join(str(emu.dm_channel(p.id)) for p in people)
    point = process.kill_on("POST", rf"/channels/({dm_channels})/messages$", nth=2)
    # a week ahead, 7 days before at 00:00: due now for everyone going
    plan = emu.invoke(world.guild.id, world.organiser.id, "reminders plan", options={"dm_days": 7})
    await process.crash_during(point, plan)
    await process.start()
    await emu.wait_until(lambda: ledger(process.db_path, "dm_reminder") == ["sent"] * 3, 20)
    assert [len(emu.dm_messages(p.id)) for p in people] == [1, 1, 1]
    await process.restart()
    assert [len(emu.dm_messages(p.id)) for p in people] == [1, 1, 1]
