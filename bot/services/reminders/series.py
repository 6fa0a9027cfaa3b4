"""Series meetings: created and announced ahead of time, once per date (ledger-claimed),
late ones announced rather than skipped (see `for_guild`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.meeting import MeetingDraft, PublishState
from bot.domain.recurrence import Occurrence
from bot.domain.reminders import Decision, late_rule, next_to_create, series_announce_due
from bot.errors import MoteplassError
from bot.services.reminders.common import SERIES_MEETING, UPCOMING_LIMIT, series_key
from bot.storage.deliveries import Claim, DeliveryRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.series import Series, SeriesRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot
    from bot.services.meetings import MeetingService


log = logging.getLogger(__name__)


@dataclass(eq=False)
class SeriesMeetings:
    """The reminder service's part for series (its repositories, handed in)."""

    bot: MoteplassBot
    announcements: MeetingService
    deliveries: DeliveryRepository
    series: SeriesRepository
    meetings: MeetingRepository
    grace: timedelta

    def now(self) -> datetime:
        return self.bot.clock.now()

    async def for_guild(self, guild: discord.Guild, now: datetime) -> bool:
        created = False
        found = await self.series.for_guild(guild.id)
        if not found:
            return False
        try:
            await self.announcements.announce_channel(guild)
        except MoteplassError as exc:
            log.warning("series in guild %d wait: no announcement channel (%s)", guild.id, exc.key)
            return False
        for series in found:
            existing = await self.series.meeting_dates(guild.id, series.id)
            occurrence = next_to_create(series.schedule, existing, now, series.lead_days)
            if occurrence is None:
                continue
            key = series_key(series.id, occurrence.local_date)
            due = series_announce_due(occurrence.start_utc, series.lead_days, series.created_at)
            decision = late_rule(due, now, self.grace)
            if decision is Decision.NOT_YET:
                continue
            offset_key = occurrence.local_date.isoformat()
            if decision is Decision.SKIP_TOO_LATE:
                # Unlike a reminder, the meeting itself is never skipped for being late: it
                # is still ahead (next_to_create), and a hole in the series would go unseen.
                log.warning("series %d: meeting of %s announced late", series.id, offset_key)
            claim = await self.deliveries.claim(
                guild.id, key, SERIES_MEETING, due_at=due, now=now, offset_key=offset_key
            )
            if claim is None:
                continue
            created = True
            await self._series_meeting(claim, guild, series, occurrence, now)
        return created

    async def _series_meeting(
        self,
        claim: Claim,
        guild: discord.Guild,
        series: Series,
        occurrence: Occurrence,
        now: datetime,
    ) -> None:
        """Create the meeting of `occurrence` (unless an interrupted attempt already did) and
        announce it (unless already announced), then mark the claim sent."""
        meeting = None
        for existing in await self.meetings.list_upcoming(guild.id, now, UPCOMING_LIMIT):
            if existing.series_id == series.id and existing.starts_at == occurrence.start_utc:
                meeting = existing
        if meeting is None:
            draft = self._draft(series, occurrence.start_utc, occurrence.end_utc)
            meeting = await self.meetings.create(guild.id, draft, now)
        if meeting.publish_state is not PublishState.DONE:
            # post, reactions, event; a meeting an interrupted attempt left half published
            # is completed (the meetings service looks for what Discord already has)
            try:
                meeting, _mirrored = await self.announcements.publish(guild, meeting)
            except Exception as exc:
                code = getattr(exc, "key", None) or type(exc).__name__
                await self.deliveries.mark_failed(claim, str(code), permanent=True, now=now)
                log.warning("series %d: meeting %d not announced (%s)", series.id, meeting.id, code)
                return
        await self.deliveries.mark_sent(claim, now)
        log.info("series %d created meeting %d", series.id, meeting.id)

    async def resume(self, claim: Claim, now: datetime) -> None:
        _kind, series_text, day_text = claim.key.split(":")
        series = await self.series.get(claim.guild_id, int(series_text))
        guild = self.bot.get_guild(claim.guild_id)
        day = date.fromisoformat(day_text)
        if series is None or not series.active or guild is None:
            await self.deliveries.mark_skipped(claim, now, "gone")
            return
        until = datetime.combine(day + timedelta(days=2), time(), tzinfo=now.tzinfo)
        window = series.schedule.occurrences(now, until)
        found = [o for o in window if o.local_date == day]
        if not found:
            await self.deliveries.mark_skipped(claim, now, "gone")
            return
        await self._series_meeting(claim, guild, series, found[0], now)

    @staticmethod
    def _draft(series: Series, start: datetime, end: datetime) -> MeetingDraft:
        return MeetingDraft(
            title=series.title_template,
            starts_at=start,
            ends_at=end,
            timezone=series.timezone,
            place=series.place_template,
            description=series.description_template,
            capacity=series.capacity,
            series_id=series.id,
        )
