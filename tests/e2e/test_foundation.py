"""The foundation end to end: sync, /setup, /about, refusals, restarts."""

from __future__ import annotations

from bot.storage.guilds import GuildSettingsRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import setup_configure
from tests.texts import says


async def test_commands_are_synced_with_localisations(runner: BotRunner, world: World) -> None:
    commands = {c["name"]: c for c in world.emu.synced_commands()}
    assert {"setup", "about"} <= set(commands)
    setup = commands["setup"]
    assert setup["name_localizations"]["no"] == "oppsett"
    assert setup["name_localizations"]["sv-SE"] == "inställningar"
    configure = next(o for o in setup["options"] if o["name"] == "configure")
    assert configure["name_localizations"]["no"] == "konfigurer"
    tz = next(o for o in configure["options"] if o["name"] == "timezone")
    assert tz["name_localizations"]["sv-SE"] == "tidszon"
    assert tz["description_localizations"]["no"]


async def test_setup_stores_settings_that_survive_a_restart(
    runner: BotRunner, world: World
) -> None:
    emu = world.emu
    res = await setup_configure(
        world, "sv", channel_id=world.announce.id, timezone="Europe/Stockholm"
    )
    assert res.ephemeral
    assert says("setup.saved", res.content, lang="sv")  # in the language just chosen
    await runner.restart()
    assert runner.db is not None
    stored = await GuildSettingsRepository(runner.db).get(world.guild.id)
    assert stored.announce_channel_id == world.announce.id
    assert stored.intro_channel_id == world.intro.id
    assert stored.organiser_role_id == world.organiser_role.id
    assert (stored.language, stored.timezone) == ("sv", "Europe/Stockholm")
    show = await emu.invoke(world.guild.id, world.admin.id, "setup show")
    assert show.ephemeral
    text = str(show.embeds)
    assert f"<#{world.announce.id}>" in text and "Europe/Stockholm" in text


async def test_member_without_manage_server_is_refused_in_the_server_language(
    runner: BotRunner, world: World
) -> None:
    res = await world.emu.invoke(
        world.guild.id, world.members[0].id, "setup configure", options={"language": "en"}
    )
    assert res.ephemeral
    assert says(
        "error.missing_permissions", res.content, lang="nb", permissions="Administrer server"
    ), res.content
    assert runner.db is not None
    assert not (await GuildSettingsRepository(runner.db).get(world.guild.id)).stored


async def test_invalid_time_zone_stores_nothing(runner: BotRunner, world: World) -> None:
    for zone in ("Oslo", "UTC+25"):
        res = await world.emu.invoke(
            world.guild.id, world.admin.id, "setup configure", options={"timezone": zone}
        )
        assert res.ephemeral and zone in res.content
    assert runner.db is not None
    assert not (await GuildSettingsRepository(runner.db).get(world.guild.id)).stored


async def test_channel_the_bot_cannot_write_to_is_refused(runner: BotRunner, world: World) -> None:
    emu = world.emu
    secret = emu.add_channel(world.guild.id, "styret")
    emu.set_channel_overwrite(secret.id, emu.bot_user_id, allow=0, deny=1 << 11)  # SEND_MESSAGES
    await emu.wait_until(lambda: True, timeout=0.2)
    res = await emu.invoke(
        world.guild.id, world.admin.id, "setup configure", options={"announce_channel": secret.id}
    )
    assert res.ephemeral and says(
        "setup.error.channel_no_access",
        res.content,
        lang="nb",
        channel=f"<#{secret.id}>",
        permissions="Send meldinger, Bygg inn lenker",
    ), res.content
    assert runner.db is not None
    assert not (await GuildSettingsRepository(runner.db).get(world.guild.id)).stored


async def test_deleted_channel_in_settings_is_reported(runner: BotRunner, world: World) -> None:
    emu = world.emu
    await emu.invoke(
        world.guild.id,
        world.admin.id,
        "setup configure",
        options={"announce_channel": world.announce.id, "language": "en"},
    )
    emu.delete_channel(world.announce.id)
    await emu.wait_until(
        lambda: runner.bot is not None and runner.bot.get_channel(world.announce.id) is None
    )
    show = await emu.invoke(world.guild.id, world.admin.id, "setup show")
    assert says("setup.value.channel_deleted", str(show.embeds), channel_id=world.announce.id)


async def test_about_answers_within_discords_window(runner: BotRunner, world: World) -> None:
    res = await world.emu.invoke(world.guild.id, world.members[0].id, "about")
    assert res.ephemeral
    assert res.latency < 3.0
    assert "0.1.0" in str(res.embeds)


async def test_unknown_language_is_refused(runner: BotRunner, world: World) -> None:
    res = await world.emu.invoke(
        world.guild.id, world.admin.id, "setup configure", options={"language": "de"}
    )
    assert res.ephemeral and res.content
    assert runner.db is not None
    assert not (await GuildSettingsRepository(runner.db).get(world.guild.id)).stored
