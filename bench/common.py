"""Pieces the benchmarks share: the bot as they run it, servers like a region's, the one
meeting an RSVP burst goes to, the answers stored, and the time each answer was committed
(and so its latency).

`emu` is the in-process `Emulator` or the `EmulatorProcess` (driven over its control
endpoint); `invoker(emu)` runs a slash command on either.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.clock import Clock, SystemClock
from bot.domain.meeting import Meeting
from bot.domain.rsvp import Choice
from bot.i18n import Catalog
from bot.services.meetings import MeetingService
from bot.storage.meetings import MeetingRepository
from tests.e2e.conftest import ADMINISTRATOR, BotRunner
from tests.emulator import Emulator

Invoke = Callable[..., Awaitable[Any]]
Answer = tuple[int, Choice, bool]  # (user id, choice, added)

# The meeting every RSVP burst answers.
BENCH_MEETING = {"title": "Bench", "date": "4.3.2027", "start": "08:30", "end": "10:00"}


def bench_runner(
    emu: Any, db_path: Path, catalog: Catalog | None = None, clock: Clock | None = None
) -> BotRunner:
    """The real bot on `db_path` (not started): the shipped catalogue and the real clock
    unless given, at most one embed edit a second per meeting."""
    runner = BotRunner(emu, db_path, catalog or Catalog.load(), clock or SystemClock())
    runner.settings = runner.settings.model_copy(update={"embed_edit_interval": 1.0})
    return runner


def invoker(emu: Any) -> Invoke:
    """`invoke(guild_id, user_id, command, options=...)` on the emulator or its process."""
    if isinstance(emu, Emulator):
        return emu.invoke
    return functools.partial(emu.call, "invoke")


def add_servers(emu: Emulator, count: int, members: int) -> list[tuple[Any, Any, Any, list[int]]]:
    """`count` servers (`Region n`), each with a meetings channel, an admin and `members`
    members: (guild, channel, admin, member ids) each."""
    servers = []
    for g in range(count):
        guild = emu.add_guild(f"Region {g}", locale="no")
        channel = emu.add_channel(guild.id, "moter")
        admin = emu.add_member(guild.id, "admin", permissions=ADMINISTRATOR)
        people = [emu.add_member(guild.id, f"m{g}-{n}").id for n in range(members)]
        servers.append((guild, channel, admin, people))
    return servers


async def configure_english(emu: Any, guild_id: int, admin_id: int, channel_id: int) -> None:
    """`/setup configure`: announcements in `channel_id`, the server in English."""
    await invoker(emu)(
        guild_id,
        admin_id,
        "setup configure",
        options={"announce_channel": channel_id, "language": "en"},
    )


async def bench_meeting(
    runner: BotRunner, emu: Any, guild_id: int, admin_id: int, channel_id: int
) -> tuple[Meeting, int]:
    """The server configured (`configure_english`) and `BENCH_MEETING` announced: the
    meeting and its announcement's message id, once the bot has settled."""
    await configure_english(emu, guild_id, admin_id, channel_id)
    await invoker(emu)(guild_id, admin_id, "meeting create", options=BENCH_MEETING)
    assert runner.bot is not None and runner.db is not None
    await runner.bot.wait_until_settled()
    meeting = (await MeetingRepository(runner.db).list_upcoming(guild_id, runner.clock.now()))[0]
    assert meeting.message_id is not None
    return meeting, meeting.message_id


def stored_answers(db_path: Path) -> dict[tuple[int, int], str]:
    """Every stored answer, read from the file: (announcement message id, user id) → status."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT m.message_id, r.user_id, r.status FROM rsvps r "
            "JOIN meetings m ON m.id = r.meeting_id"
        ).fetchall()
    return {(int(m), int(u)): s for m, u, s in rows}


def after_each_answer(service: MeetingService, hook: Callable[[int, Choice, bool], None]) -> None:
    """Call `hook(user_id, choice, added)` each time the service has committed an answer."""
    original = service._answered

    def hooked(meeting_id: int, user_id: int, choice: Choice, added: bool, outcome: object) -> None:
        original(meeting_id, user_id, choice, added, outcome)  # type: ignore[arg-type]
        if not isinstance(outcome, BaseException):
            hook(user_id, choice, added)

    service._answered = hooked  # type: ignore[method-assign]


def time_answers(
    service: MeetingService, count: int | None = None
) -> tuple[dict[Answer, deque[float]], asyncio.Event]:
    """When the service committed each answer (`time.perf_counter()`, per answer in the
    order committed), and an event set once `count` answers have been (if given)."""
    done: dict[Answer, deque[float]] = defaultdict(deque)
    all_done = asyncio.Event()
    finished = 0

    def committed(user_id: int, choice: Choice, added: bool) -> None:
        nonlocal finished
        done[(user_id, choice, added)].append(time.perf_counter())
        finished += 1
        if count is not None and finished >= count:
            all_done.set()

    after_each_answer(service, committed)
    return done, all_done


def latencies_ms(
    plan: list[Answer], sent: list[float], done: dict[Answer, deque[float]]
) -> list[float]:
    """For each event of `plan` that was committed, the ms from its sending (`sent`, one
    time per event) to its commit (`time_answers`): the n-th of the same answer is matched
    with the n-th commit of it."""
    latencies = []
    seen: Counter[Answer] = Counter()
    for key, at in zip(plan, sent, strict=True):
        queue = done.get(key)
        index = seen[key]
        seen[key] += 1
        if queue is not None and index < len(queue):
            latencies.append((queue[index] - at) * 1000)
    return latencies
