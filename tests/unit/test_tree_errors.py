"""The one error layer: known errors map to catalogue keys, unknown ones get an id."""

from __future__ import annotations

import logging
import sqlite3
from types import SimpleNamespace
from typing import Any

import pytest
from discord import app_commands

from bot.errors import BadInput, NotOrganiser
from bot.i18n import LANGUAGES, Catalog
from bot.tree import MoteplassTree


def describe(error: Exception) -> tuple[str, dict[str, Any]]:
    tree = MoteplassTree.__new__(MoteplassTree)
    interaction: Any = SimpleNamespace(command=None)
    return tree.describe(interaction, error)


def test_domain_errors_keep_their_key_and_params() -> None:
    assert describe(BadInput("meeting.error.past_date")) == ("meeting.error.past_date", {})
    assert describe(NotOrganiser())[0] == "error.not_organiser"


def test_missing_permissions_are_named() -> None:
    key, params = describe(app_commands.MissingPermissions(["manage_guild", "made_up_flag"]))
    assert key == "error.missing_permissions"
    catalog = Catalog.load()
    # By the names the Discord app shows, in the reader's language; unknown flags as words.
    shown = {lang: catalog.text(lang, key, **params) for lang in ("nb", "sv", "en")}
    assert "Administrer server, made up flag" in shown["nb"]
    assert "Hantera server, made up flag" in shown["sv"]
    assert "Manage Server, made up flag" in shown["en"]


def test_locked_database_is_busy_not_a_crash() -> None:
    assert describe(sqlite3.OperationalError("database is locked"))[0] == "error.database_busy"


def test_a_full_disk_is_said_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.tree"):
        key, _ = describe(sqlite3.OperationalError("database or disk is full"))
    assert key == "error.database_full"
    assert "database full" in caplog.records[-1].getMessage()


def test_unknown_error_gets_an_id_and_a_traceback_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        key, params = describe(RuntimeError("boom with secret text"))
    assert key == "error.unexpected"
    assert len(params["error_id"]) == 8
    record = caplog.records[-1]
    assert params["error_id"] in record.getMessage()
    assert record.exc_info is not None


def test_every_error_key_is_in_every_catalogue(catalog: Catalog) -> None:
    keys = [
        "error.unexpected",
        "error.database_busy",
        "error.database_full",
        "error.database",
        "error.missing_permissions",
        "error.bot_missing_permissions",
        "error.guild_only",
        "error.cooldown",
        "error.bad_value",
        "error.check_failed",
        "error.bot_forbidden",
        "error.not_organiser",
        "error.not_set_up",
        "error.not_found",
        "error.channel_unavailable",
    ]
    for lang in LANGUAGES:
        for key in keys:
            assert catalog.has(key, lang), (lang, key)
