"""The command tree: one error layer for every slash command."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.db import is_busy, is_full
from bot.errors import MoteplassError
from bot.i18n import DEFAULT_LANGUAGE, language_for_discord_locale

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)


class MoteplassTree(app_commands.CommandTree["MoteplassBot"]):
    """Known errors become localised ephemeral replies; unknown ones are logged with an id."""

    async def on_error(
        self, interaction: discord.Interaction[MoteplassBot], error: app_commands.AppCommandError
    ) -> None:
        key, params = self.describe(interaction, error)
        lang = await self._language(interaction)
        text = self.client.catalog.text(lang, key, **params)
        await send_ephemeral(interaction, text)

    def describe(
        self, interaction: discord.Interaction[MoteplassBot], error: Exception
    ) -> tuple[str, dict[str, Any]]:
        original: BaseException = error
        if isinstance(error, app_commands.CommandInvokeError):
            original = error.original
        if isinstance(original, MoteplassError):
            return original.key, dict(original.params)
        if isinstance(original, app_commands.MissingPermissions):
            names = ", ".join(original.missing_permissions)
            return "error.missing_permissions", {"permissions": names}
        if isinstance(original, app_commands.BotMissingPermissions):
            names = ", ".join(original.missing_permissions)
            return "error.bot_missing_permissions", {"permissions": names}
        if isinstance(original, app_commands.NoPrivateMessage):
            return "error.guild_only", {}
        if isinstance(original, app_commands.CommandOnCooldown):
            return "error.cooldown", {"seconds": round(original.retry_after)}
        if isinstance(original, app_commands.TransformerError):
            return "error.bad_value", {"value": str(original.value)[:100]}
        if isinstance(original, app_commands.CheckFailure):
            return "error.check_failed", {}
        if isinstance(original, discord.Forbidden):
            return "error.bot_forbidden", {}
        if is_busy(original):
            log.warning("database busy in /%s: nothing was saved", _command_name(interaction))
            return "error.database_busy", {}
        if is_full(original):
            log.error(
                "database full (disk or max_page_count) in /%s: nothing was saved",
                _command_name(interaction),
            )
            return "error.database_full", {}
        if isinstance(original, sqlite3.DatabaseError):
            error_id = secrets.token_hex(4)
            log.error("database error %s in /%s", error_id, _command_name(interaction))
            return "error.database", {"error_id": error_id}
        error_id = secrets.token_hex(4)
        log.error(
            "unexpected error %s in /%s",
            error_id,
            _command_name(interaction),
            exc_info=original,
        )
        return "error.unexpected", {"error_id": error_id}

    async def _language(self, interaction: discord.Interaction[MoteplassBot]) -> str:
        if interaction.guild_id is not None:
            try:
                return (await self.client.guild_settings.get(interaction.guild_id)).language
            except sqlite3.Error:
                pass
        return language_for_discord_locale(str(interaction.locale)) or DEFAULT_LANGUAGE


def _command_name(interaction: discord.Interaction[Any]) -> str:
    command = interaction.command
    return command.qualified_name if command is not None else "?"


async def send_ephemeral(interaction: discord.Interaction[Any], text: str, **kwargs: Any) -> None:
    """Reply once: a first response if none was sent yet, else a follow-up."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(text, ephemeral=True, **kwargs)
    except discord.HTTPException:
        log.warning("could not deliver an error reply for interaction %s", interaction.id)
