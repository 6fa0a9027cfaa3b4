"""/report: what the meetings and match rounds achieved, for funders. Counts only."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.domain.dates import parse_date
from bot.domain.moments import to_local
from bot.services.reports import (
    build,
    build_team_lines,
    range_text,
    render,
    request_for,
    summary_lines,
)
from bot.tree import answer


class ReportCog(commands.Cog):
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot

    # No default permissions: the organiser role must see it (checked on the server).
    @app_commands.command(
        name="report", description="Report on meetings and matches", extras={"organiser": True}
    )
    @app_commands.guild_only()
    @app_commands.rename(start="from", end="to")
    @app_commands.describe(
        start="First day, e.g. 2026-01-01 (default: twelve months back)",
        end="Last day, e.g. 2026-12-31 (default: today)",
    )
    async def report(
        self,
        interaction: discord.Interaction[MoteplassBot],
        start: app_commands.Range[str, 1, 32] | None = None,
        end: app_commands.Range[str, 1, 32] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        settings = await self.bot.guild_settings.get(interaction.guild_id)
        now = self.bot.clock.now()
        today = to_local(now, settings.timezone).date()
        request = request_for(
            now,
            settings.timezone,
            parse_date(start, today=today) if start else None,
            parse_date(end, today=today) if end else None,
        )
        report = await build(self.bot.db, interaction.guild_id, request)
        rendered = await asyncio.to_thread(render, report, _)
        lines = summary_lines(report, _)
        lines += await build_team_lines(self.bot.db, interaction.guild_id, request, _)
        embed = discord.Embed(
            title=_("report.title"),
            description="\n".join(lines)[:4096],
            colour=discord.Colour.blurple(),
        )
        embed.add_field(name=range_text(request, _), value=_("report.attachments"), inline=False)
        embed.set_footer(text=_("report.privacy"))
        embed.set_image(url=f"attachment://{rendered.filename_stem}.png")
        files = [
            discord.File(io.BytesIO(rendered.csv), filename=f"{rendered.filename_stem}.csv"),
            discord.File(io.BytesIO(rendered.png), filename=f"{rendered.filename_stem}.png"),
        ]
        await answer(interaction, embed=embed, files=files)


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(ReportCog(bot))
