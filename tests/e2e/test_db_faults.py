"""The database under faults, with the real bot and a real SQLite file: locked by another
process for a while, and full. Writes wait or fail whole, the person is told in their
language, reactions are not lost, and the bot keeps running."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.rsvp import EMOJI, Choice
from bot.i18n import Catalog
from bot.storage.guilds import GuildSettingsRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.rsvps import RsvpRepository
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import announced, create, wait_for_count
from tests.emulator import Emulator

GOING = EMOJI[Choice.GOING]


class Locker:
    """Another connection (a thread, like the sqlite3 shell or a backup tool) holding
    BEGIN EXCLUSIVE on the bot's file for `seconds`."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.path = path
        self.seconds = seconds
        self._held = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            self._held.set()
            time.sleep(self.seconds)
            conn.execute("COMMIT")
        finally:
            conn.close()

    async def __aenter__(self) -> Locker:
        self._thread.start()
        assert await asyncio.to_thread(self._held.wait, 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self._thread.join, 10)


def catalog_text(runner: BotRunner, lang: str, key: str) -> str:
    return runner.catalog.text(lang, key)


async def _language(runner: BotRunner, world: World) -> str:
    assert runner.db is not None
    return (await GuildSettingsRepository(runner.db).get(world.guild.id)).language


async def _set_language(world: World, language: str) -> str:
    res = await world.emu.invoke(
        world.guild.id,
        world.admin.id,
        "setup configure",
        options={"announce_channel": world.announce.id, "language": language},
    )
    return res.content


async def test_a_short_lock_is_waited_out(
    runner: BotRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Locked for 1 s (busy_timeout is 5 s): the command and a reaction just wait, with no
    reading again needed."""
    meeting = await announced(runner, world)
    assert runner.db is not None
    with caplog.at_level(logging.WARNING):
        async with Locker(runner.db.path, 1.0):
            react = asyncio.create_task(
                world.emu.react(world.announce.id, meeting.message_id, world.members[0].id, GOING)
            )
            content = await _set_language(world, "sv")
            await react
        await wait_for_count(RsvpRepository(runner.db), meeting.id, going=1)
    assert content == catalog_text(runner, "sv", "setup.saved")
    assert await _language(runner, world) == "sv"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "bot" in r.name]


async def test_reactions_while_the_file_is_locked_hold_no_handler_and_are_all_stored(
    runner: BotRunner, world: World
) -> None:
    """A burst while the database is busy: each reaction's handler has queued its answer
    and ended (no task per reaction waits on the database), one drainer waits, and every
    answer is stored once the lock is gone."""
    meeting = await announced(runner, world)
    assert runner.db is not None
    people = [world.emu.add_member(world.guild.id, f"p{n}") for n in range(30)]
    async with Locker(runner.db.path, 1.5):
        for person in people:
            await world.emu.react(world.announce.id, meeting.message_id, person.id, GOING)
        await asyncio.sleep(0.5)
        assert not [t for t in asyncio.all_tasks() if "on_raw_reaction" in t.get_name()]
        assert len(runner.services.meetings.answers.writing()) == 1
    await wait_for_count(RsvpRepository(runner.db), meeting.id, going=30)


async def test_a_lock_past_the_timeout_fails_clearly_and_reactions_are_reconciled(
    runner: BotRunner, world: World, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    meeting = await announced(runner, world)
    assert runner.db is not None
    await runner.db.set_busy_timeout(0.2)  # the lock outlasts it
    rsvps = RsvpRepository(runner.db)
    with caplog.at_level(logging.INFO):
        async with Locker(runner.db.path, 1.5):
            content = await _set_language(world, "sv")
            await world.emu.react(world.announce.id, meeting.message_id, world.members[0].id, GOING)
            await world.emu.react(world.announce.id, meeting.message_id, world.members[1].id, GOING)
            await asyncio.sleep(0.5)
            assert (await rsvps.counts(meeting.id)).going == 0
        # nothing half-saved; the answer is in the server's (unchanged) language
        assert content == catalog.text("en", "error.database_busy")
        assert await _language(runner, world) == "en"
        # the reactions are read again once the lock is gone
        await wait_for_count(rsvps, meeting.id, going=2)
    messages = [r.getMessage() for r in caplog.records]
    assert any("database busy in /setup configure" in m for m in messages)
    assert any(f"reaction on meeting {meeting.id} not stored (SQLITE_BUSY)" in m for m in messages)
    assert not runner.bot.is_closed() if runner.bot else False
    # and it works as before
    await runner.db.set_busy_timeout(5.0)
    await _set_language(world, "sv")
    assert await _language(runner, world) == "sv"


@pytest.fixture
async def small_pages(
    emu: Emulator, world: World, tmp_path: Path, catalog: Catalog
) -> AsyncIterator[BotRunner]:
    """The bot on a file with 512-byte pages: a meeting with a long description needs new
    pages (overflow), so a page limit makes it fail every time."""
    path = tmp_path / "moteplass.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 512")
    conn.execute("VACUUM")
    conn.close()
    from bot.clock import SystemClock

    bot_runner = BotRunner(emu, path, catalog, SystemClock())
    await bot_runner.start()
    try:
        yield bot_runner
    finally:
        await bot_runner.stop()


async def _integrity(runner: BotRunner) -> str:
    assert runner.db is not None
    return str(await runner.db.fetchval("PRAGMA integrity_check"))


async def test_a_full_disk_fails_whole_and_the_bot_recovers(
    small_pages: BotRunner, world: World, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    runner = small_pages
    first = await announced(runner, world, title="Først")
    assert runner.db is not None and runner.bot is not None
    await runner.bot.wait_until_settled()
    for _ in range(100):  # no free pages left to reuse (once no write of the bot is open)
        try:
            await runner.db.conn.execute("VACUUM")
            break
        except sqlite3.OperationalError:
            await asyncio.sleep(0.05)
    pages = int(await runner.db.fetchval("PRAGMA page_count"))
    await runner.db.conn.execute(f"PRAGMA max_page_count = {pages:d}")
    posted = len(world.emu.messages(world.announce.id))

    with caplog.at_level(logging.ERROR, logger="bot.tree"):
        res = await create(world, title="Andre", description="lang " * 200)
    assert catalog.text("en", "error.database_full") in res.content
    assert any("database full" in r.getMessage() for r in caplog.records)
    # nothing half-done: no meeting row, no announcement, a valid file, still connected
    meetings = await MeetingRepository(runner.db).list_upcoming(world.guild.id, runner.clock.now())
    assert [m.title for m in meetings] == ["Først"]
    assert len(world.emu.messages(world.announce.id)) == posted
    assert await _integrity(runner) == "ok"
    assert runner.bot is not None and not runner.bot.is_closed()
    # a reaction meanwhile is stored now or read again once there is space
    await world.emu.react(world.announce.id, first.message_id, world.members[0].id, GOING)

    await runner.db.conn.execute("PRAGMA max_page_count = 1073741823")  # space is back
    res = await create(world, title="Andre", description="lang " * 200)
    assert catalog.text("en", "meeting.created", title="Andre") in res.content
    meetings = await MeetingRepository(runner.db).list_upcoming(world.guild.id, runner.clock.now())
    assert sorted(m.title for m in meetings) == ["Andre", "Først"]
    await wait_for_count(RsvpRepository(runner.db), first.id, going=1)
    assert await _integrity(runner) == "ok"
