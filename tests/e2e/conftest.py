"""End-to-end fixtures: the loopback emulator and the real bot, in-process, pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.bot import MoteplassBot
from bot.clock import Clock, FakeClock, SystemClock
from bot.db import Database
from bot.endpoints import apply_endpoints
from bot.i18n import Catalog
from bot.settings import Settings
from bot.wiring import Services
from tests.emulator import Emulator

TOKEN = "MTAxMDEw.Gtest.emulatortoken"

# Discord permission bits used by the tests.
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3


class BotRunner:
    """Starts, stops and restarts the real bot against the emulator, on one database file."""

    def __init__(
        self, emu: Emulator, db_path: Path, catalog: Catalog, clock: Clock, **settings: Any
    ) -> None:
        self.emu = emu
        self.db_path = db_path
        self.catalog = catalog
        self.clock = clock
        self.settings = Settings(
            discord_token=SecretStr(TOKEN),
            database_path=db_path,
            discord_api_base=emu.api_base,
            discord_gateway_url=emu.gateway_url,
            guild_ready_timeout=0.1,
            embed_edit_interval=0.05,
            identify_delay=0.05,
            # Rounds in a worker thread: no child start-up per round (test_match_child.py
            # makes rounds through the child process).
            **{"match_in_child_process": False, **settings},
        )
        self.bot: MoteplassBot | None = None
        self.db: Database | None = None
        self._task: asyncio.Task[None] | None = None
        self.starts = 0

    async def start(self, timeout: float = 15) -> MoteplassBot:
        apply_endpoints(self.emu.api_base, self.emu.gateway_url)
        self.db = await Database.open(self.db_path)
        self.bot = MoteplassBot(
            settings=self.settings, db=self.db, catalog=self.catalog, clock=self.clock
        )
        self._task = asyncio.create_task(self.bot.start(TOKEN))
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=timeout, return_when="FIRST_COMPLETED"
        )
        if self._task in done:
            ready.cancel()
            self._task.result()  # raises the start-up error
        if ready not in done:
            ready.cancel()
            raise TimeoutError("bot did not become ready")
        self.starts += 1
        await self.settle()
        return self.bot

    @property
    def services(self) -> Services:
        """The running bot's services."""
        assert self.bot is not None
        return self.bot.services

    @property
    def database(self) -> Database:
        """The running bot's database."""
        assert self.db is not None
        return self.db

    async def settle(self) -> None:
        """Let start-up work (reconciliation, job rebuilding) finish."""
        assert self.bot is not None
        waiter = getattr(self.bot, "wait_until_settled", None)
        if waiter is not None:
            await asyncio.wait_for(waiter(), timeout=15)
        await asyncio.sleep(0)

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)
        if self.db is not None:
            await self.db.close()
        self.bot = self.db = self._task = None

    async def restart(self) -> MoteplassBot:
        await self.stop()
        return await self.start()


async def eventually(
    read: Callable[[], Awaitable[Any]], expected: Any, *, tries: int = 200, pause: float = 0.02
) -> None:
    """Read until `read()` gives `expected` (`tries` times, `pause` s apart), else fail on
    the last read."""
    for _ in range(tries):
        if await read() == expected:
            return
        await asyncio.sleep(pause)
    assert await read() == expected


def clock(runner: BotRunner) -> FakeClock:
    """The runner's clock, for the tests that move it (the `fast` fixture)."""
    assert isinstance(runner.clock, FakeClock)
    return runner.clock


@dataclass
class World:
    """A server with the usual cast: an admin, an organiser, a few members, two channels."""

    emu: Emulator
    guild: Any
    announce: Any
    intro: Any
    organiser_role: Any
    admin: Any
    organiser: Any
    members: list[Any]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
def world(emu: Emulator) -> World:
    guild = emu.add_guild("Inkluderingsdagene Oslo", locale="no")
    announce = emu.add_channel(guild.id, "moter")
    intro = emu.add_channel(guild.id, "presentasjoner")
    organiser_role = emu.add_role(guild.id, "Arrangør", permissions=0)
    admin = emu.add_member(guild.id, "admin", permissions=ADMINISTRATOR | MANAGE_GUILD)
    organiser = emu.add_member(guild.id, "ola", roles=[organiser_role.id])
    members = [emu.add_member(guild.id, f"deltaker{n}") for n in range(5)]
    return World(emu, guild, announce, intro, organiser_role, admin, organiser, members)


@pytest.fixture
async def runner(
    emu: Emulator, world: World, tmp_path: Path, catalog: Catalog
) -> AsyncIterator[BotRunner]:
    bot_runner = BotRunner(emu, tmp_path / "moteplass.db", catalog, SystemClock())
    await bot_runner.start()
    try:
        yield bot_runner
    finally:
        await bot_runner.stop()


# A fixed start in 2027: jobs the services schedule at real wall-clock times never fire by
# themselves during a test; tests move this clock and call the services' `tick`/`run_*`.
FAST_START = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)  # Monday 1 February 2027, 09:00 in Oslo


@pytest.fixture
async def fast(
    emu: Emulator, world: World, tmp_path: Path, catalog: Catalog
) -> AsyncIterator[BotRunner]:
    """The real bot on a FakeClock starting at FAST_START."""
    bot_runner = BotRunner(emu, tmp_path / "moteplass.db", catalog, FakeClock(FAST_START))
    await bot_runner.start()
    try:
        yield bot_runner
    finally:
        await bot_runner.stop()
