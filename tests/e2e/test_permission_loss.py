"""Fault scenario 8: the bot loses permission to post in the announcement channel while it
runs (an overwrite denying Send Messages or View Channel). Organisers are told what is
missing (the command reply, /about, /setup show), a reminder that fails is logged once,
answers are still recorded, another server is unaffected, and once the permission is back
the next post works and the notice goes away."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import MANAGE_GUILD, BotRunner, World
from tests.e2e.test_meetings import GOING, configure, create, only_meeting, wait_for_count
from tests.e2e.test_reminders import CHANNEL_DUE, announcements, clock, service
from tests.emulator.permissions import SEND_MESSAGES, VIEW_CHANNEL


def field(embed: dict[str, object], name: str) -> str | None:
    for item in embed.get("fields") or []:  # type: ignore[attr-defined]
        if item["name"] == name:
            return str(item["value"])
    return None


@pytest.mark.parametrize(
    ("deny", "missing", "said"),
    [
        # Without Send Messages, Discord drops Embed Links too; without View Channel, all.
        # (Shown by the names the Discord app uses, in the server's language.)
        (SEND_MESSAGES, "send_messages", "Send Messages, Embed Links"),
        (VIEW_CHANNEL, "view_channel", "View Channel, Send Messages, Embed Links"),
    ],
    ids=["send_messages", "view_channel"],
)
async def test_losing_the_announcement_channel_is_told_and_recovers(
    fast: BotRunner,
    world: World,
    caplog: pytest.LogCaptureFixture,
    deny: int,
    missing: str,
    said: str,
) -> None:
    emu = world.emu
    catalog = fast.catalog
    bot = fast.bot
    assert bot is not None and fast.db is not None
    # Another server, set up the same way, that must not notice anything.
    other = emu.add_guild("Bergen")
    other_channel = emu.add_channel(other.id, "moter")
    other_admin = emu.add_member(other.id, "admin", permissions=MANAGE_GUILD)
    await emu.invoke(
        other.id,
        other_admin.id,
        "setup configure",
        {"announce_channel": other_channel.id, "language": "en"},
    )
    await configure(world)
    await create(world)  # Thursday 4 March 2027
    meeting = await only_meeting(fast, world)

    emu.set_channel_overwrite(world.announce.id, world.guild.bot_role_id, deny=deny)
    guild = bot.get_guild(world.guild.id)
    assert guild is not None

    def lost() -> bool:
        channel = guild.get_channel(world.announce.id)
        return channel is not None and not getattr(channel.permissions_for(guild.me), missing)

    await emu.wait_until(lost)

    # A new meeting: the organiser is told what is missing, nothing is stored or posted.
    refused = await create(world, title="Frokost", date="11.3.2027")
    assert refused.content == catalog.text(
        "en",
        "error.channel_missing_permissions",
        channel=f"<#{world.announce.id}>",
        permissions=said,
    )
    assert (await only_meeting(fast, world)).id == meeting.id

    # Answers to the existing announcement still count (Discord still sends reactions
    # when only Send Messages is gone).
    if deny == SEND_MESSAGES:
        await emu.react(world.announce.id, meeting.message_id, world.members[0].id, GOING)
        await wait_for_count(RsvpRepository(fast.db), meeting.id, going=1)

    # The channel reminder is refused: logged once, and organisers see it.
    clock(fast).set(CHANNEL_DUE + timedelta(minutes=1))
    posted_before = len(emu.messages(world.announce.id))
    with caplog.at_level(logging.INFO):
        await service(fast).tick()
        await service(fast).tick()
    assert len(emu.messages(world.announce.id)) == posted_before
    refusals = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "refused (code" in r.message
    ]
    assert len(refusals) == 1, [r.message for r in refusals]
    about = await emu.invoke(world.guild.id, world.organiser.id, "about")
    problems = field(about.embeds[0], catalog.text("en", "about.problems"))
    assert problems is not None
    # The reminder and the month's post (both due) were refused; the last one is named.
    whats = ("reminder", "monthly")
    assert any(catalog.text("en", f"setup.health.what.{w}") in problems for w in whats)
    assert catalog.text("en", f"permission.{missing}") in problems
    plain = await emu.invoke(world.guild.id, world.members[1].id, "about")
    assert field(plain.embeds[0], catalog.text("en", "about.problems")) is None
    shown = await emu.invoke(world.guild.id, world.admin.id, "setup show")
    assert field(shown.embeds[0], catalog.text("en", "setup.field.problems")) == problems

    # Nothing else breaks: the other server announces as usual.
    elsewhere = await emu.invoke(
        other.id,
        other_admin.id,
        "meeting create",
        {"title": "Bergen", "date": "11.3.2027", "start": "08:30", "end": "10:00"},
    )
    assert elsewhere.error is None
    assert any(m.get("embeds") for m in emu.messages(other_channel.id))

    # The permission comes back: the next post works and the notice is gone.
    emu.set_channel_overwrite(world.announce.id, world.guild.bot_role_id, deny=0)
    await emu.wait_until(lambda: not lost())
    before = len(announcements(world))
    again = await create(world, title="Frokost", date="11.3.2027")
    assert again.content == catalog.text("en", "meeting.created", title="Frokost")
    assert len(announcements(world)) == before + 1
    about = await emu.invoke(world.guild.id, world.organiser.id, "about")
    assert field(about.embeds[0], catalog.text("en", "about.problems")) is None
