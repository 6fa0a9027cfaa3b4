"""The programme: proposals, decisions, the decision notice and the programme's lines.

Members propose (`/programme propose`), edit and withdraw their own open proposals;
organisers accept, decline or move them (persistent buttons in `/programme review`) and
arrange the accepted ones. A decision and the notice it owes are written in one
transaction (`ProposalRepository.decide`); the notice is sent (a DM, or a reply to the
meeting's announcement that pings only the proposer when their DMs are closed) and then
marked sent. At start, an owed notice already in the person's DMs or under the
announcement (a crash between sending and marking) is only marked: told once.

The accepted programme is rendered by `programme_lines` for the announcement embed (the
embed is re-rendered through `MeetingService.refresh`, the counts' coalescing path),
`/meeting list`, the reminders and the monthly post.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.domain.dates import format_range_local
from bot.domain.meeting import Meeting
from bot.domain.programme import (
    Decision,
    ProgrammeLine,
    Proposal,
    ProposalText,
    Status,
    check_changeable,
    check_co_presenters,
    check_meeting_open,
    check_text,
    fit_lines,
    line_text,
    moved_to,
    ordered,
    parse_slot,
)
from bot.errors import BadInput, NotFound
from bot.i18n import Text
from bot.services.names import NameResolver
from bot.services.notify import DmResult, dm_already_sent, only_user, send_dm
from bot.services.profiles import guild_taxonomy
from bot.storage.meetings import MeetingRepository
from bot.storage.profiles import ProfileRepository
from bot.storage.programme import ProposalRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot
    from bot.services.meetings import MeetingService

log = logging.getLogger(__name__)

# How many programme lines a text message (reminder, monthly post) shows before "and N more".
TEXT_LINES = 5
TEXT_BUDGET = 600
MENTION_LOOKBACK = 50


def notice_text(_: Text, proposal: Proposal, meeting: Meeting, when: str) -> str:
    """The DM telling the proposer the decision (the same text every time: the copy check
    after a crash compares it)."""
    assert proposal.notice is not None
    return _(
        f"programme.notice.{proposal.notice.value}",
        title=proposal.title,
        meeting=meeting.title,
        when=when,
    )


def mention_text(_: Text, proposal: Proposal, user_id: int) -> str:
    """The reply under the announcement when DMs are closed: the decision is not said in
    public, only that there is one."""
    return f"<@{user_id}> " + _("programme.notice.mention", title=proposal.title)


async def programme_lines(bot: MoteplassBot, meeting: Meeting, _: Text) -> list[str]:
    """The accepted items of a meeting, in order, one line each (slot, title, presenter's
    name and sector, co-presenters). A deleted member's item is shown as deleted."""
    items = ordered(await ProposalRepository(bot.db).accepted(meeting.id))
    if not items:
        return []
    taxonomy = await guild_taxonomy(bot.db, meeting.guild_id)
    people = {u for item in items for u in (item.user_id, *item.co_presenters) if u is not None}
    names = await _names(bot, meeting.guild_id, people)
    deleted = _("programme.deleted")
    lines = []
    for item in items:
        presenter = names.get(item.user_id) if item.user_id is not None else None
        lines.append(
            line_text(
                ProgrammeLine(
                    slot=item.slot,
                    title=item.title or deleted,
                    presenter=presenter or (deleted if item.anonymous else _("meeting.name.left")),
                    sector=taxonomy.label(item.sector, _.lang) if item.sector else "",
                    co_presenters=tuple(
                        names.get(u) or _("meeting.name.left") for u in item.co_presenters
                    ),
                )
            )
        )
    return lines


async def _names(bot: MoteplassBot, guild_id: int, people: set[int]) -> dict[int, str]:
    """Introductions' names, else the names the bot saw or fetches (see NameResolver)."""
    guild = bot.get_guild(guild_id)
    if guild is None:
        return await ProfileRepository(bot.db).display_names(guild_id, people)
    resolver = bot.services.programme.names
    return {u: name for u, name in (await resolver.names(guild, people)).items() if name}


def programme_text(_: Text, lines: Sequence[str]) -> str:
    """The programme under a meeting in a text message (reminders, monthly post): a few
    lines, then "and N more"; empty when nothing is accepted."""
    if not lines:
        return ""
    body = fit_lines(
        lines, TEXT_BUDGET, lambda n: _("programme.embed.more", count=n), max_lines=TEXT_LINES
    )
    return _("programme.text.heading") + "\n" + body


class ProgrammeService:
    def __init__(self, bot: MoteplassBot, announcements: MeetingService) -> None:
        self.bot = bot
        self.announcements = announcements  # re-renders a meeting's embed
        self.proposals = ProposalRepository(bot.db)
        self.meetings = MeetingRepository(bot.db)
        self.profiles = ProfileRepository(bot.db)
        self.names = NameResolver(bot.db)
        self._sending = asyncio.Lock()  # one sender of owed notices at a time
        self.started = asyncio.Event()

    async def settled(self) -> None:
        await self.started.wait()

    async def start(self) -> None:
        """On every new gateway session: send the notices a crash left owed, each once."""
        try:
            await self.send_owed(check_copies=True)
        finally:
            self.started.set()

    # ----- members -----------------------------------------------------------------

    async def upcoming(self, guild_id: int, meeting_id: int) -> Meeting:
        meeting = await self.meetings.require(guild_id, meeting_id)
        check_meeting_open(
            starts_at=meeting.starts_at, cancelled=meeting.cancelled, now=self.bot.clock.now()
        )
        return meeting

    async def next_to_review(self, guild_id: int) -> Meeting:
        """The first upcoming meeting with open proposals, else the first upcoming one."""
        upcoming = [
            m
            for m in await self.meetings.list_upcoming(guild_id, self.bot.clock.now(), limit=25)
            if not m.cancelled
        ]
        if not upcoming:
            raise NotFound("programme.error.no_meeting")
        for meeting in upcoming:
            if await self.proposals.for_meeting(meeting.id, (Status.OPEN,)):
                return meeting
        return upcoming[0]

    async def propose(
        self,
        guild_id: int,
        user_id: int,
        meeting_id: int,
        text: ProposalText,
        co_presenters: Sequence[int] = (),
    ) -> tuple[Proposal, Meeting]:
        profile = await self.profiles.get(guild_id, user_id)
        if profile is None or not profile.complete:
            raise BadInput("programme.error.no_profile")
        meeting = await self.upcoming(guild_id, meeting_id)
        check_text(text)
        others = check_co_presenters(user_id, co_presenters)
        proposal = await self.proposals.create(
            guild_id, meeting.id, user_id, text, others, profile.sector, self.bot.clock.now()
        )
        log.info("proposal %d for meeting %d", proposal.id, meeting.id)
        return proposal, meeting

    async def own_open(self, guild_id: int, user_id: int, proposal_id: int) -> Proposal:
        """The person's own proposal, still open, for a meeting still to come."""
        proposal = await self.proposals.get(guild_id, proposal_id)
        if proposal is None:
            raise NotFound("programme.error.not_found")
        check_changeable(proposal, user_id)
        await self.upcoming(guild_id, proposal.meeting_id)
        return proposal

    async def edit(
        self,
        guild_id: int,
        user_id: int,
        proposal_id: int,
        *,
        title: str | None = None,
        summary: str | None = None,
        kind: str | None = None,
        co_presenters: Sequence[int] | None = None,
    ) -> Proposal:
        current = await self.own_open(guild_id, user_id, proposal_id)
        text = check_text(
            ProposalText(
                title=current.title if title is None else title,
                summary=current.summary if summary is None else summary,
                kind=current.kind if kind is None else kind,
            )
        )
        others = (
            current.co_presenters
            if co_presenters is None
            else check_co_presenters(user_id, co_presenters)
        )
        profile = await self.profiles.get(guild_id, user_id)
        sector = profile.sector if profile is not None else current.sector
        edited = await self.proposals.edit(
            guild_id, proposal_id, user_id, text, others, sector, self.bot.clock.now()
        )
        if edited is None:
            raise BadInput("programme.error.decided")
        return edited

    async def withdraw(self, guild_id: int, user_id: int, proposal_id: int) -> Proposal:
        current = await self.own_open(guild_id, user_id, proposal_id)
        if not await self.proposals.withdraw(guild_id, proposal_id, user_id, self.bot.clock.now()):
            raise BadInput("programme.error.decided")
        return current

    # ----- organisers --------------------------------------------------------------

    async def decide(
        self,
        guild_id: int,
        proposal_id: int,
        decision: Decision,
        organiser_id: int,
        *,
        to_meeting: int | None = None,
    ) -> Proposal:
        """Accept, decline or move an open proposal; the proposer is told once."""
        current = await self.proposals.get(guild_id, proposal_id)
        if current is None:
            raise NotFound("programme.error.not_found")
        if not current.is_open:
            raise BadInput("programme.error.already_decided")
        await self.upcoming(guild_id, current.meeting_id)
        if decision is Decision.MOVED:
            if to_meeting is None or to_meeting == current.meeting_id:
                raise BadInput("programme.error.same_meeting")
            await self.upcoming(guild_id, to_meeting)
        decided = await self.proposals.decide(
            guild_id,
            proposal_id,
            decision,
            organiser_id,
            self.bot.clock.now(),
            to_meeting=to_meeting,
        )
        if decided is None:
            raise BadInput("programme.error.already_decided")
        log.info("proposal %d %s", proposal_id, decision.value)
        if decision is Decision.ACCEPTED:
            await self.refresh(decided.meeting_id)
        await self.send_owed()
        return decided

    async def arrange(
        self,
        guild_id: int,
        proposal_id: int,
        *,
        slot: str | None = None,
        position: int | None = None,
    ) -> Proposal:
        """Give an accepted item a time slot and/or a place in the order."""
        current = await self.proposals.get(guild_id, proposal_id)
        if current is None:
            raise NotFound("programme.error.not_found")
        if current.status is not Status.ACCEPTED:
            raise BadInput("programme.error.not_accepted")
        await self.upcoming(guild_id, current.meeting_id)
        if slot is None and position is None:
            raise BadInput("programme.error.nothing_to_arrange")
        parsed = parse_slot(slot) if slot is not None else None
        items = await self.proposals.accepted(current.meeting_id)
        if position is None:
            order = [item.id for item in ordered(items)]
        else:
            order = moved_to(items, proposal_id, position)
        stored = await self.proposals.arrange(
            guild_id, current.meeting_id, order, proposal_id, parsed, self.bot.clock.now()
        )
        if not stored:
            raise BadInput("programme.error.changed_meanwhile")
        await self.refresh(current.meeting_id)
        arranged = await self.proposals.get(guild_id, proposal_id)
        assert arranged is not None
        return arranged

    async def refresh(self, meeting_id: int) -> None:
        """Re-render the meeting's announcement through the counts' coalescing path."""
        await self.announcements.refresh(meeting_id)

    async def erased(self, guild_id: int) -> None:
        """A member's data was deleted: their accepted items now show as deleted."""
        now = self.bot.clock.now()
        for meeting_id in {
            p.meeting_id for p in await self.proposals.accepted_in_guild(guild_id, now)
        }:
            await self.refresh(meeting_id)

    # ----- the decision notice -----------------------------------------------------

    async def send_owed(self, *, check_copies: bool = False) -> None:
        """Send every owed decision notice once, then mark it. `check_copies` after a
        crash: a notice found in the person's DMs or under the announcement is only marked."""
        async with self._sending:
            for proposal in await self.proposals.owed():
                try:
                    await self._tell(proposal, check_copies=check_copies)
                except discord.HTTPException as exc:
                    log.warning("notice of proposal %d failed: %s", proposal.id, exc.code)

    async def _tell(self, proposal: Proposal, *, check_copies: bool) -> None:
        assert proposal.decided_at is not None
        now = self.bot.clock.now()
        meeting = await self.meetings.find_by_id(proposal.meeting_id)
        user_id = proposal.user_id
        if meeting is None or user_id is None or proposal.notice is None:
            await self.proposals.mark_notice_sent(proposal.id, proposal.decided_at, now)
            return
        settings = await self.bot.guild_settings.get(meeting.guild_id)
        _ = self.bot.catalog.translator(settings.language)
        when = format_range_local(
            meeting.starts_at, meeting.ends_at, meeting.timezone, settings.language
        )
        text = notice_text(_, proposal, meeting, when)
        mention = mention_text(_, proposal, user_id)
        if check_copies and (
            await dm_already_sent(self.bot, user_id, text)
            or await self._mentioned(meeting, mention)
        ):
            log.info("notice of proposal %d was sent before a restart", proposal.id)
        else:
            result = await send_dm(self.bot, user_id, content=text)
            visible = meeting.channel_id and meeting.message_id and not meeting.announcement_missing
            if result is DmResult.CLOSED and visible:
                await self._mention(meeting, user_id, mention)
        await self.proposals.mark_notice_sent(proposal.id, proposal.decided_at, now)

    async def _mention(self, meeting: Meeting, user_id: int, text: str) -> None:
        """A reply to the announcement that pings exactly the proposer."""
        assert meeting.channel_id is not None and meeting.message_id is not None
        channel = self.bot.get_partial_messageable(meeting.channel_id, guild_id=meeting.guild_id)
        try:
            await channel.send(
                text,
                allowed_mentions=only_user(user_id),
                reference=channel.get_partial_message(meeting.message_id),
                mention_author=False,
            )
        except discord.HTTPException as exc:
            log.warning("notice mention for meeting %d failed: %s", meeting.id, exc.code)

    async def _mentioned(self, meeting: Meeting, text: str) -> bool:
        """Whether the bot already replied `text` under the announcement (read errors: no)."""
        me = self.bot.user
        if meeting.channel_id is None or me is None:
            return False
        try:
            messages = await self.bot.http.logs_from(meeting.channel_id, MENTION_LOOKBACK)
        except discord.HTTPException:
            return False
        return any(m.get("content") == text and int(m["author"]["id"]) == me.id for m in messages)
