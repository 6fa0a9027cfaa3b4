"""Pointing a discord.py client at the emulator, and running it in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from tests.emulator.emulator import Emulator

TOKEN = "MTAxMDEw.Gtest.emulatortoken"


@contextlib.contextmanager
def pointed_at(emu: Emulator) -> Iterator[None]:
    """Set `Route.BASE` and `DEFAULT_GATEWAY` to the emulator; restore them afterwards."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = emu.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


async def connect_client(
    client: discord.Client, emu: Emulator, *, token: str = TOKEN, timeout: float = 10
) -> asyncio.Task[None]:
    """Start `client` against the emulator (endpoints must already point at it) and wait
    for `on_ready`. Returns the task running `client.start`; stop with `stop_client`."""
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when="FIRST_COMPLETED")
    if task in done:
        ready.cancel()
        task.result()
        raise RuntimeError("client stopped before it was ready")
    if ready not in done:
        ready.cancel()
        task.cancel()
        raise TimeoutError("client did not become ready")
    return task


async def stop_client(client: discord.Client, task: asyncio.Task[Any] | None) -> None:
    await client.close()
    if task is not None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
