"""Series, reminders and the monthly post, end to end through the emulator with a FakeClock.

The clock starts in 2027, so jobs the service schedules (at real wall-clock times) never
fire by themselves during a test: the tests call `tick()` and move the clock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.db import Database
from bot.domain.reminders import CHANNEL_REMINDER, DM_REMINDER, delivery_key, monthly_post_key
from bot.domain.rsvp import EMOJI, Choice
from bot.domain.rule_phrases import describe_rule, parse_rule
from bot.i18n import Catalog
from bot.services.reminders import ReminderService, series_key
from bot.storage.deliveries import DeliveryRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.rsvps import RsvpRepository
from bot.storage.series import SeriesRepository
from tests.e2e.conftest import FAST_START, BotRunner, World, clock
from tests.e2e.test_meetings import announced, configure
from tests.emulator.permissions import MANAGE_GUILD
from tests.texts import says

GOING = EMOJI[Choice.GOING]
START = FAST_START
# A meeting on Thursday 4 March 2027 at 08:30 Oslo (07:30 UTC): its channel reminder is due
# 7 days before at 10:00 local (25 Feb, 09:00 UTC), its DM 1 day before (3 Mar, 09:00 UTC).
CHANNEL_DUE = datetime(2027, 2, 25, 9, 0, tzinfo=UTC)
DM_DUE = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)


def first_thursday() -> str:
    """How an English server's answers name "first Thursday of every month"."""
    rule = parse_rule("first Thursday of every month 08:30-10:00").rule
    return describe_rule(rule, Catalog.load().translator("en"))


def service(runner: BotRunner) -> ReminderService:
    return runner.services.reminders


def ledger(runner: BotRunner) -> DeliveryRepository:
    return DeliveryRepository(runner.database)


def replies_to(world: World, message_id: int) -> list[dict[str, Any]]:
    return [
        m
        for m in world.emu.messages(world.announce.id)
        if (m.get("message_reference") or {}).get("message_id") in (message_id, str(message_id))
    ]


def announcements(world: World) -> list[dict[str, Any]]:
    return [m for m in world.emu.messages(world.announce.id) if m.get("embeds")]


async def meeting_with_answers(runner: BotRunner, world: World, *going: Any) -> Any:
    meeting = await announced(runner, world, place="Rådhuset")
    for person in going:
        await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
    assert runner.bot is not None
    await runner.bot.wait_until_settled()
    return meeting


async def claim_channel_reminder(runner: BotRunner, world: World, meeting: Any) -> str:
    """Claim the meeting's channel reminder (7 days before) in the ledger, as a process
    does just before it sends; returns the delivery's key."""
    key = delivery_key(CHANNEL_REMINDER, meeting.id, "d7")
    claim = await ledger(runner).claim(
        world.guild.id,
        key,
        CHANNEL_REMINDER,
        due_at=CHANNEL_DUE,
        now=clock(runner).now(),
        meeting_id=meeting.id,
        offset_key="d7",
    )
    assert claim is not None
    return key


async def configured_series(world: World, **options: Any) -> Any:
    """The server configured, then `/series create` by the organiser: its result."""
    await configure(world)
    return await world.emu.invoke(
        world.guild.id, world.organiser.id, "series create", options=options
    )


async def reminded_once(runner: BotRunner, world: World, meeting: Any, due: datetime) -> Any:
    """A minute after `due`, two ticks: the one reminder replying to the announcement."""
    clock(runner).set(due + timedelta(minutes=1))
    await service(runner).tick()
    await service(runner).tick()
    (reply,) = replies_to(world, meeting.message_id)
    return reply


# ----- series --------------------------------------------------------------------------


async def test_series_creates_and_announces_the_next_meeting_once(
    fast: BotRunner, world: World
) -> None:
    res = await configured_series(
        world, rule="first Thursday of every month 08:30-10:00", title="Frokost"
    )
    assert res.ephemeral and says("series.created", res.content), res.content
    assert first_thursday() in res.content, res.content
    assert res.content.count("<t:") == 3  # the next three dates
    await service(fast).tick()
    await service(fast).tick()
    await fast.restart()
    await service(fast).tick()
    assert fast.db is not None
    meetings = await MeetingRepository(fast.db).list_upcoming(world.guild.id, START)
    assert len(meetings) == 1 and meetings[0].series_id is not None
    assert meetings[0].starts_at == datetime(2027, 2, 4, 7, 30, tzinfo=UTC)
    assert len(announcements(world)) == 1
    # the next month's meeting comes when its lead time does (21 days before 4 March,
    # 11 Feb 07:30 UTC; here 90 minutes late, within the grace window), once
    clock(fast).set(datetime(2027, 2, 11, 9, 0, tzinfo=UTC))
    await service(fast).tick()
    await service(fast).tick()
    meetings = await MeetingRepository(fast.db).list_upcoming(world.guild.id, START)
    assert [m.starts_at.day for m in meetings] == [4, 4]  # 4 Feb and 4 Mar
    assert len(announcements(world)) == 2


async def test_a_series_meeting_found_later_than_the_grace_window_is_still_announced(
    fast: BotRunner, world: World
) -> None:
    """Reminders and the monthly post are skipped when later than the grace window; the
    meeting of a series is not (it is still ahead): 4 days after its lead time the March
    meeting is created and announced, once, and April comes on time."""
    await configured_series(
        world, rule="first Thursday of every month 08:30-10:00", title="Frokost"
    )
    await service(fast).tick()
    assert len(announcements(world)) == 1  # 4 Feb: the series was just created
    clock(fast).set(datetime(2027, 2, 15, 12, 0, tzinfo=UTC))
    await service(fast).tick()
    await service(fast).tick()
    assert fast.db is not None
    [series] = await SeriesRepository(fast.db).for_guild(world.guild.id)
    row = await ledger(fast).get(world.guild.id, series_key(series.id, date(2027, 3, 4)))
    assert row is not None and row.status == "sent"
    assert len(announcements(world)) == 2
    # April's lead time (1 April 06:30 UTC less 21 days: 11 March 06:30 UTC)
    clock(fast).set(datetime(2027, 3, 11, 7, 31, tzinfo=UTC))
    await service(fast).tick()
    assert len(announcements(world)) == 3


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"rule": "whenever it suits us 08:30-10:00"}, "couldn't read"),
        ({"rule": "first Thursday 10:00-08:30"}, "after the start"),
        ({"rule": "first Thursday 08:30-10:00", "lead_days": 0}, "between 1 and 90"),
        ({"rule": "first Thursday"}, "no time"),
    ],
)
async def test_series_bad_input(
    fast: BotRunner, world: World, options: dict[str, Any], needle: str
) -> None:
    res = await configured_series(world, title="Frokost", **options)
    assert res.ephemeral and needle in res.content, res.content
    assert fast.db is not None
    assert await service(fast).series.for_guild(world.guild.id) == []


async def test_series_fifth_monday_is_said_clearly_and_member_refused(
    fast: BotRunner, world: World
) -> None:
    res = await configured_series(
        world, rule="the fifth Monday of every month 17:00-19:00", title="Kveld"
    )
    assert says("series.notice.some_months_skipped", res.content), res.content
    refused = await world.emu.invoke(world.guild.id, world.members[0].id, "series list", options={})
    assert refused.ephemeral and says("error.not_organiser", refused.content)


# ----- reminders -----------------------------------------------------------------------


async def test_channel_reminder_once_as_reply_and_dms_to_those_going(
    fast: BotRunner, world: World
) -> None:
    a, closed, quiet, _maybe = world.members[:4]
    meeting = await meeting_with_answers(fast, world, a, closed, quiet)
    world.emu.close_dms(closed.id)
    res = await world.emu.invoke(world.guild.id, quiet.id, "reminders off", options={})
    assert res.ephemeral
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "reminders plan",
        options={"ping_role": world.organiser_role.id},
    )
    assert says("reminders.plan.saved", res.content), res.content

    clock(fast).set(CHANNEL_DUE - timedelta(minutes=1))
    await service(fast).tick()
    assert replies_to(world, meeting.message_id) == []
    reply = await reminded_once(fast, world, meeting, CHANNEL_DUE)
    assert f"<t:{int(meeting.starts_at.timestamp())}:F>" in reply["content"]
    assert "going 3" in reply["content"]
    mentions = world.emu.allowed_mentions(int(reply["id"]))
    assert mentions is not None and [int(r) for r in mentions.get("roles", [])] == [
        world.organiser_role.id
    ]

    clock(fast).set(DM_DUE + timedelta(minutes=5))
    await service(fast).tick()
    await service(fast).tick()
    assert len(world.emu.dm_messages(a.id)) == 1
    assert world.emu.dm_messages(quiet.id) == []
    assert world.emu.dm_messages(closed.id) == []
    row = await ledger(fast).get(
        world.guild.id, delivery_key(DM_REMINDER, meeting.id, "d1", closed.id)
    )
    assert row is not None and row.status == "failed" and row.permanent
    assert row.last_error_code == "50007"
    # closed DMs are not retried, even much later
    clock(fast).advance(timedelta(hours=3))
    await service(fast).tick()
    again = await ledger(fast).get(world.guild.id, row.key)
    assert again is not None and again.attempts == 1
    assert len(world.emu.dm_messages(a.id)) == 1


async def test_restart_with_a_pending_reminder_sends_it_once(fast: BotRunner, world: World) -> None:
    meeting = await meeting_with_answers(fast, world)
    await fast.stop()
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=10))
    await fast.start()
    assert len(replies_to(world, meeting.message_id)) == 1
    await fast.restart()
    await service(fast).tick()
    assert len(replies_to(world, meeting.message_id)) == 1


@pytest.mark.parametrize(
    ("down", "posted", "status"),
    [(timedelta(hours=2), 1, "sent"), (timedelta(days=2), 0, "skipped")],
    ids=["two-hours-sends-late-once", "two-days-skips-and-records-it"],
)
async def test_down_past_the_channel_reminder(
    fast: BotRunner, world: World, down: timedelta, posted: int, status: str
) -> None:
    meeting = await meeting_with_answers(fast, world)
    await fast.stop()
    clock(fast).set(CHANNEL_DUE + down)
    await fast.start()
    await service(fast).tick()
    assert len(replies_to(world, meeting.message_id)) == posted
    row = await ledger(fast).get(world.guild.id, delivery_key(CHANNEL_REMINDER, meeting.id, "d7"))
    assert row is not None and row.status == status


async def test_interrupted_claim_is_retried_once_at_start(fast: BotRunner, world: World) -> None:
    meeting = await meeting_with_answers(fast, world)
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=1))
    await claim_channel_reminder(fast, world, meeting)  # "crash" between claim and send
    await fast.restart()
    assert replies_to(world, meeting.message_id) == []  # maybe another instance's live claim
    clock(fast).advance(timedelta(minutes=10))
    await fast.restart()
    await fast.restart()
    assert len(replies_to(world, meeting.message_id)) == 1


async def test_meeting_moved_after_its_reminder_was_claimed(fast: BotRunner, world: World) -> None:
    meeting = await meeting_with_answers(fast, world)
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=1))
    key = await claim_channel_reminder(fast, world, meeting)
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "meeting edit",
        options={"meeting": str(meeting.id), "date": "11.3.2027"},
    )
    assert res.ephemeral and says("meeting.edited", res.content), res.content
    assert fast.bot is not None
    await fast.bot.wait_until_settled()
    assert await ledger(fast).get(world.guild.id, key) is None  # the unsent claim is dropped
    new_due = CHANNEL_DUE + timedelta(days=7)
    job = fast.bot.scheduler.get_job(f"reminder:{key}")
    assert job is not None and job.next_run_time == new_due
    await service(fast).tick()
    assert replies_to(world, meeting.message_id) == []
    reply = await reminded_once(fast, world, meeting, new_due)
    moved = datetime(2027, 3, 11, 7, 30, tzinfo=UTC)
    assert f"<t:{int(moved.timestamp())}:F>" in reply["content"]


async def test_cancelled_meeting_drops_jobs_and_on_ready_again_schedules_nothing_twice(
    fast: BotRunner, world: World
) -> None:
    meeting = await meeting_with_answers(fast, world)
    assert fast.bot is not None
    before = service(fast).job_ids()
    assert f"reminder:{delivery_key(CHANNEL_REMINDER, meeting.id, 'd7')}" in before
    await service(fast).start()  # what a second on_ready does
    await service(fast).start()
    assert service(fast).job_ids() == before
    await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting cancel", options={"meeting": str(meeting.id)}
    )
    await fast.bot.wait_until_settled()
    assert not [j for j in service(fast).job_ids() if f":{meeting.id}:" in j]
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=1))
    await service(fast).tick()
    assert replies_to(world, meeting.message_id) == []


async def test_a_change_in_one_server_resyncs_only_that_server(
    fast: BotRunner, world: World
) -> None:
    """A meeting changed in one server re-derives that server's jobs only (at 300 servers a
    full sync per change took minutes); the other server's jobs stay as they were."""
    meeting = await meeting_with_answers(fast, world)
    emu = world.emu
    other = emu.add_guild("Bergen")
    channel = emu.add_channel(other.id, "moter")
    admin = emu.add_member(other.id, "admin", permissions=MANAGE_GUILD)
    await emu.invoke(
        other.id, admin.id, "setup configure", {"announce_channel": channel.id, "language": "en"}
    )
    made = await emu.invoke(
        other.id,
        admin.id,
        "meeting create",
        options={"title": "Bergen", "date": "4.3.2027", "start": "08:30", "end": "10:00"},
    )
    assert made.ephemeral, made.content
    assert fast.bot is not None and fast.db is not None
    await fast.bot.wait_until_settled()
    (bergen,) = await MeetingRepository(fast.db).list_upcoming(other.id, START)
    theirs = {j for j in service(fast).job_ids() if f":{bergen.id}:" in j}
    assert theirs
    jobs = {j: fast.bot.scheduler.get_job(j) for j in theirs}
    await emu.invoke(
        world.guild.id, world.organiser.id, "meeting cancel", options={"meeting": str(meeting.id)}
    )
    await fast.bot.wait_until_settled()
    assert not [j for j in service(fast).job_ids() if f":{meeting.id}:" in j]
    # Bergen's jobs are the same job objects: not removed, not scheduled again.
    assert all(fast.bot.scheduler.get_job(j) is job for j, job in jobs.items())
    assert await service(fast).sync() == len(service(fast).job_ids())


async def test_monthly_post_once_a_month(fast: BotRunner, world: World) -> None:
    await meeting_with_answers(fast, world, world.members[0])
    clock(fast).set(datetime(2027, 3, 1, 8, 5, tzinfo=UTC))  # 09:05 in Oslo on the 1st
    await service(fast).tick()
    await fast.restart()
    await service(fast).tick()
    posts = [
        m
        for m in world.emu.messages(world.announce.id)
        if says("reminders.monthly.title", m["content"] or "")
    ]
    assert len(posts) == 1
    assert says("reminders.monthly.meeting", posts[0]["content"], title="Inkluderingsdagen")
    assert says("meeting.embed.counts", posts[0]["content"], going=1), posts[0]["content"]
    assert "introductions last month: 0" in posts[0]["content"]


def monthly_posts(world: World, catalog: Any) -> list[dict[str, Any]]:
    title = catalog.text("en", "reminders.monthly.title")
    return [m for m in world.emu.messages(world.announce.id) if title in (m["content"] or "")]


async def test_a_server_set_up_after_the_monthly_time_starts_next_month(
    fast: BotRunner, world: World
) -> None:
    """Set up on the 1st at 20:00 in Oslo, eleven hours after the 09:00 post time: no
    "this month" minutes later; the first monthly post is the next month's, on time."""
    clock(fast).set(datetime(2027, 2, 1, 19, 0, tzinfo=UTC))
    await configure(world)
    await service(fast).tick()
    await fast.restart()
    await service(fast).tick()
    assert monthly_posts(world, fast.catalog) == []
    assert await ledger(fast).last_monthly_post(world.guild.id) is None
    clock(fast).set(datetime(2027, 3, 1, 8, 1, tzinfo=UTC))
    await service(fast).tick()
    assert len(monthly_posts(world, fast.catalog)) == 1
    assert await ledger(fast).last_monthly_post(world.guild.id) == (2027, 3)


async def test_a_monthly_post_later_than_the_grace_window_is_skipped_and_logged(
    fast: BotRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await configure(world)  # set up at 09:00 on 1 February: February's post is due
    clock(fast).set(datetime(2027, 2, 1, 13, 59, tzinfo=UTC))  # 5 h 59 min late: sent
    await service(fast).tick()
    assert len(monthly_posts(world, fast.catalog)) == 1
    # The bot was down over 1 March 09:00 and comes back at 20:00, eleven hours late.
    clock(fast).set(datetime(2027, 3, 1, 19, 0, tzinfo=UTC))
    with caplog.at_level(logging.WARNING, logger="bot.services.reminders"):
        await service(fast).tick()
        await service(fast).tick()
    assert len(monthly_posts(world, fast.catalog)) == 1
    row = await ledger(fast).get(world.guild.id, monthly_post_key(world.guild.id, 2027, 3))
    assert row is not None and row.status == "skipped"
    skipped = [r for r in caplog.records if "monthly post 2027-03" in r.getMessage()]
    assert len(skipped) == 1


async def test_dm_server_error_is_retried_with_backoff(fast: BotRunner, world: World) -> None:
    a = world.members[0]
    meeting = await meeting_with_answers(fast, world, a)
    world.emu.inject("POST", "/channels/{channel_id}/messages", status=503, times=1)
    clock(fast).set(DM_DUE + timedelta(minutes=1))
    await service(fast).tick()
    key = delivery_key(DM_REMINDER, meeting.id, "d1", a.id)
    row = await ledger(fast).get(world.guild.id, key)
    assert row is not None and row.status == "failed" and not row.permanent
    assert world.emu.dm_messages(a.id) == []
    await service(fast).tick()  # before the backoff: nothing
    assert world.emu.dm_messages(a.id) == []
    clock(fast).advance(timedelta(minutes=2))
    await service(fast).tick()
    await service(fast).tick()
    assert len(world.emu.dm_messages(a.id)) == 1
    row = await ledger(fast).get(world.guild.id, key)
    assert row is not None and row.status == "sent" and row.attempts == 2


async def test_series_resumes_an_interrupted_creation_once(fast: BotRunner, world: World) -> None:
    await configured_series(world, rule="siste tirsdag i måneden kl 17-19", title="Kveld")
    series = (await service(fast).series.for_guild(world.guild.id))[0]
    # a crash right after claiming the creation of the 23 February meeting
    await ledger(fast).claim(
        world.guild.id,
        f"series:{series.id}:2027-02-23",
        "series_meeting",
        due_at=START,
        now=START,
        offset_key="2027-02-23",
    )
    await service(fast).tick()
    assert fast.db is not None
    assert await MeetingRepository(fast.db).list_upcoming(world.guild.id, START) == []
    clock(fast).advance(timedelta(minutes=10))
    await fast.restart()
    meetings = await MeetingRepository(fast.db).list_upcoming(world.guild.id, START)
    assert len(meetings) == 1 and meetings[0].starts_at == datetime(2027, 2, 23, 16, 0, tzinfo=UTC)
    assert len(announcements(world)) == 1
    await fast.restart()
    assert len(await MeetingRepository(fast.db).list_upcoming(world.guild.id, START)) == 1


async def test_two_schedulers_racing_on_one_database_post_once(
    fast: BotRunner, world: World
) -> None:
    meeting = await meeting_with_answers(fast, world, world.members[0])
    assert fast.bot is not None and fast.db is not None
    other_db = await Database.open(fast.db_path)
    try:
        services = fast.bot.services
        twin = ReminderService(fast.bot, services.meetings, services.rhythm)  # its own locks, DB
        twin.deliveries = DeliveryRepository(other_db)
        twin.meetings = MeetingRepository(other_db)
        twin.rsvps = RsvpRepository(other_db)
        clock(fast).set(CHANNEL_DUE + timedelta(minutes=1))
        await asyncio.gather(service(fast).tick(), twin.tick(), twin.tick())
        clock(fast).set(DM_DUE + timedelta(minutes=1))
        await asyncio.gather(service(fast).tick(), twin.tick(), service(fast).tick())
    finally:
        await other_db.close()
    assert len(replies_to(world, meeting.message_id)) == 1
    assert len(world.emu.dm_messages(world.members[0].id)) == 1


async def test_reminder_for_a_deleted_announcement_is_still_posted(
    fast: BotRunner, world: World
) -> None:
    meeting = await meeting_with_answers(fast, world)
    world.emu.delete_message(world.announce.id, meeting.message_id)
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=1))
    await service(fast).tick()
    posted = [
        m for m in world.emu.messages(world.announce.id) if "Reminder" in (m["content"] or "")
    ]
    assert len(posted) == 1


async def test_series_list_skip_edit_and_stop(fast: BotRunner, world: World) -> None:
    await configure(world)

    async def series(sub: str, **options: Any) -> Any:
        return await world.emu.invoke(
            world.guild.id, world.organiser.id, f"series {sub}", options=options
        )

    await series("create", rule="første torsdag i måneden 08:30-10:00", title="Frokost")
    choices = await world.emu.autocomplete(
        world.guild.id, world.organiser.id, "series skip", focused="series", value="frok"
    )
    assert len(choices) == 1
    series_id = choices[0]["value"]
    res = await series("skip", series=series_id, date="5.2.2027")
    assert says("series.error.not_a_date", res.content), res.content  # 5 February is a Friday
    res = await series("skip", series=series_id, date="4.2.2027")
    assert res.ephemeral and says("series.skipped", res.content), res.content
    await service(fast).tick()
    assert fast.db is not None
    assert await MeetingRepository(fast.db).list_upcoming(world.guild.id, START) == []
    res = await series("edit", series=series_id, title="Morgenmøte", lead_days=35)
    assert says("series.edited", res.content) and "Morgenmøte" in res.content, res.content
    listed = await series("list")
    assert "Morgenmøte" in listed.content and first_thursday() in listed.content
    res = await series("stop", series=series_id)
    assert res.ephemeral and says("series.stopped_ok", res.content, title="Morgenmøte")
    await service(fast).tick()
    assert await MeetingRepository(fast.db).list_upcoming(world.guild.id, START) == []
    assert says("series.list.empty", (await series("list")).content)


async def test_hour_before_reminder_and_a_later_local_time(fast: BotRunner, world: World) -> None:
    """`/reminders plan time:12:00 hour_before:true`: the reminder moves to 12:00 local, and
    one more channel reminder comes an hour before the start, each once."""
    meeting = await meeting_with_answers(fast, world, world.members[0])
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "reminders plan",
        options={"time": "12:00", "hour_before": True},
    )
    assert says("reminders.plan.saved", res.content), res.content
    # 10:00 local on 25 Feb has nothing any more; 12:00 local (11:00 UTC) has the reminder.
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=5))
    await service(fast).tick()
    assert replies_to(world, meeting.message_id) == []
    clock(fast).set(CHANNEL_DUE + timedelta(hours=2, minutes=5))
    await service(fast).tick()
    assert len(replies_to(world, meeting.message_id)) == 1
    # The hour before the start (07:30 UTC on 4 March): one more, once across a restart.
    clock(fast).set(meeting.starts_at - timedelta(minutes=59))
    await service(fast).tick()
    await fast.restart()
    await service(fast).tick()
    replies = replies_to(world, meeting.message_id)
    assert len(replies) == 2
    assert f"<t:{int(meeting.starts_at.timestamp())}:R>" in replies[-1]["content"]


async def test_monthly_post_has_the_last_match_round(fast: BotRunner, world: World) -> None:
    from bot.storage.matches import GroupRecord, MatchRepository

    await meeting_with_answers(fast, world, world.members[0])
    assert fast.db is not None
    a, b, c, d = (m.id for m in world.members[:4])
    await MatchRepository(fast.db).save_round(
        world.guild.id,
        kind="pairs",
        seed=1,
        groups=[
            GroupRecord(((a, "business"), (b, "public_sector")), 10, False),
            GroupRecord(((c, "civil_society"), (d, "civil_society")), 2, True),
        ],
        now=datetime(2027, 2, 10, 12, 0, tzinfo=UTC),
    )
    clock(fast).set(datetime(2027, 3, 1, 8, 5, tzinfo=UTC))
    await service(fast).tick()
    expected = fast.catalog.text(
        "en", "reminders.monthly.match_round", people=4, groups=2, cross_sector=1
    )
    posts = [m for m in world.emu.messages(world.announce.id) if expected in (m["content"] or "")]
    assert len(posts) == 1
