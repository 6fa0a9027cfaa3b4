"""/setup start end to end: a fresh server goes from nothing to an announced first meeting,
a reminder plan and a team card by presses and selects only (with a restart in the middle);
a bot without Manage Channels / Manage Roles; a member without Manage Server refused on
every press; /setup show's checklist."""

from __future__ import annotations

from typing import Any

from bot.domain.setup_steps import all_done, rhythm
from bot.i18n import LANGUAGES
from bot.permissions import PermissionNames
from bot.services.setup import DONE_MARK, LEFT_MARK
from bot.storage.deliveries import ReminderPlanRepository
from bot.storage.series import SeriesRepository
from bot.storage.setup import SetupRepository
from bot.storage.team import TeamRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import configure
from tests.e2e.test_reminders import service
from tests.emulator.interactions import InteractionResult
from tests.emulator.permissions import DEFAULT_BOT, MANAGE_CHANNELS, MANAGE_ROLES, SEND_MESSAGES


def cid(world: World, kind: str, step: int, action: str, arg: int | None = None) -> str:
    tail = "" if arg is None else f":{arg}"
    return f"setup:{kind}:{world.guild.id}:{step}:{action}{tail}"


def ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row["components"]]


def title(runner: BotRunner, lang: str, step: int, name: str) -> str:
    text = runner.catalog.text
    return text(
        lang, "setup_start.title", step=step, total=6, name=text(lang, f"setup_start.step.{name}")
    )


async def start(world: World, user_id: int) -> InteractionResult:
    return await world.emu.invoke(world.guild.id, user_id, "setup start")


async def answered(world: World, res: InteractionResult) -> InteractionResult:
    """A press deferred with an update is complete once the message is edited."""
    await world.emu.wait_until(
        lambda: res.record.original_edited or res.followups or res.response_type in (4, 7)
    )
    return res


async def press(
    world: World, message: dict[str, Any], user_id: int, custom_id: str
) -> InteractionResult:
    res = await world.emu.press_button(
        int(message["channel_id"]), int(message["id"]), user_id, custom_id
    )
    return await answered(world, res)


async def choose(
    world: World, message: dict[str, Any], user_id: int, custom_id: str, values: list[str]
) -> InteractionResult:
    res = await world.emu.select(
        int(message["channel_id"]), int(message["id"]), user_id, custom_id, values
    )
    return await answered(world, res)


def field_values(res: InteractionResult) -> str:
    return "\n".join(f["value"] for e in res.embeds for f in e.get("fields", []))


async def test_a_fresh_server_is_set_up_by_presses_alone_across_a_restart(
    fast: BotRunner, world: World
) -> None:
    emu, text = world.emu, fast.catalog.text
    emu.set_bot_permissions(world.guild.id, DEFAULT_BOT | MANAGE_CHANNELS | MANAGE_ROLES)
    first = await start(world, world.admin.id)
    # Nothing stored: step 1, in the language the server's locale suggests (no → nb).
    assert first.ephemeral and first.content.startswith(title(fast, "nb", 1, "channels"))
    message = first.primary
    assert message is not None
    assert cid(world, "c", 1, "announce") in ids(message)

    made = await press(world, message, world.admin.id, cid(world, "b", 1, "create"))
    assert made.content.startswith(title(fast, "nb", 2, "language")), made.content
    assert fast.bot is not None
    settings = await fast.bot.guild_settings.get(world.guild.id)
    names = {c["id"]: c["name"] for c in emu.channels.values() if c.get("guild_id")}
    assert names[str(settings.announce_channel_id)] == text(
        "nb", "setup_start.create.announce_name"
    )
    assert settings.intro_channel_id == world.intro.id  # "presentasjoner" was there: reused
    role = emu._guild(world.guild.id).roles[settings.organiser_role_id]
    assert role["name"] == text("nb", "setup_start.create.role_name")
    announce_id = settings.announce_channel_id
    assert announce_id is not None

    await choose(world, message, world.admin.id, cid(world, "s", 2, "language"), ["en"])
    zone = await choose(world, message, world.admin.id, cid(world, "s", 2, "zone"), ["Europe/Oslo"])
    assert zone.content.startswith(title(fast, "en", 2, "language"))  # stays, now in English
    saved = await press(world, message, world.admin.id, cid(world, "b", 2, "save"))
    assert saved.content.startswith(title(fast, "en", 3, "series"))

    picked = await choose(world, message, world.admin.id, cid(world, "s", 3, "rhythm"), ["0"])
    chosen = rhythm(0)
    assert chosen is not None
    preview = field_values(picked)
    assert "Thursday, 4 February 2027" in preview and preview.count("2027") == 3  # next three
    assert not await SeriesRepository(fast.db).for_guild(world.guild.id)  # type: ignore[arg-type]
    made_series = await press(world, message, world.admin.id, cid(world, "b", 3, "create", 0))
    assert made_series.content.startswith(title(fast, "en", 4, "reminders"))
    # The reminders' path creates and announces the first meeting in the chosen channel.
    await service(fast).tick()
    announced = [m for m in emu.messages(announce_id) if m.get("embeds")]
    assert len(announced) == 1

    # A restart in the middle: the old message's buttons go on from the database.
    await fast.restart()
    assert fast.db is not None
    accepted = await press(world, message, world.admin.id, cid(world, "b", 4, "accept"))
    assert accepted.content.startswith(title(fast, "en", 5, "team")), accepted.content
    row = await fast.db.fetchval(
        "SELECT COUNT(*) FROM reminder_plans WHERE guild_id = ?", (world.guild.id,)
    )
    assert row == 1
    assert await ReminderPlanRepository(fast.db).get(world.guild.id) is not None

    lead = world.members[0]
    done = await choose(world, message, world.admin.id, cid(world, "u", 5, "lead"), [str(lead.id)])
    assert done.content.startswith(title(fast, "en", 6, "checklist")), done.content
    holdings = await TeamRepository(fast.db).holdings(world.guild.id)
    assert [(h.user_id, h.role) for h in holdings] == [(lead.id, "project_lead")]
    footers = {text(lang, "team.card.footer") for lang in LANGUAGES}
    posted = [
        m
        for m in emu.messages(announce_id)
        if m.get("embeds") and (m["embeds"][0].get("footer") or {}).get("text") in footers
    ]
    assert len(posted) == 1
    facts = await SetupRepository(fast.db).facts(world.guild.id)
    assert all_done(facts)
    assert LEFT_MARK not in field_values(done) and DONE_MARK in field_values(done)
    # Any step can be seen again with what is stored: the series, and no second one offered.
    back = await press(world, message, world.admin.id, cid(world, "b", 3, "go"))
    assert back.content.startswith(title(fast, "en", 3, "series"))
    assert "Møteplass" in field_values(back)
    assert cid(world, "s", 3, "rhythm") not in ids(back.primary or {})
    again = await start(world, world.admin.id)
    assert again.content.startswith(title(fast, "en", 6, "checklist"))
    assert len(await SeriesRepository(fast.db).for_guild(world.guild.id)) == 1

    shown = await world.emu.invoke(world.guild.id, world.admin.id, "setup show")
    checklist = next(
        f["value"]
        for f in shown.embeds[0]["fields"]
        if f["name"] == text("en", "setup_start.checklist")
    )
    assert LEFT_MARK not in checklist
    assert text("en", "setup_start.item.team_card") in checklist


async def test_without_manage_channels_the_bot_says_so_and_existing_ones_are_picked(
    fast: BotRunner, world: World
) -> None:
    emu, text = world.emu, fast.catalog.text
    first = await start(world, world.admin.id)
    message = first.primary
    assert message is not None
    lacking = PermissionNames(("manage_channels", "manage_roles"))
    assert text("nb", "setup_start.create.cannot", permissions=lacking) in field_values(first)
    refused = await press(world, message, world.admin.id, cid(world, "b", 1, "create"))
    assert refused.followups and refused.content == text(
        "nb", "setup_start.error.cannot_create", permissions=lacking
    )
    assert not [r for r in emu.requests if r.method == "POST" and r.path.endswith("/roles")]

    # A channel where the bot cannot post is refused with the reason; the others are taken.
    closed = emu.add_channel(world.guild.id, "stengt")
    emu.set_channel_overwrite(closed.id, emu._guild(world.guild.id).bot_role_id, deny=SEND_MESSAGES)
    no_access = await choose(
        world, message, world.admin.id, cid(world, "c", 1, "announce"), [str(closed.id)]
    )
    assert no_access.content == text(
        "nb",
        "setup.error.channel_no_access",
        channel=f"<#{closed.id}>",
        permissions=PermissionNames(("send_messages", "embed_links")),
    )
    await choose(
        world, message, world.admin.id, cid(world, "c", 1, "announce"), [str(world.announce.id)]
    )
    await choose(world, message, world.admin.id, cid(world, "c", 1, "intro"), [str(world.intro.id)])
    everyone = await choose(
        world, message, world.admin.id, cid(world, "r", 1, "role"), [str(world.guild.id)]
    )
    assert everyone.content == text("nb", "setup.error.everyone_role")
    moved = await choose(
        world, message, world.admin.id, cid(world, "r", 1, "role"), [str(world.organiser_role.id)]
    )
    assert moved.content.startswith(title(fast, "nb", 2, "language")), moved.content
    assert fast.bot is not None
    settings = await fast.bot.guild_settings.get(world.guild.id)
    assert (
        settings.announce_channel_id,
        settings.intro_channel_id,
        settings.organiser_role_id,
    ) == (
        world.announce.id,
        world.intro.id,
        world.organiser_role.id,
    )
    await press(world, message, world.admin.id, cid(world, "b", 2, "save"))

    # Type my own: the modal's rule and title make the series.
    asked = await world.emu.press_button(
        int(message["channel_id"]), int(message["id"]), world.admin.id, cid(world, "b", 3, "own")
    )
    assert asked.modal is not None
    timeless = await world.emu.submit_modal(
        asked, world.admin.id, {"rule": "siste tirsdag", "title": "Frokost"}
    )
    await answered(world, timeless)
    assert timeless.content == text("nb", "series.error.no_time")
    asked = await world.emu.press_button(
        int(message["channel_id"]), int(message["id"]), world.admin.id, cid(world, "b", 3, "own")
    )
    sent = await world.emu.submit_modal(
        asked, world.admin.id, {"rule": "siste tirsdag 17:00-19:00", "title": "Frokost"}
    )
    await answered(world, sent)
    assert sent.content.startswith(title(fast, "nb", 4, "reminders")), sent.content
    [series] = await SeriesRepository(fast.db).for_guild(world.guild.id)  # type: ignore[arg-type]
    assert (series.rule.weekday, series.rule.ordinal, series.title_template) == (1, -1, "Frokost")


async def test_only_manage_server_may_start_or_press(fast: BotRunner, world: World) -> None:
    text = fast.catalog.text
    refused = await start(world, world.organiser.id)
    assert refused.content == text(
        "nb", "error.missing_permissions", permissions=PermissionNames(("manage_guild",))
    )
    first = await start(world, world.admin.id)
    message = first.primary
    assert message is not None
    values = {
        "announce": [str(world.announce.id)],
        "intro": [str(world.intro.id)],
        "role": [str(world.organiser_role.id)],
    }
    pressed = 0
    for custom_id in ids(message):
        action = custom_id.split(":")[4]
        if custom_id.startswith("setup:b:"):
            res = await press(world, message, world.organiser.id, custom_id)
        else:
            res = await choose(world, message, world.organiser.id, custom_id, values[action])
        assert res.content == text("nb", "error.missing_manage_server"), (custom_id, res)
        pressed += 1
    assert pressed == 6
    assert fast.bot is not None
    assert not (await fast.bot.guild_settings.get(world.guild.id)).stored


async def test_a_creation_lost_or_refused_stores_nothing_and_the_next_press_goes_on(
    fast: BotRunner, world: World
) -> None:
    """Discord created the channel but the bot never learnt it (503 after the fact): the
    press says so and stores nothing; the next press uses that channel, no second one.
    Discord refusing the role (403) is said too, and nothing is stored."""
    emu, text = world.emu, fast.catalog.text
    emu.set_bot_permissions(world.guild.id, DEFAULT_BOT | MANAGE_CHANNELS | MANAGE_ROLES)
    first = await start(world, world.admin.id)
    message = first.primary
    assert message is not None
    emu.inject("POST", "/guilds/{guild_id}/channels", status=503, after=True)
    lost = await press(world, message, world.admin.id, cid(world, "b", 1, "create"))
    assert lost.content == text("nb", "setup_start.error.create_failed")
    assert fast.bot is not None
    assert (await fast.bot.guild_settings.get(world.guild.id)).announce_channel_id is None
    name = text("nb", "setup_start.create.announce_name")
    guild = fast.bot.get_guild(world.guild.id)
    assert guild is not None
    await emu.wait_until(lambda: any(c.name == name for c in guild.text_channels))
    # Discord refusing the role (role order): said, nothing stored; the next press works.
    emu.inject("POST", "/guilds/{guild_id}/roles", status=403)
    refused = await press(world, message, world.admin.id, cid(world, "b", 1, "create"))
    assert refused.content == text("nb", "setup_start.error.create_refused")
    assert (await fast.bot.guild_settings.get(world.guild.id)).organiser_role_id is None
    again = await press(world, message, world.admin.id, cid(world, "b", 1, "create"))
    assert again.content.startswith(title(fast, "nb", 2, "language")), again.content
    made = [c for c in emu.channels.values() if c.get("name") == name]
    assert len(made) == 1
    settings = await fast.bot.guild_settings.get(world.guild.id)
    assert settings.announce_channel_id == int(made[0]["id"])


async def test_a_server_set_up_with_configure_starts_at_the_series(
    fast: BotRunner, world: World
) -> None:
    await configure(world, "en")  # channels, role and language by /setup configure
    first = await start(world, world.admin.id)
    assert first.content.startswith(title(fast, "en", 3, "series")), first.content
    assert cid(world, "b", 2, "go") in ids(first.primary or {})  # back to what is stored
