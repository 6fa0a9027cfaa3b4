"""Privacy on the Discord side: deleting what the bot posted, and the daily sweep.

Storage does the deleting of data (`bot.storage.privacy`); this removes the intro card, the
bot's messages in match threads and the member's reactions on open announcements, and runs
the sweep. A deletion is a job written down before anything is deleted; each step is
crossed off when done, so a crash at any step is finished at the next start
(`resume_pending`, on every new gateway session) without undoing or repeating anything.
The sweep: members the bot can no longer find are noted as departed (no members intent, so
by `fetch_member`), their data is deleted once the grace period has run out, and the
retention limit is applied. Logs carry counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.rsvp import EMOJI
from bot.storage.erasure_markers import ErasureMarkers
from bot.storage.privacy import ErasureJob, ErasureStep, PrivacyRepository, RetentionResult

if TYPE_CHECKING:
    from bot.bot import MoteplassBot
    from bot.services.introductions import IntroductionService
    from bot.services.meetings import MeetingService
    from bot.services.programme import ProgrammeService
    from bot.services.team import TeamService

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "privacy-sweep"
_UNKNOWN_MEMBER = 10007
_UNKNOWN_USER = 10013


class PrivacyService:
    def __init__(
        self,
        bot: MoteplassBot,
        *,
        profiles: IntroductionService,
        meetings: MeetingService,
        programme: ProgrammeService,
        team: TeamService,
    ) -> None:
        self.bot = bot
        # What a deletion must reach outside the database (memory, cards, embeds).
        self.profiles = profiles
        self.meetings = meetings
        self.programme = programme
        self.team = team
        self.repo = PrivacyRepository(bot.db)
        self.markers = ErasureMarkers(bot.db)
        self._lock = asyncio.Lock()
        self.resumed = asyncio.Event()

    def schedule(self) -> None:
        """The sweep once a day (and once shortly after start-up)."""
        self.bot.scheduler.add_job(
            self.run_sweep,
            "interval",
            hours=24,
            id=SWEEP_JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            next_run_time=self.bot.clock.now() + timedelta(minutes=10),
        )

    def unschedule(self) -> None:
        if self.bot.scheduler.get_job(SWEEP_JOB_ID) is not None:
            self.bot.scheduler.remove_job(SWEEP_JOB_ID)

    async def settled(self) -> None:
        await self.resumed.wait()

    async def delete(self, guild_id: int, user_id: int, actor_id: int | None) -> ErasureJob:
        """Write the deletion down, delete the rows, then what the bot posted about the member
        and their reactions on open announcements. A crash anywhere is finished at start."""
        job = await self.repo.request_erasure(guild_id, user_id, actor_id, self.bot.clock.now())
        return await self.finish(job)

    async def resume_pending(self) -> int:
        """Finish every deletion a crash or a Discord error left unfinished. Returns how many."""
        try:
            finished = 0
            for job in await self.repo.pending_erasures():
                await self.finish(job)
                finished += 1
            if finished:
                log.info("privacy: %d interrupted deletions resumed", finished)
            return finished
        finally:
            self.resumed.set()

    async def finish(self, job: ErasureJob) -> ErasureJob:
        """Every step of one job, each idempotent and crossed off when done."""
        async with self._lock:
            done = await self.repo.erase(job.id, self.bot.clock.now())
            if done is None:  # finished meanwhile by another run
                return ErasureJob(job.id, job.guild_id, job.user_id, job.actor_id, True, job.found)
            await self._forget_in_memory(done.guild_id, done.user_id)
            for step in await self.repo.erasure_steps(job.id):
                if await self._step(done, step):
                    await self.repo.step_done(step.id)
            if not await self.repo.finish_erasure(job.id):
                log.warning("privacy: deletion %d left unfinished; retried later", job.id)
            # The team card no longer names them (stale until edited: the next start).
            await self.team.refresh_stale(done.guild_id)
            return done

    async def _forget_in_memory(self, guild_id: int, user_id: int) -> None:
        """What other services keep about the member outside the database."""
        self.profiles.forget(guild_id, user_id)
        await self.meetings.erased(guild_id, user_id)
        await self.programme.erased(guild_id)  # their accepted items now show as deleted

    async def _step(self, job: ErasureJob, step: ErasureStep) -> bool:
        """One Discord step; True when done (or impossible for good), False to retry later."""
        try:
            if step.kind == "card":
                assert step.message_id is not None
                channel = self.bot.get_partial_messageable(step.channel_id)
                with contextlib.suppress(discord.NotFound, discord.Forbidden):
                    await channel.get_partial_message(step.message_id).delete()
            elif step.kind == "thread":
                await self._clear_thread(step.channel_id)
            else:
                return await self._remove_reactions(job, step)
        except discord.HTTPException as exc:
            log.warning("privacy: %s step of deletion %d failed: %s", step.kind, job.id, exc.code)
            return False
        return True

    async def _clear_thread(self, thread_id: int) -> None:
        me = self.bot.user
        thread = self.bot.get_partial_messageable(thread_id)
        try:
            async for message in thread.history(limit=100):
                if me is not None and message.author.id == me.id:
                    with contextlib.suppress(discord.NotFound):
                        await message.delete()
        except (discord.NotFound, discord.Forbidden):
            pass

    async def _remove_reactions(self, job: ErasureJob, step: ErasureStep) -> bool:
        """Take the member's ✅ 🤔 ❌ off an open announcement, where the bot may (Manage
        Messages; also for someone who left). Where it may not, the marker stays."""
        assert step.message_id is not None and step.meeting_id is not None
        guild = self.bot.get_guild(job.guild_id)
        if guild is None:
            return False  # not connected to that server yet: later
        channel = guild.get_channel(step.channel_id)
        if not isinstance(channel, discord.TextChannel):
            return True  # the channel is gone, and the reactions with it
        if not channel.permissions_for(guild.me).manage_messages:
            return True  # the marker makes reconciliation ignore them
        try:
            for emoji in EMOJI.values():
                await self.bot.http.remove_reaction(
                    step.channel_id, step.message_id, emoji, job.user_id
                )
        except discord.NotFound:
            log.info("announcement of meeting %s is gone: no reactions to remove", step.meeting_id)
        except discord.Forbidden:
            return True  # permissions changed meanwhile: the marker stays
        self.meetings.reactions_removed(step.meeting_id, job.user_id)
        await self.markers.removed(step.meeting_id, job.user_id)
        await self.meetings.erased(job.guild_id, job.user_id)
        return True

    async def _present(self, guild: discord.Guild, user_id: int) -> bool | None:
        """True if a member, False if gone, None if we cannot tell right now."""
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound as exc:
            return False if exc.code in (_UNKNOWN_MEMBER, _UNKNOWN_USER) else None
        except discord.HTTPException:
            return None
        return True

    async def check_departures(self) -> tuple[int, int]:
        """Note who left and who came back, in every server the bot is in."""
        now = self.bot.clock.now()
        left = back = 0
        for guild_id in await self.repo.guilds():
            guild = self.bot.get_guild(guild_id)
            if guild is None:
                continue  # the bot is not there (or not yet): decide nothing
            for user_id in await self.repo.people(guild_id):
                present = await self._present(guild, user_id)
                if present is True and await self.repo.clear_departed(guild_id, user_id):
                    back += 1
                elif present is False and await self.repo.mark_departed(guild_id, user_id, now):
                    left += 1
        return left, back

    async def run_sweep(self) -> tuple[int, RetentionResult]:
        """Departures, deletions after the grace period, retention. Returns (deleted, kept)."""
        try:
            await self.resume_pending()
            left, back = await self.check_departures()
            deleted = 0
            for departure in await self.repo.departed_due(self.bot.clock.now()):
                await self.delete(departure.guild_id, departure.user_id, actor_id=None)
                deleted += 1
            retention = await self.repo.retention_sweep(self.bot.clock.now())
            await self.markers.prune(self.bot.clock.now())
        except Exception:
            log.exception("privacy sweep failed")
            raise
        log.info(
            "privacy sweep: %d left, %d back, %d deleted after the grace period, %d old rows",
            left,
            back,
            deleted,
            retention.total,
        )
        return deleted, retention
