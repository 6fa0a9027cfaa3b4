"""Trust under faults: the real bot, a real SQLite file, the emulator injecting the fault.

Each scenario runs reactions (and commands or posts where they matter), injects one fault
and checks that the database, the embed and the posted messages end as if nothing happened.
"""

from __future__ import annotations

import random
from typing import Any

from bot.domain.rsvp import EMOJI, Choice, React, RsvpState, Unreact, apply
from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World, eventually
from tests.e2e.test_meetings import (
    announced,
    announcement,
    answers_field,
    configure,
    create,
)

CREATE_MESSAGE = "/channels/{channel_id}/messages"


def plan(people: list[int], count: int, seed: int) -> list[tuple[int, Choice, bool]]:
    """Valid adds and removes (each changes the reactions), at most one RSVP reaction each."""
    rng = random.Random(seed)
    held: dict[int, Choice] = {}
    events: list[tuple[int, Choice, bool]] = []
    while len(events) < count:
        user = rng.choice(people)
        if user in held and rng.random() < 0.4:
            events.append((user, held.pop(user), False))
        elif user not in held:
            held[user] = rng.choice(list(Choice))
            events.append((user, held[user], True))
    return events


def expected(events: list[tuple[int, Choice, bool]], capacity: int | None = None) -> dict[int, str]:
    state = RsvpState(capacity)
    for seq, (user, choice, added) in enumerate(events, start=1):
        state = apply(state, React(user, choice, seq) if added else Unreact(user, choice)).state
    return {uid: a.status.value for uid, a in state.answers.items()}


async def stored(runner: BotRunner, meeting_id: int) -> dict[int, str]:
    assert runner.db is not None
    state = await RsvpRepository(runner.db).load_state(meeting_id)
    return {uid: a.status.value for uid, a in state.answers.items()}


async def converges(runner: BotRunner, meeting_id: int, want: dict[int, str]) -> None:
    await eventually(lambda: stored(runner, meeting_id), want, tries=300)


def actions(world: World, meeting: Any, events: list[tuple[int, Choice, bool]]) -> list[Any]:
    return [(world.announce.id, meeting.message_id, u, EMOJI[c], a) for u, c, a in events]


async def embed_shows(runner: BotRunner, world: World, meeting: Any) -> None:
    """The embed's answers line ends equal to the stored counts."""
    assert runner.db is not None and runner.bot is not None
    await runner.bot.wait_until_settled()
    counts = await RsvpRepository(runner.db).counts(meeting.id)
    line = f"going {counts.going} · 🤔 maybe {counts.maybe}"
    await world.emu.wait_until(lambda: line in answers_field(announcement(world, meeting)))


async def people(world: World, n: int) -> list[int]:
    return [world.emu.add_member(world.guild.id, f"p{k}").id for k in range(n)]


async def test_gateway_drop_mid_burst_resumes_and_replays(runner: BotRunner, world: World) -> None:
    meeting = await announced(runner, world)
    events = plan(await people(world, 40), 160, seed=3)
    await world.emu.react_many(actions(world, meeting, events[:80]))
    resumes = world.emu.resume_count
    await world.emu.drop_gateway()
    for item in actions(world, meeting, events[80:]):  # while the connection is down
        (world.emu.add_reaction if item[4] else world.emu.remove_reaction)(*item[:4])
    await world.emu.wait_for_resume(count=resumes + 1)
    await converges(runner, meeting.id, expected(events))
    await embed_shows(runner, world, meeting)
    # commands work after the resume; the announcement is still the only message
    res = await world.emu.invoke(world.guild.id, world.admin.id, "about", options={})
    assert res.error is None
    assert len([m for m in world.emu.messages(world.announce.id) if m.get("embeds")]) == 1
    assert world.emu.identify_count == 1


async def test_invalidated_session_reconciles_at_the_new_ready(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world)
    events = plan(await people(world, 30), 120, seed=4)
    await world.emu.react_many(actions(world, meeting, events[:60]))
    await converges(runner, meeting.id, expected(events[:60]))
    identifies = world.emu.identify_count
    world.emu.refuse_resume = True
    await world.emu.invalidate_session()
    # never replayed: they happen between the old session and the new one
    for item in actions(world, meeting, events[60:]):
        (world.emu.add_reaction if item[4] else world.emu.remove_reaction)(*item[:4])
    await world.emu.wait_for_ready(count=identifies + 1)
    await converges(runner, meeting.id, expected(events))
    await embed_shows(runner, world, meeting)
    assert runner.starts == 1  # the same process: reconciled on the fresh session


async def test_storm_of_429_everything_applied_within_the_global_limit(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world, capacity=5)
    crowd = await people(world, 12)
    world.emu.enable_global_limit(50, 1.0)
    world.emu.inject(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        status=429,
        retry_after=0.3,
        times=3,
    )
    world.emu.inject("POST", CREATE_MESSAGE, status=429, retry_after=0.3, times=3)
    world.emu.inject("DELETE", r"/reactions/", status=429, retry_after=0.3, times=3)
    first = [(u, Choice.GOING, True) for u in crowd]  # 5 going, 7 waiting
    switches = [(u, Choice.NOT_GOING, True) for u in crowd[:4]]  # 4 promoted by DM
    await world.emu.react_many(actions(world, meeting, first))
    await converges(runner, meeting.id, expected(first, 5))
    await world.emu.react_many(actions(world, meeting, switches))
    events = first + switches
    want = expected(events, 5)
    await converges(runner, meeting.id, want)
    await embed_shows(runner, world, meeting)
    promoted = crowd[5:9]
    await world.emu.wait_until(lambda: all(world.emu.dm_messages(u) for u in promoted), timeout=15)
    assert all(len(world.emu.dm_messages(u)) == 1 for u in promoted)

    def going_reactions() -> set[int]:
        found = world.emu.reactions(world.announce.id, meeting.message_id)
        return set(found.get(EMOJI[Choice.GOING], []))

    await world.emu.wait_until(lambda: not set(crowd[:4]) & going_reactions(), timeout=15)
    # each faulted route got its three 429s and was asked again (discord.py waits retry_after)
    for method in ("PATCH", "DELETE"):
        assert len([r for r in world.emu.requests if r.method == method and r.status == 429]) == 3
    assert world.emu.global_limited == []
    assert world.emu.max_requests_per_window(1.0) <= 50


async def test_5xx_on_create_posts_exactly_once(runner: BotRunner, world: World) -> None:
    await configure(world)
    # a plain 5xx: nothing stored, retried by discord.py
    world.emu.inject("POST", CREATE_MESSAGE, status=502, times=1)
    await create(world)
    # the message is stored, but the answer is lost: the retry must not post it twice
    world.emu.inject("POST", CREATE_MESSAGE, status=500, times=1, after=True)
    await create(world, title="Frokostmøte", date="11.3.2027")
    assert runner.bot is not None
    await runner.bot.wait_until_settled()
    posted = [m for m in world.emu.messages(world.announce.id) if m.get("embeds")]
    assert sorted(m["embeds"][0]["title"] for m in posted) == ["Frokostmøte", "Inkluderingsdagen"]
    creates = [r for r in world.emu.requests if r.route == CREATE_MESSAGE]
    assert [r.status for r in creates] == [502, 200, 500, 200]
    assert creates[2].json["nonce"] == creates[3].json["nonce"]
    assert creates[3].json["enforce_nonce"] is True
