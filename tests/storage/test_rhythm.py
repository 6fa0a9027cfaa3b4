"""Matching on a rhythm on a real SQLite file: settings, one claim and one round per slot."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.db import Database
from bot.domain.rhythm import slot_key
from bot.services.reminders import RHYTHM_KINDS
from bot.services.rhythm import KINDS, ROUND_KIND
from bot.storage.deliveries import DeliveryRepository
from bot.storage.matches import GroupRecord, MatchRepository, MatchSettings
from bot.storage.meetings import MeetingRepository
from bot.storage.privacy import PrivacyRepository

NOW = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
SLOT = datetime(2027, 2, 8, 8, 0, tzinfo=UTC)
GUILD = 100


def _groups() -> list[GroupRecord]:
    return [
        GroupRecord(members=((1, "business"), (2, "public_sector")), score=5, same_sector=False)
    ]


async def test_rhythm_settings_round_trip_and_only_those_on(db: Database) -> None:
    repo = MatchRepository(db)
    assert (await repo.settings(GUILD)).rhythm == "off"
    on = MatchSettings(
        GUILD,
        delivery="dm",
        rhythm="every_2_weeks",
        rhythm_weekday=3,
        rhythm_time=time(8, 30),
        rhythm_anchor=NOW,
        rhythm_set_by=77,
        report_channel_id=555,
    )
    await repo.save_settings(on)
    await repo.save_settings(MatchSettings(GUILD + 1))  # off
    assert await repo.settings(GUILD) == on
    assert await repo.rhythm_settings() == [on]
    await repo.save_settings(replace(on, rhythm="off"))
    assert await repo.rhythm_settings() == []


async def test_a_slot_has_one_round(db: Database) -> None:
    repo = MatchRepository(db)
    key = slot_key(GUILD, SLOT)
    assert await repo.round_for_slot(GUILD, key) is None
    made, _ = await repo.save_round(
        GUILD, kind="pairs", seed=1, groups=_groups(), now=SLOT, rhythm_slot=key
    )
    assert await repo.round_for_slot(GUILD, key) == made
    assert await repo.round_for_slot(GUILD + 1, key) is None
    with pytest.raises(sqlite3.IntegrityError):
        await repo.save_round(
            GUILD, kind="pairs", seed=2, groups=_groups(), now=SLOT, rhythm_slot=key
        )
    # rounds by hand carry no slot: any number of them
    for seed in (3, 4):
        await repo.save_round(GUILD, kind="pairs", seed=seed, groups=_groups(), now=SLOT)
    assert (await repo.last_round(GUILD)) is not None


async def test_a_slot_is_claimed_once_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first = await Database.open(path)
    second = await Database.open(path)
    try:
        key = slot_key(GUILD, SLOT)
        claims = await asyncio.gather(
            *(
                DeliveryRepository(db).claim(GUILD, key, ROUND_KIND, due_at=SLOT, now=SLOT)
                for db in (first, second, first, second)
            )
        )
        assert sum(c is not None for c in claims) == 1
        row = await DeliveryRepository(first).get(GUILD, key)
        assert row is not None and row.status == "claimed" and row.kind == ROUND_KIND
    finally:
        await first.close()
        await second.close()


async def test_meeting_starts_between_leaves_out_cancelled(db: Database) -> None:
    repo = MeetingRepository(db)
    starts = [NOW + timedelta(days=d) for d in (1, 2, 40)]
    ids = []
    for start in starts:
        async with db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO meetings (guild_id, title, starts_at, ends_at, timezone, "
                "created_at, updated_at) VALUES (?, 'M', ?, ?, 'Europe/Oslo', ?, ?)",
                (
                    GUILD,
                    start.isoformat(),
                    (start + timedelta(hours=1)).isoformat(),
                    NOW.isoformat(),
                    NOW.isoformat(),
                ),
            )
            ids.append(cursor.lastrowid)
    await repo.cancel(GUILD, ids[1], NOW)
    found = await repo.starts_between(GUILD, NOW, NOW + timedelta(days=30))
    assert found == [starts[0]]
    assert await repo.starts_between(GUILD + 1, NOW, NOW + timedelta(days=60)) == []


async def test_deleting_the_person_who_set_the_rhythm_forgets_them(db: Database) -> None:
    repo = MatchRepository(db)
    await repo.save_settings(
        MatchSettings(GUILD, rhythm="every_4_weeks", rhythm_anchor=NOW, rhythm_set_by=77)
    )
    await PrivacyRepository(db).delete(GUILD, 77, NOW, actor_id=77)
    settings = await repo.settings(GUILD)
    assert settings.rhythm_set_by is None and settings.rhythm == "every_4_weeks"


def test_the_reminders_hand_over_exactly_the_rhythm_kinds() -> None:
    assert RHYTHM_KINDS == KINDS
