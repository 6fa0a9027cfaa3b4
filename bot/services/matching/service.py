"""The matching service: who takes part, a round, suggestions, pause and leave, tables and
settings; delivery and follow-ups are its parts (`delivery.py`, `followups.py`)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.match_model import (
    History,
    MatchConfig,
    Person,
    RoundResult,
    Suggestion,
    suggest_for,
)
from bot.errors import BadInput
from bot.services.lifecycle import Lifecycle
from bot.services.matching.common import (
    DELIVERIES,
    EVER_ROUNDS,
    FOLLOWUP_DAYS,
    PAUSE_WEEKS,
    TABLE_SIZE,
    WINDOW_ROUNDS,
    AnswerOutcome,
    FollowupView,
    RoundExists,
    RoundReport,
    TablePlan,
    check_range,
    history_of,
    person_of,
    reasons_to_json,
)
from bot.services.matching.delivery import Delivery
from bot.services.matching.followups import Followups
from bot.services.solver_process import round_in_child
from bot.storage.matches import GroupRecord, MatchRepository, MatchSettings
from bot.storage.meetings import MeetingRepository
from bot.storage.profiles import Profile, ProfileRepository
from bot.storage.rsvps import RsvpRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

# The solver (`bot.domain.matching`, `bot.domain.tables`) needs numpy and rustworkx: a round
# imports it in its child process (`bot.services.solver_process`), suggestions and tables
# inside their methods, so the bot starts without them (docs/benchmarks.md, "Memory at
# start") and a round leaves none of them loaded.

log = logging.getLogger(__name__)


class MatchingService(Lifecycle):
    start_failure = "matching start-up failed"

    def __init__(self, bot: MoteplassBot, followup_view: FollowupView) -> None:
        super().__init__(bot)
        self.followup_view = followup_view
        self.profiles = ProfileRepository(bot.db)
        self.matches = MatchRepository(bot.db)
        self.meetings = MeetingRepository(bot.db)
        self.rsvps = RsvpRepository(bot.db)
        # Rounds, deliveries, follow-ups and counting never interleave in one process: they
        # hold self._lock.
        self.delivery = Delivery(bot, self.matches, self.profiles)
        self.followups = Followups(
            bot, self.matches, self.profiles, self.delivery, followup_view, self._lock
        )

    # ----- lifecycle -----------------------------------------------------------------

    async def _first_start(self) -> None:
        """Finish interrupted deliveries and catch up on due follow-ups."""
        released, given_up = await self.matches.release_interrupted_followups()
        if released or given_up:
            log.warning(
                "follow-ups cut off by a restart: %d retried, %d given up",
                len(released),
                given_up,
            )
        await self.resume_deliveries()
        await self.run_followups()

    async def _every_start(self) -> None:
        await self.sync()  # the jobs, re-derived from the database

    async def close(self) -> None:
        await self.followups.close()

    async def sync(self) -> int:
        """One follow-up job per round whose follow-up is pending. Returns jobs."""
        return await self.followups.sync()

    def job_ids(self) -> list[str]:
        return self.followups.job_ids()

    async def run_followups(self) -> int:
        """Ask every due round's groups "did you meet?" once. Returns groups asked."""
        return await self.followups.run()

    async def answer(self, group_id: int, user_id: int, met: str) -> AnswerOutcome:
        return await self.followups.answer(group_id, user_id, met)

    async def resume_deliveries(self) -> int:
        """Finish every undelivered group (after a restart). Returns groups delivered."""
        async with self._lock:
            return await self.delivery.resume()

    async def delivery_channel(self, guild: discord.Guild) -> discord.TextChannel:
        return await self.delivery.channel(guild)

    # ----- who takes part --------------------------------------------------------------

    async def _going(self, guild_id: int, meeting_id: int | None) -> tuple[str | None, set[int]]:
        if meeting_id is None:
            return None, set()
        meeting = await self.meetings.require(guild_id, meeting_id)
        roster = await self.rsvps.attendees(meeting.id)
        return meeting.title, set(roster.going)

    async def _participants(self, guild_id: int, meeting_id: int | None) -> list[Profile]:
        title, going = await self._going(guild_id, meeting_id)
        only = going if title is not None else None
        return await self.profiles.participants(guild_id, self.now(), only)

    async def _history(self, guild_id: int, window: int) -> History:
        recent = await self.matches.history(guild_id, window)
        ever = await self.matches.history(guild_id, EVER_ROUNDS)
        return history_of(recent, ever)

    # ----- a round -------------------------------------------------------------------

    async def make_round(
        self,
        guild: discord.Guild,
        *,
        meeting_id: int | None,
        created_by: int | None,
        rhythm_slot: str | None = None,
    ) -> RoundReport:
        """Pair, store and deliver one round. BadInput (nothing stored) with fewer than two.
        `rhythm_slot`: the ledger key of the rhythm slot the round is for (bot.services.rhythm);
        RoundExists if that slot has its round already."""
        channel = await self.delivery_channel(guild)
        async with self._lock:
            if rhythm_slot is not None:
                existing = await self.matches.round_for_slot(guild.id, rhythm_slot)
                if existing is not None:
                    raise RoundExists(existing)
            settings = await self.matches.settings(guild.id)
            first = await self._participants(guild.id, meeting_id)
            if len(first) < 2:
                raise BadInput("match.error.too_few", count=len(first))
            # Counting earlier silence may pause someone: ask again who takes part.
            await self.followups.count_silence(guild, exclude=frozenset())
            people = await self._participants(guild.id, meeting_id)
            if len(people) < 2:
                raise BadInput("match.error.too_few", count=len(people))
            now = self.now()
            seed = secrets.randbelow(2**31)
            history = await self._history(guild.id, settings.window_rounds)
            by_id = {str(p.user_id): p for p in people}
            result = await self._solve(
                [person_of(p) for p in people],
                history,
                MatchConfig(seed=seed, window_rounds=settings.window_rounds),
            )
            records = [
                GroupRecord(
                    members=tuple((by_id[m].user_id, by_id[m].sector or "") for m in group.members),
                    score=group.score,
                    same_sector=len({by_id[m].sector for m in group.members}) == 1,
                    reasons_json=reasons_to_json(group.reasons),
                )
                for group in result.groups
            ]
            round_, groups = await self.matches.save_round(
                guild.id,
                kind="pairs",
                seed=seed,
                groups=records,
                now=now,
                meeting_id=meeting_id,
                created_by=created_by,
                followup_due=now + timedelta(days=settings.followup_days),
                rhythm_slot=rhythm_slot,
            )
            log.info(
                "match round %d in guild %d: %d people, %d groups",
                round_.id,
                guild.id,
                round_.people,
                round_.groups,
            )
            matched = {p.user_id for p in people}
            taking_part = {p.user_id for p in await self.profiles.participants(guild.id, now)}
            paused = {p.user_id for p in await self.profiles.paused(guild.id, now)}
            await self.profiles.set_priorities(guild.id, (taking_part - matched) | paused)
            delivery = await self.delivery.deliver(guild, channel, groups, settings)
        await self.sync()
        return RoundReport(
            round=round_,
            groups=tuple(groups),
            names={p.user_id: p.display_name for p in people},
            cross_sector_share=result.summary.cross_sector_share,
            delivery=delivery,
        )

    async def _solve(
        self, people: list[Person], history: History, config: MatchConfig
    ) -> RoundResult:
        """The round's groups, off the event loop: a large round takes seconds of CPU, and
        the loop must keep answering Discord (heartbeats, reactions, commands) meanwhile.
        In a child process (`bot.services.solver_process`) unless `match_in_child_process`
        is off: then in a worker thread, and numpy and rustworkx stay loaded."""
        if self.bot.settings.match_in_child_process:
            return await round_in_child(people, history, config)
        from bot.domain.matching import match_round

        return await asyncio.to_thread(match_round, people, history, config)

    # ----- for one person ------------------------------------------------------------

    async def require_profile(self, guild_id: int, user_id: int) -> Profile:
        profile = await self.profiles.get(guild_id, user_id)
        if profile is None or not profile.complete:
            raise BadInput("match.error.no_profile")
        return profile

    async def suggestions(self, guild_id: int, user_id: int) -> list[tuple[Profile, Suggestion]]:
        """Up to three people from other sectors this person has never been matched with."""
        profile = await self.require_profile(guild_id, user_id)
        settings = await self.matches.settings(guild_id)
        people = await self.profiles.participants(guild_id, self.now())
        by_id = {str(p.user_id): p for p in people}
        history = await self._history(guild_id, settings.window_rounds)
        found = suggest_for(
            person_of(profile),
            [person_of(p) for p in people],
            history,
            k=3,
            config=MatchConfig(window_rounds=settings.window_rounds),
        )
        return [(by_id[s.person], s) for s in found]

    async def pause(self, guild_id: int, user_id: int, weeks: int) -> datetime:
        check_range(weeks, PAUSE_WEEKS, "match.error.pause_weeks")
        await self.require_profile(guild_id, user_id)
        now = self.now()
        until = now + timedelta(weeks=weeks)
        await self.profiles.set_matching(guild_id, user_id, "paused", now, paused_until=until)
        return until

    async def set_status(self, guild_id: int, user_id: int, status: str) -> None:
        """`active` (resume) or `left`."""
        await self.require_profile(guild_id, user_id)
        await self.profiles.set_matching(guild_id, user_id, status, self.now())

    # ----- organisers ----------------------------------------------------------------

    async def tables(self, guild_id: int, size: int, meeting_id: int | None) -> TablePlan:
        """Tables of about `size` for those going to the meeting (or everyone taking part).

        Not stored: the seed is the meeting id (or today's date), so asking again gives the
        same tables for the same people."""
        check_range(size, TABLE_SIZE, "match.error.table_size")
        title, going = await self._going(guild_id, meeting_id)
        now = self.now()
        people = await self.profiles.participants(
            guild_id, now, going if title is not None else None
        )
        if len(people) < 2:
            raise BadInput("match.error.too_few", count=len(people))
        settings = await self.matches.settings(guild_id)
        history = await self._history(guild_id, settings.window_rounds)
        seed = meeting_id if meeting_id is not None else now.date().toordinal()
        from bot.domain.tables import seat

        seating = seat(
            [person_of(p) for p in people],
            history,
            size,
            MatchConfig(seed=seed, window_rounds=settings.window_rounds),
        )
        return TablePlan(title, seating, {str(p.user_id): p for p in people})

    async def update_settings(
        self,
        guild_id: int,
        *,
        delivery: str | None = None,
        window: int | None = None,
        followup_days: int | None = None,
    ) -> MatchSettings:
        current = await self.matches.settings(guild_id)
        if delivery is not None and delivery not in DELIVERIES:
            raise BadInput("match.error.delivery")
        if window is not None:
            check_range(window, WINDOW_ROUNDS, "match.error.window")
        if followup_days is not None:
            check_range(followup_days, FOLLOWUP_DAYS, "match.error.followup_days")
        updated = dataclasses.replace(
            current,
            delivery=delivery or current.delivery,
            window_rounds=window if window is not None else current.window_rounds,
            followup_days=followup_days if followup_days is not None else current.followup_days,
        )
        if updated != current:
            await self.matches.save_settings(updated)
        return updated
