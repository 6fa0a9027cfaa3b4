"""Creating a series: the one path for `/series create` and the guided start
(`/setup start`), and storing an edited one (`/series edit`). The meetings are then
created and announced by the reminders service (`series_changed` → its sync and tick), as
for every series."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from bot.domain.meeting import validate_capacity
from bot.domain.moments import to_local
from bot.domain.recurrence import DEFAULT_LEAD_DAYS, validate_lead_days, validate_series
from bot.domain.rule_phrases import ParsedRule
from bot.errors import BadInput, NotFound
from bot.storage.series import Series, SeriesDraft, SeriesRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

TITLE_MAX = 100
PLACE_MAX = 200
DESCRIPTION_MAX = 1500


def check_text(title: str, place: str, description: str) -> None:
    if not title.strip():
        raise BadInput("series.error.title_empty")
    for value, limit in ((title, TITLE_MAX), (place, PLACE_MAX), (description, DESCRIPTION_MAX)):
        if len(value) > limit:
            raise BadInput("series.error.too_long", length=len(value), limit=limit)


async def create_series(
    bot: MoteplassBot,
    guild_id: int,
    created_by: int,
    parsed: ParsedRule,
    start_time: time,
    end_time: time,
    title: str,
    place: str = "",
    description: str = "",
    lead_days: int = DEFAULT_LEAD_DAYS,
    capacity: int | None = None,
) -> Series:
    """Validate, store, and tell the reminders service (which creates the meetings)."""
    settings = await bot.guild_settings.get(guild_id)
    check_text(title, place, description)
    validate_lead_days(lead_days)
    validate_capacity(capacity)
    now = bot.clock.now()
    today = to_local(now, settings.timezone).date()
    validate_series(parsed.rule, today, start_time, end_time, settings.timezone, now, lead_days)
    series = await SeriesRepository(bot.db).create(
        SeriesDraft(
            guild_id=guild_id,
            rule=parsed.rule,
            dtstart_local=today,
            start_time=start_time,
            end_time=end_time,
            timezone=settings.timezone,
            title_template=title.strip(),
            place_template=place.strip(),
            description_template=description.strip(),
            lead_days=lead_days,
            capacity=capacity,
            created_by=created_by,
        ),
        now,
    )
    bot.dispatch("series_changed", guild_id)
    return series


async def update_series(bot: MoteplassBot, changed: Series) -> Series:
    """Validate an edited series, store it, and tell the reminders service."""
    check_text(changed.title_template, changed.place_template, changed.description_template)
    now = bot.clock.now()
    validate_series(
        changed.rule,
        changed.dtstart_local,
        changed.start_time,
        changed.end_time,
        changed.timezone,
        now,
        changed.lead_days,
        changed.skipped,
    )
    saved = await SeriesRepository(bot.db).update(changed, now)
    if saved is None:
        raise NotFound("series.error.not_found")
    bot.dispatch("series_changed", changed.guild_id)
    return saved
