"""Time zone names: validation and autocomplete. IANA names only, never fixed offsets."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import BadInput

PREFERRED = (
    "Europe/Oslo",
    "Europe/Stockholm",
    "Europe/Copenhagen",
    "Europe/Helsinki",
    "Atlantic/Reykjavik",
    "UTC",
)


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(name: str) -> str:
    """The canonical IANA name, or BadInput("setup.error.bad_timezone") for anything else."""
    cleaned = name.strip()
    lookup = {z.casefold(): z for z in _known()}
    canonical = lookup.get(cleaned.casefold())
    if canonical is None:
        raise BadInput("setup.error.bad_timezone", zone=cleaned[:64])
    try:
        ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput("setup.error.bad_timezone", zone=cleaned[:64]) from None
    return canonical


def suggest_timezones(text: str, limit: int = 25) -> list[str]:
    """Zones for autocomplete: the Nordic ones first, then any containing the text."""
    needle = text.strip().casefold()
    preferred = [z for z in PREFERRED if needle in z.casefold()]
    rest = sorted(z for z in _known() if needle in z.casefold() and z not in PREFERRED)
    return (preferred + rest)[:limit]
