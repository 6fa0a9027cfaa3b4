"""/programme …: members propose, edit and withdraw; organisers review and arrange.

The review's *Accept*, *Decline* and *Move* buttons and the move's meeting select are
`DynamicItem`s whose custom ids carry the proposal's id, so they work after a restart.
Drives ProgrammeService.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.autocomplete import chosen_id, chosen_meeting, meeting_choices, upcoming_meetings
from bot.bot import MoteplassBot
from bot.domain.dates import format_date_local
from bot.domain.moments import to_local
from bot.domain.programme import KINDS, Decision, Proposal, ProposalText, Status, fit_lines, ordered
from bot.errors import BadInput, NotFound
from bot.i18n import Text
from bot.services.profiles import guild_taxonomy
from bot.services.programme import ProgrammeService, programme_lines
from bot.tree import DrivesService, FromCustomId, RegistersItems, answer, reports_errors

log = logging.getLogger(__name__)

# Subcommands cannot carry their own default permissions on Discord; these are checked
# on the server with `organiser_texts` and marked so the structural test can see it.
ORGANISER = {"organiser": True}
PREFIX = "programme"
PER_MESSAGE = 5  # one row of buttons per proposal, five rows per message
MESSAGES = 5
_ID = r"[0-9]{1,18}"
_STYLES = {
    "accept": discord.ButtonStyle.success,
    "decline": discord.ButtonStyle.danger,
    "move": discord.ButtonStyle.secondary,
}
KIND_CHOICES = [app_commands.Choice(name=kind, value=kind) for kind in KINDS]


def chosen_proposal(value: str) -> int:
    """A proposal option's value (a chosen id), or NotFound for anything typed."""
    return chosen_id(value, "programme.error.not_found")


def _service(interaction: discord.Interaction[Any]) -> ProgrammeService:
    service: ProgrammeService = interaction.client.services.programme
    return service


class DecisionButton(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(PREFIX + r":(?P<action>accept|decline|move):(?P<id>" + _ID + ")"),
):
    """Accept / Decline / Move on one proposal in `/programme review`."""

    def __init__(self, action: str, proposal_id: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action,
                style=_STYLES[action],
                custom_id=f"{PREFIX}:{action}:{proposal_id}",
            )
        )
        self.action = action
        self.proposal_id = proposal_id

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> DecisionButton:
        return cls(match["action"], int(match["id"]))

    @reports_errors
    async def callback(self, interaction: discord.Interaction[MoteplassBot]) -> None:  # type: ignore[override]
        bot = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any work
        _ = await bot.organiser_texts(interaction)
        assert interaction.guild_id is not None
        service = _service(interaction)
        if self.action == "move":
            view = await move_view(interaction, _, service, self.proposal_id)
            await answer(interaction, _("programme.review.move_to"), view=view)
            return
        decision = Decision.ACCEPTED if self.action == "accept" else Decision.DECLINED
        decided = await service.decide(
            interaction.guild_id, self.proposal_id, decision, interaction.user.id
        )
        await answer(interaction, _(f"programme.review.{decision.value}", title=decided.title))


class MoveSelect(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
    template=re.compile(PREFIX + r":moveto:(?P<id>" + _ID + ")"),
):
    """The meeting a proposal moves to (upcoming ones, the current one left out)."""

    def __init__(self, proposal_id: int, select: discord.ui.Select[Any]) -> None:
        select.custom_id = f"{PREFIX}:moveto:{proposal_id}"
        super().__init__(select)
        self.proposal_id = proposal_id

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> MoveSelect:
        assert isinstance(item, discord.ui.Select)
        return cls(int(match["id"]), item)

    @reports_errors
    async def callback(self, interaction: discord.Interaction[MoteplassBot]) -> None:  # type: ignore[override]
        bot = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)
        _ = await bot.organiser_texts(interaction)
        assert interaction.guild_id is not None
        values = list(self.item.values)
        if not values:
            raise NotFound("meeting.error.not_found")
        target = chosen_meeting(values[0])
        service = _service(interaction)
        decided = await service.decide(
            interaction.guild_id,
            self.proposal_id,
            Decision.MOVED,
            interaction.user.id,
            to_meeting=target,
        )
        meeting = await service.meetings.require(interaction.guild_id, decided.meeting_id)
        await answer(
            interaction, _("programme.review.moved", title=decided.title, meeting=meeting.title)
        )


async def move_view(
    interaction: discord.Interaction[MoteplassBot],
    _: Text,
    service: ProgrammeService,
    proposal_id: int,
) -> discord.ui.View:
    assert interaction.guild_id is not None
    proposal = await service.proposals.get(interaction.guild_id, proposal_id)
    if proposal is None:
        raise NotFound("programme.error.not_found")
    if not proposal.is_open:
        raise BadInput("programme.error.already_decided")
    choices = [
        c for c in await meeting_choices(interaction, "") if c.value != str(proposal.meeting_id)
    ]
    if not choices:
        raise NotFound("programme.error.no_other_meeting")
    select: discord.ui.Select[Any] = discord.ui.Select(
        placeholder=_("programme.review.move_placeholder"),
        options=[discord.SelectOption(label=c.name[:100], value=str(c.value)) for c in choices],
    )
    view = discord.ui.View(timeout=None)
    view.add_item(MoveSelect(proposal_id, select))
    return view


def review_view(_: Text, proposals: list[Proposal]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for row, proposal in enumerate(proposals):
        for action in ("accept", "decline", "move"):
            button = DecisionButton(action, proposal.id, _(f"programme.button.{action}"))
            button.item.row = row
            view.add_item(button)
    return view


@app_commands.guild_only()
class ProgrammeCog(
    DrivesService[ProgrammeService],
    RegistersItems,
    commands.GroupCog,
    group_name="programme",
    group_description="Programme",
):
    dynamic_items = (DecisionButton, MoveSelect)

    def __init__(self, bot: MoteplassBot) -> None:
        super().__init__(bot, bot.services.programme)

    # ----- members -----------------------------------------------------------------

    @app_commands.command(name="propose", description="Propose a talk, case or question")
    @app_commands.describe(
        meeting="The meeting",
        title="A short title",
        summary="Two or three lines: what will the others learn?",
        kind="Case, short talk or question for discussion",
        co_presenter="Someone presenting with you",
        co_presenter_2="A second co-presenter",
    )
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.autocomplete(meeting=upcoming_meetings)
    async def propose(
        self,
        interaction: discord.Interaction[MoteplassBot],
        meeting: str,
        title: app_commands.Range[str, 1, 100],
        summary: app_commands.Range[str, 1, 500],
        kind: str,
        co_presenter: discord.Member | None = None,
        co_presenter_2: discord.Member | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        proposal, current = await self.service.propose(
            interaction.guild_id,
            interaction.user.id,
            chosen_meeting(meeting),
            ProposalText(title=title, summary=summary, kind=kind),
            self._co_presenters(co_presenter, co_presenter_2),
        )
        await answer(
            interaction, _("programme.proposed", title=proposal.title, meeting=current.title)
        )

    @app_commands.command(name="edit", description="Change your proposal")
    @app_commands.describe(
        proposal="Your proposal (open ones only)",
        title="New title",
        summary="New text",
        kind="New kind",
        co_presenter="New co-presenter (replaces the ones given before)",
        co_presenter_2="A second new co-presenter",
    )
    @app_commands.choices(kind=KIND_CHOICES)
    async def edit(
        self,
        interaction: discord.Interaction[MoteplassBot],
        proposal: str,
        title: app_commands.Range[str, 1, 100] | None = None,
        summary: app_commands.Range[str, 1, 500] | None = None,
        kind: str | None = None,
        co_presenter: discord.Member | None = None,
        co_presenter_2: discord.Member | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        others = self._co_presenters(co_presenter, co_presenter_2)
        edited = await self.service.edit(
            interaction.guild_id,
            interaction.user.id,
            chosen_proposal(proposal),
            title=title,
            summary=summary,
            kind=kind,
            co_presenters=others or None,
        )
        await answer(interaction, _("programme.edited", title=edited.title))

    @app_commands.command(name="withdraw", description="Take back your proposal")
    @app_commands.describe(proposal="Your proposal (open ones only)")
    async def withdraw(self, interaction: discord.Interaction[MoteplassBot], proposal: str) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        taken = await self.service.withdraw(
            interaction.guild_id,
            interaction.user.id,
            chosen_proposal(proposal),
        )
        await answer(interaction, _("programme.withdrawn", title=taken.title))

    def _co_presenters(self, *members: discord.Member | None) -> list[int]:
        """The people given (bots left out), their names kept for the programme."""
        chosen = [m for m in members if m is not None and not m.bot]
        for member in chosen:
            self.service.names.remember(member)
        return [m.id for m in chosen]

    # ----- organisers --------------------------------------------------------------

    @app_commands.command(name="review", description="Decide on proposals", extras=ORGANISER)
    @app_commands.describe(meeting="The meeting (empty: the next one with open proposals)")
    @app_commands.autocomplete(meeting=upcoming_meetings)
    async def review(
        self, interaction: discord.Interaction[MoteplassBot], meeting: str | None = None
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        if meeting is None:
            current = await self.service.next_to_review(interaction.guild.id)
        else:
            current = await self.service.upcoming(interaction.guild.id, chosen_meeting(meeting))
        proposals = await self.service.proposals.for_meeting(current.id)
        waiting = [p for p in proposals if p.status is Status.OPEN]
        accepted = ordered(p for p in proposals if p.status is Status.ACCEPTED)
        head = [
            _(
                "programme.review.header",
                title=current.title,
                open=len(waiting),
                accepted=len(accepted),
            )
        ]
        lines = await programme_lines(self.bot, current, _)
        if lines:
            head.append(fit_lines(lines, 1500, lambda n: _("programme.embed.more", count=n)))
        if not waiting:
            head.append(_("programme.review.nothing_open"))
        await answer(interaction, "\n".join(head))
        taxonomy = await guild_taxonomy(self.bot.db, interaction.guild.id)
        shown = waiting[: PER_MESSAGE * MESSAGES]
        profiles = {
            p.user_id: await self.service.profiles.get(interaction.guild.id, p.user_id)
            for p in shown
            if p.user_id is not None
        }
        for start in range(0, len(shown), PER_MESSAGE):
            chunk = shown[start : start + PER_MESSAGE]
            embeds = []
            for p in chunk:
                profile = profiles.get(p.user_id) if p.user_id is not None else None
                who = profile.display_name if profile else _("meeting.name.left")
                if p.sector:
                    who += f" ({taxonomy.label(p.sector, _.lang)})"
                if profile and profile.organisation:
                    who += f" · {profile.organisation}"
                embeds.append(proposal_embed(_, p, who))
            await answer(interaction, embeds=embeds, view=review_view(_, chunk))
        if len(waiting) > len(shown):
            more = _("programme.embed.more", count=len(waiting) - len(shown))
            await answer(interaction, more)

    @app_commands.command(
        name="arrange", description="Order the programme and give times", extras=ORGANISER
    )
    @app_commands.describe(
        item="An accepted proposal",
        slot="Its time, e.g. 09:15",
        position="Its place in the programme (1 = first)",
    )
    async def arrange(
        self,
        interaction: discord.Interaction[MoteplassBot],
        item: str,
        slot: app_commands.Range[str, 1, 16] | None = None,
        position: app_commands.Range[int, 1, 50] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        arranged = await self.service.arrange(
            interaction.guild_id,
            chosen_proposal(item),
            slot=slot,
            position=position,
        )
        meeting = await self.service.meetings.require(interaction.guild_id, arranged.meeting_id)
        lines = await programme_lines(self.bot, meeting, _)
        shown = fit_lines(lines, 1800, lambda n: _("programme.embed.more", count=n))
        await answer(interaction, _("programme.arranged", title=arranged.title) + "\n" + shown)

    # ----- autocomplete ------------------------------------------------------------

    @edit.autocomplete("proposal")
    @withdraw.autocomplete("proposal")
    async def _own_autocomplete(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        own = await self.service.proposals.of_user(
            interaction.guild_id, interaction.user.id, (Status.OPEN,)
        )
        return await self._choices(interaction, own, current)

    @arrange.autocomplete("item")
    async def _accepted_autocomplete(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        items = await self.service.proposals.accepted_in_guild(
            interaction.guild_id, self.bot.clock.now()
        )
        return await self._choices(interaction, items, current)

    async def _choices(
        self,
        interaction: discord.Interaction[MoteplassBot],
        proposals: list[Proposal],
        current: str,
    ) -> list[app_commands.Choice[str]]:
        """ "date · meeting · title" for the proposals of meetings still to come."""
        assert interaction.guild_id is not None
        settings = await self.bot.guild_settings.get(interaction.guild_id)
        now = self.bot.clock.now()
        needle = current.strip().casefold()
        choices: list[app_commands.Choice[str]] = []
        meetings: dict[int, Any] = {}
        for proposal in proposals:
            if proposal.meeting_id not in meetings:
                meetings[proposal.meeting_id] = await self.service.meetings.find_by_id(
                    proposal.meeting_id
                )
            meeting = meetings[proposal.meeting_id]
            if meeting is None or meeting.cancelled or meeting.starts_at <= now:
                continue
            day = format_date_local(
                to_local(meeting.starts_at, meeting.timezone).date(),
                settings.language,
                style="short",
            )
            label = f"{day} · {meeting.title} · {proposal.title}"
            if needle and needle not in label.casefold():
                continue
            choices.append(app_commands.Choice(name=label[:100], value=str(proposal.id)))
            if len(choices) == 25:
                break
        return choices


def proposal_embed(_: Text, proposal: Proposal, who: str) -> discord.Embed:
    """One proposal in the review: title, text, who (name, sector, organisation), kind."""
    embed = discord.Embed(title=proposal.title[:256], description=proposal.summary[:4096])
    if proposal.co_presenters:
        who += ", " + ", ".join(f"<@{u}>" for u in proposal.co_presenters)
    embed.add_field(name=_("programme.review.presenter"), value=who[:1024] or "—")
    embed.add_field(name=_("programme.review.kind"), value=_(f"programme.kind.{proposal.kind}"))
    return embed


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(ProgrammeCog(bot))
