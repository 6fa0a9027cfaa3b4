"""Collaborations: recorded from a follow-up ("we started working together"), a partner
search or `/collaboration add`, confirmed by the members, counted in the report.

* **Form from a group** (`open_form` → `record_from_group` → `choose_members` →
  `submit_draft`): the origin's registry entry (`origins`: origin → members of the group
  for a reference) says who may record and who is offered; the collaboration is stored
  as a draft with all of them ticked, the recorder unticks, then sends.
* **`/collaboration add`** (`record`): the recorder names people of the server; stored open
  and asked at once.
* **Asking** (`ask_all`): each member but the recorder is asked once (`claim_ask` before,
  `mark_asked` after): a DM with Confirm / Not me, or, when DMs are closed, a mention in
  the collaboration's fallback channel (the match thread, or where the command was used).
  A crash between the claim and the mark is found at start (`resume`): the member's DMs and
  the fallback channel are searched for the request before it is sent again.
* **Counting**: `bot.domain.collaborations` (two confirmations; the second one's month).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING

import discord
from babel.dates import format_date

from bot.domain.collaborations import (
    MAX_MEMBERS,
    Origin,
    check_link,
    check_members,
    check_title,
    involved_sectors,
    list_month,
    started_at,
)
from bot.domain.stats import UNKNOWN_SECTOR
from bot.errors import BadInput, NotFound
from bot.i18n import BABEL_LOCALES, Text
from bot.services.lifecycle import Lifecycle
from bot.services.names import in_guild
from bot.services.notify import DmResult, dm_channel, holds_button, only_user, send_dm
from bot.services.profiles import guild_taxonomy
from bot.storage.collaborations import Collaboration, CollaborationRepository
from bot.storage.matches import MatchRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.partners import PartnerRepository, members_of_interest
from bot.storage.profiles import ProfileRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot
    from bot.services.matching import MatchingService

log = logging.getLogger(__name__)

# origin → (guild id, reference) → the members of that group (user ids); [] when unknown.
OriginMembers = Callable[[int, int], Awaitable[list[int]]]
# (texts, collaboration id, member) → the Confirm / Not me buttons.
ConfirmView = Callable[[Text, int, int], discord.ui.View]

CONFIRM_PREFIX = "collab:confirm:"
LIST_LIMIT = 25
MESSAGE_LIMIT = 2000


def confirm_custom_id(collab_id: int, user_id: int, answer: str) -> str:
    """Confirm (`yes`) / Not me (`no`) for one member of one collaboration."""
    if answer not in ("yes", "no"):
        raise ValueError(answer)
    return f"{CONFIRM_PREFIX}{collab_id:d}:{user_id:d}:{answer}"


def month_text(month: date, lang: str) -> str:
    return format_date(month, "LLLL y", locale=BABEL_LOCALES.get(lang, "nb_NO"))


class ConfirmStatus(Enum):
    CONFIRMED = "confirmed"  # saved; it does not count yet
    STARTED = "started"  # saved, and it counts now (the second confirmation)
    DECLINED = "declined"
    NOT_YOURS = "not_yours"  # someone else's request
    UNKNOWN = "unknown"  # gone (deleted data)


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    status: ConfirmStatus
    guild_id: int | None


@dataclass(frozen=True, slots=True)
class Listed:
    title: str
    link: str | None
    sectors: tuple[str, ...]  # labels in the reader's language
    month: date | None  # None: not confirmed by two yet


class CollaborationService(Lifecycle):
    start_failure = "collaborations start-up failed"

    def __init__(
        self, bot: MoteplassBot, confirm_view: ConfirmView, matching: MatchingService
    ) -> None:
        super().__init__(bot)
        self.matching = matching  # "we started working together" is a follow-up answer
        self.confirm_view = confirm_view
        self.repo = CollaborationRepository(bot.db)
        self.profiles = ProfileRepository(bot.db)
        self.matches = MatchRepository(bot.db)
        self.meetings = MeetingRepository(bot.db)
        self.partners = PartnerRepository(bot.db)
        # The groups a form may start from: a match group, a partner-search thread (the
        # poster and the interested person; its 30-day question carries the button).
        self.origins: dict[str, OriginMembers] = {
            "match": self._match_members,
            "partner": self._partner_members,
        }
        # asking never interleaves in one process: it holds self._lock

    # ----- lifecycle -----------------------------------------------------------------

    async def _first_start(self) -> None:
        """Ask whoever a crash left unasked (once)."""
        await self.resume()

    # ----- origins -------------------------------------------------------------------

    async def _match_members(self, guild_id: int, group_id: int) -> list[int]:
        round_ = await self.matches.round_of_group(group_id)
        if round_ is None or round_.guild_id != guild_id:
            return []
        group = await self.matches.group(group_id)
        return [] if group is None else list(group.members)

    async def _partner_members(self, guild_id: int, interest_id: int) -> list[int]:
        return await members_of_interest(self.bot.db, guild_id, interest_id)

    async def guild_of(self, origin: str, ref: int, guild_id: int | None) -> int:
        """The server of a form started in a DM (a match follow-up sent by DM)."""
        if guild_id is not None:
            return guild_id
        if origin == "match":
            round_ = await self.matches.round_of_group(ref)
            if round_ is not None:
                return round_.guild_id
        raise NotFound("collab.error.unknown_group")

    async def group_members(self, guild_id: int, origin: str, ref: int, user_id: int) -> list[int]:
        """The group a form offers; only one of its members may record from it."""
        lookup = self.origins.get(origin)
        members = await lookup(guild_id, ref) if lookup is not None else []
        if not members:
            raise NotFound("collab.error.unknown_group")
        if user_id not in members:
            raise BadInput("collab.error.not_in_group")
        return members

    async def _fallback(self, origin: str, ref: int, channel_id: int | None) -> int | None:
        if origin == "match":
            group = await self.matches.group(ref)
            if group is not None and group.thread_id is not None:
                return group.thread_id
        if origin == "partner":
            interest = await self.partners.interest(ref)
            if interest is not None and interest.thread_id is not None:
                return interest.thread_id
        return channel_id

    async def _sectors(self, guild_id: int, members: Sequence[int]) -> list[tuple[int, str | None]]:
        found: list[tuple[int, str | None]] = []
        for uid in members:
            profile = await self.profiles.get(guild_id, uid)
            found.append((uid, profile.sector if profile is not None else None))
        return found

    # ----- recording -----------------------------------------------------------------

    async def record_from_group(
        self,
        guild_id: int,
        origin: Origin,
        ref: int,
        user_id: int,
        title: str,
        link: str | None,
        channel_id: int | None,
    ) -> Collaboration:
        """The form's text: a draft with the whole group ticked (the same recorder and
        title again: the one stored before)."""
        clean_title, clean_link = check_title(title), check_link(link)
        members = await self.group_members(guild_id, origin, ref, user_id)
        if origin == "match":  # the follow-up's answer: working together counts as met
            await self.matching.answer(ref, user_id, "collab")
        existing = await self.repo.find(guild_id, origin, ref, user_id, clean_title)
        if existing is not None:
            return existing
        collab = await self.repo.create(
            guild_id,
            title=clean_title,
            link=clean_link,
            origin=origin,
            origin_ref=ref,
            created_by=user_id,
            fallback_channel_id=await self._fallback(origin, ref, channel_id),
            members=await self._sectors(guild_id, members[:MAX_MEMBERS]),
            now=self.now(),
            state="draft",
        )
        log.info("guild %d: collaboration %d drafted from %s", guild_id, collab.id, origin)
        return collab

    async def _own_draft(self, collab_id: int, user_id: int) -> Collaboration:
        collab = await self.repo.get(collab_id)
        if collab is None:
            raise NotFound("collab.error.unknown")
        if collab.created_by != user_id:
            raise BadInput("collab.error.not_yours")
        return collab

    async def choose_members(self, collab_id: int, user_id: int, chosen: Sequence[int]) -> None:
        """The recorder's ticks on a draft (members of the group only; the recorder stays)."""
        collab = await self._own_draft(collab_id, user_id)
        if collab.state != "draft":
            raise BadInput("collab.error.already_sent")
        offered = {m.user_id for m in await self.repo.members(collab_id)}
        if not set(chosen) <= offered:
            raise BadInput("collab.error.not_in_group")
        await self.repo.set_included(collab_id, chosen)

    async def submit_draft(self, collab_id: int, user_id: int) -> int:
        """Send the draft for confirmation. Returns the members asked (0 when sent before)."""
        collab = await self._own_draft(collab_id, user_id)
        guild = self.bot.get_guild(collab.guild_id)
        if guild is None:
            raise NotFound("collab.error.unknown")
        if collab.state == "draft":
            members = await self.repo.members(collab_id)
            check_members(m.user_id for m in members if m.included and m.user_id is not None)
            await self.repo.open_draft(collab_id)
        return await self.ask_all(guild, collab_id)

    async def record(
        self,
        guild: discord.Guild,
        user_id: int,
        title: str,
        link: str | None,
        named: Sequence[discord.User | discord.Member],
        *,
        include_me: bool = True,
        meeting_id: int | None = None,
        channel_id: int | None = None,
    ) -> tuple[Collaboration, int]:
        """`/collaboration add`: stored and asked at once. Returns it and members asked."""
        clean_title, clean_link = check_title(title), check_link(link)
        for person in named:
            if person.bot:
                raise BadInput("collab.error.bot", member=person.display_name)
            if not await in_guild(guild, person.id):
                raise BadInput("collab.error.not_member", member=person.display_name)
        members = check_members([*([user_id] if include_me else []), *(p.id for p in named)])
        origin: Origin = "other"
        if meeting_id is not None:
            await self.meetings.require(guild.id, meeting_id)
            origin = "meeting"
        existing = await self.repo.find(guild.id, origin, meeting_id, user_id, clean_title)
        if existing is not None:
            return existing, await self.ask_all(guild, existing.id)
        collab = await self.repo.create(
            guild.id,
            title=clean_title,
            link=clean_link,
            origin=origin,
            origin_ref=meeting_id,
            created_by=user_id,
            fallback_channel_id=channel_id,
            members=await self._sectors(guild.id, members),
            now=self.now(),
        )
        log.info("guild %d: collaboration %d recorded (%s)", guild.id, collab.id, origin)
        return collab, await self.ask_all(guild, collab.id)

    # ----- asking --------------------------------------------------------------------

    async def ask_all(self, guild: discord.Guild, collab_id: int) -> int:
        """Ask every member not asked yet (each once). Returns how many were asked now."""
        asked = 0
        async with self._lock:
            collab = await self.repo.get(collab_id)
            if collab is None or collab.state != "open":
                return 0
            for member in await self.repo.members(collab_id):
                uid = member.user_id
                if uid is None or member.answer != "pending":
                    continue
                if not await self.repo.claim_ask(collab_id, uid, self.now()):
                    continue
                await self._ask(guild, collab, uid)
                await self.repo.mark_asked(collab_id, uid)
                asked += 1
        return asked

    async def resume(self) -> int:
        """At start: members still owed a request. One claimed before a crash is sent only
        when neither their DMs nor the fallback channel hold it."""
        sent = 0
        async with self._lock:
            for collab, member in await self.repo.owed():
                uid = member.user_id
                assert uid is not None
                guild = self.bot.get_guild(collab.guild_id)
                if guild is None:
                    continue
                if member.asked_at is not None:
                    if await self._asked_already(collab, uid):
                        await self.repo.mark_asked(collab.id, uid)
                        continue
                elif not await self.repo.claim_ask(collab.id, uid, self.now()):
                    continue
                await self._ask(guild, collab, uid)
                await self.repo.mark_asked(collab.id, uid)
                sent += 1
        if sent:
            log.info("asked %d collaboration members a crash had left unasked", sent)
        return sent

    async def _ask(self, guild: discord.Guild, collab: Collaboration, user_id: int) -> None:
        _ = await self.bot.texts(guild.id)
        recorder = await self._name(guild, collab.created_by)
        text = _(
            "collab.confirm.dm",
            title=collab.title,
            recorder=recorder,
            server=guild.name,
        )
        view = self.confirm_view(_, collab.id, user_id)
        if await send_dm(self.bot, user_id, content=text[:MESSAGE_LIMIT], view=view) is (
            DmResult.SENT
        ):
            return
        channel = await self._channel(collab.fallback_channel_id)
        if channel is None:
            log.warning("collaboration %d: a member could not be asked", collab.id)
            return
        content = f"<@{user_id:d}> " + _("collab.confirm.mention", title=collab.title)
        view = self.confirm_view(_, collab.id, user_id)
        try:
            await channel.send(
                content[:MESSAGE_LIMIT], allowed_mentions=only_user(user_id), view=view
            )
        except discord.HTTPException as exc:
            log.warning("collaboration %d: fallback failed (code %s)", collab.id, exc.code)

    async def _name(self, guild: discord.Guild, user_id: int | None) -> str:
        if user_id is None:
            return "—"
        profile = await self.profiles.get(guild.id, user_id)
        if profile is not None:
            return profile.display_name
        member = guild.get_member(user_id)
        return member.display_name if member is not None else "—"

    async def _channel(self, channel_id: int | None) -> discord.abc.Messageable | None:
        if channel_id is None:
            return None
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
        if isinstance(channel, discord.Thread) and channel.archived and not channel.locked:
            try:
                channel = await channel.edit(archived=False)
            except discord.HTTPException:
                return None
        return channel if isinstance(channel, discord.abc.Messageable) else None

    async def _asked_already(self, collab: Collaboration, user_id: int) -> bool:
        """Whether this member's request is in their DMs or the fallback channel."""
        prefix = confirm_custom_id(collab.id, user_id, "yes").rsplit(":", 1)[0] + ":"
        places: list[discord.abc.Messageable] = []
        with contextlib.suppress(discord.HTTPException):
            places.append(await dm_channel(self.bot, user_id))
        channel = await self._channel(collab.fallback_channel_id)
        if channel is not None:
            places.append(channel)
        for place in places:
            if await holds_button(self.bot, place, prefix):
                return True
        return False

    # ----- answers -------------------------------------------------------------------

    async def confirm(
        self, collab_id: int, for_user: int, user_id: int, yes: bool
    ) -> ConfirmOutcome:
        """Confirm / Not me, only by the member the request is for."""
        collab = await self.repo.get(collab_id)
        if collab is None:
            return ConfirmOutcome(ConfirmStatus.UNKNOWN, None)
        if user_id != for_user:
            return ConfirmOutcome(ConfirmStatus.NOT_YOURS, collab.guild_id)
        before = started_at(m.fact() for m in await self.repo.members(collab_id))
        if not await self.repo.answer(collab_id, user_id, yes, self.now()):
            return ConfirmOutcome(ConfirmStatus.UNKNOWN, collab.guild_id)
        if not yes:
            return ConfirmOutcome(ConfirmStatus.DECLINED, collab.guild_id)
        after = started_at(m.fact() for m in await self.repo.members(collab_id))
        started = before is None and after is not None
        if started:
            log.info("guild %d: collaboration %d counts now", collab.guild_id, collab_id)
        status = ConfirmStatus.STARTED if started else ConfirmStatus.CONFIRMED
        return ConfirmOutcome(status, collab.guild_id)

    # ----- reading -------------------------------------------------------------------

    async def listing(self, guild_id: int, _: Text) -> tuple[list[Listed], int]:
        """The server's newest collaborations for `/collaboration list`, and how many it
        has in all."""
        settings = await self.bot.guild_settings.get(guild_id)
        taxonomy = await guild_taxonomy(self.bot.db, guild_id)
        labels = {entry.key: entry.label(_.lang) for entry in taxonomy.sectors}
        labels[UNKNOWN_SECTOR] = _("report.sector.unknown")
        found: list[Listed] = []
        for collab, members in await self.repo.in_guild(guild_id, LIST_LIMIT):
            facts = [m.fact() for m in members]
            sectors = involved_sectors(facts) or tuple(sorted({f.sector for f in facts}))
            found.append(
                Listed(
                    title=collab.title,
                    link=collab.link,
                    sectors=tuple(labels.get(s, s) for s in sectors),
                    month=list_month(facts, settings.timezone),
                )
            )
        return found, await self.repo.count(guild_id)

    async def draft(self, collab_id: int, user_id: int) -> list[tuple[int, str, bool]]:
        """A draft's offered members: (id, display name, ticked), for the recorder."""
        collab = await self._own_draft(collab_id, user_id)
        guild = self.bot.get_guild(collab.guild_id)
        found: list[tuple[int, str, bool]] = []
        for member in await self.repo.members(collab_id):
            if member.user_id is None:
                continue
            name = await self._name(guild, member.user_id) if guild is not None else "—"
            found.append((member.user_id, name, member.included))
        return found
