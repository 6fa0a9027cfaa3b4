"""/privacy show and /privacy delete: what the bot stores about you, and deleting it."""

from __future__ import annotations

import io
import json

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.errors import BadInput
from bot.i18n import Text
from bot.permissions import require_organiser
from bot.services.privacy import PrivacyService
from bot.storage.privacy import EXPORT_PARTS, PrivacySettings
from bot.tree import ReportingView, answer

RETENTION_MONTHS = (1, 120)
GRACE_DAYS = (0, 365)


class ConfirmDelete(ReportingView):
    """Delete or cancel; only the person who asked may press."""

    def __init__(
        self, service: PrivacyService, _: Text, guild_id: int, user_id: int, actor_id: int
    ) -> None:
        super().__init__(timeout=300)
        self.service = service
        self.text = _
        self.guild_id = guild_id
        self.user_id = user_id
        self.actor_id = actor_id
        self.confirm.label = _("privacy.delete.confirm")
        self.cancel.label = _("privacy.delete.cancel")

    async def interaction_check(self, interaction: discord.Interaction[MoteplassBot]) -> bool:  # type: ignore[override]
        if interaction.user.id != self.actor_id:
            return False
        if self.user_id != self.actor_id:
            # Someone else's data: still an organiser when pressing (the one check).
            await interaction.client.organiser_texts(interaction)
        return True

    @discord.ui.button(style=discord.ButtonStyle.danger)
    async def confirm(
        self,
        interaction: discord.Interaction[MoteplassBot],
        button: discord.ui.Button[ConfirmDelete],
    ) -> None:
        _ = self.text
        self.stop()
        await interaction.response.edit_message(content=_("privacy.delete.working"), view=None)
        result = await self.service.delete(self.guild_id, self.user_id, self.actor_id)
        key = "privacy.delete.done" if result.found else "privacy.delete.nothing"
        await interaction.edit_original_response(content=_(key))

    @discord.ui.button(style=discord.ButtonStyle.secondary)
    async def cancel(
        self,
        interaction: discord.Interaction[MoteplassBot],
        button: discord.ui.Button[ConfirmDelete],
    ) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=self.text("privacy.delete.cancelled"), view=None
        )


@app_commands.guild_only()
class PrivacyCog(commands.GroupCog, group_name="privacy", group_description="Your data"):
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.service = bot.services.privacy
        super().__init__()

    async def cog_load(self) -> None:
        self.service.schedule()

    async def cog_unload(self) -> None:
        self.service.unschedule()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # After every new gateway session: finish deletions a crash left unfinished.
        await self.service.resume_pending()

    async def run_sweep(self) -> None:
        await self.service.run_sweep()

    @app_commands.command(name="show", description="Everything stored about you here")
    async def show(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        export = await self.service.repo.export(interaction.guild_id, interaction.user.id)
        counts = self.service.repo.summarise(export)
        lines = [
            _("privacy.show.line", part=_(f"privacy.part.{part}"), count=counts[part])
            for part in EXPORT_PARTS
            if counts[part]
        ]
        roles = export["data"]["team_roles"]
        if roles:
            names = [_(f"team.role.{r['role']}") for r in roles]
            lines.append(_("privacy.show.team_roles", roles=", ".join(names)))
        embed = discord.Embed(
            title=_("privacy.show.title"),
            description="\n".join(lines) if lines else _("privacy.show.nothing"),
            colour=discord.Colour.blurple(),
        )
        proposals = export["data"]["proposals"]
        if proposals:  # the person's proposals, by title and state (the file has all of it)
            listed = "\n".join(
                _("privacy.proposal." + str(p["status"])) + f": {p['title']} ({p['meeting_title']})"
                for p in proposals[-10:]
            )
            embed.add_field(name=_("privacy.part.proposals"), value=listed[:1024], inline=False)
        embed.set_footer(text=_("privacy.show.footer"))
        document = json.dumps(export, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        file = discord.File(io.BytesIO(document), filename="moteplass-my-data.json")
        await answer(interaction, embed=embed, file=file)

    @app_commands.command(name="delete", description="Delete your data in this server")
    @app_commands.describe(member="Organisers: delete this member's data on request")
    async def delete(
        self,
        interaction: discord.Interaction[MoteplassBot],
        member: discord.User | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        settings = await self.bot.guild_settings.get(interaction.guild_id)
        _ = self.bot.catalog.translator(settings.language)
        target = interaction.user.id
        key = "privacy.delete.ask"
        if member is not None and member.id != interaction.user.id:
            await require_organiser(self.bot.db, interaction.user, settings)
            target = member.id
            key = "privacy.delete.ask_member"
        view = ConfirmDelete(self.service, _, interaction.guild_id, target, interaction.user.id)
        await answer(interaction, _(key, member=f"<@{target}>"), view=view)

    @app_commands.command(
        name="settings",
        description="How long data is kept (organisers)",
        extras={"organiser": True},
    )
    @app_commands.describe(
        retention_months="Delete answers and match history older than this (1–120 months)",
        leave_grace_days="Delete the data of members who left after this (0–365 days)",
    )
    async def settings(
        self,
        interaction: discord.Interaction[MoteplassBot],
        retention_months: app_commands.Range[int, 1, 120] | None = None,
        leave_grace_days: app_commands.Range[int, 0, 365] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        checks = (
            (retention_months, RETENTION_MONTHS, "privacy.error.retention_range"),
            (leave_grace_days, GRACE_DAYS, "privacy.error.grace_range"),
        )
        for value, (low, high), key in checks:
            if value is not None and not low <= value <= high:
                raise BadInput(key, min=low, max=high)
        current = await self.service.repo.settings(interaction.guild_id)
        changed = PrivacySettings(
            interaction.guild_id,
            current.retention_months if retention_months is None else retention_months,
            current.leave_grace_days if leave_grace_days is None else leave_grace_days,
        )
        if changed != current:
            await self.service.repo.save_settings(changed)
        await answer(
            interaction,
            _(
                "privacy.settings.saved" if changed != current else "privacy.settings.current",
                months=changed.retention_months,
                days=changed.leave_grace_days,
            ),
        )


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
