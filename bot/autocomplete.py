"""Autocomplete shared by several cogs: meetings are picked from a list, never typed as ids."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.domain.dates import format_date_local
from bot.domain.moments import to_local
from bot.errors import NotFound
from bot.storage.meetings import MeetingRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot


RECENT = timedelta(days=60)


def chosen_id(value: str, key: str) -> int:
    """An option's value picked from a list (an id), or NotFound(key) for anything typed."""
    text = value.strip()
    if not text.isdigit() or len(text) > 18:
        raise NotFound(key)
    return int(text)


def chosen_meeting(value: str) -> int:
    """A meeting option's value (a chosen id), or NotFound for anything typed."""
    return chosen_id(value, "meeting.error.not_found")


def meeting_option(value: str | None) -> int | None:
    """An optional meeting option's value (a chosen id), or NotFound for anything typed."""
    return None if value is None else chosen_meeting(value)


async def meeting_choices(
    interaction: discord.Interaction[MoteplassBot], current: str, *, recent: bool = False
) -> list[app_commands.Choice[str]]:
    """Up to 25 of the server's meetings matching `current`, as "date · title": those not
    over yet, and with `recent` also those that ended in the last 60 days (for check-in,
    attendees, export and rounds after a meeting), nearest first."""
    if interaction.guild_id is None:
        return []
    bot = interaction.client
    settings = await bot.guild_settings.get(interaction.guild_id)
    now = bot.clock.now()
    found = await MeetingRepository(bot.db).search_for_autocomplete(
        interaction.guild_id, current, now, limit=25, ended_since=now - RECENT if recent else None
    )
    choices = []
    for meeting in found:
        day = format_date_local(
            to_local(meeting.starts_at, meeting.timezone).date(), settings.language, style="short"
        )
        label = f"{day} · {meeting.title}"[:100]
        choices.append(app_commands.Choice(name=label, value=str(meeting.id)))
    return choices


async def upcoming_meetings(
    interaction: discord.Interaction[MoteplassBot], current: str
) -> list[app_commands.Choice[str]]:
    """Autocomplete of a meeting not over yet (`@app_commands.autocomplete(meeting=...)`)."""
    return await meeting_choices(interaction, current)


async def recent_meetings(
    interaction: discord.Interaction[MoteplassBot], current: str
) -> list[app_commands.Choice[str]]:
    """Autocomplete of a meeting not over yet or ended in the last 60 days."""
    return await meeting_choices(interaction, current, recent=True)
