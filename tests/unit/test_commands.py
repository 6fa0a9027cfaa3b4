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


PUBLIC = {
    "about",
    "meeting list",
    "meeting calendar",
    "introduce",
    "profile show",
    "match me",
    "match pause",
    "match resume",
    "match leave",
    "partner seek",
    "partner settings",
    "programme propose",
    "programme edit",
    "programme withdraw",
    "reminders on",
    "reminders off",
    "privacy show",
    "privacy delete",  # organisers only with `member:` (checked on the server, e2e)
    "collaboration add",
    "collaboration list",
}


async def test_only_setup_is_hidden_behind_default_permissions(bot: MoteplassBot) -> None:
    """Discord hides commands with default permissions from the organiser role, so only
    /setup (Manage Server) carries them; every other command is public on purpose or an
    organiser command checked on the server (tests/e2e/test_organiser_access.py)."""
    for command in bot.tree.walk_commands():
        root = command.root_parent or command
        hidden = root.default_permissions is not None
        assert hidden == (root.name == "setup"), command.qualified_name
        if isinstance(command, app_commands.Group) or root.name == "setup":
            continue
        # Organiser commands, and the few stricter ones checked for Manage Server on the
        # server (`/team set|remove`: a team role makes an organiser).
        checked = bool(command.extras.get("organiser") or command.extras.get("manage_server"))
        assert checked != (command.qualified_name in PUBLIC), command.qualified_name
    setup = bot.tree.get_command("setup")
    assert setup is not None and setup.default_permissions == discord.Permissions(manage_guild=True)


def test_languages_are_the_three_shipped() -> None:
    assert set(LANGUAGES) == {"nb", "sv", "en"}


# Commands that answer before any other work, so the tree does not defer them: a modal
# cannot follow a defer; /match tables answers publicly after an ephemeral-only refusal;
# /collaboration list answers publicly.
ANSWER_THEMSELVES = {"introduce", "match tables", "collaboration list"}


async def test_every_command_is_acknowledged_before_its_work(bot: MoteplassBot) -> None:
    """Issue 10: the tree defers every slash command before its body runs, so a write
    waiting behind another for the database lock cannot miss Discord's 3 s. A deferred
    command answers through `answer` or the follow-up, never `interaction.response`
    (which would raise InteractionResponded after the defer)."""
    import inspect

    from bot.tree import EPHEMERAL, defer_mode

    seen = set()
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Group):
            continue
        name = command.qualified_name
        seen.add(name)
        source = inspect.getsource(command.callback)
        if name in ANSWER_THEMSELVES:
            assert defer_mode(command) is None, name
            assert "interaction.response." in source, name
            continue
        assert defer_mode(command) == EPHEMERAL, name
        assert "interaction.response." not in source, name
        # Helpers a command answers through (a cog's `_toggle`) follow the same rule.
        for helper in re.findall(r"self\.(_\w+)\(interaction", source):
            cog_method = getattr(command.binding, helper, None)
            if cog_method is not None:
                assert "interaction.response." not in inspect.getsource(cog_method), helper
    assert seen >= ANSWER_THEMSELVES
