"""SIGKILL of the real bot process at each Discord step of a privacy deletion (/privacy
delete + confirm, and the leave sweep): the restarted bot finishes it, nothing comes back,
nothing is done twice.

A deletion is written down (a job with its steps) and its rows deleted in one go; then the
Discord steps, each crossed off when done: the intro card deleted, the bot's messages in
the person's match threads deleted, their ✅ 🤔 ❌ taken off open announcements. Each person
to delete has all three: a card, a match thread with two bot messages, an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.db import Database
from bot.domain.rsvp import EMOJI, Choice, Counts
from bot.i18n import Catalog
from bot.services.meetings import counts_line
from bot.storage.profiles import ProfileRepository, ProfileText
from tests.crash.harness import BotProcess
from tests.crash.test_meeting_crashes import (
    MESSAGE,
    Step,
    counts,
    create_options,
    kill,
    meeting_titled,
    rows,
)
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure

GOING = EMOJI[Choice.GOING]
USER_REACTION = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}"


@dataclass(frozen=True)
class Person:
    user: Any
    card: int  # the intro card's message id
    thread: int  # the match thread, with two bot messages


async def seed(db_path: Path, world: World, people: list[Any], partner: Any) -> list[Person]:
    """Each person introduced (a card in the intro channel) and matched with `partner`."""
    emu, bot = world.emu, world.emu.bot_user_id
    seeded: list[Person] = []
    db = await Database.open(db_path)
    try:
        repo = ProfileRepository(db)
        now = datetime.now(UTC) - timedelta(days=1)
        for n, user in enumerate([*people, partner]):
            text = ProfileText(f"Person {n}", organisation="AS", role="", offers="", seeks="")
            await repo.save_text(world.guild.id, user.id, text, now, opt_in=True)
        for user in people:
            card = emu.post_message(world.intro.id, bot, "card", embeds=[{"title": "card"}])
            await repo.set_card(world.guild.id, user.id, world.intro.id, int(card["id"]))
            thread = emu.add_thread(world.intro.id, "match", owner_id=bot)
            for text in ("cards", "did you meet?"):
                emu.post_message(thread.id, bot, text)
            async with db.transaction() as conn:
                cur = await conn.execute(
                    "INSERT INTO match_rounds (guild_id, seed, people, groups, cross_sector, "
                    "score, created_at) VALUES (?, 1, 2, 1, 1, 1, ?)",
                    (world.guild.id, now.isoformat()),
                )
                cur = await conn.execute(
                    "INSERT INTO match_groups (round_id, guild_id, position, score, thread_id, "
                    "delivered) VALUES (?, ?, 0, 1, ?, 1)",
                    (cur.lastrowid, world.guild.id, thread.id),
                )
                for member in (user, partner):
                    await conn.execute(
                        "INSERT INTO match_members (group_id, guild_id, user_id, sector, "
                        "delivered_via) VALUES (?, ?, ?, 'business', 'thread')",
                        (cur.lastrowid, world.guild.id, member.id),
                    )
            seeded.append(Person(user, int(card["id"]), thread.id))
    finally:
        await db.close()
    return seeded


def check_deleted(
    process: BotProcess, world: World, catalog: Catalog, person: Person, meeting: Any
) -> None:
    emu, uid = world.emu, person.user.id
    assert emu.message(world.intro.id, person.card) is None, "card deleted"
    bot = str(emu.bot_user_id)
    assert not [m for m in emu.messages(person.thread) if m["author"]["id"] == bot]
    reactions = emu.reactions(world.announce.id, meeting.message_id)
    assert all(uid not in users for users in reactions.values()), "reaction removed"
    for table in ("profiles", "rsvps", "match_members"):
        assert not rows(process, f"SELECT 1 FROM {table} WHERE user_id = ?", (uid,)), table
    assert rows(process, "SELECT COUNT(*) FROM erasure_jobs")[0][0] == 0
    assert rows(process, "SELECT COUNT(*) FROM erasure_steps")[0][0] == 0
    # the embed counts what the database holds (the partner's answer only, plus the rest)
    _ = catalog.translator("en")
    shown = {
        f["name"]: f["value"]
        for f in emu.message(world.announce.id, meeting.message_id)["embeds"][0]["fields"]
    }
    assert shown[_("meeting.embed.answers")] == counts_line(_, counts(process, meeting.id))


STEPS = [
    ("card", Step("after the card delete", "DELETE", MESSAGE)),
    ("thread", Step("after the first thread message delete", "DELETE", MESSAGE)),
    ("thread", Step("after the second thread message delete", "DELETE", MESSAGE, nth=2)),
    ("reaction", Step("after the first reaction removal", "DELETE", USER_REACTION)),
    ("reaction", Step("before the second reaction removal", "DELETE", USER_REACTION, False, 2)),
]


SWEEP_STEPS = [
    ("card", Step("sweep: after the card delete", "DELETE", MESSAGE)),
    ("reaction", Step("sweep: after the first reaction removal", "DELETE", USER_REACTION)),
]
PROFILE = "SELECT 1 FROM profiles WHERE user_id = ?"


def of(person: Person, kind: str, step: Step) -> Step:
    """`step` narrowed to this person's card, thread or reactions."""

    def mine(_world: World, record: Any) -> bool:
        parts = record.path.split("/")
        if kind == "card":
            return parts[4] == str(person.card)
        if kind == "thread":
            return parts[2] == str(person.thread)
        return parts[-1] == str(person.user.id)

    return Step(step.name, step.method, step.route, step.after, step.nth, mine)


def test_steps_are_distinct() -> None:
    steps = [s for _k, s in STEPS + SWEEP_STEPS]
    assert len({s.name for s in steps}) == len(steps)


async def test_privacy_delete_and_leave_sweep_crash_at_every_discord_step(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    emu = world.emu
    total = len(STEPS) + len(SWEEP_STEPS)
    while len(world.members) < total + 1:
        world.members.append(emu.add_member(world.guild.id, f"extra{len(world.members)}"))
    partner = world.members[total]
    everyone = await seed(process.db_path, world, world.members[:total], partner)
    people, leavers = everyone[: len(STEPS)], everyone[len(STEPS) :]
    await process.start()
    await configure(world)
    await emu.invoke(
        world.guild.id, world.organiser.id, "meeting create", create_options("Erase", 1)
    )
    meeting = meeting_titled(process, "Erase")
    for person in [*everyone, Person(partner, 0, 0)]:
        await emu.react(world.announce.id, meeting.message_id, person.user.id, GOING)
    going = len(everyone) + 1
    await emu.wait_until(lambda: counts(process, meeting.id).going == going, 10)
    for n, ((kind, step), person) in enumerate(zip(STEPS, people, strict=True)):
        uid = person.user.id

        point = kill(process, world, of(person, kind, step))
        asked = await emu.invoke(world.guild.id, uid, "privacy delete")
        confirm = next(
            c["custom_id"] for row in asked.components for c in row["components"] if c["style"] == 4
        )
        shown = asked.primary  # the deferred answer's follow-up carries the buttons
        assert shown is not None
        press = emu.press_button(shown["channel_id"], shown["id"], uid, confirm)
        await process.crash_during(point, press)
        await process.start()
        left = going - n - 1
        await emu.wait_until(lambda left=left: counts(process, meeting.id).going == left, 10)
        check_deleted(process, world, catalog, person, meeting)

    # The leave sweep: one leaves at a time; grace 0 days. The sweep runs 10 minutes after
    # start on the process clock, which APScheduler reads as real time: a clock 10 minutes
    # less 3 s back makes it run 3 s after start (once the server is there: a sweep before
    # that decides nothing about who left).
    options = {"leave_grace_days": 0}
    await emu.invoke(world.guild.id, world.organiser.id, "privacy settings", options=options)
    for (kind, step), person in zip(SWEEP_STEPS, leavers, strict=True):
        emu.remove_member(world.guild.id, person.user.id)
        await process.stop()
        back = datetime.now(UTC) - timedelta(minutes=10, seconds=-3)
        process.env["CLOCK_START"] = back.isoformat()
        point = kill(process, world, of(person, kind, step))
        await process.crash_during(point, process.start())
        process.env["CLOCK_START"] = (back + timedelta(minutes=1)).isoformat()
        await process.start()
        await emu.wait_until(lambda p=person: not rows(process, PROFILE, (p.user.id,)), 10)
        await emu.wait_until(lambda: not rows(process, "SELECT 1 FROM erasure_jobs"), 10)
        check_deleted(process, world, catalog, person, meeting)
    assert process.kills == len(STEPS) + len(SWEEP_STEPS)

    # done once each: one log line per person; a clean start brings nothing back
    assert rows(process, "SELECT COUNT(*) FROM privacy_log")[0][0] == len(everyone)
    await process.restart()
    assert counts(process, meeting.id) == Counts(going=1, maybe=0, not_going=0, waitlist=0)
    for person in everyone:
        check_deleted(process, world, catalog, person, meeting)
    assert rows(process, "SELECT COUNT(*) FROM privacy_log")[0][0] == len(everyone)
    assert not process.errors(), process.log_tail()
