"""ProposalRepository on a real SQLite file: limits, decisions and notices hold under
concurrent writers, and migration 0011 is in place."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.db import Database, latest_version
from bot.domain.meeting import MeetingDraft
from bot.domain.programme import Decision, ProposalText, Status
from bot.errors import BadInput
from bot.storage.meetings import MeetingRepository
from bot.storage.privacy import PrivacyRepository
from bot.storage.programme import ProposalRepository

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
GUILD, OTHER_GUILD = 1, 2
TEXT = ProposalText("Jobb for alle", "Hva vi lærte", "case")


async def meeting(db: Database, guild_id: int = GUILD, days: int = 0) -> int:
    start = START + timedelta(days=days)
    draft = MeetingDraft(
        title="Frokostmøte",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        timezone="Europe/Oslo",
    )
    return (await MeetingRepository(db).create(guild_id, draft, NOW)).id


async def test_migration_0011_is_applied(db: Database) -> None:
    assert await db.version() == latest_version() >= 11
    columns = {r[1] for r in await db.fetchall("PRAGMA table_info(proposals)")}
    assert {
        "meeting_id",
        "user_id",
        "status",
        "position",
        "slot",
        "notice",
        "notice_sent_at",
    } <= columns


async def test_three_open_per_person_and_meeting_even_when_sent_at_once(db: Database) -> None:
    repo = ProposalRepository(db)
    first, second = await meeting(db), await meeting(db, days=30)
    texts = [ProposalText(f"Innlegg {n}", "", "talk") for n in range(6)]
    results = await asyncio.gather(
        *(repo.create(GUILD, first, 7, text, (), "business", NOW) for text in texts),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BadInput)]
    assert len(refused) == 3 and refused[0].key == "programme.error.too_many"
    # Another meeting, and another person, have their own three.
    await repo.create(GUILD, second, 7, TEXT, (), "business", NOW)
    await repo.create(GUILD, first, 8, TEXT, (9,), None, NOW)
    # A decided or withdrawn one no longer counts.
    own = [p for p in await repo.of_user(GUILD, 7, (Status.OPEN,)) if p.meeting_id == first]
    assert await repo.withdraw(GUILD, own[0].id, 7, NOW)
    await repo.create(GUILD, first, 7, TEXT, (), "business", NOW)
    assert len(await repo.of_user(GUILD, 7, (Status.OPEN,))) == 4  # three here, one there


async def test_the_same_proposal_sent_twice_is_stored_once(db: Database) -> None:
    """A retry after the bot did not answer (it restarted mid-command) doubles nothing."""
    repo = ProposalRepository(db)
    first = await meeting(db)
    once, twice = await asyncio.gather(
        repo.create(GUILD, first, 7, TEXT, (), "business", NOW),
        repo.create(GUILD, first, 7, TEXT, (), "business", NOW),
    )
    assert once.id == twice.id
    assert len(await repo.for_meeting(first)) == 1
    # Once decided, the same title may be proposed again (e.g. after a decline).
    await repo.decide(GUILD, once.id, Decision.DECLINED, 1, NOW)
    again = await repo.create(GUILD, first, 7, TEXT, (), "business", NOW)
    assert again.id != once.id


async def test_one_decision_wins_and_owes_one_notice(db: Database) -> None:
    repo = ProposalRepository(db)
    first, second = await meeting(db), await meeting(db, days=30)
    item = await repo.create(GUILD, first, 7, TEXT, (8,), "business", NOW)
    outcomes = await asyncio.gather(
        repo.decide(GUILD, item.id, Decision.ACCEPTED, 1, NOW),
        repo.decide(GUILD, item.id, Decision.DECLINED, 1, NOW),
        repo.decide(GUILD, item.id, Decision.MOVED, 1, NOW, to_meeting=second),
    )
    won = [o for o in outcomes if o is not None]
    assert len(won) == 1
    assert [p.id for p in await repo.owed()] == [item.id]
    decided = won[0]
    assert decided.decided_at is not None
    assert await repo.mark_notice_sent(item.id, decided.decided_at, NOW)
    assert not await repo.mark_notice_sent(item.id, decided.decided_at, NOW)
    assert await repo.owed() == []
    # Someone else never changes it; once decided (not moved) the proposer cannot either.
    assert await repo.withdraw(GUILD, item.id, 8, NOW) is False
    assert await repo.edit(GUILD, item.id, 8, TEXT, (), None, NOW) is None
    if not decided.is_open:
        assert await repo.edit(GUILD, item.id, 7, TEXT, (), None, NOW) is None
        assert await repo.withdraw(GUILD, item.id, 7, NOW) is False


async def test_a_move_reopens_it_in_the_other_meeting_of_the_same_server(db: Database) -> None:
    repo = ProposalRepository(db)
    first, second = await meeting(db), await meeting(db, days=30)
    foreign = await meeting(db, guild_id=OTHER_GUILD)
    item = await repo.create(GUILD, first, 7, TEXT, (), "business", NOW)
    assert await repo.decide(GUILD, item.id, Decision.MOVED, 1, NOW, to_meeting=foreign) is None
    assert await repo.decide(GUILD, item.id, Decision.MOVED, 1, NOW, to_meeting=first) is None
    moved = await repo.decide(GUILD, item.id, Decision.MOVED, 1, NOW, to_meeting=second)
    assert moved is not None and (moved.meeting_id, moved.status) == (second, Status.OPEN)
    assert moved.notice is Decision.MOVED
    assert await repo.get(OTHER_GUILD, item.id) is None  # every read filters by server
    # The proposer may edit it again there; a later decision owes a new notice.
    edited = await repo.edit(
        GUILD, item.id, 7, ProposalText("Ny tittel", "", "talk"), (), None, NOW
    )
    assert edited is not None and edited.title == "Ny tittel"
    later = NOW + timedelta(minutes=5)
    assert moved.decided_at is not None
    accepted = await repo.decide(GUILD, item.id, Decision.ACCEPTED, 1, later)
    assert accepted is not None
    assert not await repo.mark_notice_sent(item.id, moved.decided_at, later)  # the old one
    assert [p.notice for p in await repo.owed()] == [Decision.ACCEPTED]


async def test_arrange_refuses_a_stale_order(db: Database) -> None:
    repo = ProposalRepository(db)
    first = await meeting(db)
    ids = []
    for user in (7, 8, 9):
        item = await repo.create(GUILD, first, user, TEXT, (), "business", NOW)
        await repo.decide(GUILD, item.id, Decision.ACCEPTED, 1, NOW)
        ids.append(item.id)
    assert await repo.arrange(GUILD, first, [ids[2], ids[0], ids[1]], ids[2], "09:00", NOW)
    assert [(p.id, p.position) for p in await repo.accepted(first)] == [
        (ids[0], 2),
        (ids[1], 3),
        (ids[2], 1),
    ]
    assert not await repo.arrange(GUILD, first, [ids[0], ids[1]], ids[0], None, NOW)
    stored = await repo.get(GUILD, ids[2])
    assert stored is not None and stored.slot == "09:00"


@pytest.mark.parametrize("status", ["accepted", "open"])
async def test_facts_carry_no_ids(db: Database, status: str) -> None:
    repo = ProposalRepository(db)
    first = await meeting(db)
    item = await repo.create(GUILD, first, 7, TEXT, (), "civil_society", NOW)
    if status == "accepted":
        await repo.decide(GUILD, item.id, Decision.ACCEPTED, 1, NOW)
    (fact,) = await repo.facts(GUILD)
    assert (fact.meeting_id, fact.status.value, fact.sector) == (first, status, "civil_society")
    assert await repo.facts(OTHER_GUILD) == []


async def test_retention_leaves_old_proposals_as_counts(db: Database) -> None:
    repo = ProposalRepository(db)
    old, new = await meeting(db, days=-800), await meeting(db, days=30)
    for meeting_id in (old, new):
        item = await repo.create(GUILD, meeting_id, 7, TEXT, (8,), "business", NOW)
        await repo.decide(GUILD, item.id, Decision.ACCEPTED, 1, NOW)
    await PrivacyRepository(db).retention_sweep(NOW)
    kept = {p.meeting_id: p for p in await repo.for_meeting(old) + await repo.for_meeting(new)}
    assert (kept[old].user_id, kept[old].title, kept[old].co_presenters) == (None, "", ())
    assert kept[old].sector == "business" and kept[old].status is Status.ACCEPTED
    assert kept[new].user_id == 7 and kept[new].title == TEXT.title
