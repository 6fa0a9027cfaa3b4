"""What an announcement and a notice say: the embed, the counts line, the DM texts (pure
rendering from a stored meeting, its counts and its programme)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.domain.meeting import Meeting
from bot.domain.programme import EMBED_LIMIT, FIELD_LIMIT, fit_lines
from bot.domain.rsvp import Counts
from bot.i18n import Text

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

COLOUR_OPEN = discord.Colour(0x2E7D32)
COLOUR_CANCELLED = discord.Colour(0xB71C1C)


def timestamps(moment: datetime) -> str:
    """`<t:…:F> (<t:…:R>)`: every reader sees their own local time."""
    unix = int(moment.timestamp())
    return f"<t:{unix}:F> (<t:{unix}:R>)"


def announcement_embed(
    _: Text, meeting: Meeting, counts: Counts, programme: Sequence[str] = ()
) -> discord.Embed:
    cancelled = meeting.cancelled
    title = _("meeting.embed.cancelled_title", title=meeting.title) if cancelled else meeting.title
    description = meeting.description
    if cancelled and meeting.cancel_reason:
        description = _("meeting.embed.cancel_reason", reason=meeting.cancel_reason)
    embed = discord.Embed(
        title=title[:256],
        description=description or None,
        colour=COLOUR_CANCELLED if cancelled else COLOUR_OPEN,
    )
    end = int(meeting.ends_at.timestamp())
    embed.add_field(
        name=_("meeting.embed.when"),
        value=f"{timestamps(meeting.starts_at)} – <t:{end}:t>",
        inline=False,
    )
    if meeting.place:
        embed.add_field(name=_("meeting.embed.where"), value=meeting.place, inline=False)
    programme_at = len(embed.fields)
    if meeting.capacity is not None:
        embed.add_field(
            name=_("meeting.embed.capacity"),
            value=_("meeting.embed.capacity_value", going=counts.going, capacity=meeting.capacity),
        )
    if meeting.rsvp_deadline is not None:
        embed.add_field(
            name=_("meeting.embed.deadline"),
            value=f"<t:{int(meeting.rsvp_deadline.timestamp())}:f>",
        )
    embed.add_field(name=_("meeting.embed.answers"), value=counts_line(_, counts), inline=False)
    if not cancelled:
        embed.set_footer(text=_("meeting.embed.how_to_answer"))
    if programme and not cancelled:
        # The accepted programme, in what is left of Discord's limits ("and N more").
        name = _("programme.embed.field")
        room = min(FIELD_LIMIT, EMBED_LIMIT - len(embed) - len(name))
        value = fit_lines(programme, room, lambda n: _("programme.embed.more", count=n))
        if value:
            embed.insert_field_at(programme_at, name=name, value=value, inline=False)
    return embed


def notice_text(_: Text, meeting: Meeting, when: str, kind: str) -> str | None:
    """The DM of an owed notice (None: no longer worth sending)."""
    if kind == "cancelled":
        text = _("meeting.dm.cancelled", title=meeting.title)
        if meeting.cancel_reason:
            text += "\n" + _("meeting.embed.cancel_reason", reason=meeting.cancel_reason)
        return text
    if meeting.cancelled:
        return None
    if kind == "promoted":
        return _("meeting.dm.promoted", title=meeting.title, when=when)
    if kind.startswith("changed:"):
        return _("meeting.dm.changed", title=meeting.title, when=when, place=meeting.place or "—")
    return None


def counts_line(_: Text, counts: Counts) -> str:
    return _(
        "meeting.embed.counts",
        going=counts.going,
        maybe=counts.maybe,
        not_going=counts.not_going,
        waitlist=counts.waitlist,
    )


NO_EVENT_PERMISSION = "meeting.no_event_permission"
EVENT_NOT_UPDATED = "meeting.event_not_updated"


def event_failure_key(exc: discord.HTTPException) -> str:
    """Missing permission only when Discord says so (403, or code 50013); anything else
    (404 from a server without the route, 5xx, a refused body) is "could not be updated"."""
    if isinstance(exc, discord.Forbidden) or exc.status == 403 or exc.code == 50013:
        return NO_EVENT_PERMISSION
    return EVENT_NOT_UPDATED
