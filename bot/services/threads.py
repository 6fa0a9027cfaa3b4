"""Private threads the bot made: reopened to take messages, and found again after a crash
between creating one and storing its id (match groups, partner-search interests)."""

from __future__ import annotations

from collections.abc import Collection

import discord


async def open_thread(bot: discord.Client, thread_id: int) -> discord.Thread | None:
    """The thread, unarchived so it takes messages; None when it is gone."""
    try:
        thread = await bot.fetch_channel(thread_id)
    except discord.HTTPException:
        return None
    if not isinstance(thread, discord.Thread):
        return None
    if thread.archived and not thread.locked:
        try:
            thread = await thread.edit(archived=False)
        except discord.HTTPException:
            return None
    return thread


async def orphan_thread(
    bot: discord.Client, channel: discord.TextChannel, name: str, known: Collection[int]
) -> discord.Thread | None:
    """An active private thread of the bot under `channel` named `name` whose id is not
    among `known` (the stored ones): the crash came between creating it and storing it."""
    assert bot.user is not None
    try:
        active = await channel.guild.active_threads()
    except discord.HTTPException:
        return None
    for thread in sorted(active, key=lambda t: t.id):
        if (
            thread.parent_id == channel.id
            and thread.owner_id == bot.user.id
            and thread.type is discord.ChannelType.private_thread
            and thread.name == name
            and thread.id not in known
        ):
            return thread
    return None
