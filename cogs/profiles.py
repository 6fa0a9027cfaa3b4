"""/introduce and /profile show: introductions and the card in the introductions channel.

`/introduce` opens a modal with the five texts (prefilled when run again, so running it
again edits the profile). After submitting, an ephemeral follow-up holds what a modal
cannot: the sector, target groups and themes, and the matching opt-in (on by default and
said so). Its selects and button are `DynamicItem`s whose custom ids carry the member's
id, so they keep working after a restart. Every choice is saved at once and the card is
posted or edited in place.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.domain.profiles import LIMITS, MAX_OPTIONS, clip
from bot.domain.taxonomy import Kind, Taxonomy
from bot.errors import BadInput, NotFound
from bot.i18n import Text
from bot.services.introductions import (
    CardResult,
    IntroductionService,
    card_embed,
    card_status,
    clipped_notice,
)
from bot.storage.profiles import Profile, ProfileText
from bot.tree import (
    DEFER,
    NO_DEFER,
    FromCustomId,
    RegistersItems,
    ReportingModal,
    answer,
    reports_errors,
)

log = logging.getLogger(__name__)

PREFIX = "moteplass:profile"
INTEREST_KINDS: tuple[Kind, ...] = ("target_group", "theme")
PARAGRAPHS = frozenset({"offers", "seeks"})


def _bot(interaction: discord.Interaction[Any]) -> MoteplassBot:
    client = interaction.client
    assert isinstance(client, MoteplassBot)
    return client


def _service(interaction: discord.Interaction[Any]) -> IntroductionService:
    service = _bot(interaction).services.profiles
    assert isinstance(service, IntroductionService)
    return service


# ----- the follow-up view ---------------------------------------------------------------


def _options(taxonomy: Taxonomy, kind: Kind, chosen: set[str], lang: str) -> list[Any]:
    return [
        discord.SelectOption(
            label=clip(entry.label(lang), 100), value=entry.key, default=entry.key in chosen
        )
        for entry in taxonomy.entries(kind)[:MAX_OPTIONS]
    ]


def taxonomy_select(
    taxonomy: Taxonomy, kind: Kind, chosen: set[str], lang: str, placeholder: str, row: int
) -> discord.ui.Select[discord.ui.View] | None:
    """A select of any of the server's entries of one kind (the first `MAX_OPTIONS`, those
    in `chosen` ticked), or None where the server has none of that kind."""
    options = _options(taxonomy, kind, chosen, lang)
    if not options:
        return None
    return discord.ui.Select[discord.ui.View](
        placeholder=placeholder,
        options=options,
        min_values=0,
        max_values=len(options),
        row=row,
    )


def follow_up_view(_: Text, profile: Profile, taxonomy: Taxonomy) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    chosen = {profile.sector} if profile.sector else set()
    sector = discord.ui.Select[discord.ui.View](
        placeholder=_("profile.select.sector"),
        options=_options(taxonomy, "sector", chosen, _.lang),
        min_values=1,
        max_values=1,
        row=0,
    )
    view.add_item(ProfileSelect("sector", profile.user_id, sector))
    for row, kind in enumerate(INTEREST_KINDS, start=1):
        placeholder = _(f"profile.select.{kind}")
        select = taxonomy_select(taxonomy, kind, set(profile.interests), _.lang, placeholder, row)
        if select is not None:
            view.add_item(ProfileSelect(kind, profile.user_id, select))
    yes = profile.matching != "left"
    matching = discord.ui.Select[discord.ui.View](
        placeholder=_("profile.select.matching"),
        options=[
            discord.SelectOption(label=_("profile.matching.yes"), value="yes", default=yes),
            discord.SelectOption(label=_("profile.matching.no"), value="no", default=not yes),
        ],
        min_values=1,
        max_values=1,
        row=3,
    )
    view.add_item(ProfileSelect("matching", profile.user_id, matching))
    done = discord.ui.Button[discord.ui.View](
        label=_("profile.followup.done"), style=discord.ButtonStyle.success, row=4
    )
    view.add_item(ProfileDone(profile.user_id, done))
    return view


def follow_up_text(
    _: Text, taxonomy: Taxonomy, card: CardResult, notes: tuple[str, ...] = ()
) -> str:
    lines = [*notes, card_status(_, card), _("profile.followup.choose")]
    lines.append(_("profile.followup.matching"))
    if any(len(taxonomy.entries(kind)) > MAX_OPTIONS for kind in ("sector", *INTEREST_KINDS)):
        lines.append(_("profile.followup.capped", limit=MAX_OPTIONS))
    return "\n\n".join(lines)


async def _render(
    interaction: discord.Interaction[Any], service: IntroductionService, profile: Profile
) -> tuple[Text, Taxonomy, CardResult]:
    assert interaction.guild is not None
    card = await service.publish(interaction.guild, profile.user_id)
    _ = await _bot(interaction).texts(interaction.guild.id)
    return _, await service.taxonomy(interaction.guild.id), card


def _owner(interaction: discord.Interaction[Any], user_id: int) -> int:
    if interaction.guild_id is None or interaction.user.id != user_id:
        raise BadInput("profile.error.not_yours")
    return interaction.guild_id


class ProfileSelect(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
    template=re.compile(
        PREFIX + r":(?P<part>sector|target_group|theme|matching):(?P<user>[0-9]{1,20})"
    ),
):
    """One of the follow-up selects; the custom id says which and whose."""

    def __init__(self, part: str, user_id: int, select: discord.ui.Select[Any]) -> None:
        self.part = part
        self.user_id = user_id
        select.custom_id = f"{PREFIX}:{part}:{user_id}"
        super().__init__(select)

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> ProfileSelect:
        assert isinstance(item, discord.ui.Select)
        return cls(match["part"], int(match["user"]), item)

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = _owner(interaction, self.user_id)
        await interaction.response.defer()  # before any work: the 3 s deadline
        service = _service(interaction)
        values = list(self.item.values)
        if self.part == "sector":
            profile = await service.choose_sector(guild_id, self.user_id, values)
        elif self.part == "matching":
            profile = await service.choose_matching(guild_id, self.user_id, values)
        else:
            kind: Kind = "target_group" if self.part == "target_group" else "theme"
            profile = await service.choose_interests(guild_id, self.user_id, kind, values)
        _, taxonomy, card = await _render(interaction, service, profile)
        await interaction.edit_original_response(
            content=follow_up_text(_, taxonomy, card),
            view=follow_up_view(_, profile, taxonomy),
        )


class ProfileDone(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(PREFIX + r":done:(?P<user>[0-9]{1,20})"),
):
    """Done: the card is (re)posted and the selects go away."""

    def __init__(self, user_id: int, button: discord.ui.Button[Any]) -> None:
        self.user_id = user_id
        button.custom_id = f"{PREFIX}:done:{user_id}"
        super().__init__(button)

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> ProfileDone:
        assert isinstance(item, discord.ui.Button)
        return cls(int(match["user"]), item)

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = _owner(interaction, self.user_id)
        await interaction.response.defer()  # before any work: the 3 s deadline
        service = _service(interaction)
        profile = await service.require(guild_id, self.user_id)
        if not profile.complete:
            raise BadInput("profile.error.sector_first")
        _, _taxonomy, card = await _render(interaction, service, profile)
        lines = [_("profile.followup.finished"), card_status(_, card)]
        await interaction.edit_original_response(content="\n\n".join(lines), view=None)


# ----- the modal ------------------------------------------------------------------------


class IntroduceModal(ReportingModal):
    """Display name, organisation, role, what I offer, what I look for."""

    def __init__(self, cog: ProfilesCog, _: Text, prefill: ProfileText) -> None:
        super().__init__(title=_("profile.modal.title"), timeout=3600)
        self.cog = cog
        self.inputs: dict[str, discord.ui.TextInput[IntroduceModal]] = {}
        for name, limit in LIMITS.items():
            text_input = discord.ui.TextInput[IntroduceModal](
                custom_id=name,
                style=discord.TextStyle.paragraph
                if name in PARAGRAPHS
                else discord.TextStyle.short,
                required=name == "display_name",
                min_length=1 if name == "display_name" else None,
                max_length=limit,
                default=getattr(prefill, name)[:limit] or None,
                placeholder=_(f"profile.modal.{name}.placeholder"),
            )
            self.inputs[name] = text_input
            self.add_item(discord.ui.Label(text=_(f"profile.field.{name}"), component=text_input))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.submitted(interaction, {n: i.value for n, i in self.inputs.items()})


# ----- the cog --------------------------------------------------------------------------


class ProfilesCog(RegistersItems, commands.Cog):
    dynamic_items = (ProfileSelect, ProfileDone)

    profile = app_commands.Group(name="profile", description="Introductions", guild_only=True)

    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.service = bot.services.profiles

    @app_commands.command(
        name="introduce",
        description="Introduce yourself to the community",
        extras={DEFER: NO_DEFER},  # opens a modal, which cannot follow a defer
    )
    @app_commands.guild_only()
    async def introduce(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        profile = await self.service.profiles.get(interaction.guild_id, interaction.user.id)
        prefill = self.service.prefill(interaction.guild_id, interaction.user.id, profile)
        if prefill is None:
            name = interaction.user.display_name[: LIMITS["display_name"]]
            prefill = ProfileText(display_name=name)
        await interaction.response.send_modal(IntroduceModal(self, _, prefill))

    async def submitted(self, interaction: discord.Interaction[Any], raw: dict[str, str]) -> None:
        assert interaction.guild_id is not None
        # Acknowledge first: saving waits for the database, the card for Discord.
        await interaction.response.defer(ephemeral=True, thinking=True)
        done = await self.service.submit(interaction.guild_id, interaction.user.id, raw)
        _, taxonomy, card = await _render(interaction, self.service, done.profile)
        notes = [_("profile.saved")]
        notice = clipped_notice(_, done.clipped)
        if notice:
            notes.append(notice)
        await answer(
            interaction,
            follow_up_text(_, taxonomy, card, tuple(notes)),
            view=follow_up_view(_, done.profile, taxonomy),
        )

    @profile.command(name="show", description="Show an introduction card")
    @app_commands.describe(member="Whose card (default: yours)")
    async def show(
        self,
        interaction: discord.Interaction[MoteplassBot],
        member: discord.Member | discord.User | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        own = member is None or member.id == interaction.user.id
        # A bare id (no resolved data) is looked up by id; a User is not in this server.
        if isinstance(member, discord.User):
            raise NotFound("profile.error.not_member", member=f"<@{member.id}>")
        user_id = interaction.user.id if member is None else member.id
        profile = await self.service.profiles.get(interaction.guild_id, user_id)
        if own and profile is None:
            raise NotFound("profile.error.no_profile")
        if profile is None or (not own and not profile.complete):
            raise NotFound("profile.error.member_no_profile", member=f"<@{user_id}>")
        taxonomy = await self.service.taxonomy(interaction.guild_id)
        lines = []
        if own:
            if not profile.complete:
                lines.append(_("profile.show.incomplete"))
            lines.append(_(f"profile.show.matching.{profile.matching}"))
        await answer(interaction, "\n".join(lines), embed=card_embed(_, profile, taxonomy))


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(ProfilesCog(bot))
