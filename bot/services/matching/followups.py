"""Follow-ups (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.i18n import Text
from bot.services.lifecycle import drop_jobs, job_ids, schedule_at
from bot.services.matching.common import (
    ANSWERS,
    IGNORED_LIMIT,
    JOB_PREFIX,
    MESSAGE_LIMIT,
    MISFIRE_GRACE_SECONDS,
    AnswerOutcome,
    AnswerStatus,
    FollowupView,
    followup_custom_id,
    join_names,
    mentions,
    only_users,
)
from bot.services.matching.delivery import Delivery
from bot.services.notify import DmResult, dm_channel, holds_button, send_dm
from bot.storage.matches import MatchRepository, MatchRound, MemberState, SavedGroup
from bot.storage.profiles import ProfileRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Followups:
    """ "Did you meet?": one job per pending round, each round and group asked once, silence
    counted once, answers stored (see the package docstring: **Follow-up**, **Silence**)."""

    bot: MoteplassBot
    matches: MatchRepository
    profiles: ProfileRepository
    delivery: Delivery
    followup_view: FollowupView
    lock: asyncio.Lock  # the matching service's: rounds, deliveries and asking never interleave

    def now(self) -> datetime:
        return self.bot.clock.now()

    async def close(self) -> None:
        if self.bot.scheduler.running:
            drop_jobs(self.bot.scheduler, JOB_PREFIX)

    async def sync(self) -> int:
        """One job per round whose follow-up is pending; stale jobs removed. Returns jobs."""
        scheduler = self.bot.scheduler
        if not scheduler.running:
            return 0
        now = self.now()
        wanted: set[str] = set()
        for round_ in await self.matches.pending_followups():
            if round_.followup_due_at is None:
                continue
            job_id = f"{JOB_PREFIX}{round_.id:d}"
            wanted.add(job_id)
            due = round_.followup_due_at
            schedule_at(scheduler, job_id, self._run_job, due, now, MISFIRE_GRACE_SECONDS)
        drop_jobs(scheduler, JOB_PREFIX, keep=wanted)
        return len(wanted)

    def job_ids(self) -> list[str]:
        return job_ids(self.bot.scheduler, JOB_PREFIX)

    async def _run_job(self) -> None:
        try:
            await self.run()
        except Exception:
            log.exception("match follow-up failed")

    async def run(self) -> int:
        """Ask every due round's groups "did you meet?" once (after finishing deliveries
        that failed earlier). Returns groups asked."""
        asked = 0
        async with self.lock:
            await self.delivery.resume()
            now = self.now()
            for round_ in await self.matches.due_followups(now):
                guild = self.bot.get_guild(round_.guild_id)
                if guild is None:
                    continue  # not in that server now: left for later
                if not await self.matches.claim_followup(round_.id):
                    continue
                await self.count_silence(guild, exclude=frozenset({round_.id}))
                asked += await self._ask_round(guild, round_)
            for round_ in await self.matches.rounds_with_unasked_groups():
                guild = self.bot.get_guild(round_.guild_id)
                if guild is not None:
                    asked += await self._ask_round(guild, round_)
        if asked:
            log.info("asked %d match groups whether they met", asked)
        return asked

    async def _ask_round(self, guild: discord.Guild, round_: MatchRound) -> int:
        _ = await self.bot.texts(guild.id)
        states: dict[int, list[MemberState]] = {}
        for state in await self.matches.member_states(round_.id):
            states.setdefault(state.group_id, []).append(state)
        profiles = {p.user_id: p.display_name for p in await self.profiles.all(guild.id)}
        retried = await self.matches.retried_groups(round_.id)
        asked = 0
        for group in await self.matches.groups(round_.id):
            if not group.delivered or not await self.matches.claim_group_followup(
                group.id, self.now()
            ):
                continue
            asked += 1
            await self._ask_group(_, guild, group, states.get(group.id, []), profiles, retried)
            await self.matches.mark_group_followup_sent(group.id)
        return asked

    async def _ask_group(
        self,
        _: Text,
        guild: discord.Guild,
        group: SavedGroup,
        members: list[MemberState],
        profiles: Mapping[int, str],
        retried: set[int],
    ) -> None:
        in_thread = [s.user_id for s in members if s.delivered_via == "thread"]
        by_dm = [s.user_id for s in members if s.delivered_via == "dm"]
        for uid in by_dm:
            if group.id in retried and await self._asked_by_dm(uid, group):
                continue  # the try cut off by a crash had reached this person
            others = [profiles.get(s.user_id, "?") for s in members if s.user_id != uid]
            text = _("match.followup.dm", names=join_names(others) or "—", server=guild.name)
            view = self.followup_view(_, group.id)
            if await send_dm(self.bot, uid, content=text, view=view) is not DmResult.SENT:
                in_thread.append(uid)
        if in_thread and group.thread_id is not None:
            if group.id in retried and await self._already_asked(group):
                return
            text = f"{mentions(in_thread)} {_('match.followup.question')}"
            view = self.followup_view(_, group.id)
            await self._post_in_thread(group.thread_id, text, in_thread, view=view)

    async def _already_asked(self, group: SavedGroup) -> bool:
        """Whether the question is in the group's thread already (a retried follow-up)."""
        assert group.thread_id is not None
        thread = await self.delivery.open_thread(group.thread_id)
        if thread is None:
            return False
        return await self._asked_in(thread, group)

    async def _asked_by_dm(self, user_id: int, group: SavedGroup) -> bool:
        """Whether this person's DMs hold the question already (a retried follow-up)."""
        try:
            channel = await dm_channel(self.bot, user_id)
        except discord.HTTPException:
            return False
        return await self._asked_in(channel, group)

    async def _asked_in(self, channel: discord.abc.Messageable, group: SavedGroup) -> bool:
        prefix = followup_custom_id(group.id, ANSWERS[0]).rsplit(":", 1)[0] + ":"
        return await holds_button(self.bot, channel, prefix)

    async def _post_in_thread(
        self,
        thread_id: int,
        content: str,
        users: Sequence[int],
        view: discord.ui.View | None = None,
    ) -> bool:
        """Post to the users in a match thread (adding them first: someone whose DMs closed
        since may not be in it yet)."""
        thread = await self.delivery.open_thread(thread_id)
        if thread is None:
            log.warning("match thread %d is gone", thread_id)
            return False
        try:
            for uid in users:
                with contextlib.suppress(discord.NotFound):
                    await thread.add_user(discord.Object(id=uid))
            text = content[:MESSAGE_LIMIT]
            if view is None:
                await thread.send(text, allowed_mentions=only_users(users))
            else:
                await thread.send(text, allowed_mentions=only_users(users), view=view)
        except discord.HTTPException as exc:
            log.warning("match thread %d: post failed (code %s)", thread_id, exc.code)
            return False
        return True

    async def count_silence(self, guild: discord.Guild, exclude: frozenset[int]) -> None:
        """Count the unanswered follow-ups of every earlier round once; pause and tell those
        who reached `IGNORED_LIMIT` in a row."""
        for round_ in await self.matches.rounds_to_count(guild.id):
            if round_.id in exclude or not await self.matches.claim_ignores(round_.id):
                continue
            states = await self.matches.member_states(round_.id)
            asked = [s for s in states if s.asked and s.delivered_via in ("thread", "dm")]
            ignored = [s.user_id for s in asked if s.met is None]
            answered = [s.user_id for s in asked if s.met is not None]
            paused = await self.profiles.record_ignored(
                guild.id, ignored, answered, limit=IGNORED_LIMIT
            )
            if not paused:
                continue
            threads = {g.id: g.thread_id for g in await self.matches.groups(round_.id)}
            for state in asked:
                if state.user_id in paused:
                    await self._tell_paused(guild, state.user_id, threads.get(state.group_id))

    async def _tell_paused(self, guild: discord.Guild, user_id: int, thread_id: int | None) -> None:
        _ = await self.bot.texts(guild.id)
        text = _("match.paused.notice", count=IGNORED_LIMIT, server=guild.name)
        if await send_dm(self.bot, user_id, content=text) is DmResult.SENT:
            log.info(
                "guild %d: a member was paused after %d silent rounds", guild.id, IGNORED_LIMIT
            )
            return
        if thread_id is None or not await self._post_in_thread(
            thread_id, f"<@{user_id:d}> {text}", [user_id]
        ):
            log.warning("guild %d: could not tell a paused member", guild.id)

    async def answer(self, group_id: int, user_id: int, met: str) -> AnswerOutcome:
        """Store a button answer; only a member of that group may answer."""
        round_ = await self.matches.round_of_group(group_id)
        if round_ is None:
            return AnswerOutcome(AnswerStatus.UNKNOWN, None)
        stored = "yes" if met == "collab" else met  # working together: they met
        if not await self.matches.record_answer(group_id, user_id, stored, self.now()):
            return AnswerOutcome(AnswerStatus.NOT_MEMBER, round_.guild_id)
        # Answering ends a silent streak.
        await self.profiles.record_ignored(round_.guild_id, [], [user_id], limit=IGNORED_LIMIT)
        return AnswerOutcome(AnswerStatus.SAVED, round_.guild_id)
