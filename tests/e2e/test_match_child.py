"""Match rounds computed in a child process (the shipped `match_in_child_process`): a round
made through the child end to end, a child killed mid-round (the organiser is told, nothing
is stored), and the bot process without numpy, rustworkx or scipy after a round and
/match me.

The other e2e tests' bots make rounds in a worker thread (tests/e2e/conftest.py)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.i18n import Catalog
from tests.crash.harness import bot_process
from tests.crash.test_match_crashes import last_round
from tests.crash.test_match_crashes import seed as seed_file
from tests.e2e.conftest import FAST_START, BotRunner, World
from tests.e2e.test_matching import bot_messages, last_groups, make_round, matches, seed, threads
from tests.e2e.test_meetings import configure
from tests.emulator import Emulator
from tests.texts import says

HEAVY = ("numpy", "rustworkx", "scipy")
SECTORS = ("business", "public_sector")


@pytest.fixture
async def child(
    emu: Emulator, world: World, tmp_path: Path, catalog: Catalog
) -> AsyncIterator[BotRunner]:
    """The real bot (in this process) making its rounds in a child process."""
    runner = BotRunner(
        emu, tmp_path / "moteplass.db", catalog, FakeClock(FAST_START), match_in_child_process=True
    )
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def seed_people(runner: BotRunner, world: World, count: int) -> None:
    while len(world.members) < count:
        world.members.append(world.emu.add_member(world.guild.id, f"extra{len(world.members)}"))
    for n, person in enumerate(world.members[:count]):
        await seed(runner, world, person, f"Person {n}", SECTORS[n % 2])


async def test_round_through_the_child_process_is_stored_and_delivered(
    child: BotRunner, world: World
) -> None:
    await configure(world)
    await seed_people(child, world, 5)
    res = await make_round(world)
    assert res.ephemeral and says("match.round.summary", res.content, people=5, groups=2)
    groups = await last_groups(child, world)
    assert sorted(len(g.members) for g in groups) == [2, 3]
    assert {m for g in groups for m in g.members} == {p.id for p in world.members[:5]}
    assert len(threads(world)) == 2
    for group in groups:
        assert group.delivered and group.thread_id is not None
        assert len(bot_messages(world, group.thread_id)) == 1
    assert multiprocessing.active_children() == []  # the child is gone


async def test_a_child_killed_mid_round_says_round_failed_and_stores_nothing(
    child: BotRunner, world: World
) -> None:
    await configure(world)
    await seed_people(child, world, 40)
    pending = asyncio.create_task(make_round(world))
    for _ in range(30_000):  # the worker exists once the round is submitted: kill it then
        if found := multiprocessing.active_children():
            break
        await asyncio.sleep(0.001)
    assert found, "no child process"
    for process in found:
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
    res = await pending
    assert res.ephemeral and says("match.error.round_failed", res.content), res.content
    assert await matches(child).last_round(world.guild.id) is None
    assert threads(world) == []
    assert multiprocessing.active_children() == []
    # the next round is made
    res = await make_round(world)
    assert says("match.round.summary", res.content, people=40, groups=20), res.content


def mapped(pid: int) -> list[str]:
    """The heavy libraries whose files the process has mapped (an import maps its .so)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name for name in HEAVY if f"/site-packages/{name}" in maps]


def children(pid: int) -> list[str]:
    """The command lines of the process's children."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return found


async def test_the_bot_process_has_no_solver_library_after_a_round_and_suggestions(
    emu: Emulator, world: World, tmp_path: Path
) -> None:
    """`python -m bot run` as shipped: a round made and /match me answered, and the process
    still without numpy, rustworkx or scipy, the round's child gone."""
    db_path = tmp_path / "moteplass.db"
    await seed_file(db_path, world, 6)
    async with bot_process(emu, db_path, sync_guilds=[world.guild.id]) as process:
        await process.start()
        await configure(world)
        res = await make_round(world)
        assert says("match.round.summary", res.content, people=6, groups=3), res.content
        assert last_round(process) == 1
        # /match me: suggestions need no numpy either
        me = await world.emu.invoke(world.guild.id, world.members[0].id, "match me", options={})
        assert me.ephemeral and me.embeds, me.content
        assert process.proc is not None
        assert mapped(process.proc.pid) == []
        # the round's worker is gone; multiprocessing's resource tracker stays (small)
        left = [c for c in children(process.proc.pid) if "resource_tracker" not in c]
        assert left == [], left
        assert not process.errors(), process.log_tail()
