"""/series create|list|edit|skip|stop: monthly (or weekly) meeting series, for organisers."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time

import discord
from discord import app_commands
from discord.ext import commands

from bot.autocomplete import chosen_id
from bot.bot import MoteplassBot
from bot.domain.dates import format_date_local, parse_date, parse_time
from bot.domain.meeting import validate_capacity
from bot.domain.moments import to_local
from bot.domain.recurrence import DEFAULT_LEAD_DAYS, SeriesSchedule, validate_lead_days
from bot.domain.rule_phrases import ParsedRule, describe_rule, parse_rule
from bot.errors import BadInput, NotFound
from bot.i18n import Text
from bot.services.series import create_series, update_series
from bot.storage.series import Series, SeriesRepository
from bot.tree import answer


def _times(parsed: ParsedRule, start: str | None, end: str | None) -> tuple[time, time]:
    start_time = parse_time(start) if start else parsed.start_time
    end_time = parse_time(end) if end else parsed.end_time
    if start_time is None or end_time is None:
        raise BadInput("series.error.no_time")
    return start_time, end_time


def next_dates(schedule: SeriesSchedule, now: datetime, n: int = 3) -> list[datetime]:
    found: list[datetime] = []
    after = now
    for _ in range(n):
        occurrence = schedule.next_occurrence(after)
        if occurrence is None:
            break
        found.append(occurrence.start_utc)
        after = occurrence.start_utc + (occurrence.end_utc - occurrence.start_utc) / 2
    return found


def describe(_: Text, series: Series, now: datetime) -> str:
    rule = describe_rule(series.rule, _)
    hours = f"{series.start_time:%H:%M}–{series.end_time:%H:%M}"
    dates = " · ".join(f"<t:{int(d.timestamp())}:D>" for d in next_dates(series.schedule, now))
    return _(
        "series.summary",
        id=series.id,
        title=series.title_template,
        rule=rule,
        hours=hours,
        lead=series.lead_days,
        dates=dates or "—",
    )


# No default permissions: the organiser role must see these without an admin editing
# Server Settings → Integrations; every command checks `organiser_texts` on the server.
ORGANISER = {"organiser": True}


@app_commands.guild_only()
class SeriesCog(commands.GroupCog, group_name="series", group_description="Meeting series"):
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.repo = SeriesRepository(bot.db)
        super().__init__()

    async def _series(self, interaction: discord.Interaction[MoteplassBot], value: str) -> Series:
        assert interaction.guild_id is not None
        found = await self.repo.get(
            interaction.guild_id, chosen_id(value.strip().lstrip("#"), "series.error.not_found")
        )
        if found is None:
            raise NotFound("series.error.not_found")
        return found

    def _changed(self, guild_id: int) -> None:
        self.bot.dispatch("series_changed", guild_id)

    @app_commands.command(name="create", description="Start a recurring meeting", extras=ORGANISER)
    @app_commands.describe(
        rule="E.g. first Thursday of every month 08:30-10:00",
        title="Title of each meeting",
        place="Address or link",
        description="Programme or description",
        lead_days="Days ahead each meeting is created and announced (default 21)",
        capacity="Most people who can come (empty: no limit)",
        start="Start time, if the rule has none",
        end="End time, if the rule has none",
    )
    async def create(
        self,
        interaction: discord.Interaction[MoteplassBot],
        rule: str,
        title: str,
        place: str = "",
        description: str = "",
        lead_days: int = DEFAULT_LEAD_DAYS,
        capacity: app_commands.Range[int, 1, 10000] | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        parsed = parse_rule(rule)
        start_time, end_time = _times(parsed, start, end)
        series = await create_series(
            self.bot,
            interaction.guild_id,
            interaction.user.id,
            parsed,
            start_time,
            end_time,
            title,
            place,
            description,
            lead_days,
            capacity,
        )
        now = self.bot.clock.now()
        lines = [_("series.created"), describe(_, series, now)]
        if parsed.rule.skips_some_months:
            lines.append(_("series.notice.some_months_skipped", rule=describe_rule(parsed.rule, _)))
        await answer(interaction, "\n".join(lines))

    @app_commands.command(name="list", description="The server's series", extras=ORGANISER)
    async def list_(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        found = await self.repo.for_guild(interaction.guild_id)
        if not found:
            await answer(interaction, _("series.list.empty"))
            return
        now = self.bot.clock.now()
        text = "\n\n".join(describe(_, s, now) for s in found[:10])
        await answer(interaction, text[:2000])

    @app_commands.command(
        name="edit", description="Change a series (future meetings only)", extras=ORGANISER
    )
    @app_commands.describe(
        series="The series",
        rule="New rule, e.g. last Tuesday 17:00-19:00",
        title="New title",
        place="New place",
        description="New programme or description",
        lead_days="New days ahead",
        capacity="New capacity (0 removes the limit)",
    )
    async def edit(
        self,
        interaction: discord.Interaction[MoteplassBot],
        series: str,
        rule: str | None = None,
        title: str | None = None,
        place: str | None = None,
        description: str | None = None,
        lead_days: int | None = None,
        capacity: app_commands.Range[int, 0, 10000] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        current = await self._series(interaction, series)
        changed = current
        if rule is not None:
            parsed = parse_rule(rule)
            start_time = parsed.start_time or current.start_time
            end_time = parsed.end_time or current.end_time
            changed = dataclasses.replace(
                changed, rule=parsed.rule, start_time=start_time, end_time=end_time
            )
        if title is not None:
            changed = dataclasses.replace(changed, title_template=title.strip())
        if place is not None:
            changed = dataclasses.replace(changed, place_template=place.strip())
        if description is not None:
            changed = dataclasses.replace(changed, description_template=description.strip())
        if lead_days is not None:
            changed = dataclasses.replace(changed, lead_days=validate_lead_days(lead_days))
        if capacity is not None:
            changed = dataclasses.replace(changed, capacity=validate_capacity(capacity or None))
        if changed == current:
            raise BadInput("series.error.nothing_to_change")
        saved = await update_series(self.bot, changed)
        text = _("series.edited") + "\n" + describe(_, saved, self.bot.clock.now())
        await answer(interaction, text)

    @app_commands.command(
        name="skip", description="Skip one date (a holiday, the July break)", extras=ORGANISER
    )
    @app_commands.describe(series="The series", date="The date to skip, e.g. 2.7.2027")
    async def skip(
        self, interaction: discord.Interaction[MoteplassBot], series: str, date: str
    ) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        current = await self._series(interaction, series)
        now = self.bot.clock.now()
        day = parse_date(date, today=to_local(now, current.timezone).date())
        if not current.rule.matches(day):
            raise BadInput("series.error.not_a_date", date=day.isoformat())
        if not await self.repo.skip(interaction.guild_id, current.id, day, now):
            raise BadInput("series.error.already_skipped", date=day.isoformat())
        self._changed(interaction.guild_id)
        settings = await self.bot.guild_settings.get(interaction.guild_id)
        label = format_date_local(day, settings.language)
        await answer(interaction, _("series.skipped", date=label, title=current.title_template))

    @app_commands.command(
        name="stop", description="Stop creating meetings from a series", extras=ORGANISER
    )
    @app_commands.describe(series="The series")
    async def stop(self, interaction: discord.Interaction[MoteplassBot], series: str) -> None:
        assert interaction.guild_id is not None
        _ = await self.bot.organiser_texts(interaction)
        current = await self._series(interaction, series)
        if not await self.repo.stop(interaction.guild_id, current.id, self.bot.clock.now()):
            raise BadInput("series.error.stopped")
        self._changed(interaction.guild_id)
        await answer(interaction, _("series.stopped_ok", title=current.title_template))

    @edit.autocomplete("series")
    @skip.autocomplete("series")
    @stop.autocomplete("series")
    async def _series_autocomplete(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        _ = await self.bot.texts(interaction.guild_id)
        needle = current.strip().casefold()
        choices = []
        for item in await self.repo.for_guild(interaction.guild_id):
            label = f"#{item.id} · {item.title_template} · {describe_rule(item.rule, _)}"
            if needle and needle not in label.casefold():
                continue
            choices.append(app_commands.Choice(name=label[:100], value=str(item.id)))
        return choices[:25]


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(SeriesCog(bot))
