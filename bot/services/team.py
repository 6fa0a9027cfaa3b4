"""The team: who holds the handbook's roles, and the one "who runs Møteplass" card.

The card is one embed in the announcement channel, edited in place. Its message id is
stored; a card posted but not stored (a crash in between) is found among the channel's
last 50 messages before anything is posted, so there is never a second card, and a
deleted card is posted again by `/team show`. A change of the team marks the card stale
in the same transaction; the card is then edited, at once or at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.domain.team import Holding, card_fields
from bot.errors import BadInput
from bot.i18n import LANGUAGES, Text
from bot.permissions import usable_channel
from bot.services.names import NameResolver
from bot.storage.team import TeamCard, TeamRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

# What the bot needs in the announcement channel for the card (and to find it again).
CARD_NEEDS = ("view_channel", "send_messages", "embed_links", "read_message_history")
TITLE_LIMIT = 256
SEARCH_DEPTH = 50

OLD_MESSAGE_EDIT_CAP = 30046  # Discord: too many edits of a message older than an hour

Outcome = Literal["posted", "edited"]


def _shown(text: str) -> str:
    """User text on the card: no markdown, no mentions (the card never pings)."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def card_embed(
    _: Text, region: str, holdings: Sequence[Holding], names: dict[int, str | None]
) -> discord.Embed:
    left = _("team.card.left")

    def line(name: str, organisation: str) -> str:
        if organisation:
            return _("team.card.line_org", name=_shown(name), organisation=_shown(organisation))
        return _("team.card.line", name=_shown(name))

    fields = card_fields(
        holdings,
        names=lambda user_id: names.get(user_id) or left,
        line=line,
        more=lambda count: _("team.card.more", count=count),
    )
    embed = discord.Embed(
        title=_("team.card.title", region=_shown(region))[:TITLE_LIMIT],
        colour=discord.Colour.blurple(),
    )
    if not fields:
        embed.description = _("team.card.empty")
    for field in fields:
        embed.add_field(name=_(f"team.role.{field.role}"), value=field.value, inline=False)
    embed.set_footer(text=_("team.card.footer"))
    return embed


class TeamService:
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.repo = TeamRepository(bot.db)
        self.names = NameResolver(bot.db)
        self._locks: dict[int, asyncio.Lock] = {}
        self.started = asyncio.Event()
        # The card's footer in every language: how the bot knows its own card.
        self._footers = {bot.catalog.text(lang, "team.card.footer") for lang in LANGUAGES}

    async def settled(self) -> None:
        await self.started.wait()

    async def start(self) -> None:
        """After every new gateway session: edit the cards a crash left out of date."""
        try:
            for card in await self.repo.stale_cards():
                await self.refresh_stale(card.guild_id)
        finally:
            self.started.set()

    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    async def refresh_stale(self, guild_id: int) -> None:
        """Edit the card if the team changed since it was last edited. Never raises: the
        change itself is saved; a card Discord refused stays stale for the next start."""
        card = await self.repo.card(guild_id)
        guild = self.bot.get_guild(guild_id)
        if card is None or not card.stale or guild is None:
            return
        try:
            await self.publish(guild, post=False)
        except (discord.HTTPException, BadInput) as exc:
            log.warning("team card of guild %s not updated: %s", guild_id, type(exc).__name__)

    async def publish(self, guild: discord.Guild, *, post: bool) -> Outcome | None:
        """`/team show` (post=True): edit the card, or post it once. A refresh (post=False)
        only edits a card that exists; a deleted one is forgotten until the next show."""
        async with self._lock(guild.id):
            settings = await self.bot.guild_settings.get(guild.id)
            _ = self.bot.catalog.translator(settings.language)
            stored = await self.repo.card(guild.id)
            if stored is None and not post:
                return None
            holdings = await self.repo.holdings(guild.id)
            names = await self.names.names(guild, [h.user_id for h in holdings])
            embed = card_embed(_, settings.region_name or guild.name, holdings, names)
            if not post:
                assert stored is not None
                if await self._edit(stored.channel_id, stored.message_id, embed):
                    await self.repo.save_card(
                        guild.id, stored.channel_id, stored.message_id, self.bot.clock.now()
                    )
                    return "edited"
                await self.repo.forget_card(guild.id)
                return None
            channel = usable_channel(guild, settings.announce_channel_id, CARD_NEEDS)
            return await self._show(guild, channel, stored, embed)

    async def _show(
        self,
        guild: discord.Guild,
        channel: discord.TextChannel,
        stored: TeamCard | None,
        embed: discord.Embed,
    ) -> Outcome:
        now = self.bot.clock.now()
        old = stored.message_id if stored is not None and stored.channel_id == channel.id else None
        edit = await self._try_edit(channel.id, old, embed)
        if edit == "gone":
            old = await self._find(channel)
            edit = await self._try_edit(channel.id, old, embed)
            if edit == "edited":
                log.info("team card of guild %s found in the channel and adopted", guild.id)
        if edit == "edited" and old is not None:
            await self.repo.save_card(guild.id, channel.id, old, now)
            return "edited"
        message = await channel.send(embed=embed)
        await self.repo.save_card(guild.id, channel.id, message.id, now)
        if edit == "capped" and old is not None:
            await self._delete(channel.id, old)
        if stored is not None and stored.channel_id != channel.id:
            # The announcement channel changed: one card, in the new one.
            await self._delete(stored.channel_id, stored.message_id)
        return "posted"

    async def _try_edit(
        self, channel_id: int, message_id: int | None, embed: discord.Embed
    ) -> Literal["edited", "gone", "capped"]:
        """For `/team show`: "capped" when Discord refuses more edits of an old message for
        now (the card is then posted afresh and the old one deleted)."""
        if message_id is None:
            return "gone"
        try:
            return "edited" if await self._edit(channel_id, message_id, embed) else "gone"
        except discord.HTTPException as exc:
            if exc.code != OLD_MESSAGE_EDIT_CAP:
                raise
            return "capped"

    async def _edit(self, channel_id: int, message_id: int, embed: discord.Embed) -> bool:
        """True if edited; False if the message (or its channel) is gone."""
        message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            await message.edit(embed=embed)
        except discord.NotFound:
            return False
        return True

    async def _delete(self, channel_id: int, message_id: int) -> None:
        message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            await message.delete()
        except discord.HTTPException as exc:
            log.info("old team card in channel %s not deleted (%s)", channel_id, exc.status)

    async def _find(self, channel: discord.TextChannel) -> int | None:
        """The card a crash kept us from storing: among the channel's last messages, the
        bot's with the card's footer (in any language)."""
        me = self.bot.user
        if me is None:
            return None
        try:
            messages = await self.bot.http.logs_from(channel.id, SEARCH_DEPTH)
        except discord.HTTPException:
            return None
        for message in messages:
            embeds = message.get("embeds") or []
            if int(message["author"]["id"]) != me.id or not embeds:
                continue
            footer: Any = embeds[0].get("footer") or {}
            if footer.get("text") in self._footers:
                return int(message["id"])
        return None
