"""The RSVP hot path under a lagging bot: a stale reaction the bot removes is never a fresh one.

After a switch (✅ then 🤔) the bot takes away the old ✅. If the person takes their ✅ back
and gives it again before that removal lands, Discord removes the *new* ✅ and the answer is
withdrawn: the person meant ✅ and ends with nothing. In a burst the bot lags behind the
gateway by hundreds of events, so its "is this still stale?" check ran on old knowledge;
`bench/rsvp_burst.py` lost one answer this way in some runs (same plan, different result).
"""

from __future__ import annotations

import asyncio

from bot.domain.rsvp import EMOJI, Choice, Status
from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import announced, settle

GOING, MAYBE = EMOJI[Choice.GOING], EMOJI[Choice.MAYBE]
REMOVE_OTHERS_REACTION = r"^/channels/\d+/messages/\d+/reactions/[^/]+/\d+$"


async def status_becomes(repo: RsvpRepository, meeting_id: int, user_id: int, want: Status) -> None:
    for _ in range(250):
        if (await repo.load_state(meeting_id)).status_of(user_id) is want:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{user_id} never became {want}")


async def test_a_reaction_taken_back_and_given_again_is_never_removed(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world)
    assert runner.db is not None
    repo = RsvpRepository(runner.db)
    person = world.members[0]
    channel, message = world.announce.id, meeting.message_id
    await world.emu.react(channel, message, person.id, GOING)
    await status_becomes(repo, meeting.id, person.id, Status.GOING)
    # Discord is slow to carry out the bot's removals of people's reactions.
    world.emu.inject("DELETE", REMOVE_OTHERS_REACTION, delay=0.5, times=None)
    await world.emu.react(channel, message, person.id, MAYBE)
    await status_becomes(repo, meeting.id, person.id, Status.MAYBE)
    # They change their mind at once: the ✅ taken back and given again.
    await world.emu.unreact(channel, message, person.id, GOING)
    await world.emu.react(channel, message, person.id, GOING)
    await status_becomes(repo, meeting.id, person.id, Status.GOING)
    await settle(runner)
    await world.emu.wait_until(
        lambda: person.id not in world.emu.reactions(channel, message).get(MAYBE, [])
    )
    await settle(runner)
    assert (await repo.load_state(meeting.id)).status_of(person.id) is Status.GOING
    assert person.id in world.emu.reactions(channel, message)[GOING]
