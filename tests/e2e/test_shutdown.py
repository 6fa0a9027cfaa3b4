"""Issue 10: an orderly shutdown. Stopped in the middle of its start-up work or of a burst
of reactions, the bot waits for (or cancels) its event handlers and jobs before the
database closes: no error or traceback is logged, and nothing committed is lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.domain.rsvp import EMOJI, Choice
from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import announced, wait_for_count

GOING = EMOJI[Choice.GOING]
REACTIONS = r"^/channels/\d+/messages/\d+/reactions/.*"


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info or "no active connection" in r.getMessage()
    ]


async def test_stopped_during_start_up_work_logs_no_error(
    runner: BotRunner,
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meeting = await announced(runner, world)
    await runner.stop()
    for person in world.members[:3]:  # while the bot was away: read again at start
        world.emu.add_reaction(world.announce.id, meeting.message_id, person.id, GOING)
    world.emu.inject("GET", REACTIONS, delay=1.0, times=None)  # start-up work is slow
    settle = BotRunner.settle
    monkeypatch.setattr(BotRunner, "settle", lambda self: asyncio.sleep(0))
    with caplog.at_level(logging.INFO):
        await runner.start()
        await asyncio.sleep(0.3)  # reconciliation and the reminders' first tick are running
        await runner.stop()
    assert not problems(caplog), problems(caplog)
    world.emu.clear_faults()
    monkeypatch.setattr(BotRunner, "settle", settle)
    await runner.start()
    assert runner.db is not None
    await wait_for_count(RsvpRepository(runner.db), meeting.id, going=3)


async def test_stopped_during_a_burst_logs_no_error_and_keeps_what_was_saved(
    runner: BotRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    meeting = await announced(runner, world)
    with caplog.at_level(logging.INFO):
        for person in world.members:
            await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
        await runner.stop()  # reaction handlers and roster edits still running
    assert not problems(caplog), problems(caplog)
    await runner.start()
    assert runner.db is not None
    await wait_for_count(RsvpRepository(runner.db), meeting.id, going=len(world.members))


async def test_reactions_arriving_while_it_stops_log_no_error_and_are_read_at_start(
    runner: BotRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Events keep coming until the gateway is closed, after the services stopped: their
    handlers are waited for too (an answer then is read from the reactions at the next
    start), none runs against the closed database."""
    meeting = await announced(runner, world)
    people = [world.emu.add_member(world.guild.id, f"p{n}") for n in range(300)]

    async def keep_reacting() -> None:
        for person in people:
            await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
            await asyncio.sleep(0)

    with caplog.at_level(logging.INFO):
        reacting = asyncio.create_task(keep_reacting())
        await asyncio.sleep(0.01)
        await runner.stop()
        await reacting
    assert not problems(caplog), problems(caplog)
    await runner.start()
    assert runner.db is not None
    await wait_for_count(RsvpRepository(runner.db), meeting.id, going=len(people))
