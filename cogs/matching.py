"""/match …: rounds, tables and settings (organisers); me, pause, resume, leave (everyone);
the "did you meet?" buttons. Drives MatchingService."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.autocomplete import meeting_option, recent_meetings
from bot.bot import MoteplassBot
from bot.domain.rhythm import OFF, WEEKDAYS
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
from bot.services.meetings import timestamps
from bot.services.profiles import guild_taxonomy
from bot.storage.matches import MatchSettings
from bot.tree import DEFER, NO_DEFER, RegistersItems, Reply, ServiceButton, answer, reports_errors
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
    ServiceButton,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=CUSTOM_ID_TEMPLATE,
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
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> MetButton:
        return cls(int(match["group"]), match["answer"])

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if self.answer == "collab":
            # Working together: the collaboration form (a modal must be the first answer,
            # so only reads before it); sending the form stores "yes, we met".
            await open_form(interaction, "match", self.group_id)
            return
        await super().callback(interaction)

    async def press(self, interaction: discord.Interaction[Any]) -> Reply:
        service: MatchingService = interaction.client.services.matching
        outcome = await service.answer(self.group_id, interaction.user.id, self.answer)
        return Reply(outcome.guild_id or interaction.guild_id, _ANSWERED[outcome.status])


def followup_view(_: Text, group_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for choice in ANSWERS:
        view.add_item(MetButton(group_id, choice, _(f"match.followup.{choice}")))
    return view


@app_commands.guild_only()
class MatchingCog(
    RegistersItems, commands.GroupCog, group_name="match", group_description="Matchmaking"
):
    dynamic_items = (MetButton,)

    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.service = bot.services.matching
        self.rhythm = bot.services.rhythm
        super().__init__()

    async def cog_unload(self) -> None:
        await super().cog_unload()
        await self.service.close()
        await self.rhythm.close()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Fires after every new gateway session; start() is idempotent (job ids from rows).
        try:
            await self.service.start()
        finally:
            await self.rhythm.start()  # its settled() must not wait forever

    # ----- shared ------------------------------------------------------------------

    # ----- organisers --------------------------------------------------------------

    @app_commands.command(name="round", description="Pair everyone taking part", extras=ORGANISER)
    @app_commands.describe(meeting="Only those going to this meeting")
    @app_commands.autocomplete(meeting=recent_meetings)
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
            await answer(interaction, text)

    @app_commands.command(
        name="tables",
        description="Seat those coming at mixed tables",
        # A public answer: its own defer, after the organiser check (reads only, which never
        # wait for the write lock), so a refusal stays ephemeral.
        extras={**ORGANISER, DEFER: NO_DEFER},
    )
    @app_commands.describe(size="People per table (2-12)", meeting="Those going to this meeting")
    @app_commands.autocomplete(meeting=recent_meetings)
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
        rhythm="Make rounds by themselves: off, every 2 or 4 weeks, or the week after each meeting",
        weekday="The weekday of the automatic rounds",
        time="The local time of the automatic rounds (HH:MM)",
        report_channel="Where the report after an automatic round goes (else a DM to you)",
    )
    @app_commands.choices(
        delivery=[
            app_commands.Choice(name="Private thread", value="thread"),
            app_commands.Choice(name="Direct message", value="dm"),
        ],
        rhythm=[
            app_commands.Choice(name="Off", value="off"),
            app_commands.Choice(
                name=app_commands.locale_str("Every 2 weeks", key="match.choice.every_2_weeks"),
                value="every_2_weeks",
            ),
            app_commands.Choice(
                name=app_commands.locale_str("Every 4 weeks", key="match.choice.every_4_weeks"),
                value="every_4_weeks",
            ),
            app_commands.Choice(
                name=app_commands.locale_str(
                    "The week after each meeting", key="match.choice.after_meeting"
                ),
                value="after_meeting",
            ),
        ],
        weekday=[
            app_commands.Choice(
                name=app_commands.locale_str(day.capitalize(), key=f"match.choice.{day}"),
                value=day,
            )
            for day in WEEKDAYS
        ],
    )
    async def settings(
        self,
        interaction: discord.Interaction[MoteplassBot],
        delivery: str | None = None,
        window: int | None = None,
        followup_days: int | None = None,
        rhythm: str | None = None,
        weekday: str | None = None,
        time: app_commands.Range[str, 1, 10] | None = None,
        report_channel: discord.TextChannel | None = None,
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        changed = (delivery, window, followup_days, rhythm, weekday, time, report_channel) != (
            (None,) * 7
        )
        report_channel_id = report_channel.id if report_channel is not None else None
        # every option checked before any is saved
        self.rhythm.validate(interaction.guild, rhythm, weekday, time, report_channel_id)
        saved = await self.service.update_settings(
            interaction.guild.id, delivery=delivery, window=window, followup_days=followup_days
        )
        saved = await self.rhythm.update(
            interaction.guild,
            interaction.user.id,
            rhythm=rhythm,
            weekday=weekday,
            at=time,
            report_channel_id=report_channel_id,
        )
        text = _(
            "match.settings.show",
            delivery=_(f"match.delivery.{saved.delivery}"),
            window=saved.window_rounds,
            days=saved.followup_days,
        )
        text += "\n" + await self._rhythm_text(_, saved)
        if changed:
            text = _("match.settings.saved") + "\n" + text
        await answer(interaction, text)

    async def _rhythm_text(self, _: Text, saved: MatchSettings) -> str:
        if saved.rhythm == OFF:
            line = _("match.settings.rhythm_off")
        else:
            upcoming = await self.rhythm.upcoming(saved, self.bot.clock.now())
            zone = (await self.bot.settings_for(saved.guild_id)).timezone
            line = _(
                "match.settings.rhythm",
                rhythm=_(f"match.rhythm.{saved.rhythm}"),
                weekday=_(f"match.weekday.{WEEKDAYS[saved.rhythm_weekday]}"),
                time=saved.rhythm_time.strftime("%H:%M"),
                zone=zone,
                next=_("match.settings.rhythm_no_slot")
                if upcoming is None
                else timestamps(upcoming),
            )
        if saved.report_channel_id is not None:
            return (
                line
                + "\n"
                + _("match.settings.report_channel", channel=f"<#{saved.report_channel_id}>")
            )
        if saved.rhythm_set_by is not None and saved.rhythm != OFF:
            return line + "\n" + _("match.settings.report_dm", user=f"<@{saved.rhythm_set_by}>")
        return line

    # ----- everyone ----------------------------------------------------------------

    @app_commands.command(name="me", description="Three people from other sectors to meet")
    async def me(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        found = await self.service.suggestions(interaction.guild_id, interaction.user.id)
        if not found:
            await answer(interaction, _("match.me.none"))
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
        await answer(interaction, embed=embed)

    @app_commands.command(name="pause", description="No matches for a while")
    @app_commands.describe(weeks="How many weeks (1-52, default 4)")
    async def pause(self, interaction: discord.Interaction[MoteplassBot], weeks: int = 4) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        until = await self.service.pause(interaction.guild_id, interaction.user.id, weeks)
        text = _("match.paused", date=f"<t:{int(until.timestamp())}:D>")
        await answer(interaction, text)

    @app_commands.command(name="resume", description="Take part in matching again")
    async def resume(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        await self._set_status(interaction, "active", "match.resumed")

    @app_commands.command(name="leave", description="Stop taking part in matching")
    async def leave(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        await self._set_status(interaction, "left", "match.left")

    async def _set_status(
        self, interaction: discord.Interaction[MoteplassBot], status: str, key: str
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        await self.service.set_status(interaction.guild_id, interaction.user.id, status)
        await answer(interaction, _(key))


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(MatchingCog(bot))
