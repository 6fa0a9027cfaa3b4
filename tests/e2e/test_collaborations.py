"""Collaborations end to end (issue 11, part 3): the follow-up's "We started working
together" → the form → members → confirmations → the report; `/collaboration add` and
its refusals, the fallback mention, `/collaboration list`; /privacy show and delete.

Each step is crossed by a restart; a crash between sending a confirmation request and
marking it sent is recreated in the database (the request is then found, not resent).
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from typing import Any

import discord

from bot.i18n import Catalog
from bot.services.collaborations import CONFIRM_PREFIX, CollaborationService
from bot.services.reports import request_for
from bot.storage.collaborations import CollaborationRepository
from bot.storage.reports import ReportRepository
from cogs.collaborations import CollabStart, start_custom_id
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_interactions import hold_database
from tests.e2e.test_matching import (
    bot_messages,
    buttons,
    clock,
    follow_up,
    last_groups,
    make_round,
    matches,
    mentioned,
    one_pair,
    seed,
)
from tests.e2e.test_meetings import configure

LANG = "en"


def service(runner: BotRunner) -> CollaborationService:
    return runner.services.collaborations


def repo(runner: BotRunner) -> CollaborationRepository:
    return CollaborationRepository(runner.database)


def requests_to(world: World, user_id: int, collab_id: int) -> list[dict[str, Any]]:
    """The confirmation requests for this member in their DMs."""
    prefix = f"{CONFIRM_PREFIX}{collab_id}:{user_id}:"
    return [
        m for m in world.emu.dm_messages(user_id) if any(c.startswith(prefix) for c in buttons(m))
    ]


def component_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def report_counts(runner: BotRunner, world: World) -> Any:
    """The report's collaborations up to a minute from now (the fake clock stands still)."""
    assert runner.db is not None
    clock(runner).advance(timedelta(minutes=1))
    request = request_for(runner.clock.now(), "Europe/Oslo")
    report = await ReportRepository(runner.db).report(world.guild.id, request)
    return report.collaborations


def db_path(runner: BotRunner) -> str:
    return f"file:{runner.db_path}?mode=rw"


def unmark(runner: BotRunner, collab_id: int, user_id: int) -> None:
    """A crash after the request went out, before it was marked sent."""
    with sqlite3.connect(db_path(runner), uri=True) as conn:
        conn.execute(
            "UPDATE collaboration_members SET asked_sent = 0 "
            "WHERE collaboration_id = ? AND user_id = ?",
            (collab_id, user_id),
        )


async def test_followup_working_together_to_the_report_across_restarts(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    group = await one_pair(fast, world)
    a, b = world.members[:2]
    assert await follow_up(fast) == 1
    (question,) = [m for m in bot_messages(world, group.thread_id) if m.get("components")]
    assert [c.rsplit(":", 1)[1] for c in buttons(question)] == ["yes", "planned", "no", "collab"]
    collab_button = buttons(question)[3]
    emu = world.emu

    # Someone outside the group is refused and stores nothing.
    outsider = world.members[4]
    refused = await emu.press_button(
        group.thread_id, int(question["id"]), outsider.id, collab_button
    )
    assert refused.modal is None
    assert catalog.text(LANG, "collab.error.not_in_group") in refused.content

    # The form refuses a title over 100 characters, then takes a good one.
    asked = await emu.press_button(group.thread_id, int(question["id"]), a.id, collab_button)
    assert asked.modal is not None
    too_long = await emu.submit_modal(asked, a.id, {"title": "x" * 101, "link": ""})
    assert catalog.text(LANG, "collab.error.title_long", max=100, length=101) in too_long.content
    bad_link = await emu.submit_modal(asked, a.id, {"title": "Mentorordning", "link": "ftp://x.no"})
    assert catalog.text(LANG, "collab.error.link", max=500) in bad_link.content
    assert await repo(fast).in_guild(world.guild.id) == []
    assert (await matches(fast).answers(group.round_id))[a.id] is None  # nothing stored
    form = await emu.submit_modal(
        asked, a.id, {"title": "Mentorordning for nyankomne", "link": "https://example.no/m"}
    )
    draft_msg = form.primary
    assert draft_msg is not None and form.ephemeral
    (collab_id,) = {int(c.split(":")[2]) for c in component_ids(draft_msg)}
    collab = await repo(fast).get(collab_id)
    assert collab is not None and collab.state == "draft" and collab.origin == "match"
    assert (collab.origin_ref, collab.fallback_channel_id) == (group.id, group.thread_id)
    assert (await matches(fast).answers(group.round_id))[a.id] == "yes"  # counts as met
    # The same form again (a second press) is the same collaboration, not a second one.
    again = await emu.press_button(group.thread_id, int(question["id"]), a.id, collab_button)
    again_form = await emu.submit_modal(
        again, a.id, {"title": "mentorordning for nyankomne", "link": ""}
    )
    assert again_form.primary is not None
    assert {int(c.split(":")[2]) for c in component_ids(again_form.primary)} == {collab_id}

    # Unticking the other member leaves too few: refused; ticking both and sending works,
    # after a restart (the draft and its buttons survive it).
    await fast.restart()
    select_id, send_id = component_ids(draft_msg)
    channel, message_id = group.thread_id, int(draft_msg["id"])
    await emu.select(channel, message_id, a.id, select_id, [])
    too_few = await emu.press_button(channel, message_id, a.id, send_id)
    assert catalog.text(LANG, "collab.error.too_few", min=2) in too_few.content
    assert requests_to(world, b.id, collab_id) == []
    not_yours = await emu.press_button(channel, message_id, b.id, send_id)
    assert catalog.text(LANG, "collab.error.not_yours") in not_yours.content
    await emu.select(channel, message_id, a.id, select_id, [str(b.id)])
    sent = await emu.press_button(channel, message_id, a.id, send_id)
    assert catalog.text(LANG, "collab.sent", count=1) in sent.content
    sent_again = await emu.press_button(channel, message_id, a.id, send_id)
    assert catalog.text(LANG, "collab.sent", count=0) in sent_again.content
    (request,) = requests_to(world, b.id, collab_id)
    assert requests_to(world, a.id, collab_id) == []  # the recorder is confirmed already

    # A crash after the DM went out but before it was marked: found at start, not resent.
    await fast.stop()
    unmark(fast, collab_id, b.id)
    await fast.start()
    assert len(requests_to(world, b.id, collab_id)) == 1
    assert all(m.asked_sent for m in await repo(fast).members(collab_id))
    # A crash after the claim, before the DM went out: sent once at start.
    await fast.stop()
    emu.delete_message(emu.dm_channel(b.id), int(request["id"]))
    unmark(fast, collab_id, b.id)
    await fast.start()
    (request,) = requests_to(world, b.id, collab_id)

    assert (await report_counts(fast, world)).started == 0  # one confirmation: not yet
    yes = next(c for c in buttons(request) if c.endswith(":yes"))
    confirmed = await emu.press_button(emu.dm_channel(b.id), int(request["id"]), b.id, yes)
    assert catalog.text(LANG, "collab.confirm.started") in confirmed.content
    await fast.restart()
    twice = await emu.press_button(emu.dm_channel(b.id), int(request["id"]), b.id, yes)
    assert catalog.text(LANG, "collab.confirm.thanks") in twice.content
    counts = await report_counts(fast, world)
    assert counts.started == 1
    assert dict(counts.by_origin) == {"match": 1, "partner": 0, "meeting": 0, "other": 0}
    assert dict(counts.by_pair) == {("business", "public_sector"): 1}

    # /report shows the numbers (counts only).
    clock(fast).advance(timedelta(minutes=1))
    shown = await emu.invoke(world.guild.id, world.organiser.id, "report", timeout=30)
    (embed,) = shown.embeds
    assert catalog.text(LANG, "collab.report.started", count=1) in embed["description"]
    assert (
        catalog.text(LANG, "collab.report.origins", match=1, partner=0, meeting=0, other=0)
        in embed["description"]
    )


async def test_collaboration_add_refuses_bad_input_then_asks_with_a_fallback(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    emu = world.emu
    kari, ola, siri = world.members[:3]
    await seed(fast, world, kari, "Kari", "business")
    await seed(fast, world, ola, "Ola", "voluntary")
    robot = emu.add_member(world.guild.id, "robot", bot=True)
    stranger = emu.add_user("stranger")
    channel = world.announce.id

    async def add(**options: Any) -> Any:
        return await emu.invoke(
            world.guild.id, kari.id, "collaboration add", options=options, channel_id=channel
        )

    base = {"title": "Felles søknad til kommunen"}
    refusals = [
        (
            {**base, "member": ola.id, "link": "javascript:alert(1)"},
            "collab.error.link",
            {"max": 500},
        ),
        ({**base, "member": kari.id}, "collab.error.too_few", {"min": 2}),
        ({**base, "member": ola.id, "member2": robot.id}, "collab.error.bot", {"member": "robot"}),
        (
            {**base, "member": stranger.id},
            "collab.error.not_member",
            {"member": "stranger"},
        ),
        ({**base, "member": ola.id, "meeting": "999"}, "meeting.error.not_found", {}),
    ]
    for options, key, params in refusals:
        res = await add(**options)
        assert res.ephemeral and catalog.text(LANG, key, **params) in res.content, (key, res)
    assert await repo(fast).in_guild(world.guild.id) == []

    # Siri's DMs are closed: she is mentioned in the channel where the command was used.
    emu.close_dms(siri.id)
    done = await add(**base, member=ola.id, member2=siri.id, link="https://example.no")
    assert catalog.text(LANG, "collab.recorded", title=base["title"], count=2) in done.content
    (collab, _members) = (await repo(fast).in_guild(world.guild.id))[0]
    assert collab.origin == "other" and collab.link == "https://example.no"
    assert len(requests_to(world, ola.id, collab.id)) == 1
    (fallback,) = [
        m
        for m in emu.messages(channel)
        if any(c.startswith(f"{CONFIRM_PREFIX}{collab.id}:{siri.id}:") for c in buttons(m))
    ]
    assert mentioned(fallback) == {siri.id}
    assert [int(u) for u in emu.allowed_mentions(int(fallback["id"]))["users"]] == [siri.id]
    # The same command again does not record or ask twice.
    await add(**base, member=ola.id, member2=siri.id)
    assert len(await repo(fast).in_guild(world.guild.id)) == 1
    assert len(requests_to(world, ola.id, collab.id)) == 1

    # Only Siri may answer her request; Ola's "Not me" takes him out.
    siri_yes = next(c for c in buttons(fallback) if c.endswith(":yes"))
    other = await emu.press_button(channel, int(fallback["id"]), ola.id, siri_yes)
    assert catalog.text(LANG, "collab.error.confirm_not_yours") in other.content
    assert (await report_counts(fast, world)).started == 0
    (ola_request,) = requests_to(world, ola.id, collab.id)
    ola_no = next(c for c in buttons(ola_request) if c.endswith(":no"))
    await emu.press_button(emu.dm_channel(ola.id), int(ola_request["id"]), ola.id, ola_no)
    mine = await emu.press_button(channel, int(fallback["id"]), siri.id, siri_yes)
    assert catalog.text(LANG, "collab.confirm.started") in mine.content
    counts = await report_counts(fast, world)
    assert counts.started == 1 and counts.by_origin["other"] == 1
    assert dict(counts.by_pair) == {("business", "unknown"): 1}  # Siri has no introduction

    # /collaboration list is public: title, sectors, month.
    listed = await emu.invoke(world.guild.id, ola.id, "collaboration list")
    assert not listed.ephemeral
    (embed,) = listed.embeds
    (field,) = embed["fields"]
    assert field["name"] == base["title"]
    assert "https://example.no" in field["value"]
    assert catalog.text(LANG, "report.sector.unknown") in field["value"]
    assert not listed.primary or not listed.primary.get("mentions")

    # Many long entries: the embed stays within Discord's 6,000 characters and says how
    # many more there are.
    for n in range(29):
        await repo(fast).create(
            world.guild.id,
            title=f"{n:02d} " + "t" * 97,
            link="https://example.no/" + "l" * 480,
            origin="other",
            origin_ref=None,
            created_by=kari.id,
            fallback_channel_id=None,
            members=[(kari.id, "business"), (ola.id, "voluntary")],
            now=fast.clock.now(),
        )
    many = await emu.invoke(world.guild.id, ola.id, "collaboration list")
    (embed,) = many.embeds
    size = len(embed["title"]) + len(embed.get("footer", {}).get("text", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert size <= 6000
    hidden = 30 - len(embed["fields"])
    assert hidden > 0
    assert embed["footer"]["text"] == catalog.text(LANG, "collab.list.more", count=hidden)


async def test_privacy_show_lists_and_delete_keeps_the_count_anonymously(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    emu = world.emu
    kari, ola = world.members[:2]
    await seed(fast, world, kari, "Kari", "business")
    await seed(fast, world, ola, "Ola", "research")
    meeting_free = {"title": "Språkkafé", "member": ola.id}
    await emu.invoke(world.guild.id, kari.id, "collaboration add", options=meeting_free)
    (collab, _m) = (await repo(fast).in_guild(world.guild.id))[0]
    (request,) = requests_to(world, ola.id, collab.id)
    yes = next(c for c in buttons(request) if c.endswith(":yes"))
    await emu.press_button(emu.dm_channel(ola.id), int(request["id"]), ola.id, yes)
    assert (await report_counts(fast, world)).started == 1

    shown = await emu.invoke(world.guild.id, ola.id, "privacy show")
    (embed,) = shown.embeds
    line = catalog.text(
        LANG, "privacy.show.line", part=catalog.text(LANG, "privacy.part.collaborations"), count=1
    )
    assert line in embed["description"]
    (_name, data), *_rest = shown.files
    assert b"Spr\xc3\xa5kkaf\xc3\xa9" in data

    asked = await emu.invoke(world.guild.id, ola.id, "privacy delete")
    confirm = next(c for c in component_ids(asked.primary or {}) if c)
    await emu.press_button(
        int((asked.primary or {})["channel_id"]), int((asked.primary or {})["id"]), ola.id, confirm
    )
    for _ in range(100):  # the deletion runs after the button's answer
        members = await repo(fast).members(collab.id)
        if any(m.user_id is None for m in members):
            break
        await asyncio.sleep(0.05)
    assert sorted((m.user_id, m.sector, m.answer) for m in members if m.user_id is None) == [
        (None, "research", "confirmed")
    ]
    assert ola.id not in {m.user_id for m in members}
    counts = await report_counts(fast, world)
    assert counts.started == 1 and dict(counts.by_pair) == {("business", "research"): 1}
    after = await emu.invoke(world.guild.id, ola.id, "privacy show")
    part = catalog.text(LANG, "privacy.part.collaborations")
    assert part not in (after.embeds[0].get("description") or "")


async def test_the_form_registry_offers_the_group_of_an_origin(
    fast: BotRunner, world: World
) -> None:
    """The registry partner search plugs into: `match` gives the group's members, an
    unknown origin or reference gives nothing, and only a member may record."""
    group = await one_pair(fast, world)
    a, b = world.members[:2]
    found = await service(fast).group_members(world.guild.id, "match", group.id, a.id)
    assert sorted(found) == sorted([a.id, b.id])
    assert await service(fast).guild_of("match", group.id, None) == world.guild.id
    for origin, ref, user, key in (
        ("match", group.id + 1000, a.id, "collab.error.unknown_group"),
        ("partner", 1, a.id, "collab.error.unknown_group"),
        ("match", group.id, world.members[3].id, "collab.error.not_in_group"),
    ):
        try:
            await service(fast).group_members(world.guild.id, origin, ref, user)
        except Exception as exc:
            assert getattr(exc, "key", None) == key
        else:
            raise AssertionError((origin, ref))
    other_guild = world.emu.add_guild("Bergen")
    assert await service(fast).origins["match"](other_guild.id, group.id) == []

    async def partner_members(guild_id: int, ref: int) -> list[int]:
        return [a.id, b.id] if ref == 7 else []

    service(fast).origins["partner"] = partner_members
    assert await service(fast).group_members(world.guild.id, "partner", 7, b.id) == [a.id, b.id]

    # The button partner search posts in its threads opens the same form.
    assert fast.bot is not None
    channel = fast.bot.get_channel(world.intro.id)
    assert isinstance(channel, discord.TextChannel)
    view = discord.ui.View(timeout=None)
    view.add_item(CollabStart("partner", 7, "start"))
    posted = await channel.send("30 days", view=view)
    assert start_custom_id("partner", 7) == "collab:start:partner:7"
    emu = world.emu
    outsider = world.members[3]
    refused = await emu.press_button(channel.id, posted.id, outsider.id, "collab:start:partner:7")
    assert refused.modal is None and refused.ephemeral
    asked = await emu.press_button(channel.id, posted.id, b.id, "collab:start:partner:7")
    assert asked.modal is not None
    form = await emu.submit_modal(asked, b.id, {"title": "Felles søknad", "link": ""})
    assert form.primary is not None
    assert await repo(fast).in_guild(world.guild.id) == []  # a draft is not listed yet
    (collab_id,) = {int(c.split(":")[2]) for c in component_ids(form.primary)}
    draft = await repo(fast).get(collab_id)
    assert draft is not None and (draft.origin, draft.origin_ref, draft.state) == (
        "partner",
        7,
        "draft",
    )
    assert draft.fallback_channel_id == channel.id
    assert sorted(m.user_id for m in await repo(fast).members(collab_id)) == sorted([a.id, b.id])

    # The form of a match group (read from the database) is answered within Discord's 3 s
    # even while another write holds the database.
    match_view = discord.ui.View(timeout=None)
    match_view.add_item(CollabStart("match", group.id, "start"))
    match_post = await channel.send("match", view=match_view)
    busy = asyncio.create_task(hold_database(fast, 3.5))
    await asyncio.sleep(0.05)
    locked = await emu.press_button(
        channel.id, match_post.id, a.id, start_custom_id("match", group.id)
    )
    assert locked.modal is not None and locked.latency < emu.interaction_deadline
    await busy


async def test_working_together_from_a_followup_by_dm(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    """Matches delivered by DM: the form opens in the DM (the server is found from the
    group) and the other member is asked by DM."""
    await configure(world)
    emu = world.emu
    a, b = world.members[:2]
    await seed(fast, world, a, "Kari", "business")
    await seed(fast, world, b, "Ola", "public_sector")
    await emu.invoke(
        world.guild.id, world.organiser.id, "match settings", options={"delivery": "dm"}
    )
    await make_round(world)
    (group,) = await last_groups(fast, world)
    assert await follow_up(fast) == 1
    dm = emu.dm_channel(a.id)
    (question,) = [m for m in emu.dm_messages(a.id) if any(":collab" in c for c in buttons(m))]
    asked = await emu.press_button(dm, int(question["id"]), a.id, buttons(question)[3])
    assert asked.modal is not None
    form = await emu.submit_modal(asked, a.id, {"title": "Praksisplasser", "link": ""})
    assert form.primary is not None
    (collab_id,) = {int(c.split(":")[2]) for c in component_ids(form.primary)}
    collab = await repo(fast).get(collab_id)
    assert collab is not None and collab.guild_id == world.guild.id
    send_id = next(c for c in component_ids(form.primary) if c.startswith("collab:send:"))
    sent = await emu.press_button(dm, int(form.primary["id"]), a.id, send_id)
    assert catalog.text(LANG, "collab.sent", count=1) in sent.content
    assert len(requests_to(world, b.id, collab_id)) == 1
    assert (await matches(fast).answers(group.round_id))[a.id] == "yes"
