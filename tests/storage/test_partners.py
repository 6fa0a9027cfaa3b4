"""Partner searches on a real SQLite file: drafts, opening once, expiry, interests, the
30-day claim, and the privacy export and deletion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.db import Database
from bot.storage.partners import PartnerRepository, members_of_interest
from bot.storage.privacy import PrivacyRepository
from tests.storage.test_reports_privacy import _find

G, H = 100, 200
POSTER, OTHER, THIRD = 11, 12, 13
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


async def posted(repo: PartnerRepository, guild: int = G, user: int = POSTER) -> int:
    search = await repo.create_draft(
        guild, user, title="Språkkafé", description="", brings="", deadline=None, now=NOW
    )
    await repo.set_choice(guild, search.id, "sector", ["public_sector"])
    assert await repo.open(guild, search.id, 555, NOW, NOW + timedelta(days=60))
    await repo.set_card(search.id, 777 + search.id)
    return search.id


async def test_a_draft_opens_once_and_expires_once(db: Database) -> None:
    repo = PartnerRepository(db)
    draft = await repo.create_draft(
        G, POSTER, title="T", description="d", brings="b", deadline=date(2027, 3, 1), now=NOW
    )
    assert draft.status == "draft" and draft.deadline == date(2027, 3, 1)
    await repo.set_choice(G, draft.id, "target_group", ["refugees", "elderly"])
    assert await repo.open(G, draft.id, 555, NOW, NOW + timedelta(days=1))
    assert not await repo.open(G, draft.id, 555, NOW, NOW + timedelta(days=1))
    await repo.set_choice(G, draft.id, "target_group", [])  # an open search keeps its choices
    search = await repo.get(G, draft.id)
    assert search is not None and search.target_groups == ("refugees", "elderly")
    assert await repo.get(H, draft.id) is None  # another server sees nothing
    assert await repo.unposted() == [search]
    await repo.set_card(search.id, 999)
    assert await repo.unposted() == []
    assert await repo.expire_due(NOW) == 0
    assert await repo.expire_due(NOW + timedelta(days=1)) == 1
    assert await repo.expire_due(NOW + timedelta(days=2)) == 0
    expired = await repo.get(G, draft.id)
    assert expired is not None and expired.status == "expired" and not expired.card_synced
    assert not await repo.close(G, draft.id, "found", NOW)  # only an open search closes
    await repo.card_synced(draft.id, "expired")
    assert await repo.unsynced_cards() == []


async def test_one_interest_per_person_and_the_question_claimed_once(db: Database) -> None:
    repo = PartnerRepository(db)
    search_id = await posted(repo)
    interest, new = await repo.add_interest(G, search_id, OTHER, NOW)
    again, new_again = await repo.add_interest(G, search_id, OTHER, NOW + timedelta(hours=1))
    assert new and not new_again and again.id == interest.id
    assert await members_of_interest(db, G, interest.id) == [POSTER, OTHER]
    assert await members_of_interest(db, H, interest.id) == []
    await repo.set_thread(interest.id, 4242, NOW)
    await repo.set_opened(interest.id, NOW)
    assert await repo.unopened() == []
    assert await repo.due_followups(NOW - timedelta(seconds=1)) == []
    (due,) = await repo.due_followups(NOW + timedelta(days=1))
    assert await repo.claim_followup(due.id, NOW)
    assert not await repo.claim_followup(due.id, NOW)
    assert [i.id for i in await repo.claimed_followups()] == [due.id]
    await repo.followup_done(due.id, asked=True)
    assert await repo.claimed_followups() == []
    assert await repo.record_answer(interest.id, THIRD, "no", NOW) is None
    answered = await repo.record_answer(interest.id, POSTER, "no", NOW)
    assert answered is not None and answered.answer == "no"


async def test_privacy_export_covers_and_deletion_removes_partner_data(db: Database) -> None:
    repo = PartnerRepository(db)
    own = await posted(repo)  # POSTER's search, OTHER interested
    theirs = await posted(repo, user=THIRD)  # THIRD's search, POSTER interested
    elsewhere = await posted(repo, guild=H)
    mine, _n = await repo.add_interest(G, own, OTHER, NOW)
    await repo.set_thread(mine.id, 5001, NOW)
    in_theirs, _n = await repo.add_interest(G, theirs, POSTER, NOW)
    await repo.set_thread(in_theirs.id, 5002, NOW)
    await repo.set_suggestable(G, POSTER, False)
    privacy = PrivacyRepository(db)
    export = await privacy.export(G, POSTER)
    counts = privacy.summarise(export)
    assert (
        counts["partner_searches"],
        counts["partner_interests"],
        counts["partner_settings"],
    ) == (1, 1, 1)
    assert str(OTHER) not in str(export["data"]["partner_searches"])
    result = await privacy.delete(G, POSTER, NOW, actor_id=POSTER)
    assert result.found
    assert (555, 777 + own) in result.cards
    assert set(result.threads) >= {5001, 5002}
    assert await _find(db, G, POSTER) == {}
    # THIRD's search stays (without POSTER's interest); OTHER's interest went with the search.
    assert await repo.get(G, theirs) is not None
    assert await repo.interests(G, theirs) == []
    assert await repo.interests(G, own) == []
    assert await repo.get(H, elsewhere) is not None  # another server is untouched
    assert await repo.suggestable(G, POSTER)
