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
def process_env() -> dict[str, str]:
    """More settings for the bot process (environment variables); a module overrides this.
    Rounds are computed in a thread here: the kill points are the bot's own steps, and the
    child process's path has its own end-to-end tests (tests/e2e/test_match_child.py)."""
    return {"MATCH_IN_CHILD_PROCESS": "false"}


@pytest.fixture
async def process(
    emu: Emulator, world: World, tmp_path: Path, process_env: dict[str, str]
) -> AsyncIterator[BotProcess]:
    """The bot as a process on `tmp_path/moteplass.db`, commands synced to the world's guild;
    not started (call `await process.start()`)."""
    async with bot_process(
        emu, tmp_path / "moteplass.db", sync_guilds=[world.guild.id], env=process_env
    ) as p:
        yield p
