"""Posts the bot could not make, per server, until one works again.

When Discord refuses a post in a server's channel (the bot lost Send Messages or View
Channel while running), the failure is logged once as a warning (later ones at info) and
kept here, in memory, for organisers to see in /about and /setup show. The next post
that works in that channel clears it. Nothing here imports discord.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)

WHAT = ("reminder", "monthly", "announcement", "update")


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    channel_id: int
    what: str
    code: int | None
    since: datetime


class ChannelHealth:
    def __init__(self) -> None:
        self._problems: dict[int, ChannelProblem] = {}

    def failed(
        self, guild_id: int, channel_id: int, what: str, code: int | None, now: datetime
    ) -> bool:
        """Record a refused post; True when it is news (logged as a warning then only)."""
        assert what in WHAT, what
        known = self._problems.get(guild_id)
        self._problems[guild_id] = ChannelProblem(channel_id, what, code, now)
        if known is not None and known.channel_id == channel_id:
            log.info("%s in channel %s of guild %s refused again", what, channel_id, guild_id)
            return False
        log.warning(
            "%s in channel %s of guild %s refused (code %s); organisers see it in /about",
            what,
            channel_id,
            guild_id,
            code,
        )
        return True

    def succeeded(self, guild_id: int, channel_id: int) -> None:
        known = self._problems.get(guild_id)
        if known is not None and known.channel_id == channel_id:
            del self._problems[guild_id]
            log.info("posting in channel %s of guild %s works again", channel_id, guild_id)

    def problem(self, guild_id: int) -> ChannelProblem | None:
        return self._problems.get(guild_id)
