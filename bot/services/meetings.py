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
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.dates import format_range_local
from bot.domain.meeting import Meeting, PublishState
from bot.domain.rsvp import EMOJI, Choice, Counts, React, Unreact, choice_for_emoji
from bot.errors import MoteplassError
from bot.i18n import Text
from bot.permissions import usable_channel
from bot.services.coalescer import Coalescer
from bot.services.notify import DmResult, dm_already_sent, only_user, send_dm
from bot.storage.meetings import MeetingRepository, RsvpRepository

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


def announcement_embed(_: Text, meeting: Meeting, counts: Counts) -> discord.Embed:
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


class MeetingService:
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.meetings = MeetingRepository(bot.db)
        self.rsvps = RsvpRepository(bot.db)
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
        self._background: set[asyncio.Task[object]] = set()
        # (kind, meeting, user) of notices being sent right now by this process
        self._telling: set[tuple[str, int, int]] = set()
        # one publishing step at a time per meeting (a command, a series, start-up)
        self._publishing: dict[int, asyncio.Lock] = {}
        self.reconciled = asyncio.Event()

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

    async def publish(self, guild: discord.Guild, meeting: Meeting) -> tuple[Meeting, bool]:
        """Announce a new meeting and mirror it as an event. The bool is False when the
        server does not let the bot create events. A meeting whose publishing already
        started (a series resuming after a crash) is completed instead, never doubled."""
        async with self._lock_for(meeting.id):
            meeting = await self.meetings.require(guild.id, meeting.id)
            if meeting.publish_state is PublishState.DONE:
                return meeting, True
            if meeting.publish_state is not PublishState.NEW:
                await self._complete(guild, meeting)
                return await self.meetings.require(guild.id, meeting.id), True
            meeting = await self.announce(guild, meeting)
            mirrored = await self.mirror_event(guild, meeting)
            meeting = await self.meetings.set_published(guild.id, meeting.id, self.now())
            return meeting, mirrored

    async def repost(self, guild: discord.Guild, meeting: Meeting) -> Meeting:
        """A fresh announcement (the old one was deleted), with the answers read back."""
        async with self._lock_for(meeting.id):
            self.unindex(meeting.id)
            meeting = await self.announce(guild, meeting)
            await self.reconcile(meeting)
            return await self.meetings.set_published(guild.id, meeting.id, self.now())

    async def sync_changed(self, guild: discord.Guild, meeting: Meeting) -> None:
        """After an edit or a cancellation (stored together with the notices it owes): the
        embed, the notices, the event; then publishing is `done` again."""
        async with self._lock_for(meeting.id):
            try:
                await self._flush(meeting.id)
            except discord.HTTPException as exc:
                log.warning("announcement of meeting %d not updated: %s", meeting.id, exc.code)
            await self.send_owed(meeting.id)
            if meeting.scheduled_event_id is not None:
                await self.mirror_event(guild, meeting)
            await self.meetings.set_published(guild.id, meeting.id, self.now())

    async def announce(self, guild: discord.Guild, meeting: Meeting) -> Meeting:
        """Post the announcement with its three reactions and store where it is."""
        channel = await self.announce_channel(guild)
        _ = await self.bot.texts(guild.id)
        counts = await self.rsvps.counts(meeting.id)
        meeting = await self.meetings.set_posting(guild.id, meeting.id, self.now())
        message = await channel.send(embed=announcement_embed(_, meeting, counts))
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

    async def mirror_event(self, guild: discord.Guild, meeting: Meeting) -> bool:
        """Create or update the Discord scheduled event. False when the bot may not."""
        _ = await self.bot.texts(guild.id)
        location = (meeting.place or _("meeting.embed.no_place"))[:100]
        try:
            if meeting.scheduled_event_id is None:
                if meeting.cancelled:
                    return True
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
        except discord.Forbidden:
            log.info("no Manage Events in guild %d: meetings are not mirrored", guild.id)
            return False
        except discord.HTTPException as exc:
            log.warning("scheduled event for meeting %d failed: %s", meeting.id, exc.code)
            return False
        return True

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
        for meeting_id in await self.rsvps.meetings_owing_notices():
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
                embed = announcement_embed(_, meeting, counts)
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
        held = self._holding.get(meeting_id)
        if held is not None:
            held.append((payload.user_id, choice, added))
            return
        await self._apply(meeting_id, payload.user_id, choice, added)

    async def _apply(self, meeting_id: int, user_id: int, choice: Choice, added: bool) -> None:
        event = React(user_id, choice, 0) if added else Unreact(user_id, choice)
        if added:
            self._latest[(meeting_id, user_id)] = choice
        elif self._latest.get((meeting_id, user_id)) is choice:
            self._latest[(meeting_id, user_id)] = None
        outcome = await self.rsvps.apply(meeting_id, event, self.now())
        if outcome.changed:
            self.updater.mark(meeting_id)
        if outcome.reactions_to_remove:
            self._spawn(self._remove_old(meeting_id, outcome.reactions_to_remove))
        if outcome.promoted:
            self._spawn(self.send_owed(meeting_id))  # promotions are owed with the answers

    async def _remove_old(self, meeting_id: int, removals: Iterable[tuple[int, Choice]]) -> None:
        target = self._targets.get(meeting_id)
        if target is None:
            return
        _guild_id, channel_id, message_id = target
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            return
        if not channel.permissions_for(channel.guild.me).manage_messages:
            return  # the answer is recorded anyway; the old reaction simply stays
        for user_id, choice in removals:
            if self._latest.get((meeting_id, user_id)) is choice:
                continue  # they chose it again meanwhile
            with contextlib.suppress(discord.HTTPException):
                await self.bot.http.remove_reaction(channel_id, message_id, EMOJI[choice], user_id)

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
        for kind, user_id in await self.rsvps.owed_notices(meeting_id):
            key = (kind, meeting_id, user_id)
            if key in self._telling:
                continue  # another task of this process is sending it right now
            self._telling.add(key)
            try:
                await self._tell(_, meeting, when, kind, user_id, check_dms=check_dms)
            finally:
                self._telling.discard(key)

    async def _tell(
        self, _: Text, meeting: Meeting, when: str, kind: str, user_id: int, *, check_dms: bool
    ) -> None:
        text = notice_text(_, meeting, when, kind)
        if text is not None and not (check_dms and await dm_already_sent(self.bot, user_id, text)):
            result = await send_dm(self.bot, user_id, content=text)
            visible = meeting.channel_id and meeting.message_id and not meeting.announcement_missing
            if result is DmResult.CLOSED and kind == "promoted" and visible:
                await self._fallback_mention(meeting, user_id, _("meeting.promoted_short"))
        await self.rsvps.mark_notice_sent(kind, meeting.id, user_id, self.now())

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
            outcome = await self.rsvps.reconcile(meeting.id, observed, self.now())
            if outcome.promoted:
                self._spawn(self.send_owed(meeting.id))
            self.updater.mark(meeting.id)
        finally:
            held = self._holding.pop(meeting.id, [])
            for user_id, choice, added in held:
                await self._apply(meeting.id, user_id, choice, added)

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
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
