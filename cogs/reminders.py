"""/reminders on|off (per person) and /reminders plan (organisers); drives ReminderService."""

from __future__ import annotations

import dataclasses

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import MoteplassBot
from bot.domain.dates import parse_time
from bot.domain.reminders import ReminderPlan, validate_plan
from bot.i18n import Text
from bot.services.reminders import ReminderService
from bot.tree import DrivesService, answer

ORGANISER = {"organiser": True}


def describe_plan(_: Text, plan: ReminderPlan) -> str:
    off = _("reminders.plan.off")
    lines = [
        _("reminders.plan.title"),
        _(
            "reminders.plan.channel",
            days=plan.channel_reminder_days if plan.channel_enabled else off,
        ),
        _("reminders.plan.dm", days=plan.dm_days if plan.dm_enabled else off),
        _("reminders.plan.time", time=plan.local_time.strftime("%H:%M")),
        _(
            "reminders.plan.hour_before",
            value=_("reminders.plan.on") if plan.extra_hour_before else off,
        ),
        _(
            "reminders.plan.ping",
            role=f"<@&{plan.ping_role_id}>" if plan.ping_role_id else off,
        ),
        _(
            "reminders.plan.monthly",
            day=plan.monthly_day if plan.monthly_enabled else off,
            time=plan.monthly_time.strftime("%H:%M"),
        ),
    ]
    return "\n".join(lines)


@app_commands.guild_only()
class RemindersCog(
    DrivesService[ReminderService],
    commands.GroupCog,
    group_name="reminders",
    group_description="Reminders",
):
    def __init__(self, bot: MoteplassBot) -> None:
        super().__init__(bot, bot.services.reminders)

    async def cog_unload(self) -> None:
        await self.service.close()

    # ----- listeners ---------------------------------------------------------------

    @commands.Cog.listener()
    async def on_meeting_changed(self, meeting_id: int) -> None:
        await self.service.meeting_changed(meeting_id)

    @commands.Cog.listener()
    async def on_series_changed(self, guild_id: int) -> None:
        await self.service.series_changed()

    # ----- commands ----------------------------------------------------------------

    async def _toggle(self, interaction: discord.Interaction[MoteplassBot], off: bool) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.texts(interaction.guild_id)
        await self.service.plans.set_dm_opt_out(
            interaction.guild_id, interaction.user.id, off, self.bot.clock.now()
        )
        key = "reminders.opted_out" if off else "reminders.opted_in"
        await answer(interaction, _(key))

    @app_commands.command(name="on", description="Get reminder DMs for meetings you go to")
    async def on(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        await self._toggle(interaction, off=False)

    @app_commands.command(name="off", description="No reminder DMs for me")
    async def off(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        await self._toggle(interaction, off=True)

    @app_commands.command(
        name="plan", description="Show or change the reminder plan", extras=ORGANISER
    )
    @app_commands.describe(
        channel_days="Channel reminder this many days before (-1: off)",
        dm_days="DM to those going this many days before (-1: off)",
        time="Local time of the reminders, e.g. 10:00",
        hour_before="One more channel reminder an hour before",
        ping_role="Role to ping in the channel reminder",
        no_ping="Stop pinging a role",
        monthly_day="Day of the monthly post (0: off)",
    )
    async def plan(
        self,
        interaction: discord.Interaction[MoteplassBot],
        channel_days: int | None = None,
        dm_days: int | None = None,
        time: str | None = None,
        hour_before: bool | None = None,
        ping_role: discord.Role | None = None,
        no_ping: bool | None = None,
        monthly_day: int | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        plan = await self.service.plans.get(interaction.guild_id)
        changes: dict[str, object] = {}
        if channel_days is not None:
            changes["channel_enabled"] = channel_days >= 0
            if channel_days >= 0:
                changes["channel_reminder_days"] = channel_days
        if dm_days is not None:
            changes["dm_enabled"] = dm_days >= 0
            if dm_days >= 0:
                changes["dm_days"] = dm_days
        if time is not None:
            changes["local_time"] = parse_time(time)
        if hour_before is not None:
            changes["extra_hour_before"] = hour_before
        if ping_role is not None:
            changes["ping_role_id"] = ping_role.id
        if no_ping:
            changes["ping_role_id"] = None
        if monthly_day is not None:
            changes["monthly_enabled"] = monthly_day != 0
            if monthly_day != 0:
                changes["monthly_day"] = monthly_day
        if changes:
            plan = validate_plan(dataclasses.replace(plan, **changes))  # type: ignore[arg-type]
            plan = await self.service.plans.set(interaction.guild_id, plan, self.bot.clock.now())
            await self.service.sync()
        text = describe_plan(_, plan)
        if changes:
            text = _("reminders.plan.saved") + "\n" + text
        await answer(interaction, text)


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(RemindersCog(bot))
