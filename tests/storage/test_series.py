"""Meeting series on a real SQLite file."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from bot.db import Database
from bot.domain.reminders import next_to_create
from bot.domain.rule_phrases import parse_rule
from bot.storage.series import SeriesDraft, SeriesRepository

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _draft(guild_id: int = 1) -> SeriesDraft:
    parsed = parse_rule("første torsdag i måneden kl 8.30-10")
    assert parsed.start_time is not None and parsed.end_time is not None
    return SeriesDraft(
        guild_id=guild_id,
        rule=parsed.rule,
        dtstart_local=date(2026, 11, 23),
        start_time=parsed.start_time,
        end_time=parsed.end_time,
        timezone="Europe/Oslo",
        title_template="Frokostmøte",
        place_template="Kulturhuset",
        created_by=77,
    )


async def test_create_list_edit_skip_stop(db: Database) -> None:
    repo = SeriesRepository(db)
    series = await repo.create(_draft(), NOW)
    assert series.rule.to_rrule() == "FREQ=MONTHLY;BYDAY=1TH"
    assert (series.start_time, series.end_time) == (time(8, 30), time(10))
    assert series.lead_days == 21 and series.active and series.skipped == frozenset()
    other = await repo.create(_draft(guild_id=2), NOW)
    assert [s.id for s in await repo.for_guild(1)] == [series.id]
    assert await repo.get(1, other.id) is None  # another server's series

    assert await repo.skip(1, series.id, date(2026, 12, 3), NOW)
    assert not await repo.skip(1, series.id, date(2026, 12, 3), NOW)
    assert not await repo.skip(2, series.id, date(2026, 12, 3), NOW)  # not that server's
    loaded = await repo.get(1, series.id)
    assert loaded is not None and loaded.skipped == frozenset({date(2026, 12, 3)})
    assert next_to_create(loaded.schedule, frozenset(), NOW, loaded.lead_days) is None
    assert await repo.unskip(1, series.id, date(2026, 12, 3))
    loaded = await repo.get(1, series.id)
    assert loaded is not None
    upcoming = next_to_create(loaded.schedule, frozenset(), NOW, loaded.lead_days)
    assert upcoming is not None and upcoming.local_date == date(2026, 12, 3)

    edited = await repo.update(
        replace(loaded, rule=parse_rule("siste tirsdag").rule, lead_days=30),
        NOW + timedelta(hours=1),
    )
    assert edited is not None and edited.rule.to_rrule() == "FREQ=MONTHLY;BYDAY=-1TU"
    assert edited.lead_days == 30 and edited.updated_at > edited.created_at

    assert await repo.stop(1, series.id, NOW)
    assert not await repo.stop(1, series.id, NOW)
    assert await repo.for_guild(1) == []
    assert [s.id for s in await repo.for_guild(1, include_stopped=True)] == [series.id]
    assert [s.id for s in await repo.all_active()] == [other.id]


async def test_meeting_dates_are_local(db: Database) -> None:
    repo = SeriesRepository(db)
    series = await repo.create(_draft(), NOW)
    starts = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 December in Oslo
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO meetings (guild_id, series_id, title, starts_at, ends_at, timezone, "
            "status, created_at, updated_at) VALUES (1, ?, 'x', ?, ?, 'Europe/Oslo', "
            "'cancelled', ?, ?)",
            (
                series.id,
                starts.isoformat(),
                (starts + timedelta(hours=1)).isoformat(),
                NOW.isoformat(),
                NOW.isoformat(),
            ),
        )
    assert await repo.meeting_dates(1, series.id) == frozenset({date(2026, 12, 3)})
    assert await repo.meeting_dates(2, series.id) == frozenset()
