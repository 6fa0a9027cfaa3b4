"""/collaboration add and list; the form a follow-up or a partner search opens (persistent
buttons), the member choice, and the Confirm / Not me buttons. Drives CollaborationService."""

from __future__ import annotations

import re
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.autocomplete import meeting_option, recent_meetings
from bot.bot import MoteplassBot
from bot.domain.collaborations import LINK_MAX, ORIGINS, TITLE_MAX, Origin
from bot.errors import NotFound
from bot.i18n import Text
from bot.services.collaborations import (
    CollaborationService,
    ConfirmStatus,
    confirm_custom_id,
    month_text,
)
from bot.tree import (
    DEFER,
    NO_DEFER,
    DrivesService,
    FromCustomId,
    RegistersItems,
    Reply,
    ReportingModal,
    ServiceButton,
    answer,
    reports_errors,
)

EMBED_BUDGET = 5800  # characters of the list's embed, under Discord's 6,000 with the footer
START_TEMPLATE = r"collab:start:(?P<origin>[a-z]+):(?P<ref>[0-9]{1,19})"
_CONFIRMED = {
    ConfirmStatus.CONFIRMED: "collab.confirm.thanks",
    ConfirmStatus.STARTED: "collab.confirm.started",
    ConfirmStatus.DECLINED: "collab.confirm.declined",
    ConfirmStatus.NOT_YOURS: "collab.error.confirm_not_yours",
    ConfirmStatus.UNKNOWN: "collab.error.unknown",
}


def start_custom_id(origin: str, ref: int) -> str:
    """The custom id of a button that opens the form for a group (`START_TEMPLATE`)."""
    if origin not in ORIGINS:
        raise ValueError(origin)
    return f"collab:start:{origin}:{ref:d}"


def _service(interaction: discord.Interaction[Any]) -> CollaborationService:
    found: CollaborationService = interaction.client.services.collaborations
    return found


# ----- the form -------------------------------------------------------------------------


async def open_form(interaction: discord.Interaction[Any], origin: str, ref: int) -> None:
    """Answer with the form for a group (the recorder must be in it). A modal must be the
    first answer, so only reads happen before it."""
    service = _service(interaction)
    guild_id = await service.guild_of(origin, ref, interaction.guild_id)
    await service.group_members(guild_id, origin, ref, interaction.user.id)
    _ = await interaction.client.texts(guild_id)
    await interaction.response.send_modal(CollabModal(_, guild_id, origin, ref))


class CollabStart(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=START_TEMPLATE,
):
    """ "We started working together" for a group: opens the form. Partner search posts one
    in its threads (`start_custom_id("partner", interest id)`)."""

    def __init__(self, origin: str, ref: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or origin,
                style=discord.ButtonStyle.success,
                custom_id=start_custom_id(origin, ref),
            )
        )
        self.origin = origin
        self.ref = ref

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> CollabStart:
        origin = match["origin"]
        if origin not in ORIGINS:
            raise NotFound("collab.error.unknown_group")
        return cls(origin, int(match["ref"]))

    @reports_errors
    async def callback(self, interaction: discord.Interaction[MoteplassBot]) -> None:  # type: ignore[override]
        await open_form(interaction, self.origin, self.ref)


class CollabModal(ReportingModal):
    """What the collaboration is (one line) and an optional link."""

    def __init__(self, _: Text, guild_id: int, origin: str, ref: int) -> None:
        super().__init__(title=_("collab.form.title"), timeout=1800)
        self.guild_id = guild_id
        self.origin = cast(Origin, origin)
        self.ref = ref
        self.name_input = discord.ui.TextInput[CollabModal](
            custom_id="title",
            style=discord.TextStyle.short,
            required=True,
            max_length=TITLE_MAX,
            placeholder=_("collab.form.what.placeholder"),
        )
        self.link_input = discord.ui.TextInput[CollabModal](
            custom_id="link",
            style=discord.TextStyle.short,
            required=False,
            max_length=LINK_MAX,
            placeholder="https://",
        )
        self.add_item(discord.ui.Label(text=_("collab.form.what"), component=self.name_input))
        self.add_item(discord.ui.Label(text=_("collab.form.link"), component=self.link_input))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = _service(interaction)
        collab = await service.record_from_group(
            self.guild_id,
            self.origin,
            self.ref,
            interaction.user.id,
            self.name_input.value,
            self.link_input.value,
            interaction.channel_id if interaction.guild_id is not None else None,
        )
        _ = await interaction.client.texts(self.guild_id)
        text, view = await draft_message(service, _, collab.id, interaction.user.id)
        await answer(interaction, text, view=view)


async def draft_message(
    service: CollaborationService, _: Text, collab_id: int, user_id: int
) -> tuple[str, discord.ui.View]:
    """The recorder's choice of members: a select of the rest of the group (all ticked at
    first; the recorder is always in it) and Send."""
    offered = await service.draft(collab_id, user_id)
    others = [(uid, name, ticked) for uid, name, ticked in offered if uid != user_id]
    view = discord.ui.View(timeout=None)
    if others:
        select = discord.ui.Select[discord.ui.View](
            placeholder=_("collab.form.members"),
            min_values=0,
            max_values=len(others),
            options=[
                discord.SelectOption(label=name[:100], value=str(uid), default=ticked)
                for uid, name, ticked in others
            ],
        )
        view.add_item(MembersSelect(collab_id, select))
    send = discord.ui.Button[discord.ui.View](
        label=_("collab.form.send"), style=discord.ButtonStyle.success
    )
    view.add_item(SendDraft(collab_id, send))
    ticked = [name for _uid, name, on in offered if on]
    text = _("collab.form.choose", names=", ".join(ticked) or "—")
    return text, view


class MembersSelect(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
    template=r"collab:members:(?P<id>[0-9]{1,19})",
):
    """Who of the group is in it (the recorder unticks the others)."""

    def __init__(self, collab_id: int, select: discord.ui.Select[Any]) -> None:
        self.collab_id = collab_id
        select.custom_id = f"collab:members:{collab_id:d}"
        super().__init__(select)

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> MembersSelect:
        assert isinstance(item, discord.ui.Select)
        return cls(int(match["id"]), item)

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer()  # before any work: the 3 s deadline
        service = _service(interaction)
        chosen = [int(v) for v in self.item.values if v.isdigit()]
        await service.choose_members(self.collab_id, interaction.user.id, chosen)
        collab = await service.repo.get(self.collab_id)
        _ = await interaction.client.texts(collab.guild_id if collab else None)
        text, view = await draft_message(service, _, self.collab_id, interaction.user.id)
        await interaction.edit_original_response(content=text, view=view)


class SendDraft(
    ServiceButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"collab:send:(?P<id>[0-9]{1,19})",
):
    """Send the draft to the ticked members for confirmation."""

    def __init__(self, collab_id: int, button: discord.ui.Button[Any]) -> None:
        self.collab_id = collab_id
        button.custom_id = f"collab:send:{collab_id:d}"
        super().__init__(button)

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> SendDraft:
        assert isinstance(item, discord.ui.Button)
        return cls(int(match["id"]), item)

    async def press(self, interaction: discord.Interaction[Any]) -> Reply:
        service = _service(interaction)
        asked = await service.submit_draft(self.collab_id, interaction.user.id)
        collab = await service.repo.get(self.collab_id)
        return Reply(collab.guild_id if collab else None, "collab.sent", count=asked)


# ----- confirmation ------------------------------------------------------------------------


class ConfirmButton(
    ServiceButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"collab:confirm:(?P<id>[0-9]{1,19}):(?P<user>[0-9]{1,20}):(?P<answer>yes|no)",
):
    """Confirm / Not me, for the one member the request names."""

    def __init__(self, collab_id: int, user_id: int, answer: str, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or answer,
                style=discord.ButtonStyle.success
                if answer == "yes"
                else discord.ButtonStyle.secondary,
                custom_id=confirm_custom_id(collab_id, user_id, answer),
            )
        )
        self.collab_id = collab_id
        self.user_id = user_id
        self.answer = answer

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> ConfirmButton:
        return cls(int(match["id"]), int(match["user"]), match["answer"])

    async def press(self, interaction: discord.Interaction[Any]) -> Reply:
        outcome = await _service(interaction).confirm(
            self.collab_id, self.user_id, interaction.user.id, self.answer == "yes"
        )
        return Reply(outcome.guild_id or interaction.guild_id, _CONFIRMED[outcome.status])


def confirm_view(_: Text, collab_id: int, user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ConfirmButton(collab_id, user_id, "yes", _("collab.confirm.yes")))
    view.add_item(ConfirmButton(collab_id, user_id, "no", _("collab.confirm.no")))
    return view


# ----- commands ----------------------------------------------------------------------------


@app_commands.guild_only()
class CollaborationsCog(
    DrivesService[CollaborationService],
    RegistersItems,
    commands.GroupCog,
    group_name="collaboration",
    group_description="Collaborations",
):
    dynamic_items = (CollabStart, MembersSelect, SendDraft, ConfirmButton)

    def __init__(self, bot: MoteplassBot) -> None:
        super().__init__(bot, bot.services.collaborations)

    @app_commands.command(name="add", description="Record a collaboration with people here")
    @app_commands.describe(
        title="What the collaboration is (one line)",
        member="Someone you work with",
        member2="Someone else in it",
        member3="Someone else in it",
        member4="Someone else in it",
        link="A link (http or https)",
        meeting="It grew out of this meeting",
        include_me="You are in it too (default yes)",
    )
    @app_commands.autocomplete(meeting=recent_meetings)
    async def add(
        self,
        interaction: discord.Interaction[MoteplassBot],
        title: app_commands.Range[str, 1, TITLE_MAX],
        member: discord.User,
        member2: discord.User | None = None,
        member3: discord.User | None = None,
        member4: discord.User | None = None,
        link: app_commands.Range[str, 1, LINK_MAX] | None = None,
        meeting: str | None = None,
        include_me: bool = True,
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.texts(interaction.guild.id)
        named = [m for m in (member, member2, member3, member4) if m is not None]
        collab, asked = await self.service.record(
            interaction.guild,
            interaction.user.id,
            title,
            link,
            named,
            include_me=include_me,
            meeting_id=meeting_option(meeting),
            channel_id=interaction.channel_id,
        )
        await answer(interaction, _("collab.recorded", title=collab.title, count=asked))

    @app_commands.command(
        name="list",
        description="The collaborations of this server",
        extras={DEFER: NO_DEFER},  # a public answer
    )
    async def list_(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(thinking=True)
        _ = await self.bot.texts(interaction.guild_id)
        found, total = await self.service.listing(interaction.guild_id, _)
        embed = discord.Embed(title=_("collab.list.title"), colour=discord.Colour.green())
        if not found:
            embed.description = _("collab.list.none")
        shown = 0
        for item in found:
            month = (
                month_text(item.month, _.lang)
                if item.month is not None
                else _("collab.list.unconfirmed")
            )
            lines = [_("collab.list.line", sectors=", ".join(item.sectors) or "—", month=month)]
            if item.link:
                lines.append(item.link)
            name, value = item.title[:256], "\n".join(lines)[:1024]
            if len(embed) + len(name) + len(value) > EMBED_BUDGET:  # Discord's 6,000 in all
                break
            embed.add_field(name=name, value=value, inline=False)
            shown += 1
        if total > shown and found:
            embed.set_footer(text=_("collab.list.more", count=total - shown))
        await interaction.followup.send(embed=embed)


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(CollaborationsCog(bot))
