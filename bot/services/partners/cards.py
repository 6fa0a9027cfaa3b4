"""Partner search's custom ids, the views the cog hands in, result types and the search
card (pure rendering from a stored search)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.dates import format_date_local
from bot.domain.match_model import Suggestion
from bot.domain.moments import to_local
from bot.domain.taxonomy import Kind, Taxonomy
from bot.i18n import Text
from bot.storage.partners import OPEN, Search
from bot.storage.profiles import Profile

if TYPE_CHECKING:
    pass


INTEREST_TEMPLATE = r"partner:interest:(?P<search>[0-9]{1,19})"
CLOSE_TEMPLATE = r"partner:close:(?P<search>[0-9]{1,19}):(?P<status>found|withdrawn)"
DRAFT_TEMPLATE = r"partner:draft:(?P<search>[0-9]{1,19}):(?P<part>sector|target_group|theme|post)"
FOLLOWUP_NO_TEMPLATE = r"partner:followup:(?P<interest>[0-9]{1,19}):no"
CLOSE_STATUSES = ("found", "withdrawn")
CHOICE_KINDS: tuple[Kind, ...] = ("sector", "target_group", "theme")
_TITLE = 256
_FIELD = 1024


def interest_custom_id(search_id: int) -> str:
    return f"partner:interest:{search_id:d}"


def close_custom_id(search_id: int, status: str) -> str:
    if status not in CLOSE_STATUSES:
        raise ValueError(status)
    return f"partner:close:{search_id:d}:{status}"


def draft_custom_id(search_id: int, part: str) -> str:
    return f"partner:draft:{search_id:d}:{part}"


def followup_no_custom_id(interest_id: int) -> str:
    return f"partner:followup:{interest_id:d}:no"


def collab_custom_id(interest_id: int) -> str:
    """The "we started working together" button, handled by the collaborations cog."""
    return f"collab:start:partner:{interest_id:d}"


@dataclass(frozen=True, slots=True)
class PartnerViews:
    """The cog's persistent views: the card's buttons and the 30-day question's."""

    card: Callable[[Text, int], discord.ui.View]
    followup: Callable[[Text, int], discord.ui.View]


@dataclass(frozen=True, slots=True)
class PostResult:
    search: Search
    suggestions: list[tuple[Profile, Suggestion]]
    posted: bool  # the card is in the channel
    again: bool  # it was posted before this press


@dataclass(frozen=True, slots=True)
class InterestResult:
    thread_id: int
    new: bool


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _labels(taxonomy: Taxonomy, keys: Sequence[str], lang: str) -> str:
    return ", ".join(taxonomy.label(k, lang) for k in keys)


def search_card(
    _: Text, search: Search, poster: Profile | None, taxonomy: Taxonomy, zone: str
) -> discord.Embed:
    """The search's card: what, whom it looks for, what it brings, until when. User text
    goes into the embed only, which never pings anyone."""
    lang = _.lang
    sector = poster.sector if poster is not None else None
    colour = int(taxonomy.colour(sector or "").lstrip("#"), 16)
    embed = discord.Embed(
        title=_clip(search.title, _TITLE),
        description=_clip(search.description, 4000) or None,
        colour=colour,
    )
    who = poster.display_name if poster is not None else "—"
    if sector:
        who = f"{who} ({taxonomy.label(sector, lang)})"
    embed.add_field(name=_("partner.card.poster"), value=_clip(who, _FIELD), inline=False)
    for name, keys in (
        ("partner.card.sectors", search.sectors),
        ("partner.card.target_groups", search.target_groups),
        ("partner.card.themes", search.themes),
    ):
        if keys:
            embed.add_field(name=_(name), value=_clip(_labels(taxonomy, keys, lang), _FIELD))
    if search.brings:
        embed.add_field(
            name=_("partner.card.brings"), value=_clip(search.brings, _FIELD), inline=False
        )
    if search.deadline is not None:
        embed.add_field(
            name=_("partner.card.deadline"), value=format_date_local(search.deadline, lang)
        )
    embed.add_field(name=_("partner.card.status"), value=status_text(_, search, zone), inline=False)
    if search.status == OPEN:
        embed.set_footer(text=_("partner.card.footer"))
    return embed


def status_text(_: Text, search: Search, zone: str) -> str:
    if search.status == OPEN and search.expires_at is not None:
        # The last open day: the day before the expiry instant, in the server's zone.
        last = to_local(search.expires_at - timedelta(seconds=1), zone).date()
        return _("partner.card.open_until", date=format_date_local(last, _.lang))
    return _(f"partner.card.status.{search.status}")
