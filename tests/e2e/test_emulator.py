"""The emulator itself, driven by a plain discord.py client (not the Møteplass bot)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.emulator import Emulator
from tests.emulator import permissions as P
from tests.emulator.client import connect_client, pointed_at, stop_client
from tests.emulator.models import ChannelRef, GuildRef, UserRef


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Text", custom_id="fb:text")
    where: discord.ui.Label[Any] = discord.ui.Label(
        text="Where", component=discord.ui.TextInput(custom_id="fb:where")
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        where = self.where.component
        assert isinstance(where, discord.ui.TextInput)
        await interaction.response.send_message(
            f"thanks: {self.text.value} @ {where.value}", ephemeral=True
        )


class PanelView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Join", custom_id="panel:join")
    async def join(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_message(f"joined {interaction.user.id}", ephemeral=True)

    @discord.ui.select(
        custom_id="panel:pick",
        options=[
            discord.SelectOption(label="A", value="a"),
            discord.SelectOption(label="B", value="b"),
        ],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.edit_message(content=f"picked {','.join(select.values)}")


class EmuClient(discord.Client):
    def __init__(self, **kwargs: Any) -> None:
        intents = discord.Intents.default()
        super().__init__(intents=intents, guild_ready_timeout=0.1, **kwargs)
        self.tree = app_commands.CommandTree(self)
        self.raw: list[tuple[str, discord.RawReactionActionEvent]] = []
        self.deleted: list[int] = []
        self.messages_seen: list[discord.Message] = []
        self.ready_count = 0
        self.late_errors: list[Exception] = []
        build_tree(self)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # no 5 s wait before re-identifying in tests

    async def setup_hook(self) -> None:
        self.add_view(PanelView())

    async def on_ready(self) -> None:
        self.ready_count += 1

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw.append(("add", payload))

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw.append(("remove", payload))

    async def on_message(self, message: discord.Message) -> None:
        if message.author.id != emu_bot_id(self):
            self.messages_seen.append(message)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        self.deleted.append(payload.message_id)


def emu_bot_id(client: discord.Client) -> int:
    return client.user.id if client.user is not None else 0


def build_tree(client: EmuClient) -> None:
    tree = client.tree

    @tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    @tree.command(name="announce", description="Public answer")
    async def announce(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("hello all")

    @tree.command(name="slow", description="Deferred")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done later", ephemeral=True)

    @tree.command(name="later", description="Deferred then edited")
    async def later(interaction: discord.Interaction, role: discord.Role) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"role {role.name}")

    @tree.command(name="export", description="A file")
    async def export(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send(
            "your file",
            file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "meetings.csv"),
            ephemeral=True,
        )

    @tree.command(name="card", description="A file in the answer")
    async def card(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            file=discord.File(io.BytesIO(b"BEGIN:VCALENDAR"), "m.ics"), ephemeral=True
        )

    @tree.command(name="late", description="Too slow")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as exc:
            client.late_errors.append(exc)

    @tree.command(name="feedback", description="Modal")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @tree.command(name="panel", description="Buttons")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Panel", view=PanelView())

    group = app_commands.Group(name="meeting", description="Meetings")

    @group.command(name="show", description="Show")
    async def show(
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        who: discord.Member | None = None,
        count: int = 1,
    ) -> None:
        who_id = who.id if who is not None else None
        await interaction.response.send_message(
            f"{channel.mention} {count} {who_id} {interaction.locale.value}", ephemeral=True
        )

    @group.command(name="edit", description="Edit")
    async def edit(interaction: discord.Interaction, meeting: str) -> None:
        await interaction.response.send_message(f"editing {meeting}", ephemeral=True)

    @edit.autocomplete("meeting")
    async def meeting_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{current or 'any'} {n}", value=f"m{n}") for n in (1, 2)]

    tree.add_command(group)


@dataclass
class World:
    guild: GuildRef
    channel: ChannelRef
    kari: UserRef
    ola: UserRef


@pytest.fixture
def world(emu: Emulator) -> World:
    guild = emu.add_guild("Oslo", locale="no")
    channel = emu.add_channel(guild.id, "moteplass")
    kari = emu.add_member(guild.id, "kari")
    ola = emu.add_member(guild.id, "ola", locale="nb")
    return World(guild, channel, kari, ola)


@pytest.fixture
async def client(emu: Emulator, world: World) -> AsyncIterator[EmuClient]:
    with pointed_at(emu):
        bot = EmuClient()
        task = await connect_client(bot, emu)
        try:
            yield bot
        finally:
            await stop_client(bot, task)


def text_channel(client: discord.Client, channel_id: int) -> discord.TextChannel:
    channel = client.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def synced(client: EmuClient, emu: Emulator) -> None:
    await client.tree.sync()
    assert {c["name"] for c in emu.synced_commands()} >= {"ping", "meeting"}


# ---------------------------------------------------------------------- connection and messages
async def test_connect_ready_and_guild_visible(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    guild = client.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Oslo"
    assert guild.preferred_locale is discord.Locale.norwegian
    assert guild.me is not None and guild.me.id == emu.bot_user_id
    assert guild.default_role.id == world.guild.id
    channel = text_channel(client, world.channel.id)
    assert channel.permissions_for(guild.me).send_messages
    assert client.user is not None and client.user.id == emu.bot_user_id
    assert emu.identify_count == 1 and client.ready_count == 1
    assert emu.count_requests("GET", "/users/@me") == 1


async def test_autosharded_client_connects_through_gateway_bot(emu: Emulator, world: World) -> None:
    with pointed_at(emu):
        bot = discord.AutoShardedClient(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        task = await connect_client(bot, emu)
        try:
            assert bot.get_guild(world.guild.id) is not None
            assert emu.count_requests("GET", "/gateway/bot") == 1
            assert emu.identify_payloads[-1]["shard"] == [0, 1]
        finally:
            await stop_client(bot, task)


async def test_send_message_and_read_it_back(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    channel = text_channel(client, world.channel.id)
    sent = await channel.send(
        f"hei <@{world.kari.id}>",
        embed=discord.Embed(title="Møte", description="tirsdag"),
        allowed_mentions=discord.AllowedMentions.none(),
    )
    stored = emu.message(world.channel.id, sent.id)
    assert stored is not None and stored["content"].startswith("hei")
    assert stored["embeds"][0]["title"] == "Møte"
    assert stored["mentions"] == []  # allowed_mentions none: nobody pinged
    assert emu.allowed_mentions(sent.id) == {"parse": []}
    fetched = await channel.fetch_message(sent.id)
    assert fetched.embeds[0].description == "tirsdag"
    reply = await fetched.reply("svar", mention_author=False)
    assert reply.reference is not None and reply.reference.message_id == sent.id
    history = [m.id async for m in channel.history(limit=10)]
    assert history == [reply.id, sent.id]
    file_msg = await channel.send(file=discord.File(io.BytesIO(b"x,y"), "a.csv"))
    assert await file_msg.attachments[0].read() == b"x,y"
    edited = await sent.edit(content="endret")
    assert edited.content == "endret" and emu.message(world.channel.id, sent.id)["edited_timestamp"]  # type: ignore[index]


async def test_kill_points_fire_before_or_after_the_nth_matching_request(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    """`kill_on`: after=True lets the request take effect first; after=False stops it."""
    channel = text_channel(client, world.channel.id)
    seen: list[str] = []
    after = emu.kill_on(
        "POST",
        "/channels/{channel_id}/messages",
        lambda record: seen.append(f"after {record.json['content']}"),
        nth=2,
        where=lambda record: (record.json or {}).get("content", "").startswith("a"),
    )
    await channel.send("a1")
    await channel.send("b1")  # not matched by `where`
    await channel.send("a2")  # took effect, then the "crash" (a dead bot never reads the answer)
    assert after.fired.is_set() and seen == ["after a2"]
    assert [m["content"] for m in emu.messages(world.channel.id)] == ["a1", "b1", "a2"]
    before = emu.kill_on(
        "POST", "/channels/{channel_id}/messages", lambda r: seen.append("before"), after=False
    )
    with pytest.raises(discord.HTTPException):
        await channel.send("a3")
    assert before.fired.is_set() and seen[-1] == "before"
    assert len(emu.messages(world.channel.id)) == 3  # not handled
    await channel.send("a4")  # each point fires once
    assert len(emu.messages(world.channel.id)) == 4


async def test_raw_reaction_events_are_received(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    sent = await text_channel(client, world.channel.id).send("RSVP")
    await sent.add_reaction("✅")
    await emu.react(world.channel.id, sent.id, world.kari.id, "✅")
    await emu.react(world.channel.id, sent.id, world.kari.id, "party:123456789012345678")
    await emu.unreact(world.channel.id, sent.id, world.kari.id, "✅")
    await emu.wait_until(lambda: len(client.raw) == 4)
    kinds = [(kind, p.user_id, str(p.emoji)) for kind, p in client.raw]
    assert kinds[0] == ("add", emu.bot_user_id, "✅")  # the bot sees its own reactions
    assert kinds[1:] == [
        ("add", world.kari.id, "✅"),
        ("add", world.kari.id, "<:party:123456789012345678>"),
        ("remove", world.kari.id, "✅"),
    ]
    add = client.raw[1][1]
    assert add.member is not None and add.member.id == world.kari.id
    assert add.guild_id == world.guild.id and add.burst is False
    assert emu.reactions(world.channel.id, sent.id) == {
        "✅": [emu.bot_user_id],
        "party:123456789012345678": [world.kari.id],
    }


async def test_one_session_serves_many_servers(emu: Emulator, world: World) -> None:
    """One gateway session carries every server the bot is in (one READY with a stub per
    server, then a GUILD_CREATE each), and events of any of them arrive on it."""
    others = [emu.add_guild(f"Region {n}") for n in range(40)]
    channels = [emu.add_channel(g.id, "moter") for g in others]
    people = [emu.add_member(g.id, f"m{n}") for n, g in enumerate(others)]
    with pointed_at(emu):
        bot = EmuClient()
        task = await connect_client(bot, emu)
        try:
            assert emu.identify_count == 1
            assert {g.id for g in bot.guilds} == {world.guild.id, *(g.id for g in others)}
            posted = [
                emu.post_message(c.id, p.id, "RSVP") for c, p in zip(channels, people, strict=True)
            ]
            sent = await emu.react_many(
                [
                    (c.id, int(m["id"]), p.id, "✅", True)
                    for c, m, p in zip(channels, posted, people, strict=True)
                ]
            )
            assert len(sent) == len(others)
            await emu.wait_until(lambda: len(bot.raw) == len(others))
            assert {p.guild_id for _, p in bot.raw} == {g.id for g in others}
        finally:
            await stop_client(bot, task)


async def test_reaction_users_are_paged_by_100(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    sent = await text_channel(client, world.channel.id).send("Big meeting")
    users = [emu.add_user(f"u{n}").id for n in range(250)]
    for uid in reversed(users):  # reaction order differs from id order
        emu.add_reaction(world.channel.id, sent.id, uid, "✅", dispatch=False)
    message = await text_channel(client, world.channel.id).fetch_message(sent.id)
    assert message.reactions[0].count == 250
    seen = [u.id async for u in message.reactions[0].users(limit=None)]
    assert len(seen) == 250 and set(seen) == set(users)
    pages = emu.find_requests(
        "GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"
    )
    assert len(pages) == 3
    ordered = sorted(users)
    assert [r.query.get("after") for r in pages] == [None, str(ordered[99]), str(ordered[199])]


# ---------------------------------------------------------------------- interactions
async def test_slash_command_round_trips(client: EmuClient, emu: Emulator, world: World) -> None:
    await synced(client, emu)
    ping = await emu.invoke(world.guild.id, world.kari.id, "ping")
    assert (ping.response_type, ping.content, ping.ephemeral) == (4, "pong", True)
    assert ping.latency < 1
    assert emu.messages(world.channel.id) == []  # ephemeral answers are not in the channel

    public = await emu.invoke(world.guild.id, world.kari.id, "announce")
    assert not public.ephemeral
    [posted] = emu.messages(world.channel.id)
    assert posted["content"] == "hello all" and posted["interaction_metadata"]["user"]["id"] == str(
        world.kari.id
    )

    show = await emu.invoke(
        world.guild.id,
        world.ola.id,
        "meeting show",
        options={"channel": world.channel.id, "who": world.kari.id, "count": 3},
    )
    assert show.content == f"<#{world.channel.id}> 3 {world.kari.id} nb"

    slow = await emu.invoke(world.guild.id, world.kari.id, "slow")
    assert slow.response_type == 5 and slow.ephemeral
    assert slow.content == "done later" and len(slow.followups) == 1

    organisers = emu.add_role(world.guild.id, "Arrangør")
    later = await emu.invoke(
        world.guild.id, world.kari.id, "later", options={"role": organisers.id}
    )
    assert later.response_type == 5 and not later.ephemeral and later.content == "role Arrangør"
    assert emu.messages(world.channel.id)[-1]["content"] == "role Arrangør"

    export = await emu.invoke(world.guild.id, world.kari.id, "export")
    assert export.ephemeral and export.files == [("meetings.csv", b"a,b\n1,2\n")]
    card = await emu.invoke(world.guild.id, world.kari.id, "card")
    assert card.response_type == 4 and card.files == [("m.ics", b"BEGIN:VCALENDAR")]

    choices = await emu.autocomplete(
        world.guild.id, world.kari.id, "meeting edit", focused="meeting", value="tir"
    )
    assert [c["value"] for c in choices] == ["m1", "m2"] and choices[0]["name"] == "tir 1"
    assert emu.count_requests("POST", "/interactions/{interaction_id}/{token}/callback") == 8


async def test_late_answer_is_refused_with_10062(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    await synced(client, emu)
    emu.interaction_deadline = 0.1
    res = await emu.invoke(world.guild.id, world.kari.id, "late")
    assert res.error is not None and res.error[1] == 10062
    await emu.wait_until(lambda: client.late_errors)
    assert client.late_errors[0].code == 10062  # type: ignore[attr-defined]


async def test_modal_submit(client: EmuClient, emu: Emulator, world: World) -> None:
    await synced(client, emu)
    res = await emu.invoke(world.guild.id, world.kari.id, "feedback")
    assert res.response_type == 9 and res.modal is not None and res.modal["title"] == "Feedback"
    done = await emu.submit_modal(res, world.kari.id, {"fb:text": "bra", "fb:where": "Oslo"})
    assert done.content == "thanks: bra @ Oslo" and done.ephemeral


async def test_button_and_select_on_a_persistent_view(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    await synced(client, emu)
    await emu.invoke(world.guild.id, world.kari.id, "panel")
    [panel] = emu.messages(world.channel.id)
    pressed = await emu.press_button(world.channel.id, int(panel["id"]), world.ola.id, "panel:join")
    assert pressed.content == f"joined {world.ola.id}" and pressed.ephemeral
    picked = await emu.select(world.channel.id, int(panel["id"]), world.ola.id, "panel:pick", ["b"])
    assert picked.response_type == 7
    assert emu.message(world.channel.id, int(panel["id"]))["content"] == "picked b"  # type: ignore[index]


# ---------------------------------------------------------------------- faults and errors
async def test_injected_429_is_retried(client: EmuClient, emu: Emulator, world: World) -> None:
    emu.inject("POST", "/channels/{channel_id}/messages", status=429, retry_after=0.2)
    started = time.monotonic()
    sent = await text_channel(client, world.channel.id).send("after a 429")
    assert time.monotonic() - started >= 0.2
    assert [r.status for r in emu.find_requests("POST", "/channels/{channel_id}/messages")] == [
        429,
        200,
    ]
    assert emu.message(world.channel.id, sent.id) is not None


async def test_injected_503_is_raised_at_once(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    emu.inject("POST", r"/channels/\d+/messages", status=503)
    with pytest.raises(discord.DiscordServerError):
        await text_channel(client, world.channel.id).send("x")


async def test_edit_bucket_makes_the_client_wait(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    emu.enable_edit_bucket(2, 0.3)
    sent = await text_channel(client, world.channel.id).send("0")
    started = time.monotonic()
    for n in range(1, 6):
        await sent.edit(content=str(n))
    assert time.monotonic() - started >= 0.5
    assert all(
        r.status == 200
        for r in emu.find_requests("PATCH", "/channels/{channel_id}/messages/{message_id}")
    )


async def test_drop_gateway_resumes_and_replays(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    sent = await text_channel(client, world.channel.id).send("RSVP")
    await emu.drop_gateway()
    emu.add_reaction(world.channel.id, sent.id, world.kari.id, "✅")  # while disconnected
    await emu.wait_for_resume()
    await emu.wait_until(lambda: client.raw)
    assert client.raw[0][1].user_id == world.kari.id
    assert emu.identify_count == 1 and emu.resume_count == 1


async def test_invalid_session_means_a_new_identify_without_replay(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    sent = await text_channel(client, world.channel.id).send("RSVP")
    await emu.invalidate_session()
    emu.add_reaction(world.channel.id, sent.id, world.kari.id, "✅")  # lost: no session
    await emu.wait_for_ready(count=2)
    await emu.wait_until(lambda: client.ready_count == 2)
    await emu.react(world.channel.id, sent.id, world.ola.id, "✅")
    await emu.wait_until(lambda: client.raw)
    assert [p.user_id for _, p in client.raw] == [world.ola.id]
    assert emu.identify_count == 2
    assert emu.reactions(world.channel.id, sent.id)["✅"] == [world.kari.id, world.ola.id]


async def test_closed_dms_give_50007(client: EmuClient, emu: Emulator, world: World) -> None:
    user = await client.fetch_user(world.kari.id)
    await user.send("hei")
    assert [m["content"] for m in emu.dm_messages(world.kari.id)] == ["hei"]
    emu.close_dms(world.kari.id)
    with pytest.raises(discord.Forbidden) as err:
        await user.send("igjen")
    assert err.value.code == 50007


async def test_channel_the_bot_cannot_write_to_gives_50013(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    secret = emu.add_channel(world.guild.id, "styret")
    emu.set_channel_overwrite(secret.id, emu.bot_user_id, deny=P.SEND_MESSAGES)
    await emu.wait_until(lambda: client.get_channel(secret.id) is not None)
    channel = text_channel(client, secret.id)
    guild = client.get_guild(world.guild.id)
    assert guild is not None
    await emu.wait_until(lambda: not channel.permissions_for(guild.me).send_messages)
    with pytest.raises(discord.Forbidden) as err:
        await channel.send("x")
    assert err.value.code == 50013


async def test_deleted_message_gives_10008(client: EmuClient, emu: Emulator, world: World) -> None:
    sent = await text_channel(client, world.channel.id).send("RSVP")
    emu.delete_message(world.channel.id, sent.id)
    await emu.wait_until(lambda: sent.id in client.deleted)
    with pytest.raises(discord.NotFound) as err:
        await sent.edit(content="x")
    assert err.value.code == 10008


async def test_old_message_edits_are_capped_with_30046(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    emu.old_message_edit_limit = 1
    sent = await text_channel(client, world.channel.id).send("RSVP")
    await sent.edit(content="fresh edits are free")
    await sent.edit(content="fresh edits are free 2")
    emu.age_message(world.channel.id, sent.id, hours=2)
    await sent.edit(content="one old edit")
    with pytest.raises(discord.HTTPException) as err:
        await sent.edit(content="two old edits")
    assert err.value.status == 400 and err.value.code == 30046


async def test_unknown_route_is_404_and_recorded(client: EmuClient, emu: Emulator) -> None:
    with pytest.raises(discord.NotFound):
        await client.http.request(discord.http.Route("GET", "/stickers/{sticker_id}", sticker_id=1))
    assert emu.unknown_routes and emu.unknown_routes[0].path == "/stickers/1"


async def test_react_many_returns_dispatch_times(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    sent = await text_channel(client, world.channel.id).send("Bench")
    users = [emu.add_member(world.guild.id, f"m{n}").id for n in range(20)]
    times = await emu.react_many([(world.channel.id, sent.id, u, "✅", True) for u in users])
    assert len(times) == 20 and times == sorted(times)
    await emu.wait_until(lambda: len(client.raw) == 20)


async def test_answer_delayed_past_the_window_is_refused(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    await synced(client, emu)
    emu.interaction_deadline = 0.2
    emu.inject("POST", "/interactions/{interaction_id}/{token}/callback", delay=0.3)
    res = await emu.invoke(world.guild.id, world.kari.id, "ping")
    assert res.error is not None and res.error[1] == 10062


async def test_private_thread_members_and_archiving(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    channel = text_channel(client, world.channel.id)
    thread = await channel.create_thread(
        name="Oppfølging", type=discord.ChannelType.private_thread, invitable=False
    )
    assert thread.type is discord.ChannelType.private_thread and not thread.invitable
    await thread.add_user(discord.Object(world.kari.id))
    await thread.send("hei")
    assert emu.thread_member_ids(thread.id) == [emu.bot_user_id, world.kari.id]
    assert [m["content"] for m in emu.messages(thread.id)] == ["hei"]
    await emu.wait_until(lambda: client.get_channel(thread.id) is not None)
    archived = await thread.edit(archived=True, locked=True)
    assert archived.archived and archived.locked
    with pytest.raises(discord.HTTPException) as err:
        await thread.send("closed")
    assert err.value.code == 50083
    emu.set_channel_overwrite(world.channel.id, emu.bot_user_id, deny=P.CREATE_PRIVATE_THREADS)
    with pytest.raises(discord.Forbidden) as forbidden:
        await channel.create_thread(name="x", type=discord.ChannelType.private_thread)
    assert forbidden.value.code == 50013


async def test_scheduled_events(client: EmuClient, emu: Emulator, world: World) -> None:
    from datetime import UTC, datetime, timedelta

    guild = client.get_guild(world.guild.id)
    assert guild is not None
    start = datetime.now(UTC) + timedelta(days=3)

    async def event_in_oslo(name: str, hours: int) -> discord.ScheduledEvent:
        return await guild.create_scheduled_event(
            name=name,
            start_time=start,
            end_time=start + timedelta(hours=hours),
            entity_type=discord.EntityType.external,
            location="Oslo",
            privacy_level=discord.PrivacyLevel.guild_only,
        )

    event = await event_in_oslo("Frokostmøte", 2)
    [stored] = emu.scheduled_events(world.guild.id)
    assert stored["entity_metadata"] == {"location": "Oslo"} and stored["status"] == 1
    await emu.wait_until(lambda: guild.get_scheduled_event(event.id) is not None)
    await event.edit(name="Lunsjmøte")
    assert emu.scheduled_events(world.guild.id)[0]["name"] == "Lunsjmøte"
    await event.cancel()
    assert emu.scheduled_events(world.guild.id)[0]["status"] == 4
    await event.delete()
    assert emu.scheduled_events(world.guild.id) == []
    with pytest.raises(discord.NotFound) as err:
        await guild.fetch_scheduled_event(event.id)
    assert err.value.code == 10070
    emu.set_bot_permissions(world.guild.id, P.VIEW_CHANNEL | P.SEND_MESSAGES)
    with pytest.raises(discord.Forbidden):
        await event_in_oslo("x", 1)


async def test_requests_without_a_bot_token_are_401(emu: Emulator) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{emu.api_base}/users/@me") as resp:
        assert resp.status == 401
        assert resp.headers["Content-Type"] == "application/json"
        assert (await resp.json())["code"] == 0


async def test_member_messages_arrive_without_content_intent(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    received = client.messages_seen
    emu.post_message(world.channel.id, world.kari.id, "secret")
    emu.post_message(world.channel.id, world.kari.id, f"<@{emu.bot_user_id}> hei")
    await emu.wait_until(lambda: len(received) == 2)
    assert [m.content for m in received] == ["", f"<@{emu.bot_user_id}> hei"]
    assert received[0].author.id == world.kari.id


async def test_pins_and_overwrites(client: EmuClient, emu: Emulator, world: World) -> None:
    channel = text_channel(client, world.channel.id)
    sent = await channel.send("pin me")
    await sent.pin()
    pins = [m async for m in channel.pins()]
    assert [m.id for m in pins] == [sent.id] and emu.message(world.channel.id, sent.id)["pinned"]  # type: ignore[index]
    emu.set_bot_permissions(world.guild.id, P.DEFAULT_BOT | P.MANAGE_ROLES)
    hidden = emu.add_role(world.guild.id, "Skjult")
    emu.update_member(world.guild.id, world.kari.id, roles=[hidden.id])
    guild = client.get_guild(world.guild.id)
    assert guild is not None
    role = await emu.wait_until(lambda: guild.get_role(hidden.id))
    await channel.set_permissions(role, view_channel=False)
    assert not emu.permissions_in(world.channel.id, world.kari.id) & P.VIEW_CHANNEL
    assert emu.permissions_in(world.channel.id, world.ola.id) & P.VIEW_CHANNEL
    await emu.wait_until(lambda: channel.overwrites_for(role).view_channel is False)


async def test_op7_reconnect_resumes(client: EmuClient, emu: Emulator, world: World) -> None:
    sent = await text_channel(client, world.channel.id).send("RSVP")
    await emu.send_reconnect()
    await emu.wait_for_resume()
    await emu.react(world.channel.id, sent.id, world.kari.id, "✅")
    await emu.wait_until(lambda: client.raw)
    assert emu.identify_count == 1


async def test_callback_twice_is_40060_and_unknown_is_10062(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    import aiohttp

    await synced(client, emu)
    res = await emu.invoke(world.guild.id, world.kari.id, "ping")
    url = f"{emu.api_base}/interactions/{res.interaction_id}/{res.token}/callback"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 40060
        bad = f"{emu.api_base}/interactions/{res.interaction_id}/nope/callback"
        async with session.post(bad, json={"type": 4, "data": {"content": "x"}}) as resp:
            assert resp.status == 404 and (await resp.json())["code"] == 10062


async def test_edit_bucket_429_carries_via_and_is_retried(
    client: EmuClient, emu: Emulator, world: World
) -> None:
    emu.enable_edit_bucket(1, 0.2)
    sent = await text_channel(client, world.channel.id).send("0")
    emu.edit_bucket_take(world.channel.id)  # someone else used the bucket: the next edit gets a 429
    await sent.edit(content="1")
    statuses = [
        r.status for r in emu.find_requests("PATCH", "/channels/{channel_id}/messages/{message_id}")
    ]
    assert statuses == [429, 200]


async def test_command_in_the_bots_dm(client: EmuClient, emu: Emulator, world: World) -> None:
    await synced(client, emu)
    res = await emu.invoke(None, world.kari.id, "ping")
    assert res.content == "pong" and res.ephemeral
    assert res.record.payload["context"] == 1 and "user" in res.record.payload
