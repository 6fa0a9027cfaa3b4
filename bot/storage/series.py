"""Meeting series and their skipped dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import aiosqlite

from bot.domain.moments import from_stored, local_date_of, stored, stored_clock
from bot.domain.recurrence import DEFAULT_LEAD_DAYS, RecurrenceRule, SeriesSchedule
from bot.storage.rows import Repository, from_row

_SELECT = (
    "SELECT id, guild_id, rrule, dtstart_local, start_time, end_time, timezone, "
    "title_template, place_template, description_template, lead_days, capacity, active, "
    "created_by, created_at, updated_at FROM series "
)


@dataclass(frozen=True, slots=True)
class SeriesDraft:
    """A new series, before it has an id."""

    guild_id: int
    rule: RecurrenceRule
    dtstart_local: date
    start_time: time
    end_time: time
    timezone: str
    title_template: str
    place_template: str = ""
    description_template: str = ""
    lead_days: int = DEFAULT_LEAD_DAYS
    capacity: int | None = None
    created_by: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Series(SeriesDraft):
    """A stored series: the draft's fields and what storing it added."""

    id: int
    active: bool
    created_at: datetime
    updated_at: datetime
    skipped: frozenset[date] = frozenset()

    @property
    def schedule(self) -> SeriesSchedule:
        return SeriesSchedule(
            self.rule,
            self.dtstart_local,
            self.start_time,
            self.end_time,
            self.timezone,
            self.skipped,
        )


def _series(row: aiosqlite.Row, skipped: frozenset[date]) -> Series:
    return from_row(
        Series,
        row,
        rule=RecurrenceRule.from_rrule(row["rrule"]),
        dtstart_local=date.fromisoformat(row["dtstart_local"]),
        start_time=time.fromisoformat(row["start_time"]),
        end_time=time.fromisoformat(row["end_time"]),
        active=bool(row["active"]),
        created_at=from_stored(row["created_at"]),
        updated_at=from_stored(row["updated_at"]),
        skipped=skipped,
    )


def _described(draft: SeriesDraft) -> tuple[object, ...]:
    """The columns a draft describes, `rrule` to `capacity` (written by create and update)."""
    return (
        draft.rule.to_rrule(),
        draft.dtstart_local.isoformat(),
        stored_clock(draft.start_time),
        stored_clock(draft.end_time),
        draft.timezone,
        draft.title_template,
        draft.place_template,
        draft.description_template,
        draft.lead_days,
        draft.capacity,
    )


class SeriesRepository(Repository):
    async def create(self, draft: SeriesDraft, now: datetime) -> Series:
        stamp = stored(now)
        series_id = await self.db.insert(
            "INSERT INTO series (guild_id, rrule, dtstart_local, start_time, end_time, "
            "timezone, title_template, place_template, description_template, lead_days, "
            "capacity, active, created_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (draft.guild_id, *_described(draft), draft.created_by, stamp, stamp),
        )
        created = await self.get(draft.guild_id, series_id)
        assert created is not None
        return created

    async def _skips(self, guild_id: int, series_ids: list[int]) -> dict[int, set[date]]:
        found: dict[int, set[date]] = {i: set() for i in series_ids}
        if not series_ids:
            return found
        rows = await self.db.fetchall(
            "SELECT series_id, local_date FROM series_skips WHERE guild_id = ? "
            "ORDER BY series_id, local_date",
            (guild_id,),
        )
        for row in rows:
            if row["series_id"] in found:
                found[row["series_id"]].add(date.fromisoformat(row["local_date"]))
        return found

    async def get(self, guild_id: int, series_id: int) -> Series | None:
        row = await self.db.fetchone(
            _SELECT + "WHERE guild_id = ? AND id = ?",
            (guild_id, series_id),
        )
        if row is None:
            return None
        skips = await self._skips(guild_id, [series_id])
        return _series(row, frozenset(skips[series_id]))

    async def for_guild(self, guild_id: int, *, include_stopped: bool = False) -> list[Series]:
        """The server's series (active ones unless `include_stopped`), oldest first."""
        rows = await self.db.fetchall(
            _SELECT + "WHERE guild_id = ? AND (active = 1 OR ?) ORDER BY id",
            (guild_id, int(include_stopped)),
        )
        skips = await self._skips(guild_id, [row["id"] for row in rows])
        return [_series(row, frozenset(skips[row["id"]])) for row in rows]

    async def all_active(self) -> list[Series]:
        """Every active series of every server (for the scheduler)."""
        rows = await self.db.fetchall(_SELECT + "WHERE active = 1 ORDER BY guild_id, id")
        skip_rows = await self.db.fetchall(
            "SELECT k.series_id, k.local_date FROM series_skips AS k "
            "JOIN series AS s ON s.id = k.series_id AND s.guild_id = k.guild_id "
            "WHERE s.active = 1"
        )
        skips: dict[int, set[date]] = {}
        for row in skip_rows:
            skips.setdefault(row["series_id"], set()).add(date.fromisoformat(row["local_date"]))
        return [_series(row, frozenset(skips.get(row["id"], ()))) for row in rows]

    async def update(self, series: Series, now: datetime) -> Series | None:
        """Save every editable field of `series` (use `dataclasses.replace` on a loaded one).
        Meetings already created are not touched: the series only shapes future ones."""
        changed = await self.db.execute_one(
            "UPDATE series SET rrule = ?, dtstart_local = ?, start_time = ?, end_time = ?, "
            "timezone = ?, title_template = ?, place_template = ?, "
            "description_template = ?, lead_days = ?, capacity = ?, active = ?, "
            "updated_at = ? WHERE guild_id = ? AND id = ?",
            (*_described(series), int(series.active), stored(now), series.guild_id, series.id),
        )
        if not changed:
            return None
        return await self.get(series.guild_id, series.id)

    async def stop(self, guild_id: int, series_id: int, now: datetime) -> bool:
        """Stop creating meetings. True if the series was active."""
        return await self.db.execute_one(
            "UPDATE series SET active = 0, updated_at = ? "
            "WHERE guild_id = ? AND id = ? AND active = 1",
            (stored(now), guild_id, series_id),
        )

    async def skip(self, guild_id: int, series_id: int, local_date: date, now: datetime) -> bool:
        """Skip one local date. True if newly skipped; False if already skipped or no such
        series on this server."""
        return await self.db.execute_one(
            "INSERT INTO series_skips (series_id, guild_id, local_date, created_at) "
            "SELECT id, guild_id, ?, ? FROM series WHERE guild_id = ? AND id = ? "
            "ON CONFLICT (series_id, local_date) DO NOTHING",
            (local_date.isoformat(), stored(now), guild_id, series_id),
        )

    async def unskip(self, guild_id: int, series_id: int, local_date: date) -> bool:
        return await self.db.execute_one(
            "DELETE FROM series_skips WHERE guild_id = ? AND series_id = ? AND local_date = ?",
            (guild_id, series_id, local_date.isoformat()),
        )

    async def meeting_dates(self, guild_id: int, series_id: int) -> frozenset[date]:
        """Local dates of every meeting already made from the series (cancelled included),
        for `reminders.next_to_create`."""
        rows = await self.db.fetchall(
            "SELECT starts_at, timezone FROM meetings WHERE guild_id = ? AND series_id = ?",
            (guild_id, series_id),
        )
        return frozenset(
            local_date_of(from_stored(row["starts_at"]), row["timezone"]) for row in rows
        )
