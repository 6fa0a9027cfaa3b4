"""The one error layer: slash commands, modals and components (views, DynamicItems) all end
in `MoteplassTree.report`, which answers each interaction at most once with a localised
ephemeral message, and logs missed deadlines and unknown errors with the command or
component name (ids only).

Slash commands are acknowledged by the tree before their body runs (an ephemeral
"thinking" defer), so a write waiting for the database lock never misses Discord's 3 s.
A command that must open a modal or answer at once declares `extras={"defer": None}`.
Cogs answer through `answer`, a first response or the follow-up of the defer."""

from __future__ import annotations

import abc
import asyncio
import functools
import logging
import re
import secrets
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.db import is_busy, is_full
from bot.errors import MoteplassError
from bot.i18n import DEFAULT_LANGUAGE, language_for_discord_locale
from bot.permissions import PermissionNames

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

# Discord's first answer must come within 3 s; warn a little before.
DEADLINE_WARNING_SECONDS = 2.5
UNKNOWN_INTERACTION = 10062
# Interactions already given an error reply (bounded: one slot per recent interaction).
REPORTED_MEMORY = 1024

# `extras` key of a slash command: how the tree acknowledges it before the command runs.
DEFER = "defer"
EPHEMERAL = "ephemeral"  # the default: an ephemeral "thinking…", answered by a follow-up
NO_DEFER = None  # the command answers itself first (a modal; a check before a public defer)

S = TypeVar("S")
In = TypeVar("In", bound=discord.Interaction[Any])


class MoteplassTree(app_commands.CommandTree["MoteplassBot"]):
    """Known errors become localised ephemeral replies; unknown ones are logged with an id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reported: OrderedDict[int, None] = OrderedDict()

    async def interaction_check(self, interaction: discord.Interaction[MoteplassBot], /) -> bool:
        """Refuse text longer than the option's declared `max_length`.

        Discord enforces `max_length` (and number ranges), but a Discord-compatible server
        (the README's `DISCORD_API_BASE`) may not, and discord.py does not check again.
        Numbers are checked by the domain rules, which say what the number means.
        """
        if interaction.type is not discord.InteractionType.application_command:
            return True
        command = interaction.command
        if not isinstance(command, app_commands.Command):
            return True
        if not await acknowledge(interaction, command):
            return False
        problem = out_of_limits(command, _leaf_options(interaction.data))
        if problem is None:
            return True
        key, params = problem
        log.debug("answered with %s in /%s", key, command.qualified_name)
        lang = await self._language(interaction)
        await send_ephemeral(interaction, self.client.catalog.text(lang, key, **params))
        return False

    async def on_error(
        self, interaction: discord.Interaction[MoteplassBot], error: app_commands.AppCommandError
    ) -> None:
        await self.report(interaction, error)

    async def report(self, interaction: discord.Interaction[Any], error: BaseException) -> None:
        """Tell the person what went wrong, once per interaction, whatever raised it."""
        name = interaction_name(interaction)
        if interaction.id in self._reported:
            log.warning(
                "second error for interaction %s in %s not answered again (%s)",
                interaction.id,
                name,
                type(_original(error)).__name__,
            )
            return
        self._reported[interaction.id] = None
        while len(self._reported) > REPORTED_MEMORY:
            self._reported.popitem(last=False)
        if is_expired(_original(error)):
            log_missed_deadline(interaction)
            return
        key, params = self.describe(interaction, error)
        log.debug("answered with %s in %s", key, name)
        lang = await self._language(interaction)
        text = self.client.catalog.text(lang, key, **params)
        await send_ephemeral(interaction, text)

    def describe(
        self, interaction: discord.Interaction[Any], error: BaseException
    ) -> tuple[str, dict[str, Any]]:
        original = _original(error)
        if isinstance(original, MoteplassError):
            return original.key, dict(original.params)
        if isinstance(original, app_commands.MissingPermissions):
            names = PermissionNames(tuple(original.missing_permissions))
            return "error.missing_permissions", {"permissions": names}
        if isinstance(original, app_commands.BotMissingPermissions):
            names = PermissionNames(tuple(original.missing_permissions))
            return "error.bot_missing_permissions", {"permissions": names}
        if isinstance(original, app_commands.NoPrivateMessage):
            return "error.guild_only", {}
        if isinstance(original, app_commands.CommandOnCooldown):
            return "error.cooldown", {"seconds": round(original.retry_after)}
        if isinstance(original, app_commands.TransformerError):
            return "error.bad_value", {"value": shown_value(original.value, original.type)}
        if isinstance(original, app_commands.CheckFailure):
            return "error.check_failed", {}
        if isinstance(original, discord.Forbidden):
            return "error.bot_forbidden", {}
        if is_busy(original):
            log.warning("database busy in %s: nothing was saved", interaction_name(interaction))
            return "error.database_busy", {}
        if is_full(original):
            log.error(
                "database full (disk or max_page_count) in %s: nothing was saved",
                interaction_name(interaction),
            )
            return "error.database_full", {}
        if isinstance(original, sqlite3.DatabaseError):
            error_id = secrets.token_hex(4)
            log.error("database error %s in %s", error_id, interaction_name(interaction))
            return "error.database", {"error_id": error_id}
        error_id = secrets.token_hex(4)
        log.error(
            "unexpected error %s in %s",
            error_id,
            interaction_name(interaction),
            exc_info=original,
        )
        return "error.unexpected", {"error_id": error_id}

    async def _language(self, interaction: discord.Interaction[Any]) -> str:
        if interaction.guild_id is not None:
            try:
                return (await self.client.guild_settings.get(interaction.guild_id)).language
            except sqlite3.Error:
                pass
        return language_for_discord_locale(str(interaction.locale)) or DEFAULT_LANGUAGE


def defer_mode(command: app_commands.Command[Any, ..., Any]) -> str | None:
    """How the tree acknowledges this command: `EPHEMERAL` unless it declares otherwise."""
    mode: str | None = command.extras.get(DEFER, EPHEMERAL)
    return mode


async def acknowledge(
    interaction: discord.Interaction[Any], command: app_commands.Command[Any, ..., Any]
) -> bool:
    """Defer before any work: the command's answer becomes the defer's follow-up.
    False when the interaction is already gone (logged; the command does not run).
    Errors here are not seen by on_error (discord.py calls the check outside it)."""
    if defer_mode(command) != EPHEMERAL or interaction.response.is_done():
        return True
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except discord.HTTPException as exc:
        if is_expired(exc):
            log_missed_deadline(interaction)
            return False
        # Not acknowledged: the command still runs and answers with a first response.
        log.warning(
            "could not defer %s (interaction %s, status %s, code %s)",
            interaction_name(interaction),
            interaction.id,
            exc.status,
            exc.code,
        )
    return True


def _leaf_options(data: Any) -> list[dict[str, Any]]:
    """The options of the invoked (sub)command, from the raw interaction data."""
    options: list[dict[str, Any]] = list((data or {}).get("options") or [])
    while options and options[0].get("type") in (1, 2):
        options = list(options[0].get("options") or [])
    return options


def out_of_limits(
    command: app_commands.Command[Any, ..., Any], options: list[dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    """The first text option longer than its declared `max_length`, as an error key."""
    params = {p.display_name: p for p in command.parameters}
    for option in options:
        param = params.get(str(option.get("name")))
        value = option.get("value")
        if param is None or value is None:
            continue
        high = param.max_value
        is_text = param.type is discord.AppCommandOptionType.string
        if is_text and high is not None and len(str(value)) > high:
            return "error.option_too_long", {"option": param.display_name, "limit": high}
    return None


def _original(error: BaseException) -> BaseException:
    if isinstance(error, app_commands.CommandInvokeError):
        return error.original
    return error


def shown_value(value: Any, option_type: discord.AppCommandOptionType | None = None) -> str:
    """What the person typed or chose, for an error message: never a Python repr.

    A user, role or channel that arrived without its resolved data is a bare id
    (`discord.Object`): shown as a mention, which Discord renders as the name."""
    kind = option_type
    if isinstance(value, discord.abc.GuildChannel | discord.Thread):
        return value.mention
    if isinstance(value, discord.Role):
        return value.mention
    if isinstance(value, discord.abc.User):
        return f"<@{value.id}>"
    if isinstance(value, discord.Object):
        if kind is discord.AppCommandOptionType.channel:
            return f"<#{value.id}>"
        if kind is discord.AppCommandOptionType.role:
            return f"<@&{value.id}>"
        return f"<@{value.id}>"
    return str(value)[:100]


def interaction_name(interaction: discord.Interaction[Any]) -> str:
    """`/meeting create`, `component <custom id>` or `modal <custom id>` (ids only)."""
    command = getattr(interaction, "command", None)
    if command is not None:
        return f"/{command.qualified_name}"
    data: Any = getattr(interaction, "data", None) or {}
    kind = getattr(interaction, "type", None)
    if kind is discord.InteractionType.application_command:
        return f"/{data.get('name', '?')}"
    if kind is discord.InteractionType.component:
        return f"component {data.get('custom_id', '?')}"
    if kind is discord.InteractionType.modal_submit:
        return f"modal {data.get('custom_id', '?')}"
    return kind.name if kind is not None else "?"


def is_expired(error: BaseException) -> bool:
    """The interaction is gone: answered too late (10062 Unknown interaction)."""
    return isinstance(error, discord.NotFound) and error.code == UNKNOWN_INTERACTION


def log_missed_deadline(interaction: discord.Interaction[Any]) -> None:
    log.warning(
        "missed the interaction deadline in %s (interaction %s)",
        interaction_name(interaction),
        interaction.id,
    )


def watch_deadline(interaction: discord.Interaction[Any]) -> None:
    """Log an interaction still unanswered when its deadline is near (and nothing else)."""

    def check() -> None:
        if not interaction.response.is_done():
            log.warning(
                "interaction %s in %s not answered %.1f s after it arrived",
                interaction.id,
                interaction_name(interaction),
                DEADLINE_WARNING_SECONDS,
            )

    asyncio.get_running_loop().call_later(DEADLINE_WARNING_SECONDS, check)


async def report(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """The error layer for anything outside the command tree (modals, views, items)."""
    tree = getattr(interaction.client, "tree", None)
    if isinstance(tree, MoteplassTree):
        await tree.report(interaction, error)
    else:
        log.error("error in %s", interaction_name(interaction), exc_info=error)


Callback = Callable[[S, In], Coroutine[Any, Any, None]]


def reports_errors(callback: Callback[S, In]) -> Callback[S, In]:
    """For a DynamicItem's callback: discord.py only logs their errors; this answers them."""

    @functools.wraps(callback)
    async def wrapper(self: S, interaction: In) -> None:
        try:
            await callback(self, interaction)
        except Exception as error:
            await report(interaction, error)

    return wrapper


class ReportingView(discord.ui.View):
    """A view whose callbacks' errors get the same localised reply as commands."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: Any, /
    ) -> None:
        await report(interaction, error)


class OrganiserView(ReportingView):
    """A view for organisers only: every press is checked again with the one organiser
    check (`MoteplassBot.organiser_texts`), so someone whose organiser role or team role
    was taken away meanwhile is refused with the localised error."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        await interaction.client.organiser_texts(interaction)
        return True


class ReportingModal(discord.ui.Modal):
    """A modal whose on_submit errors get the same localised reply as commands."""

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await report(interaction, error)


class FromCustomId:
    """Mixin for a persistent `DynamicItem` (put it first among the bases): discord.py's
    `from_custom_id` is written once here and calls `from_match`, so each item says only
    how its custom id's groups rebuild it."""

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls.from_match(match, item)

    @classmethod
    @abc.abstractmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Item[Any]) -> Self:
        """The item for this custom id's groups (and the item discord.py rebuilt)."""


class Startable(Protocol):
    async def start(self) -> None: ...


ServiceT = TypeVar("ServiceT", bound=Startable)


class DrivesService(Generic[ServiceT]):
    """Mixin for a cog that drives one service (put it first among the bases): the cog
    keeps the bot and its service, and starts the service after every new gateway
    session (each service's `start()` is idempotent: its jobs and work derive from rows)."""

    def __init__(self, bot: MoteplassBot, service: ServiceT) -> None:
        self.bot = bot
        self.service = service
        super().__init__()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.service.start()


class RegistersItems:
    """Mixin for a cog (put it first among the bases) whose persistent components are
    `DynamicItem`s: they answer from the moment the cog loads until it unloads."""

    bot: MoteplassBot
    dynamic_items: ClassVar[tuple[type[discord.ui.DynamicItem[Any]], ...]] = ()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*self.dynamic_items)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*self.dynamic_items)


class Reply:
    """What a press answers: a catalogue key and its parameters, in the language of the
    server `guild_id` (Norwegian where there is none)."""

    __slots__ = ("guild_id", "key", "params")

    def __init__(self, guild_id: int | None, key: str, /, **params: Any) -> None:
        self.guild_id = guild_id
        self.key = key
        self.params = params


class ServiceButton(FromCustomId):
    """Mixin for a persistent button (put it first among the bases) whose press is one
    service call answered with one ephemeral line. The press is acknowledged before any
    work (Discord's 3 s), `press` does the work and says what to answer, and whatever it
    raises gets the one error layer's localised reply."""

    @reports_errors
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # before any work
        reply = await self.press(interaction)
        _ = await interaction.client.texts(reply.guild_id)
        await interaction.followup.send(_(reply.key, **reply.params), ephemeral=True)

    @abc.abstractmethod
    async def press(self, interaction: discord.Interaction[Any]) -> Reply:
        """What the button is for, done after the defer; the line to answer with."""


async def answer(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    ephemeral: bool = True,
    **kwargs: Any,
) -> None:
    """A command's answer: the first response, or the follow-up once it was deferred."""
    if interaction.response.is_done():
        text = discord.utils.MISSING if content is None else content
        await interaction.followup.send(text, ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)


async def send_ephemeral(interaction: discord.Interaction[Any], text: str, **kwargs: Any) -> None:
    """Reply once: a first response if none was sent yet, else a follow-up."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(text, ephemeral=True, **kwargs)
    except discord.HTTPException as exc:
        if is_expired(exc):
            log_missed_deadline(interaction)
            return
        log.warning(
            "could not deliver an error reply in %s (interaction %s, status %s, code %s)",
            interaction_name(interaction),
            interaction.id,
            exc.status,
            exc.code,
        )
