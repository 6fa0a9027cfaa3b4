"""SIGKILL of the real bot process around the monthly post: posted once, never twice.

The process clock is moved (`CLOCK_START`) to just after a 1st of the month 09:00 in Oslo
(the default plan), in the past of the real clock, so Discord's message times (the
emulator's, real) come after the post's due time as they do in production. The server is
set up in a first run whose clock is before that post time (a server set up later starts
with next month's post). Two months: killed before the first month's post, then after the
second month's; each start-up tick finishes what was cut off (a claim left by the crash is
taken over; the copy the dead process posted is looked for since the post time).

Both months are posted minutes apart on the real clock, so the first month's post lies
after the second month's due time: the order (before, then after) keeps that from looking
like the second month's copy, which on a real clock it never could.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Catalog
from tests.crash.harness import BotProcess
from tests.crash.test_meeting_crashes import rows
from tests.e2e.conftest import World
from tests.e2e.test_meetings import configure
from tests.emulator.models import RequestRecord

OSLO = ZoneInfo("Europe/Oslo")


def post_times(count: int) -> list[datetime]:
    """The last `count` monthly post times (1st, 09:00 Oslo) at least 10 minutes ago."""
    now = datetime.now(UTC) - timedelta(minutes=10)
    year, month = now.astimezone(OSLO).year, now.astimezone(OSLO).month
    found: list[datetime] = []
    while len(found) < count:
        due = datetime.combine(date(year, month, 1), time(9, 0), OSLO)
        if due <= now:
            found.append(due.astimezone(UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


async def test_monthly_post_killed_before_then_after_its_post_is_posted_once(
    process: BotProcess, world: World, catalog: Catalog
) -> None:
    title = catalog.text("en", "reminders.monthly.title")
    emu = world.emu

    def monthly(record: RequestRecord) -> bool:
        return title in str((record.json or {}).get("content") or "")

    def posts() -> int:
        return sum(title in (m["content"] or "") for m in emu.messages(world.announce.id))

    def ledger() -> list[tuple[str, str]]:
        found = rows(
            process,
            "SELECT offset_key, status FROM deliveries WHERE kind = 'monthly_post' "
            "ORDER BY offset_key",
        )
        return [(r[0], r[1]) for r in found]

    first, second = post_times(2)
    process.env["CLOCK_START"] = (first - timedelta(hours=1)).isoformat()
    await process.start()
    await configure(world)
    await process.stop()
    assert posts() == 0
    months = []
    for n, (due, after) in enumerate([(first, False), (second, True)]):
        process.env["CLOCK_START"] = (due + timedelta(minutes=1)).isoformat()
        point = process.kill_on(
            "POST", "/channels/{channel_id}/messages", after=after, where=monthly
        )
        await process.crash_during(point, process.start())
        assert posts() == n + int(after)
        # a minute on: each run's clock starts at CLOCK_START, and time does not go back
        process.env["CLOCK_START"] = (due + timedelta(minutes=2)).isoformat()
        await process.start()
        months.append(f"{due.astimezone(OSLO):%Y-%m}")
        assert posts() == n + 1
        assert ledger() == [(m, "sent") for m in months]
        await process.restart()  # a clean second start changes nothing
        assert posts() == n + 1
        await process.stop()
    assert not process.errors(), "\n".join(process.errors())
