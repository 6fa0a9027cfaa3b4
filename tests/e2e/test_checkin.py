"""/meeting checkin end to end: choose who came from those going, add others, saved at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import FakeClock
from bot.storage.checkins import CheckinRepository
from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import (
    GOING,
    announced,
    configure,
    create,
    only_meeting,
    wait_for_count,
)


def components(result: Any) -> list[dict[str, Any]]:
    """Every leaf component of the ephemeral check-in message, in order."""
    message = result.followups[-1] if result.followups else result.message
    return [c for row in message["components"] for c in row["components"]]


async def open_checkin(runner: BotRunner, world: World, user_id: int) -> tuple[Any, Any]:
    meeting = await only_meeting(runner, world)
    result = await world.emu.invoke(
        world.guild.id, user_id, "meeting checkin", options={"meeting": str(meeting.id)}
    )
    return meeting, result


async def checkin_opened(runner: BotRunner, world: World, user_id: int) -> tuple[Any, Any]:
    """The server configured, one meeting announced and `/meeting checkin` opened on it."""
    await configure(world)
    await create(world)
    return await open_checkin(runner, world, user_id)


async def test_checkin_from_going_and_others(runner: BotRunner, world: World) -> None:
    meeting = await announced(runner, world)
    going = world.members[:3]
    for person in going:
        await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
    assert runner.db is not None
    await wait_for_count(RsvpRepository(runner.db), meeting.id, going=3)

    meeting, result = await open_checkin(runner, world, world.organiser.id)
    assert result.ephemeral
    message = result.followups[-1] if result.followups else result.message
    parts = components(result)
    going_select = next(c for c in parts if c["custom_id"] == "checkin:going:1")
    assert {o["value"] for o in going_select["options"]} == {str(p.id) for p in going}
    assert not any(o.get("default") for o in going_select["options"])
    assert any(c["custom_id"] == "checkin:others" and c["type"] == 5 for c in parts)

    # Two of the three came, saved at once.
    chosen = [str(going[0].id), str(going[2].id)]
    answer = await world.emu.select(
        message["channel_id"], message["id"], world.organiser.id, "checkin:going:1", chosen
    )
    assert answer.error is None
    checkins = CheckinRepository(runner.db)
    assert await checkins.user_ids(meeting.id) == {going[0].id, going[2].id}

    # A walk-in who never answered is added with the user select; the choice above stays.
    walk_in = world.members[4]
    await world.emu.select(
        message["channel_id"],
        message["id"],
        world.organiser.id,
        "checkin:others",
        [str(walk_in.id)],
    )
    assert await checkins.user_ids(meeting.id) == {going[0].id, going[2].id, walk_in.id}
    stored = await checkins.list(meeting.id)
    assert {c.checked_by for c in stored} == {world.organiser.id}

    # "Everyone going came" adds the third; the walk-in stays.
    await world.emu.press_button(
        message["channel_id"], message["id"], world.organiser.id, "checkin:all"
    )
    assert await checkins.user_ids(meeting.id) == {p.id for p in going} | {walk_in.id}

    # Opened again, the view shows what is stored.
    _, again = await open_checkin(runner, world, world.organiser.id)
    reopened = next(c for c in components(again) if c["custom_id"] == "checkin:going:1")
    assert all(o.get("default") for o in reopened["options"])
    others = next(c for c in components(again) if c["custom_id"] == "checkin:others")
    assert [int(d["id"]) for d in others["default_values"]] == [walk_in.id]


async def test_checkin_is_for_organisers(runner: BotRunner, world: World) -> None:
    _, result = await checkin_opened(runner, world, world.members[0].id)
    assert result.ephemeral
    assert runner.db is not None
    meeting = await only_meeting(runner, world)
    assert await CheckinRepository(runner.db).user_ids(meeting.id) == set()
    expected = runner.catalog.text("en", "error.not_organiser")
    assert result.content == expected


async def test_checkin_with_nobody_going_and_a_cancelled_meeting(
    runner: BotRunner, world: World
) -> None:
    meeting, result = await checkin_opened(runner, world, world.organiser.id)
    assert runner.catalog.text("en", "meeting.checkin.nobody_going") in (
        result.followups[-1]["content"] if result.followups else result.content
    )
    message = result.followups[-1] if result.followups else result.message
    assert [c["custom_id"] for c in components(result)] == ["checkin:others"]
    # The meeting is deleted from under the open view: a clear message, nothing written.
    assert runner.db is not None
    await runner.db.conn.execute("DELETE FROM meetings WHERE id = ?", (meeting.id,))
    await runner.db.conn.commit()
    answer = await world.emu.select(
        message["channel_id"],
        message["id"],
        world.organiser.id,
        "checkin:others",
        [str(world.members[0].id)],
    )
    assert answer.error is None
    assert await CheckinRepository(runner.db).user_ids(meeting.id) == set()


async def test_checkin_lists_meetings_that_ended_recently(fast: BotRunner, world: World) -> None:
    """After the meeting (when check-in happens) it is still offered; editing is not."""
    await configure(world)
    await create(world)  # 4 March 2027, 08:30–10:00 in Oslo
    meeting = await only_meeting(fast, world)
    assert isinstance(fast.clock, FakeClock)

    async def offered(command: str) -> list[str]:
        choices = await world.emu.autocomplete(
            world.guild.id, world.organiser.id, command, focused="meeting", value=""
        )
        return [c["value"] for c in choices]

    fast.clock.set(meeting.ends_at + timedelta(days=1))
    assert await offered("meeting checkin") == [str(meeting.id)]
    assert await offered("meeting attendees") == [str(meeting.id)]
    assert await offered("meeting edit") == []
    fast.clock.set(meeting.ends_at + timedelta(days=61))
    assert await offered("meeting checkin") == []
