"""Meetings and RSVP answers on a real SQLite file."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.db import Database
from bot.domain.meeting import MeetingChanges, MeetingDraft, PublishState
from bot.domain.rsvp import (
    Choice,
    Counts,
    Event,
    Outcome,
    React,
    RsvpState,
    SetCapacity,
    Status,
    Unreact,
    apply,
)
from bot.errors import BadInput, NotFound
from bot.services.answers import AnswerBook
from bot.storage.meetings import MeetingRepository
from bot.storage.notices import NoticeRepository
from bot.storage.rsvps import RsvpRepository

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
G, M, N = Choice.GOING, Choice.MAYBE, Choice.NOT_GOING


def draft(**changes: object) -> MeetingDraft:
    base = MeetingDraft(
        title="Frokostmøte",
        starts_at=START,
        ends_at=START + timedelta(minutes=90),
        timezone="Europe/Oslo",
        place="Kulturhuset",
        capacity=2,
    )
    return replace(base, **changes)


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "t.db")
    yield database  # type: ignore[misc]
    await database.close()


def sequential(events: list[Event], capacity: int | None) -> RsvpState:
    """The pure rule applied one by one, numbering reactions as the repository does."""
    state = RsvpState(capacity=capacity)
    for event in events:
        if isinstance(event, React):
            event = replace(event, seq=state.max_seq() + 1)
        state = apply(state, event).state
    return state


def random_events(seed: int, n: int, users: int) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    for _ in range(n):
        user, choice = rng.randrange(1, users + 1), rng.choice(list(Choice))
        events.append(React(user, choice, 0) if rng.random() < 0.7 else Unreact(user, choice))
    return events


async def test_create_get_and_isolation_between_servers(db: Database) -> None:
    repo = MeetingRepository(db)
    mine = await repo.create(1, draft(description="@everyone <@5>"), NOW, created_by=7)
    theirs = await repo.create(2, draft(title="Annen server"), NOW)
    got = await repo.get(1, mine.id)
    assert got == mine and got.description == "@everyone <@5>" and got.starts_at == START
    assert got.created_by == 7 and got.capacity == 2 and got.timezone == "Europe/Oslo"
    assert await repo.get(1, theirs.id) is None
    with pytest.raises(NotFound):
        await repo.require(1, theirs.id)
    assert [m.id for m in await repo.list_upcoming(1, NOW)] == [mine.id]
    assert [m.id for m in await repo.search_for_autocomplete(1, "", NOW)] == [mine.id]
    assert await repo.search_for_autocomplete(1, "Annen", NOW) == []
    with pytest.raises(NotFound):
        await repo.update(1, theirs.id, MeetingChanges(title="x"), NOW)
    with pytest.raises(NotFound):
        await repo.cancel(1, theirs.id, NOW)
    with pytest.raises(NotFound):
        await repo.set_announcement(1, theirs.id, 100, 200, NOW)
    assert (await repo.last_meeting(2)).id == theirs.id  # type: ignore[union-attr]


async def test_listing_search_and_announcements(db: Database) -> None:
    repo = MeetingRepository(db)
    later = await repo.create(
        1,
        draft(
            title="Julemøte 100%",
            starts_at=START + timedelta(days=7),
            ends_at=START + timedelta(days=7, hours=1),
        ),
        NOW,
    )
    soon = await repo.create(1, draft(title="Frokost_klubb"), NOW)
    assert [m.id for m in await repo.list_upcoming(1, NOW)] == [soon.id, later.id]
    assert [m.id for m in await repo.search_for_autocomplete(1, "100%", NOW)] == [later.id]
    assert [m.id for m in await repo.search_for_autocomplete(1, "_", NOW)] == [soon.id]
    assert [m.id for m in await repo.search_for_autocomplete(1, str(later.id), NOW)] == [later.id]
    assert (await repo.last_meeting(1)).id == later.id  # type: ignore[union-attr]

    assert await repo.list_open_announcements(NOW) == []
    announced = await repo.set_announcement(1, soon.id, 10, 555, NOW)
    assert (announced.channel_id, announced.message_id) == (10, 555)
    assert [m.id for m in await repo.list_open_announcements(NOW)] == [soon.id]
    assert (await repo.find_by_message(555)).id == soon.id  # type: ignore[union-attr]
    assert await repo.find_by_message(555, guild_id=2) is None
    await repo.set_roster_message(1, soon.id, 777, NOW)
    assert (await repo.find_by_message(777)).id == soon.id  # type: ignore[union-attr]
    await repo.set_scheduled_event(1, soon.id, 888, NOW)
    missing = await repo.mark_announcement_missing(1, soon.id, NOW)
    assert missing.announcement_missing and missing.scheduled_event_id == 888
    assert await repo.list_open_announcements(NOW) == []
    again = await repo.set_announcement(1, soon.id, 10, 556, NOW)
    assert not again.announcement_missing and again.roster_message_id is None
    assert await repo.list_open_announcements(START) == []  # started: no longer open


async def test_update_bumps_sequence_and_capacity_promotes_in_one_go(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=1), NOW)
    for user in (1, 2, 3):
        await rsvps.apply(m.id, React(user, G, 0), NOW)
    result = await meetings.update(1, m.id, MeetingChanges(capacity=2), NOW)
    assert result.promoted == (2,) and result.meeting.capacity == 2
    assert result.meeting.ical_sequence == 0  # capacity is not in the calendar
    assert (await rsvps.rsvps.attendees(m.id)).going == (1, 2)
    moved = await meetings.update(1, m.id, MeetingChanges(title="Nytt"), NOW)
    assert moved.meeting.ical_sequence == 1
    assert (await meetings.get(1, m.id)) == moved.meeting
    with pytest.raises(BadInput):
        await meetings.update(1, m.id, MeetingChanges(starts_at=NOW - timedelta(days=1)), NOW)
    assert (await meetings.get(1, m.id)).title == "Nytt"  # type: ignore[union-attr]


async def test_cancel_once_and_answers_close(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(), NOW)
    first = await meetings.cancel(1, m.id, NOW, reason="Sykdom")
    assert first.newly_cancelled and first.meeting.cancelled
    assert first.meeting.cancel_reason == "Sykdom" and first.meeting.ical_sequence == 1
    second = await meetings.cancel(1, m.id, NOW)
    assert not second.newly_cancelled and second.meeting.ical_sequence == 1
    out = await rsvps.apply(m.id, React(1, G, 0), NOW)
    assert out.closed and await rsvps.rsvps.counts(m.id) == Counts()
    assert await meetings.list_upcoming(1, NOW) == []


async def test_answers_close_at_the_deadline(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    deadline = START - timedelta(days=1)
    m = await meetings.create(1, draft(rsvp_deadline=deadline), NOW)
    assert not (await rsvps.apply(m.id, React(1, G, 0), NOW)).closed
    late = await rsvps.apply(m.id, React(2, G, 0), deadline)
    assert late.closed and (await rsvps.rsvps.attendees(m.id)).going == (1,)


async def test_switch_and_the_echo_of_the_removed_reaction(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(), NOW)
    await rsvps.apply(m.id, React(1, G, 0), NOW)
    switched = await rsvps.apply(m.id, React(1, M, 0), NOW)
    assert switched.reactions_to_remove == ((1, G),)
    echo = await rsvps.apply(m.id, Unreact(1, G), NOW)
    assert not echo.changed
    assert (await rsvps.rsvps.load_state(m.id)).status_of(1) is Status.MAYBE


async def test_waitlist_promotion_is_stored(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=1), NOW)
    await rsvps.apply(m.id, React(1, G, 0), NOW)
    waiting = await rsvps.apply(m.id, React(2, G, 0), NOW)
    assert waiting.waitlisted
    freed = await rsvps.apply(m.id, Unreact(1, G), NOW + timedelta(minutes=5))
    assert freed.promoted == (2,)
    roster = await rsvps.rsvps.attendees(m.id)
    assert roster.going == (2,) and roster.waitlist == ()
    row = await db.fetchone(
        "SELECT status, answered_at, updated_at FROM rsvps WHERE meeting_id = ? AND user_id = 2",
        (m.id,),
    )
    assert row is not None and row["status"] == "going"
    assert row["answered_at"] < row["updated_at"]  # answered earlier, promoted later


async def test_concurrent_answers_equal_the_sequential_rule(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=3), NOW)
    events = random_events(seed=7, n=400, users=12)
    events.insert(200, SetCapacity(5))
    outcomes = await asyncio.gather(*(rsvps.apply(m.id, e, NOW) for e in events))
    expected = sequential(events, capacity=3)
    stored = await rsvps.rsvps.load_state(m.id)
    assert stored == expected
    assert outcomes[-1].state == expected  # each caller saw the state after its own event
    assert (await meetings.get(1, m.id)).capacity == 5  # type: ignore[union-attr]
    # a fresh repository (no reuse of loaded state) reads the same
    assert await RsvpRepository(db).load_state(m.id) == expected


async def test_one_transaction_per_answer(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(), NOW)
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    try:
        for event in random_events(seed=3, n=20, users=4):
            await rsvps.apply(m.id, event, NOW)
        begins = sum(s.startswith("BEGIN") for s in statements)
        commits = sum(s == "COMMIT" for s in statements)
        assert begins == commits == 20
        statements.clear()
        # In a burst, answers share transactions: never more transactions than answers.
        await asyncio.gather(*(rsvps.apply(m.id, e, NOW) for e in random_events(4, 50, 9)))
        assert 1 <= sum(s.startswith("BEGIN") for s in statements) < 50
    finally:
        await db.conn.set_trace_callback(None)


async def test_failing_write_leaves_nothing_half_written(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=1), NOW)
    await rsvps.apply(m.id, React(1, G, 0), NOW)
    await rsvps.apply(m.id, React(2, G, 0), NOW)
    await db.conn.execute(
        "CREATE TEMP TRIGGER refuse_666 BEFORE INSERT ON rsvps WHEN NEW.user_id = 666 "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    before = await rsvps.rsvps.load_state(m.id)
    with pytest.raises(sqlite3.IntegrityError):
        # user 1 withdraws (2 would be promoted), then a write that fails
        await rsvps.apply_many(m.id, [Unreact(1, G), React(666, M, 0)], NOW)
    assert await rsvps.rsvps.load_state(m.id) == before
    assert await RsvpRepository(db).load_state(m.id) == before
    # In a burst, one failing answer does not take the others down.
    results = await asyncio.gather(
        rsvps.apply(m.id, Unreact(1, G), NOW),
        rsvps.apply(m.id, React(666, M, 0), NOW),
        rsvps.apply(m.id, React(3, N, 0), NOW),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert isinstance(results[0], Outcome) and results[0].promoted == (2,)
    roster = await RsvpRepository(db).attendees(m.id)
    assert roster.going == (2,) and roster.not_going == (3,) and 666 not in roster.maybe


async def test_apply_many_is_one_outcome(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=1), NOW)
    out = await rsvps.apply_many(
        m.id, [React(1, G, 0), React(2, G, 0), React(1, M, 0), React(1, G, 0)], NOW
    )
    assert out.state.roster().going == (2,) and out.state.roster().waitlist == (1,)
    assert out.promoted == (2,)
    assert (1, G) not in out.reactions_to_remove
    assert await rsvps.rsvps.load_state(m.id) == out.state
    assert await rsvps.rsvps.counts(m.id) == out.state.counts()


async def test_reconcile_brings_the_database_in_line(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=2), NOW)
    for user, choice in ((1, G), (2, G), (3, G), (4, M)):
        await rsvps.apply(m.id, React(user, choice, 0), NOW)
    # Offline: 1 withdrew, 4 left, 5 said no, 6 said yes.
    out = await rsvps.reconcile(m.id, {G: [2, 3, 6], N: [5]}, NOW)
    assert out.promoted == (3,)
    roster = await RsvpRepository(db).attendees(m.id)
    assert roster.going == (2, 3) and roster.waitlist == (6,) and roster.not_going == (5,)
    assert roster.maybe == ()
    again = await rsvps.reconcile(m.id, {G: [2, 3, 6], N: [5]}, NOW)
    assert not again.changed


async def test_notices_are_claimed_once(db: Database) -> None:
    meetings = MeetingRepository(db)
    m = await meetings.create(1, draft(), NOW)
    assert await NoticeRepository(db).claim_notice("promoted", m.id, 5, NOW)
    assert not await NoticeRepository(db).claim_notice("promoted", m.id, 5, NOW)
    assert await NoticeRepository(db).claim_notice("cancelled", m.id, 5, NOW)
    results = await asyncio.gather(
        *(NoticeRepository(db).claim_notice("x", m.id, 9, NOW) for _ in range(5))
    )
    assert sorted(results) == [False] * 4 + [True]
    assert await NoticeRepository(db).release_notice("promoted", m.id, 5)
    assert await NoticeRepository(db).claim_notice("promoted", m.id, 5, NOW)
    assert not await NoticeRepository(db).claim_notice("promoted", 99999, 5, NOW)  # no such meeting
    guild = await db.fetchval("SELECT guild_id FROM notices WHERE kind = 'cancelled'")
    assert guild == 1


async def test_publishing_steps_are_stored(db: Database) -> None:
    meetings = MeetingRepository(db)
    m = await meetings.create(1, draft(), NOW)
    assert m.publish_state is PublishState.NEW
    assert [x.id for x in await meetings.list_unfinished(NOW)] == [m.id]
    posting = await meetings.set_posting(1, m.id, NOW)
    assert posting.publish_state is PublishState.POSTING and posting.posting_since == NOW
    # done only from posted (unless forced)
    assert (await meetings.set_published(1, m.id, NOW)).publish_state is PublishState.POSTING
    posted = await meetings.set_announcement(1, m.id, 10, 20, NOW)
    assert posted.publish_state is PublishState.POSTED
    assert await meetings.message_ids(1) == {20}
    await meetings.set_scheduled_event(1, m.id, 30, NOW)
    assert await meetings.scheduled_event_ids(1) == {30}
    assert (await meetings.set_published(1, m.id, NOW)).publish_state is PublishState.DONE
    assert await meetings.list_unfinished(NOW) == []
    # an edit Discord shows, or a cancellation, goes back to posted until synced
    edited = await meetings.update(1, m.id, MeetingChanges(title="Nytt navn"), NOW)
    assert edited.meeting.publish_state is PublishState.POSTED
    await meetings.set_published(1, m.id, NOW)
    cancelled = await meetings.cancel(1, m.id, NOW)
    assert cancelled.meeting.publish_state is PublishState.POSTED


async def test_notices_are_owed_with_the_change_that_makes_them(db: Database) -> None:
    """Promotion, edit of time or place and cancellation record who is owed a notice in
    the same transaction; mark_notice_sent makes each one go out once."""
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=1), NOW)
    await rsvps.apply(m.id, React(1, G, 0), NOW)
    await rsvps.apply(m.id, React(2, G, 0), NOW)
    await rsvps.apply(m.id, React(3, Choice.MAYBE, 0), NOW)
    out = await rsvps.apply(m.id, Unreact(1, G), NOW)
    assert out.promoted == (2,)
    assert await NoticeRepository(db).owed_notices(m.id) == [("promoted", 2)]
    assert await NoticeRepository(db).meetings_owing_notices() == [m.id]
    assert await NoticeRepository(db).mark_notice_sent("promoted", m.id, 2, NOW)
    assert not await NoticeRepository(db).mark_notice_sent("promoted", m.id, 2, NOW)
    # a title change tells nobody; a new place tells the people going
    await meetings.update(1, m.id, MeetingChanges(title="Nytt"), NOW)
    assert await NoticeRepository(db).owed_notices(m.id) == []
    moved = await meetings.update(1, m.id, MeetingChanges(place="Biblioteket"), NOW)
    assert await NoticeRepository(db).owed_notices(m.id) == [
        (f"changed:{moved.meeting.ical_sequence}", 2)
    ]
    await NoticeRepository(db).mark_notice_sent(
        f"changed:{moved.meeting.ical_sequence}", m.id, 2, NOW
    )
    await meetings.cancel(1, m.id, NOW)
    assert await NoticeRepository(db).owed_notices(m.id) == [("cancelled", 2), ("cancelled", 3)]
    assert await NoticeRepository(db).meetings_owing_notices() == [m.id]


async def test_promotion_within_one_batch_is_owed(db: Database) -> None:
    """Waitlisted and promoted inside one transaction (a burst): still owed a notice."""
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(capacity=1), NOW)
    await rsvps.apply(m.id, React(1, G, 0), NOW)
    out = await rsvps.apply_many(m.id, [React(2, G, 0), Unreact(1, G)], NOW)
    assert out.promoted == (2,)
    assert await NoticeRepository(db).owed_notices(m.id) == [("promoted", 2)]
    # promoted and gone again in the same burst: nobody to tell
    other = await meetings.create(1, draft(capacity=1), NOW)
    await rsvps.apply(other.id, React(1, G, 0), NOW)
    await rsvps.apply_many(other.id, [React(2, G, 0), Unreact(1, G), Unreact(2, G)], NOW)
    assert await NoticeRepository(db).owed_notices(other.id) == []


async def test_unknown_meeting(db: Database) -> None:
    rsvps = AnswerBook(RsvpRepository(db))
    with pytest.raises(NotFound):
        await rsvps.apply(12345, React(1, G, 0), NOW)
    with pytest.raises(NotFound):
        await rsvps.rsvps.load_state(12345)


async def test_deleting_a_meeting_removes_its_answers(db: Database) -> None:
    meetings, rsvps = MeetingRepository(db), AnswerBook(RsvpRepository(db))
    m = await meetings.create(1, draft(), NOW)
    await rsvps.apply(m.id, React(1, G, 0), NOW)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM meetings WHERE id = ?", (m.id,))
    assert await db.fetchval("SELECT COUNT(*) FROM rsvps") == 0
    with pytest.raises(NotFound):
        await rsvps.apply(m.id, React(2, G, 0), NOW)  # the remembered state is not reused
