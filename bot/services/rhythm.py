"""Matching on a rhythm: the bot makes the round by itself, exactly once per slot.

The database is the source of truth. A server's rhythm (`/match settings rhythm:`, stored
in `match_settings`) gives its slots (`bot.domain.rhythm`). `sync()` keeps one APScheduler
job per server (`match-rhythm:<guild id>`) at its next slot, derived from the database at
start, when the settings change, and every `SAFETY_INTERVAL` (meetings move the slots of
"the week after each meeting"); jobs only wake `tick()`, which decides.

For the latest slot that has come (`last_slot`) `tick()`:

* skips it (a `skipped` ledger row, logged) when it is later than the server's grace window
  (`reminder_grace_hours`, the reminders' late rule): never a round run late;
* else claims it in the delivery ledger (`match-rhythm:<guild>:<slot UTC>`, the ledger
  reminders use), makes the round through `MatchingService.make_round` (the path of
  `/match run`) with the slot's key stored on the round, and marks the claim;
* then reports once (its own claim, `match-rhythm-report:…`) to the report channel, else
  by DM to whoever last set the rhythm.

After a crash between the claim and the mark, the reminders' start-up takes the claim over
once (`ReminderService._retry_interrupted`) and hands it here (`resume_claim`): a round
stored for the slot is finished (its delivery resumed), never made again.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.reminders import Decision, late_rule
from bot.domain.rhythm import (
    AFTER_MEETING,
    OFF,
    RHYTHMS,
    Rhythm,
    last_slot,
    next_slot,
    parse_time,
    parse_weekday,
    report_key,
    slot_key,
)
from bot.domain.team import PROJECT_LEAD
from bot.errors import BadInput, MoteplassError
from bot.i18n import Text
from bot.permissions import usable_channel
from bot.services.lifecycle import Lifecycle, drop_jobs, job_ids, schedule_at, schedule_every
from bot.services.matching import (
    DeliveryReport,
    MatchingService,
    RoundExists,
    RoundReport,
    chunks,
    round_summary,
)
from bot.services.meetings import timestamps
from bot.services.notify import CANNOT_DM, DmResult, dm_channel, send_dm
from bot.services.profiles import guild_taxonomy
from bot.storage.deliveries import Claim, DeliveryRepository
from bot.storage.matches import MatchRepository, MatchRound, MatchSettings
from bot.storage.meetings import MeetingRepository
from bot.storage.profiles import ProfileRepository
from bot.storage.team import TeamRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

ROUND_KIND = "match_rhythm"
REPORT_KIND = "match_rhythm_report"
KINDS = frozenset({ROUND_KIND, REPORT_KIND})
JOB_PREFIX = "match-rhythm:"
SAFETY_JOB = "match-rhythm-safety"
SAFETY_INTERVAL = timedelta(minutes=5)
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600  # a late job only wakes tick(), which decides
# The latest slot of a four-week rhythm is at most 28 days back; a meeting's slot is in
# the week after its week, at most 13 days after it.
LOOKBACK = timedelta(days=29)
MEETING_LOOKBACK = timedelta(days=14)
MEETINGS_AHEAD = timedelta(days=400)
REPORT_NEEDS = ("view_channel", "send_messages")
# A report cut off by a crash is looked for among this many messages since its slot (less
# COPY_LOOKBACK: a host clock ahead of Discord's).
COPY_SEARCH_LIMIT = 100
COPY_LOOKBACK = timedelta(hours=1)


class RhythmService(Lifecycle):
    def __init__(self, bot: MoteplassBot, matching: MatchingService) -> None:
        super().__init__(bot)
        self.matching = matching
        self.matches = MatchRepository(bot.db)
        self.team = TeamRepository(bot.db)
        self.meetings = MeetingRepository(bot.db)
        self.deliveries = DeliveryRepository(bot.db)
        self.profiles = ProfileRepository(bot.db)
        self.grace = timedelta(hours=bot.settings.reminder_grace_hours)

    # ----- lifecycle -----------------------------------------------------------------

    async def _first_start(self) -> None:
        """Catch up on a slot that came while the bot was away."""
        await self.tick()

    async def _every_start(self) -> None:
        await self.sync()  # idempotent: one job id per server

    async def close(self) -> None:
        if self.bot.scheduler.running:
            drop_jobs(self.bot.scheduler, JOB_PREFIX, SAFETY_JOB)

    # ----- slots ---------------------------------------------------------------------

    async def rhythm_of(self, settings: MatchSettings) -> Rhythm | None:
        if settings.rhythm == OFF or settings.rhythm_anchor is None:
            return None
        zone = (await self.bot.settings_for(settings.guild_id)).timezone
        return Rhythm(
            settings.rhythm,
            settings.rhythm_weekday,
            settings.rhythm_time,
            zone,
            settings.rhythm_anchor,
        )

    async def _meetings(
        self, guild_id: int, rhythm: Rhythm, start: datetime, end: datetime
    ) -> list[datetime]:
        if rhythm.kind != AFTER_MEETING:
            return []
        return await self.meetings.starts_between(guild_id, start, end)

    async def upcoming(self, settings: MatchSettings, now: datetime) -> datetime | None:
        """The server's next slot after `now` (None: off, or no meeting to follow)."""
        rhythm = await self.rhythm_of(settings)
        if rhythm is None:
            return None
        meetings = await self._meetings(
            settings.guild_id, rhythm, now - MEETING_LOOKBACK, now + MEETINGS_AHEAD
        )
        return next_slot(rhythm, now, meetings)

    # ----- scheduling ----------------------------------------------------------------

    async def _run_job(self) -> None:
        await self._guarded("match rhythm tick", self.tick)

    async def _safety(self) -> None:
        await self._run_job()
        await self._guarded("match rhythm sync", self.sync)

    async def sync(self) -> int:
        """One job per server with a rhythm, at its next slot; others dropped. Returns the
        number of jobs wanted."""
        scheduler = self.bot.scheduler
        if not scheduler.running:
            return 0
        now = self.now()
        present = {guild.id for guild in self.bot.guilds}
        wanted: set[str] = set()
        for settings in await self.matches.rhythm_settings():
            if settings.guild_id not in present:
                continue
            due = await self.upcoming(settings, now)
            if due is None:
                continue
            job_id = f"{JOB_PREFIX}{settings.guild_id:d}"
            wanted.add(job_id)
            schedule_at(scheduler, job_id, self._run_job, due, now, MISFIRE_GRACE_SECONDS)
        drop_jobs(scheduler, JOB_PREFIX, keep=wanted)
        if scheduler.get_job(SAFETY_JOB) is None:
            schedule_every(
                scheduler, SAFETY_JOB, self._safety, SAFETY_INTERVAL, MISFIRE_GRACE_SECONDS
            )
        return len(wanted)

    def job_ids(self) -> list[str]:
        return job_ids(self.bot.scheduler, JOB_PREFIX)

    # ----- settings ------------------------------------------------------------------

    @staticmethod
    def validate(
        guild: discord.Guild,
        rhythm: str | None,
        weekday: str | None,
        at: str | None,
        report_channel_id: int | None,
    ) -> tuple[int | None, time | None]:
        """The weekday and time read; BadInput (`match.error.*`) or ChannelUnavailable
        before anything is saved."""
        if rhythm is not None and rhythm not in RHYTHMS:
            raise BadInput("match.error.rhythm")
        day = parse_weekday(weekday) if weekday is not None else None
        local = parse_time(at) if at is not None else None
        if report_channel_id is not None:
            usable_channel(guild, report_channel_id, REPORT_NEEDS)
        return day, local

    async def update(
        self,
        guild: discord.Guild,
        user_id: int,
        *,
        rhythm: str | None = None,
        weekday: str | None = None,
        at: str | None = None,
        report_channel_id: int | None = None,
    ) -> MatchSettings:
        """Change the rhythm (counted again from now, reported to `user_id`; the same values
        again change nothing) and/or the report channel. BadInput with a `match.error.*`
        key for a bad rhythm, weekday or time."""
        day, local = self.validate(guild, rhythm, weekday, at, report_channel_id)
        current = await self.matches.settings(guild.id)
        updated = dataclasses.replace(
            current,
            rhythm=rhythm or current.rhythm,
            rhythm_weekday=current.rhythm_weekday if day is None else day,
            rhythm_time=local or current.rhythm_time,
        )
        if updated != current or (rhythm not in (None, OFF) and current.rhythm_anchor is None):
            # a new rhythm counts from now; the same one given again keeps its cadence
            updated = dataclasses.replace(updated, rhythm_anchor=self.now(), rhythm_set_by=user_id)
        if report_channel_id is not None:
            updated = dataclasses.replace(updated, report_channel_id=report_channel_id)
        if updated != current:
            await self.matches.save_settings(updated)
            log.info("guild %d: match rhythm %s", guild.id, updated.rhythm)
            await self.sync()
        return updated

    # ----- the work ------------------------------------------------------------------

    async def tick(self) -> None:
        """Run (or skip) every server's latest slot that has come, once."""
        async with self._lock:
            now = self.now()
            present = {guild.id: guild for guild in self.bot.guilds}
            for settings in await self.matches.rhythm_settings():
                guild = present.get(settings.guild_id)
                if guild is None:
                    continue
                try:
                    await self._tick_guild(guild, settings, now)
                except Exception:
                    log.exception("match rhythm for guild %d failed", guild.id)

    async def _tick_guild(
        self, guild: discord.Guild, settings: MatchSettings, now: datetime
    ) -> None:
        rhythm = await self.rhythm_of(settings)
        if rhythm is None:
            return
        since = now - LOOKBACK
        meetings = await self._meetings(guild.id, rhythm, since - MEETING_LOOKBACK, now)
        slot = last_slot(rhythm, now, since, meetings)
        if slot is None:
            return
        key = slot_key(guild.id, slot)
        if await self.deliveries.get(guild.id, key) is not None:
            return  # run, skipped or in hand already (a read: the safety tick comes often)
        if late_rule(slot, now, self.grace) is Decision.SKIP_TOO_LATE:
            if await self.deliveries.record_skipped(
                guild.id, key, ROUND_KIND, due_at=slot, now=now
            ):
                log.warning("guild %d: match round of slot %s skipped: too late", guild.id, key)
            return
        claim = await self.deliveries.claim(guild.id, key, ROUND_KIND, due_at=slot, now=now)
        if claim is not None:
            await self._run_slot(claim, guild)

    async def resume_claim(self, claim: Claim, now: datetime) -> None:
        """A claim of this service taken over after a crash (or a retry), from the
        reminders' ledger pass: finish it without a second round."""
        guild = self.bot.get_guild(claim.guild_id)
        if guild is None:
            await self.deliveries.mark_skipped(claim, now, "gone")
            return
        async with self._lock:
            if claim.kind == REPORT_KIND:
                round_ = await self.matches.round_for_slot(
                    guild.id, slot_key(guild.id, claim.due_at)
                )
                if round_ is None:
                    await self.deliveries.mark_skipped(claim, now, "no_round")
                    return
                _ = await self.bot.texts(guild.id)
                lines = await self._summary(_, guild, await self._stored_report(guild, round_))
                if await self._reported(guild.id, lines[0], claim.due_at):
                    await self.deliveries.mark_sent(claim, now)
                    log.info("guild %d: report of %s was sent before a crash", guild.id, claim.key)
                    return
                await self._send_report(claim, guild, lines)
                return
            stored = await self.matches.round_for_slot(guild.id, claim.key)
            if stored is None and late_rule(claim.due_at, now, self.grace) is (
                Decision.SKIP_TOO_LATE
            ):
                await self.deliveries.mark_skipped(claim, now, "too_late")
                log.warning("guild %d: interrupted match round %s too late", guild.id, claim.key)
                return
            await self._run_slot(claim, guild)

    async def _run_slot(self, claim: Claim, guild: discord.Guild) -> None:
        """Make the slot's round (or finish the one a crash left), mark it, report once."""
        slot = claim.due_at
        _ = await self.bot.texts(guild.id)
        report: RoundReport
        try:
            report = await self.matching.make_round(
                guild, meeting_id=None, created_by=None, rhythm_slot=claim.key
            )
        except RoundExists as exists:
            log.info(
                "guild %d: slot %s has round %d: finishing it", guild.id, claim.key, exists.round.id
            )
            await self.matching.resume_deliveries()
            report = await self._stored_report(guild, exists.round)
        except MoteplassError as exc:
            # too few taking part, or no usable introductions channel: nothing stored
            await self.deliveries.mark_skipped(claim, self.now(), exc.key)
            log.warning(
                "guild %d: match round of slot %s not made (%s)", guild.id, claim.key, exc.key
            )
            reason = _(exc.key, **exc.params)
            line = _("match.rhythm.report.not_run", when=timestamps(slot), reason=reason)
            await self._report(guild, slot, [line])
            return
        await self.deliveries.mark_sent(claim, self.now())
        await self._report(guild, slot, await self._summary(_, guild, report))

    async def _summary(self, _: Text, guild: discord.Guild, report: RoundReport) -> list[str]:
        taxonomy = await guild_taxonomy(self.bot.db, guild.id)
        when = report.round.created_at
        return [
            _("match.rhythm.report.title", when=timestamps(when)),
            *round_summary(_, report, taxonomy),
        ]

    async def _stored_report(self, guild: discord.Guild, round_: MatchRound) -> RoundReport:
        """A round's report from what is stored (the round was made before a crash)."""
        groups = await self.matches.groups(round_.id)
        states = await self.matches.member_states(round_.id)
        delivery = DeliveryReport(
            groups=sum(1 for g in groups if g.delivered),
            threads=len({g.thread_id for g in groups if g.thread_id is not None}),
            dms=sum(1 for s in states if s.delivered_via == "dm"),
            gone=[s.user_id for s in states if s.delivered_via == "gone"],
            failed=sum(1 for g in groups if not g.delivered),
        )
        names = {p.user_id: p.display_name for p in await self.profiles.all(guild.id)}
        share = round_.cross_sector / round_.groups if round_.groups else 1.0
        return RoundReport(round_, tuple(groups), names, share, delivery)

    # ----- the report ------------------------------------------------------------------

    async def _report(self, guild: discord.Guild, slot: datetime, lines: list[str]) -> None:
        key = report_key(guild.id, slot)
        claim = await self.deliveries.claim(guild.id, key, REPORT_KIND, due_at=slot, now=self.now())
        if claim is not None:
            await self._send_report(claim, guild, lines)

    async def _dm_recipient(self, settings: MatchSettings) -> int | None:
        """Without a report channel the report goes by DM to the team's project lead (the
        first given the role, `/team set`), else to whoever last set the rhythm."""
        for holding in await self.team.holdings(settings.guild_id):
            if holding.role == PROJECT_LEAD:
                return holding.user_id
        return settings.rhythm_set_by

    async def _send_report(self, claim: Claim, guild: discord.Guild, lines: list[str]) -> None:
        """To the report channel if set, else by DM to the project lead (or whoever set the
        rhythm). Display names only, no mentions (the bot's default allowed_mentions is
        none)."""
        settings = await self.matches.settings(guild.id)
        recipient = await self._dm_recipient(settings)
        now = self.now()
        pages = chunks(lines)
        if settings.report_channel_id is not None:
            channel = self.bot.get_partial_messageable(
                settings.report_channel_id, guild_id=guild.id
            )
            try:
                for page in pages:
                    await channel.send(page)
            except discord.HTTPException as exc:
                await self.deliveries.mark_failed(
                    claim, exc.code or exc.status, permanent=True, now=now
                )
                log.warning(
                    "guild %d: match rhythm report refused in its channel (status %s, code %s)",
                    guild.id,
                    exc.status,
                    exc.code,
                )
                return
        elif recipient is not None:
            for page in pages:
                result = await send_dm(self.bot, recipient, content=page)
                if result is not DmResult.SENT:
                    code = CANNOT_DM if result is DmResult.CLOSED else "http"
                    await self.deliveries.mark_failed(claim, code, permanent=True, now=now)
                    log.warning("guild %d: match rhythm report not sent by DM (%s)", guild.id, code)
                    return
        else:
            await self.deliveries.mark_skipped(claim, now, "no_recipient")
            log.warning("guild %d: match rhythm report has nobody to go to", guild.id)
            return
        await self.deliveries.mark_sent(claim, now)
        log.info("guild %d: match rhythm report of %s sent", guild.id, claim.key)

    async def _reported(self, guild_id: int, title: str, slot: datetime) -> bool:
        """Whether the report (its first line) is in its channel or DM already: the crash
        came between posting it and marking it. Read errors count as not found."""
        settings = await self.matches.settings(guild_id)
        me = self.bot.user
        if me is None:
            return False
        try:
            channel: discord.abc.Messageable
            if settings.report_channel_id is not None:
                channel = self.bot.get_partial_messageable(
                    settings.report_channel_id, guild_id=guild_id
                )
            elif (recipient := await self._dm_recipient(settings)) is not None:
                channel = await dm_channel(self.bot, recipient)
            else:
                return False
            async for message in channel.history(
                limit=COPY_SEARCH_LIMIT, after=slot - COPY_LOOKBACK, oldest_first=True
            ):
                if message.author.id == me.id and message.content.startswith(title):
                    return True
        except discord.HTTPException as exc:
            log.warning(
                "guild %d: could not look for a report copy (status %s)", guild_id, exc.status
            )
        return False
