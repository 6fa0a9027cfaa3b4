"""/setup start (the guided start, cogs/setup_start.py), /setup configure and /setup show
(Manage Server); /community add_sector and /community add_interest (organisers):
per-server settings and the server's own taxonomy."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.domain.profiles import LABEL_LIMIT, server_entry
from bot.domain.setup_steps import current_step
from bot.domain.taxonomy import Kind
from bot.domain.zones import suggest_timezones, validate_timezone
from bot.i18n import Text
from bot.permissions import ANNOUNCE_NEEDS, INTRO_NEEDS, channel_problems
from bot.services.matching import THREAD_NEEDS
from bot.services.profiles import guild_taxonomy
from bot.services.setup import check_channel, check_role, checklist_text, describe_channel
from bot.storage.guilds import GuildSettings
from bot.storage.setup import LANGUAGE_STEP, SetupRepository
from bot.storage.taxonomy import TaxonomyRepository
from bot.tree import RegistersItems, answer
from cogs.setup_start import DYNAMIC_ITEMS, render

# Organiser commands carry no default permissions (the organiser role must see them without
# an admin editing Server Settings → Integrations); they are checked with
# `require_organiser` and marked so the structural test can see it.
ORGANISER = {"organiser": True}
Label = app_commands.Range[str, 1, LABEL_LIMIT]
# The options an entry of the server's taxonomy is given by (/community add_…).
ENTRY_OPTIONS = {
    "key": "Stable id: lower-case letters, digits and _",
    "label_nb": "Name in Norwegian",
    "label_sv": "Name in Swedish",
    "label_en": "Name in English",
}

LANGUAGE_CHOICES = [
    app_commands.Choice(name="Norsk bokmål", value="nb"),
    app_commands.Choice(name="Svenska", value="sv"),
    app_commands.Choice(name="English", value="en"),
]
ON_OFF_CHOICES = [
    app_commands.Choice(name="On", value="on"),
    app_commands.Choice(name="Off", value="off"),
]
REGION_LIMIT = 100


def settings_embed(
    _: Text, guild: discord.Guild, settings: GuildSettings, problems: list[str] | None = None
) -> discord.Embed:
    embed = discord.Embed(title=_("setup.show.title"), colour=discord.Colour.blurple())
    embed.add_field(
        name=_("setup.field.announce_channel"),
        value=describe_channel(_, guild, settings.announce_channel_id),
        inline=False,
    )
    embed.add_field(
        name=_("setup.field.intro_channel"),
        value=describe_channel(_, guild, settings.intro_channel_id),
        inline=False,
    )
    embed.add_field(
        name=_("setup.field.partner_channel"),
        value=describe_channel(_, guild, settings.partner_channel_id)
        if settings.partner_channel_id is not None
        else _("setup.value.partner_default"),
        inline=False,
    )
    role_text = _("setup.value.unset")
    if settings.organiser_role_id is not None:
        role = guild.get_role(settings.organiser_role_id)
        role_text = (
            role.mention
            if role
            else _("setup.value.role_deleted", role_id=settings.organiser_role_id)
        )
    embed.add_field(name=_("setup.field.organiser_role"), value=role_text, inline=False)
    embed.add_field(name=_("setup.field.language"), value=_(f"language.{settings.language}"))
    embed.add_field(name=_("setup.field.timezone"), value=settings.timezone)
    national = (
        _("setup.value.national_on", region=settings.region_name or guild.name)
        if settings.national_report
        else _("setup.value.national_off")
    )
    embed.add_field(name=_("setup.field.national_report"), value=national)
    if problems:
        embed.add_field(
            name=_("setup.field.problems"), value="\n".join(problems)[:1024], inline=False
        )
    if not settings.stored:
        embed.set_footer(text=_("setup.show.not_saved"))
    return embed


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SetupCog(
    RegistersItems, commands.GroupCog, group_name="setup", group_description="Set up Møteplass"
):
    dynamic_items = DYNAMIC_ITEMS

    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="start", description="A guided start: channels, series, team")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def start(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        """The first step not done; every step can be reached again from the message."""
        assert interaction.guild is not None
        facts = await SetupRepository(self.bot.db).facts(interaction.guild.id)
        shown = await render(self.bot, interaction.guild, current_step(facts))
        await answer(interaction, **shown)

    @app_commands.command(name="configure", description="Choose channels, role, language, zone")
    @app_commands.describe(
        announce_channel="Where meetings are announced",
        intro_channel="Where introductions and matches are posted",
        partner_channel="Where partner searches are posted (default: the introductions channel)",
        organiser_role="People with this role may run organiser commands",
        language="The language the bot writes in",
        timezone="IANA time zone, e.g. Europe/Oslo",
    )
    @app_commands.choices(language=LANGUAGE_CHOICES)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def configure(
        self,
        interaction: discord.Interaction[MoteplassBot],
        announce_channel: discord.TextChannel | None = None,
        intro_channel: discord.TextChannel | None = None,
        partner_channel: discord.TextChannel | None = None,
        organiser_role: discord.Role | None = None,
        language: app_commands.Choice[str] | None = None,
        timezone: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        current = await self.bot.guild_settings.get(guild.id)
        # Validate everything before storing anything.
        zone = validate_timezone(timezone) if timezone is not None else None
        if announce_channel is not None:
            check_channel(guild, announce_channel.id, ANNOUNCE_NEEDS)
        if intro_channel is not None:
            check_channel(guild, intro_channel.id, INTRO_NEEDS)
        if partner_channel is not None:
            check_channel(guild, partner_channel.id, THREAD_NEEDS)
        if organiser_role is not None:
            # Without resolved data the option is a bare id: use the server's own role.
            check_role(guild, organiser_role.id)
        updated = current.with_changes(
            announce_channel_id=announce_channel.id if announce_channel else None,
            intro_channel_id=intro_channel.id if intro_channel else None,
            partner_channel_id=partner_channel.id if partner_channel else None,
            organiser_role_id=organiser_role.id if organiser_role else None,
            language=language.value if language else None,
            timezone=zone,
        )
        saved = await self.bot.guild_settings.save(updated, self.bot.clock.now())
        if language is not None or zone is not None:
            # The guided start's language step is done too (its checklist).
            await SetupRepository(self.bot.db).confirm(
                guild.id, LANGUAGE_STEP, self.bot.clock.now()
            )
        _ = self.bot.catalog.translator(saved.language)
        await answer(interaction, _("setup.saved"), embed=settings_embed(_, guild, saved))

    @configure.autocomplete("timezone")
    async def _timezone_autocomplete(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in suggest_timezones(current)]

    @app_commands.command(
        name="national_report", description="Include this server in the host's national view"
    )
    @app_commands.describe(
        state="On: this server is in the host's national report (counts only)",
        region="The region's name in the report (default: the server's name)",
    )
    @app_commands.choices(state=ON_OFF_CHOICES)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def national_report(
        self,
        interaction: discord.Interaction[MoteplassBot],
        state: app_commands.Choice[str],
        region: app_commands.Range[str, 1, REGION_LIMIT] | None = None,
    ) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        current = await self.bot.guild_settings.get(guild.id)
        # The name given, else the one stored, else the server's name now.
        name = (region or "").strip() or current.region_name or guild.name
        saved = await self.bot.guild_settings.set_national_report(
            guild.id, state.value == "on", name[:REGION_LIMIT], self.bot.clock.now()
        )
        _ = self.bot.catalog.translator(saved.language)
        key = "setup.national.on" if saved.national_report else "setup.national.off"
        await answer(
            interaction,
            _(key, region=saved.region_name or guild.name),
            embed=settings_embed(_, guild, saved),
        )

    @app_commands.command(name="show", description="Show this server's settings")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def show(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild is not None
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        _ = self.bot.catalog.translator(settings.language)
        problems = channel_problems(_, interaction.guild, settings, self.bot.channel_health)
        embed = settings_embed(_, interaction.guild, settings, problems)
        facts = await SetupRepository(self.bot.db).facts(interaction.guild.id)
        embed.add_field(
            name=_("setup_start.checklist"), value=checklist_text(_, facts)[:1024], inline=False
        )
        await answer(interaction, embed=embed)


@app_commands.guild_only()
class CommunityCog(
    commands.GroupCog, group_name="community", group_description="The server's own sectors"
):
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(
        name="add_sector", description="Add or rename a sector of this server", extras=ORGANISER
    )
    @app_commands.describe(**ENTRY_OPTIONS, colour="Card colour, #RRGGBB")
    async def add_sector(
        self,
        interaction: discord.Interaction[MoteplassBot],
        key: app_commands.Range[str, 1, 40],
        label_nb: Label | None = None,
        label_sv: Label | None = None,
        label_en: Label | None = None,
        colour: app_commands.Range[str, 1, 7] | None = None,
    ) -> None:
        labels = {"nb": label_nb, "sv": label_sv, "en": label_en}
        await self._add_entry(interaction, "sector", key, labels, colour)

    @app_commands.command(
        name="add_interest",
        description="Add or rename one of this server's interests or themes",
        extras=ORGANISER,
    )
    @app_commands.describe(**ENTRY_OPTIONS)
    async def add_interest(
        self,
        interaction: discord.Interaction[MoteplassBot],
        key: app_commands.Range[str, 1, 40],
        label_nb: Label | None = None,
        label_sv: Label | None = None,
        label_en: Label | None = None,
    ) -> None:
        labels = {"nb": label_nb, "sv": label_sv, "en": label_en}
        await self._add_entry(interaction, "theme", key, labels, None)

    async def _add_entry(
        self,
        interaction: discord.Interaction[MoteplassBot],
        kind: Kind,
        key: str,
        labels: dict[str, str | None],
        colour: str | None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        taxonomy = await guild_taxonomy(self.bot.db, interaction.guild_id)
        entry, new = server_entry(taxonomy, kind, key, labels, colour)
        await TaxonomyRepository(self.bot.db).add(interaction.guild_id, entry)
        what = "sector" if kind == "sector" else "interest"
        done = "added" if new else "renamed"
        await answer(
            interaction,
            _(f"setup.taxonomy.{what}_{done}", label=entry.label(_.lang), key=entry.key),
        )


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(SetupCog(bot))
    await bot.add_cog(CommunityCog(bot))
