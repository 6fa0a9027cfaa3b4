"""The emulator in its own process (`python -m tests.emulator`), driven over `/_control`
by a plain discord.py client, as the benchmarks use it."""

from __future__ import annotations

import asyncio
import os

import discord
import pytest
from discord import app_commands

from tests.emulator.client import connect_client, pointed_at, stop_client
from tests.emulator.control import ControlError, EmulatorProcess


async def test_emulator_process_serves_a_client_and_answers_control_calls() -> None:
    emu = await EmulatorProcess().start()
    try:
        guild = await emu.call("add_guild", "Oslo", locale="no")
        channel = await emu.call("add_channel", guild["id"], "moter")
        ids = await emu.call("add_members", guild["id"], [f"m{n}" for n in range(5)])
        assert len(ids) == 5
        await emu.call("enable_edit_bucket", limit=5, per=5.0)

        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        tree = app_commands.CommandTree(client)
        seen: list[tuple[int, str]] = []
        all_seen = asyncio.Event()

        async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
            seen.append((payload.user_id, str(payload.emoji)))
            if len(seen) == 5:
                all_seen.set()

        @tree.command(name="ping", description="ping")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            await interaction.followup.send("pong", ephemeral=True)

        client.on_raw_reaction_add = on_raw_reaction_add  # type: ignore[attr-defined]
        with pointed_at(emu):  # type: ignore[arg-type]
            task = await connect_client(client, emu)  # type: ignore[arg-type]
            try:
                await tree.sync()
                message = await client.get_partial_messageable(channel["id"]).send("hello")
                before = await emu.call("request_count")
                await message.edit(content="hello again")
                assert await emu.call("edit_stats", before) == {
                    "edits": 1,
                    "refused": 0,
                    "requests": before + 1,
                }
                sent = await emu.call(
                    "react_many",
                    [[channel["id"], message.id, uid, "✅", True] for uid in ids],
                    rate=100,  # 100 per second: spread over 40 ms
                )
                assert len(sent) == 5 and sent[-1] - sent[0] >= 0.035
                await asyncio.wait_for(all_seen.wait(), 5)
                assert seen == [(uid, "✅") for uid in ids]

                result = await emu.call("invoke", guild["id"], ids[0], "ping")
                assert result["response_type"] == 5 and result["followups"] == 1
                assert result["created"] <= result["callback_time"] <= result["answered_time"]

                calls = [{"guild_id": guild["id"], "user_id": ids[1], "command": "ping"}]
                await emu.call("start_invoking", "p", calls, 0.02)
                await asyncio.sleep(0.15)
                paced = await emu.call("stop_invoking", "p")
                assert len(paced) >= 3
                assert all(r["followups"] == 1 and r["error"] is None for r in paced)
            finally:
                await stop_client(client, task)

        with pytest.raises(ControlError, match="no control method"):
            await emu.call("_dispatch", "READY", {}, None)
        batch = await emu.batch([("request_count", [], {}), ("embed_fields", [1, 2], {})])
        assert batch[1] == []
    finally:
        pid = emu.pid
        await emu.stop()
    with pytest.raises(ProcessLookupError):  # stopped and reaped: nothing left behind
        os.kill(pid, 0)
