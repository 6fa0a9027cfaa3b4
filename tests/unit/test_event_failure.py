"""Which note the organiser gets when the Events list cannot follow a meeting."""

from __future__ import annotations

import discord
import pytest

from bot.services.meetings import EVENT_NOT_UPDATED, NO_EVENT_PERMISSION, event_failure_key


class _Response:
    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "x"


def _error(status: int, code: int) -> discord.HTTPException:
    cls = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    if status >= 500:
        cls = discord.DiscordServerError
    return cls(_Response(status), {"message": "x", "code": code})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code", "key"),
    [
        (403, 50013, NO_EVENT_PERMISSION),
        (403, 50001, NO_EVENT_PERMISSION),
        (400, 50013, NO_EVENT_PERMISSION),
        (404, 0, EVENT_NOT_UPDATED),
        (404, 10070, EVENT_NOT_UPDATED),
        (500, 0, EVENT_NOT_UPDATED),  # after discord.py's own five tries (about 25 s)
        (503, 0, EVENT_NOT_UPDATED),
        (400, 50035, EVENT_NOT_UPDATED),
    ],
)
def test_missing_permission_only_when_discord_says_so(status: int, code: int, key: str) -> None:
    assert event_failure_key(_error(status, code)) == key
