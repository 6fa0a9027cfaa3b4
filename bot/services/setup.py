"""Shared by `/setup configure`, `/setup show` and the guided start (`/setup start`):
checking a picked channel, saying a stored channel back, and the checklist."""

from __future__ import annotations

import discord

from bot.domain.setup_steps import LATER, SetupFacts, checklist
from bot.errors import BadInput, ChannelUnavailable
from bot.i18n import Text
from bot.permissions import ANNOUNCE_NEEDS, INTRO_NEEDS, missing_permissions, usable_channel

DONE_MARK = "✅"
LEFT_MARK = "⬜"


def check_channel(
    guild: discord.Guild, channel_id: int, needs: tuple[str, ...]
) -> discord.abc.GuildChannel:
    """A text channel of `guild` in which the bot has `needs`; else a BadInput saying why
    (`usable_channel`'s check, said as a choice being refused)."""
    try:
        return usable_channel(guild, channel_id, needs)
    except ChannelUnavailable as exc:
        if "permissions" in exc.params:
            raise BadInput("setup.error.channel_no_access", **exc.params) from None
        raise BadInput("setup.error.not_text_channel", **exc.params) from None


def check_role(guild: discord.Guild, role_id: int) -> discord.Role:
    """A role of `guild` that can be the organiser role (not @everyone)."""
    role = guild.get_role(role_id)
    if role is None:
        raise BadInput("error.bad_value", value=f"<@&{role_id}>")
    if role.is_default():
        raise BadInput("setup.error.everyone_role")
    return role


def describe_channel(_: Text, guild: discord.Guild, channel_id: int | None) -> str:
    if channel_id is None:
        return _("setup.value.unset")
    channel = guild.get_channel(channel_id)
    if channel is None:
        return _("setup.value.channel_deleted", channel_id=channel_id)
    needs = ANNOUNCE_NEEDS if isinstance(channel, discord.TextChannel) else INTRO_NEEDS
    missing = missing_permissions(channel, needs)
    if missing:
        return _("setup.value.channel_no_access", channel=channel.mention)
    return channel.mention


def checklist_text(_: Text, facts: SetupFacts) -> str:
    """Done and left, one line each, then what the guided start leaves to commands."""
    lines = [
        f"{DONE_MARK if item.done else LEFT_MARK} {_(f'setup_start.item.{item.name}')}"
        for item in checklist(facts)
    ]
    lines.extend(f"➕ {_(f'setup_start.later.{name}')}" for name in LATER)
    return "\n".join(lines)
