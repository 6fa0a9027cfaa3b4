"""Display names for lists organisers print (export, attendees, check-in), without the
privileged members intent and without storing names in new tables.

In order: the introduction's display name; else the name Discord sent with the member's
last reaction (an in-memory cache, bounded per server); else a REST fetch of the member,
a few at a time (rate-limit friendly). Someone who left gets None: the caller shows a
neutral placeholder from the catalogue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord

from bot.storage.profiles import ProfileRepository

if TYPE_CHECKING:
    from bot.db import Database

log = logging.getLogger(__name__)

CACHE_PER_GUILD = 5000
FETCH_CONCURRENCY = 4


class NameResolver:
    def __init__(self, db: Database, *, per_guild: int = CACHE_PER_GUILD) -> None:
        self.profiles = ProfileRepository(db)
        self.per_guild = per_guild
        self._cache: dict[int, OrderedDict[int, str]] = {}
        self._fetching = asyncio.Semaphore(FETCH_CONCURRENCY)

    def remember(self, member: discord.Member | None) -> None:
        """Keep the display name Discord sent with an event (nick, global name or username)."""
        if member is None or member.bot:
            return
        names = self._cache.setdefault(member.guild.id, OrderedDict())
        names[member.id] = member.display_name
        names.move_to_end(member.id)
        while len(names) > self.per_guild:
            names.popitem(last=False)

    def forget(self, guild_id: int, user_id: int) -> None:
        self._cache.get(guild_id, OrderedDict()).pop(user_id, None)

    def cached(self, guild_id: int, user_id: int) -> str | None:
        return self._cache.get(guild_id, OrderedDict()).get(user_id)

    async def names(self, guild: discord.Guild, user_ids: Iterable[int]) -> dict[int, str | None]:
        """Each id's display name, or None for someone no longer in the server."""
        wanted = list(dict.fromkeys(user_ids))
        found: dict[int, str | None] = dict(await self.profiles.display_names(guild.id, wanted))
        missing = []
        for user_id in wanted:
            if user_id in found:
                continue
            member = guild.get_member(user_id)
            name = member.display_name if member is not None else self.cached(guild.id, user_id)
            if name is not None:
                found[user_id] = name
            else:
                missing.append(user_id)
        fetched = await asyncio.gather(*(self._fetch(guild, uid) for uid in missing))
        found.update(zip(missing, fetched, strict=True))
        if missing:
            log.info("fetched %d member names in guild %s", len(missing), guild.id)
        return {user_id: found.get(user_id) for user_id in wanted}

    async def _fetch(self, guild: discord.Guild, user_id: int) -> str | None:
        async with self._fetching:
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                return None  # left the server
            except discord.HTTPException as exc:
                log.warning("could not fetch member %s (status %s)", user_id, exc.status)
                return None
        self.remember(member)
        return member.display_name


async def in_guild(guild: discord.Guild, user_id: int) -> bool:
    """Whether this person is in the server (cache, else REST); raises
    `discord.HTTPException` when Discord cannot tell."""
    if guild.get_member(user_id) is not None:
        return True
    try:
        await guild.fetch_member(user_id)
    except discord.NotFound:
        return False
    return True


async def is_member(guild: discord.Guild, user_id: int) -> bool:
    """`in_guild`, but unsure (Discord failed) is True: the caller delivers or asks rather
    than skips."""
    try:
        return await in_guild(guild, user_id)
    except discord.HTTPException:
        return True
