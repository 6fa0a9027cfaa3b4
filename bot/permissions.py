"""Who may do what: the server-side checks behind `default_permissions`."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.db import Database
from bot.errors import ChannelUnavailable, MissingManageServer, NotOrganiser, NotSetUp
from bot.i18n import Localised, Text
from bot.services.channel_health import ChannelHealth
from bot.storage.guilds import GuildSettings
from bot.storage.team import TeamRepository


def manages_server(member: discord.Member | discord.User) -> bool:
    if not isinstance(member, discord.Member):
        return False
    return member.guild_permissions.manage_guild or member.guild_permissions.administrator


async def is_organiser(
    db: Database, member: discord.Member | discord.User, settings: GuildSettings
) -> bool:
    """Manage Server, the server's organiser role, or a team role (`/team set`). The one
    organiser check: every organiser command and component goes through it (through
    `require_organiser` or `MoteplassBot.organiser_texts`)."""
    if not isinstance(member, discord.Member):
        return False
    if manages_server(member):
        return True
    role_id = settings.organiser_role_id
    if role_id is not None and any(role.id == role_id for role in member.roles):
        return True
    return await TeamRepository(db).holds_any(settings.guild_id, member.id)


async def require_organiser(
    db: Database, member: discord.Member | discord.User, settings: GuildSettings
) -> None:
    if not await is_organiser(db, member, settings):
        raise NotOrganiser()


def require_manage_server(member: discord.Member | discord.User) -> None:
    if not manages_server(member):
        raise MissingManageServer()


# What the bot needs in each configured channel.
ANNOUNCE_NEEDS = (
    "view_channel",
    "send_messages",
    "embed_links",
    "add_reactions",
    "read_message_history",
)
INTRO_NEEDS = ("view_channel", "send_messages", "embed_links")


@dataclass(frozen=True, slots=True)
class PermissionNames(Localised):
    """Discord permissions by the names the Discord app shows in the reader's language
    (`permission.<flag>` in the catalogue; an unknown flag as its words)."""

    flags: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.flags)

    def localise(self, _: Text) -> str:
        names = (
            _(f"permission.{flag}") if _.has(f"permission.{flag}") else flag.replace("_", " ")
            for flag in self.flags
        )
        return ", ".join(names)


def missing_permissions(
    channel: discord.abc.GuildChannel, needs: tuple[str, ...]
) -> PermissionNames:
    """The permissions in `needs` the bot lacks in `channel` (empty when it has them all)."""
    perms = channel.permissions_for(channel.guild.me)
    return PermissionNames(tuple(name for name in needs if not getattr(perms, name)))


def usable_channel(
    guild: discord.Guild, channel_id: int | None, needs: tuple[str, ...]
) -> discord.TextChannel:
    """A configured text channel the bot can use for `needs`; else NotSetUp (no channel
    chosen) or ChannelUnavailable (deleted, not a text channel, or permissions missing)."""
    if channel_id is None:
        raise NotSetUp()
    channel = guild.get_channel(channel_id)
    if not isinstance(channel, discord.TextChannel):
        raise ChannelUnavailable(channel=f"<#{channel_id}>")
    missing = missing_permissions(channel, needs)
    if missing:
        raise ChannelUnavailable(
            "error.channel_missing_permissions",
            channel=channel.mention,
            permissions=missing,
        )
    return channel


def channel_problems(
    _: Text, guild: discord.Guild, settings: GuildSettings, health: ChannelHealth
) -> list[str]:
    """What organisers should fix: permissions missing in the announcement channel now,
    and the last post Discord refused there (until one works again)."""
    lines = []
    channel = guild.get_channel(settings.announce_channel_id or 0)
    if isinstance(channel, discord.TextChannel):
        missing = missing_permissions(channel, ANNOUNCE_NEEDS)
        if missing:
            lines.append(_("setup.health.missing", channel=channel.mention, permissions=missing))
    problem = health.problem(guild.id)
    if problem is not None:
        lines.append(
            _(
                "setup.health.failed",
                what=_(f"setup.health.what.{problem.what}"),
                channel=f"<#{problem.channel_id}>",
                when=f"<t:{int(problem.since.timestamp())}:R>",
            )
        )
    return lines
