"""/match …: rounds, tables and settings (organisers); me, pause, resume, leave (everyone);
the "did you meet?" buttons. Drives MatchingService."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.autocomplete import meeting_choices, meeting_option
from bot.bot import MoteplassBot
from bot.i18n import Text
from bot.services.matching import (
    ANSWERS,
    CUSTOM_ID_TEMPLATE,
    AnswerStatus,
    MatchingService,
    chunks,
    followup_custom_id,
    render_reasons,
    round_summary,
    tables_text,
)
from bot.services.profiles import guild_taxonomy
from bot.tree import DEFER, NO_DEFER, answer, reports_errors
from cogs.collaborations import open_form

log = logging.getLogger(__name__)

# Subcommands cannot carry their own default permissions on Discord; these are checked
# on the server with `require_organiser` and marked so the structural test can see it.
ORGANISER = {"organiser": True}

_STYLES = {
    "yes": discord.ButtonStyle.success,
    "planned": discord.ButtonStyle.primary,
    "no": discord.ButtonStyle.secondary,
    "collab": discord.ButtonStyle.success,
}
_ANSWERED = {
    AnswerStatus.SAVED: "match.followup.thanks",
    AnswerStatus.NOT_MEMBER: "match.followup.not_member",
    AnswerStatus.UNKNOWN: "match.followup.unknown",
}


class MetButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=CUSTOM_ID_TEMPLATE
):
    """ "Did you meet?": yes / not yet / no / we started working together. The custom id
    carries the group and the answer, so the buttons work after any restart."""

    def __init__(self, group_id: int, answer: str, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or answer,
                style=_STYLES[answer],
                custom_id=followup_custom_id(group_id, answer),
            )
        )
        self.group_id = group_id
        self.answer = answer

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> MetButton:
        return cls(int(match["group"]), match["answer"])

    @reports_errors
    async def callback(self, interaction: discord.Interaction[MoteplassBot]) -> None:  # type: ignore[override]
        if self.answer == "collab":
            # Working together: the collaboration form (a modal must be the first answer,
            # so only reads before it); sending the form stores "yes, we met".
            await open_form(interaction, "match", self.group_id)
            return
        bot = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any work
        service: MatchingService = bot.services["matching"]
        outcome = await service.answer(self.group_id, interaction.user.id, self.answer)
        _ = await bot.texts(outcome.guild_id or interaction.guild_id)
        await interaction.followup.send(_(_ANSWERED[outcome.status]), ephemeral=True)


def followup_view(_: Text, group_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for choice in ANSWERS:
        view.add_item(MetButton(group_id, choice, _(f"match.followup.{choice}")))
    return view


@app_commands.guild_only()
class MatchingCog(commands.GroupCog, group_name="match", group_description="Matchmaking"):
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.service = MatchingService(bot, followup_view)
        bot.services["matching"] = self.service
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MetButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MetButton)
        await self.service.close()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Fires after every new gateway session; start() is idempotent (job ids from rows).
        await self.service.start()

    # ----- shared ------------------------------------------------------------------

    # ----- organisers --------------------------------------------------------------

    @app_commands.command(name="round", description="Pair everyone taking part", extras=ORGANISER)
    @app_commands.describe(meeting="Only those going to this meeting")
    async def round_(
        self, interaction: discord.Interaction[MoteplassBot], meeting: str | None = None
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        meeting_id = meeting_option(meeting)
        await self.service.delivery_channel(interaction.guild)  # fail before storing
        report = await self.service.make_round(
            interaction.guild, meeting_id=meeting_id, created_by=interaction.user.id
        )
        taxonomy = await guild_taxonomy(self.bot.db, interaction.guild.id)
        for text in chunks(round_summary(_, report, taxonomy)):
            await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(
        name="tables",
        description="Seat those coming at mixed tables",
        # A public answer: its own defer, after the organiser check (reads only, which never
        # wait for the write lock), so a refusal stays ephemeral.
        extras={**ORGANISER, DEFER: NO_DEFER},
    )
    @app_commands.describe(size="People per table (2-12)", meeting="Those going to this meeting")
    async def tables(
        self,
        interaction: discord.Interaction[MoteplassBot],
        size: int = 4,
        meeting: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        meeting_id = meeting_option(meeting)
        await interaction.response.defer(thinking=True)  # seating a big meeting takes a while
        plan = await self.service.tables(interaction.guild.id, size, meeting_id)
        taxonomy = await guild_taxonomy(self.bot.db, interaction.guild.id)
        for page in chunks(tables_text(_, plan, taxonomy)):
            await interaction.followup.send(page)

    @app_commands.command(
        name="settings", description="How matches are delivered and followed up", extras=ORGANISER
    )
    @app_commands.describe(
        delivery="A private thread per pair, or a DM to each",
        window="Rounds in which the same pair is avoided (1-24)",
        followup_days="Days until “did you meet?” (1-60)",
    )
    @app_commands.choices(
        delivery=[
            app_commands.Choice(name="Private thread", value="thread"),
            app_commands.Choice(name="Direct message", value="dm"),
        ]
    )
    async def settings(
        self,
        interaction: discord.Interaction[MoteplassBot],
        delivery: str | None = None,
        window: int | None = None,
        followup_days: int | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        changed = (delivery, window, followup_days) != (None, None, None)
        saved = await self.service.update_settings(
            interaction.guild_id, delivery=delivery, window=window, followup_days=followup_days
        )
        text = _(
            "match.settings.show",
            delivery=_(f"match.delivery.{saved.delivery}"),
            window=saved.window_rounds,
            days=saved.followup_days,
        )
        if changed:
            text = _("match.settings.saved") + "\n" + text
        await answer(interaction, text, ephemeral=True)

    @round_.autocomplete("meeting")
    @tables.autocomplete("meeting")
    async def _meeting_autocomplete(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await meeting_choices(interaction, current, recent=True)

    # ----- everyone ----------------------------------------------------------------

    @app_commands.command(name="me", description="Three people from other sectors to meet")
    async def me(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        found = await self.service.suggestions(interaction.guild_id, interaction.user.id)
        if not found:
            await answer(interaction, _("match.me.none"), ephemeral=True)
            return
        taxonomy = await guild_taxonomy(self.bot.db, interaction.guild_id)
        names = {str(profile.user_id): profile.display_name for profile, _s in found}
        own = await self.service.profiles.get(interaction.guild_id, interaction.user.id)
        if own is not None:
            names[str(own.user_id)] = own.display_name
        embed = discord.Embed(title=_("match.me.title"), colour=discord.Colour.blurple())
        for profile, suggestion in found:
            sector = taxonomy.label(profile.sector or "", _.lang)
            why = render_reasons(_, suggestion.reasons, names, taxonomy) or "—"
            embed.add_field(
                name=f"{profile.display_name} ({sector})"[:256],
                value=f"<@{profile.user_id}>\n{why}"[:1024],
                inline=False,
            )
        embed.set_footer(text=_("match.me.footer"))
        await answer(interaction, embed=embed, ephemeral=True)

    @app_commands.command(name="pause", description="No matches for a while")
    @app_commands.describe(weeks="How many weeks (1-52, default 4)")
    async def pause(self, interaction: discord.Interaction[MoteplassBot], weeks: int = 4) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        until = await self.service.pause(interaction.guild_id, interaction.user.id, weeks)
        text = _("match.paused", date=f"<t:{int(until.timestamp())}:D>")
        await answer(interaction, text, ephemeral=True)

    @app_commands.command(name="resume", description="Take part in matching again")
    async def resume(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        await self.service.set_status(interaction.guild_id, interaction.user.id, "active")
        await answer(interaction, _("match.resumed"), ephemeral=True)

    @app_commands.command(name="leave", description="Stop taking part in matching")
    async def leave(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        await self.service.set_status(interaction.guild_id, interaction.user.id, "left")
        await answer(interaction, _("match.left"), ephemeral=True)


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(MatchingCog(bot))
