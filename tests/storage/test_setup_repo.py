"""The guided start's facts on a real SQLite file: read from what each step stores, per
server, and the language step confirmed once."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from bot import db as db_module
from bot.db import Database
from bot.domain.recurrence import RecurrenceRule
from bot.domain.reminders import ReminderPlan
from bot.domain.setup_steps import SetupFacts, all_done
from bot.storage.deliveries import ReminderPlanRepository
from bot.storage.guilds import GuildSettings, GuildSettingsRepository
from bot.storage.series import SeriesDraft, SeriesRepository
from bot.storage.setup import LANGUAGE_STEP, SetupRepository
from bot.storage.team import TeamRepository

G, OTHER = 100, 200
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


async def test_facts_follow_what_each_step_stores_per_server(db: Database) -> None:
    repo = SetupRepository(db)
    assert await repo.facts(G) == SetupFacts()
    settings = GuildSettings(G, announce_channel_id=11, intro_channel_id=12, organiser_role_id=13)
    await GuildSettingsRepository(db).save(settings, NOW)
    await repo.confirm(G, LANGUAGE_STEP, NOW)
    await repo.confirm(G, LANGUAGE_STEP, NOW)  # a second press changes nothing
    series = await SeriesRepository(db).create(
        SeriesDraft(
            guild_id=G,
            rule=RecurrenceRule("MONTHLY", 3, 1, 1),
            dtstart_local=NOW.date(),
            start_time=time(8, 30),
            end_time=time(10, 0),
            timezone="Europe/Oslo",
            title_template="Frokost",
        ),
        NOW,
    )
    await ReminderPlanRepository(db).set(G, ReminderPlan(), NOW)
    team = TeamRepository(db)
    await team.set_role(G, 1, "working_group", None, NOW)
    facts = await repo.facts(G)
    assert facts == SetupFacts(
        announce_channel=True,
        intro_channel=True,
        organiser_role=True,
        language_confirmed=True,
        series=True,
        reminder_plan=True,
    )  # a working group member is not the project lead; nothing announced, no card
    await team.set_role(G, 1, "project_lead", None, NOW)
    await team.save_card(G, 11, 99, NOW)
    stamp = NOW.isoformat()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO meetings (guild_id, series_id, title, starts_at, ends_at, timezone, "
            "channel_id, message_id, created_at, updated_at) "
            "VALUES (?, ?, 'Frokost', ?, '2027-02-04T09:00:00+00:00', 'Europe/Oslo', 11, 98, ?, ?)",
            (G, series.id, "2027-02-04T07:30:00+00:00", stamp, stamp),
        )
    assert all_done(await repo.facts(G))
    assert await repo.facts(OTHER) == SetupFacts()  # servers strictly apart
    assert await SeriesRepository(db).stop(G, series.id, NOW)
    assert not (await repo.facts(G)).series  # a stopped series is not the first series


async def test_servers_set_up_before_the_guided_start_have_the_language_step_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0016 marks the language step of every stored server (they chose or kept
    it with /setup configure); a server stored later starts without it."""
    real = db_module.load_migrations()
    monkeypatch.setattr(db_module, "load_migrations", lambda: real[:15])
    old = await Database.open(tmp_path / "old.db")
    await GuildSettingsRepository(old).save(GuildSettings(G, language="sv"), NOW)
    await old.close()
    monkeypatch.setattr(db_module, "load_migrations", lambda: real)
    db = await Database.open(tmp_path / "old.db")
    try:
        assert (await SetupRepository(db).facts(G)).language_confirmed
        await GuildSettingsRepository(db).save(GuildSettings(OTHER), NOW)
        assert not (await SetupRepository(db).facts(OTHER)).language_confirmed
    finally:
        await db.close()
