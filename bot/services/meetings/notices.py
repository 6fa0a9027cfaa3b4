"""Owed notices of a meeting, sent once (see `OwedNotices`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.domain.dates import format_range_local
from bot.domain.meeting import Meeting
from bot.i18n import Text
from bot.services.meetings.render import notice_text
from bot.services.notify import DmResult, dm_already_sent, only_user, send_dm
from bot.storage.meetings import MeetingRepository
from bot.storage.notices import NoticeRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)


@dataclass(eq=False)
class OwedNotices:
    """Notices a stored change owes (promotions, a new time or place, a cancellation),
    recorded in the transaction that made them and sent here, each once; one sender per
    meeting at a time."""

    bot: MoteplassBot
    meetings: MeetingRepository
    notices: NoticeRepository
    # meeting → the lock of the one task sending its owed notices
    _owing: dict[int, asyncio.Lock] = field(default_factory=dict, init=False)

    def now(self) -> datetime:
        return self.bot.clock.now()

    async def send(self, meeting_id: int, *, check_dms: bool = False) -> None:
        """Send the meeting's notices recorded but not yet sent, each once (promotions,
        changes of time or place, cancellations are owed in the transaction that made them).
        `check_dms` after a crash: a notice already in the person's DMs is only marked sent.
        A DM that fails is not retried; closed DMs of a promoted person get a mention."""
        meeting = await self.meetings.find_by_id(meeting_id)
        if meeting is None:
            return
        _ = await self.bot.texts(meeting.guild_id)
        settings = await self.bot.guild_settings.get(meeting.guild_id)
        when = format_range_local(
            meeting.starts_at, meeting.ends_at, meeting.timezone, settings.language
        )
        # One sender per meeting at a time: a second one reads what is still owed only once
        # the first is done (reading the list while the first sends would repeat a DM).
        async with self._owing.setdefault(meeting_id, asyncio.Lock()):
            for kind, user_id in await self.notices.owed_notices(meeting_id):
                await self._tell(_, meeting, when, kind, user_id, check_dms=check_dms)

    async def _tell(
        self, _: Text, meeting: Meeting, when: str, kind: str, user_id: int, *, check_dms: bool
    ) -> None:
        text = notice_text(_, meeting, when, kind)
        if text is not None and not (check_dms and await dm_already_sent(self.bot, user_id, text)):
            result = await send_dm(self.bot, user_id, content=text)
            visible = meeting.channel_id and meeting.message_id and not meeting.announcement_missing
            if result is DmResult.CLOSED and kind == "promoted" and visible:
                await self._fallback_mention(meeting, user_id, _("meeting.promoted_short"))
        await self.notices.mark_notice_sent(kind, meeting.id, user_id, self.now())

    async def _fallback_mention(self, meeting: Meeting, user_id: int, text: str) -> None:
        """A short reply to the announcement that pings exactly this one person."""
        assert meeting.channel_id is not None and meeting.message_id is not None
        channel = self.bot.get_partial_messageable(meeting.channel_id, guild_id=meeting.guild_id)
        try:
            await channel.send(
                f"<@{user_id}> {text}",
                allowed_mentions=only_user(user_id),
                reference=channel.get_partial_message(meeting.message_id),
                mention_author=False,
            )
        except discord.HTTPException:
            log.warning("fallback mention for meeting %d failed", meeting.id)
