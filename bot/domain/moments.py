"""Time, in one place: the stored form, reading it back, and local wall time ↔ UTC.

Every module that stores, reads or converts a moment uses these functions, so there is one
form in the database and one rule per kind of use for daylight saving.

The stored form
---------------
`stored(moment)`: an *aware* datetime converted to UTC, written as Python's ISO-8601
(`2026-12-03T07:30:00+00:00`, or `2026-12-03T07:30:00.250000+00:00` when it has a
fraction). A naive datetime is refused (`ValueError`): nothing guesses which zone it was
in. Stored times are compared as text in SQL (`starts_at <= ?`), which is correct because
every value has the same offset (`+00:00`) and the same field widths; a whole second is
written without a fraction, and `+` sorts before `.`, so it sorts before every fraction of
that same second, as it should.

`from_stored(text)` reads one back as an aware UTC datetime. Text without an offset (none
is written today) is read as UTC.

Local wall time → UTC: one stated policy per use
------------------------------------------------
`local_to_utc(naive_local, zone, gap=...)`. A wall time in the autumn fold (it happens
twice) is always the *first* one (`fold=0`, still summer time). A wall time in the
spring-forward gap (it never happens, e.g. 02:30 on the last Sunday of March in Oslo)
depends on who chose it:

* `gap="refuse"`: a person typed it (a meeting's start or end, a deadline): it raises
  `NonexistentLocalTime`, and the caller says so in the person's language;
* `gap="forward"`: a rule generated it (a series occurrence, a reminder's send time, a
  rhythm slot): it moves forward to the first wall time that exists (the end of the gap,
  minute resolution: 02:30 → 03:00 in Oslo), because a generated time must still happen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "Gap",
    "NonexistentLocalTime",
    "from_stored",
    "from_stored_or_none",
    "is_valid_local",
    "local_date_of",
    "local_to_utc",
    "require_aware",
    "stored",
    "stored_clock",
    "stored_or_none",
    "to_local",
    "zone_of",
]

Gap = Literal["refuse", "forward"]


class NonexistentLocalTime(ValueError):
    """A wall time skipped by a spring-forward change (only with `gap="refuse"`)."""

    def __init__(self, naive_local: datetime) -> None:
        super().__init__(f"{naive_local.isoformat()} does not exist in this zone")
        self.naive_local = naive_local


def require_aware(moment: datetime, name: str = "moment") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def stored(moment: datetime) -> str:
    """The one stored form of a moment: UTC ISO-8601 (see the module note)."""
    return require_aware(moment).astimezone(UTC).isoformat()


def stored_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else stored(moment)


def stored_clock(value: time) -> str:
    """The stored form of a local wall-clock time of day (`08:30`), read back with
    `time.fromisoformat`."""
    return value.strftime("%H:%M")


def from_stored(text: str) -> datetime:
    """A stored moment, aware, in UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def from_stored_or_none(text: str | None) -> datetime | None:
    return None if text is None else from_stored(text)


def zone_of(zone: str | tzinfo) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def to_local(moment: datetime, zone: str | tzinfo) -> datetime:
    """An aware moment as wall time in `zone` (aware)."""
    return require_aware(moment).astimezone(zone_of(zone))


def local_date_of(moment: datetime, zone: str | tzinfo) -> date:
    return to_local(moment, zone).date()


def is_valid_local(naive_local: datetime, zone: str | tzinfo) -> bool:
    """Whether this wall time happens in `zone` (False inside a spring-forward gap)."""
    tz = zone_of(zone)
    naive = naive_local.replace(tzinfo=None, fold=0)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def local_to_utc(naive_local: datetime, zone: str | tzinfo, *, gap: Gap) -> datetime:
    """A naive wall time in `zone` → an aware UTC datetime (policies: the module note)."""
    if naive_local.tzinfo is not None:
        raise ValueError("local_to_utc needs a naive local datetime")
    tz = zone_of(zone)
    local = naive_local.replace(fold=0)
    if not is_valid_local(local, tz):
        if gap == "refuse":
            raise NonexistentLocalTime(local)
        # Walk to the end of the gap: at most a day (Samoa skipped 30 Dec 2011), usually 60 min.
        probe = local.replace(second=0, microsecond=0)
        for _ in range(24 * 60 + 1):
            probe += timedelta(minutes=1)
            if is_valid_local(probe, tz):
                local = probe
                break
    return local.replace(tzinfo=tz).astimezone(UTC)
