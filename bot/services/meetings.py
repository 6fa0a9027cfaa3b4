"""Announcements, RSVP by reaction, the coalescing embed updater and reconciliation.

Discord-facing glue around `bot.storage.meetings` and `bot.domain.rsvp`: the database is
the source of truth, the announcement embed shows it. Reaction events are applied through
`RsvpRepository.apply` (which batches bursts into shared transactions); the embed is
refreshed by a `Coalescer`, so a burst of answers costs a few edits, not one per click.

Publishing and notices survive a crash between any two steps: each step is stored before
the next (`publish_state`, owed notices), and `complete_all` finishes them at start, looking
first for what Discord already has (docs/reliability/crash.md).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import time
from collections.abc import Coroutine, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.db import error_name, is_transient
from bot.domain.dates import format_range_local
from bot.domain.meeting import EditRequest, Meeting, PublishState, changes_from_edit
from bot.domain.programme import EMBED_LIMIT, FIELD_LIMIT, fit_lines
from bot.domain.rsvp import EMOJI, Choice, Counts, React, Unreact, choice_for_emoji
from bot.errors import BadInput, MoteplassError
from bot.i18n import Text
from bot.permissions import usable_channel
from bot.services.answers import AnswerBook
from bot.services.coalescer import Coalescer
from bot.services.notify import DmResult, dm_already_sent, only_user, send_dm
from bot.services.programme import programme_lines
from bot.startup import backoff_delay
from bot.storage.checkins import CheckinRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.notices import NoticeRepository
from bot.storage.privacy import ErasureMarkers
from bot.storage.rsvps import RsvpRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

OLD_MESSAGE_EDIT_CAP = 30046
UNKNOWN_MESSAGE = 10008
COLOUR_OPEN = discord.Colour(0x2E7D32)
COLOUR_CANCELLED = discord.Colour(0xB71C1C)
RSVP_CHOICES = (Choice.GOING, Choice.MAYBE, Choice.NOT_GOING)


def timestamps(moment: datetime) -> str:
    """`<t:…:F> (<t:…:R>)`: every reader sees their own local time."""
    unix = int(moment.timestamp())
    return f"<t:{unix}:F> (<t:{unix}:R>)"


def announcement_embed(
    _: Text, meeting: Meeting, counts: Counts, programme: Sequence[str] = ()
) -> discord.Embed:
    cancelled = meeting.cancelled
    title = _("meeting.embed.cancelled_title", title=meeting.title) if cancelled else meeting.title
    description = meeting.description
    if cancelled and meeting.cancel_reason:
        description = _("meeting.embed.cancel_reason", reason=meeting.cancel_reason)
    embed = discord.Embed(
        title=title[:256],
        description=description or None,
        colour=COLOUR_CANCELLED if cancelled else COLOUR_OPEN,
    )
    end = int(meeting.ends_at.timestamp())
    embed.add_field(
        name=_("meeting.embed.when"),
        value=f"{timestamps(meeting.starts_at)} – <t:{end}:t>",
        inline=False,
    )
    if meeting.place:
        embed.add_field(name=_("meeting.embed.where"), value=meeting.place, inline=False)
    programme_at = len(embed.fields)
    if meeting.capacity is not None:
        embed.add_field(
            name=_("meeting.embed.capacity"),
            value=_("meeting.embed.capacity_value", going=counts.going, capacity=meeting.capacity),
        )
    if meeting.rsvp_deadline is not None:
        embed.add_field(
            name=_("meeting.embed.deadline"),
            value=f"<t:{int(meeting.rsvp_deadline.timestamp())}:f>",
        )
    embed.add_field(name=_("meeting.embed.answers"), value=counts_line(_, counts), inline=False)
    if not cancelled:
        embed.set_footer(text=_("meeting.embed.how_to_answer"))
    if programme and not cancelled:
        # The accepted programme, in what is left of Discord's limits ("and N more").
        name = _("programme.embed.field")
        room = min(FIELD_LIMIT, EMBED_LIMIT - len(embed) - len(name))
        value = fit_lines(programme, room, lambda n: _("programme.embed.more", count=n))
        if value:
            embed.insert_field_at(programme_at, name=name, value=value, inline=False)
    return embed


def notice_text(_: Text, meeting: Meeting, when: str, kind: str) -> str | None:
    """The DM of an owed notice (None: no longer worth sending)."""
    if kind == "cancelled":
        text = _("meeting.dm.cancelled", title=meeting.title)
        if meeting.cancel_reason:
            text += "\n" + _("meeting.embed.cancel_reason", reason=meeting.cancel_reason)
        return text
    if meeting.cancelled:
        return None
    if kind == "promoted":
        return _("meeting.dm.promoted", title=meeting.title, when=when)
    if kind.startswith("changed:"):
        return _("meeting.dm.changed", title=meeting.title, when=when, place=meeting.place or "—")
    return None


def counts_line(_: Text, counts: Counts) -> str:
    return _(
        "meeting.embed.counts",
        going=counts.going,
        maybe=counts.maybe,
        not_going=counts.not_going,
        waitlist=counts.waitlist,
    )


# After a failed write, the reactions of a meeting are read again after about 0.5, 1, 2 … s
# (with jitter), at most 30 s apart, until it works.
RECONCILE_RETRY_FIRST = 0.5
RECONCILE_RETRY_CAP = 30.0

NO_EVENT_PERMISSION = "meeting.no_event_permission"
EVENT_NOT_UPDATED = "meeting.event_not_updated"


def event_failure_key(exc: discord.HTTPException) -> str:
    """Missing permission only when Discord says so (403, or code 50013); anything else
    (404 from a server without the route, 5xx, a refused body) is "could not be updated"."""
    if isinstance(exc, discord.Forbidden) or exc.status == 403 or exc.code == 50013:
        return NO_EVENT_PERMISSION
    return EVENT_NOT_UPDATED


class MeetingService:
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.meetings = MeetingRepository(bot.db)
        self.rsvps = RsvpRepository(bot.db)
        self.answers = AnswerBook(self.rsvps)
        self.notices = NoticeRepository(bot.db)
        self.checkins = CheckinRepository(bot.db)
        self.updater: Coalescer[int] = Coalescer(
            self._flush, interval=bot.settings.embed_edit_interval
        )
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
        # meeting → the lock of the one task sending its owed notices (see send_owed)
        self._owing: dict[int, asyncio.Lock] = {}
        # one publishing step at a time per meeting (a command, a series, start-up)
        self._publishing: dict[int, asyncio.Lock] = {}
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
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
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

    async def announce_channel(self, guild: discord.Guild) -> discord.TextChannel:
        settings = await self.bot.guild_settings.get(guild.id)
        needs = ("view_channel", "send_messages", "embed_links")
        return usable_channel(guild, settings.announce_channel_id, needs)

    # ----- announcing ----------------------------------------------------------------
    # Publishing is a chain of steps, each stored before the next begins (publish_state,
    # migration 0009): post (state `posting` first), store the id (`posted`), add the three
    # reactions, mirror the event, `done`. `complete` runs the same chain from wherever a
    # crash stopped it, looking for what Discord already has before doing anything again.

    def _lock_for(self, meeting_id: int) -> asyncio.Lock:
        return self._publishing.setdefault(meeting_id, asyncio.Lock())

    async def publish(self, guild: discord.Guild, meeting: Meeting) -> tuple[Meeting, str | None]:
        """Announce a new meeting and mirror it as an event. The second value is the
        catalogue key of a note when the events list could not be updated (see
        `mirror_event`). A meeting whose publishing already started (a series resuming
        after a crash) is completed instead, never doubled."""
        async with self._lock_for(meeting.id):
            meeting = await self.meetings.require(guild.id, meeting.id)
            if meeting.publish_state is PublishState.DONE:
                return meeting, None
            if meeting.publish_state is not PublishState.NEW:
                await self._complete(guild, meeting)
                return await self.meetings.require(guild.id, meeting.id), None
            meeting = await self.announce(guild, meeting)
            note = await self.mirror_event(guild, meeting)
            meeting = await self.meetings.set_published(guild.id, meeting.id, self.now())
            return meeting, note

    async def repost(self, guild: discord.Guild, meeting: Meeting) -> Meeting:
        """A fresh announcement (the old one was deleted), with the answers read back."""
        async with self._lock_for(meeting.id):
            self.unindex(meeting.id)
            meeting = await self.announce(guild, meeting)
            await self.reconcile(meeting)
            return await self.meetings.set_published(guild.id, meeting.id, self.now())

    async def sync_changed(self, guild: discord.Guild, meeting: Meeting) -> str | None:
        """After an edit or a cancellation (stored together with the notices it owes): the
        embed, the notices, the event; then publishing is `done` again. Returns the note
        key when the events list could not be updated."""
        note = None
        async with self._lock_for(meeting.id):
            try:
                await self._flush(meeting.id)
            except discord.HTTPException as exc:
                log.warning("announcement of meeting %d not updated: %s", meeting.id, exc.code)
            await self.send_owed(meeting.id)
            if meeting.scheduled_event_id is not None:
                note = await self.mirror_event(guild, meeting)
            await self.meetings.set_published(guild.id, meeting.id, self.now())
        return note

    async def edit(
        self, guild: discord.Guild, meeting: Meeting, request: EditRequest
    ) -> tuple[Meeting, str | None]:
        """`/meeting edit`: the edit rules (`changes_from_edit`), stored with the notices it
        owes (people told of a new time or place, the waitlist moved up if the capacity
        grew), then shown everywhere. Returns the meeting and the note key (events list)."""
        changes = changes_from_edit(meeting, request, self.now())
        result = await self.meetings.update(guild.id, meeting.id, changes, self.now())
        self.bot.dispatch("meeting_changed", result.meeting.id)
        note = await self.sync_changed(guild, result.meeting)
        return result.meeting, note

    async def cancel(self, guild: discord.Guild, meeting: Meeting, reason: str | None) -> Meeting:
        """`/meeting cancel`: stored with a notice owed to everyone who answered, then shown."""
        result = await self.meetings.cancel(guild.id, meeting.id, self.now(), reason)
        if not result.newly_cancelled:
            raise BadInput("meeting.error.cancelled")
        self.bot.dispatch("meeting_changed", meeting.id)
        await self.sync_changed(guild, result.meeting)
        return result.meeting

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

    async def announce(self, guild: discord.Guild, meeting: Meeting) -> Meeting:
        """Post the announcement with its three reactions and store where it is."""
        channel = await self.announce_channel(guild)
        _ = await self.bot.texts(guild.id)
        counts = await self.rsvps.counts(meeting.id)
        meeting = await self.meetings.set_posting(guild.id, meeting.id, self.now())
        programme = await programme_lines(self.bot, meeting, _)
        try:
            message = await channel.send(embed=announcement_embed(_, meeting, counts, programme))
        except discord.Forbidden as exc:
            self.bot.channel_health.failed(
                guild.id, channel.id, "announcement", exc.code, self.now()
            )
            raise
        self.bot.channel_health.succeeded(guild.id, channel.id)
        meeting = await self.meetings.set_announcement(
            guild.id, meeting.id, channel.id, message.id, self.now()
        )
        self.index(meeting)
        await self._add_reactions(meeting, RSVP_CHOICES)
        return meeting

    async def _add_reactions(self, meeting: Meeting, choices: Iterable[Choice]) -> None:
        assert meeting.channel_id is not None and meeting.message_id is not None
        for choice in choices:
            try:
                await self.bot.http.add_reaction(
                    meeting.channel_id, meeting.message_id, EMOJI[choice]
                )
            except discord.HTTPException:
                log.warning("could not add reaction to meeting %d", meeting.id)

    async def mirror_event(self, guild: discord.Guild, meeting: Meeting) -> str | None:
        """Create or update the Discord scheduled event. None when it worked, else the
        catalogue key of a note for the organiser (the announcement itself is not touched)."""
        _ = await self.bot.texts(guild.id)
        location = (meeting.place or _("meeting.embed.no_place"))[:100]
        try:
            if meeting.scheduled_event_id is None:
                if meeting.cancelled:
                    return None
                event = await guild.create_scheduled_event(
                    name=meeting.title[:100],
                    start_time=meeting.starts_at,
                    end_time=meeting.ends_at,
                    entity_type=discord.EntityType.external,
                    privacy_level=discord.PrivacyLevel.guild_only,
                    location=location,
                    description=(meeting.description or "")[:1000],
                )
                await self.meetings.set_scheduled_event(guild.id, meeting.id, event.id, self.now())
            else:
                event = await guild.fetch_scheduled_event(meeting.scheduled_event_id)
                if meeting.cancelled:
                    if event.status is discord.EventStatus.scheduled:
                        await event.cancel()
                elif (
                    event.name,
                    event.start_time,
                    event.end_time,
                    event.location,
                    event.description or "",
                ) != (
                    meeting.title[:100],
                    meeting.starts_at,
                    meeting.ends_at,
                    location,
                    (meeting.description or "")[:1000],
                ):
                    await event.edit(
                        name=meeting.title[:100],
                        start_time=meeting.starts_at,
                        end_time=meeting.ends_at,
                        location=location,
                        description=(meeting.description or "")[:1000],
                    )
        except discord.HTTPException as exc:
            key = event_failure_key(exc)
            if key == NO_EVENT_PERMISSION:
                log.info("no Manage Events in guild %d: meetings are not mirrored", guild.id)
            else:
                log.warning(
                    "scheduled event for meeting %d failed: HTTP %d, code %d",
                    meeting.id,
                    exc.status,
                    exc.code,
                )
            return key
        return None

    async def complete_all(self) -> None:
        """At start: finish every meeting whose publishing (or an edit's sync) a crash
        interrupted, and send the notices recorded but not sent. Each step looks first for
        what Discord already has."""
        for meeting in await self.meetings.list_unfinished(self.now()):
            try:
                await self.complete(meeting)
            except (discord.HTTPException, MoteplassError) as exc:
                code = getattr(exc, "code", None) or getattr(exc, "key", "")
                log.warning("completing meeting %d failed: %s", meeting.id, code)
        for meeting_id in await self.notices.meetings_owing_notices():
            await self.send_owed(meeting_id, check_dms=True)

    async def complete(self, meeting: Meeting) -> None:
        guild = self.bot.get_guild(meeting.guild_id)
        if guild is None:
            return
        async with self._lock_for(meeting.id):
            current = await self.meetings.find_by_id(meeting.id)
            if current is not None and current.publish_state is not PublishState.DONE:
                await self._complete(guild, current)

    async def _complete(self, guild: discord.Guild, meeting: Meeting) -> None:
        if meeting.publish_state in (PublishState.NEW, PublishState.POSTING):
            found = None
            if meeting.publish_state is PublishState.POSTING:
                found = await self._find_announcement(meeting)
            if found is not None:
                channel_id, message_id = found
                meeting = await self.meetings.set_announcement(
                    guild.id, meeting.id, channel_id, message_id, self.now()
                )
                log.info("meeting %d: announcement found after a restart", meeting.id)
            elif meeting.cancelled:
                # Cancelled before it was ever posted: nothing to announce.
                await self.meetings.set_published(guild.id, meeting.id, self.now(), force=True)
                return
            else:
                meeting = await self.announce(guild, meeting)
                log.info("meeting %d: announced after a restart", meeting.id)
        if meeting.message_id is not None and not meeting.announcement_missing:
            self.index(meeting)
            await self._ensure_reactions(meeting)
        await self._ensure_event(guild, meeting)
        await self._flush(meeting.id)
        await self.meetings.set_published(guild.id, meeting.id, self.now())

    async def _find_announcement(self, meeting: Meeting) -> tuple[int, int] | None:
        """The announcement a crash kept us from storing: among the channel's last 50
        messages, the bot's showing this meeting's start and not stored for any meeting (so
        a repost never adopts the old one). No time bound: the host's clock and Discord's
        may disagree."""
        settings = await self.bot.guild_settings.get(meeting.guild_id)
        channel_id = settings.announce_channel_id
        me = self.bot.user
        if channel_id is None or me is None:
            return None
        try:
            messages = await self.bot.http.logs_from(channel_id, 50)
        except discord.HTTPException:
            return None
        taken = await self.meetings.message_ids(meeting.guild_id)
        start = f"<t:{int(meeting.starts_at.timestamp())}:F>"
        for message in messages:
            embeds = message.get("embeds") or []
            if int(message["author"]["id"]) != me.id or int(message["id"]) in taken or not embeds:
                continue
            if any(start in f.get("value", "") for f in embeds[0].get("fields") or []):
                return channel_id, int(message["id"])
        return None

    async def _ensure_event(self, guild: discord.Guild, meeting: Meeting) -> None:
        """When the server lets the bot: the meeting's event exists once and matches it (an
        event created but not stored before a crash is adopted, not made again)."""
        if not guild.me.guild_permissions.manage_events:
            return
        if meeting.scheduled_event_id is None and not meeting.cancelled:
            event_id = await self._find_event(guild, meeting)
            if event_id is not None:
                meeting = await self.meetings.set_scheduled_event(
                    guild.id, meeting.id, event_id, self.now()
                )
        await self.mirror_event(guild, meeting)

    async def _find_event(self, guild: discord.Guild, meeting: Meeting) -> int | None:
        """The event a crash kept us from storing (the bot's, same name and start)."""
        try:
            events = await guild.fetch_scheduled_events()
        except discord.HTTPException:
            return None
        taken = await self.meetings.scheduled_event_ids(guild.id)
        me = self.bot.user
        for event in events:
            if (
                event.id not in taken
                and (me is None or event.creator_id == me.id)
                and event.name == meeting.title[:100]
                and event.start_time == meeting.starts_at
            ):
                return event.id
        return None

    async def _ensure_reactions(self, meeting: Meeting) -> Any:
        """The announcement as Discord has it, with any of ✅ 🤔 ❌ the bot lacks added.
        None (and marked missing) when it was deleted."""
        assert meeting.channel_id is not None and meeting.message_id is not None
        try:
            message = await self.bot.http.get_message(meeting.channel_id, meeting.message_id)
        except discord.NotFound:
            await self.meetings.mark_announcement_missing(meeting.guild_id, meeting.id, self.now())
            self.unindex(meeting.id)
            log.info("announcement of meeting %d was deleted while offline", meeting.id)
            return None
        if meeting.cancelled:
            return message
        mine = {
            choice_for_emoji(r["emoji"].get("name"))
            for r in message.get("reactions", [])
            if r.get("me") and not r["emoji"].get("id")
        }
        missing = [c for c in RSVP_CHOICES if c not in mine]
        if missing:
            log.info("meeting %d: %d reactions added back", meeting.id, len(missing))
            await self._add_reactions(meeting, missing)
        return message

    async def refresh(self, meeting_id: int) -> None:
        self.updater.mark(meeting_id)

    async def _embed(self, meeting: Meeting, counts: Counts) -> discord.Embed:
        _ = await self.bot.texts(meeting.guild_id)
        programme = await programme_lines(self.bot, meeting, _)
        return announcement_embed(_, meeting, counts, programme)

    async def _shows_answers(self, meeting: Meeting, message: Any) -> bool:
        """Whether the announcement as read from Discord already shows what an edit would
        (so a start with nothing changed edits nothing: edits of messages older than an
        hour are capped). A roster message is never taken as up to date."""
        embeds = message.get("embeds") or []
        if meeting.roster_message_id is not None or not embeds:
            return False
        wanted = (await self._embed(meeting, await self.rsvps.counts(meeting.id))).to_dict()

        def shown(embed: Any) -> tuple[object, ...]:
            fields = [
                (f.get("name"), f.get("value"), bool(f.get("inline")))
                for f in embed.get("fields") or []
            ]
            footer = (embed.get("footer") or {}).get("text")
            return (
                embed.get("title"),
                embed.get("description"),
                fields,
                footer,
                embed.get("color"),
            )

        return shown(embeds[0]) == shown(wanted)

    async def _flush(self, meeting_id: int) -> None:
        meeting = await self.meetings.find_by_id(meeting_id)
        if meeting is None or meeting.channel_id is None or meeting.message_id is None:
            return
        if meeting.announcement_missing:
            return
        _ = await self.bot.texts(meeting.guild_id)
        counts = await self.rsvps.counts(meeting_id)
        channel = self.bot.get_partial_messageable(meeting.channel_id, guild_id=meeting.guild_id)
        target = meeting.roster_message_id or meeting.message_id
        roster_text = _("meeting.roster", title=meeting.title, counts=counts_line(_, counts))
        try:
            if meeting.roster_message_id is not None:
                await channel.get_partial_message(target).edit(content=roster_text)
            else:
                embed = await self._embed(meeting, counts)
                await channel.get_partial_message(target).edit(embed=embed)
        except discord.NotFound:
            if target == meeting.message_id:
                await self.meetings.mark_announcement_missing(
                    meeting.guild_id, meeting.id, self.now()
                )
                self.unindex(meeting.id)
                log.info("announcement of meeting %d is gone", meeting.id)
            else:
                await self.meetings.set_roster_message(
                    meeting.guild_id, meeting.id, None, self.now()
                )
                self.updater.mark(meeting_id)
        except discord.Forbidden as exc:
            # Lost View Channel (or more) while running: the answers are stored anyway and
            # the announcement is brought up to date by the next change once it works.
            health = self.bot.channel_health
            health.failed(meeting.guild_id, meeting.channel_id, "update", exc.code, self.now())
        except discord.HTTPException as exc:
            if exc.code != OLD_MESSAGE_EDIT_CAP:
                raise
            # Discord caps edits of messages older than an hour: post a fresh roster.
            message = await channel.send(
                roster_text,
                reference=channel.get_partial_message(meeting.message_id),
                mention_author=False,
            )
            updated = await self.meetings.set_roster_message(
                meeting.guild_id, meeting.id, message.id, self.now()
            )
            self.index(updated)

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
        try:
            await self._apply(meeting_id, payload.user_id, choice, added)
        except sqlite3.OperationalError as exc:
            if not is_transient(exc):
                raise
            # Not lost: the reactions on the announcement are read again until it works.
            log.warning(
                "reaction on meeting %d not stored (%s): reading the reactions again later",
                meeting_id,
                error_name(exc),
            )
            self._reconcile_later(meeting_id)

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

    async def _apply(self, meeting_id: int, user_id: int, choice: Choice, added: bool) -> None:
        self._inflight[user_id] = self._inflight.get(user_id, 0) + 1
        try:
            await self._apply_now(meeting_id, user_id, choice, added)
        finally:
            left = self._inflight[user_id] - 1
            if left:
                self._inflight[user_id] = left
            else:
                del self._inflight[user_id]

    async def _apply_now(self, meeting_id: int, user_id: int, choice: Choice, added: bool) -> None:
        event = React(user_id, choice, 0) if added else Unreact(user_id, choice)
        if added:
            self._latest[(meeting_id, user_id)] = choice
        elif self._latest.get((meeting_id, user_id)) is choice:
            self._latest[(meeting_id, user_id)] = None
        outcome = await self.answers.apply(meeting_id, event, self.now())
        if outcome.changed:
            self.updater.mark(meeting_id)
        if outcome.reactions_to_remove:
            self._remove_later(meeting_id, outcome.reactions_to_remove)
        if outcome.promoted:
            self._spawn(self.send_owed(meeting_id))  # promotions are owed with the answers

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
                            await self._ensure_event(guild, meeting)
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
            message = await self._ensure_reactions(meeting)
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
            if outcome.changed or not await self._shows_answers(meeting, message):
                self.updater.mark(meeting.id)
        finally:
            held = self._holding.pop(meeting.id, [])
            for user_id, choice, added in held:
                await self._apply(meeting.id, user_id, choice, added)

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
