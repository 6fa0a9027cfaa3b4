"""SIGKILL of the real bot process while it tells a proposer the organisers' decision: the
restarted bot tells each proposer once (the DM, or the mention under the announcement
when DMs are closed), and the programme in the announcement's embed is complete.

One process for every kill point: before the DM (decided, nobody told), after the DM (told,
not marked), after the mention (told in the channel, not marked), before the embed edit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.db import Database
from bot.i18n import Catalog
from bot.storage.profiles import ProfileRepository, ProfileText
from tests.crash.harness import BotProcess
from tests.crash.test_meeting_crashes import (
    MESSAGE,
    MESSAGES,
    Step,
    create_options,
    dm_post,
    kill,
    meeting_titled,
    rows,
)
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure
from tests.emulator.models import RequestRecord

TITLE = "Programmøtet"


def mention_post(world: World, record: RequestRecord) -> bool:
    body = record.json or {}
    return str(body.get("content", "")).startswith("<@") and str(world.announce.id) in record.path


def announcement_edit(world: World, record: RequestRecord) -> bool:
    return bool((record.json or {}).get("embeds"))


# (proposer index, kill point, DMs closed)
STEPS: list[tuple[int, Step, bool]] = [
    (0, Step("before the DM", "POST", MESSAGES, after=False, where=dm_post), False),
    (1, Step("after the DM", "POST", MESSAGES, where=dm_post), False),
    (2, Step("after the mention", "POST", MESSAGES, where=mention_post), True),
    (
        3,
        Step("before the embed edit", "PATCH", MESSAGE, after=False, where=announcement_edit),
        False,
    ),
]


async def introduce(process: BotProcess, world: World, people: list[Any]) -> None:
    db = await Database.open(process.db_path)
    try:
        repo = ProfileRepository(db)
        now = datetime.now(UTC) - timedelta(days=1)
        for n, user in enumerate(people):
            await repo.save_text(
                world.guild.id, user.id, ProfileText(f"Person {n}"), now, opt_in=True
            )
            await repo.set_sector(world.guild.id, user.id, "business", now)
    finally:
        await db.close()


def told(world: World, user: Any, catalog: Catalog, title: str) -> int:
    dms = [m for m in world.emu.dm_messages(user.id) if title in m["content"]]
    mention = f"<@{user.id}> " + catalog.text("en", "programme.notice.mention", title=title)
    replies = [m for m in world.emu.messages(world.announce.id) if m["content"] == mention]
    return len(dms) + len(replies)


async def test_decision_notice_once_across_a_crash_at_every_step(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    people = world.members[: len(STEPS)]
    await process.start()
    await configure(world)
    await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting create", create_options(TITLE, 4)
    )
    meeting = meeting_titled(process, TITLE)
    await introduce(process, world, people)
    for n, person in enumerate(people):
        options = {
            "meeting": str(meeting.id),
            "title": f"Innlegg {n}",
            "summary": "Kort",
            "kind": "talk",
        }
        res = await world.emu.invoke(world.guild.id, person.id, "programme propose", options)
        assert res.content == catalog.text(
            "en", "programme.proposed", title=f"Innlegg {n}", meeting=TITLE
        )
    listed = await world.emu.invoke(
        world.guild.id, world.organiser.id, "programme review", {"meeting": str(meeting.id)}
    )
    await listed.wait_followups(2)
    cards = listed.followups[1]
    ids = [int(r[0]) for r in rows(process, "SELECT id FROM proposals ORDER BY id")]

    for index, step, closed in STEPS:
        person = people[index]
        if closed:
            world.emu.close_dms(person.id)
        point = kill(process, world, step)
        press = world.emu.press_button(
            world.announce.id,
            int(cards["id"]),
            world.organiser.id,
            f"programme:accept:{ids[index]}",
        )
        await process.crash_during(point, press)
        await process.start()
        assert told(world, person, catalog, f"Innlegg {index}") == 1, step.name
        owed = rows(
            process,
            "SELECT COUNT(*) FROM proposals WHERE notice IS NOT NULL AND notice_sent_at IS NULL",
        )
        assert owed[0][0] == 0, step.name

    assert process.kills == len(STEPS)
    message = world.emu.message(world.announce.id, meeting.message_id)
    assert message is not None
    field = next(f["value"] for f in message["embeds"][0]["fields"] if f["name"] == "Programme")
    for n in range(len(STEPS)):
        assert field.count(f"Innlegg {n}") == 1
    for n, person in enumerate(people):
        assert told(world, person, catalog, f"Innlegg {n}") == 1
    assert not process.errors(), process.log_tail()
