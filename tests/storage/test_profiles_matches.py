"""Profiles and match rounds on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db import Database
from bot.storage.matches import GroupRecord, MatchRepository, MatchSettings
from bot.storage.profiles import ProfileRepository, ProfileText

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _person(repo: ProfileRepository, guild: int, user: int, sector: str | None) -> None:
    await repo.save_text(guild, user, ProfileText(f"P{user}", organisation="Org"), NOW, opt_in=True)
    if sector:
        await repo.set_sector(guild, user, sector, NOW)


async def test_profile_text_then_sector_then_edit_keeps_choices(db: Database) -> None:
    repo = ProfileRepository(db)
    first = await repo.save_text(1, 10, ProfileText("Kari", "Frivilligsentralen"), NOW, opt_in=True)
    assert not first.complete and first.matching == "active"
    await repo.set_sector(1, 10, "civil_society", NOW)
    await repo.set_interests(1, 10, ["refugees", "language", "refugees"], NOW)
    edited = await repo.save_text(
        1, 10, ProfileText("Kari N.", "Frivilligsentralen", offers="mentoring"), NOW, opt_in=False
    )
    assert edited.display_name == "Kari N." and edited.offers == "mentoring"
    assert edited.sector == "civil_society"
    assert edited.interests == ("language", "refugees")
    assert edited.matching == "active"  # opting out happens through /match leave, not an edit


async def test_opt_out_at_first_introduction(db: Database) -> None:
    repo = ProfileRepository(db)
    await repo.save_text(1, 11, ProfileText("Per"), NOW, opt_in=False)
    await repo.set_sector(1, 11, "business", NOW)
    assert await repo.participants(1, NOW) == []


async def test_participants_respect_pause_and_servers(db: Database) -> None:
    repo = ProfileRepository(db)
    for user, sector in ((1, "business"), (2, "public_sector"), (3, None), (4, "other")):
        await _person(repo, 100, user, sector)
    await _person(repo, 200, 9, "business")
    await repo.set_matching(100, 4, "paused", NOW, paused_until=NOW + timedelta(weeks=2))
    ids = [p.user_id for p in await repo.participants(100, NOW)]
    assert ids == [1, 2]  # 3 is incomplete, 4 paused, 9 is another server
    later = [p.user_id for p in await repo.participants(100, NOW + timedelta(weeks=3))]
    assert later == [1, 2, 4]
    assert [p.user_id for p in await repo.participants(100, NOW, only={2, 9})] == [2]


async def test_three_ignored_rounds_pause(db: Database) -> None:
    repo = ProfileRepository(db)
    await _person(repo, 1, 5, "business")
    for _ in range(2):
        assert await repo.record_ignored(1, [5], [], limit=3) == []
    assert await repo.record_ignored(1, [5], [], limit=3) == [5]
    profile = await repo.get(1, 5)
    assert profile is not None and profile.matching == "paused"


async def test_round_history_and_answers(db: Database) -> None:
    repo = MatchRepository(db)
    round_, groups = await repo.save_round(
        1,
        kind="pairs",
        seed=7,
        now=NOW,
        followup_due=NOW + timedelta(days=14),
        groups=[
            GroupRecord(((1, "business"), (2, "public_sector")), 10, False),
            GroupRecord(((3, "other"), (4, "other"), (5, "business")), 5, False),
        ],
    )
    assert (round_.people, round_.groups, round_.cross_sector) == (5, 2, 2)
    assert [g.members for g in groups] == [(1, 2), (3, 4, 5)]
    pairs = {(p.a, p.b) for p in await repo.history(1, rounds=6)}
    assert pairs == {(1, 2), (3, 4), (3, 5), (4, 5)}
    assert await repo.record_answer(groups[0].id, 1, "yes", NOW)
    assert not await repo.record_answer(groups[0].id, 3, "yes", NOW)  # not in that group
    assert (await repo.answers(round_.id))[1] == "yes"
    assert await repo.due_followups(NOW) == []
    due = await repo.due_followups(NOW + timedelta(days=15))
    assert [r.id for r in due] == [round_.id]
    assert await repo.claim_followup(round_.id)
    assert not await repo.claim_followup(round_.id)


async def test_history_window_counts_rounds(db: Database) -> None:
    repo = MatchRepository(db)
    for n in range(8):
        await repo.save_round(
            1,
            kind="pairs",
            seed=n,
            now=NOW + timedelta(days=30 * n),
            groups=[GroupRecord(((n, "a"), (100 + n, "b")), 1, False)],
        )
    window = await repo.history(1, rounds=6)
    assert {p.a for p in window} == {2, 3, 4, 5, 6, 7}


async def test_match_settings_defaults_and_save(db: Database) -> None:
    repo = MatchRepository(db)
    assert (await repo.settings(1)).window_rounds == 6
    await repo.save_settings(MatchSettings(1, delivery="dm", window_rounds=3, followup_days=7))
    assert (await repo.settings(1)).delivery == "dm"


async def test_round_write_is_all_or_nothing(db: Database) -> None:
    repo = MatchRepository(db)
    with pytest.raises(Exception):  # noqa: B017
        await repo.save_round(
            1,
            kind="nonsense",  # violates the CHECK constraint
            seed=1,
            now=NOW,
            groups=[GroupRecord(((1, "a"), (2, "b")), 1, False)],
        )
    assert await db.fetchval("SELECT COUNT(*) FROM match_groups") == 0
