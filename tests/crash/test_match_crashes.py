"""SIGKILL of the real bot process between the steps of a match round's delivery and of its
follow-ups; the restarted bot finishes each once.

Delivery of one group: (thread) create the private thread → add each member → post the
cards; (DM) each person's DM, and for closed DMs the fallback thread; then stored as
delivered. Follow-up ("did you meet?"): claimed, asked in the thread or by DM, marked sent.
Profiles are seeded into the database file before the first start.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.db import Database
from bot.storage.profiles import ProfileRepository, ProfileText
from tests.crash.harness import BotProcess
from tests.crash.test_meeting_crashes import Step, kill, rows
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure
from tests.emulator.models import RequestRecord

THREADS = "/channels/{channel_id}/threads"
THREAD_MEMBER = "/channels/{channel_id}/thread-members/{user_id}"
MESSAGES = "/channels/{channel_id}/messages"
PRIVATE_THREAD = 12
SECTORS = ["business", "public_sector", "business", "public_sector"]


async def seed(db_path: Path, world: World, count: int = 4) -> list[Any]:
    """Introduced, opted-in members straight into the database (before the bot starts)."""
    while len(world.members) < count:
        world.members.append(world.emu.add_member(world.guild.id, f"extra{len(world.members)}"))
    people = world.members[:count]
    db = await Database.open(db_path)
    try:
        repo = ProfileRepository(db)
        now = datetime.now(UTC) - timedelta(days=1)
        for n, person in enumerate(people):
            name = f"Person {n}"
            text = ProfileText(name, organisation=f"{name} AS", role="", offers="", seeks="")
            await repo.save_text(world.guild.id, person.id, text, now, opt_in=True)
            await repo.set_sector(world.guild.id, person.id, SECTORS[n % len(SECTORS)], now)
    finally:
        await db.close()
    return people


def threads(world: World) -> list[int]:
    return [
        int(c["id"])
        for c in world.emu.channels.values()
        if c.get("parent_id") == str(world.intro.id) and c.get("type") == PRIVATE_THREAD
    ]


def bot_messages(world: World, channel_id: int) -> list[dict[str, Any]]:
    bot = str(world.emu.bot_user_id)
    return [m for m in world.emu.messages(channel_id) if m["author"]["id"] == bot]


def in_thread(world: World, record: RequestRecord) -> bool:
    return int(record.path.split("/")[2]) in threads(world)


def in_dm(world: World, record: RequestRecord) -> bool:
    return int(record.path.split("/")[2]) in world.emu.dm_channels.values()


def groups_of(process: BotProcess, round_id: int) -> list[Any]:
    return rows(process, "SELECT * FROM match_groups WHERE round_id = ? ORDER BY id", (round_id,))


def members_of(process: BotProcess, group_id: int) -> dict[int, str | None]:
    found = rows(
        process, "SELECT user_id, delivered_via FROM match_members WHERE group_id = ?", (group_id,)
    )
    return {r["user_id"]: r["delivered_via"] for r in found}


def last_round(process: BotProcess) -> int:
    return int(rows(process, "SELECT MAX(id) FROM match_rounds")[0][0])


def check_delivered(process: BotProcess, world: World, round_id: int) -> None:
    """Every group delivered once: its one thread (stored) holds its members and one cards
    message, or each member has one match DM; nothing undelivered."""
    emu = world.emu
    for group in groups_of(process, round_id):
        assert group["delivered"], f"group {group['id']} not delivered"
        members = members_of(process, group["id"])
        by_thread = [uid for uid, via in members.items() if via == "thread"]
        by_dm = [uid for uid, via in members.items() if via == "dm"]
        assert sorted(by_thread + by_dm) == sorted(members), members
        if by_thread:
            thread = group["thread_id"]
            assert thread in threads(world)
            assert set(by_thread) <= set(emu.thread_member_ids(thread))
            cards = [m for m in bot_messages(world, thread) if m["embeds"]]
            assert len(cards) == 1, f"{len(cards)} cards messages in one thread"
            assert {int(u["id"]) for u in cards[0]["mentions"]} == set(by_thread)
        for uid in by_dm:
            got = [m for m in emu.dm_messages(uid) if m["embeds"]]
            assert len(got) == rounds_by_dm(process, uid), "one match DM per round"
    stored = {g["thread_id"] for g in rows(process, "SELECT thread_id FROM match_groups")}
    assert set(threads(world)) <= stored, "a thread no group knows of (made twice)"


def rounds_by_dm(process: BotProcess, user_id: int) -> int:
    return int(
        rows(
            process,
            "SELECT COUNT(*) FROM match_members WHERE user_id = ? AND delivered_via = 'dm'",
            (user_id,),
        )[0][0]
    )


async def round_command(world: World) -> Any:
    return world.emu.invoke(
        world.guild.id, world.organiser.id, "match round", options={}, timeout=15
    )


THREAD_STEPS = [
    Step("after the thread", "POST", THREADS),
    Step("after the first member added", "PUT", THREAD_MEMBER),
    Step("before the cards", "POST", MESSAGES, after=False, where=in_thread),
    Step("after the cards", "POST", MESSAGES, where=in_thread),
    Step("after the second group's thread", "POST", THREADS, nth=2),
]


async def test_thread_delivery_crash_at_every_step(process: BotProcess, world: World) -> None:
    await seed(process.db_path, world)
    await process.start()
    await configure(world)
    for step in THREAD_STEPS:
        point = kill(process, world, step)
        await process.crash_during(point, await round_command(world))
        await process.start()
        check_delivered(process, world, last_round(process))
    assert len(rows(process, "SELECT id FROM match_rounds")) == len(THREAD_STEPS)
    assert not process.errors(), process.log_tail()


DM_STEPS = [
    Step("after the first DM", "POST", MESSAGES, where=in_dm),
    Step("after the third DM", "POST", MESSAGES, nth=3, where=in_dm),
    Step("after the fallback thread", "POST", THREADS),
    Step("after the fallback cards", "POST", MESSAGES, where=in_thread),
]


async def test_dm_delivery_crash_at_every_step(process: BotProcess, world: World) -> None:
    # eight people: no pair twice in these rounds (a DM is recognised by its text)
    people = await seed(process.db_path, world, 8)
    await process.start()
    await configure(world)
    await world.emu.invoke(
        world.guild.id, world.organiser.id, "match settings", options={"delivery": "dm"}
    )
    for n, step in enumerate(DM_STEPS):
        if "fallback" in step.name:
            world.emu.close_dms(people[n].id)
        point = kill(process, world, step)
        await process.crash_during(point, await round_command(world))
        await process.start()
        check_delivered(process, world, last_round(process))
        for person in people:
            world.emu.open_dms(person.id)
    assert not process.errors(), process.log_tail()


# ----- follow-ups: "did you meet?" ----------------------------------------------------


def asked(messages: list[dict[str, Any]], group_id: int) -> int:
    """How many of these messages carry the group's follow-up buttons."""
    prefix = f"match:met:{group_id}:"
    return sum(
        any(
            c.get("custom_id", "").startswith(prefix)
            for r in m["components"]
            for c in r["components"]
        )
        for m in messages
    )


def question(messages: list[dict[str, Any]], group_id: int) -> dict[str, Any]:
    (found,) = [m for m in messages if asked([m], group_id)]
    return found


async def check_asked_once(process: BotProcess, world: World, round_id: int) -> None:
    """Each group asked once (each DM member in their DMs, the others in the thread); then
    everyone answers with the buttons (still working after the crash), so nobody is paused
    for silence in the next rounds."""
    emu = world.emu
    for group in groups_of(process, round_id):
        assert group["followup_sent"] and group["followup_asked_at"]
        members = members_of(process, group["id"])
        yes = f"match:met:{group['id']}:yes"
        for uid, via in members.items():
            if via == "dm":
                assert asked(emu.dm_messages(uid), group["id"]) == 1, "asked by DM once"
                found = question(emu.dm_messages(uid), group["id"])
                await emu.press_button(int(found["channel_id"]), int(found["id"]), uid, yes)
        if "thread" in members.values():
            thread = bot_messages(world, group["thread_id"])
            assert asked(thread, group["id"]) == 1, "asked in the thread once"
            found = question(thread, group["id"])
            for uid, via in members.items():
                if via == "thread":
                    await emu.press_button(group["thread_id"], int(found["id"]), uid, yes)
    answers = rows(
        process,
        "SELECT m.met FROM match_members m JOIN match_groups g ON g.id = m.group_id "
        "WHERE g.round_id = ?",
        (round_id,),
    )
    assert [r[0] for r in answers] == ["yes"] * len(answers)


FOLLOWUP_STEPS = [
    ("thread", Step("before the question", "POST", MESSAGES, after=False, where=in_thread)),
    ("thread", Step("after the question", "POST", MESSAGES, where=in_thread)),
    ("thread", Step("after the 2nd group's question", "POST", MESSAGES, nth=2, where=in_thread)),
    ("dm", Step("before the first DM", "POST", MESSAGES, after=False, where=in_dm)),
    ("dm", Step("after the first DM", "POST", MESSAGES, where=in_dm)),
    ("dm", Step("after the third DM", "POST", MESSAGES, nth=3, where=in_dm)),
]


async def test_followup_crash_around_the_question(process: BotProcess, world: World) -> None:
    """Follow-ups after 1 day; after each round the bot is started again on a clock 2 days
    on, so the start-up catch-up asks (APScheduler's own job, on real time, never fires),
    and is killed there; the next round is made on that clock."""
    await seed(process.db_path, world)
    await process.start()
    await configure(world)
    clock = datetime.now(UTC)
    for delivery, step in FOLLOWUP_STEPS:
        options = {"delivery": delivery, "followup_days": 1}
        await world.emu.invoke(
            world.guild.id, world.organiser.id, "match settings", options=options
        )
        res = await (await round_command(world))
        assert res.error is None
        round_id = last_round(process)
        check_delivered(process, world, round_id)
        await process.stop()
        clock += timedelta(days=2)
        process.env["CLOCK_START"] = clock.isoformat()
        point = kill(process, world, step)
        await process.crash_during(point, process.start())
        await process.start()
        await check_asked_once(process, world, round_id)
    assert not process.errors(), process.log_tail()


def test_steps_are_distinct() -> None:
    for steps in (THREAD_STEPS, DM_STEPS, [s for _d, s in FOLLOWUP_STEPS]):
        assert len({s.name for s in steps}) == len(steps)
