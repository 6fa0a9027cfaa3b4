"""Direct messages with an honest result: sent, closed (50007) or failed.

Closed DMs are not retried (403s count toward Discord's invalid-request limit); the
caller falls back to a mention in a channel or thread, with a mention allowed for that
one person only.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import discord

log = logging.getLogger(__name__)

CANNOT_DM = 50007


class DmResult(enum.Enum):
    SENT = "sent"
    CLOSED = "closed"
    FAILED = "failed"


async def dm_channel(client: discord.Client, user_id: int) -> discord.DMChannel:
    """This person's DM channel (cache, else REST); raises `discord.HTTPException`."""
    user = client.get_user(user_id) or await client.fetch_user(user_id)
    return user.dm_channel or await user.create_dm()


async def send_dm(client: discord.Client, user_id: int, **message: Any) -> DmResult:
    """Send one DM. Never raises for Discord errors; logs ids only, never the text."""
    try:
        channel = await dm_channel(client, user_id)
        await channel.send(allowed_mentions=discord.AllowedMentions.none(), **message)
    except discord.Forbidden as exc:
        if exc.code == CANNOT_DM:
            log.info("DMs closed for user %s", user_id)
            return DmResult.CLOSED
        log.warning("DM to user %s refused (code %s)", user_id, exc.code)
        return DmResult.CLOSED
    except discord.NotFound:
        log.info("user %s not found for a DM", user_id)
        return DmResult.FAILED
    except discord.HTTPException as exc:
        log.warning("DM to user %s failed (status %s, code %s)", user_id, exc.status, exc.code)
        return DmResult.FAILED
    return DmResult.SENT


async def holds_button(
    client: discord.Client, place: discord.abc.Messageable, prefix: str, limit: int = 50
) -> bool:
    """After a crash between sending a question and recording it: does one of the bot's
    last `limit` messages in `place` carry a button whose custom id starts with `prefix`?
    (False when the history cannot be read.)"""
    assert client.user is not None
    try:
        async for message in place.history(limit=limit):
            if message.author.id != client.user.id:
                continue
            for row in message.components:
                for item in getattr(row, "children", ()):
                    if str(getattr(item, "custom_id", "") or "").startswith(prefix):
                        return True
    except discord.HTTPException:
        return False
    return False


def only_user(user_id: int) -> discord.AllowedMentions:
    """Allowed mentions for a fallback message that must reach exactly this person."""
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(id=user_id)], replied_user=False
    )


async def dm_already_sent(
    client: discord.Client, user_id: int, content: str, limit: int = 20
) -> bool:
    """After a crash between sending a DM and recording it: is `content` among the bot's
    last `limit` messages to this person? (False when the DMs cannot be read.)"""
    me = client.user
    try:
        channel = await client.http.start_private_message(user_id)
        messages = await client.http.logs_from(int(channel["id"]), limit)
    except discord.HTTPException as exc:
        log.info("DMs of user %s not readable (code %s)", user_id, exc.code)
        return False
    return any(
        m.get("content") == content and (me is None or int(m["author"]["id"]) == me.id)
        for m in messages
    )
