"""Privacy on the Discord side: deleting what the bot posted, and the daily sweep.

Storage does the deleting of data (`bot.storage.privacy`); this removes the intro card and
the bot's messages in match threads, and runs the sweep: members the bot can no longer find
are noted as departed (no members intent, so by `fetch_member`), their data is deleted once
the grace period has run out, and the retention limit is applied. Logs carry counts only.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import discord

from bot.storage.privacy import DeletionResult, PrivacyRepository, RetentionResult

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "privacy-sweep"
_UNKNOWN_MEMBER = 10007
_UNKNOWN_USER = 10013


class PrivacyService:
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.repo = PrivacyRepository(bot.db)

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

    async def delete(self, guild_id: int, user_id: int, actor_id: int | None) -> DeletionResult:
        """Delete the data, then what the bot posted about the member (best effort)."""
        result = await self.repo.delete(guild_id, user_id, self.bot.clock.now(), actor_id)
        await self.remove_posts(result)
        return result

    async def remove_posts(self, result: DeletionResult) -> None:
        me = self.bot.user
        for channel_id, message_id in result.cards:
            channel = self.bot.get_partial_messageable(channel_id)
            try:
                await channel.get_partial_message(message_id).delete()
            except (discord.NotFound, discord.Forbidden):
                pass
            except discord.HTTPException:
                log.warning("could not delete an intro card (%d)", message_id)
        for thread_id in result.threads:
            thread = self.bot.get_partial_messageable(thread_id)
            try:
                async for message in thread.history(limit=100):
                    if me is not None and message.author.id == me.id:
                        with contextlib.suppress(discord.NotFound):
                            await message.delete()
            except (discord.NotFound, discord.Forbidden):
                pass
            except discord.HTTPException:
                log.warning("could not clear match thread %d", thread_id)

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
            left, back = await self.check_departures()
            deleted = 0
            for departure in await self.repo.departed_due(self.bot.clock.now()):
                await self.delete(departure.guild_id, departure.user_id, actor_id=None)
                deleted += 1
            retention = await self.repo.retention_sweep(self.bot.clock.now())
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
