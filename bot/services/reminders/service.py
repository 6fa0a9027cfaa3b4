"""The reminder service: the ledger, scheduling, channel and DM reminders, retries and
interrupted claims; series meetings and the monthly post are its parts."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.meeting import Meeting
from bot.domain.recurrence import load_zone
from bot.domain.reminders import (
    CHANNEL_REMINDER,
    DM_REMINDER,
    HOUR_BEFORE,
    MONTHLY_POST,
    Decision,
    MeetingTimes,
    PlannedDelivery,
    ReminderPlan,
    delivery_key,
    due_now,
    late_rule,
    monthly_post_key,
    monthly_post_time,
    planned_deliveries,
    retry_backoff,
    series_announce_due,
)
from bot.i18n import Text
from bot.services.lifecycle import Lifecycle, drop_jobs, job_ids, schedule_at, schedule_every
from bot.services.meetings import counts_line
from bot.services.notify import CANNOT_DM, DmResult, send_dm
from bot.services.programme import programme_lines, programme_text
from bot.services.reminders.common import (
    CLAIM_CLOCK_STEP,
    JOB_PREFIX,
    MISFIRE_GRACE_SECONDS,
    RHYTHM_KINDS,
    SAFETY_INTERVAL,
    SAFETY_JOB,
    SERIES_MEETING,
    UPCOMING_LIMIT,
    channel_reminder_text,
    dm_reminder_text,
    series_key,
)
from bot.services.reminders.copies import CopyFinder
from bot.services.reminders.monthly import MonthlyPost
from bot.services.reminders.series import SeriesMeetings
from bot.storage.deliveries import (
    DEFAULT_STALE_AFTER,
    Claim,
    DeliveryRepository,
    LedgerRow,
    ReminderPlanRepository,
)
from bot.storage.digest import DigestRepository
from bot.storage.matches import MatchRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.rsvps import RsvpRepository
from bot.storage.series import SeriesRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot
    from bot.services.meetings import MeetingService
    from bot.services.rhythm import RhythmService

log = logging.getLogger(__name__)


def _ledger_row(
    guild: discord.Guild, meeting: Meeting, planned: PlannedDelivery, recipient_id: int = 0
) -> LedgerRow:
    """The ledger's row for one planned reminder (to one member, for a DM)."""
    return LedgerRow(
        guild_id=guild.id,
        key=delivery_key(planned.kind, meeting.id, planned.offset_key, recipient_id),
        kind=planned.kind,
        meeting_id=meeting.id,
        offset_key=planned.offset_key,
        recipient_id=recipient_id,
        due_at=planned.due_utc,
    )


class ReminderService(Lifecycle):
    def __init__(
        self, bot: MoteplassBot, announcements: MeetingService, rhythm: RhythmService
    ) -> None:
        super().__init__(bot)
        self.announcements = announcements  # creates and announces series meetings
        self.rhythm = rhythm  # finishes the rhythm's claims of the shared ledger
        self.deliveries = DeliveryRepository(bot.db)
        self.plans = ReminderPlanRepository(bot.db)
        self.series = SeriesRepository(bot.db)
        self.meetings = MeetingRepository(bot.db)
        self.rsvps = RsvpRepository(bot.db)
        self.digest = DigestRepository(bot.db)
        self.matches = MatchRepository(bot.db)
        self.grace = timedelta(hours=bot.settings.reminder_grace_hours)
        # self._lock (Lifecycle's) is the tick lock: one tick at a time, claims never
        # dropped while being sent.
        self._sync_lock = asyncio.Lock()
        self._busy = 0  # meeting/series changes being applied
        self._idle = asyncio.Event()
        self._idle.set()
        # server → the ids of its scheduled jobs (as of its last sync)
        self._jobs_of: dict[int, set[str]] = {}
        self.copies = CopyFinder(bot)
        self.series_meetings = SeriesMeetings(
            bot, announcements, self.deliveries, self.series, self.meetings, self.grace
        )
        self.monthly = MonthlyPost(
            bot,
            self.deliveries,
            self.plans,
            self.meetings,
            self.rsvps,
            self.digest,
            self.matches,
            self.grace,
            self._failed,
            self._programme,
        )

    # ----- lifecycle -----------------------------------------------------------------

    def _enter(self) -> None:
        self._busy += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._busy -= 1
        if not self._busy:
            self._idle.set()

    async def settled(self) -> None:
        await self._ready.wait()
        await self._idle.wait()
        async with self._sync_lock, self._lock:
            pass

    async def _first_start(self) -> None:
        """Catch up (tick also takes over claims left by a crash, once)."""
        await self.tick()

    async def _every_start(self) -> None:
        await self.sync()  # idempotent: job ids come from the rows

    async def close(self) -> None:
        if self.bot.scheduler.running:
            drop_jobs(self.bot.scheduler, JOB_PREFIX, SAFETY_JOB)

    # ----- scheduling ----------------------------------------------------------------

    def _schedule(self, job_id: str, due: datetime, now: datetime, wanted: set[str]) -> None:
        wanted.add(job_id)
        schedule_at(self.bot.scheduler, job_id, self._run_job, due, now, MISFIRE_GRACE_SECONDS)

    async def _run_job(self) -> None:
        await self._guarded("reminder tick", self.tick)

    async def _safety(self) -> None:
        await self._run_job()
        await self._guarded("reminder sync", self.sync)

    async def sync(self, guild_id: int | None = None) -> int:
        """Derive the pending jobs from the database and drop jobs nothing asks for any more:
        every server's, or only `guild_id`'s (a meeting of that server changed: the other
        servers' jobs cannot have changed). Returns the number of jobs wanted."""
        async with self._sync_lock:
            scheduler = self.bot.scheduler
            if not scheduler.running:
                return 0
            now = self.now()
            if guild_id is not None:
                guild = self.bot.get_guild(guild_id)
                wanted = await self._guild_jobs(guild, now) if guild is not None else set()
                for job_id in self._jobs_of.get(guild_id, set()) - wanted:
                    job = scheduler.get_job(job_id)
                    if job is not None:
                        job.remove()
                self._jobs_of[guild_id] = wanted
                return sum(len(jobs) for jobs in self._jobs_of.values())
            self._jobs_of = {}
            everything: set[str] = set()
            for guild in list(self.bot.guilds):
                self._jobs_of[guild.id] = await self._guild_jobs(guild, now)
                everything |= self._jobs_of[guild.id]
            drop_jobs(scheduler, JOB_PREFIX, keep=everything)
            if scheduler.get_job(SAFETY_JOB) is None:
                schedule_every(
                    scheduler, SAFETY_JOB, self._safety, SAFETY_INTERVAL, MISFIRE_GRACE_SECONDS
                )
            return len(everything)

    async def _guild_jobs(self, guild: discord.Guild, now: datetime) -> set[str]:
        """Schedule one server's pending jobs (reminders of its upcoming meetings, its
        series' next meetings, its monthly post); their ids."""
        wanted: set[str] = set()
        plan = await self.plans.get(guild.id)
        for meeting in await self.meetings.list_upcoming(guild.id, now, UPCOMING_LIMIT):
            for planned in self._planned(meeting, plan):
                if now - planned.due_utc > self.grace:
                    continue
                key = delivery_key(planned.kind, meeting.id, planned.offset_key)
                self._schedule(JOB_PREFIX + key, planned.due_utc, now, wanted)
        for series in await self.series.for_guild(guild.id):
            upcoming = series.schedule.next_occurrence(now)
            if upcoming is not None:
                due = series_announce_due(upcoming.start_utc, series.lead_days, series.created_at)
                key = series_key(series.id, upcoming.local_date)
                self._schedule(JOB_PREFIX + key, due, now, wanted)
        if plan.monthly_enabled:
            zone = (await self.bot.settings_for(guild.id)).timezone
            local = now.astimezone(load_zone(zone))
            year, month = local.year, local.month
            due = monthly_post_time(plan, zone, year, month)
            if due <= now:
                year, month = (year + month // 12, month % 12 + 1)
                due = monthly_post_time(plan, zone, year, month)
            key = monthly_post_key(guild.id, year, month)
            self._schedule(JOB_PREFIX + key, due, now, wanted)
        return wanted

    def job_ids(self) -> list[str]:
        return job_ids(self.bot.scheduler, JOB_PREFIX)

    async def meeting_changed(self, meeting_id: int) -> None:
        """A meeting was created, edited or cancelled: unsent claims are dropped so the plan
        is recomputed from its new time (sent keys stay sent), then the jobs follow."""
        self._enter()
        try:
            meeting = await self.meetings.find_by_id(meeting_id)
            if meeting is not None:
                # Under the tick lock: never drop a claim this process is sending right now.
                async with self._lock:
                    dropped = await self.deliveries.reschedule_for_meeting(
                        meeting.guild_id, meeting_id
                    )
                if dropped:
                    log.info(
                        "meeting %d changed: %d unsent deliveries dropped", meeting_id, dropped
                    )
            await self.sync(meeting.guild_id if meeting is not None else None)
        finally:
            self._leave()

    async def series_changed(self) -> None:
        self._enter()
        try:
            await self.sync()
        finally:
            self._leave()

    # ----- the work ------------------------------------------------------------------

    def _planned(self, meeting: Meeting, plan: ReminderPlan) -> list[PlannedDelivery]:
        times = MeetingTimes(meeting.id, meeting.starts_at, meeting.timezone, meeting.status.value)
        return planned_deliveries(times, plan)

    async def tick(self) -> None:
        """Process everything due at `clock.now()`: reminders, retries, series, monthly."""
        async with self._lock:
            now = self.now()
            created = False
            for guild in list(self.bot.guilds):
                try:
                    created |= await self.series_meetings.for_guild(guild, now)
                    await self._reminders_for_guild(guild, now)
                    await self.monthly.for_guild(guild, now)
                except Exception:
                    log.exception("reminders for guild %d failed", guild.id)
            await self._retries(now)
            await self._retry_interrupted(now)
        if created:
            await self.sync()

    async def _reminders_for_guild(self, guild: discord.Guild, now: datetime) -> None:
        plan = await self.plans.get(guild.id)
        for meeting in await self.meetings.list_upcoming(guild.id, now, UPCOMING_LIMIT):
            for planned in self._planned(meeting, plan):
                decision = due_now(planned, now, self.grace)
                if decision is Decision.NOT_YET:
                    continue
                if planned.kind == DM_REMINDER:
                    await self._dm_reminders(guild, meeting, planned, decision, now)
                else:
                    await self._channel_reminder(guild, meeting, plan, planned, decision, now)

    async def _channel_reminder(
        self,
        guild: discord.Guild,
        meeting: Meeting,
        plan: ReminderPlan,
        planned: PlannedDelivery,
        decision: Decision,
        now: datetime,
    ) -> None:
        row = _ledger_row(guild, meeting, planned)
        if decision is Decision.SKIP_TOO_LATE:
            if await self.deliveries.skip_row(row, now):
                log.warning("skipped %s for meeting %d: too late", planned.kind, meeting.id)
            return
        claim = await self.deliveries.claim_row(row, now)
        if claim is not None:
            await self._send_channel(claim, meeting, plan.ping_role_id, now)

    async def _send_channel(
        self, claim: Claim, meeting: Meeting, ping_role_id: int | None, now: datetime
    ) -> None:
        _ = await self.bot.texts(meeting.guild_id)
        counts = await self.rsvps.counts(meeting.id)
        text = channel_reminder_text(_, claim.kind, meeting) + "\n" + counts_line(_, counts)
        text += await self._programme(_, meeting)
        mentions = discord.AllowedMentions.none()
        if ping_role_id is not None:
            text = f"<@&{ping_role_id}> {text}"
            mentions = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(id=ping_role_id)]
            )
        channel_id = meeting.channel_id
        if channel_id is None:
            channel_id = (await self.bot.settings_for(meeting.guild_id)).announce_channel_id
        if channel_id is None:
            await self.deliveries.mark_failed(claim, "no_channel", permanent=True, now=now)
            log.warning("no channel for the reminder of meeting %d", meeting.id)
            return
        channel = self.bot.get_partial_messageable(channel_id, guild_id=meeting.guild_id)
        reference = None
        if meeting.message_id is not None and not meeting.announcement_missing:
            # A deleted announcement must not cost the reminder: post it without the reply.
            reference = channel.get_partial_message(meeting.message_id).to_reference(
                fail_if_not_exists=False
            )
        try:
            if reference is not None:
                await channel.send(
                    text[:2000],
                    allowed_mentions=mentions,
                    reference=reference,
                    mention_author=False,
                )
            else:
                await channel.send(text[:2000], allowed_mentions=mentions)
        except discord.HTTPException as exc:
            if exc.status == 403:
                self.bot.channel_health.failed(
                    meeting.guild_id, channel_id, "reminder", exc.code, now
                )
            await self._failed(claim, exc, now)
            return
        self.bot.channel_health.succeeded(meeting.guild_id, channel_id)
        await self.deliveries.mark_sent(claim, now)
        log.info("sent %s for meeting %d", claim.kind, meeting.id)

    async def _failed(self, claim: Claim, exc: discord.HTTPException, now: datetime) -> None:
        retryable = exc.status == 429 or exc.status >= 500
        code = exc.code or exc.status
        if retryable:
            retry_at = now + retry_backoff(claim.attempt)
            await self.deliveries.mark_failed(
                claim, code, permanent=False, now=now, retry_at=retry_at
            )
        else:
            await self.deliveries.mark_failed(claim, code, permanent=True, now=now)
        log.warning("%s %s failed (status %s, code %s)", claim.kind, claim.id, exc.status, code)

    async def _dm_reminders(
        self,
        guild: discord.Guild,
        meeting: Meeting,
        planned: PlannedDelivery,
        decision: Decision,
        now: datetime,
    ) -> None:
        roster = await self.rsvps.attendees(meeting.id)
        opted_out = await self.plans.opted_out(guild.id)
        for user_id in roster.going:
            if user_id in opted_out:
                continue
            row = _ledger_row(guild, meeting, planned, recipient_id=user_id)
            if decision is Decision.SKIP_TOO_LATE:
                await self.deliveries.skip_row(row, now)
                continue
            claim = await self.deliveries.claim_row(row, now)
            if claim is not None:
                await self._send_dm(claim, meeting, now)

    async def _send_dm(self, claim: Claim, meeting: Meeting, now: datetime) -> None:
        _ = await self.bot.texts(meeting.guild_id)
        text = dm_reminder_text(_, meeting) + await self._programme(_, meeting)
        result = await send_dm(self.bot, claim.recipient_id, content=text[:2000])
        if result is DmResult.SENT:
            await self.deliveries.mark_sent(claim, now)
        elif result is DmResult.CLOSED:
            await self.deliveries.mark_failed(claim, CANNOT_DM, permanent=True, now=now)
        else:
            retry_at = now + retry_backoff(claim.attempt)
            await self.deliveries.mark_failed(
                claim, "http", permanent=False, now=now, retry_at=retry_at
            )

    async def _programme(self, _: Text, meeting: Meeting) -> str:
        """The accepted programme under a reminder (after the part the copy check reads)."""
        text = programme_text(_, await programme_lines(self.bot, meeting, _))
        return "\n" + text if text else ""

    async def _retries(self, now: datetime) -> None:
        for failed in await self.deliveries.retry_due(now):
            claim = await self.deliveries.claim_retry(failed.guild_id, failed.key, now)
            if claim is not None:
                await self._resend(claim, now)

    async def _retry_interrupted(self, now: datetime) -> None:
        """Claims left `claimed` by a crash between claim and mark: one retry, once it is
        clear the claim's process is gone. A claim made before this process started is
        taken over at once (its process has ended); a younger one only after the ledger's
        staleness limit (it may be a live claim of another instance). The retry first
        looks for the copy the crashed process may have posted before it could mark it."""
        # strictly before the start: a claim of this very moment may be this process's own
        since_start = max(now - self.bot.started_at, timedelta(0)) + CLAIM_CLOCK_STEP
        stale_after = min(DEFAULT_STALE_AFTER, since_start)
        for claim in await self.deliveries.reclaim_stale(now, stale_after=stale_after):
            await self._resend(claim, now, interrupted=True)

    async def _resend(self, claim: Claim, now: datetime, *, interrupted: bool = False) -> None:
        if claim.kind in RHYTHM_KINDS:
            # The ledger is shared: a rhythm round's claim is finished by its own service.
            await self.rhythm.resume_claim(claim, now)
            return
        if claim.kind == MONTHLY_POST:
            if interrupted and await self.copies.monthly_posted(claim):
                await self._found_copy(claim, now)
                return
            if late_rule(claim.due_at, now, self.grace) is Decision.SKIP_TOO_LATE:
                await self.deliveries.mark_skipped(claim, now, "too_late")
                log.warning(
                    "skipped retry of the monthly post in guild %d: too late", claim.guild_id
                )
                return
            await self.monthly.send(claim, now)
            return
        if claim.kind == SERIES_MEETING:
            await self.series_meetings.resume(claim, now)
            return
        meeting = None
        if claim.meeting_id is not None:
            meeting = await self.meetings.find_by_id(claim.meeting_id)
        if meeting is None or meeting.cancelled or meeting.starts_at <= now:
            await self.deliveries.mark_skipped(claim, now, "gone")
            return
        if now - claim.due_at > self.grace:
            await self.deliveries.mark_skipped(claim, now, "too_late")
            log.warning("skipped retry of %s for meeting %d: too late", claim.kind, meeting.id)
            return
        if claim.kind == DM_REMINDER:
            if await self.plans.is_opted_out(meeting.guild_id, claim.recipient_id):
                await self.deliveries.mark_skipped(claim, now, "opted_out")
                return
            if interrupted and await self.copies.dm_posted(claim, meeting):
                await self._found_copy(claim, now)
                return
            await self._send_dm(claim, meeting, now)
        elif claim.kind in (CHANNEL_REMINDER, HOUR_BEFORE):
            if interrupted and await self.copies.channel_posted(claim, meeting):
                await self._found_copy(claim, now)
                return
            plan = await self.plans.get(meeting.guild_id)
            await self._send_channel(claim, meeting, plan.ping_role_id, now)
        else:
            await self.deliveries.mark_skipped(claim, now, "unknown_kind")

    async def _found_copy(self, claim: Claim, now: datetime) -> None:
        await self.deliveries.mark_sent(claim, now)
        log.info("%s %s was posted before the interruption: not sent again", claim.kind, claim.id)
