"""The programme end to end: propose → review → programme in the announcement embed,
through the real client against the emulator, with restarts between the steps."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FakeClock
from bot.db import Database
from bot.domain.programme import Decision, Status
from bot.i18n import Catalog
from bot.services.profiles import shipped_taxonomy
from bot.services.reports import request_for
from bot.storage.meetings import MeetingRepository
from bot.storage.profiles import ProfileRepository, ProfileText
from bot.storage.programme import ProposalRepository
from bot.storage.reports import ReportRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import configure, create

EN = "en"
TALK = {
    "title": "Jobb for alle",
    "summary": "How we hired six people\nwith the NAV scheme.",
    "kind": "talk",
}


def repo(runner: BotRunner) -> ProposalRepository:
    return ProposalRepository(runner.database)


async def introduce(runner: BotRunner, world: World, person: Any, name: str, sector: str) -> None:
    assert runner.db is not None
    profiles = ProfileRepository(runner.db)
    now = runner.clock.now()
    text = ProfileText(name, organisation=f"{name} AS")
    await profiles.save_text(world.guild.id, person.id, text, now, opt_in=True)
    await profiles.set_sector(world.guild.id, person.id, sector, now)


async def meetings(runner: BotRunner, world: World) -> list[Any]:
    assert runner.db is not None
    return await MeetingRepository(runner.db).list_upcoming(world.guild.id, runner.clock.now())


async def one_meeting(runner: BotRunner, world: World, *people: tuple[Any, str, str]) -> Any:
    """The server configured, one meeting announced, these (member, name, sector) introduced:
    the meeting."""
    await configure(world)
    await create(world)
    (meeting,) = await meetings(runner, world)
    for person, name, sector_key in people:
        await introduce(runner, world, person, name, sector_key)
    return meeting


def unmark_notice(runner: BotRunner, proposal_id: int) -> None:
    """A crash after the decision's notice went out, before it was marked sent."""
    con = sqlite3.connect(runner.db_path)
    con.execute("UPDATE proposals SET notice_sent_at = NULL WHERE id = ?", (proposal_id,))
    con.commit()
    con.close()


async def propose(world: World, person: Any, meeting: Any, **options: Any) -> Any:
    return await world.emu.invoke(
        world.guild.id,
        person.id,
        "programme propose",
        options={"meeting": str(meeting.id), **TALK, **options},
        channel_id=world.announce.id,
    )


async def review(world: World, meeting: Any | None = None) -> Any:
    options = {} if meeting is None else {"meeting": str(meeting.id)}
    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "programme review",
        options=options,
        channel_id=world.announce.id,
    )
    return res


def buttons(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row["components"]]


async def press(world: World, message: dict[str, Any], custom_id: str, user: Any = None) -> Any:
    who = world.organiser if user is None else user
    return await world.emu.press_button(world.announce.id, int(message["id"]), who.id, custom_id)


def programme_field(world: World, meeting: Any) -> str | None:
    message = world.emu.message(world.announce.id, meeting.message_id)
    assert message is not None
    fields = message["embeds"][0].get("fields") or []
    return next((f["value"] for f in fields if f["name"] == "Programme"), None)


def dms(world: World, person: Any) -> list[str]:
    return [m["content"] for m in world.emu.dm_messages(person.id)]


async def settle(runner: BotRunner) -> None:
    assert runner.bot is not None
    await runner.bot.wait_until_settled()


def sector(key: str) -> str:
    return shipped_taxonomy().label(key, EN)


async def test_propose_review_accept_shows_the_programme_across_restarts(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    kari, per = world.members[0], world.members[2]
    meeting = await one_meeting(fast, world, (kari, "Kari", "business"))
    res = await propose(world, kari, meeting, co_presenter=per.id)
    assert res.content == catalog.text(
        EN, "programme.proposed", title=TALK["title"], meeting=meeting.title
    )
    (proposal,) = await repo(fast).for_meeting(meeting.id)
    assert (proposal.user_id, proposal.status, proposal.sector) == (
        kari.id,
        Status.OPEN,
        "business",
    )
    assert proposal.co_presenters == (per.id,)
    assert programme_field(world, meeting) is None

    listed = await review(world)  # no meeting given: the next one with open proposals
    await listed.wait_followups(2)
    head, cards = listed.followups[0], listed.followups[1]
    assert (
        catalog.text(EN, "programme.review.header", title=meeting.title, open=1, accepted=0)
        in head["content"]
    )
    assert cards["embeds"][0]["title"] == TALK["title"]
    who = cards["embeds"][0]["fields"][0]["value"]
    assert who.startswith(f"Kari ({sector('business')}) · Kari AS")  # from the introduction
    assert buttons(cards) == [f"programme:{a}:{proposal.id}" for a in ("accept", "decline", "move")]

    await fast.restart()  # the buttons are persistent: they work after a restart
    refused = await press(world, cards, f"programme:accept:{proposal.id}", user=kari)
    assert refused.content == catalog.text(EN, "error.not_organiser")
    done = await press(world, cards, f"programme:accept:{proposal.id}")
    assert done.content == catalog.text(EN, "programme.review.accepted", title=TALK["title"])
    await settle(fast)
    stored = await repo(fast).get(world.guild.id, proposal.id)
    assert stored is not None and stored.status is Status.ACCEPTED and stored.notice_sent_at
    assert len(dms(world, kari)) == 1
    assert TALK["title"] in dms(world, kari)[0]
    field = programme_field(world, meeting)
    assert field is not None
    assert TALK["title"] in field and f"Kari ({sector('business')})" in field
    assert "deltaker2" in field  # the co-presenter by name beside the presenter

    # Restart again, press again: nothing is told or shown twice.
    await fast.restart()
    for action in ("accept", "decline", "move"):
        again = await press(world, cards, f"programme:{action}:{proposal.id}")
        assert again.content == catalog.text(EN, "programme.error.already_decided")
    await settle(fast)
    assert len(dms(world, kari)) == 1
    assert programme_field(world, meeting) == field

    # /meeting list shows it too.
    listing = await world.emu.invoke(world.guild.id, kari.id, "meeting list")
    assert TALK["title"] in listing.embeds[0]["fields"][0]["value"]


async def test_bad_input_is_refused_with_a_message(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    await create(world)
    await create(world, title="Sommermøtet", date="3.6.2027")
    first, second = await meetings(fast, world)
    kari, ola = world.members[0], world.members[1]

    def said(res: Any, key: str, **params: Any) -> None:
        assert res.content == catalog.text(EN, key, **params), res.content

    said(await propose(world, kari, first), "programme.error.no_profile")
    await introduce(fast, world, kari, "Kari", "business")
    await introduce(fast, world, ola, "Ola", "public_sector")
    said(
        await propose(world, kari, first, title="x" * 101),
        "error.option_too_long",
        option="title",
        limit=100,
    )
    said(
        await propose(world, kari, first, summary="y" * 501),
        "error.option_too_long",
        option="summary",
        limit=500,
    )
    said(await propose(world, kari, first, title="   "), "programme.error.title_empty")
    said(
        await propose(world, kari, first, co_presenter=kari.id), "programme.error.co_presenter_self"
    )
    for n in range(3):
        await propose(world, kari, first, title=f"Case {n}")
    said(await propose(world, kari, first, title="Case 4"), "programme.error.too_many", limit=3)
    own = await repo(fast).of_user(world.guild.id, kari.id)
    assert len(own) == 3

    # Someone else's proposal; editing and withdrawing one's own; after the decision.
    target = str(own[0].id)
    said(
        await world.emu.invoke(
            world.guild.id, ola.id, "programme edit", options={"proposal": target, "title": "Mine"}
        ),
        "programme.error.not_yours",
    )
    said(
        await world.emu.invoke(
            world.guild.id, ola.id, "programme withdraw", options={"proposal": target}
        ),
        "programme.error.not_yours",
    )
    choices = await world.emu.autocomplete(
        world.guild.id, kari.id, "programme edit", focused="proposal"
    )
    assert {c["value"] for c in choices} == {str(p.id) for p in own}
    assert (
        await world.emu.autocomplete(world.guild.id, ola.id, "programme edit", focused="proposal")
        == []
    )
    said(
        await world.emu.invoke(
            world.guild.id,
            kari.id,
            "programme edit",
            options={"proposal": target, "title": "Case A"},
        ),
        "programme.edited",
        title="Case A",
    )
    siri = world.members[3]
    edit = {"proposal": target, "co_presenter": siri.id}
    said(
        await world.emu.invoke(world.guild.id, kari.id, "programme edit", options=edit),
        "programme.edited",
        title="Case A",
    )
    edit["co_presenter"] = kari.id
    said(
        await world.emu.invoke(world.guild.id, kari.id, "programme edit", options=edit),
        "programme.error.co_presenter_self",
    )
    edited = await repo(fast).get(world.guild.id, own[0].id)
    assert edited is not None and edited.co_presenters == (siri.id,)
    said(
        await world.emu.invoke(
            world.guild.id, kari.id, "programme withdraw", options={"proposal": str(own[1].id)}
        ),
        "programme.withdrawn",
        title=own[1].title,
    )
    # A member cannot review; the organiser decides, and then the proposer cannot edit.
    said(await world.emu.invoke(world.guild.id, kari.id, "programme review"), "error.not_organiser")
    assert fast.bot is not None
    await fast.bot.services.programme.decide(
        world.guild.id, own[0].id, Decision.DECLINED, world.organiser.id
    )
    said(
        await world.emu.invoke(
            world.guild.id, kari.id, "programme edit", options={"proposal": target, "title": "Late"}
        ),
        "programme.error.decided",
    )
    stored = await repo(fast).get(world.guild.id, own[0].id)
    assert stored is not None and stored.title == "Case A" and stored.status is Status.DECLINED

    # A cancelled meeting, and a meeting that has taken place.
    await world.emu.invoke(
        world.guild.id, world.organiser.id, "meeting cancel", options={"meeting": str(second.id)}
    )
    said(await propose(world, ola, second), "programme.error.cancelled")
    clock = fast.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(days=40))  # 4 March 2027 is over
    said(await propose(world, ola, first), "programme.error.past_meeting")
    said(
        await world.emu.invoke(
            world.guild.id, kari.id, "programme withdraw", options={"proposal": str(own[2].id)}
        ),
        "programme.error.past_meeting",
    )
    assert len(await repo(fast).of_user(world.guild.id, ola.id)) == 0


async def test_move_then_arrange_orders_the_programme(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    await create(world)
    await create(world, title="Aprilmøtet", date="1.4.2027")
    march, april = await meetings(fast, world)
    kari, ola = world.members[0], world.members[1]
    await introduce(fast, world, kari, "Kari", "business")
    await introduce(fast, world, ola, "Ola", "public_sector")
    await propose(world, kari, march, title="Frivillighet i bedrift")
    await propose(world, ola, april, title="Kommunens tilskudd")
    kari_id, ola_id = (
        p.id
        for p in sorted(
            await repo(fast).for_meeting(march.id) + await repo(fast).for_meeting(april.id),
            key=lambda p: p.id,
        )
    )

    listed = await review(world, march)
    await listed.wait_followups(2)
    asked = await press(world, listed.followups[1], f"programme:move:{kari_id}")
    assert asked.content == catalog.text(EN, "programme.review.move_to")
    select = asked.primary
    assert select is not None
    options = select["components"][0]["components"][0]["options"]
    assert [o["value"] for o in options] == [str(april.id)]
    await fast.restart()  # the select is persistent too
    moved = await world.emu.select(
        world.announce.id,
        int(select["id"]),
        world.organiser.id,
        f"programme:moveto:{kari_id}",
        [str(april.id)],
    )
    assert moved.content == catalog.text(
        EN, "programme.review.moved", title="Frivillighet i bedrift", meeting=april.title
    )
    stored = await repo(fast).get(world.guild.id, kari_id)
    assert stored is not None and (stored.meeting_id, stored.status) == (april.id, Status.OPEN)
    await settle(fast)
    assert len(dms(world, kari)) == 1 and april.title in dms(world, kari)[0]

    listed = await review(world, april)
    await listed.wait_followups(2)
    cards = listed.followups[1]
    assert len(cards["embeds"]) == 2
    for pid in (kari_id, ola_id):
        await press(world, cards, f"programme:accept:{pid}")
    await settle(fast)
    field = programme_field(world, april)
    assert field is not None
    assert field.index("Frivillighet") < field.index("Kommunens")

    res = await world.emu.invoke(
        world.guild.id,
        world.organiser.id,
        "programme arrange",
        options={"item": str(ola_id), "slot": "9.15", "position": 1},
    )
    assert res.content.startswith(
        catalog.text(EN, "programme.arranged", title="Kommunens tilskudd")
    )
    await settle(fast)
    field = programme_field(world, april)
    assert field is not None
    assert field.splitlines()[0].startswith("09:15 · Kommunens tilskudd")
    assert field.index("Kommunens") < field.index("Frivillighet")
    # Arranging is for organisers; a declined or open proposal is not in the programme.
    refused = await world.emu.invoke(
        world.guild.id, kari.id, "programme arrange", options={"item": str(ola_id), "slot": "10:00"}
    )
    assert refused.content == catalog.text(EN, "error.not_organiser")
    assert len(dms(world, ola)) == 1


async def test_the_notice_is_sent_once_across_crashes(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    kari, siri = world.members[0], world.members[3]
    meeting = await one_meeting(
        fast, world, (kari, "Kari", "business"), (siri, "Siri", "civil_society")
    )
    await propose(world, kari, meeting)
    await propose(world, siri, meeting, title="Spørsmål om frivillige")
    first, second = sorted(await repo(fast).for_meeting(meeting.id), key=lambda p: p.id)

    # 1. A crash after the decision was stored, before the DM: sent at the next start.
    await fast.stop()
    db = await Database.open(fast.db_path)
    await ProposalRepository(db).decide(
        world.guild.id, first.id, Decision.ACCEPTED, world.organiser.id, fast.clock.now()
    )
    await db.close()
    await fast.start()
    assert len(dms(world, kari)) == 1
    await settle(fast)
    field = programme_field(world, meeting)  # start-up reconciliation re-renders the embed
    assert field is not None and TALK["title"] in field

    # 2. A crash after the DM, before it was marked: not sent again (the copy is found).
    unmark_notice(fast, first.id)
    await fast.restart()
    assert len(dms(world, kari)) == 1
    stored = await repo(fast).get(world.guild.id, first.id)
    assert stored is not None and stored.notice_sent_at is not None

    # 3. Closed DMs: one reply under the announcement that pings only the proposer, once.
    world.emu.close_dms(siri.id)
    assert fast.bot is not None
    await fast.bot.services.programme.decide(
        world.guild.id, second.id, Decision.DECLINED, world.organiser.id
    )

    def mentions() -> list[dict[str, Any]]:
        return [
            m
            for m in world.emu.messages(world.announce.id)
            if m["content"].startswith(f"<@{siri.id}>")
        ]

    assert len(mentions()) == 1
    reply = mentions()[0]
    assert reply["content"] == f"<@{siri.id}> " + catalog.text(
        EN, "programme.notice.mention", title="Spørsmål om frivillige"
    )
    assert [int(u["id"]) for u in reply["mentions"]] == [siri.id]
    assert reply["message_reference"]["message_id"] == str(meeting.message_id)
    unmark_notice(fast, second.id)
    await fast.restart()
    assert len(mentions()) == 1
    assert dms(world, siri) == []


async def test_the_programme_is_in_the_reminders_and_the_monthly_post(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    kari = world.members[0]
    meeting = await one_meeting(fast, world, (kari, "Kari", "business"))
    await world.emu.react(world.announce.id, meeting.message_id, kari.id, "✅")
    await propose(world, kari, meeting)
    (proposal,) = await repo(fast).for_meeting(meeting.id)
    assert fast.bot is not None
    await fast.bot.services.programme.decide(
        world.guild.id, proposal.id, Decision.ACCEPTED, world.organiser.id
    )
    reminders = fast.bot.services.reminders
    clock = fast.clock
    assert isinstance(clock, FakeClock)
    heading = catalog.text(EN, "programme.text.heading")
    line = f"{TALK['title']} — Kari ({sector('business')})"

    clock.set(datetime(2027, 2, 25, 9, 1, tzinfo=UTC))  # the channel reminder, 7 days before
    await reminders.tick()
    (reminder,) = [m for m in world.emu.messages(world.announce.id) if m.get("message_reference")]
    assert heading in reminder["content"] and line in reminder["content"]

    clock.set(datetime(2027, 3, 1, 8, 5, tzinfo=UTC))  # the monthly post on the 1st
    await reminders.tick()
    title = catalog.text(EN, "reminders.monthly.title")
    (post,) = [m for m in world.emu.messages(world.announce.id) if title in m["content"]]
    assert line in post["content"]

    clock.set(datetime(2027, 3, 3, 9, 5, tzinfo=UTC))  # the DM, 1 day before
    await reminders.tick()
    reminder_dms = [text for text in dms(world, kari) if heading in text]
    assert len(reminder_dms) == 1 and line in reminder_dms[0]


async def test_privacy_show_lists_proposals_and_delete_leaves_an_anonymous_item(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    kari, ola = world.members[0], world.members[1]
    meeting = await one_meeting(
        fast, world, (kari, "Kari", "business"), (ola, "Ola", "public_sector")
    )
    await propose(world, kari, meeting)
    await propose(world, kari, meeting, title="Et spørsmål")
    await propose(world, ola, meeting, title="Kommunens tilskudd", co_presenter=kari.id)
    accepted, still_open, olas = sorted(
        await repo(fast).for_meeting(meeting.id), key=lambda p: p.id
    )
    assert fast.bot is not None
    service = fast.bot.services.programme
    for pid in (accepted.id, olas.id):
        await service.decide(world.guild.id, pid, Decision.ACCEPTED, world.organiser.id)

    shown = await world.emu.invoke(world.guild.id, kari.id, "privacy show")
    embed = shown.embeds[0]
    assert (
        catalog.text(
            EN, "privacy.show.line", part=catalog.text(EN, "privacy.part.proposals"), count=2
        )
        in embed["description"]
    )
    listed = next(
        f["value"]
        for f in embed["fields"]
        if f["name"] == catalog.text(EN, "privacy.part.proposals")
    )
    assert TALK["title"] in listed and "Et spørsmål" in listed

    asked = await world.emu.invoke(world.guild.id, kari.id, "privacy delete")
    confirm = next(b for row in asked.components for b in row["components"] if b["style"] == 4)
    assert asked.primary is not None
    done = await world.emu.press_button(
        asked.primary["channel_id"], asked.primary["id"], kari.id, confirm["custom_id"]
    )
    finished = catalog.text(EN, "privacy.delete.done")
    await world.emu.wait_until(lambda: (done.message or {}).get("content") == finished, timeout=10)
    await settle(fast)

    rows = {p.id: p for p in await repo(fast).for_meeting(meeting.id)}
    gone = rows[accepted.id]
    assert (gone.user_id, gone.title, gone.summary, gone.sector) == (None, "", "", "business")
    assert rows[still_open.id].user_id is None
    assert rows[olas.id].co_presenters == ()  # no longer named beside Ola
    assert await repo(fast).of_user(world.guild.id, kari.id) == []
    field = programme_field(world, meeting)
    assert field is not None
    deleted = catalog.text(EN, "programme.deleted")
    assert f"{deleted} — {deleted} ({sector('business')})" in field
    assert "Kari" not in field and TALK["title"] not in field
    # The report still counts them: 3 proposals, 2 accepted, one presenter per sector.
    assert fast.db is not None
    report = await ReportRepository(fast.db).report(
        world.guild.id, request_for(fast.clock.now() + timedelta(days=60), "Europe/Oslo")
    )
    counts = report.programme[meeting.id]
    assert (counts.proposals, counts.accepted) == (3, 2)
    assert dict(counts.presenters_by_sector) == {"business": 1, "public_sector": 1}
