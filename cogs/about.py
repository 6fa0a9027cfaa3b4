"""/about: version, uptime, latency, database and upcoming meetings."""

from __future__ import annotations

import math
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.permissions import channel_problems, is_organiser
from bot.storage.health import count_upcoming_meetings
from bot.tree import answer


class AboutCog(commands.Cog):
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="About Møteplass: version and health")
    async def about(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        _ = await self.bot.texts(interaction.guild_id)
        healthy = await self.bot.db.healthy()
        upcoming = (
            await count_upcoming_meetings(self.bot.db, interaction.guild_id, self.bot.clock.now())
            if healthy and interaction.guild_id is not None
            else 0
        )
        latency = self.bot.latency
        latency_text = (
            _("about.latency_unknown")
            if math.isnan(latency) or math.isinf(latency)
            else _("about.latency_ms", ms=round(latency * 1000))
        )
        uptime = timedelta(seconds=int(self.bot.uptime_seconds()))
        embed = discord.Embed(title=_("about.title"), description=_("about.description"))
        embed.add_field(name=_("about.version"), value=self.bot.version)
        embed.add_field(name=_("about.uptime"), value=str(uptime))
        embed.add_field(name=_("about.latency"), value=latency_text)
        embed.add_field(
            name=_("about.database"), value=_("about.db_ok" if healthy else "about.db_error")
        )
        embed.add_field(name=_("about.upcoming"), value=str(upcoming))
        if interaction.guild is not None and healthy:
            settings = await self.bot.guild_settings.get(interaction.guild.id)
            if await is_organiser(self.bot.db, interaction.user, settings):
                problems = channel_problems(_, interaction.guild, settings, self.bot.channel_health)
                if problems:
                    value = "\n".join(problems)[:1024]
                    embed.add_field(name=_("about.problems"), value=value, inline=False)
        await answer(interaction, embed=embed)


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(AboutCog(bot))
