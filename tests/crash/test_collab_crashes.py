"""SIGKILL of the real bot process while `/collaboration add` asks the members to confirm;
the restarted bot asks whoever was left, and nobody twice.

Each member's request: claimed in the database, sent (DM, or a mention in the channel
where the command was used when DMs are closed), marked sent. One process, one kill point
per step, a new collaboration each time.
"""

from __future__ import annotations

from typing import Any

from tests.crash.harness import BotProcess
from tests.crash.test_match_crashes import MESSAGES, in_dm
from tests.crash.test_meeting_crashes import Step, kill, rows
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure
from tests.emulator.models import RequestRecord

PREFIX = "collab:confirm:"


def in_channel(world: World, record: RequestRecord) -> bool:
    return record.path.split("/")[2] == str(world.announce.id)


STEPS = [
    Step("after the first request", "POST", MESSAGES, where=in_dm),
    Step("before the second request", "POST", MESSAGES, after=False, nth=2, where=in_dm),
    Step("after the fallback mention", "POST", MESSAGES, where=in_channel),
]


def requests(messages: list[dict[str, Any]], collab_id: int, user_id: int) -> int:
    prefix = f"{PREFIX}{collab_id}:{user_id}:"
    return sum(
        any(
            c.get("custom_id", "").startswith(prefix)
            for r in m.get("components", [])
            for c in r["components"]
        )
        for m in messages
    )


async def test_a_crash_while_asking_asks_each_member_once(
    process: BotProcess, world: World
) -> None:
    emu = world.emu
    recorder, *named = world.members[:4]
    closed = named[2]
    emu.close_dms(closed.id)
    await process.start()
    await configure(world)
    for n, step in enumerate(STEPS):
        point = kill(process, world, step)
        options = {
            "title": f"Samarbeid {n}",
            "member": named[0].id,
            "member2": named[1].id,
            "member3": closed.id,
        }
        command = emu.invoke(
            world.guild.id,
            recorder.id,
            "collaboration add",
            options=options,
            channel_id=world.announce.id,
        )
        await process.crash_during(point, command)
        await process.start()
        (collab_id,) = rows(
            process, "SELECT id FROM collaborations WHERE title = ?", (options["title"],)
        )[0]
        for person in named[:2]:
            assert requests(emu.dm_messages(person.id), collab_id, person.id) == 1, step.name
        assert requests(emu.messages(world.announce.id), collab_id, closed.id) == 1, step.name
        owed = rows(
            process,
            "SELECT COUNT(*) FROM collaboration_members WHERE collaboration_id = ? "
            "AND asked_sent = 0",
            (collab_id,),
        )
        assert owed[0][0] == 0, step.name
    assert not process.errors(), process.log_tail()
