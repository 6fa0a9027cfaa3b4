"""The collaborations repository on a real SQLite file: claims, drafts, answers, facts and
anonymisation by a data deletion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.db import Database
from bot.domain.collaborations import started_at
from bot.storage.collaborations import CollaborationRepository
from bot.storage.privacy import PrivacyRepository

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
G = 1


async def test_the_recorder_is_confirmed_and_each_member_is_claimed_once(db: Database) -> None:
    repo = CollaborationRepository(db)
    collab = await repo.create(
        G,
        title="Leksehjelp",
        link=None,
        origin="other",
        origin_ref=None,
        created_by=10,
        fallback_channel_id=99,
        members=[(10, "business"), (11, None), (12, "voluntary")],
        now=NOW,
    )
    members = {m.user_id: m for m in await repo.members(collab.id)}
    assert members[10].answer == "confirmed" and members[10].asked_sent
    owed = await repo.owed()
    assert sorted(m.user_id for _c, m in owed if m.user_id is not None) == [11, 12]
    claims = await asyncio.gather(*(repo.claim_ask(collab.id, 11, NOW) for _ in range(3)))
    assert sorted(claims) == [False, False, True]
    assert not await repo.claim_ask(collab.id, 10, NOW)  # the recorder is never asked
    await repo.mark_asked(collab.id, 11)
    assert sorted(m.user_id for _c, m in await repo.owed() if m.user_id) == [12]

    # A confirmation keeps its first time; "Not me" clears it; strangers change nothing.
    assert await repo.answer(collab.id, 11, True, NOW + timedelta(days=1))
    assert await repo.answer(collab.id, 11, True, NOW + timedelta(days=5))
    assert not await repo.answer(collab.id, 77, True, NOW)
    facts = (await repo.facts(G))[0].members
    assert started_at(facts) == NOW + timedelta(days=1)
    assert await repo.answer(collab.id, 11, False, NOW + timedelta(days=6))
    assert started_at((await repo.facts(G))[0].members) is None
    assert await repo.facts(G + 1) == ()


async def test_a_draft_is_ticked_then_opened_once_without_the_unticked(db: Database) -> None:
    repo = CollaborationRepository(db)
    draft = await repo.create(
        G,
        title="Mentorordning",
        link="https://example.no",
        origin="match",
        origin_ref=5,
        created_by=10,
        fallback_channel_id=None,
        members=[(10, "business"), (11, "research"), (12, "voluntary")],
        now=NOW,
        state="draft",
    )
    assert await repo.owed() == []  # a draft asks nobody
    assert await repo.in_guild(G) == []
    assert await repo.find(G, "match", 5, 10, "MENTORORDNING") == draft
    assert await repo.find(G, "match", 6, 10, "Mentorordning") is None
    await repo.set_included(draft.id, [11])
    assert {m.user_id: m.included for m in await repo.members(draft.id)} == {
        10: True,
        11: True,
        12: False,
    }
    opened = await asyncio.gather(*(repo.open_draft(draft.id) for _ in range(2)))
    assert sorted(opened) == [False, True]
    assert [m.user_id for m in await repo.members(draft.id)] == [10, 11]
    await repo.set_included(draft.id, [])  # no longer a draft: nothing changes
    assert all(m.included for m in await repo.members(draft.id))


async def test_deleting_a_member_keeps_their_confirmed_collaboration_counted(
    db: Database,
) -> None:
    repo = CollaborationRepository(db)
    collab = await repo.create(
        G,
        title="Språkkafé",
        link=None,
        origin="meeting",
        origin_ref=3,
        created_by=10,
        fallback_channel_id=None,
        members=[(10, "business"), (11, "public_sector")],
        now=NOW,
    )
    await repo.answer(collab.id, 11, True, NOW)
    privacy = PrivacyRepository(db)
    export = await privacy.export(G, 11)
    assert [row["title"] for row in export["data"]["collaborations"]] == ["Språkkafé"]
    assert 11 in await privacy.people(G)
    result = await privacy.delete(G, 11, NOW, actor_id=11)
    assert result.found
    await privacy.delete(G, 10, NOW, actor_id=10)
    members = await repo.members(collab.id)
    assert [(m.user_id, m.sector, m.answer) for m in members] == [
        (None, "business", "confirmed"),
        (None, "public_sector", "confirmed"),
    ]
    kept = await repo.get(collab.id)
    assert kept is not None and kept.created_by is None
    assert started_at((await repo.facts(G))[0].members) == NOW
    assert (await privacy.export(G, 11))["data"]["collaborations"] == []
