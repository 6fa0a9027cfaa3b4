"""Names in /meeting export and /meeting attendees, without the members intent: the
introduction's name, the name sent with a live reaction, a REST fetch for someone who
answered before a restart, and the catalogue's placeholder for someone who left."""

from __future__ import annotations

import csv
import io

from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import (
    GOING,
    MAYBE,
    announced,
    settle,
    wait_for_count,
)
from tests.e2e.test_profiles import FULL, introduce

MEMBER_ROUTE = "/guilds/{guild_id}/members/{user_id}"


async def test_export_and_attendees_name_everyone(runner: BotRunner, world: World) -> None:
    emu = world.emu
    meeting = await announced(runner, world)
    introduced, before, live, gone = world.members[:4]
    await introduce(world, introduced.id, FULL)  # "Kari Nordmann" in the introduction
    emu.update_member(world.guild.id, before.id, nick="Bjørn fra kommunen")
    for person in (introduced, before, gone):
        await emu.react(world.announce.id, meeting.message_id, person.id, GOING)
    await settle(runner)
    await runner.restart()  # the reactions above are not in any cache now
    emu.remove_member(world.guild.id, gone.id)
    await emu.react(world.announce.id, meeting.message_id, live.id, MAYBE)
    assert runner.db is not None
    await wait_for_count(RsvpRepository(runner.db), meeting.id, going=3, maybe=1)
    fetches = emu.count_requests("GET", MEMBER_ROUTE)

    export = await emu.invoke(
        world.guild.id, world.organiser.id, "meeting export", {"meeting": str(meeting.id)}
    )
    _, data = export.files[0]
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    names = {int(r["user_id"]): r["name"] for r in rows}
    left = runner.catalog.text("en", "meeting.name.left")
    assert names == {
        introduced.id: FULL["display_name"],
        before.id: "Bjørn fra kommunen",
        gone.id: left,
        live.id: "deltaker2",
    }
    assert {r["status"] for r in rows if int(r["user_id"]) == live.id} == {"maybe"}
    # Only those not named by an introduction or a reaction were fetched: before, gone.
    assert emu.count_requests("GET", MEMBER_ROUTE) - fetches == 2

    roster = await emu.invoke(
        world.guild.id, world.organiser.id, "meeting attendees", {"meeting": str(meeting.id)}
    )
    shown = " ".join(f["value"] for f in roster.embeds[0]["fields"])
    for name in (FULL["display_name"], "Bjørn fra kommunen", left, "deltaker2"):
        assert name in shown, (name, shown)
    assert "<@" not in shown
