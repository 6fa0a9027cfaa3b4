"""Publishing a meeting (see `Publisher`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.meeting import EditRequest, Meeting, PublishState, changes_from_edit
from bot.domain.rsvp import EMOJI, Choice, Counts, choice_for_emoji
from bot.errors import BadInput, MoteplassError
from bot.permissions import usable_channel
from bot.services.coalescer import Coalescer
from bot.services.meetings.notices import OwedNotices
from bot.services.meetings.render import (
    NO_EVENT_PERMISSION,
    announcement_embed,
    counts_line,
    event_failure_key,
)
from bot.services.programme import programme_lines
from bot.storage.meetings import MeetingRepository
from bot.storage.rsvps import RsvpRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot


log = logging.getLogger(__name__)

OLD_MESSAGE_EDIT_CAP = 30046
RSVP_CHOICES = (Choice.GOING, Choice.MAYBE, Choice.NOT_GOING)


class Publisher:
    """Announcing a meeting: a chain of steps, each stored before the next begins
    (`publish_state`, migration 0009): post (state `posting` first), store the id
    (`posted`), add the three reactions, mirror the event, `done`. `complete` runs the same
    chain from wherever a crash stopped it, looking for what Discord already has before doing
    anything again. Edits of the announcement go through the coalescing `updater`."""

    def __init__(
        self,
        bot: MoteplassBot,
        meetings: MeetingRepository,
        rsvps: RsvpRepository,
        owed: OwedNotices,
        index: Callable[[Meeting], None],
        unindex: Callable[[int], None],
        reconcile: Callable[[Meeting], Awaitable[None]],
    ) -> None:
        self.bot = bot
        self.meetings = meetings
        self.rsvps = rsvps
        self.owed = owed
        # The service's index of open announcements, and its reading of the reactions.
        self.index = index
        self.unindex = unindex
        self.reconcile = reconcile
        self.updater: Coalescer[int] = Coalescer(
            self.flush, interval=bot.settings.embed_edit_interval
        )
        # one publishing step at a time per meeting (a command, a series, start-up)
        self._publishing: dict[int, asyncio.Lock] = {}

    def now(self) -> datetime:
        return self.bot.clock.now()

    async def announce_channel(self, guild: discord.Guild) -> discord.TextChannel:
        settings = await self.bot.guild_settings.get(guild.id)
        needs = ("view_channel", "send_messages", "embed_links")
        return usable_channel(guild, settings.announce_channel_id, needs)

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
                await self.flush(meeting.id)
            except discord.HTTPException as exc:
                log.warning("announcement of meeting %d not updated: %s", meeting.id, exc.code)
            await self.owed.send(meeting.id)
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
        for meeting_id in await self.owed.notices.meetings_owing_notices():
            await self.owed.send(meeting_id, check_dms=True)

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
            await self.ensure_reactions(meeting)
        await self.ensure_event(guild, meeting)
        await self.flush(meeting.id)
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

    async def ensure_event(self, guild: discord.Guild, meeting: Meeting) -> None:
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

    async def ensure_reactions(self, meeting: Meeting) -> Any:
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

    async def shows_answers(self, meeting: Meeting, message: Any) -> bool:
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

    async def flush(self, meeting_id: int) -> None:
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
