"""Malformed or unexpected gateway payloads are logged and skipped, never the end."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.domain.rsvp import EMOJI, Choice
from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import announced, wait_for_count

GOING = EMOJI[Choice.GOING]


def _malformed(world: World, message_id: int) -> list[tuple[str, Any, str | None]]:
    """(event, payload, the parser that must skip it or None when discord.py ignores it)."""
    g, ch = str(world.guild.id), str(world.announce.id)
    user = str(world.members[0].id)
    return [
        # parsed by discord.py; the bot has no prefix commands and ignores messages
        (
            "MESSAGE_CREATE",
            {"id": "1", "channel_id": ch, "guild_id": g, "content": "x", "type": 0},
            None,
        ),
        (
            "MESSAGE_CREATE",
            {"id": "3", "channel_id": ch, "guild_id": g, "type": 0},
            "MESSAGE_CREATE",
        ),
        ("MESSAGE_CREATE", {"id": "2", "guild_id": g, "content": "x", "type": 0}, "MESSAGE_CREATE"),
        (
            "MESSAGE_REACTION_ADD",
            {"user_id": user, "channel_id": ch, "message_id": str(message_id), "guild_id": g},
            "MESSAGE_REACTION_ADD",
        ),
        (
            "MESSAGE_REACTION_ADD",
            {
                "user_id": "not a number",
                "channel_id": ch,
                "message_id": str(message_id),
                "guild_id": g,
                "emoji": {"id": None, "name": GOING},
                "type": 0,
            },
            "MESSAGE_REACTION_ADD",
        ),
        ("MESSAGE_REACTION_REMOVE", ["a", "list"], "MESSAGE_REACTION_REMOVE"),
        ("GUILD_CREATE", {"id": "42", "name": "x", "roles": 7, "channels": "?"}, "GUILD_CREATE"),
        ("MESSAGE_DELETE", None, "MESSAGE_DELETE"),
        ("SOMETHING_DISCORD_ADDED_LATER", {"anything": True}, None),
    ]


@pytest.mark.parametrize("index", range(9))
async def test_a_malformed_event_is_skipped_and_the_next_valid_one_handled(
    runner: BotRunner, world: World, caplog: pytest.LogCaptureFixture, index: int
) -> None:
    meeting = await announced(runner, world)
    assert runner.bot is not None and runner.db is not None
    event, payload, parser = _malformed(world, meeting.message_id)[index]
    identifies = world.emu.identify_count

    with caplog.at_level(logging.WARNING, logger="bot.gateway_guard"):
        assert world.emu.dispatch_raw(event, payload) == 1
        # a valid event right behind it is still handled
        await world.emu.react(world.announce.id, meeting.message_id, world.members[1].id, GOING)
        await wait_for_count(RsvpRepository(runner.db), meeting.id, going=1)

    assert not runner.bot.is_closed()
    assert world.emu.identify_count == identifies and world.emu.resume_count == 0
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a bad payload"
    skipped = [r for r in caplog.records if r.name == "bot.gateway_guard"]
    if parser is None:
        assert not skipped and not runner.bot.skipped_events
    else:
        assert runner.bot.skipped_events == {parser: 1}
        assert len(skipped) == 1 and parser in skipped[0].getMessage()
        # a short reason, never the payload
        assert "not a number" not in skipped[0].getMessage()
