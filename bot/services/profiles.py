"""Introduction cards and the server's taxonomy, shared by the profiles and matching cogs."""

from __future__ import annotations

import functools

import discord

from bot.db import Database
from bot.domain.taxonomy import Taxonomy, load_taxonomy
from bot.i18n import Text
from bot.storage.profiles import Profile
from bot.storage.taxonomy import TaxonomyRepository

# Discord's embed limits (title 256, field value 1024).
_TITLE = 256
_FIELD = 1024


@functools.cache
def shipped_taxonomy() -> Taxonomy:
    """`config/taxonomy.toml`, read once per process."""
    return load_taxonomy()


async def guild_taxonomy(db: Database, guild_id: int) -> Taxonomy:
    """The shipped taxonomy plus what this server added with `/setup`."""
    return await TaxonomyRepository(db).for_guild(guild_id, shipped_taxonomy())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def profile_card(_: Text, profile: Profile, taxonomy: Taxonomy) -> discord.Embed:
    """The introduction card: sector as colour and label, then what the member wrote.

    User text goes into embeds only, which never ping anyone.
    """
    lang = _.lang
    colour = int(taxonomy.colour(profile.sector or "").lstrip("#"), 16)
    embed = discord.Embed(title=_clip(profile.display_name, _TITLE), colour=colour)
    if profile.sector is not None:
        embed.add_field(
            name=_("profile.card.sector"), value=taxonomy.label(profile.sector, lang), inline=True
        )
    where = " · ".join(part for part in (profile.role, profile.organisation) if part)
    if where:
        embed.add_field(name=_("profile.card.organisation"), value=_clip(where, _FIELD))
    if profile.interests:
        labels = ", ".join(taxonomy.label(key, lang) for key in profile.interests)
        embed.add_field(name=_("profile.card.interests"), value=_clip(labels, _FIELD), inline=False)
    if profile.offers:
        embed.add_field(
            name=_("profile.card.offers"), value=_clip(profile.offers, _FIELD), inline=False
        )
    if profile.seeks:
        embed.add_field(
            name=_("profile.card.seeks"), value=_clip(profile.seeks, _FIELD), inline=False
        )
    embed.set_footer(text=_("profile.card.footer"))
    return embed
