"""Localised command names and descriptions through discord.py's Translator.

Keys are derived from where a string sits, so cogs need no `locale_str` boilerplate:
`cmd.<command path>.name|desc`, `cmd.<command path>.<parameter>.name|desc`,
`choice.<value>`. The structural test walks every command and checks every key exists
in every shipped language.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Loc

from bot.i18n import Catalog

LOCALES: dict[discord.Locale, str] = {
    discord.Locale.norwegian: "nb",
    discord.Locale.swedish: "sv",
    discord.Locale.american_english: "en",
    discord.Locale.british_english: "en",
}


def _path(command: Any) -> str:
    return str(command.qualified_name).replace(" ", ".")


def key_for(string: app_commands.locale_str, context: app_commands.TranslationContextTypes) -> str:
    """The catalogue key for a piece of command metadata."""
    explicit = string.extras.get("key")
    if explicit:
        return str(explicit)
    loc = context.location
    data: Any = context.data
    if loc in (Loc.command_name, Loc.group_name):
        return f"cmd.{_path(data)}.name"
    if loc in (Loc.command_description, Loc.group_description):
        return f"cmd.{_path(data)}.desc"
    if loc is Loc.parameter_name:
        return f"cmd.{_path(data.command)}.{data.name}.name"
    if loc is Loc.parameter_description:
        return f"cmd.{_path(data.command)}.{data.name}.desc"
    if loc is Loc.choice_name:
        return f"choice.{data.value}"
    return string.message


class CatalogTranslator(app_commands.Translator):
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        lang = LOCALES.get(locale)
        if lang is None:
            return None
        key = key_for(string, context)
        if not self.catalog.has(key, lang):
            return None
        return self.catalog.text(lang, key)
