"""Every organiser command, found by walking the command tree, through the emulator: a plain
member is refused with the localised error, a member with the organiser role from
/setup and a member with only a team role (`/team set`) are let through (whatever the
command then says), with no admin editing Server Settings → Integrations (only /setup has
default permissions: tests/unit/test_commands.py). The commands that give organiser rights
(`/team set|remove`) need Manage Server."""

from __future__ import annotations

from typing import Any

from discord import app_commands

from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import setup_configure

# The fewest options each organiser command needs. A new organiser command must be added
# here (the test fails otherwise), so it is checked like the others.
OPTIONS: dict[str, dict[str, Any]] = {
    "meeting create": {"title": "Frokost", "date": "3.12.2030", "start": "08:30", "end": "10"},
    "meeting edit": {"meeting": "999", "title": "Ny"},
    "meeting cancel": {"meeting": "999"},
    "meeting repost": {"meeting": "999"},
    "meeting attendees": {"meeting": "999"},
    "meeting export": {"meeting": "999"},
    "meeting checkin": {"meeting": "999"},
    "series create": {"rule": "first thursday 08:30-10:00", "title": "Frokost"},
    "series list": {},
    "series edit": {"series": "999", "title": "Ny"},
    "series skip": {"series": "999", "date": "1.7.2030"},
    "series stop": {"series": "999"},
    "report": {},
    "community add_sector": {"key": "faith", "label_nb": "Tro"},
    "community add_interest": {"key": "food", "label_nb": "Mat"},
    "match round": {},
    "match tables": {},
    "match settings": {},
    "reminders plan": {},
    "privacy settings": {},
    "team show": {},
    "programme review": {},
    "programme arrange": {"item": "999", "slot": "09:15"},
}
# Commands checked for Manage Server on the server (a team role makes an organiser).
MANAGE_SERVER: dict[str, dict[str, Any]] = {
    "team set": {"role": "funding_partner", "member": 0},
    "team remove": {"role": "funding_partner", "member": 0},
}


def organiser_commands(runner: BotRunner, mark: str = "organiser") -> set[str]:
    assert runner.bot is not None
    return {
        command.qualified_name
        for command in runner.bot.tree.walk_commands()
        if not isinstance(command, app_commands.Group) and command.extras.get(mark)
    }


async def test_every_organiser_command_refuses_members_and_accepts_the_role(
    runner: BotRunner, world: World
) -> None:
    emu = world.emu
    res = await setup_configure(world, "sv")
    assert res.embeds, res
    assert organiser_commands(runner) == set(OPTIONS)
    assert organiser_commands(runner, "manage_server") == set(MANAGE_SERVER)
    # A member whose only organiser right is a team role.
    team_member = world.members[3].id
    given = await emu.invoke(
        world.guild.id,
        world.admin.id,
        "team set",
        {"role": "working_group", "member": team_member, "organisation": "Frivilligsentralen"},
    )
    assert given.content.startswith(
        runner.catalog.text(
            "sv",
            "team.set.done_org",
            member=f"<@{team_member}>",
            role=runner.catalog.text("sv", "team.role.working_group"),
            organisation="Frivilligsentralen",
        )
    ), given.content
    refused = runner.catalog.text("sv", "error.not_organiser")
    member = world.members[0].id
    for name, options in sorted(OPTIONS.items()):
        plain = await emu.invoke(world.guild.id, member, name, options, timeout=10)
        assert plain.ephemeral and plain.content == refused, (name, plain.content)
        for organiser in (world.organiser.id, team_member):
            allowed = await emu.invoke(world.guild.id, organiser, name, options, timeout=15)
            assert allowed.error is None and allowed.content != refused, (name, allowed.content)
            assert "error id" not in allowed.content, (name, allowed.content)
    # Giving or taking away organiser rights needs Manage Server, not an organiser.
    needs = runner.catalog.text("sv", "error.missing_manage_server")
    for name, options in sorted(MANAGE_SERVER.items()):
        options = {**options, "member": world.members[1].id}
        for organiser in (world.organiser.id, team_member, member):
            plain = await emu.invoke(world.guild.id, organiser, name, options, timeout=10)
            assert plain.ephemeral and plain.content == needs, (name, plain.content)
    assert runner.db is not None
    assert await runner.db.fetchval("SELECT COUNT(*) FROM team_roles") == 1


async def test_privacy_delete_of_another_member_is_for_organisers(
    runner: BotRunner, world: World
) -> None:
    emu = world.emu
    await emu.invoke(
        world.guild.id,
        world.admin.id,
        "setup configure",
        {"organiser_role": world.organiser_role.id, "language": "en"},
    )
    other = {"member": world.members[1].id}
    plain = await emu.invoke(world.guild.id, world.members[0].id, "privacy delete", other)
    assert plain.content == runner.catalog.text("en", "error.not_organiser")
    allowed = await emu.invoke(world.guild.id, world.organiser.id, "privacy delete", other)
    assert allowed.content == runner.catalog.text(
        "en", "privacy.delete.ask_member", member=f"<@{world.members[1].id}>"
    )
    own = await emu.invoke(world.guild.id, world.members[0].id, "privacy delete")
    assert own.content == runner.catalog.text(
        "en", "privacy.delete.ask", member=f"<@{world.members[0].id}>"
    )
