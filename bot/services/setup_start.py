"""The guided start's actions (`/setup start`): every press or choice saved at once
through the existing repositories and services; `cogs/setup_start.py` parses the press and
renders the step this returns. What the server has is always read back from the database,
so a press after a restart goes on from what is stored."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from datetime import time
from typing import Any, TypeVar

import discord

from bot.domain.rule_phrases import ParsedRule
from bot.domain.setup_steps import CHANNELS, SERIES, current_step, rhythm, step_done, suggested_zone
from bot.domain.team import PROJECT_LEAD
from bot.domain.zones import validate_timezone
from bot.errors import BadInput
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_for_discord_locale
from bot.permissions import ANNOUNCE_NEEDS, INTRO_NEEDS, PermissionNames
from bot.services.series import TITLE_MAX, create_series
from bot.services.setup import check_channel, check_role
from bot.storage.guilds import GuildSettings
from bot.storage.series import SeriesRepository
from bot.storage.setup import LANGUAGE_STEP, SetupRepository

log = logging.getLogger(__name__)
T = TypeVar("T")

# The actions that carry a picked value (Discord sends at least one).
SELECT_ACTIONS = frozenset({"announce", "intro", "role", "language", "zone", "rhythm", "lead"})


def suggested_language(guild: discord.Guild) -> str:
    return language_for_discord_locale(str(guild.preferred_locale)) or DEFAULT_LANGUAGE


async def settings_of(bot: Any, guild: discord.Guild) -> GuildSettings:
    """The stored settings; a server never stored starts with the language and zone its
    preferred locale suggests."""
    settings: GuildSettings = await bot.guild_settings.get(guild.id)
    if not settings.stored:
        locale = str(guild.preferred_locale)
        settings = settings.with_changes(
            language=suggested_language(guild), timezone=suggested_zone(locale)
        )
    return settings


async def save(bot: Any, guild: discord.Guild, **changes: Any) -> GuildSettings:
    current = await settings_of(bot, guild)
    saved: GuildSettings = await bot.guild_settings.save(
        current.with_changes(**changes), bot.clock.now()
    )
    return saved


def lacking(guild: discord.Guild, *, channels: bool, role: bool) -> PermissionNames:
    """What the bot lacks to create the channels and/or the role."""
    perms = guild.me.guild_permissions
    flags = []
    if channels and not perms.manage_channels:
        flags.append("manage_channels")
    if role and not perms.manage_roles:
        flags.append("manage_roles")
    return PermissionNames(tuple(flags))


async def _created(request: Coroutine[Any, Any, T]) -> T:
    """What Discord created; a refusal or a lost answer as the localised reason (nothing is
    saved; the next press uses what Discord did create, found by its name)."""
    try:
        return await request
    except discord.Forbidden:
        raise BadInput("setup_start.error.create_refused") from None
    except discord.HTTPException as exc:
        log.warning("guided start: Discord did not create (status %s)", exc.status)
        raise BadInput("setup_start.error.create_failed") from None


async def create_missing(bot: Any, guild: discord.Guild) -> None:
    """Create what is not chosen yet: the two channels and the organiser role (one
    already there by the same name is used, so a press repeated after a crash does not
    make a second one)."""
    settings = await settings_of(bot, guild)
    _ = bot.catalog.translator(settings.language)
    wanted = {
        "announce": settings.announce_channel_id is None,
        "intro": settings.intro_channel_id is None,
        "role": settings.organiser_role_id is None,
    }
    if not any(wanted.values()):
        raise BadInput("setup_start.error.nothing_to_create")
    needed = lacking(guild, channels=wanted["announce"] or wanted["intro"], role=wanted["role"])
    if needed:
        raise BadInput("setup_start.error.cannot_create", permissions=needed)
    changes: dict[str, int] = {}
    for kind, needs in (("announce", ANNOUNCE_NEEDS), ("intro", INTRO_NEEDS)):
        if not wanted[kind]:
            continue
        name = _(f"setup_start.create.{kind}_name")
        channel = discord.utils.get(guild.text_channels, name=name)
        if channel is None:
            channel = await _created(guild.create_text_channel(name))
        check_channel(guild, channel.id, needs)
        changes[f"{kind}_channel_id"] = channel.id
    if wanted["role"]:
        name = _("setup_start.create.role_name")
        role = discord.utils.get(guild.roles, name=name)
        if role is None:
            role = await _created(guild.create_role(name=name, mentionable=False))
        changes["organiser_role_id"] = role.id
    await save(bot, guild, **changes)
    log.info("guided start created %d things in guild %d", len(changes), guild.id)


async def create_first_series(
    bot: Any,
    guild: discord.Guild,
    user_id: int,
    parsed: ParsedRule,
    start: time,
    end: time,
    title: str,
) -> None:
    """The server's series, unless it has one: a second press (an old message, a retry, a
    modal sent twice) never makes a second series."""
    if not await SeriesRepository(bot.db).for_guild(guild.id):
        await create_series(bot, guild.id, user_id, parsed, start, end, title)


async def carry_out(
    bot: Any,
    guild: discord.Guild,
    user_id: int,
    step: int,
    action: str,
    arg: int | None,
    values: list[Any],
) -> tuple[int, int | None]:
    """Carry out one press or choice; the step to show next and the rhythm chosen (shown,
    not saved, until *Create* is pressed)."""
    now = bot.clock.now()
    move = True  # show the first step not done when this one is done now
    chosen: int | None = None
    if action in SELECT_ACTIONS and not values:
        raise BadInput("error.bad_value", value="—")
    if action == "go":
        move = False
    elif action in ("announce", "intro"):
        channel_id = int(values[0].id)
        check_channel(guild, channel_id, ANNOUNCE_NEEDS if action == "announce" else INTRO_NEEDS)
        await save(bot, guild, **{f"{action}_channel_id": channel_id})
    elif action == "role":
        role = check_role(guild, int(values[0].id))
        await save(bot, guild, organiser_role_id=role.id)
    elif action == "create" and step == CHANNELS:
        await create_missing(bot, guild)
    elif action == "language":
        if values[0] not in LANGUAGES:
            raise BadInput("error.bad_value", value=str(values[0])[:100])
        await save(bot, guild, language=values[0])
        move = False
    elif action == "zone":
        await save(bot, guild, timezone=validate_timezone(str(values[0])))
        move = False
    elif action == "save":
        await save(bot, guild)
        await SetupRepository(bot.db).confirm(guild.id, LANGUAGE_STEP, now)
    elif action == "rhythm":
        chosen = int(values[0]) if str(values[0]).isdigit() else None
        if chosen is None or rhythm(chosen) is None:
            raise BadInput("error.bad_value", value=str(values[0])[:100])
        move = False
    elif action == "create" and step == SERIES:
        picked = rhythm(arg if arg is not None else -1)
        if picked is None:
            raise BadInput("error.bad_value", value=str(arg))
        settings = await settings_of(bot, guild)
        _ = bot.catalog.translator(settings.language)
        title = _("setup_start.series.title", region=guild.name)[:TITLE_MAX]
        await create_first_series(
            bot, guild, user_id, picked.parsed, picked.start_time, picked.end_time, title
        )
    elif action == "accept":
        reminders = bot.services.reminders
        await reminders.plans.set(guild.id, await reminders.plans.get(guild.id), now)
        await reminders.sync()
    elif action == "lead":
        member = values[0]
        if getattr(member, "bot", False):
            raise BadInput("team.error.bot")
        team = bot.services.team
        await team.repo.set_role(guild.id, int(member.id), PROJECT_LEAD, None, now)
        await team.refresh_stale(guild.id)
        await team.publish(guild, post=True)
    else:
        raise BadInput("error.bad_value", value=action)
    if move:
        facts = await SetupRepository(bot.db).facts(guild.id)
        if step_done(facts, step):
            step = current_step(facts)
    return step, chosen
