"""SIGKILL of the real bot process while it runs a rhythm slot's match round by itself:
the restarted bot finishes it, one round per slot, one report.

The process clock is moved (`CLOCK_START`) to just after two slots of an every-2-weeks
rhythm (seeded into the database with profiles), in the past of the real clock, so
Discord's message times (the emulator's, real) come after the slots as in production.
Slot one: killed at the round's first thread creation (the round is stored, its delivery
not done). Slot two: killed right after the report was posted (before it was marked).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.db import Database
from bot.domain.rhythm import slot_key
from bot.i18n import Catalog
from bot.storage.matches import MatchRepository, MatchSettings
from tests.crash.harness import BotProcess
from tests.crash.test_match_crashes import THREADS, check_delivered, seed
from tests.crash.test_meeting_crashes import rows
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure
from tests.emulator.models import RequestRecord

OSLO = ZoneInfo("Europe/Oslo")
MESSAGES = "/channels/{channel_id}/messages"


def two_slots() -> tuple[datetime, datetime]:
    """Two Mondays 09:00 Oslo two weeks apart, the later at least 10 minutes ago."""
    day = (datetime.now(UTC) - timedelta(minutes=10)).astimezone(OSLO).date()
    while True:
        due = datetime.combine(day, time(9, 0), OSLO)
        if day.weekday() == 0 and due <= datetime.now(UTC) - timedelta(minutes=10):
            second = due.astimezone(UTC)
            return second - timedelta(days=14), second
        day -= timedelta(days=1)


async def set_rhythm(process: BotProcess, world: World, anchor: datetime) -> None:
    db = await Database.open(process.db_path)
    try:
        await MatchRepository(db).save_settings(
            MatchSettings(
                world.guild.id,
                rhythm="every_2_weeks",
                rhythm_weekday=0,
                rhythm_time=time(9, 0),
                rhythm_anchor=anchor,
                rhythm_set_by=world.organiser.id,
                report_channel_id=world.announce.id,
            )
        )
    finally:
        await db.close()


async def test_rhythm_round_killed_mid_delivery_then_after_its_report_runs_once(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    head = catalog.text("en", "match.rhythm.report.title").split("{")[0]

    def report(record: RequestRecord) -> bool:
        return str((record.json or {}).get("content") or "").startswith(head)

    def reports() -> int:
        return sum((m["content"] or "").startswith(head) for m in emu.messages(world.announce.id))

    def rounds() -> list[Any]:
        return rows(process, "SELECT id, rhythm_slot FROM match_rounds ORDER BY id")

    emu = world.emu
    first, second = two_slots()
    await seed(process.db_path, world)
    process.env["CLOCK_START"] = (first - timedelta(days=1)).isoformat()
    await process.start()
    await configure(world)
    await process.stop()
    await set_rhythm(process, world, first - timedelta(days=1))

    steps = [
        (first, lambda: process.kill_on("POST", THREADS)),
        (second, lambda: process.kill_on("POST", MESSAGES, where=report)),
    ]
    for n, (slot, kill_point) in enumerate(steps, start=1):
        process.env["CLOCK_START"] = (slot + timedelta(minutes=1)).isoformat()
        await process.crash_during(kill_point(), process.start())
        # a minute on: each run's clock starts at CLOCK_START, and time does not go back
        process.env["CLOCK_START"] = (slot + timedelta(minutes=2)).isoformat()
        await process.start()
        found = rounds()
        assert [r["rhythm_slot"] for r in found][-1] == slot_key(world.guild.id, slot)
        assert len(found) == n, found
        check_delivered(process, world, found[-1]["id"])
        assert reports() == n
        await process.restart()  # a clean second start changes nothing
        assert len(rounds()) == n and reports() == n
        await process.stop()
    statuses = rows(
        process, "SELECT kind, status FROM deliveries WHERE kind LIKE 'match_rhythm%' ORDER BY id"
    )
    assert [tuple(r) for r in statuses] == [
        ("match_rhythm", "sent"),
        ("match_rhythm_report", "sent"),
    ] * 2
    assert not process.errors(), "\n".join(process.errors())
