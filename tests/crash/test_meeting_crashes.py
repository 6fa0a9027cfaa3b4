"""Crash between every step of the meeting operations; the restarted bot completes them once.

Each test runs one operation several times, each time killing the bot process (SIGKILL, by
an emulator kill point) at the next step, starting it again and checking the end state:
the announcement exists once with its ✅ 🤔 ❌, the scheduled event exists once, every
person is told once, and the database, the embed and the event agree. One process start
per crash point (the restart is the next point's process), see tests/crash/harness.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.dates import format_range_local
from bot.domain.rsvp import EMOJI, Choice, Counts
from bot.i18n import Catalog
from bot.services.meetings import counts_line
from tests.crash.harness import BotProcess
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure
from tests.emulator.models import RequestRecord

GOING = EMOJI[Choice.GOING]
MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
REACTION = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
EVENTS = "/guilds/{guild_id}/scheduled-events"
EVENT = "/guilds/{guild_id}/scheduled-events/{event_id}"
FOLLOWUP = "/webhooks/{app_id}/{token}"


@dataclass(frozen=True)
class Step:
    """Kill the bot at the `nth` `method route` request (after it took effect, or before)."""

    name: str
    method: str
    route: str
    after: bool = True
    nth: int = 1
    where: Callable[[World, RequestRecord], bool] | None = None


def announcement_post(world: World, record: RequestRecord) -> bool:
    return bool((record.json or {}).get("embeds"))


def dm_post(world: World, record: RequestRecord) -> bool:
    return int(record.path.split("/")[2]) in world.emu.dm_channels.values()


def kill(process: BotProcess, world: World, step: Step) -> Any:
    where = step.where
    return process.kill_on(
        step.method,
        step.route,
        after=step.after,
        nth=step.nth,
        where=None if where is None else (lambda r: where(world, r)),
    )


# ----- reading the end state ----------------------------------------------------------


def rows(process: BotProcess, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with sqlite3.connect(f"file:{process.db_path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))


@dataclass(frozen=True)
class Stored:
    """What the database says about a meeting (read directly, as an operator would)."""

    id: int
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    cancelled: bool
    cancel_reason: str | None
    message_id: int | None
    scheduled_event_id: int | None
    announcement_missing: bool
    ical_sequence: int
    series_id: int | None
    publish_state: str


def stored(row: sqlite3.Row) -> Stored:
    return Stored(
        id=row["id"],
        title=row["title"],
        place=row["place"],
        starts_at=datetime.fromisoformat(row["starts_at"]),
        ends_at=datetime.fromisoformat(row["ends_at"]),
        timezone=row["timezone"],
        cancelled=row["status"] == "cancelled",
        cancel_reason=row["cancel_reason"],
        message_id=row["message_id"],
        scheduled_event_id=row["scheduled_event_id"],
        announcement_missing=bool(row["announcement_missing"]),
        ical_sequence=row["ical_sequence"],
        series_id=row["series_id"],
        publish_state=row["publish_state"] if "publish_state" in row.keys() else "done",  # noqa: SIM118
    )


def meeting_titled(process: BotProcess, title: str) -> Stored:
    found = rows(process, "SELECT * FROM meetings WHERE title = ?", (title,))
    assert len(found) == 1, f"{len(found)} meetings titled {title!r}"
    return stored(found[0])


def meeting_by_id(process: BotProcess, meeting_id: int) -> Stored:
    return stored(rows(process, "SELECT * FROM meetings WHERE id = ?", (meeting_id,))[0])


def counts(process: BotProcess, meeting_id: int) -> Counts:
    by_status = {
        r[0]: r[1]
        for r in rows(
            process,
            "SELECT status, COUNT(*) FROM rsvps WHERE meeting_id = ? GROUP BY status",
            (meeting_id,),
        )
    }
    return Counts(
        going=by_status.get("going", 0),
        maybe=by_status.get("maybe", 0),
        not_going=by_status.get("not_going", 0),
        waitlist=by_status.get("waitlist", 0),
    )


def check_published(process: BotProcess, world: World, catalog: Catalog, title: str) -> Any:
    return check_meeting(process, world, catalog, meeting_titled(process, title).id)


def check_meeting(process: BotProcess, world: World, catalog: Catalog, meeting_id: int) -> Any:
    """The meeting is announced once, with its reactions and one event, all agreeing."""
    meeting = meeting_by_id(process, meeting_id)
    assert meeting.publish_state == "done"
    start = f"<t:{int(meeting.starts_at.timestamp())}:F>"
    emu = world.emu
    posted = [
        m
        for m in emu.messages(world.announce.id)
        if m["embeds"] and any(start in f["value"] for f in m["embeds"][0]["fields"])
    ]
    assert [int(m["id"]) for m in posted] == [meeting.message_id], "announced once, stored"
    message = posted[0]
    if not meeting.cancelled:
        mine = {r["emoji"]["name"] for r in message.get("reactions", []) if r["me"]}
        assert mine == {EMOJI[Choice.GOING], EMOJI[Choice.MAYBE], EMOJI[Choice.NOT_GOING]}
    _ = catalog.translator("en")
    fields = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
    assert fields[_("meeting.embed.answers")] == counts_line(_, counts(process, meeting.id))
    if meeting.place:
        assert fields[_("meeting.embed.where")] == meeting.place
    events = [
        e
        for e in emu.scheduled_events(world.guild.id)
        if e["name"] == meeting.title
        and datetime.fromisoformat(e["scheduled_start_time"]) == meeting.starts_at
    ]
    assert [int(e["id"]) for e in events] == [meeting.scheduled_event_id], "one event, stored"
    event = events[0]
    assert event["status"] == (4 if meeting.cancelled else 1)
    if not meeting.cancelled:
        assert event["entity_metadata"]["location"] == (
            meeting.place or _("meeting.embed.no_place")
        )
    return meeting


def check_told_once(
    process: BotProcess, world: World, catalog: Catalog, meeting: Any, kind: str, people: Any
) -> None:
    """Each person got this notice exactly once, and nothing is left owed."""
    _ = catalog.translator("en")
    when = format_range_local(meeting.starts_at, meeting.ends_at, meeting.timezone, "en")
    if kind == "cancelled":
        text = _("meeting.dm.cancelled", title=meeting.title)
        if meeting.cancel_reason:
            text += "\n" + _("meeting.embed.cancel_reason", reason=meeting.cancel_reason)
    elif kind == "promoted":
        text = _("meeting.dm.promoted", title=meeting.title, when=when)
    else:
        text = _("meeting.dm.changed", title=meeting.title, when=when, place=meeting.place)
    for person in people:
        got = [m for m in world.emu.dm_messages(person.id) if m["content"] == text]
        assert len(got) == 1, f"{kind}: {len(got)} DMs for one person"
    if any(c["name"] == "sent_at" for c in rows(process, "PRAGMA table_info(notices)")):
        assert rows(process, "SELECT COUNT(*) FROM notices WHERE sent_at IS NULL")[0][0] == 0


async def crash_then_start(process: BotProcess, world: World, step: Step, work: Any) -> None:
    """Run `work` until the process is killed at `step`, then start it again."""
    await process.crash_during(kill(process, world, step), work)
    await process.start()


async def start_configured(process: BotProcess, world: World) -> None:
    await process.start()
    await configure(world)


def create_options(title: str, day: int, **extra: Any) -> dict[str, Any]:
    return {"title": title, "date": f"{day}.3.2027", "start": "08:30", "end": "10:00", **extra}


# ----- announce: /meeting create ------------------------------------------------------

ANNOUNCE_STEPS = [
    Step("before the post", "POST", MESSAGES, after=False, where=announcement_post),
    Step("after the post", "POST", MESSAGES, where=announcement_post),
    Step("after the first reaction", "PUT", REACTION),
    Step("after the third reaction", "PUT", REACTION, nth=3),
    Step("after the event", "POST", EVENTS),
]

AFTER_THE_POST = ANNOUNCE_STEPS[1]


async def killed_after_the_post(process: BotProcess, world: World, title: str, day: int) -> None:
    """`/meeting create`, the process killed right after the announcement was posted."""
    invoke = world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting create", create_options(title, day)
    )
    await process.crash_during(kill(process, world, AFTER_THE_POST), invoke)


async def test_meeting_create_crash_at_every_step(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    await start_configured(process, world)
    for n, step in enumerate(ANNOUNCE_STEPS):
        title = f"Create {n}"
        invoke = world.emu.invoke(
            world.guild.id, world.organiser.id, "meeting create", create_options(title, n + 1)
        )
        await crash_then_start(process, world, step, invoke)
        check_published(process, world, catalog, title)
    assert process.kills == len(ANNOUNCE_STEPS)
    assert not process.errors(), process.log_tail()


async def test_announcement_left_without_reactions_gets_them_at_start(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    """The named bug: restarted right after the post, the announcement stayed bare."""
    await start_configured(process, world)
    await killed_after_the_post(process, world, "Bare", 2)
    message = next(m for m in world.emu.messages(world.announce.id) if m["embeds"])
    assert not message.get("reactions")
    await process.start()
    meeting = check_published(process, world, catalog, "Bare")
    # A second start changes nothing: no reaction, post or event twice.
    before = len(world.emu.requests)
    await process.restart()
    assert check_published(process, world, catalog, "Bare") == meeting
    again = world.emu.requests[before:]
    assert not [r for r in again if r.method in ("POST", "PUT") and r.route in (REACTION, EVENTS)]


async def test_crash_again_while_completing_after_a_crash(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    """A second crash in the middle of the start-up completion: the third start finishes."""
    await start_configured(process, world)
    await killed_after_the_post(process, world, "Twice", 3)
    again = kill(process, world, Step("after a reaction", "PUT", REACTION, nth=2))
    await process.crash_during(again, process.start())
    await process.start()
    check_published(process, world, catalog, "Twice")
    assert process.kills == 2
    assert not process.errors(), process.log_tail()


# ----- series: /series create and the automatic creation of the next meeting ----------

SERIES_STEPS = [
    Step("before the post", "POST", MESSAGES, after=False, where=announcement_post),
    Step("after the post", "POST", MESSAGES, where=announcement_post),
    Step("after the second reaction", "PUT", REACTION, nth=2),
    Step("after the event", "POST", EVENTS),
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


async def test_series_create_crash_at_every_step(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    await start_configured(process, world)
    for n, step in enumerate(SERIES_STEPS):
        title = f"Series {n}"
        options = {
            "rule": f"first {WEEKDAYS[n]} of every month 18:00-20:00",
            "title": title,
            "lead_days": 35,  # at least one meeting is due at once, whatever today is
        }
        invoke = world.emu.invoke(world.guild.id, world.admin.id, "series create", options)
        await crash_then_start(process, world, step, invoke)
        # One series; each of its meetings (one or two fall within the lead days) once.
        series = rows(process, "SELECT id FROM series WHERE title_template = ?", (title,))
        assert len(series) == 1
        found = rows(
            process, "SELECT id, starts_at FROM meetings WHERE series_id = ?", (series[0][0],)
        )
        assert found and len({start for _id, start in found}) == len(found)
        for meeting_id, _start in found:
            check_meeting(process, world, catalog, meeting_id)
    assert not process.errors(), process.log_tail()


async def test_series_next_meeting_created_at_start_crash_at_every_step(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    """The series creates its next meeting by itself (the start-up tick, on a clock moved to
    the day it is due); the bot dies at each step of announcing it and finishes it at start."""
    first_monday = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Oslo
    process.env["CLOCK_START"] = first_monday.isoformat()
    await start_configured(process, world)
    options = {"rule": "first Monday of every month 18:00-20:00", "title": "Next", "lead_days": 7}
    await world.emu.invoke(world.guild.id, world.admin.id, "series create", options)
    # APScheduler fires on real time, so with a moved clock only the start-up tick runs
    # (a minute on: every run's clock starts at CLOCK_START, and time does not go back).
    process.env["CLOCK_START"] = (first_monday + timedelta(minutes=1)).isoformat()
    await process.restart()
    assert len(rows(process, "SELECT id FROM meetings")) == 1
    steps = [SERIES_STEPS[1], SERIES_STEPS[3]]  # after the post, after the event
    # The next first Monday (1 March, 5 April) is due 7 days ahead: start on the day after.
    days = [datetime(2027, 2, 23, 8, 0, tzinfo=UTC), datetime(2027, 3, 30, 8, 0, tzinfo=UTC)]
    for n, (step, due) in enumerate(zip(steps, days, strict=True)):
        await process.stop()
        process.env["CLOCK_START"] = due.isoformat()
        await crash_then_start(process, world, step, process.start())
        found = rows(process, "SELECT id, starts_at FROM meetings ORDER BY starts_at")
        assert len(found) == n + 2 and len({r[1] for r in found}) == len(found)
        check_meeting(process, world, catalog, found[-1][0])
    assert not process.errors(), process.log_tail()


# ----- /meeting edit and /meeting cancel: embed, notices, event ---------------------


async def two_going(
    process: BotProcess, world: World, catalog: Catalog, title: str, day: int
) -> Any:
    """A meeting two people are going to, its embed showing it (no edit pending)."""
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "meeting create",
        create_options(title, day, place="Rådhuset"),
    )
    assert res.ephemeral
    meeting = meeting_titled(process, title)
    people = world.members[:2]
    for person in people:
        await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
    _ = catalog.translator("en")
    shown = counts_line(_, Counts(going=2, maybe=0, not_going=0, waitlist=0))
    await world.emu.wait_until(
        lambda: any(
            f["value"] == shown
            for f in world.emu.message(world.announce.id, meeting.message_id)["embeds"][0]["fields"]
        )
    )
    return meeting, people


CHANGE_STEPS = [
    Step("after the embed edit", "PATCH", MESSAGE),
    Step("before the first DM", "POST", MESSAGES, after=False, where=dm_post),
    Step("after the first DM", "POST", MESSAGES, where=dm_post),
    Step("after the second DM", "POST", MESSAGES, nth=2, where=dm_post),
    Step("after the event update", "PATCH", EVENT),
]


@pytest.mark.parametrize("operation", ["edit", "cancel"])
async def test_meeting_edit_and_cancel_crash_at_every_step(
    process: BotProcess, world: World, catalog: Catalog, operation: str
) -> None:
    await start_configured(process, world)
    for n, step in enumerate(CHANGE_STEPS):
        title = f"{operation} {n}"
        meeting, people = await two_going(process, world, catalog, title, n + 1)
        if operation == "edit":
            options = {"meeting": str(meeting.id), "place": f"Biblioteket {n}"}
            kind = f"changed:{meeting.ical_sequence + 1}"
        else:
            options = {"meeting": str(meeting.id), "reason": "Snow"}
            kind = "cancelled"
        invoke = world.emu.invoke(
            world.guild.id, world.organiser.id, f"meeting {operation}", options
        )
        await crash_then_start(process, world, step, invoke)
        after = check_published(process, world, catalog, title)
        assert after.cancelled == (operation == "cancel")
        check_told_once(process, world, catalog, after, kind, people)
    assert not process.errors(), process.log_tail()


# ----- /meeting repost ----------------------------------------------------------------

REPOST_STEPS = ANNOUNCE_STEPS[:3]  # before and after the post, after the first reaction


async def test_meeting_repost_crash_at_every_step(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    await start_configured(process, world)
    for n, step in enumerate(REPOST_STEPS):
        title = f"Repost {n}"
        meeting, _people = await two_going(process, world, catalog, title, n + 1)
        world.emu.delete_message(world.announce.id, meeting.message_id)
        await world.emu.wait_until(
            lambda title=title: meeting_titled(process, title).announcement_missing
        )
        invoke = world.emu.invoke(
            world.guild.id, world.organiser.id, "meeting repost", {"meeting": str(meeting.id)}
        )
        await crash_then_start(process, world, step, invoke)
        after = check_published(process, world, catalog, title)
        assert not after.announcement_missing and after.message_id != meeting.message_id
    assert not process.errors(), process.log_tail()


# ----- waitlist promotion and its DM --------------------------------------------------

PROMOTION_STEPS = [
    Step("before the DM", "POST", MESSAGES, after=False, where=dm_post),
    Step("after the DM", "POST", MESSAGES, where=dm_post),
]


async def test_promotion_crash_before_and_after_the_dm(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    await start_configured(process, world)
    for n, step in enumerate(PROMOTION_STEPS):
        title = f"Promotion {n}"
        await world.emu.invoke(
            world.guild.id,
            world.organiser.id,
            "meeting create",
            create_options(title, n + 1, capacity=1),
        )
        meeting = meeting_titled(process, title)
        first, second = world.members[2 * n], world.members[2 * n + 1]
        await world.emu.react(world.announce.id, meeting.message_id, first.id, GOING)
        await world.emu.wait_until(lambda m=meeting.id: counts(process, m).going == 1)
        await world.emu.react(world.announce.id, meeting.message_id, second.id, GOING)
        await world.emu.wait_until(lambda m=meeting.id: counts(process, m).waitlist == 1)
        point = kill(process, world, step)
        await process.crash_during(
            point, world.emu.unreact(world.announce.id, meeting.message_id, first.id, GOING)
        )
        await process.start()
        after = check_published(process, world, catalog, title)
        assert counts(process, after.id) == Counts(going=1, maybe=0, not_going=0, waitlist=0)
        check_told_once(process, world, catalog, after, "promoted", [second])
    assert not process.errors(), process.log_tail()


def test_steps_are_distinct() -> None:
    for steps in (ANNOUNCE_STEPS, SERIES_STEPS, CHANGE_STEPS, REPOST_STEPS, PROMOTION_STEPS):
        assert len({s.name for s in steps}) == len(steps)


# ----- /meeting checkin ---------------------------------------------------------------

ORIGINAL = "/webhooks/{app_id}/{token}/messages/{message_id}"


def checkin_parts(result: Any) -> tuple[Any, list[Any]]:
    message = result.followups[-1] if result.followups else result.message
    return message, [c for row in message["components"] for c in row["components"]]


async def test_checkin_crash_before_the_list_and_before_the_answer(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    """Each choice is saved before the answer is shown: a crash there keeps it; the check-in
    message of the dead process stops working, /meeting checkin again shows what was saved."""
    await start_configured(process, world)
    meeting, _people = await two_going(process, world, catalog, "Checkin", 1)
    going = world.members[:2]
    checkin = world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting checkin", {"meeting": str(meeting.id)}
    )
    point = kill(process, world, Step("before the list", "POST", FOLLOWUP, after=False))
    await process.crash_during(point, checkin)
    await process.start()
    assert rows(process, "SELECT COUNT(*) FROM checkins")[0][0] == 0

    result = await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting checkin", {"meeting": str(meeting.id)}
    )
    message, _parts = checkin_parts(result)
    # The select is acknowledged first (the 3 s deadline), saved, then the message edited:
    # the crash comes before the edit, after the save.
    point = process.kill_on("PATCH", ORIGINAL, after=False)
    choose = world.emu.select(
        message["channel_id"],
        message["id"],
        world.organiser.id,
        "checkin:going:1",
        [str(going[0].id)],
    )
    await process.crash_during(point, choose)
    await process.start()
    saved = rows(process, "SELECT user_id FROM checkins WHERE meeting_id = ?", (meeting.id,))
    assert [r[0] for r in saved] == [going[0].id]

    again = await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting checkin", {"meeting": str(meeting.id)}
    )
    _ = catalog.translator("en")
    message, parts = checkin_parts(again)
    assert _("meeting.checkin.count", count=1) in message["content"]
    select = next(c for c in parts if c["custom_id"] == "checkin:going:1")
    assert {o["value"] for o in select["options"] if o.get("default")} == {str(going[0].id)}
    both = [str(p.id) for p in going]
    answer = await world.emu.select(
        message["channel_id"], message["id"], world.organiser.id, "checkin:going:1", both
    )
    assert answer.error is None
    saved = rows(process, "SELECT user_id FROM checkins WHERE meeting_id = ?", (meeting.id,))
    assert sorted(r[0] for r in saved) == sorted(p.id for p in going)
    assert not process.errors(), process.log_tail()
