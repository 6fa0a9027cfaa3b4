"""Domain errors. Each carries a message-catalogue key and its parameters, never a sentence.

The tree-level error handler (`bot.tree.MoteplassTree.on_error`) turns these into
localised ephemeral replies. Nothing here imports discord.
"""

from __future__ import annotations

from typing import Any


class MoteplassError(Exception):
    """Base of every error a user may be shown. `key` names a catalogue message."""

    key = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        if key is not None:
            self.key = key
        self.params = params
        super().__init__(self.key)


class BadInput(MoteplassError):
    """The user typed something we cannot use. The key says what and how to fix it."""

    key = "error.bad_input"


class NotOrganiser(MoteplassError):
    key = "error.not_organiser"


class MissingManageServer(MoteplassError):
    key = "error.missing_manage_server"


class NotSetUp(MoteplassError):
    key = "error.not_set_up"


class NotFound(MoteplassError):
    key = "error.not_found"


class ChannelUnavailable(MoteplassError):
    """A configured channel is gone, or the bot cannot post there."""

    key = "error.channel_unavailable"


class DatabaseError(MoteplassError):
    key = "error.database"


class StartupError(Exception):
    """Raised before the bot runs: one clear line for the operator, exit code 2."""

    exit_code = 2


class DatabaseFileError(StartupError):
    """The database file cannot be used: not SQLite, unreadable, or from newer code."""
