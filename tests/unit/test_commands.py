"""A structural test that walks every slash command of every cog.

Every name, description, option and choice has a translation in every shipped language;
localised names are valid Discord names; limits Discord enforces are respected.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.bot import EXTENSIONS, MoteplassBot
from bot.clock import FakeClock
from bot.db import Database
from bot.i18n import LANGUAGES, Catalog
from bot.settings import Settings
from bot.translator import CatalogTranslator

NAME_RE = re.compile(r"^[-_\w]{1,32}$")


@pytest.fixture
async def bot(tmp_path: Path, catalog: Catalog, clock: FakeClock) -> AsyncIterator[MoteplassBot]:
    db = await Database.open(tmp_path / "t.db")
    instance = MoteplassBot(
        settings=Settings(), db=db, catalog=catalog, clock=clock, sync_commands=False
    )
    for name in EXTENSIONS:
        await instance.load_extension(name)
    try:
        yield instance  # never started, so nothing to close but the database
    finally:
        await db.close()


def _walk(payload: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    here = f"{path} {payload['name']}".strip()
    found = [(here, payload)]
    for option in payload.get("options", []):
        if option.get("type") in (1, 2):
            found.extend(_walk(option, here))
        else:
            found.append((f"{here} [{option['name']}]", option))
    return found


async def test_every_command_is_localised(bot: MoteplassBot, catalog: Catalog) -> None:
    translator = CatalogTranslator(catalog)
    commands = bot.tree.get_commands()
    assert commands, "no commands registered"
    for command in commands:
        payload = await command.get_translated_payload(bot.tree, translator)
        for where, item in _walk(payload):
            names = item.get("name_localizations") or {}
            descriptions = item.get("description_localizations") or {}
            for locale in ("no", "sv-SE", "en-US", "en-GB"):
                assert locale in names, f"{where}: no name for {locale}"
                assert NAME_RE.match(names[locale]), f"{where}: bad name {names[locale]!r}"
                assert names[locale] == names[locale].lower(), f"{where}: name not lowercase"
                assert locale in descriptions, f"{where}: no description for {locale}"
                assert 1 <= len(descriptions[locale]) <= 100, f"{where}: description length"
            for choice in item.get("choices", []):
                for locale in ("no", "sv-SE", "en-US"):
                    assert locale in (choice.get("name_localizations") or {}), (where, choice)
            assert len(item.get("choices", [])) <= 25
            assert len(item.get("options", [])) <= 25


async def test_localised_names_are_unique_among_siblings(
    bot: MoteplassBot, catalog: Catalog
) -> None:
    translator = CatalogTranslator(catalog)
    for locale in ("no", "sv-SE", "en-US"):
        top = []
        for command in bot.tree.get_commands():
            payload = await command.get_translated_payload(bot.tree, translator)
            top.append(payload["name_localizations"][locale])
            for option in payload.get("options", []):
                siblings = [o["name_localizations"][locale] for o in payload["options"]]
                assert len(siblings) == len(set(siblings)), (payload["name"], option["name"])
        assert len(top) == len(set(top)), locale


async def test_every_command_is_guarded_or_public_on_purpose(bot: MoteplassBot) -> None:
    public = {
        "about",
        "meeting list",
        "meeting calendar",
        "introduce",
        "profile show",
        "match me",
    }
    public |= {"match pause", "match resume", "match leave", "reminders on", "reminders off"}
    public |= {"privacy show", "privacy delete"}
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Group):
            continue
        root = command.root_parent or command
        perms = root.default_permissions
        if command.qualified_name in public or command.extras.get("organiser"):
            continue
        assert perms is not None and perms != discord.Permissions.none(), command.qualified_name


def test_languages_are_the_three_shipped() -> None:
    assert set(LANGUAGES) == {"nb", "sv", "en"}
