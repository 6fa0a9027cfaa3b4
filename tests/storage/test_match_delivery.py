"""Match delivery and follow-up bookkeeping (migration 0006) on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.db import Database
from bot.storage.matches import GroupRecord, MatchRepository, MatchRound, SavedGroup

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


async def _round(
    repo: MatchRepository, guild: int = 1, *, days: int = 0, due: int | None = 14
) -> tuple[MatchRound, list[SavedGroup]]:
    when = NOW + timedelta(days=days)
    return await repo.save_round(
        guild,
        kind="pairs",
        seed=1,
        now=when,
        followup_due=when + timedelta(days=due) if due is not None else None,
        groups=[
            GroupRecord(((10, "business"), (11, "public_sector")), 10, False),
            GroupRecord(((12, "business"), (13, "civil_society")), 10, False),
        ],
    )


async def test_undelivered_groups_and_thread_kept_before_delivery(db: Database) -> None:
    repo = MatchRepository(db)
    round_, groups = await _round(repo)
    assert [g.id for g in await repo.undelivered_groups(1)] == [g.id for g in groups]
    await repo.set_thread(groups[0].id, 555)
    first = await repo.group(groups[0].id)
    assert first is not None and first.thread_id == 555 and not first.delivered
    await repo.set_delivered(groups[0].id, 555)
    assert [g.id for g in await repo.undelivered_groups(1)] == [groups[1].id]
    assert await repo.undelivered_groups(2) == []
    found = await repo.round_of_group(groups[1].id)
    assert found is not None and found.id == round_.id and found.guild_id == 1
    assert await repo.round_of_group(999) is None


async def test_member_states_follow_delivery_answers_and_asking(db: Database) -> None:
    repo = MatchRepository(db)
    round_, groups = await _round(repo)
    await repo.set_member_delivery(groups[0].id, 10, "thread")
    await repo.set_member_delivery(groups[0].id, 11, "gone")
    await repo.record_answer(groups[0].id, 10, "planned", NOW)
    assert await repo.claim_group_followup(groups[0].id, NOW)
    assert not await repo.claim_group_followup(groups[0].id, NOW)
    states = {s.user_id: s for s in await repo.member_states(round_.id)}
    first = states[10]
    assert (first.delivered_via, first.met, first.asked) == ("thread", "planned", True)
    assert (states[11].delivered_via, states[11].met) == ("gone", None)
    assert (states[12].delivered_via, states[12].asked) == (None, False)
    # a member whose data was deleted is left out
    async with db.transaction() as conn:
        await conn.execute("UPDATE match_members SET user_id = NULL WHERE user_id = 13")
    assert 13 not in {s.user_id for s in await repo.member_states(round_.id)}


async def test_pending_followups_and_unasked_groups(db: Database) -> None:
    repo = MatchRepository(db)
    first, groups = await _round(repo)
    second, _ = await _round(repo, guild=2, days=1)
    await _round(repo, days=2, due=None)  # no follow-up planned
    assert [r.id for r in await repo.pending_followups()] == [first.id, second.id]
    assert await repo.claim_followup(first.id)
    assert [r.id for r in await repo.pending_followups()] == [second.id]
    # nothing delivered yet: nothing to ask
    assert await repo.rounds_with_unasked_groups() == []
    for group in groups:
        await repo.set_delivered(group.id, None)
    assert [r.id for r in await repo.rounds_with_unasked_groups()] == [first.id]
    for group in groups:
        await repo.claim_group_followup(group.id, NOW)
    assert await repo.rounds_with_unasked_groups() == []


async def test_silence_is_counted_once_per_round(db: Database) -> None:
    repo = MatchRepository(db)
    first, _ = await _round(repo)
    second, _ = await _round(repo, days=30)
    assert await repo.rounds_to_count(1) == []  # no follow-up sent yet
    await repo.claim_followup(first.id)
    await repo.claim_followup(second.id)
    assert [r.id for r in await repo.rounds_to_count(1)] == [first.id, second.id]
    claims = await asyncio.gather(*(repo.claim_ignores(first.id) for _ in range(5)))
    assert claims.count(True) == 1
    assert [r.id for r in await repo.rounds_to_count(1)] == [second.id]
    assert await repo.rounds_to_count(2) == []
