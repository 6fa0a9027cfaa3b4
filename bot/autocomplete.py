"""Autocomplete shared by several cogs: meetings are picked from a list, never typed as ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.domain.dates import format_date_local, to_local
from bot.storage.meetings import MeetingRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot


async def meeting_choices(
    interaction: discord.Interaction[MoteplassBot], current: str
) -> list[app_commands.Choice[str]]:
    """Up to 25 of the server's meetings matching `current`, as "date · title"."""
    if interaction.guild_id is None:
        return []
    bot = interaction.client
    settings = await bot.guild_settings.get(interaction.guild_id)
    found = await MeetingRepository(bot.db).search_for_autocomplete(
        interaction.guild_id, current, bot.clock.now(), limit=25
    )
    choices = []
    for meeting in found:
        day = format_date_local(
            to_local(meeting.starts_at, meeting.timezone).date(), settings.language, style="short"
        )
        label = f"{day} · {meeting.title}"[:100]
        choices.append(app_commands.Choice(name=label, value=str(meeting.id)))
    return choices
