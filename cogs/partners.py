"""/partner seek and /partner settings; the draft's selects and Post button, the card's
buttons and the 30-day question's "no". Drives PartnerService.

Every component is a `DynamicItem` whose custom id carries the draft, search or interest
id, so they keep working after a restart.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.domain.partners import BRINGS_LIMIT, DESCRIPTION_LIMIT, TITLE_LIMIT
from bot.domain.taxonomy import Taxonomy
from bot.i18n import Text
from bot.services.matching import render_reasons
from bot.services.partners import (
    CHOICE_KINDS,
    CLOSE_TEMPLATE,
    DRAFT_TEMPLATE,
    FOLLOWUP_NO_TEMPLATE,
    INTEREST_TEMPLATE,
    PartnerService,
    PostResult,
    close_custom_id,
    collab_custom_id,
    draft_custom_id,
    followup_no_custom_id,
    interest_custom_id,
)
from bot.services.profiles import guild_taxonomy
from bot.storage.partners import Search
from bot.tree import (
    DrivesService,
    FromCustomId,
    RegistersItems,
    Reply,
    ServiceButton,
    answer,
    reports_errors,
)
from cogs.profiles import taxonomy_select

log = logging.getLogger(__name__)

_CLOSE_STYLES = {"found": discord.ButtonStyle.success, "withdrawn": discord.ButtonStyle.secondary}


def _service(interaction: discord.Interaction[Any]) -> PartnerService:
    service = interaction.client.services.partners
    assert isinstance(service, PartnerService)
    return service


def _bot(interaction: discord.Interaction[Any]) -> MoteplassBot:
    client = interaction.client
    assert isinstance(client, MoteplassBot)
    return client


# ----- the draft -----------------------------------------------------------------------


def draft_view(_: Text, search: Search, taxonomy: Taxonomy) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    chosen = {
        "sector": set(search.sectors),
        "target_group": set(search.target_groups),
        "theme": set(search.themes),
    }
    for row, kind in enumerate(CHOICE_KINDS):
        placeholder = _(f"partner.select.{kind}")
        select = taxonomy_select(taxonomy, kind, chosen[kind], _.lang, placeholder, row)
        if select is not None:
            view.add_item(DraftItem(search.id, kind, select))
    post = discord.ui.Button[discord.ui.View](
        label=_("partner.draft.post"), style=discord.ButtonStyle.success, row=3
    )
    view.add_item(DraftItem(search.id, "post", post))
    return view


def draft_text(_: Text, search: Search) -> str:
    return "\n\n".join([_("partner.draft.intro", title=search.title), _("partner.draft.choose")])


def posted_text(_: Text, result: PostResult) -> str:
    search = result.search
    if not result.posted:
        lines = [_("partner.posted.pending")]
    elif search.channel_id is not None and search.message_id is not None:
        link = f"https://discord.com/channels/{search.guild_id}/{search.channel_id}/{search.message_id}"
        lines = [_("partner.posted.done", link=link)]
    else:
        lines = [_("partner.posted.done", link="—")]
    lines.append(_("partner.suggest.intro") if result.suggestions else _("partner.suggest.none"))
    return "\n\n".join(lines)


def suggestions_embed(
    _: Text, result: PostResult, taxonomy: Taxonomy, poster_name: str
) -> discord.Embed | None:
    if not result.suggestions:
        return None
    names = {str(p.user_id): p.display_name for p, _s in result.suggestions}
    names[str(result.search.user_id)] = poster_name
    embed = discord.Embed(title=_("partner.suggest.title"), colour=discord.Colour.blurple())
    for profile, suggestion in result.suggestions:
        sector = taxonomy.label(profile.sector or "", _.lang)
        why = render_reasons(_, suggestion.reasons, names, taxonomy) or "—"
        embed.add_field(
            name=f"{profile.display_name} ({sector})"[:256],
            value=f"<@{profile.user_id}>\n{why}"[:1024],  # embeds never ping
            inline=False,
        )
    embed.set_footer(text=_("partner.suggest.footer"))
    return embed


class DraftItem(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Item[discord.ui.View]],
    template=re.compile(DRAFT_TEMPLATE),
):
    """One of the draft's selects, or its Post button; the custom id says which draft."""

    def __init__(self, search_id: int, part: str, item: discord.ui.Item[Any]) -> None:
        self.search_id = search_id
        self.part = part
        item.custom_id = draft_custom_id(search_id, part)  # type: ignore[attr-defined]
        super().__init__(item)

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> DraftItem:
        return cls(int(match["search"]), match["part"], item)

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild is not None
        await interaction.response.defer()  # before any work: the 3 s deadline
        service = _service(interaction)
        guild = interaction.guild
        _ = await _bot(interaction).texts(guild.id)
        taxonomy = await guild_taxonomy(service.bot.db, guild.id)
        if self.part != "post":
            assert isinstance(self.item, discord.ui.Select)
            values = [str(v) for v in self.item.values]
            search = await service.choose(
                guild.id, self.search_id, interaction.user.id, self.part, values
            )
            await interaction.edit_original_response(
                content=draft_text(_, search), view=draft_view(_, search, taxonomy)
            )
            return
        result = await service.post(guild, self.search_id, interaction.user.id)
        poster = await service.profiles.get(guild.id, result.search.user_id)
        embed = suggestions_embed(_, result, taxonomy, poster.display_name if poster else "—")
        await interaction.edit_original_response(
            content=posted_text(_, result),
            embeds=[embed] if embed is not None else [],
            view=None,
        )


# ----- the card ------------------------------------------------------------------------


class InterestButton(
    ServiceButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(INTEREST_TEMPLATE),
):
    """I'm interested: a private thread with the poster."""

    def __init__(self, search_id: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or "interested",
                style=discord.ButtonStyle.primary,
                custom_id=interest_custom_id(search_id),
            )
        )
        self.search_id = search_id

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> InterestButton:
        return cls(int(match["search"]))

    async def press(self, interaction: discord.Interaction[Any]) -> Reply:
        assert interaction.guild is not None
        result = await _service(interaction).interest(
            interaction.guild, self.search_id, interaction.user.id
        )
        key = "partner.interest.opened" if result.new else "partner.interest.again"
        return Reply(interaction.guild.id, key, thread=f"<#{result.thread_id}>")


class CloseButton(
    ServiceButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(CLOSE_TEMPLATE),
):
    """Found partners / Withdraw: only the poster."""

    def __init__(self, search_id: int, status: str, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or status,
                style=_CLOSE_STYLES[status],
                custom_id=close_custom_id(search_id, status),
            )
        )
        self.search_id = search_id
        self.status = status

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> CloseButton:
        return cls(int(match["search"]), match["status"])

    async def press(self, interaction: discord.Interaction[Any]) -> Reply:
        assert interaction.guild_id is not None
        await _service(interaction).close_search(
            interaction.guild_id, self.search_id, interaction.user.id, self.status
        )
        return Reply(interaction.guild_id, f"partner.closed.{self.status}")


def card_view(_: Text, search_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(InterestButton(search_id, _("partner.card.interested")))
    for status in ("found", "withdrawn"):
        view.add_item(CloseButton(search_id, status, _(f"partner.card.close.{status}")))
    return view


# ----- the 30-day question -------------------------------------------------------------


class FollowupNo(
    ServiceButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(FOLLOWUP_NO_TEMPLATE),
):
    """ "Did you start working together?" — not (yet)."""

    def __init__(self, interest_id: int, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or "no",
                style=discord.ButtonStyle.secondary,
                custom_id=followup_no_custom_id(interest_id),
            )
        )
        self.interest_id = interest_id

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> FollowupNo:
        return cls(int(match["interest"]))

    async def press(self, interaction: discord.Interaction[Any]) -> Reply:
        key, guild_id = await _service(interaction).answer_no(self.interest_id, interaction.user.id)
        return Reply(guild_id or interaction.guild_id, key)


def followup_view(_: Text, interest_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    # Handled by the collaborations cog (its DynamicItem matches collab:start:…).
    view.add_item(
        discord.ui.Button(
            label=_("partner.followup.yes"),
            style=discord.ButtonStyle.success,
            custom_id=collab_custom_id(interest_id),
        )
    )
    view.add_item(FollowupNo(interest_id, _("partner.followup.no")))
    return view


# ----- the cog -------------------------------------------------------------------------

ON_OFF = [
    app_commands.Choice(name="On", value="on"),
    app_commands.Choice(name="Off", value="off"),
]


@app_commands.guild_only()
class PartnersCog(
    DrivesService[PartnerService],
    RegistersItems,
    commands.GroupCog,
    group_name="partner",
    group_description="Partner search",
):
    dynamic_items = (DraftItem, InterestButton, CloseButton, FollowupNo)

    def __init__(self, bot: MoteplassBot) -> None:
        super().__init__(bot, bot.services.partners)

    async def cog_unload(self) -> None:
        await super().cog_unload()
        await self.service.close()

    @app_commands.command(name="seek", description="Describe a project and look for partners")
    @app_commands.describe(
        title="The project in a few words",
        description="A few lines: the idea and what partners would do",
        brings="What you bring to it",
        deadline="Optional, e.g. a grant's deadline (15.3.2027)",
    )
    async def seek(
        self,
        interaction: discord.Interaction[MoteplassBot],
        title: app_commands.Range[str, 1, TITLE_LIMIT],
        description: app_commands.Range[str, 1, DESCRIPTION_LIMIT],
        brings: app_commands.Range[str, 1, BRINGS_LIMIT] | None = None,
        deadline: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        assert interaction.guild is not None
        search = await self.service.create_draft(
            interaction.guild,
            interaction.user.id,
            title=title,
            description=description,
            brings=brings or "",
            deadline=deadline,
        )
        _ = await self.bot.texts(interaction.guild.id)
        taxonomy = await guild_taxonomy(self.bot.db, interaction.guild.id)
        await answer(interaction, draft_text(_, search), view=draft_view(_, search, taxonomy))

    @app_commands.command(name="settings", description="Whether you are suggested to searches")
    @app_commands.describe(suggest="On: you may be suggested to partner searches")
    @app_commands.choices(suggest=ON_OFF)
    async def settings(
        self,
        interaction: discord.Interaction[MoteplassBot],
        suggest: app_commands.Choice[str] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        wanted = None if suggest is None else suggest.value == "on"
        state = await self.service.settings(interaction.guild_id, interaction.user.id, wanted)
        key = "partner.settings.on" if state else "partner.settings.off"
        text = _(key)
        if wanted is not None:
            text = _("partner.settings.saved") + "\n" + text
        await answer(interaction, text)


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(PartnersCog(bot))
