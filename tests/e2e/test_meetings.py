"""Meetings and RSVP by reaction, end to end through the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.domain.rsvp import EMOJI, Choice
from bot.i18n import Catalog
from bot.storage.meetings import MeetingRepository
from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World, eventually
from tests.texts import says

GOING, MAYBE, NO = EMOJI[Choice.GOING], EMOJI[Choice.MAYBE], EMOJI[Choice.NOT_GOING]


async def setup_configure(
    world: World, language: str = "en", channel_id: int | None = None, **options: Any
) -> Any:
    """`/setup configure` by the admin: the world's two channels and organiser role, the
    language and any more `options`; its result."""
    return await world.emu.invoke(
        world.guild.id,
        world.admin.id,
        "setup configure",
        options={
            "announce_channel": world.announce.id,
            "intro_channel": world.intro.id,
            "organiser_role": world.organiser_role.id,
            "language": language,
            **options,
        },
        channel_id=channel_id,
    )


async def configure(world: World, language: str = "en") -> None:
    res = await setup_configure(world, language)
    assert says("setup.saved", res.content, lang=language), res.content


async def create(world: World, **options: Any) -> Any:
    base = {"title": "Inkluderingsdagen", "date": "4.3.2027", "start": "08:30", "end": "10:00"}
    base.update(options)
    return await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting create", options=base
    )


async def only_meeting(runner: BotRunner, world: World) -> Any:
    assert runner.db is not None
    meetings = await MeetingRepository(runner.db).list_upcoming(world.guild.id, runner.clock.now())
    assert len(meetings) == 1
    return meetings[0]


async def announced(runner: BotRunner, world: World, **options: Any) -> Any:
    """The server configured and one meeting announced (`create` with these options)."""
    await configure(world)
    await create(world, **options)
    return await only_meeting(runner, world)


async def settle(runner: BotRunner) -> None:
    assert runner.bot is not None
    await runner.bot.wait_until_settled()


async def wait_for_count(repo: RsvpRepository, meeting_id: int, **expected: int) -> None:
    for _ in range(200):
        counts = await repo.counts(meeting_id)
        if all(getattr(counts, k) == v for k, v in expected.items()):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"counts never reached {expected}: {counts}")


def announcement(world: World, meeting: Any) -> dict[str, Any]:
    return world.emu.message(world.announce.id, meeting.message_id)


def answers_field(message: dict[str, Any]) -> str:
    embed = message["embeds"][0]
    return next(f["value"] for f in embed["fields"] if says("meeting.embed.answers", f["name"]))


async def test_create_announces_with_reactions_and_event(runner: BotRunner, world: World) -> None:
    await configure(world)
    res = await create(world, place="Rådhuset @everyone", capacity=30)
    assert res.ephemeral and says("meeting.created", res.content)
    meeting = await only_meeting(runner, world)
    message = announcement(world, meeting)
    embed = message["embeds"][0]
    assert embed["title"] == "Inkluderingsdagen"
    when = next(f["value"] for f in embed["fields"] if f["name"] == "When")
    assert f"<t:{int(meeting.starts_at.timestamp())}:F>" in when
    assert ":R>" in when
    assert set(world.emu.reactions(world.announce.id, meeting.message_id)) == {GOING, MAYBE, NO}
    # user text never pings: the announcement went out with no mentions allowed
    assert world.emu.allowed_mentions(meeting.message_id) in (
        {"parse": []},
        {"parse": [], "replied_user": False},
    )
    assert message.get("mention_everyone") is False
    events = world.emu.scheduled_events(world.guild.id)
    assert len(events) == 1 and events[0]["entity_metadata"]["location"].startswith("Rådhuset")


async def test_fifty_members_react_and_embed_agrees(runner: BotRunner, world: World) -> None:
    meeting = await announced(runner, world)
    people = [world.emu.add_member(world.guild.id, f"p{n}") for n in range(50)]
    for n, person in enumerate(people):
        emoji = (GOING, MAYBE, NO)[n % 3]
        await world.emu.react(world.announce.id, meeting.message_id, person.id, emoji)
    assert runner.db is not None
    repo = RsvpRepository(runner.db)

    async def counted() -> bool:
        c = await repo.counts(meeting.id)
        return (c.going, c.maybe, c.not_going) == (17, 17, 16)

    await eventually(counted, True, tries=100, pause=0.05)
    await settle(runner)
    assert says(
        "meeting.embed.counts", answers_field(announcement(world, meeting)), going=17, maybe=17
    )
    # changing an answer: the latest wins and the old reaction is removed
    await world.emu.react(world.announce.id, meeting.message_id, people[0].id, NO)
    await world.emu.wait_until(
        lambda: (
            people[0].id not in world.emu.reactions(world.announce.id, meeting.message_id)[GOING]
        )
    )
    await settle(runner)
    roster = await repo.attendees(meeting.id)
    assert people[0].id in roster.not_going and people[0].id not in roster.going
    assert people[0].id not in world.emu.reactions(world.announce.id, meeting.message_id)[GOING]
    # other emojis and bots are ignored
    await world.emu.react(world.announce.id, meeting.message_id, people[1].id, "🎉")
    await settle(runner)
    assert (await repo.counts(meeting.id)).going == 16


async def test_capacity_waitlist_and_promotion_by_dm(runner: BotRunner, world: World) -> None:
    meeting = await announced(runner, world, capacity=10)
    people = [world.emu.add_member(world.guild.id, f"p{n}") for n in range(15)]
    for person in people:
        await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
        await asyncio.sleep(0.01)
    await settle(runner)
    assert runner.db is not None
    roster = await RsvpRepository(runner.db).attendees(meeting.id)
    assert len(roster.going) == 10 and len(roster.waitlist) == 5
    first_waiting = roster.waitlist[0]
    assert first_waiting == people[10].id
    world.emu.close_dms(people[11].id)  # irrelevant here, but DMs to others still work
    await world.emu.unreact(world.announce.id, meeting.message_id, people[0].id, GOING)
    await world.emu.wait_until(lambda: len(world.emu.dm_messages(first_waiting)) == 1)
    await settle(runner)
    roster = await RsvpRepository(runner.db).attendees(meeting.id)
    assert first_waiting in roster.going and len(roster.waitlist) == 4
    assert says("meeting.embed.counts", answers_field(announcement(world, meeting)), waitlist=4)


async def test_promotion_with_closed_dms_falls_back_to_a_mention(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world, capacity=1)
    a, b = world.members[0], world.members[1]
    world.emu.close_dms(b.id)
    await world.emu.react(world.announce.id, meeting.message_id, a.id, GOING)
    await asyncio.sleep(0.05)
    await world.emu.react(world.announce.id, meeting.message_id, b.id, GOING)
    await settle(runner)
    await world.emu.unreact(world.announce.id, meeting.message_id, a.id, GOING)

    def mentions_b() -> list[dict[str, Any]]:
        posted = world.emu.messages(world.announce.id)
        return [m for m in posted if f"<@{b.id}>" in (m.get("content") or "")]

    await world.emu.wait_until(lambda: bool(mentions_b()))
    await settle(runner)
    assert runner.db is not None
    roster = await RsvpRepository(runner.db).attendees(meeting.id)
    assert roster.going == (b.id,) and roster.waitlist == ()
    (reply,) = mentions_b()  # exactly one, a reply to the announcement, pinging only b
    assert says("meeting.promoted_short", reply["content"]), reply["content"]
    assert int(reply["message_reference"]["message_id"]) == meeting.message_id
    allowed = world.emu.allowed_mentions(int(reply["id"]))
    assert (
        allowed is not None
        and allowed.get("parse") == []
        and [int(u) for u in allowed.get("users", [])] == [b.id]
    )
    assert world.emu.dm_messages(b.id) == []  # closed: nothing was delivered by DM


async def test_reactions_while_offline_are_reconciled(runner: BotRunner, world: World) -> None:
    meeting = await announced(runner, world)
    a, b, c = world.members[:3]
    await world.emu.react(world.announce.id, meeting.message_id, a.id, GOING)
    await settle(runner)
    await runner.stop()
    world.emu.add_reaction(world.announce.id, meeting.message_id, b.id, GOING)
    world.emu.add_reaction(world.announce.id, meeting.message_id, c.id, MAYBE)
    world.emu.remove_reaction(world.announce.id, meeting.message_id, a.id, GOING)
    await runner.start()
    await settle(runner)
    assert runner.db is not None
    roster = await RsvpRepository(runner.db).attendees(meeting.id)
    assert roster.going == (b.id,) and roster.maybe == (c.id,)
    assert says("meeting.embed.counts", answers_field(announcement(world, meeting)), going=1)


async def test_a_start_edits_only_announcements_that_are_out_of_date(
    runner: BotRunner, world: World
) -> None:
    """Reconciling at start reads every open announcement but edits only those whose embed
    does not show the stored answers: a restart with nothing changed edits none (each edit
    of a message older than an hour counts against Discord's cap), one with a change while
    down edits that one, and an embed left behind by a crash is brought up to date."""
    await configure(world)
    await create(world)
    await create(world, title="Second", date="5.3.2027")
    assert runner.db is not None
    meetings = await MeetingRepository(runner.db).list_upcoming(world.guild.id, runner.clock.now())
    first, second = meetings
    a, b = world.members[:2]
    await world.emu.react(world.announce.id, first.message_id, a.id, GOING)
    await wait_for_count(RsvpRepository(runner.db), first.id, going=1)
    await settle(runner)
    edits = "/channels/{channel_id}/messages/{message_id}"
    before = world.emu.count_requests("PATCH", edits)
    await runner.restart()
    await settle(runner)
    assert world.emu.count_requests("PATCH", edits) == before
    await runner.stop()
    world.emu.add_reaction(world.announce.id, second.message_id, b.id, MAYBE, dispatch=False)
    await runner.start()
    await settle(runner)
    patched = world.emu.find_requests("PATCH", edits)[before:]
    assert [r.path.rsplit("/", 1)[-1] for r in patched] == [str(second.message_id)]
    assert says("meeting.embed.counts", answers_field(announcement(world, second)), maybe=1)
    # An answer stored but never shown (a crash before the edit): the start shows it.
    await runner.stop()
    stored = world.emu.channel_messages[world.announce.id][first.message_id]
    stored["embeds"] = announcement(world, second)["embeds"]  # what another meeting shows
    await runner.start()
    await settle(runner)
    assert says("meeting.embed.counts", answers_field(announcement(world, first)), going=1)


async def test_bot_reactions_removed_while_offline_are_added_back_once(
    runner: BotRunner, world: World
) -> None:
    """Every open announcement is checked at start: whichever of ✅ 🤔 ❌ the bot's own
    reactions lack is added again (and a second start adds nothing)."""
    meeting = await announced(runner, world)
    a = world.members[0]
    await world.emu.react(world.announce.id, meeting.message_id, a.id, GOING)
    await settle(runner)
    await runner.stop()
    bot_id = world.emu.bot_user_id
    world.emu.remove_reaction(world.announce.id, meeting.message_id, bot_id, GOING)
    world.emu.remove_reaction(world.announce.id, meeting.message_id, bot_id, NO)
    await runner.start()
    reactions = world.emu.reactions(world.announce.id, meeting.message_id)
    assert reactions == {GOING: [a.id, bot_id], MAYBE: [bot_id], NO: [bot_id]}
    puts = world.emu.count_requests(
        "PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
    )
    await runner.restart()
    assert (
        world.emu.count_requests(
            "PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
        )
        == puts
    )
    assert runner.db is not None
    assert (await RsvpRepository(runner.db).attendees(meeting.id)).going == (a.id,)


async def test_deleted_announcement_is_marked_and_can_be_reposted(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world)
    world.emu.delete_message(world.announce.id, meeting.message_id)
    assert runner.db is not None
    repo = MeetingRepository(runner.db)

    async def missing() -> bool:
        m = await repo.get(world.guild.id, meeting.id)
        return m is not None and m.announcement_missing

    await eventually(missing, True, tries=50, pause=0.05)
    res = await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting repost", options={"meeting": str(meeting.id)}
    )
    assert says("meeting.reposted", res.content)
    again = await repo.get(world.guild.id, meeting.id)
    assert again is not None and not again.announcement_missing
    assert again.message_id != meeting.message_id
    assert world.emu.message(world.announce.id, again.message_id) is not None


async def test_member_without_organiser_role_is_refused(runner: BotRunner, world: World) -> None:
    await configure(world)
    res = await world.emu.invoke(
        world.guild.id,
        world.members[0].id,
        "meeting create",
        options={"title": "x", "date": "4.3.2027", "start": "08:30", "end": "10:00"},
    )
    assert res.ephemeral and says("error.not_organiser", res.content)
    assert runner.db is not None
    assert (
        await MeetingRepository(runner.db).list_upcoming(world.guild.id, runner.clock.now()) == []
    )


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"date": "31.02.2027"}, "31.02.2027"),
        ({"date": "1.1.2020"}, "already"),
        ({"start": "10:00", "end": "09:00"}, "end"),
        ({"capacity": 0}, "1"),
        ({"capacity": -5}, "1"),
        ({"capacity": 100000}, "10"),
        ({"title": "x" * 300}, "256"),
    ],
)
async def test_bad_input_is_refused_and_nothing_stored(
    runner: BotRunner, world: World, options: dict[str, Any], needle: str
) -> None:
    await configure(world)
    res = await create(world, **options)
    assert res.ephemeral and needle in res.content, res.content
    assert runner.db is not None
    assert (
        await MeetingRepository(runner.db).list_upcoming(world.guild.id, runner.clock.now()) == []
    )
    assert world.emu.messages(world.announce.id) == []


async def test_unknown_meeting_and_editing_a_cancelled_one(runner: BotRunner, world: World) -> None:
    await configure(world)
    res = await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting edit", options={"meeting": "999", "title": "y"}
    )
    assert res.ephemeral and res.content
    await create(world)
    meeting = await only_meeting(runner, world)
    await world.emu.react(world.announce.id, meeting.message_id, world.members[0].id, GOING)
    await settle(runner)
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "meeting cancel",
        options={"meeting": str(meeting.id), "reason": "Storm"},
    )
    assert says("meeting.cancelled", res.content)
    await world.emu.wait_until(lambda: len(world.emu.dm_messages(world.members[0].id)) == 1)
    await settle(runner)
    assert says("meeting.embed.cancelled_title", announcement(world, meeting)["embeds"][0]["title"])
    assert world.emu.scheduled_events(world.guild.id)[0]["status"] == 4
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "meeting edit",
        options={"meeting": str(meeting.id), "title": "z"},
    )
    assert res.ephemeral and says("meeting.error.cancelled", res.content)


async def test_list_calendar_and_export(runner: BotRunner, world: World) -> None:
    meeting = await announced(runner, world, place="Rådhuset")
    await world.emu.react(world.announce.id, meeting.message_id, world.members[0].id, GOING)
    await settle(runner)
    listing = await world.emu.invoke(world.guild.id, world.members[1].id, "meeting list")
    assert "Inkluderingsdagen" in str(listing.embeds)
    cal = await world.emu.invoke(
        world.guild.id,
        world.members[1].id,
        "meeting calendar",
        options={"meeting": str(meeting.id)},
    )
    name, data = cal.files[0]
    assert name.endswith(".ics") and b"BEGIN:VEVENT" in data
    assert "calendar.google.com" in cal.content
    export = await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting export", options={"meeting": str(meeting.id)}
    )
    name, data = export.files[0]
    assert name.endswith(".csv") and str(world.members[0].id).encode() in data
    choices = await world.emu.autocomplete(
        world.guild.id, world.organiser.id, "meeting edit", focused="meeting", value="inklu"
    )
    assert choices and choices[0]["value"] == str(meeting.id)


async def test_answers_lost_with_a_gateway_session_are_reconciled(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world)
    a, b = world.members[:2]
    await world.emu.react(world.announce.id, meeting.message_id, a.id, GOING)
    await settle(runner)
    identifies = world.emu.identify_count
    world.emu.refuse_resume = True
    await world.emu.drop_gateway()
    # made while the session is gone: a refused RESUME means these are never replayed
    world.emu.add_reaction(world.announce.id, meeting.message_id, b.id, MAYBE)
    world.emu.remove_reaction(world.announce.id, meeting.message_id, a.id, GOING)
    await world.emu.wait_until(lambda: world.emu.identify_count > identifies, timeout=10)
    assert runner.db is not None
    repo = RsvpRepository(runner.db)
    for _ in range(100):
        roster = await repo.attendees(meeting.id)
        if roster.maybe == (b.id,) and roster.going == ():
            break
        await asyncio.sleep(0.05)
    assert roster.maybe == (b.id,) and roster.going == ()


async def test_old_announcement_gets_a_fresh_roster_on_30046(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world)
    world.emu.age_message(world.announce.id, meeting.message_id, hours=2)
    assert runner.db is not None
    repo = RsvpRepository(runner.db)
    for n, person in enumerate(world.members, start=1):
        await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
        await wait_for_count(repo, meeting.id, going=n)
        await settle(runner)
    stored = await MeetingRepository(runner.db).get(world.guild.id, meeting.id)
    assert stored is not None and stored.roster_message_id is not None
    roster = world.emu.message(world.announce.id, stored.roster_message_id)
    assert "going 5" in roster["content"]
    # a later answer is shown on the roster message
    await world.emu.react(world.announce.id, meeting.message_id, world.admin.id, MAYBE)
    await wait_for_count(repo, meeting.id, going=5, maybe=1)
    await settle(runner)
    roster = world.emu.message(world.announce.id, stored.roster_message_id)
    assert "maybe 1" in roster["content"]


async def test_without_manage_events_it_says_so_and_carries_on(
    runner: BotRunner, world: World
) -> None:
    from tests.emulator import permissions as perms

    world.emu.set_bot_permissions(world.guild.id, perms.DEFAULT_BOT & ~perms.MANAGE_EVENTS)
    await configure(world)
    res = await create(world)
    assert says("meeting.no_event_permission", res.content)
    assert "could not be updated" not in res.content
    assert world.emu.scheduled_events(world.guild.id) == []
    meeting = await only_meeting(runner, world)
    assert meeting.message_id is not None
    # Manage Events granted later: the next start mirrors the meeting, once.
    world.emu.set_bot_permissions(world.guild.id, perms.DEFAULT_BOT)
    await runner.restart()
    events = world.emu.scheduled_events(world.guild.id)
    assert len(events) == 1
    assert (await only_meeting(runner, world)).scheduled_event_id == int(events[0]["id"])
    await runner.restart()
    assert len(world.emu.scheduled_events(world.guild.id)) == 1


@pytest.mark.parametrize(("status", "code"), [(404, 0), (503, 0), (400, 50035)])
async def test_events_list_failing_is_not_called_a_missing_permission(
    runner: BotRunner, world: World, catalog: Catalog, status: int, code: int
) -> None:
    """A 404 (a server without the route), a 5xx or a refused body: the organiser is told
    the Events list could not be updated and that the announcement is fine."""
    await configure(world)
    world.emu.inject("POST", "/guilds/{guild_id}/scheduled-events", status=status, code=code)
    res = await create(world)
    assert catalog.text("en", "meeting.event_not_updated") in res.content
    assert catalog.text("en", "meeting.no_event_permission") not in res.content
    assert catalog.text("en", "meeting.created", title="Inkluderingsdagen") in res.content
    meeting = await only_meeting(runner, world)
    assert meeting.message_id is not None and meeting.scheduled_event_id is None
    assert world.emu.message(world.announce.id, meeting.message_id) is not None


async def test_a_forbidden_events_list_is_a_missing_permission(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    world.emu.inject("POST", "/guilds/{guild_id}/scheduled-events", status=403)  # 50013
    res = await create(world)
    assert catalog.text("en", "meeting.no_event_permission") in res.content
    assert catalog.text("en", "meeting.event_not_updated") not in res.content


async def test_editing_tells_when_the_event_could_not_follow(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    meeting = await announced(runner, world)
    assert meeting.scheduled_event_id is not None
    world.emu.inject("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}", status=404)
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "meeting edit",
        options={"meeting": str(meeting.id), "title": "Nytt navn"},
    )
    assert catalog.text("en", "meeting.edited", title="Nytt navn") in res.content
    assert catalog.text("en", "meeting.event_not_updated") in res.content


async def test_date_autocomplete_offers_the_same_weekday_of_month(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    await create(world, date="4.3.2027")  # the first Thursday of March 2027
    choices = await world.emu.autocomplete(
        world.guild.id, world.organiser.id, "meeting create", focused="date", value=""
    )
    assert 0 < len(choices) <= 25
    assert choices[0]["value"] == "2027-04-01"  # the first Thursday of April


async def test_edit_moves_the_event_and_tells_people_going_once(
    runner: BotRunner, world: World
) -> None:
    meeting = await announced(runner, world, place="Rådhuset")
    person = world.members[0]
    await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
    assert runner.db is not None
    await wait_for_count(RsvpRepository(runner.db), meeting.id, going=1)
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "meeting edit",
        options={"meeting": str(meeting.id), "start": "09:00", "place": "Biblioteket"},
    )
    assert says("meeting.edited", res.content)
    await world.emu.wait_until(lambda: len(world.emu.dm_messages(person.id)) == 1)
    assert "Biblioteket" in world.emu.dm_messages(person.id)[0]["content"]
    event = world.emu.scheduled_events(world.guild.id)[0]
    assert event["entity_metadata"]["location"] == "Biblioteket"
    moved = await MeetingRepository(runner.db).get(world.guild.id, meeting.id)
    assert moved is not None and moved.starts_at > meeting.starts_at
    assert moved.ends_at - moved.starts_at == meeting.ends_at - meeting.starts_at
    await settle(runner)
    where = next(
        f["value"]
        for f in announcement(world, meeting)["embeds"][0]["fields"]
        if f["name"] == "Where"
    )
    assert where == "Biblioteket"
