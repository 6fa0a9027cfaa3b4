"""Matching on a rhythm end to end: `/match settings rhythm:` through the real client, the
slot's round made and delivered once, the report posted once, across restarts, an
interrupted claim, a slot found too late and the DST change.

The FakeClock starts on Monday 1 February 2027 at 09:00 in Oslo; the rhythm's jobs are at
real wall-clock times in 2027 and never fire by themselves: the tests move the clock and
call `tick()` (the job only wakes it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.rhythm import report_key, slot_key
from bot.i18n import Catalog
from bot.services.rhythm import JOB_PREFIX, ROUND_KIND, RhythmService
from bot.storage.deliveries import DeliveryRepository
from tests.e2e.conftest import FAST_START, BotRunner, World
from tests.e2e.test_matching import clock, matches, seed_four, threads
from tests.e2e.test_meetings import configure, create

# every 2 weeks on Mondays at 09:00, set at exactly 09:00 on Monday 1 February: that slot is
# not after the setting, so the first is Monday 8 February 09:00 Oslo (08:00 UTC)
SLOT = datetime(2027, 2, 8, 8, 0, tzinfo=UTC)
NEXT = SLOT + timedelta(days=14)
EVERY_2_WEEKS = {"rhythm": "every_2_weeks", "weekday": "monday", "time": "09:00"}


def rhythm(runner: BotRunner) -> RhythmService:
    return runner.services.rhythm


def ledger(runner: BotRunner) -> DeliveryRepository:
    return DeliveryRepository(runner.database)


async def settings(world: World, **options: Any) -> Any:
    return await world.emu.invoke(
        world.guild.id, world.organiser.id, "match settings", options=options
    )


def reports(catalog: Catalog, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rhythm reports among these messages (by the title's text before its time)."""
    head = catalog.text("en", "match.rhythm.report.title").split("{")[0]
    return [m for m in messages if (m.get("content") or "").startswith(head)]


async def rounds(runner: BotRunner, world: World) -> list[int]:
    assert runner.db is not None
    found = await runner.db.fetchall(
        "SELECT id FROM match_rounds WHERE guild_id = ? ORDER BY id", (world.guild.id,)
    )
    return [int(row["id"]) for row in found]


async def status(runner: BotRunner, world: World, key: str) -> str | None:
    row = await ledger(runner).get(world.guild.id, key)
    return None if row is None else row.status


def next_run(runner: BotRunner, world: World) -> datetime | None:
    assert runner.bot is not None
    job = runner.bot.scheduler.get_job(f"{JOB_PREFIX}{world.guild.id}")
    return None if job is None else job.next_run_time


async def test_a_rhythm_round_runs_once_per_slot_and_reports_once(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    await seed_four(fast, world)
    res = await settings(world, **EVERY_2_WEEKS, report_channel=world.announce.id)
    assert catalog.text("en", "match.rhythm.every_2_weeks") in res.content, res.content
    assert f"<t:{int(SLOT.timestamp())}:F>" in res.content  # the next slot is shown
    stored = await matches(fast).settings(world.guild.id)
    assert (stored.rhythm_anchor, stored.rhythm_set_by) == (FAST_START, world.organiser.id)
    assert stored.report_channel_id == world.announce.id
    assert next_run(fast, world) == SLOT  # one job per server, at its next slot

    clock(fast).set(SLOT - timedelta(minutes=1))
    await rhythm(fast).tick()
    assert await rounds(fast, world) == []

    clock(fast).set(SLOT + timedelta(minutes=5))
    await rhythm(fast).tick()
    await rhythm(fast).tick()
    [round_id] = await rounds(fast, world)
    made = await matches(fast).round_for_slot(world.guild.id, slot_key(world.guild.id, SLOT))
    assert made is not None and made.id == round_id and made.groups == 2
    assert len(threads(world)) == 2  # delivered, as /match round does
    assert len(reports(catalog, world.emu.messages(world.announce.id))) == 1
    assert await status(fast, world, slot_key(world.guild.id, SLOT)) == "sent"
    assert await status(fast, world, report_key(world.guild.id, SLOT)) == "sent"
    await rhythm(fast).sync()
    assert next_run(fast, world) == NEXT

    await fast.restart()
    await rhythm(fast).tick()
    assert len(await rounds(fast, world)) == 1
    assert len(threads(world)) == 2
    assert len(reports(catalog, world.emu.messages(world.announce.id))) == 1

    # the next slot found 7 hours late (the grace window is 6): skipped and recorded, not run
    clock(fast).set(NEXT + timedelta(hours=7))
    await rhythm(fast).tick()
    await rhythm(fast).tick()
    assert len(await rounds(fast, world)) == 1
    assert await status(fast, world, slot_key(world.guild.id, NEXT)) == "skipped"
    assert len(reports(catalog, world.emu.messages(world.announce.id))) == 1

    # off: no job, no round
    res = await settings(world, rhythm="off")
    assert catalog.text("en", "match.settings.rhythm_off") in res.content
    assert next_run(fast, world) is None


async def test_a_claim_cut_off_before_its_round_was_stored_makes_one_round(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    """The crash came between claiming the slot and saving its round: the next start takes
    the claim over (once) and makes the round, once; the report goes by DM to whoever set
    the rhythm (no report channel)."""
    await configure(world)
    await seed_four(fast, world)
    await settings(world, **EVERY_2_WEEKS)
    clock(fast).set(SLOT + timedelta(minutes=1))
    key = slot_key(world.guild.id, SLOT)
    claim = await ledger(fast).claim(
        world.guild.id, key, ROUND_KIND, due_at=SLOT, now=clock(fast).now()
    )
    assert claim is not None  # "crash"
    await rhythm(fast).tick()  # a live claim: not run twice
    assert await rounds(fast, world) == []
    clock(fast).advance(timedelta(minutes=1))
    await fast.restart()
    await fast.restart()
    await rhythm(fast).tick()
    assert len(await rounds(fast, world)) == 1
    assert len(threads(world)) == 2
    assert len(reports(catalog, world.emu.dm_messages(world.organiser.id))) == 1
    row = await ledger(fast).get(world.guild.id, key)
    assert row is not None and row.status == "sent" and row.stale_reclaims == 1


async def test_without_a_report_channel_the_project_lead_gets_the_report(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    """The handbook's project lead (`/team set role:project_lead`) gets the rhythm's report
    by DM, not whoever happened to set the rhythm."""
    await configure(world)
    await seed_four(fast, world)
    lead = world.members[4]  # not in the round (seed_four introduces members 0-3)
    res = await world.emu.invoke(
        world.guild.id,
        world.admin.id,
        "team set",
        options={"role": "project_lead", "member": lead.id},
    )
    assert res.ephemeral, res.content
    await settings(world, **EVERY_2_WEEKS)
    clock(fast).set(SLOT + timedelta(minutes=1))
    await rhythm(fast).tick()
    assert len(await rounds(fast, world)) == 1
    assert len(reports(catalog, world.emu.dm_messages(lead.id))) == 1
    assert reports(catalog, world.emu.dm_messages(world.organiser.id)) == []


async def test_rhythm_across_the_dst_change(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    """Sundays at 02:30 every 2 weeks: on 28 March 2027 (02:00 → 03:00 in Oslo) 02:30 does
    not exist and the round comes at 03:00 summer time (01:00 UTC: the end of the gap, as
    for every generated time); a fortnight later at 02:30 summer time (00:30 UTC). One round
    each."""
    await configure(world)
    await seed_four(fast, world)
    clock(fast).set(datetime(2027, 3, 8, 12, 0, tzinfo=UTC))
    await settings(world, rhythm="every_2_weeks", weekday="sunday", time="02:30")
    slots = [
        datetime(2027, 3, 14, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC),  # 03:00 CEST: the end of the gap
        datetime(2027, 4, 11, 0, 30, tzinfo=UTC),  # 02:30 CEST
    ]
    for n, slot in enumerate(slots, start=1):
        assert next_run(fast, world) == slot
        clock(fast).set(slot - timedelta(minutes=1))
        await rhythm(fast).tick()
        assert len(await rounds(fast, world)) == n - 1
        clock(fast).set(slot + timedelta(minutes=1))
        await rhythm(fast).tick()
        await rhythm(fast).tick()
        assert len(await rounds(fast, world)) == n
        assert await status(fast, world, slot_key(world.guild.id, slot)) == "sent"
        await rhythm(fast).sync()
    assert len(reports(catalog, world.emu.dm_messages(world.organiser.id))) == 3


async def test_the_week_after_each_meeting_and_bad_input(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    res = await settings(world, rhythm="after_meeting", weekday="tuesday", time="10:00")
    assert catalog.text("en", "match.settings.rhythm_no_slot") in res.content
    await create(world)  # Thursday 4 March 2027: the slot is Tuesday 9 March 10:00 Oslo
    res = await settings(world)
    tuesday = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)
    assert f"<t:{int(tuesday.timestamp())}:F>" in res.content, res.content
    await rhythm(fast).sync()
    assert next_run(fast, world) == tuesday
    for options, key in [
        ({"time": "25:00"}, "match.error.rhythm_time"),
        ({"time": "nine"}, "match.error.rhythm_time"),
        ({"weekday": "someday"}, "match.error.rhythm_weekday"),
        ({"rhythm": "hourly"}, "match.error.rhythm"),
        ({"window": 3, "time": "7:75"}, "match.error.rhythm_time"),  # nothing saved
    ]:
        res = await settings(world, **options)
        assert res.ephemeral and catalog.text("en", key) in res.content, (options, res.content)
    stored = await matches(fast).settings(world.guild.id)
    assert stored.rhythm == "after_meeting" and stored.rhythm_weekday == 1
    assert stored.window_rounds == 6
    # the same rhythm given again (by someone else, later) keeps its anchor and recipient
    clock(fast).advance(timedelta(days=3))
    res = await world.emu.invoke(
        world.guild.id,
        world.admin.id,
        "match settings",
        options={"rhythm": "after_meeting", "weekday": "tuesday", "time": "10:00"},
    )
    assert catalog.text("en", "match.settings.saved") in res.content, res.content
    assert await matches(fast).settings(world.guild.id) == stored
    # the slot comes with nobody taking part: no round; the report says why, once
    clock(fast).set(tuesday + timedelta(minutes=1))
    await rhythm(fast).tick()
    await rhythm(fast).tick()
    assert await rounds(fast, world) == []
    row = await ledger(fast).get(world.guild.id, slot_key(world.guild.id, tuesday))
    assert row is not None and row.status == "skipped"
    assert row.last_error_code == "match.error.too_few"
    head = catalog.text("en", "match.rhythm.report.not_run").split("{")[0]
    told = [m for m in world.emu.dm_messages(world.organiser.id) if m["content"].startswith(head)]
    assert len(told) == 1
