"""/team set|remove|show: the handbook's roles and the "who runs Møteplass" card.

Holding a team role makes a member an organiser (`bot.permissions.is_organiser`), so giving
or taking one away needs what choosing the organiser role needs: Manage Server (checked on
the server; the group stays visible so organisers can run `/team show`).
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.domain.team import ORGANISATION_LIMIT, ROLES, suggest_organisations, tidy_organisation
from bot.errors import BadInput
from bot.i18n import Text
from bot.permissions import manages_server, require_manage_server
from bot.services.team import TeamService
from bot.tree import DrivesService, answer

ORGANISER = {"organiser": True}
# Stricter than organisers: checked with `require_manage_server` (the structural test
# knows this mark).
MANAGE_SERVER = {"manage_server": True}

ROLE_CHOICES = [app_commands.Choice(name=role.replace("_", " "), value=role) for role in ROLES]


@app_commands.guild_only()
class TeamCog(
    DrivesService[TeamService],
    commands.GroupCog,
    group_name="team",
    group_description="Who runs Møteplass here",
):
    def __init__(self, bot: MoteplassBot) -> None:
        super().__init__(bot, bot.services.team)

    async def _manager_texts(self, interaction: discord.Interaction[MoteplassBot]) -> Text:
        require_manage_server(interaction.user)
        return await self.bot.texts(interaction.guild_id)

    async def _card_note(self, _: Text, guild_id: int) -> str:
        """Whether the card shows the change (edited at once), or how to post it."""
        card = await self.service.repo.card(guild_id)
        if card is None:
            return _("team.card.hint")
        return _("team.card.stale" if card.stale else "team.card.updated")

    @app_commands.command(
        name="set", description="Give a member one of the team's roles", extras=MANAGE_SERVER
    )
    @app_commands.describe(
        role="The role in the team",
        member="Who holds it",
        organisation="The organisation they hold it for (suggested from profiles and the team)",
    )
    @app_commands.choices(role=ROLE_CHOICES)
    async def set_(
        self,
        interaction: discord.Interaction[MoteplassBot],
        role: app_commands.Choice[str],
        member: discord.User,
        organisation: app_commands.Range[str, 1, ORGANISATION_LIMIT] | None = None,
    ) -> None:
        assert interaction.guild is not None
        _ = await self._manager_texts(interaction)
        if role.value not in ROLES:
            raise BadInput("error.bad_value", value=role.value)
        if member.bot:
            raise BadInput("team.error.bot")
        tidy = tidy_organisation(organisation) if organisation is not None else None
        holding = await self.service.repo.set_role(
            interaction.guild.id, member.id, role.value, tidy or None, self.bot.clock.now()
        )
        await self.service.refresh_stale(interaction.guild.id)
        role_name = _(f"team.role.{role.value}")
        text = (
            _(
                "team.set.done_org",
                member=f"<@{member.id}>",
                role=role_name,
                organisation=discord.utils.escape_markdown(holding.organisation),
            )
            if holding.organisation
            else _("team.set.done", member=f"<@{member.id}>", role=role_name)
        )
        note = await self._card_note(_, interaction.guild.id)
        await answer(interaction, f"{text}\n{note}")

    @set_.autocomplete("organisation")
    async def _organisation_autocomplete(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not manages_server(interaction.user):
            return []  # only those who may set roles see the server's organisations here
        known = await self.service.repo.organisations(interaction.guild_id)
        return [app_commands.Choice(name=n, value=n) for n in suggest_organisations(known, current)]

    @app_commands.command(
        name="remove", description="Take a team role away from a member", extras=MANAGE_SERVER
    )
    @app_commands.describe(role="The role in the team", member="Who held it")
    @app_commands.choices(role=ROLE_CHOICES)
    async def remove(
        self,
        interaction: discord.Interaction[MoteplassBot],
        role: app_commands.Choice[str],
        member: discord.User,
    ) -> None:
        assert interaction.guild is not None
        _ = await self._manager_texts(interaction)
        removed = await self.service.repo.remove_role(interaction.guild.id, member.id, role.value)
        role_name = _(f"team.role.{role.value}")
        if not removed:
            await answer(
                interaction, _("team.remove.not_held", member=f"<@{member.id}>", role=role_name)
            )
            return
        await self.service.refresh_stale(interaction.guild.id)
        text = _("team.remove.done", member=f"<@{member.id}>", role=role_name)
        note = await self._card_note(_, interaction.guild.id)
        await answer(interaction, f"{text}\n{note}")

    @app_commands.command(
        name="show", description="Post or update the card of who runs Møteplass", extras=ORGANISER
    )
    async def show(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        if not await self.service.repo.holdings(interaction.guild.id):
            raise BadInput("team.error.empty")
        outcome = await self.service.publish(interaction.guild, post=True)
        card = await self.service.repo.card(interaction.guild.id)
        assert card is not None
        await answer(interaction, _(f"team.show.{outcome}", channel=f"<#{card.channel_id}>"))


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(TeamCog(bot))
