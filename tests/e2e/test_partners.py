"""Partner search end to end: /partner seek → draft selects → Post → card and suggestions
(from the wanted sectors only) → I'm interested → one private thread with both cards;
closing, expiry and the 30-day question; restarts at every step without doubles; bad input.

Profiles are seeded straight into the database (the /introduce flow has its own tests). The
clock starts in 2027 (FAST_START) and is moved by the tests, which call the service's
`sweep()` where the periodic job would.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import aiosqlite

from bot.domain.dates import format_date_local
from bot.domain.partners import FOLLOWUP_DAYS
from bot.i18n import Catalog
from bot.services.partners import (
    PartnerService,
    close_custom_id,
    collab_custom_id,
    draft_custom_id,
    followup_no_custom_id,
    interest_custom_id,
)
from bot.storage.partners import PartnerRepository, Search, members_of_interest
from tests.e2e.conftest import BotRunner, World, clock
from tests.e2e.test_erasure import erase
from tests.e2e.test_matching import bot_messages, buttons, mentioned, seed
from tests.e2e.test_meetings import configure
from tests.e2e.test_profiles import answered

PRIVATE_THREAD = 12
SEEK = {
    "title": "Språkkafé for nyankomne",
    "description": "Et ukentlig språkkafé med mentorer fra arbeidslivet.",
    "brings": "Lokaler og frivillige",
    "deadline": "15.3.2027",
}


# ----- helpers ---------------------------------------------------------------------------


def service(runner: BotRunner) -> PartnerService:
    return runner.services.partners


def repo(runner: BotRunner) -> PartnerRepository:
    return PartnerRepository(runner.database)


def en(catalog: Catalog, key: str, **params: Any) -> str:
    return catalog.text("en", key, **params)


async def cast(runner: BotRunner, world: World) -> list[Any]:
    """The poster (business) and four others: only members[1] and [2] may be suggested to
    a search wanting the public sector and civil society."""
    m = world.members
    await seed(runner, world, m[0], "Kari", "business", ["refugees"], offers="lokaler")
    await seed(
        runner, world, m[1], "Ola", "public_sector", ["refugees"], offers="mentorer språkkafé"
    )
    await seed(runner, world, m[2], "Siri", "civil_society", ["elderly"])
    await seed(runner, world, m[3], "Per", "public_sector", ["refugees"])  # paused below
    await seed(runner, world, m[4], "Liv", "business", ["refugees"])  # not a wanted sector
    assert runner.db is not None
    from bot.storage.profiles import ProfileRepository

    now = runner.clock.now()
    await ProfileRepository(runner.db).set_matching(
        world.guild.id, m[3].id, "paused", now, paused_until=now + timedelta(weeks=4)
    )
    return m


async def seek(world: World, user: Any, **options: Any) -> Any:
    return await world.emu.invoke(
        world.guild.id, user.id, "partner seek", options={**SEEK, **options}, timeout=10
    )


def draft_message(res: Any) -> dict[str, Any]:
    assert res.ephemeral and res.primary is not None, res
    message: dict[str, Any] = res.primary
    return message


async def only_search(runner: BotRunner, world: World) -> Search:
    assert runner.db is not None
    async with aiosqlite.connect(runner.db_path) as conn:
        rows = list(await (await conn.execute("SELECT id FROM partner_searches")).fetchall())
    assert len(rows) == 1, rows
    found = await repo(runner).get(world.guild.id, int(rows[0][0]))
    assert found is not None
    return found


async def choose(
    world: World, message: dict[str, Any], user: Any, search_id: int, part: str, values: list[str]
) -> Any:
    res = await world.emu.select(
        int(message["channel_id"]),
        int(message["id"]),
        user.id,
        draft_custom_id(search_id, part),
        values,
    )
    return await answered(world, res)


async def press(world: World, message: dict[str, Any], user: Any, custom_id: str) -> Any:
    res = await world.emu.press_button(
        int(message["channel_id"]), int(message["id"]), user.id, custom_id
    )
    return await answered(world, res)


async def drafted(runner: BotRunner, world: World, poster: Any) -> tuple[dict[str, Any], Search]:
    res = await seek(world, poster)
    message = draft_message(res)
    search = await only_search(runner, world)
    assert search.status == "draft"
    await choose(world, message, poster, search.id, "sector", ["public_sector", "civil_society"])
    await choose(world, message, poster, search.id, "target_group", ["refugees"])
    return message, search


async def posted(runner: BotRunner, world: World, poster: Any) -> Search:
    """The poster's search drafted (`drafted`) and posted."""
    message, search = await drafted(runner, world, poster)
    await press(world, message, poster, draft_custom_id(search.id, "post"))
    return await only_search(runner, world)


def card_of(world: World, search: Search) -> dict[str, Any]:
    assert search.channel_id is not None and search.message_id is not None
    card = world.emu.message(search.channel_id, search.message_id)
    assert card is not None
    return card


async def interested(
    runner: BotRunner, world: World
) -> tuple[list[Any], Search, dict[str, Any], dict[str, Any]]:
    """The server configured and the `cast` seeded, m[0]'s search posted and m[1]
    interested: the cast, the search, its card and the private thread of the two."""
    await configure(world)
    m = await cast(runner, world)
    search = await posted(runner, world, m[0])
    card = card_of(world, search)
    await press(world, card, m[1], interest_custom_id(search.id))
    (thread,) = partner_threads(world)
    return m, search, card, thread


def cards(world: World, search_id: int) -> list[dict[str, Any]]:
    return [
        m
        for m in bot_messages(world, world.intro.id)
        if interest_custom_id(search_id) in buttons(m) or _is_card_of(m, search_id)
    ]


def _is_card_of(message: dict[str, Any], search_id: int) -> bool:
    return any(e.get("title") == SEEK["title"] for e in message.get("embeds", [])) and not buttons(
        message
    )


def partner_threads(world: World) -> list[dict[str, Any]]:
    return [
        c
        for c in world.emu.channels.values()
        if c.get("parent_id") == str(world.intro.id)
        and c.get("type") == PRIVATE_THREAD
        and str(c.get("name", "")).startswith("Partner:")
    ]


def status_field(card: dict[str, Any], catalog: Catalog) -> str:
    embed = card["embeds"][0]
    name = en(catalog, "partner.card.status")
    return str(next(f["value"] for f in embed["fields"] if f["name"] == name))


# ----- the flow -------------------------------------------------------------------------


async def test_seek_post_suggest_interested_thread_across_restarts(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    m = await cast(fast, world)
    message, search = await drafted(fast, world, m[0])
    # The draft survives a restart: its selects and Post button carry the draft id.
    await fast.restart()
    await choose(world, message, m[0], search.id, "theme", ["language"])
    posted = await press(world, message, m[0], draft_custom_id(search.id, "post"))
    search = await only_search(fast, world)
    assert search.status == "open" and search.message_id is not None
    assert search.sectors == ("civil_society", "public_sector")  # taxonomy order
    assert search.target_groups == ("refugees",)
    # Suggestions: only from the wanted sectors, never paused / the poster / other sectors.
    reply = posted.primary
    assert reply is not None and reply["embeds"], posted
    (suggested,) = reply["embeds"]
    named = [f["value"].split("\n", 1)[0] for f in suggested["fields"]]
    assert named == [f"<@{m[1].id}>", f"<@{m[2].id}>"], named  # Ola fits best: offers, shared
    assert "mentor" in suggested["fields"][0]["value"]
    assert not reply.get("mentions")
    # One card in the channel, with its buttons; the deadline is on it.
    (card,) = cards(world, search.id)
    assert int(card["id"]) == search.message_id
    assert buttons(card) == [
        interest_custom_id(search.id),
        close_custom_id(search.id, "found"),
        close_custom_id(search.id, "withdrawn"),
    ]
    last_day = format_date_local(date(2027, 3, 15), "en")
    assert status_field(card, catalog) == en(catalog, "partner.card.open_until", date=last_day)
    assert not card.get("mentions")
    assert buttons(posted.primary) == []  # the draft's controls are gone
    # Post again (a second press before the edit arrived, after a restart): no second card.
    await fast.restart()
    assert fast.bot is not None
    guild = fast.bot.get_guild(world.guild.id)
    assert guild is not None
    again = await service(fast).post(guild, search.id, m[0].id)
    assert (
        again.again
        and again.posted
        and [p.user_id for p, _s in again.suggestions]
        == [
            m[1].id,
            m[2].id,
        ]
    )
    assert len(cards(world, search.id)) == 1
    # Interested: one private thread with both members and the three cards.
    res = await press(world, card, m[2], interest_custom_id(search.id))
    (thread,) = partner_threads(world)
    thread_id = int(thread["id"])
    assert res.content == en(catalog, "partner.interest.opened", thread=f"<#{thread_id}>")
    assert set(world.emu.thread_member_ids(thread_id)) == {m[0].id, m[2].id, world.emu.bot_user_id}
    (intro,) = bot_messages(world, thread_id)
    assert len(intro["embeds"]) == 3
    assert mentioned(intro) == {m[0].id, m[2].id}
    (interest,) = await repo(fast).interests(world.guild.id, search.id)
    assert interest.thread_id == thread_id and interest.opened_at is not None
    assert await members_of_interest(fast.db, world.guild.id, interest.id) == [m[0].id, m[2].id]  # type: ignore[arg-type]
    # Pressing again, also after a restart: the same thread, nothing new posted.
    await fast.restart()
    res = await press(world, card, m[2], interest_custom_id(search.id))
    assert res.content == en(catalog, "partner.interest.again", thread=f"<#{thread_id}>")
    assert len(partner_threads(world)) == 1 and len(bot_messages(world, thread_id)) == 1
    # Someone without an introduction is asked for one first.
    res = await press(world, card, world.admin, interest_custom_id(search.id))
    assert res.content == en(catalog, "partner.error.interest_no_profile")
    # The poster cannot be interested in their own search; nobody else can close it.
    own = await press(world, card, m[0], interest_custom_id(search.id))
    assert own.content == en(catalog, "partner.error.own_search")
    other = await press(world, card, m[2], close_custom_id(search.id, "found"))
    assert other.content == en(catalog, "partner.error.not_yours_close")
    # Found partners: the card says so and loses its buttons; later presses refuse.
    done = await press(world, card, m[0], close_custom_id(search.id, "found"))
    assert done.content == en(catalog, "partner.closed.found")
    (card,) = cards(world, search.id)
    assert buttons(card) == []
    assert status_field(card, catalog) == en(catalog, "partner.card.status.found")
    closed = await repo(fast).get(world.guild.id, search.id)
    assert closed is not None and closed.status == "found" and closed.card_synced


async def test_a_crash_between_each_step_and_its_record_doubles_nothing(
    fast: BotRunner, world: World
) -> None:
    """The states a crash leaves (Discord did it, the id was never stored) are built in the
    database; the restart adopts the card and the thread instead of making new ones."""
    await configure(world)
    m = await cast(fast, world)
    search = await posted(fast, world, m[0])
    card_id = search.message_id
    await fast.stop()
    async with aiosqlite.connect(fast.db_path) as conn:
        await conn.execute("UPDATE partner_searches SET message_id = NULL")
        await conn.commit()
    await fast.start()
    search = await only_search(fast, world)
    assert search.message_id == card_id and len(cards(world, search.id)) == 1
    # The interest's thread made, its id lost; then the thread stored, its message not.
    card = world.emu.message(world.intro.id, card_id)
    assert card is not None
    await press(world, card, m[1], interest_custom_id(search.id))
    (thread,) = partner_threads(world)
    for reset in (
        "UPDATE partner_interests SET thread_id = NULL, thread_at = NULL, opened_at = NULL",
        "UPDATE partner_interests SET opened_at = NULL",
    ):
        await fast.stop()
        async with aiosqlite.connect(fast.db_path) as conn:
            await conn.execute(reset)
            await conn.commit()
        await fast.start()
        (interest,) = await repo(fast).interests(world.guild.id, search.id)
        assert interest.thread_id == int(thread["id"]) and interest.opened_at is not None
        assert len(partner_threads(world)) == 1
        assert len(bot_messages(world, int(thread["id"]))) == 1
    # Closed, the crash before the card was edited: the start edits it.
    await press(world, card, m[0], close_custom_id(search.id, "withdrawn"))
    await fast.stop()
    async with aiosqlite.connect(fast.db_path) as conn:
        await conn.execute("UPDATE partner_searches SET card_synced = 0")
        await conn.commit()
    edits = world.emu.count_requests("PATCH", "/channels/{channel_id}/messages/{message_id}")
    await fast.start()
    assert world.emu.count_requests("PATCH", "/channels/{channel_id}/messages/{message_id}") == (
        edits + 1
    )
    closed = await only_search(fast, world)
    assert closed.status == "withdrawn" and closed.card_synced


async def test_expiry_and_the_thirty_day_question_once(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    m, search, card, thread = await interested(fast, world)
    thread_id = int(thread["id"])
    # The deadline (15 March) passes: the sweep expires the search; the card edit is
    # refused once, so the card keeps its buttons until the next sweep; they refuse.
    clock(fast).set(clock(fast).now() + timedelta(days=45))
    world.emu.inject("PATCH", "/channels/{channel_id}/messages/{message_id}", status=403)
    await service(fast).sweep()
    expired = await repo(fast).get(world.guild.id, search.id)
    assert expired is not None and expired.status == "expired" and not expired.card_synced
    late = await press(world, card, m[2], interest_custom_id(search.id))
    assert late.content == en(catalog, "partner.error.closed")
    await service(fast).sweep()
    card = world.emu.message(world.intro.id, search.message_id)  # type: ignore[arg-type]
    assert card is not None and buttons(card) == []
    assert status_field(card, catalog) == en(catalog, "partner.card.status.expired")
    # 30 days after the thread opened: the question, once, with the two buttons.
    (interest,) = await repo(fast).interests(world.guild.id, search.id)
    (question,) = [msg for msg in bot_messages(world, thread_id) if buttons(msg)]
    assert buttons(question) == [collab_custom_id(interest.id), followup_no_custom_id(interest.id)]
    assert mentioned(question) == {m[0].id, m[1].id}
    # A crash after posting, before marking it sent: the restart finds it, asks no more.
    async with aiosqlite.connect(fast.db_path) as conn:
        await conn.execute("UPDATE partner_interests SET followup_done = 0")
        await conn.commit()
    await fast.restart()
    await service(fast).sweep()
    assert len([msg for msg in bot_messages(world, thread_id) if buttons(msg)]) == 1
    (interest,) = await repo(fast).interests(world.guild.id, search.id)
    assert interest.followup_done == 1
    # "Not (yet)": stored for a member of the thread; anyone else is told it is not theirs.
    stranger = await press(world, question, m[3], followup_no_custom_id(interest.id))
    assert stranger.content == en(catalog, "partner.followup.not_member")
    no = await press(world, question, m[1], followup_no_custom_id(interest.id))
    assert no.content == en(catalog, "partner.followup.thanks")
    answered_ = await repo(fast).interest(interest.id)
    assert answered_ is not None and answered_.answer == "no"


async def test_bad_input_is_refused_with_a_localised_message(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    m = world.members
    # No introduction yet.
    res = await seek(world, m[0])
    assert res.content == en(catalog, "partner.error.no_profile")
    await seed(fast, world, m[0], "Kari", "business")
    cases = [
        ({"deadline": "1.1.2027"}, en(catalog, "partner.error.deadline_past", text="1.1.2027")),
        ({"deadline": "30.2.2027"}, en(catalog, "meeting.error.invalid_date", text="30.2.2027")),
        ({"deadline": "soon"}, en(catalog, "meeting.error.date_format", text="soon")),
        ({"title": "\u200b "}, en(catalog, "partner.error.title_empty")),
    ]
    for options, expected in cases:
        res = await seek(world, m[0], **options)
        assert res.content == expected, (options, res.content)
    # Too long: refused before the command runs (the option's max_length).
    res = await seek(world, m[0], title="x" * 101)
    assert res.content == en(catalog, "error.option_too_long", option="title", limit=100)
    async with aiosqlite.connect(fast.db_path) as conn:
        count = await (await conn.execute("SELECT COUNT(*) FROM partner_searches")).fetchone()
    assert count == (0,)
    # Posting without a sector; someone else's draft.
    res = await seek(world, m[0])
    message = draft_message(res)
    search = await only_search(fast, world)
    res = await press(world, message, m[0], draft_custom_id(search.id, "post"))
    assert res.followups[-1]["content"] == en(catalog, "partner.error.no_sectors")
    res = await press(world, message, m[1], draft_custom_id(search.id, "post"))
    assert res.followups[-1]["content"] == en(catalog, "partner.error.not_yours")
    res = await choose(world, message, m[1], search.id, "sector", ["business"])
    assert res.followups[-1]["content"] == en(catalog, "partner.error.not_yours")
    draft = await only_search(fast, world)
    assert draft.status == "draft" and draft.sectors == ()


async def test_settings_opt_out_and_who_is_never_suggested(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    m = await cast(fast, world)
    res = await world.emu.invoke(
        world.guild.id, m[1].id, "partner settings", options={"suggest": "off"}
    )
    assert en(catalog, "partner.settings.off") in res.content
    shown = await world.emu.invoke(world.guild.id, m[1].id, "partner settings")
    assert shown.content == en(catalog, "partner.settings.off")
    message, search = await drafted(fast, world, m[0])
    posted = await press(world, message, m[0], draft_custom_id(search.id, "post"))
    assert posted.primary is not None
    (suggested,) = posted.primary["embeds"]
    named = [f["value"].split("\n", 1)[0] for f in suggested["fields"]]
    assert named == [f"<@{m[2].id}>"], named


async def test_privacy_show_and_delete_cover_partner_searches(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    m, search, _card, thread = await interested(fast, world)
    shown = await world.emu.invoke(world.guild.id, m[0].id, "privacy show")
    (embed,) = shown.embeds
    line = en(
        catalog, "privacy.show.line", part=en(catalog, "privacy.part.partner_searches"), count=1
    )
    assert line in embed["description"]
    shown = await world.emu.invoke(world.guild.id, m[1].id, "privacy show")
    line = en(
        catalog, "privacy.show.line", part=en(catalog, "privacy.part.partner_interests"), count=1
    )
    assert line in shown.embeds[0]["description"]
    await erase(fast, world, "self", m[0])
    # The card is gone from the channel, the cards from the thread; no rows are left.
    assert world.emu.message(world.intro.id, search.message_id) is None  # type: ignore[arg-type]
    assert bot_messages(world, int(thread["id"])) == []
    async with aiosqlite.connect(fast.db_path) as conn:
        for table in ("partner_searches", "partner_interests"):
            row = await (await conn.execute(f"SELECT COUNT(*) FROM {table}")).fetchone()
            assert row == (0,), table


async def test_partner_channel_and_the_question_only_while_both_are_members(
    fast: BotRunner, world: World
) -> None:
    await configure(world)
    elsewhere = world.emu.add_channel(world.guild.id, "partnersok")
    res = await world.emu.invoke(
        world.guild.id,
        world.admin.id,
        "setup configure",
        options={"partner_channel": elsewhere.id},
    )
    assert res.ephemeral and res.embeds, res
    m = await cast(fast, world)
    search = await posted(fast, world, m[0])
    assert search.channel_id == elsewhere.id
    card = card_of(world, search)
    assert bot_messages(world, world.intro.id) == []
    await press(world, card, m[1], interest_custom_id(search.id))
    await press(world, card, m[2], interest_custom_id(search.id))
    first, second = await repo(fast).interests(world.guild.id, search.id)
    world.emu.remove_member(world.guild.id, m[2].id)
    clock(fast).set(clock(fast).now() + timedelta(days=FOLLOWUP_DAYS, minutes=1))
    await service(fast).sweep()
    asked = await repo(fast).interest(first.id)
    skipped = await repo(fast).interest(second.id)
    assert asked is not None and asked.followup_done == 1
    assert skipped is not None and skipped.followup_done == 2
    assert skipped.thread_id is not None
    assert [msg for msg in bot_messages(world, skipped.thread_id) if buttons(msg)] == []
