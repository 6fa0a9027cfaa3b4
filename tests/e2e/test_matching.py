"""Matchmaking end to end: rounds, delivery in threads and DMs, follow-up buttons across a
restart, silence pausing people, /match me, pause/resume/leave, tables and settings.

Profiles are seeded straight into the database (the /introduce flow has its own tests).
The clock starts in 2027, so follow-up jobs scheduled at real wall-clock times never fire
by themselves: the tests move the clock and call `run_followups()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.rsvp import EMOJI, Choice
from bot.services.matching import JOB_PREFIX, MatchingService
from bot.storage.matches import MatchRepository, SavedGroup
from bot.storage.profiles import Profile, ProfileRepository, ProfileText
from tests.e2e.conftest import FAST_START, BotRunner, World, clock
from tests.e2e.test_meetings import configure, create, only_meeting
from tests.texts import part, says

START = FAST_START
PRIVATE_THREAD = 12


# ----- helpers ---------------------------------------------------------------------------


def service(runner: BotRunner) -> MatchingService:
    return runner.services.matching


def profiles(runner: BotRunner) -> ProfileRepository:
    return ProfileRepository(runner.database)


def matches(runner: BotRunner) -> MatchRepository:
    return MatchRepository(runner.database)


async def meeting_going(runner: BotRunner, world: World, people: list[Any]) -> Any:
    """One meeting announced and these people going to it (their answers stored)."""
    await create(world)
    meeting = await only_meeting(runner, world)
    for person in people:
        await world.emu.react(world.announce.id, meeting.message_id, person.id, EMOJI[Choice.GOING])
    assert runner.bot is not None
    await runner.bot.wait_until_settled()
    return meeting


async def seed(
    runner: BotRunner,
    world: World,
    person: Any,
    name: str,
    sector: str,
    interests: Sequence[str] = (),
    offers: str = "",
    seeks: str = "",
) -> None:
    repo = profiles(runner)
    now = runner.clock.now()
    text = ProfileText(name, organisation=f"{name} AS", role="", offers=offers, seeks=seeks)
    await repo.save_text(world.guild.id, person.id, text, now, opt_in=True)
    await repo.set_sector(world.guild.id, person.id, sector, now)
    await repo.set_interests(world.guild.id, person.id, interests, now)


async def seed_four(runner: BotRunner, world: World) -> list[Any]:
    """Two from business, two from the municipality: every pair crosses sectors."""
    people = world.members[:4]
    await seed(runner, world, people[0], "Kari", "business", ["refugees"], offers="mentoring")
    await seed(runner, world, people[1], "Ola", "public_sector", ["refugees"], seeks="mentor")
    await seed(runner, world, people[2], "Siri", "business", ["elderly"])
    await seed(runner, world, people[3], "Per", "public_sector", ["elderly"])
    return people


async def profile(runner: BotRunner, world: World, person: Any) -> Profile:
    found = await profiles(runner).get(world.guild.id, person.id)
    assert found is not None
    return found


def threads(world: World) -> list[dict[str, Any]]:
    return [
        c
        for c in world.emu.channels.values()
        if c.get("parent_id") == str(world.intro.id) and c.get("type") == PRIVATE_THREAD
    ]


def bot_messages(world: World, channel_id: int) -> list[dict[str, Any]]:
    return [m for m in world.emu.messages(channel_id) if m["author"]["id"] == str(bot_id(world))]


def bot_id(world: World) -> int:
    return world.emu.bot_user_id


async def make_round(world: World, **options: Any) -> Any:
    return await world.emu.invoke(
        world.guild.id, world.organiser.id, "match round", options=options, timeout=15
    )


async def last_groups(runner: BotRunner, world: World) -> list[SavedGroup]:
    last = await matches(runner).last_round(world.guild.id)
    assert last is not None
    return await matches(runner).groups(last.id)


def mentioned(message: dict[str, Any]) -> set[int]:
    return {int(u["id"]) for u in message.get("mentions", [])}


def buttons(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def follow_up(runner: BotRunner) -> int:
    clock(runner).advance(timedelta(days=15))
    return await service(runner).run_followups()


# ----- rounds and delivery -------------------------------------------------------------


async def test_round_makes_a_private_thread_per_pair_with_cards_and_why(
    fast: BotRunner, world: World
) -> None:
    await configure(world)
    people = await seed_four(fast, world)
    res = await make_round(world)
    assert res.ephemeral, res.content
    assert says("match.round.summary", res.content, people=4, groups=2, share="100%"), res.content
    assert "Kari" in res.content and "<@" not in res.content
    made = threads(world)
    assert len(made) == 2
    groups = await last_groups(fast, world)
    assert {g.thread_id for g in groups} == {int(t["id"]) for t in made}
    for group in groups:
        assert group.delivered
        assert group.thread_id is not None
        members = set(world.emu.thread_member_ids(group.thread_id))
        assert members == {*group.members, bot_id(world)}
        posted = bot_messages(world, group.thread_id)
        assert len(posted) == 1
        message = posted[0]
        assert len(message["embeds"]) == 2  # both cards
        assert mentioned(message) == set(group.members)
        mentions = world.emu.allowed_mentions(int(message["id"]))
        assert mentions is not None
        assert {int(u) for u in mentions.get("users", [])} == set(group.members)
        assert not mentions.get("parse")
        assert says("match.intro.why", message["content"]) and "Business" in message["content"]
    # the pair Kari (offers mentoring) and Ola (seeks a mentor) is told why
    kari = next(g for g in groups if people[0].id in g.members)
    assert kari.thread_id is not None
    why = bot_messages(world, kari.thread_id)[0]["content"]
    if people[1].id in kari.members:
        assert "mentoring" in why and "Refugees" in why.title()
    states = await matches(fast).member_states(groups[0].round_id)
    assert {s.delivered_via for s in states} == {"thread"}
    # a follow-up job was derived from the stored round
    assert service(fast).job_ids() == [f"{JOB_PREFIX}{groups[0].round_id}"]


async def test_same_sector_pairs_are_named_with_the_reason(fast: BotRunner, world: World) -> None:
    await configure(world)
    await seed(fast, world, world.members[0], "Kari", "business")
    await seed(fast, world, world.members[1], "Per", "business")
    res = await make_round(world)
    assert says("match.round.summary", res.content, share="0%"), res.content
    assert says("match.round.fallbacks", res.content)
    assert says("match.reason.same_sector_fallback", res.content, sector="Business"), res.content
    assert "Kari & Per" in res.content, res.content
    (group,) = await last_groups(fast, world)
    assert group.same_sector and group.delivered


@pytest.mark.parametrize("count", [0, 1])
async def test_round_with_too_few_people_says_so_and_stores_nothing(
    fast: BotRunner, world: World, count: int
) -> None:
    await configure(world)
    for person in world.members[:count]:
        await seed(fast, world, person, "Solo", "business")
    res = await make_round(world)
    assert res.ephemeral and says("match.error.too_few", res.content, count=count), res.content
    assert await matches(fast).last_round(world.guild.id) is None
    assert threads(world) == []


async def test_round_for_a_meeting_pairs_only_those_going(fast: BotRunner, world: World) -> None:
    await configure(world)
    people = await seed_four(fast, world)
    meeting = await meeting_going(fast, world, people[:2])
    choices = await world.emu.autocomplete(
        world.guild.id, world.organiser.id, "match round", focused="meeting", value="Inklu"
    )
    assert [c["value"] for c in choices] == [str(meeting.id)]
    res = await make_round(world, meeting=str(meeting.id))
    assert says("match.round.summary", res.content, people=2, groups=1), res.content
    groups = await last_groups(fast, world)
    assert [set(g.members) for g in groups] == [{people[0].id, people[1].id}]
    # the two not going were left out: they get priority next time
    assert (await profile(fast, world, people[2])).priority == 1
    assert (await profile(fast, world, people[0])).priority == 0


async def test_a_member_who_left_is_skipped_and_said(fast: BotRunner, world: World) -> None:
    await configure(world)
    people = await seed_four(fast, world)
    gone = people[3]
    world.emu.remove_member(world.guild.id, gone.id)
    res = await make_round(world)
    assert says("match.round.gone", res.content, names="Per"), res.content
    groups = await last_groups(fast, world)
    group = next(g for g in groups if gone.id in g.members)
    assert group.delivered and group.thread_id is not None
    partner = next(uid for uid in group.members if uid != gone.id)
    assert gone.id not in world.emu.thread_member_ids(group.thread_id)
    message = bot_messages(world, group.thread_id)[0]
    assert mentioned(message) == {partner}
    assert says("match.intro.gone", message["content"], names="Per")
    states = {s.user_id: s for s in await matches(fast).member_states(group.round_id)}
    assert states[gone.id].delivered_via == "gone"
    assert (await profiles(fast).get(world.guild.id, partner)).priority == 1  # type: ignore[union-attr]


async def test_restart_mid_delivery_resumes_without_posting_twice(
    fast: BotRunner, world: World
) -> None:
    await configure(world)
    await seed_four(fast, world)
    # the first group's intro post fails after its thread was made
    world.emu.inject("POST", "/channels/{channel_id}/messages", status=403, code=50013, times=1)
    res = await make_round(world)
    assert says("match.round.failed", res.content, count=1), res.content
    groups = await last_groups(fast, world)
    assert sorted(g.delivered for g in groups) == [False, True]
    await fast.restart()
    groups = await last_groups(fast, world)
    assert all(g.delivered for g in groups)
    assert len(threads(world)) == 2  # the stored thread was reused
    for group in groups:
        assert group.thread_id is not None
        assert len(bot_messages(world, group.thread_id)) == 1
    # delivered, but the marks were lost (a crash just after posting): no second post
    assert fast.db is not None
    async with fast.db.transaction() as conn:
        await conn.execute("UPDATE match_groups SET delivered = 0")
        await conn.execute("UPDATE match_members SET delivered_via = NULL")
    await fast.restart()
    groups = await last_groups(fast, world)
    assert all(g.delivered for g in groups)
    assert len(threads(world)) == 2
    for group in groups:
        assert group.thread_id is not None
        assert len(bot_messages(world, group.thread_id)) == 1


async def test_dm_delivery_with_closed_dms_falls_back_to_a_thread(
    fast: BotRunner, world: World
) -> None:
    await configure(world)
    res = await world.emu.invoke(
        world.guild.id, world.organiser.id, "match settings", options={"delivery": "dm"}
    )
    assert says("match.settings.saved", res.content), res.content
    open_, closed = world.members[:2]
    await seed(fast, world, open_, "Kari", "business")
    await seed(fast, world, closed, "Ola", "public_sector")
    world.emu.close_dms(closed.id)
    await make_round(world)
    dms = world.emu.dm_messages(open_.id)
    assert len(dms) == 1 and "Ola" in dms[0]["content"]
    assert len(dms[0]["embeds"]) == 1  # Ola's card
    assert world.emu.dm_messages(closed.id) == []
    (thread,) = threads(world)
    assert set(world.emu.thread_member_ids(int(thread["id"]))) == {closed.id, bot_id(world)}
    (fallback,) = bot_messages(world, int(thread["id"]))
    assert mentioned(fallback) == {closed.id}
    (group,) = await last_groups(fast, world)
    states = {s.user_id: s.delivered_via for s in await matches(fast).member_states(group.round_id)}
    assert states == {open_.id: "dm", closed.id: "thread"}
    # the follow-up goes the same ways, and the DM's buttons work
    assert await follow_up(fast) == 1
    question = world.emu.dm_messages(open_.id)[-1]
    assert len(buttons(question)) == 4
    asked = bot_messages(world, int(thread["id"]))[-1]
    assert mentioned(asked) == {closed.id} and len(buttons(asked)) == 4
    yes = next(b for b in buttons(question) if b.endswith(":yes"))
    pressed = await world.emu.press_button(
        world.emu.dm_channel(open_.id), int(question["id"]), open_.id, yes
    )
    assert pressed.ephemeral and says("match.followup.thanks", pressed.content), pressed.content
    assert (await matches(fast).answers(group.round_id))[open_.id] == "yes"


# ----- follow-ups ------------------------------------------------------------------------


async def one_pair(runner: BotRunner, world: World) -> SavedGroup:
    """Kari (business) and Ola (municipality), matched in a thread."""
    await configure(world)
    a, b = world.members[:2]
    await seed(runner, world, a, "Kari", "business")
    await seed(runner, world, b, "Ola", "public_sector")
    await make_round(world)
    (group,) = await last_groups(runner, world)
    assert group.thread_id is not None
    return group


async def test_followup_buttons_work_after_a_restart_and_refuse_outsiders(
    fast: BotRunner, world: World
) -> None:
    group = await one_pair(fast, world)
    a, b = world.members[:2]
    outsider = world.members[4]
    # not due yet: nothing asked; the job survives a restart (derived from the database)
    assert await service(fast).run_followups() == 0
    await fast.restart()
    assert service(fast).job_ids() == [f"{JOB_PREFIX}{group.round_id}"]
    clock(fast).advance(timedelta(days=15))
    racing = await asyncio.gather(*(service(fast).run_followups() for _ in range(3)))
    assert sorted(racing) == [0, 0, 1]  # asked once
    assert await service(fast).run_followups() == 0
    await fast.restart()
    assert service(fast).job_ids() == []  # nothing pending any more
    questions = [m for m in bot_messages(world, group.thread_id) if m.get("components")]
    assert len(questions) == 1
    question = questions[0]
    assert mentioned(question) == {a.id, b.id}
    custom_ids = buttons(question)
    assert [c.rsplit(":", 1)[1] for c in custom_ids] == ["yes", "planned", "no", "collab"]
    planned = next(c for c in custom_ids if c.endswith(":planned"))
    res = await world.emu.press_button(group.thread_id, int(question["id"]), a.id, planned)
    assert res.ephemeral and says("match.followup.thanks", res.content), res.content
    refused = await world.emu.press_button(
        group.thread_id, int(question["id"]), outsider.id, planned
    )
    assert refused.ephemeral and says("match.followup.not_member", refused.content), refused.content
    answers = await matches(fast).answers(group.round_id)
    assert answers == {a.id: "planned", b.id: None}
    assert outsider.id not in answers


async def test_three_silent_followups_pause_and_tell(fast: BotRunner, world: World) -> None:
    await configure(world)
    people = await seed_four(fast, world)
    silent = people[0]
    world.emu.close_dms(silent.id)  # told in the match thread instead
    for _ in range(3):
        res = await make_round(world)
        assert says("match.round.summary", res.content, people=4), res.content
        assert await follow_up(fast) == 2
        groups = await last_groups(fast, world)
        for group in groups:
            for uid in group.members:
                if uid != silent.id:
                    await matches(fast).record_answer(group.id, uid, "yes", fast.clock.now())
        assert (await profile(fast, world, silent)).matching == "active"
    last_threads = {g.id: g.thread_id for g in await last_groups(fast, world)}
    res = await make_round(world)  # counts the third silence: paused, and left out
    assert says("match.round.summary", res.content, people=3, groups=1), res.content
    (trio,) = await last_groups(fast, world)
    assert silent.id not in trio.members and trio.thread_id is not None
    (intro,) = bot_messages(world, trio.thread_id)
    assert len(intro["embeds"]) == 3 and mentioned(intro) == set(trio.members)
    quiet = await profile(fast, world, silent)
    assert quiet.matching == "paused" and quiet.paused_until is None
    assert (await profile(fast, world, people[1])).matching == "active"
    told = [
        m
        for thread_id in last_threads.values()
        if thread_id is not None
        for m in bot_messages(world, thread_id)
        if "/match resume" in m["content"]
    ]
    assert len(told) == 1 and mentioned(told[0]) == {silent.id}
    mentions = world.emu.allowed_mentions(int(told[0]["id"]))
    assert mentions is not None and [int(u) for u in mentions["users"]] == [silent.id]
    # the notice is not repeated, and resuming takes part again
    await make_round(world)
    assert (
        sum(
            "/match resume" in m["content"]
            for t in threads(world)
            for m in bot_messages(world, int(t["id"]))
        )
        == 1
    )
    res = await world.emu.invoke(world.guild.id, silent.id, "match resume", options={})
    assert res.ephemeral
    resumed = await profile(fast, world, silent)
    assert resumed.matching == "active" and resumed.ignored_rounds == 0


# ----- for one person --------------------------------------------------------------------


async def test_match_me_suggests_up_to_three_from_other_sectors(
    fast: BotRunner, world: World
) -> None:
    await configure(world)
    me, *others = world.members
    await seed(fast, world, me, "Kari", "business", ["refugees"], seeks="volunteers")
    await seed(fast, world, others[0], "Ola", "public_sector", ["refugees"])
    await seed(fast, world, others[1], "Siri", "civil_society", offers="volunteers")
    await seed(fast, world, others[2], "Per", "business", ["refugees"])  # same sector
    await seed(fast, world, others[3], "Liv", "research_education")
    await seed(fast, world, world.admin, "Åse", "other")
    res = await world.emu.invoke(world.guild.id, me.id, "match me", options={})
    assert res.ephemeral
    (embed,) = res.embeds
    names = [field["name"].split(" (")[0] for field in embed["fields"]]
    assert 1 <= len(names) <= 3
    assert "Per" not in names and "Kari" not in names
    assert set(names) <= {"Ola", "Siri", "Liv", "Åse"}
    nobody = await world.emu.invoke(world.guild.id, world.organiser.id, "match me", options={})
    assert nobody.ephemeral and says("match.error.no_profile", nobody.content), nobody.content


async def test_pause_resume_and_leave(fast: BotRunner, world: World) -> None:
    await configure(world)
    person = world.members[0]
    await seed(fast, world, person, "Kari", "business")
    for weeks in (0, 53):
        res = await world.emu.invoke(
            world.guild.id, person.id, "match pause", options={"weeks": weeks}
        )
        assert res.ephemeral and says("match.error.pause_weeks", res.content, min=1, max=52), (
            res.content
        )
    assert (await profile(fast, world, person)).matching == "active"
    res = await world.emu.invoke(world.guild.id, person.id, "match pause", options={})
    assert res.ephemeral and "<t:" in res.content
    paused = await profile(fast, world, person)
    assert paused.matching == "paused" and paused.paused_until == START + timedelta(weeks=4)
    await world.emu.invoke(world.guild.id, person.id, "match resume", options={})
    assert (await profile(fast, world, person)).matching == "active"
    res = await world.emu.invoke(world.guild.id, person.id, "match leave", options={})
    assert res.ephemeral and says("match.left", res.content)
    assert (await profile(fast, world, person)).matching == "left"
    stranger = await world.emu.invoke(
        world.guild.id, world.members[1].id, "match pause", options={}
    )
    assert stranger.ephemeral and says("match.error.no_profile", stranger.content)


# ----- organisers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "options"),
    [("match round", {}), ("match tables", {}), ("match settings", {"window": 3})],
)
async def test_organiser_commands_refuse_a_plain_member(
    fast: BotRunner, world: World, command: str, options: dict[str, Any]
) -> None:
    await configure(world)
    await seed_four(fast, world)
    res = await world.emu.invoke(world.guild.id, world.members[0].id, command, options=options)
    assert res.ephemeral and says("error.not_organiser", res.content), res.content
    assert await matches(fast).last_round(world.guild.id) is None
    assert (await matches(fast).settings(world.guild.id)).window_rounds == 6


async def test_settings_are_range_checked_and_shown(fast: BotRunner, world: World) -> None:
    await configure(world)
    for options, needle in (
        ({"window": 0}, "between 1 and 24"),
        ({"followup_days": 61}, "between 1 and 60"),
    ):
        res = await world.emu.invoke(
            world.guild.id, world.organiser.id, "match settings", options=options
        )
        assert res.ephemeral and needle in res.content, res.content
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "match settings",
        options={"window": 3, "followup_days": 7},
    )
    assert says("match.settings.saved", res.content)
    assert says("match.settings.show", res.content, window=3, days=7), res.content
    saved = await matches(fast).settings(world.guild.id)
    assert (saved.delivery, saved.window_rounds, saved.followup_days) == ("thread", 3, 7)
    await seed_four(fast, world)
    await make_round(world)
    last = await matches(fast).last_round(world.guild.id)
    assert last is not None and last.followup_due_at == START + timedelta(days=7)


async def test_tables_for_everyone_and_for_a_meeting(fast: BotRunner, world: World) -> None:
    await configure(world)
    extra = [world.emu.add_member(world.guild.id, f"gjest{n}") for n in range(4)]
    cast = [*world.members, *extra]
    sectors = ["business", "public_sector", "civil_society"]
    for n, person in enumerate(cast):
        await seed(fast, world, person, f"Navn{n}", sectors[n % 3])
    res = await world.emu.invoke(
        world.guild.id, world.organiser.id, "match tables", options={"size": 3}
    )
    assert not res.ephemeral
    assert says("match.tables.title_all", res.content, people=9, tables=3), res.content
    assert res.content.count(part("match.tables.table")) == 3
    assert "<@" not in res.content
    assert says("match.tables.quality", res.content, pairs=0, bound=0), res.content
    for n in range(9):
        assert f"Navn{n}" in res.content
    # only those going to the meeting
    meeting = await meeting_going(fast, world, cast[:4])
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "match tables",
        options={"size": 2, "meeting": str(meeting.id)},
    )
    assert says("match.tables.title", res.content, title="Inkluderingsdagen", people=4, tables=2), (
        res.content
    )
    assert "Navn4" not in res.content
    bad = await world.emu.invoke(
        world.guild.id, world.organiser.id, "match tables", options={"size": 1}
    )
    assert bad.ephemeral and says("match.error.table_size", bad.content, min=2, max=12)
    # tables are not stored as a round
    assert await matches(fast).last_round(world.guild.id, kind="tables") is None


async def test_followup_cut_off_by_a_crash_is_asked_once_at_start(
    fast: BotRunner, world: World
) -> None:
    """Claimed but never sent (a crash in between): asked at the next start, once."""
    group = await one_pair(fast, world)
    assert group.thread_id is not None
    clock(fast).advance(timedelta(days=15))
    # What a process that died right after claiming leaves behind.
    assert await matches(fast).claim_followup(group.round_id)
    assert await matches(fast).claim_group_followup(group.id, clock(fast).now())
    await fast.restart()
    await fast.restart()
    assert await service(fast).run_followups() == 0
    questions = [m for m in bot_messages(world, group.thread_id) if m.get("components")]
    assert len(questions) == 1


async def test_followup_sent_but_not_marked_is_not_asked_twice(
    fast: BotRunner, world: World
) -> None:
    """Sent, then a crash before it was marked sent: the retry finds it in the thread."""
    group = await one_pair(fast, world)
    assert group.thread_id is not None
    assert await follow_up(fast) == 1
    assert fast.db is not None
    async with fast.db.transaction() as conn:
        await conn.execute("UPDATE match_groups SET followup_sent = 0 WHERE id = ?", (group.id,))
    await fast.restart()
    questions = [m for m in bot_messages(world, group.thread_id) if m.get("components")]
    assert len(questions) == 1
    row = await fast.db.fetchone(
        "SELECT followup_sent, followup_retried FROM match_groups WHERE id = ?", (group.id,)
    )
    assert row is not None and tuple(row) == (1, 1)
    # Cut off again after its one retry: given up, never a third try.
    async with fast.db.transaction() as conn:
        await conn.execute("UPDATE match_groups SET followup_sent = 0 WHERE id = ?", (group.id,))
    released, given_up = await matches(fast).release_interrupted_followups()
    assert (released, given_up) == ([], 1)


async def test_dm_followup_sent_but_not_marked_is_not_sent_twice(
    fast: BotRunner, world: World
) -> None:
    """Delivery by DM: the question reached both, then a crash before it was marked sent;
    the retry at start reads each person's DMs and asks nobody twice."""
    await configure(world)
    await world.emu.invoke(
        world.guild.id, world.organiser.id, "match settings", options={"delivery": "dm"}
    )
    a, b = world.members[:2]
    await seed(fast, world, a, "Kari", "business")
    await seed(fast, world, b, "Ola", "public_sector")
    await make_round(world)
    (group,) = await last_groups(fast, world)
    assert await follow_up(fast) == 1
    assert [len(buttons(world.emu.dm_messages(p.id)[-1])) for p in (a, b)] == [4, 4]
    # The crash came after Kari's question and before Ola's.
    ola_question = world.emu.dm_messages(b.id)[-1]
    world.emu.remove_message(int(ola_question["channel_id"]), int(ola_question["id"]))
    assert fast.db is not None
    async with fast.db.transaction() as conn:
        await conn.execute("UPDATE match_groups SET followup_sent = 0 WHERE id = ?", (group.id,))
    await fast.restart()
    asked = {p.id: [m for m in world.emu.dm_messages(p.id) if m.get("components")] for p in (a, b)}
    assert [len(asked[a.id]), len(asked[b.id])] == [1, 1]
