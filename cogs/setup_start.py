"""`/setup start`: the guided start in one ephemeral message (the command is in
cogs/setup.py; this module renders the steps and answers their components).

Every component is a `DynamicItem` whose custom id carries the server, the step and the
action (`setup:<kind>:<guild>:<step>:<action>[:<arg>]`), and every choice is saved at once
through the existing repositories and services, so a press after a restart re-renders from
the database and the flow goes on. Only a member with Manage Server may press (checked on
every press). The steps and the checklist come from `bot.domain.setup_steps`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import discord

from bot.domain.dates import format_date_local
from bot.domain.moments import to_local
from bot.domain.recurrence import SeriesSchedule
from bot.domain.rule_phrases import describe_rule, parse_rule
from bot.domain.setup_steps import (
    CHANNELS,
    CHECKLIST,
    LANGUAGE,
    NORDIC_ZONES,
    REMINDERS,
    RHYTHMS,
    SERIES,
    STEP_NAMES,
    STEPS,
    TEAM,
    Rhythm,
    current_step,
    rhythm,
    step_done,
)
from bot.domain.team import PROJECT_LEAD
from bot.errors import BadInput
from bot.i18n import LANGUAGES, Text
from bot.permissions import require_manage_server
from bot.services.series import TITLE_MAX
from bot.services.setup import checklist_text, describe_channel
from bot.services.setup_start import carry_out, create_first_series, lacking, settings_of
from bot.storage.guilds import GuildSettings
from bot.storage.series import SeriesRepository
from bot.storage.setup import SetupRepository
from bot.tree import FromCustomId, ReportingModal, reports_errors
from cogs.reminders import describe_plan
from cogs.series import describe, next_dates

_ID = r"(?P<guild>[0-9]{1,20}):(?P<step>[1-6]):(?P<action>[a-z_]{1,20})(?::(?P<arg>[0-9]{1,3}))?"
RULE_LIMIT = 200


def custom_id(kind: str, guild_id: int, step: int, action: str, arg: int | None = None) -> str:
    tail = "" if arg is None else f":{arg}"
    return f"setup:{kind}:{guild_id}:{step}:{action}{tail}"


# ----- rendering -----------------------------------------------------------------------


def _nav(view: discord.ui.View, _: Text, guild_id: int, step: int, row: int) -> None:
    targets: list[tuple[int, str]] = []
    if step == CHECKLIST:
        targets = [(s, f"setup_start.step.{STEP_NAMES[s]}") for s in STEPS if s != CHECKLIST]
    else:
        if step > STEPS[0]:
            targets.append((step - 1, "setup_start.back"))
        targets.append((step + 1, "setup_start.next"))
        if step + 1 != CHECKLIST:
            targets.append((CHECKLIST, "setup_start.step.checklist"))
    for target, key in targets:
        label = _(key) if step != CHECKLIST else f"{target}. {_(key)}"
        view.add_item(
            StartButton(
                custom_id("b", guild_id, target, "go"),
                label=label[:80],
                style=discord.ButtonStyle.secondary,
                row=row,
            )
        )


def _rhythm_label(_: Text, chosen: Rhythm) -> str:
    hours = f"{chosen.start_time:%H:%M}–{chosen.end_time:%H:%M}"
    return f"{describe_rule(chosen.parsed.rule, _)} {hours}"


def _preview(_: Text, chosen: Rhythm, settings: GuildSettings, now: datetime) -> str:
    today = to_local(now, settings.timezone).date()
    schedule = SeriesSchedule(
        chosen.parsed.rule, today, chosen.start_time, chosen.end_time, settings.timezone
    )
    dates = [
        format_date_local(to_local(d, settings.timezone).date(), settings.language)
        for d in next_dates(schedule, now)
    ]
    return _("setup_start.series.preview", rule=_rhythm_label(_, chosen), dates="\n".join(dates))


@dataclass
class _Page:
    """What a step's renderer adds to: the server, its texts and the message's parts."""

    bot: Any
    guild: discord.Guild
    settings: GuildSettings
    _: Text
    now: datetime
    embed: discord.Embed
    view: discord.ui.View
    chosen: int | None

    def field(self, name: str, value: str) -> None:
        self.embed.add_field(name=name, value=value[:1024], inline=False)

    def button(
        self,
        step: int,
        action: str,
        key: str,
        style: discord.ButtonStyle,
        row: int,
        arg: int | None = None,
    ) -> None:
        cid = custom_id("b", self.guild.id, step, action, arg)
        self.view.add_item(StartButton(cid, label=self._(key)[:80], style=style, row=row))


async def _channels_page(page: _Page) -> int:
    _, guild, settings = page._, page.guild, page.settings
    page.field(
        _("setup.field.announce_channel"), describe_channel(_, guild, settings.announce_channel_id)
    )
    page.field(
        _("setup.field.intro_channel"), describe_channel(_, guild, settings.intro_channel_id)
    )
    role = guild.get_role(settings.organiser_role_id or 0)
    page.field(_("setup.field.organiser_role"), role.mention if role else _("setup.value.unset"))
    unset_channel = settings.announce_channel_id is None or settings.intro_channel_id is None
    missing = lacking(guild, channels=unset_channel, role=role is None)
    if missing:
        page.field(
            _("setup_start.create.title"), _("setup_start.create.cannot", permissions=missing)
        )
    for row, (action, current) in enumerate(
        (("announce", settings.announce_channel_id), ("intro", settings.intro_channel_id))
    ):
        select = discord.ui.ChannelSelect[discord.ui.View](
            placeholder=_(f"setup_start.pick.{action}"),
            channel_types=[discord.ChannelType.text],
            default_values=[discord.Object(current)] if current else [],
            row=row,
        )
        page.view.add_item(StartChannelSelect(custom_id("c", guild.id, CHANNELS, action), select))
    roles = discord.ui.RoleSelect[discord.ui.View](
        placeholder=_("setup_start.pick.role"), default_values=[role] if role else [], row=2
    )
    page.view.add_item(StartRoleSelect(custom_id("r", guild.id, CHANNELS, "role"), roles))
    page.button(CHANNELS, "create", "setup_start.create.button", discord.ButtonStyle.primary, 3)
    return 3


async def _language_page(page: _Page) -> int:
    _, settings, gid = page._, page.settings, page.guild.id
    page.embed.add_field(name=_("setup.field.language"), value=_(f"language.{settings.language}"))
    page.embed.add_field(name=_("setup.field.timezone"), value=settings.timezone)
    languages = discord.ui.Select[discord.ui.View](
        options=[
            discord.SelectOption(
                label=_(f"language.{lang}"), value=lang, default=lang == settings.language
            )
            for lang in LANGUAGES
        ],
        row=0,
    )
    page.view.add_item(StartSelect(custom_id("s", gid, LANGUAGE, "language"), languages))
    zones = list(NORDIC_ZONES)
    if settings.timezone not in zones:
        zones.append(settings.timezone)
    zone_select = discord.ui.Select[discord.ui.View](
        options=[
            discord.SelectOption(label=z, value=z, default=z == settings.timezone) for z in zones
        ],
        row=1,
    )
    page.view.add_item(StartSelect(custom_id("s", gid, LANGUAGE, "zone"), zone_select))
    page.button(LANGUAGE, "save", "setup_start.language.save", discord.ButtonStyle.success, 2)
    return 2


async def _series_page(page: _Page) -> int:
    _ = page._
    existing = await SeriesRepository(page.bot.db).for_guild(page.guild.id)
    for series in existing[:3]:
        page.field(_("setup_start.series.stored"), describe(_, series, page.now))
    picked = rhythm(page.chosen) if page.chosen is not None else None
    if picked is not None:
        page.field(_("setup_start.series.chosen"), _preview(_, picked, page.settings, page.now))
    if existing:
        return 0  # seen again: what is stored, no second series offered
    options = []
    for index in range(len(RHYTHMS)):
        offered = rhythm(index)
        assert offered is not None
        label = _rhythm_label(_, offered)[:100]
        options.append(
            discord.SelectOption(label=label, value=str(index), default=index == page.chosen)
        )
    pick = discord.ui.Select[discord.ui.View](
        placeholder=_("setup_start.pick.rhythm"), options=options, row=0
    )
    page.view.add_item(StartSelect(custom_id("s", page.guild.id, SERIES, "rhythm"), pick))
    page.button(SERIES, "own", "setup_start.series.own", discord.ButtonStyle.secondary, 1)
    if picked is not None:
        page.button(
            SERIES,
            "create",
            "setup_start.series.create",
            discord.ButtonStyle.success,
            1,
            picked.index,
        )
    return 2


async def _reminders_page(page: _Page) -> int:
    plan = await page.bot.services.reminders.plans.get(page.guild.id)
    page.field(page._("setup_start.reminders.plan"), describe_plan(page._, plan))
    page.button(REMINDERS, "accept", "setup_start.reminders.accept", discord.ButtonStyle.success, 0)
    return 1


async def _team_page(page: _Page) -> int:
    _, team = page._, page.bot.services.team
    holdings = await team.repo.holdings(page.guild.id)
    leads = [h.user_id for h in holdings if h.role == PROJECT_LEAD]
    page.field(
        _("team.role.project_lead"), " ".join(f"<@{u}>" for u in leads) or _("setup.value.unset")
    )
    card = await team.repo.card(page.guild.id)
    posted = _("setup_start.team.posted", channel=f"<#{card.channel_id}>") if card else None
    page.field(_("setup_start.team.card"), posted or _("setup.value.unset"))
    users = discord.ui.UserSelect[discord.ui.View](placeholder=_("setup_start.pick.lead"), row=0)
    page.view.add_item(StartUserSelect(custom_id("u", page.guild.id, TEAM, "lead"), users))
    return 1


async def _checklist_page(page: _Page) -> int:
    facts = await SetupRepository(page.bot.db).facts(page.guild.id)
    page.field(page._("setup_start.checklist"), checklist_text(page._, facts))
    return 0


# Each step's renderer; it returns the row its navigation buttons go in.
_PAGES: dict[int, Callable[[_Page], Awaitable[int]]] = {
    CHANNELS: _channels_page,
    LANGUAGE: _language_page,
    SERIES: _series_page,
    REMINDERS: _reminders_page,
    TEAM: _team_page,
    CHECKLIST: _checklist_page,
}


async def render(
    bot: Any, guild: discord.Guild, step: int, *, chosen: int | None = None
) -> dict[str, Any]:
    """The message for `step`: content, embed and view (for send or edit)."""
    settings = await settings_of(bot, guild)
    _ = bot.catalog.translator(settings.language)
    facts = await SetupRepository(bot.db).facts(guild.id)
    name = STEP_NAMES[step]
    content = _(
        "setup_start.title", step=step, total=len(STEPS), name=_(f"setup_start.step.{name}")
    )
    if step != CHECKLIST:
        done = step_done(facts, step)
        content += " · " + _("setup_start.state.done" if done else "setup_start.state.left")
    embed = discord.Embed(
        description=_(f"setup_start.intro.{name}"), colour=discord.Colour.blurple()
    )
    view = discord.ui.View(timeout=None)
    page = _Page(bot, guild, settings, _, bot.clock.now(), embed, view, chosen)
    nav_row = await _PAGES[step](page)
    _nav(view, _, guild.id, step, row=nav_row)
    return {"content": content, "embed": embed, "view": view}


def _guild_of(interaction: discord.Interaction[Any], guild_id: int) -> None:
    """The press is by a member with Manage Server, in the server the flow is for."""
    if interaction.guild is None or interaction.guild.id != guild_id:
        raise BadInput("error.guild_only")
    require_manage_server(interaction.user)


async def _answer(
    interaction: discord.Interaction[Any],
    guild_id: int,
    step: int,
    action: str,
    arg: int | None,
    values: list[Any],
) -> None:
    _guild_of(interaction, guild_id)
    await interaction.response.defer()  # before any work: the 3 s deadline
    guild = interaction.guild
    assert guild is not None
    bot = interaction.client
    step, chosen = await carry_out(bot, guild, interaction.user.id, step, action, arg, values)
    await interaction.edit_original_response(**await render(bot, guild, step, chosen=chosen))


def _parts(match: re.Match[str]) -> tuple[int, int, str, int | None]:
    arg = match["arg"]
    return int(match["guild"]), int(match["step"]), match["action"], int(arg) if arg else None


class _StartItem:
    """What every component of the flow shares: its custom id's parts."""

    def _set_parts(self, cid: str, match: re.Match[str] | None) -> None:
        assert match is not None, cid
        self.guild_id, self.step, self.action, self.arg = _parts(match)


class StartButton(
    FromCustomId,
    _StartItem,
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile("setup:b:" + _ID),
):
    def __init__(
        self,
        cid: str,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(custom_id=cid, label=label or None, style=style, row=row)
        )
        self._set_parts(cid, re.fullmatch("setup:b:" + _ID, cid))

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> StartButton:
        return cls(match.string)

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if self.action == "own":
            _guild_of(interaction, self.guild_id)
            assert interaction.guild is not None
            settings = await settings_of(interaction.client, interaction.guild)
            _ = interaction.client.catalog.translator(settings.language)
            await interaction.response.send_modal(RuleModal(_, self.guild_id))
            return
        await _answer(interaction, self.guild_id, self.step, self.action, self.arg, [])


class _StartPick(FromCustomId, _StartItem):
    """A select of the flow: its picked values are the action's values."""

    item: Any

    def __init__(self, cid: str, select: discord.ui.Item[Any]) -> None:
        select.custom_id = cid  # type: ignore[attr-defined]
        super().__init__(select)  # type: ignore[call-arg]  # the DynamicItem's
        self._set_parts(cid, self.__discord_ui_compiled_template__.fullmatch(cid))  # type: ignore[attr-defined]

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> _StartPick:
        return cls(match.string, item)

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _answer(
            interaction, self.guild_id, self.step, self.action, self.arg, list(self.item.values)
        )


class StartSelect(
    _StartPick,
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
    template=re.compile("setup:s:" + _ID),
):
    pass


class StartChannelSelect(
    _StartPick,
    discord.ui.DynamicItem[discord.ui.ChannelSelect[discord.ui.View]],
    template=re.compile("setup:c:" + _ID),
):
    pass


class StartRoleSelect(
    _StartPick,
    discord.ui.DynamicItem[discord.ui.RoleSelect[discord.ui.View]],
    template=re.compile("setup:r:" + _ID),
):
    pass


class StartUserSelect(
    _StartPick,
    discord.ui.DynamicItem[discord.ui.UserSelect[discord.ui.View]],
    template=re.compile("setup:u:" + _ID),
):
    pass


DYNAMIC_ITEMS = (StartButton, StartSelect, StartChannelSelect, StartRoleSelect, StartUserSelect)


class RuleModal(ReportingModal):
    """*Type my own*: the rule in words (with its times) and the meetings' title. Sending
    it creates the series as `/series create` does."""

    def __init__(self, _: Text, guild_id: int) -> None:
        super().__init__(title=_("setup_start.own.title")[:45], timeout=3600)
        self.guild_id = guild_id
        self.rule = discord.ui.TextInput["RuleModal"](
            custom_id="rule",
            max_length=RULE_LIMIT,
            placeholder=_("setup_start.own.rule_placeholder")[:100],
        )
        self.title_input = discord.ui.TextInput["RuleModal"](
            custom_id="title", max_length=TITLE_MAX
        )
        self.add_item(discord.ui.Label(text=_("setup_start.own.rule")[:45], component=self.rule))
        self.add_item(
            discord.ui.Label(
                text=_("setup_start.own.series_title")[:45], component=self.title_input
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        _guild_of(interaction, self.guild_id)
        await interaction.response.defer()  # before any work: the 3 s deadline
        bot = interaction.client
        guild = interaction.guild
        assert guild is not None
        parsed = parse_rule(self.rule.value)
        if parsed.start_time is None or parsed.end_time is None:
            raise BadInput("series.error.no_time")
        await create_first_series(
            bot,
            guild,
            interaction.user.id,
            parsed,
            parsed.start_time,
            parsed.end_time,
            self.title_input.value,
        )
        facts = await SetupRepository(bot.db).facts(guild.id)
        shown = await render(bot, guild, current_step(facts))
        await interaction.edit_original_response(**shown)
