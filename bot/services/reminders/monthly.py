"""The monthly post: what happens this month, once per server and month (ledger-claimed,
the late-post rule, a crashed process's copy looked for first)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.meeting import Meeting
from bot.domain.moments import local_to_utc
from bot.domain.recurrence import load_zone
from bot.domain.reminders import (
    MONTHLY_POST,
    Decision,
    monthly_offset_key,
    monthly_post_due,
    monthly_post_key,
)
from bot.i18n import Text
from bot.services.meetings import counts_line, timestamps
from bot.services.reminders.common import UPCOMING_LIMIT
from bot.storage.deliveries import Claim, DeliveryRepository, ReminderPlanRepository
from bot.storage.digest import DigestRepository
from bot.storage.matches import MatchRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.rsvps import RsvpRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot


log = logging.getLogger(__name__)


@dataclass(eq=False)
class MonthlyPost:
    """The reminder service's part for the monthly post (its repositories, handed in)."""

    bot: MoteplassBot
    deliveries: DeliveryRepository
    plans: ReminderPlanRepository
    meetings: MeetingRepository
    rsvps: RsvpRepository
    digest: DigestRepository
    matches: MatchRepository
    grace: timedelta
    # the service's handling of a refused post
    failed: Callable[[Claim, discord.HTTPException, datetime], Awaitable[None]]
    # the accepted programme under a meeting
    programme: Callable[[Text, Meeting], Awaitable[str]]

    def now(self) -> datetime:
        return self.bot.clock.now()

    async def for_guild(self, guild: discord.Guild, now: datetime) -> None:
        plan = await self.plans.get(guild.id)
        settings = await self.bot.settings_for(guild.id)
        if settings.announce_channel_id is None:
            return
        last = await self.deliveries.last_monthly_post(guild.id)
        due = monthly_post_due(
            plan, settings.timezone, now, last, self.grace, set_up_at=settings.created_at
        )
        if due is None:
            return
        key = monthly_post_key(guild.id, due.year, due.month)
        offset_key = monthly_offset_key(due.year, due.month)
        if due.decision is Decision.SKIP_TOO_LATE:
            if await self.deliveries.record_skipped(
                guild.id, key, MONTHLY_POST, due_at=due.due_utc, now=now, offset_key=offset_key
            ):
                log.warning("skipped monthly post %s in guild %d: too late", offset_key, guild.id)
            return
        claim = await self.deliveries.claim(
            guild.id, key, MONTHLY_POST, due_at=due.due_utc, now=now, offset_key=offset_key
        )
        if claim is None:
            return
        await self.send(claim, now)

    async def send(self, claim: Claim, now: datetime) -> None:
        settings = await self.bot.settings_for(claim.guild_id)
        year_text, _sep, month_text = claim.key.split(":")[2].partition("-")
        year, mon = int(year_text), int(month_text)
        if settings.announce_channel_id is None:
            await self.deliveries.mark_failed(claim, "no_channel", permanent=True, now=now)
            return
        _ = self.bot.catalog.translator(settings.language)
        text = await self._monthly_text(_, claim.guild_id, settings.timezone, year, mon, now)
        channel = self.bot.get_partial_messageable(
            settings.announce_channel_id, guild_id=claim.guild_id
        )
        try:
            await channel.send(text[:2000])
        except discord.HTTPException as exc:
            if exc.status == 403:
                self.bot.channel_health.failed(claim.guild_id, channel.id, "monthly", exc.code, now)
            await self.failed(claim, exc, now)
            return
        self.bot.channel_health.succeeded(claim.guild_id, channel.id)
        await self.deliveries.mark_sent(claim, now)
        log.info("monthly post %04d-%02d sent in guild %d", year, mon, claim.guild_id)

    async def _monthly_text(
        self, _: Text, guild_id: int, zone: str, year: int, month: int, now: datetime
    ) -> str:
        zi = load_zone(zone)
        this_month = local_to_utc(datetime.combine(date(year, month, 1), time()), zi, gap="forward")
        prev = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
        last_month = local_to_utc(datetime.combine(prev, time()), zi, gap="forward")
        lines = [_("reminders.monthly.title")]
        meetings = [
            m
            for m in await self.meetings.list_upcoming(guild_id, now, UPCOMING_LIMIT)
            if (m.starts_at.astimezone(zi).year, m.starts_at.astimezone(zi).month) == (year, month)
        ]
        if not meetings:
            lines.append(_("reminders.monthly.no_meetings"))
        for meeting in meetings:
            counts = await self.rsvps.counts(meeting.id)
            lines.append(
                _(
                    "reminders.monthly.meeting",
                    title=meeting.title,
                    when=timestamps(meeting.starts_at),
                    place=meeting.place or "—",
                    counts=counts_line(_, counts),
                )
                + await self.programme(_, meeting)
            )
        new = await self.digest.new_profiles(guild_id, last_month, this_month)
        lines.append(_("reminders.monthly.introductions", count=new))
        last_round = await self.matches.last_round(guild_id)
        if last_round is not None:
            lines.append(
                _(
                    "reminders.monthly.match_round",
                    people=last_round.people,
                    groups=last_round.groups,
                    cross_sector=last_round.cross_sector,
                )
            )
        return "\n".join(lines)
