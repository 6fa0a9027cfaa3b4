"""/setup national_report end to end: off by default, on under the server's name, off again."""

from __future__ import annotations

from bot.storage.guilds import GuildSettingsRepository
from tests.e2e.conftest import BotRunner, World


async def test_national_report_opt_in_and_out(runner: BotRunner, world: World) -> None:
    emu, guild = world.emu, world.guild
    assert runner.db is not None and runner.bot is not None
    repo = GuildSettingsRepository(runner.db)
    assert not (await repo.get(guild.id)).national_report
    catalog = runner.bot.catalog

    refused = await emu.invoke(
        guild.id, world.members[0].id, "setup national_report", options={"state": "on"}
    )
    assert refused.ephemeral and not (await repo.get(guild.id)).national_report

    show = await emu.invoke(guild.id, world.admin.id, "setup show")
    assert catalog.text("nb", "setup.value.national_off") in str(show.embeds)

    on = await emu.invoke(
        guild.id, world.admin.id, "setup national_report", options={"state": "on"}
    )
    assert on.ephemeral
    assert on.content == catalog.text("nb", "setup.national.on", region="Inkluderingsdagene Oslo")
    stored = await repo.get(guild.id)
    assert (stored.national_report, stored.region_name) == (True, "Inkluderingsdagene Oslo")

    renamed = await emu.invoke(
        guild.id,
        world.admin.id,
        "setup national_report",
        options={"state": "on", "region": "Oslo @everyone"},
    )
    assert renamed.content == catalog.text("nb", "setup.national.on", region="Oslo @everyone")
    await runner.restart()
    show = await emu.invoke(guild.id, world.admin.id, "setup show")
    assert catalog.text("nb", "setup.value.national_on", region="Oslo @everyone") in str(
        show.embeds
    )

    off = await emu.invoke(
        guild.id, world.admin.id, "setup national_report", options={"state": "off"}
    )
    assert off.content == catalog.text("nb", "setup.national.off")
    assert runner.db is not None
    stored = await GuildSettingsRepository(runner.db).get(guild.id)
    assert (stored.national_report, stored.region_name) == (False, "Oslo @everyone")


async def test_national_report_command_is_localised(runner: BotRunner, world: World) -> None:
    setup = next(c for c in world.emu.synced_commands() if c["name"] == "setup")
    command = next(o for o in setup["options"] if o["name"] == "national_report")
    assert command["name_localizations"]["no"] == "nasjonal_rapport"
    assert command["name_localizations"]["sv-SE"] == "nationell_rapport"
    state = next(o for o in command["options"] if o["name"] == "state")
    assert {c["value"] for c in state["choices"]} == {"on", "off"}
    assert state["choices"][0]["name_localizations"]["no"] == "På"
