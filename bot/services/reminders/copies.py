"""Looking for what a crashed process already posted (a reminder, a DM, the monthly
post) before sending it again."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.domain.meeting import Meeting
from bot.services.notify import dm_channel
from bot.services.reminders.common import (
    COPY_LOOKBACK,
    COPY_SEARCH_LIMIT,
    channel_reminder_text,
    dm_reminder_text,
)
from bot.storage.deliveries import Claim

if TYPE_CHECKING:
    from bot.bot import MoteplassBot


log = logging.getLogger(__name__)


class CopyFinder:
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot

    async def channel_posted(self, claim: Claim, meeting: Meeting) -> bool:
        channel_id = meeting.channel_id
        if channel_id is None:
            channel_id = (await self.bot.settings_for(meeting.guild_id)).announce_channel_id
        if channel_id is None:
            return False
        channel = self.bot.get_partial_messageable(channel_id, guild_id=meeting.guild_id)
        head = channel_reminder_text(await self.bot.texts(meeting.guild_id), claim.kind, meeting)
        return await self.posted_since(channel, claim.due_at, head)

    async def dm_posted(self, claim: Claim, meeting: Meeting) -> bool:
        try:
            channel = await dm_channel(self.bot, claim.recipient_id)
        except discord.HTTPException:
            return False
        text = dm_reminder_text(await self.bot.texts(meeting.guild_id), meeting)
        return await self.posted_since(channel, claim.due_at, text)

    async def monthly_posted(self, claim: Claim) -> bool:
        settings = await self.bot.settings_for(claim.guild_id)
        if settings.announce_channel_id is None:
            return False
        channel = self.bot.get_partial_messageable(
            settings.announce_channel_id, guild_id=claim.guild_id
        )
        title = self.bot.catalog.translator(settings.language)("reminders.monthly.title")
        return await self.posted_since(channel, claim.due_at, title)

    async def posted_since(
        self, channel: discord.abc.Messageable, due_at: datetime, marker: str
    ) -> bool:
        """Whether the bot posted a message containing `marker` in `channel` since the
        delivery was due (a claim is never made before it is due; COPY_LOOKBACK allows for
        a host clock ahead of Discord's). Read errors count as
        not found: the delivery is then sent, at least once rather than not at all."""
        me = self.bot.user
        if me is None:
            return False
        try:
            async for message in channel.history(
                limit=COPY_SEARCH_LIMIT, after=due_at - COPY_LOOKBACK, oldest_first=True
            ):
                if message.author.id == me.id and marker in message.content:
                    return True
        except discord.HTTPException as exc:
            log.warning(
                "could not read channel %s to look for a copy (status %s)", channel, exc.status
            )
        return False
