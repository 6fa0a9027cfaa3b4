"""Crash fixtures: the emulator and the usual server (from tests/e2e), and the bot process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.crash.harness import BotProcess, bot_process
from tests.e2e.conftest import World, emu, world
from tests.emulator import Emulator

__all__ = ["emu", "process", "world"]


@pytest.fixture
async def process(emu: Emulator, world: World, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """The bot as a process on `tmp_path/moteplass.db`, commands synced to the world's guild;
    not started (call `await process.start()`)."""
    async with bot_process(emu, tmp_path / "moteplass.db", sync_guilds=[world.guild.id]) as p:
        yield p
