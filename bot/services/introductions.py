"""Introductions: saving what `/introduce` collects and keeping the member's card posted.

The card lives in the server's introductions channel. It is posted once the profile is
complete (a sector is chosen) and edited in place on every later change; when the message
or its channel is gone, a new card is posted and remembered. Card work in one server runs
under one lock, so two quick changes never post two cards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

import discord

from bot.domain.profiles import (
    LIMITS,
    MAX_OPTIONS,
    CleanIntroduction,
    clean_introduction,
    selected_interests,
)
from bot.domain.taxonomy import Kind, Taxonomy
from bot.errors import BadInput, NotFound
from bot.i18n import Text
from bot.services.profiles import guild_taxonomy, profile_card
from bot.storage.profiles import Profile, ProfileRepository, ProfileText

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

# A refused submission is kept this long, so running /introduce again loses nothing.
DRAFT_TTL = timedelta(hours=1)
OLD_MESSAGE_EDIT_CAP = 30046


class CardState(StrEnum):
    POSTED = "posted"
    UPDATED = "updated"
    INCOMPLETE = "incomplete"
    NO_CHANNEL = "no_channel"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class CardResult:
    state: CardState
    channel_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    profile: Profile
    clipped: tuple[str, ...]


def card_embed(_: Text, profile: Profile, taxonomy: Taxonomy) -> discord.Embed:
    """The introduction card, naming the member (an embed mention never pings)."""
    embed = profile_card(_, profile, taxonomy)
    embed.description = f"<@{profile.user_id}>"
    return embed


def options_for(taxonomy: Taxonomy, kind: Kind) -> tuple[str, ...]:
    """The keys a select offers for `kind`: the first 25, as Discord allows."""
    return tuple(entry.key for entry in taxonomy.entries(kind)[:MAX_OPTIONS])


class IntroductionService:
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.profiles = ProfileRepository(bot.db)
        self._locks: dict[int, asyncio.Lock] = {}
        self._drafts: dict[tuple[int, int], tuple[ProfileText, datetime]] = {}

    async def taxonomy(self, guild_id: int) -> Taxonomy:
        return await guild_taxonomy(self.bot.db, guild_id)

    async def require(self, guild_id: int, user_id: int) -> Profile:
        profile = await self.profiles.get(guild_id, user_id)
        if profile is None:
            raise NotFound("profile.error.no_profile")
        return profile

    # ----- the modal -----------------------------------------------------------------

    def prefill(self, guild_id: int, user_id: int, profile: Profile | None) -> ProfileText | None:
        """What the modal shows: a refused draft first, else the stored profile."""
        now = self.bot.clock.now()
        draft = self._drafts.get((guild_id, user_id))
        if draft is not None and now - draft[1] <= DRAFT_TTL:
            return draft[0]
        self._drafts.pop((guild_id, user_id), None)
        if profile is None:
            return None
        return ProfileText(
            profile.display_name, profile.organisation, profile.role, profile.offers, profile.seeks
        )

    async def submit(self, guild_id: int, user_id: int, raw: Mapping[str, str]) -> Submitted:
        """Store the modal's texts (new profiles opt in to matching); keep a refused draft."""
        now = self.bot.clock.now()
        try:
            clean: CleanIntroduction = clean_introduction(raw)
        except BadInput:
            draft = {name: (raw.get(name) or "")[: LIMITS[name]] for name in LIMITS}
            self._forget_old_drafts(now)
            self._drafts[(guild_id, user_id)] = (ProfileText(**draft), now)
            raise
        self._drafts.pop((guild_id, user_id), None)
        profile = await self.profiles.save_text(
            guild_id, user_id, ProfileText(**clean.values), now, opt_in=True
        )
        return Submitted(profile, clean.clipped)

    def forget(self, guild_id: int, user_id: int) -> None:
        """The member's data was deleted: a refused draft goes too."""
        self._drafts.pop((guild_id, user_id), None)

    def _forget_old_drafts(self, now: datetime) -> None:
        for key in [k for k, (_, at) in self._drafts.items() if now - at > DRAFT_TTL]:
            del self._drafts[key]

    # ----- the follow-up selects ------------------------------------------------------

    async def choose_sector(self, guild_id: int, user_id: int, values: list[str]) -> Profile:
        taxonomy = await self.taxonomy(guild_id)
        if len(values) != 1 or values[0] not in taxonomy.sector_keys:
            raise BadInput("profile.error.unknown_sector", value=", ".join(values)[:50])
        await self.require(guild_id, user_id)
        await self.profiles.set_sector(guild_id, user_id, values[0], self.bot.clock.now())
        return await self.require(guild_id, user_id)

    async def choose_interests(
        self, guild_id: int, user_id: int, kind: Kind, values: list[str]
    ) -> Profile:
        taxonomy = await self.taxonomy(guild_id)
        offered = options_for(taxonomy, kind)
        unknown = [value for value in values if value not in offered]
        if unknown:
            raise BadInput("profile.error.unknown_interest", value=", ".join(unknown)[:50])
        profile = await self.require(guild_id, user_id)
        interests = selected_interests(profile.interests, offered, tuple(values))
        await self.profiles.set_interests(guild_id, user_id, interests, self.bot.clock.now())
        return await self.require(guild_id, user_id)

    async def choose_matching(self, guild_id: int, user_id: int, values: list[str]) -> Profile:
        if values not in (["yes"], ["no"]):
            raise BadInput("profile.error.unknown_choice", value=", ".join(values)[:50])
        profile = await self.require(guild_id, user_id)
        wanted = "active" if values == ["yes"] else "left"
        if (profile.matching == "left") != (wanted == "left"):
            await self.profiles.set_matching(guild_id, user_id, wanted, self.bot.clock.now())
        return await self.require(guild_id, user_id)

    # ----- the card ------------------------------------------------------------------

    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    async def publish(self, guild: discord.Guild, user_id: int) -> CardResult:
        """Post or edit the member's card; say why not when it cannot be."""
        async with self._lock(guild.id):
            profile = await self.profiles.get(guild.id, user_id)
            if profile is None or not profile.complete:
                return CardResult(CardState.INCOMPLETE)
            settings = await self.bot.guild_settings.get(guild.id)
            _ = self.bot.catalog.translator(settings.language)
            embed = card_embed(_, profile, await self.taxonomy(guild.id))
            edited = await self._edit(guild, profile, embed)
            if edited is not None:
                return edited
            if settings.intro_channel_id is None:
                return CardResult(CardState.NO_CHANNEL)
            channel = guild.get_channel(settings.intro_channel_id)
            if not isinstance(channel, discord.TextChannel):
                return CardResult(CardState.UNAVAILABLE, settings.intro_channel_id)
            try:
                message = await channel.send(
                    embed=embed, allowed_mentions=discord.AllowedMentions.none()
                )
            except discord.HTTPException as exc:
                log.warning("cannot post a card in channel %s: %s", channel.id, exc.status)
                return CardResult(CardState.UNAVAILABLE, channel.id)
            await self.profiles.set_card(guild.id, user_id, channel.id, message.id)
            return CardResult(CardState.POSTED, channel.id, message.id)

    async def _edit(
        self, guild: discord.Guild, profile: Profile, embed: discord.Embed
    ) -> CardResult | None:
        """Edit the card in place; None when there is none to edit (any more)."""
        if profile.card_channel_id is None or profile.card_message_id is None:
            return None
        channel = guild.get_channel(profile.card_channel_id)
        if isinstance(channel, discord.TextChannel):
            message = channel.get_partial_message(profile.card_message_id)
            try:
                await message.edit(embed=embed, allowed_mentions=discord.AllowedMentions.none())
                return CardResult(CardState.UPDATED, channel.id, message.id)
            except (discord.NotFound, discord.Forbidden):
                log.info("card %s is gone or out of reach; posting a new one", message.id)
            except discord.HTTPException as exc:
                if exc.code != OLD_MESSAGE_EDIT_CAP:
                    log.warning("cannot edit card %s: %s", message.id, exc.status)
                    return CardResult(CardState.UNAVAILABLE, channel.id)
                try:  # Discord refuses more edits of this old message: replace it
                    await message.delete()
                except discord.HTTPException:
                    log.info("could not delete card %s before replacing it", message.id)
        await self.profiles.set_card(profile.guild_id, profile.user_id, None, None)
        return None


def card_status(_: Text, result: CardResult) -> str:
    """One line telling the member where their card is, or why it is not posted."""
    channel = f"<#{result.channel_id}>" if result.channel_id is not None else ""
    return _(f"profile.card_status.{result.state.value}", channel=channel)


def clipped_notice(_: Text, clipped: tuple[str, ...]) -> str | None:
    if not clipped:
        return None
    names = ", ".join(_(f"profile.field.{name}") for name in clipped)
    return _("profile.clipped", fields=names)
