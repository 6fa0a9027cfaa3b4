"""The meeting service: announcing (publishing steps that survive a crash), answers by
reaction, the coalescing embed updater and reconciliation at start."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import sqlite3
import time
from collections.abc import Coroutine, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.db import error_name, is_transient
from bot.domain.meeting import EditRequest, Meeting
from bot.domain.rsvp import EMOJI, Choice, Outcome, React, Unreact, choice_for_emoji
from bot.services.answers import AnswerBook
from bot.services.meetings.notices import OwedNotices
from bot.services.meetings.publishing import Publisher
from bot.startup import backoff_delay
from bot.storage.checkins import CheckinRepository
from bot.storage.erasure_markers import ErasureMarkers
from bot.storage.meetings import MeetingRepository
from bot.storage.notices import NoticeRepository
from bot.storage.rsvps import RsvpRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

# After a failed write, the reactions of a meeting are read again after about 0.5, 1, 2 … s
# (with jitter), at most 30 s apart, until it works.
RECONCILE_RETRY_FIRST = 0.5
RECONCILE_RETRY_CAP = 30.0

OLD_MESSAGE_EDIT_CAP = 30046
RSVP_CHOICES = (Choice.GOING, Choice.MAYBE, Choice.NOT_GOING)


class MeetingService:
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.meetings = MeetingRepository(bot.db)
        self.rsvps = RsvpRepository(bot.db)
        # one drainer per meeting commits the queued answers; close() waits for it as for
        # the event handlers that queued them
        self.answers = AnswerBook(self.rsvps, keep=bot.keep_until_closed)
        self.notices = NoticeRepository(bot.db)
        self.checkins = CheckinRepository(bot.db)
        # announcement or roster message id → meeting id, for the open meetings
        self._by_message: dict[int, int] = {}
        # meetings being reconciled: live events wait here and are applied afterwards
        self._holding: dict[int, list[tuple[int, Choice, bool]]] = {}
        self._reconcile_lock = asyncio.Lock()
        # meeting id → (guild, channel, announcement message) for the open meetings
        self._targets: dict[int, tuple[int, int, int]] = {}
        # (meeting, user) → their latest RSVP reaction, to never remove a fresh one
        self._latest: dict[tuple[int, int], Choice | None] = {}
        # meeting → old reactions to take away once its reactions are quiet, and when the
        # latest RSVP reaction event for it arrived (monotonic)
        self._stale: dict[int, set[tuple[int, Choice]]] = {}
        self._last_event: dict[int, float] = {}
        self._cleaners: set[int] = set()
        # (meeting, user, choice) the bot asked Discord to remove: their remove events are
        # the bot's own doing, not people reacting
        self._removing: set[tuple[int, int, Choice]] = set()
        self._background: set[asyncio.Task[object]] = set()
        # meetings whose reactions are read again after a failed write (busy or full disk)
        self._reconcile_pending: set[int] = set()
        self._retrying: set[asyncio.Task[None]] = set()
        self.owed = OwedNotices(bot, self.meetings, self.notices)
        self.publisher = Publisher(
            bot, self.meetings, self.rsvps, self.owed, self.index, self.unindex, self.reconcile
        )
        self.updater = self.publisher.updater  # the announcement's coalescing editor
        self.reconciled = asyncio.Event()
        # Deleted members' reactions that are not answers: (meeting, user) → whether the
        # bot removed them (mirrors `erasure_markers` for the open meetings).
        self.markers = ErasureMarkers(bot.db)
        self._erased: dict[tuple[int, int], bool] = {}
        # (meeting, user) → monotonic time the bot finished taking a deleted member's
        # reactions off: a reading of the reactions begun before then may still show them.
        self._removed_at: dict[tuple[int, int], float] = {}
        # Shards whose gateway dropped and has not resumed or identified again yet: events
        # arriving then may be replays from before a deletion.
        self._gap: set[int] = set()
        self._recheck: set[int] = set()  # meetings with deleted members' events held back
        self._inflight: dict[int, int] = {}  # user → answers being written right now

    # ----- helpers -------------------------------------------------------------------

    def now(self) -> datetime:
        return self.bot.clock.now()

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settled(self) -> None:
        await self.reconciled.wait()
        while self._background or self.answers.writing():
            busy = [*self._background, *self.answers.writing()]
            await asyncio.gather(*busy, return_exceptions=True)
        await self.updater.drain()

    def index(self, meeting: Meeting) -> None:
        if meeting.channel_id is not None and meeting.message_id is not None:
            self._targets[meeting.id] = (meeting.guild_id, meeting.channel_id, meeting.message_id)
        for message_id in (meeting.message_id, meeting.roster_message_id):
            if message_id is not None:
                self._by_message[message_id] = meeting.id

    def unindex(self, meeting_id: int) -> None:
        self._targets.pop(meeting_id, None)
        for key in [k for k, v in self._by_message.items() if v == meeting_id]:
            del self._by_message[key]

    # ----- announcing (the steps are in `Publisher`) --------------------------------

    async def announce_channel(self, guild: discord.Guild) -> discord.TextChannel:
        return await self.publisher.announce_channel(guild)

    async def publish(self, guild: discord.Guild, meeting: Meeting) -> tuple[Meeting, str | None]:
        return await self.publisher.publish(guild, meeting)

    async def repost(self, guild: discord.Guild, meeting: Meeting) -> Meeting:
        return await self.publisher.repost(guild, meeting)

    async def sync_changed(self, guild: discord.Guild, meeting: Meeting) -> str | None:
        return await self.publisher.sync_changed(guild, meeting)

    async def edit(
        self, guild: discord.Guild, meeting: Meeting, request: EditRequest
    ) -> tuple[Meeting, str | None]:
        return await self.publisher.edit(guild, meeting, request)

    async def cancel(self, guild: discord.Guild, meeting: Meeting, reason: str | None) -> Meeting:
        return await self.publisher.cancel(guild, meeting, reason)

    async def complete_all(self) -> None:
        await self.publisher.complete_all()

    async def refresh(self, meeting_id: int) -> None:
        await self.publisher.refresh(meeting_id)

    async def checkin_state(self, meeting_id: int) -> tuple[list[int], set[int]]:
        """Who said they were going (in order) and who is checked in now."""
        roster = await self.rsvps.attendees(meeting_id)
        return list(roster.going), await self.checkins.user_ids(meeting_id)

    async def save_checkins(
        self,
        meeting: Meeting,
        shown: set[int],
        chosen: set[int],
        picked: frozenset[int],
        actor_id: int,
    ) -> tuple[list[int], set[int]]:
        """Apply what one check-in message changed (from `shown` to `chosen`) to what is
        stored now, which others may have changed meanwhile: someone whose data was deleted
        since is not checked in again by an old list; only a fresh pick (`picked`) adds
        someone who is not going. Returns who is going and who is checked in."""
        current = await self.checkins.user_ids(meeting.id)
        roster = await self.rsvps.attendees(meeting.id)
        going_now = set(roster.going)
        added = {u for u in chosen - shown if u in going_now or u in picked}
        wanted = (current - (shown - chosen)) | added
        stored = await self.checkins.record(
            meeting.guild_id, meeting.id, wanted, actor_id, self.now()
        )
        return list(roster.going), {c.user_id for c in stored}

    # ----- reactions -----------------------------------------------------------------

    async def on_reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        meeting_id = self._by_message.get(payload.message_id)
        if meeting_id is None or payload.emoji.id is not None:
            return
        me = self.bot.user
        if me is not None and payload.user_id == me.id:
            return
        if payload.member is not None and payload.member.bot:
            return
        choice = choice_for_emoji(payload.emoji.name)
        if choice is None:
            return
        if added or (meeting_id, payload.user_id, choice) not in self._removing:
            self._last_event[meeting_id] = time.monotonic()
        else:
            self._removing.discard((meeting_id, payload.user_id, choice))
        if (meeting_id, payload.user_id) in self._erased and not await self._fresh_after_erasure(
            meeting_id, payload.user_id, added
        ):
            return
        held = self._holding.get(meeting_id)
        if held is not None:
            held.append((payload.user_id, choice, added))
            return
        self._apply(meeting_id, payload.user_id, choice, added)

    def _reconcile_later(self, meeting_id: int) -> None:
        if meeting_id in self._reconcile_pending:
            return
        self._reconcile_pending.add(meeting_id)
        task = asyncio.ensure_future(self._retry_reconcile(meeting_id))
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)

    async def _retry_reconcile(self, meeting_id: int) -> None:
        """Reconcile one meeting after a failed write, with backoff, until it succeeds."""
        try:
            for attempt in itertools.count(1):
                await asyncio.sleep(
                    backoff_delay(attempt, initial=RECONCILE_RETRY_FIRST, cap=RECONCILE_RETRY_CAP)
                )
                target = self._targets.get(meeting_id)
                if target is None:
                    return
                try:
                    meeting = await self.meetings.find_by_id(meeting_id)
                    if meeting is None or meeting.channel_id is None or meeting.message_id is None:
                        return
                    await self.reconcile(meeting)
                except sqlite3.OperationalError as exc:
                    if not is_transient(exc):
                        raise
                    log.warning(
                        "meeting %d: reading reactions again failed (%s), attempt %d",
                        meeting_id,
                        error_name(exc),
                        attempt,
                    )
                    continue
                except discord.HTTPException as exc:
                    log.warning("meeting %d: reading reactions failed: %s", meeting_id, exc.code)
                    continue
                log.info(
                    "meeting %d: reactions read again after %d attempt(s)", meeting_id, attempt
                )
                return
        finally:
            self._reconcile_pending.discard(meeting_id)

    async def _fresh_after_erasure(self, meeting_id: int, user_id: int, added: bool) -> bool:
        """A reaction event of a member whose data was deleted: True if it is a new answer.

        Only a reaction added live counts (and ends the marker). One arriving while the
        gateway is down or replaying may be from before the deletion: it is held back and
        the announcement is read again once the gateway is back. A removal changes no
        answer; when the bot could not take the old reactions away, the announcement is
        read again to drop the marker once they are all gone.
        """
        removed = self._erased[(meeting_id, user_id)]
        if self._gap:
            self._recheck.add(meeting_id)
            return False
        if not added:
            if not removed:
                self._spawn(self._reread(meeting_id))
            return False
        del self._erased[(meeting_id, user_id)]
        await self.markers.clear(meeting_id, [user_id])
        return True

    async def _reread(self, meeting_id: int) -> None:
        meeting = await self.meetings.find_by_id(meeting_id)
        if meeting is None or meeting.id not in self._targets:
            return
        async with self._reconcile_lock:
            try:
                await self.reconcile(meeting)
            except discord.HTTPException as exc:
                log.warning("reading meeting %d again failed: %s", meeting_id, exc.code)

    def gateway_down(self, shard_id: int) -> None:
        self._gap.add(shard_id)

    def gateway_up(self, shard_id: int) -> None:
        """RESUMED or a new session: read again the announcements whose events were held."""
        self._gap.discard(shard_id)
        if self._gap:
            return
        meetings, self._recheck = self._recheck, set()
        for meeting_id in meetings:
            self._spawn(self._reread(meeting_id))

    def reactions_removed(self, meeting_id: int, user_id: int) -> None:
        """The privacy job has just removed a deleted member's reactions (see
        `_without_erased`: a reading begun before now may still show them)."""
        self._removed_at[(meeting_id, user_id)] = time.monotonic()

    async def erased(self, guild_id: int, user_id: int) -> None:
        """A member's data was deleted: take the markers in, drop what is held in memory,
        and withdraw an answer that an event from before the deletion wrote meanwhile."""
        for key in [k for k in self._erased if k[1] == user_id]:
            target = self._targets.get(key[0])
            if target is None or target[0] == guild_id:
                del self._erased[key]
        markers = await self.markers.in_guild(guild_id, user_id)
        for meeting_id, removed in markers.items():
            self._erased[(meeting_id, user_id)] = removed
            self._latest.pop((meeting_id, user_id), None)
            held = self._holding.get(meeting_id)
            if held:
                held[:] = [h for h in held if h[0] != user_id]
        if not self._inflight.get(user_id):
            return
        for _ in range(500):  # an answer of theirs being written: wait for it, then undo it
            if not self._inflight.get(user_id):
                break
            await asyncio.sleep(0.01)
        for meeting_id in markers:
            for choice in Choice:
                outcome = await self.answers.apply(meeting_id, Unreact(user_id, choice), self.now())
                if outcome.changed:
                    self.updater.mark(meeting_id)
                if outcome.promoted:
                    self._spawn(self.send_owed(meeting_id))  # promotions are owed with the answers

    def _apply(self, meeting_id: int, user_id: int, choice: Choice, added: bool) -> None:
        """Queue one answer for its meeting's drainer and return at once (no task per event
        waits for its commit); `_answered` follows the commit."""
        self._inflight[user_id] = self._inflight.get(user_id, 0) + 1
        event = React(user_id, choice, 0) if added else Unreact(user_id, choice)
        if added:
            self._latest[(meeting_id, user_id)] = choice
        elif self._latest.get((meeting_id, user_id)) is choice:
            self._latest[(meeting_id, user_id)] = None
        answered = functools.partial(self._answered, meeting_id, user_id, choice, added)
        self.answers.post(meeting_id, event, self.now(), answered)

    def _answered(
        self,
        meeting_id: int,
        user_id: int,
        choice: Choice,
        added: bool,
        outcome: Outcome | BaseException,
    ) -> None:
        """One answer committed (or not): what its outcome asks of Discord."""
        left = self._inflight[user_id] - 1
        if left:
            self._inflight[user_id] = left
        else:
            del self._inflight[user_id]
        if isinstance(outcome, BaseException):
            self._not_stored(meeting_id, outcome)
            return
        if outcome.changed:
            self.updater.mark(meeting_id)
        if outcome.reactions_to_remove:
            self._remove_later(meeting_id, outcome.reactions_to_remove)
        if outcome.promoted:
            self._spawn(self.send_owed(meeting_id))  # promotions are owed with the answers

    def _not_stored(self, meeting_id: int, exc: BaseException) -> None:
        if isinstance(exc, sqlite3.OperationalError) and is_transient(exc):
            # Not lost: the reactions on the announcement are read again until it works.
            log.warning(
                "reaction on meeting %d not stored (%s): reading the reactions again later",
                meeting_id,
                error_name(exc),
            )
            self._reconcile_later(meeting_id)
        elif isinstance(exc, Exception):
            log.error("reaction on meeting %d not stored", meeting_id, exc_info=exc)
        # cancelled (stopped past the grace): the next start reads the reactions

    def _remove_later(self, meeting_id: int, removals: Iterable[tuple[int, Choice]]) -> None:
        """Take away old reactions once the meeting's reactions have been quiet a while.

        In a burst the bot lags behind the gateway: a reaction it thinks stale may have been
        taken back and given again in events it has not read yet, and removing it then
        would remove the fresh one (and withdraw the answer). Waiting for a quiet moment
        lets those events arrive first; each removal is checked against the latest one.
        """
        self._stale.setdefault(meeting_id, set()).update(removals)
        if meeting_id not in self._cleaners:
            self._cleaners.add(meeting_id)
            self._spawn(self._remove_old(meeting_id))

    async def _quiet(self, meeting_id: int, started: float) -> bool:
        """Wait until no RSVP reaction arrived for the quiet period: True, or False once
        30 periods have gone by since `started` without one (then removals go ahead)."""
        quiet = self.bot.settings.reaction_cleanup_quiet
        while True:
            now = time.monotonic()
            wait = self._last_event.get(meeting_id, float("-inf")) + quiet - now
            if wait <= 0:
                return True
            if now - started >= 30 * quiet:
                return False
            await asyncio.sleep(wait)

    async def _remove_old(self, meeting_id: int) -> None:
        started = time.monotonic()
        try:
            while self._stale.get(meeting_id):
                patient = await self._quiet(meeting_id, started)
                removals = sorted(self._stale.pop(meeting_id, set()))
                await self._remove_now(meeting_id, removals, interruptible=patient)
        finally:
            self._cleaners.discard(meeting_id)
            self._stale.pop(meeting_id, None)
            self._removing = {r for r in self._removing if r[0] != meeting_id}

    async def _remove_now(
        self, meeting_id: int, removals: list[tuple[int, Choice]], *, interruptible: bool
    ) -> None:
        target = self._targets.get(meeting_id)
        if target is None:
            return
        _guild_id, channel_id, message_id = target
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            return
        if not channel.permissions_for(channel.guild.me).manage_messages:
            return  # the answer is recorded anyway; the old reaction simply stays
        quiet = self.bot.settings.reaction_cleanup_quiet
        for n, (user_id, choice) in enumerate(removals):
            last = self._last_event.get(meeting_id, float("-inf"))
            if interruptible and time.monotonic() - last < quiet:
                # a new burst: the rest waits for the next quiet moment
                self._stale.setdefault(meeting_id, set()).update(removals[n:])
                return
            if self._latest.get((meeting_id, user_id)) is choice:
                continue  # they chose it again meanwhile
            self._removing.add((meeting_id, user_id, choice))
            try:
                await self.bot.http.remove_reaction(channel_id, message_id, EMOJI[choice], user_id)
            except discord.HTTPException:
                self._removing.discard((meeting_id, user_id, choice))

    async def send_owed(self, meeting_id: int, *, check_dms: bool = False) -> None:
        """Send the meeting's owed notices, each once (see `OwedNotices.send`)."""
        await self.owed.send(meeting_id, check_dms=check_dms)

    # ----- reconciliation ------------------------------------------------------------

    async def reconcile_all(self) -> None:
        """Complete what a crash interrupted, then bring every open announcement's answers
        in line with its reactions (and give it back any reaction of the bot's it lacks)."""
        async with self._reconcile_lock:
            try:
                await self.complete_all()
                await self.markers.prune(self.now())
                self._erased = await self.markers.all()
                for meeting in await self.meetings.list_open_announcements(self.now()):
                    self.index(meeting)
                    try:
                        await self.reconcile(meeting)
                        guild = self.bot.get_guild(meeting.guild_id)
                        if guild is not None and meeting.scheduled_event_id is None:
                            # e.g. announced before the bot was given Manage Events
                            await self.publisher.ensure_event(guild, meeting)
                    except discord.HTTPException as exc:
                        log.warning("reconciling meeting %d failed: %s", meeting.id, exc.code)
            finally:
                self.reconciled.set()

    async def reconcile(self, meeting: Meeting) -> None:
        assert meeting.channel_id is not None and meeting.message_id is not None
        me = self.bot.user
        self._holding[meeting.id] = []
        read_started = time.monotonic()
        try:
            message = await self.publisher.ensure_reactions(meeting)
            if message is None:
                return
            present = {
                choice_for_emoji(r["emoji"].get("name"))
                for r in message.get("reactions", [])
                if not r["emoji"].get("id")
            }
            observed: dict[Choice, list[int]] = {}
            for choice in (Choice.GOING, Choice.MAYBE, Choice.NOT_GOING):
                users: list[int] = []
                if choice in present:
                    after: int | None = None
                    while True:
                        page = await self.bot.http.get_reaction_users(
                            meeting.channel_id, meeting.message_id, EMOJI[choice], 100, after
                        )
                        users.extend(
                            int(u["id"])
                            for u in page
                            if not u.get("bot") and (me is None or int(u["id"]) != me.id)
                        )
                        if len(page) < 100:
                            break
                        after = int(page[-1]["id"])
                observed[choice] = users
            observed = await self._without_erased(meeting.id, observed, read_started)
            outcome = await self.answers.reconcile(meeting.id, observed, self.now())
            if outcome.promoted:
                self._spawn(self.send_owed(meeting.id))
            if outcome.changed or not await self.publisher.shows_answers(meeting, message):
                self.updater.mark(meeting.id)
        finally:
            held = self._holding.pop(meeting.id, [])
            for user_id, choice, added in held:
                self._apply(meeting.id, user_id, choice, added)

    async def _without_erased(
        self, meeting_id: int, observed: dict[Choice, list[int]], read_started: float
    ) -> dict[Choice, list[int]]:
        """Leave out deleted members' old reactions (reconciliation cannot see when a
        reaction was made: while the old ones may still be there, none of theirs counts).

        Where the bot removed them, any reaction seen now is new: it counts and the marker
        goes, unless this reading began before the removal was done (it may show the old
        ones).
        Where it could not, the marker goes once none of theirs is left.
        """
        markers = await self.markers.for_meeting(meeting_id)
        if not markers:
            return observed
        seen = {user for users in observed.values() for user in users}

        def stale(user_id: int) -> bool:
            done = self._removed_at.get((meeting_id, user_id))
            return done is not None and read_started <= done

        kept = {u for u, removed in markers.items() if u in seen and not removed}
        early = {u for u, removed in markers.items() if u in seen and removed and stale(u)}
        cleared = [u for u, removed in markers.items() if u in seen and removed and not stale(u)]
        cleared += [u for u, removed in markers.items() if not removed and u not in seen]
        await self.markers.clear(meeting_id, cleared)
        for user_id in cleared:
            self._erased.pop((meeting_id, user_id), None)
        for user_id in kept:
            self._erased[(meeting_id, user_id)] = False
        ignored = kept | early
        return {c: [u for u in users if u not in ignored] for c, users in observed.items()}

    async def on_message_delete(self, message_id: int) -> None:
        meeting_id = self._by_message.get(message_id)
        if meeting_id is None:
            return
        meeting = await self.meetings.find_by_id(meeting_id)
        if meeting is None:
            return
        if message_id == meeting.message_id:
            await self.meetings.mark_announcement_missing(meeting.guild_id, meeting.id, self.now())
            self.unindex(meeting.id)
        else:
            updated = await self.meetings.set_roster_message(
                meeting.guild_id, meeting.id, None, self.now()
            )
            self.unindex(meeting.id)
            self.index(updated)

    async def close(self) -> None:
        await self.updater.close()
        tasks: list[asyncio.Task[Any]] = [*self._background, *self._retrying]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
