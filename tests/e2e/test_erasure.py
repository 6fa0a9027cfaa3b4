"""Erasure that holds: after /privacy delete, an organiser's deletion or the leave sweep,
nothing brings the person's data back (reconciliation at start, a RESUME replay, old
buttons and selects), and a deletion interrupted at any step is finished at the next start.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.storage.checkins import CheckinRepository
from bot.storage.erasure_markers import ErasureMarkers
from bot.storage.privacy import PrivacyRepository, PrivacySettings
from bot.storage.profiles import ProfileRepository
from tests.e2e.conftest import BotRunner, World, eventually
from tests.e2e.test_meetings import GOING, MAYBE, NO, configure, create, only_meeting
from tests.e2e.test_profiles import FULL, choose, follow_up, introduce, modal_defaults
from tests.emulator.permissions import DEFAULT_BOT, MANAGE_MESSAGES


def reactors(world: World, meeting: Any) -> set[int]:
    """Everyone (but the bot) with an RSVP reaction on the announcement."""
    found = world.emu.reactions(world.announce.id, meeting.message_id)
    return {u for e in (GOING, MAYBE, NO) for u in found.get(e, []) if u != world.emu.bot_user_id}


async def answers(runner: BotRunner, meeting_id: int) -> dict[int, str]:
    assert runner.db is not None
    rows = await runner.db.fetchall(
        "SELECT user_id, status FROM rsvps WHERE meeting_id = ?", (meeting_id,)
    )
    return {int(r[0]): str(r[1]) for r in rows}


async def wait_answers(runner: BotRunner, meeting_id: int, expected: dict[int, str]) -> None:
    await eventually(lambda: answers(runner, meeting_id), expected)


async def marks(runner: BotRunner, meeting_id: int) -> dict[int, bool]:
    assert runner.db is not None
    return await ErasureMarkers(runner.db).for_meeting(meeting_id)


async def jobs_left(runner: BotRunner) -> int:
    assert runner.db is not None
    return int(await runner.db.fetchval("SELECT COUNT(*) FROM erasure_jobs"))


async def erase(runner: BotRunner, world: World, path: str, member: Any) -> None:
    """Delete the member's data the way `path` says, and wait until it is finished."""
    emu = world.emu
    assert runner.db is not None and runner.bot is not None
    if path == "sweep":
        await PrivacyRepository(runner.db).save_settings(
            PrivacySettings(world.guild.id, leave_grace_days=0)
        )
        emu.remove_member(world.guild.id, member.id)
        await runner.bot.services.privacy.run_sweep()
    else:
        actor = member if path == "self" else world.organiser
        options = {} if path == "self" else {"member": member.id}
        asked = await emu.invoke(world.guild.id, actor.id, "privacy delete", options=options)
        confirm = next(b for row in asked.components for b in row["components"] if b["style"] == 4)
        assert asked.primary is not None
        done = await emu.press_button(
            asked.primary["channel_id"], asked.primary["id"], actor.id, confirm["custom_id"]
        )
        finished = {
            runner.catalog.text("en", key)
            for key in ("privacy.delete.done", "privacy.delete.nothing")
        }
        await emu.wait_until(lambda: (done.message or {}).get("content") in finished, timeout=10)
    await eventually(lambda: jobs_left(runner), 0)
    await runner.settle()


async def announced(runner: BotRunner, world: World, *, manage: bool = True) -> Any:
    await configure(world)
    if not manage:
        world.emu.set_bot_permissions(world.guild.id, DEFAULT_BOT & ~MANAGE_MESSAGES)
    await create(world)
    return await only_meeting(runner, world)


async def kari_and_ola_going(runner: BotRunner, world: World) -> Any:
    """A meeting announced without Manage Messages (the bot cannot take reactions away),
    members[0] and [1] (Kari and Ola) going: the meeting."""
    meeting = await announced(runner, world, manage=False)
    for person in world.members[:2]:
        await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
    await wait_answers(runner, meeting.id, {p.id: "going" for p in world.members[:2]})
    return meeting


# ----- the reported bug ------------------------------------------------------------------


async def test_reported_bug_a_deleted_member_is_not_going_again_after_a_restart(
    runner: BotRunner, world: World
) -> None:
    meeting = await kari_and_ola_going(runner, world)
    kari, ola = world.members[:2]
    await erase(runner, world, "self", kari)
    assert await answers(runner, meeting.id) == {ola.id: "going"}
    assert kari.id in reactors(world, meeting)  # the bot may not take it away
    await runner.restart()
    assert await answers(runner, meeting.id) == {ola.id: "going"}


# ----- every path, with and without Manage Messages ---------------------------------------


@pytest.mark.parametrize("manage", [True, False], ids=["manage_messages", "no_manage_messages"])
@pytest.mark.parametrize("path", ["self", "organiser", "sweep"])
async def test_erasure_holds_through_a_restart_and_a_new_reaction_counts(
    runner: BotRunner, world: World, path: str, manage: bool
) -> None:
    meeting = await announced(runner, world, manage=manage)
    kari, ola = world.members[:2]
    await world.emu.react(world.announce.id, meeting.message_id, kari.id, GOING)
    await world.emu.react(world.announce.id, meeting.message_id, kari.id, MAYBE)
    await world.emu.react(world.announce.id, meeting.message_id, ola.id, GOING)
    await wait_answers(runner, meeting.id, {kari.id: "maybe", ola.id: "going"})
    await erase(runner, world, path, kari)
    assert await answers(runner, meeting.id) == {ola.id: "going"}
    # With Manage Messages her reactions are gone (also after she left the server);
    # without, they stay and a marker says they are not answers.
    assert (kari.id in reactors(world, meeting)) is not manage
    # Without Manage Messages a marker keeps her old reactions from counting. With it, the
    # marker says they were removed, or is already gone once a read found none of hers
    # left: either way any reaction of hers from now on is new.
    expected = [{kari.id: True}, {}] if manage else [{kari.id: False}]
    assert await marks(runner, meeting.id) in expected

    await runner.restart()
    assert await answers(runner, meeting.id) == {ola.id: "going"}
    assert (kari.id in reactors(world, meeting)) is not manage

    # A new reaction, live, is a new answer and ends the marker.
    if path == "sweep":
        world.emu.add_member(world.guild.id, "kari", user_id=kari.id)
    await world.emu.react(world.announce.id, meeting.message_id, kari.id, NO)
    await wait_answers(runner, meeting.id, {ola.id: "going", kari.id: "not_going"})
    assert await marks(runner, meeting.id) == {}


async def test_reactions_removed_while_offline_end_the_marker_and_a_re_add_offline_does_not_count(
    runner: BotRunner, world: World
) -> None:
    meeting = await kari_and_ola_going(runner, world)
    kari, ola = world.members[:2]
    await erase(runner, world, "organiser", kari)

    # Removed and added again while the bot was offline: reconciliation cannot tell the
    # new reaction from the old one, so it does not count (documented).
    await runner.stop()
    world.emu.remove_reaction(world.announce.id, meeting.message_id, kari.id, GOING)
    world.emu.add_reaction(world.announce.id, meeting.message_id, kari.id, GOING)
    await runner.start()
    assert await answers(runner, meeting.id) == {ola.id: "going"}
    assert kari.id in await marks(runner, meeting.id)

    # Her reaction goes (live): the marker goes with it, and a later offline one counts.
    await world.emu.unreact(world.announce.id, meeting.message_id, kari.id, GOING)
    for _ in range(200):
        if not await marks(runner, meeting.id):
            break
        await asyncio.sleep(0.02)
    assert await marks(runner, meeting.id) == {}
    await runner.stop()
    world.emu.add_reaction(world.announce.id, meeting.message_id, kari.id, MAYBE)
    await runner.start()
    assert await answers(runner, meeting.id) == {ola.id: "going", kari.id: "maybe"}


# ----- a RESUME that replays events the bot already had -----------------------------------


@pytest.mark.parametrize("manage", [True, False], ids=["manage_messages", "no_manage_messages"])
async def test_a_resume_replaying_old_reactions_does_not_bring_the_answer_back(
    runner: BotRunner, world: World, manage: bool
) -> None:
    meeting = await announced(runner, world, manage=manage)
    kari, ola = world.members[:2]
    emu = world.emu
    await emu.react(world.announce.id, meeting.message_id, ola.id, GOING)
    await wait_answers(runner, meeting.id, {ola.id: "going"})
    before = emu.gateway_seq()
    await emu.react(world.announce.id, meeting.message_id, kari.id, GOING)
    await wait_answers(runner, meeting.id, {ola.id: "going", kari.id: "going"})
    assert runner.bot is not None
    await runner.bot.services.privacy.delete(world.guild.id, kari.id, actor_id=kari.id)
    assert await answers(runner, meeting.id) == {ola.id: "going"}

    # The gateway drops; the RESUME replays kari's ✅ (and everything after it) again.
    emu.resume_replay_from = before
    resumes = emu.resume_count
    await emu.drop_gateway()
    await emu.wait_for_resume(count=resumes + 1)
    await runner.settle()
    await asyncio.sleep(0.2)
    await runner.settle()
    assert await answers(runner, meeting.id) == {ola.id: "going"}
    assert (kari.id in reactors(world, meeting)) is not manage

    # A new reaction after the RESUME is live: it counts.
    await emu.react(world.announce.id, meeting.message_id, kari.id, MAYBE)
    await wait_answers(runner, meeting.id, {ola.id: "going", kari.id: "maybe"})


# ----- old buttons and selects -------------------------------------------------------------


async def test_old_introduce_selects_and_a_refused_draft_bring_nothing_back(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    kari = world.members[0]
    message = follow_up(await introduce(world, kari.id, FULL))
    refused = await introduce(world, kari.id, {**FULL, "display_name": " ", "offers": "Hemmelig"})
    assert refused.ephemeral and not refused.components
    await erase(runner, world, "self", kari)
    assert runner.db is not None
    profiles = ProfileRepository(runner.db)
    # The follow-up of before: every select and Done answer "no introduction".
    for part, values in (("sector", ["business"]), ("theme", []), ("matching", ["no"])):
        res = await choose(world, message, kari.id, part, values)
        assert res.content == runner.catalog.text("en", "profile.error.no_profile")
    assert await profiles.get(world.guild.id, kari.id) is None
    assert world.emu.messages(world.intro.id) == []
    # /introduce starts from nothing: the refused draft was deleted with the rest.
    asked = await world.emu.invoke(world.guild.id, kari.id, "introduce")
    assert "Hemmelig" not in modal_defaults(asked).values()
    assert modal_defaults(asked)["offers"] == ""


async def test_old_did_you_meet_buttons_after_erasure(runner: BotRunner, world: World) -> None:
    from cogs.matching import followup_view

    await configure(world)
    kari, ola = world.members[:2]
    assert runner.db is not None and runner.bot is not None
    group = await _match_group(runner, world, (kari.id, ola.id), thread_id=None)
    _ = runner.catalog.translator("en")
    posted = await runner.bot.get_partial_messageable(world.intro.id).send(
        "did you meet?", view=followup_view(_, group)
    )
    await erase(runner, world, "self", kari)
    await runner.restart()
    pressed = await world.emu.press_button(
        world.intro.id, posted.id, kari.id, f"match:met:{group}:yes"
    )
    assert pressed.content == runner.catalog.text("en", "match.followup.not_member")
    assert runner.db is not None
    members = await runner.db.fetchall(
        "SELECT user_id, met FROM match_members WHERE group_id = ? ORDER BY id", (group,)
    )
    assert [(r[0], r[1]) for r in members] == [(None, None), (ola.id, None)]


async def test_an_open_checkin_message_does_not_check_a_deleted_member_in_again(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world)
    kari, ola, per = world.members[:3]
    for person in (kari, ola, per):
        await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
    await wait_answers(runner, meeting.id, {u.id: "going" for u in (kari, ola, per)})
    opened = await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting checkin", options={"meeting": str(meeting.id)}
    )
    message = opened.followups[-1] if opened.followups else opened.message
    assert message is not None
    channel, message_id = message["channel_id"], message["id"]
    organiser = world.organiser.id
    await world.emu.select(channel, message_id, organiser, "checkin:going:1", [str(kari.id)])
    assert runner.db is not None
    checkins = CheckinRepository(runner.db)
    assert await checkins.user_ids(meeting.id) == {kari.id}
    await erase(runner, world, "self", kari)
    assert await checkins.user_ids(meeting.id) == set()
    # The message still lists her as going and checked in: neither brings her back.
    await world.emu.select(
        channel, message_id, organiser, "checkin:going:1", [str(kari.id), str(ola.id)]
    )
    assert await checkins.user_ids(meeting.id) == {ola.id}
    await world.emu.press_button(channel, message_id, organiser, "checkin:all")
    assert await checkins.user_ids(meeting.id) == {ola.id, per.id}


# ----- a crash at every step ---------------------------------------------------------------


async def _match_group(
    runner: BotRunner, world: World, users: tuple[int, ...], thread_id: int | None
) -> int:
    assert runner.db is not None
    stamp = datetime.now(UTC).isoformat()
    async with runner.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO match_rounds (guild_id, seed, people, groups, cross_sector, score, "
            "created_at) VALUES (?, 1, ?, 1, 1, 1, ?)",
            (world.guild.id, len(users), stamp),
        )
        round_id = int(cur.lastrowid or 0)
        cur = await conn.execute(
            "INSERT INTO match_groups (round_id, guild_id, position, score, thread_id, "
            "delivered) VALUES (?, ?, 0, 1, ?, 1)",
            (round_id, world.guild.id, thread_id),
        )
        group_id = int(cur.lastrowid or 0)
        for user_id, sector in zip(users, ("business", "public"), strict=False):
            await conn.execute(
                "INSERT INTO match_members (group_id, guild_id, user_id, sector) "
                "VALUES (?, ?, ?, ?)",
                (group_id, world.guild.id, user_id, sector),
            )
    return group_id


async def _seed_everything(runner: BotRunner, world: World, kari: Any, ola: Any) -> dict[str, Any]:
    """Kari: an answer on an open announcement, an intro card, a match thread."""
    meeting = await announced(runner, world)
    await world.emu.react(world.announce.id, meeting.message_id, kari.id, GOING)
    await world.emu.react(world.announce.id, meeting.message_id, ola.id, GOING)
    await wait_answers(runner, meeting.id, {kari.id: "going", ola.id: "going"})
    await choose(
        world, follow_up(await introduce(world, kari.id, FULL)), kari.id, "sector", ["business"]
    )
    assert runner.db is not None and runner.bot is not None
    profile = await ProfileRepository(runner.db).get(world.guild.id, kari.id)
    assert profile is not None and profile.card_message_id is not None
    thread = world.emu.add_thread(world.intro.id, "match", owner_id=world.emu.bot_user_id)
    await runner.bot.get_partial_messageable(thread.id).send("Kari and Ola, meet")
    await _match_group(runner, world, (kari.id, ola.id), thread_id=thread.id)
    return {"meeting": meeting, "card": profile.card_message_id, "thread": thread.id}


async def _assert_complete(
    runner: BotRunner, world: World, kari: Any, seeded: dict[str, Any]
) -> None:
    assert runner.db is not None
    privacy = PrivacyRepository(runner.db)
    export = await privacy.export(world.guild.id, kari.id)
    assert not any(privacy.summarise(export).values())
    meeting = seeded["meeting"]
    assert kari.id not in await answers(runner, meeting.id)
    assert kari.id not in reactors(world, meeting)
    assert world.emu.message(world.intro.id, seeded["card"]) is None
    bot_id = world.emu.bot_user_id
    assert [
        m for m in world.emu.messages(seeded["thread"]) if int(m["author"]["id"]) == bot_id
    ] == []
    assert await jobs_left(runner) == 0
    assert await runner.db.fetchval("SELECT COUNT(*) FROM erasure_steps") == 0
    # Done once: one log line, one anonymous answer, one anonymous introduction.
    assert await runner.db.fetchval("SELECT COUNT(*) FROM privacy_log") == 1
    assert await runner.db.fetchval("SELECT SUM(people) FROM anonymous_participation") == 1
    assert await runner.db.fetchval("SELECT COUNT(*) FROM anonymous_introductions") == 1
    # The marker says the bot removed her reactions; it may already be gone (a read found
    # none of hers left, e.g. when the cut-off removal landed after all): the same outcome.
    assert await ErasureMarkers(runner.db).for_meeting(meeting.id) in ({kari.id: True}, {})


# step → (method, route) of the Discord call that hangs when the bot stops
CRASH_POINTS: dict[str, tuple[str, str] | None] = {
    "before_rows": None,
    "card": ("DELETE", "/channels/{channel_id}/messages/{message_id}"),
    "thread_history": ("GET", "/channels/{channel_id}/messages"),
    "reactions": (
        "DELETE",
        "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
    ),
}


@pytest.mark.parametrize("step", list(CRASH_POINTS))
async def test_a_deletion_stopped_at_any_step_is_finished_at_the_next_start(
    runner: BotRunner, world: World, step: str
) -> None:
    kari, ola = world.members[:2]
    seeded = await _seed_everything(runner, world, kari, ola)
    assert runner.db is not None and runner.bot is not None
    service = runner.bot.services.privacy
    point = CRASH_POINTS[step]
    if point is None:
        # Stopped right after the deletion was written down, before any row went.
        await PrivacyRepository(runner.db).request_erasure(
            world.guild.id, kari.id, kari.id, runner.clock.now()
        )
    else:
        fault = world.emu.inject(point[0], point[1], delay=1.0)
        task = asyncio.create_task(service.delete(world.guild.id, kari.id, kari.id))
        await world.emu.wait_until(lambda: fault.hits > 0 or task.done(), timeout=10)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await jobs_left(runner) == 1
    await runner.restart()
    world.emu.clear_faults()
    await asyncio.sleep(1.1)  # the hung call may still land on the emulator: harmless
    await _assert_complete(runner, world, kari, seeded)
    # A restart more changes nothing.
    await runner.restart()
    await _assert_complete(runner, world, kari, seeded)
