"""Interactions under faults, through the emulator: every interaction answered in time (the
emulator enforces Discord's 3 s), a missed deadline logged with the command or component
name, exactly one error reply per interaction, and option values shown as chosen."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3

import pytest

from bot.storage.profiles import ProfileRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_checkin import checkin_opened
from tests.e2e.test_profiles import FULL, choose, configure, follow_up, introduce

CALLBACK = "/interactions/{interaction_id}/{token}/callback"


def error_ids(caplog: pytest.LogCaptureFixture) -> list[str]:
    found = []
    for record in caplog.records:
        match = re.match(r"(unexpected|database) error (\w+) in ", record.getMessage())
        if match and record.name == "bot.tree":
            found.append(match[2])
    return found


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def hold_database(runner: BotRunner, seconds: float) -> None:
    """Another write (a sweep, a match round) holding the database's write lock."""
    assert runner.db is not None
    async with runner.db.transaction():
        await asyncio.sleep(seconds)


# ----- answered in time ----------------------------------------------------------------


async def test_modal_is_answered_in_time_while_the_database_is_busy(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    emu = world.emu
    asked = await emu.invoke(world.guild.id, world.members[0].id, "introduce")
    busy = asyncio.create_task(hold_database(runner, 3.5))
    await asyncio.sleep(0.05)
    submitted = await emu.submit_modal(asked, world.members[0].id, FULL, timeout=10)
    await busy
    assert submitted.error is None
    assert submitted.latency < emu.interaction_deadline
    assert runner.catalog.text("en", "profile.saved") in follow_up(submitted)["content"]
    assert runner.db is not None
    assert await ProfileRepository(runner.db).get(world.guild.id, world.members[0].id)


async def test_slow_card_posting_does_not_hold_up_the_answers(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    emu = world.emu
    # Posting and editing the introduction card take 2 s each.
    emu.inject("*", rf"^/channels/{world.intro.id}/messages(/\d+)?$", delay=2.0, times=None)
    user = world.members[0].id
    submitted = await introduce(world, user, FULL)
    assert submitted.latency < emu.interaction_deadline
    chose = await choose(world, follow_up(submitted), user, "sector", ["business"])
    assert chose.error is None and chose.latency < emu.interaction_deadline
    await emu.wait_until(lambda: emu.messages(world.intro.id), timeout=10)
    again = await introduce(world, user, {**FULL, "role": "Styreleder"})  # edits the card
    assert again.error is None and again.latency < emu.interaction_deadline


async def test_a_missed_deadline_is_logged_with_the_command_name(
    runner: BotRunner,
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = world.emu
    monkeypatch.setattr("bot.tree.DEADLINE_WARNING_SECONDS", 0.2)
    emu.interaction_deadline = 0.4
    emu.inject("POST", CALLBACK, delay=0.6, times=1)  # the answer reaches Discord too late
    with caplog.at_level(logging.INFO):
        res = await emu.invoke(world.guild.id, world.members[0].id, "about", timeout=3)
        await asyncio.sleep(0.3)
    assert res.error is not None and res.error[1] == 10062
    logged = warnings(caplog)
    assert any("not answered" in m and "/about" in m for m in logged), logged
    assert any("missed the interaction deadline in /about" in m for m in logged), logged
    assert not any("could not deliver" in m for m in logged), logged
    assert emu.count_requests("POST", CALLBACK) == 1  # no second answer to a dead interaction


# ----- one reply per interaction --------------------------------------------------------


async def test_a_modal_that_cannot_open_gets_one_error_reply(
    runner: BotRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await configure(world)
    emu = world.emu
    before = emu.count_requests("POST", CALLBACK)
    emu.inject("POST", CALLBACK, status=400, code=50035, times=1)  # Discord refuses the modal
    with caplog.at_level(logging.INFO):
        res = await emu.invoke(world.guild.id, world.members[0].id, "introduce")
        await asyncio.sleep(0.2)
    ids = error_ids(caplog)
    assert len(ids) == 1, ids
    assert res.modal is None and res.ephemeral
    assert res.content == runner.catalog.text("en", "error.unexpected", error_id=ids[0])
    assert emu.count_requests("POST", CALLBACK) - before == 2  # the modal, the one error reply
    assert not any("could not deliver" in m or "second error" in m for m in warnings(caplog))


async def test_a_modal_that_opens_too_late_is_logged_once_and_not_answered_again(
    runner: BotRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await configure(world)
    emu = world.emu
    before = emu.count_requests("POST", CALLBACK)
    emu.interaction_deadline = 0.3
    emu.inject("POST", CALLBACK, delay=0.5, times=1)
    with caplog.at_level(logging.INFO):
        res = await emu.invoke(world.guild.id, world.members[0].id, "introduce", timeout=3)
        await asyncio.sleep(0.2)
    assert res.error is not None and res.error[1] == 10062
    assert error_ids(caplog) == []
    logged = warnings(caplog)
    assert sum("missed the interaction deadline in /introduce" in m for m in logged) == 1
    assert not any("could not deliver" in m for m in logged), logged
    assert emu.count_requests("POST", CALLBACK) - before == 1


async def test_a_component_that_raises_gets_the_localised_error(
    runner: BotRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _, result = await checkin_opened(runner, world, world.organiser.id)
    message = result.followups[-1] if result.followups else result.message
    # The check-in table is damaged under the running bot.
    with sqlite3.connect(runner.db_path) as raw:
        raw.execute("DROP TABLE checkins")
    with caplog.at_level(logging.INFO):
        answer = await world.emu.select(
            message["channel_id"], message["id"], world.organiser.id, "checkin:others", []
        )
    ids = error_ids(caplog)
    assert len(ids) == 1, ids
    assert answer.error is None and answer.followups
    reply = answer.followups[-1]
    assert reply["content"] == runner.catalog.text("en", "error.database", error_id=ids[0])
    assert int(reply.get("flags", 0)) & 64  # ephemeral


# ----- values shown as chosen -----------------------------------------------------------


async def test_options_without_resolved_data_are_shown_as_chosen(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    emu = world.emu
    admin = world.admin.id
    channel = await emu.invoke(
        world.guild.id,
        admin,
        "setup configure",
        {"announce_channel": world.announce.id},
        omit_resolved=True,
    )
    expected = runner.catalog.text("en", "error.bad_value", value=f"<#{world.announce.id}>")
    assert channel.content == expected
    assert "Object" not in channel.content
    role = await emu.invoke(
        world.guild.id,
        admin,
        "setup configure",
        {"organiser_role": world.organiser_role.id},
        omit_resolved=True,
    )
    assert role.embeds and "error id" not in role.content, role.content
    other = world.members[1].id
    shown = await emu.invoke(
        world.guild.id,
        world.members[0].id,
        "profile show",
        {"member": other},
        omit_resolved=True,
    )
    assert shown.content == runner.catalog.text(
        "en", "profile.error.member_no_profile", member=f"<@{other}>"
    )
