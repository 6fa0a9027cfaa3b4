"""RSVP ingest against its ceiling: the burst with the emulator in its own process.

The loopback emulator runs as a child process (`python -m tests.emulator`, driven over its
control endpoint), so this process holds only the Discord client under test. Each run, on a
fresh emulator and a fresh database, pushes the same burst of reaction adds and removes
(`--events` from `--members` members, seed `--seed`; every event changes the reactions)
through the gateway as fast as the websocket takes them, to:

1. *ceiling*: a bare discord.py `AutoShardedClient` with the bot's intents and caches whose
   raw reaction listeners only count: what the library allows on this machine (run before
   and after the bot; the mean of the two is the run's ceiling);
2. *bot*: the real bot (`BotRunner`: raw events, `MeetingService`, a real SQLite file in
   WAL), the emulator enforcing Discord's per-channel edit limit (5 per 5 s).

Events/s is events / (from sending the burst to the last event handled: for the bot, the
last answer committed). In the first run only, after those two, the *edit-per-click*
reference (one embed edit per answer, as simple bots do) gets the same burst for
`--reference-seconds`: events it received per s, edits it made, and how long its edits
would take to show the last answer at the rate it got.

Prints every run, then the worst figure of all runs (each figure on its own) as a block to
paste into docs/benchmarks.md; the last line is one JSON object. Exits 1 if any run lost an
answer.

    python bench/rsvp_ingest.py [--events 5000] [--members 2000] [--runs 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import discord  # noqa: E402

from bench.common import bench_meeting, bench_runner, latencies_ms, time_answers  # noqa: E402
from bench.rsvp_burst import expected_roster, plan_events  # noqa: E402
from bot.bot import intents  # noqa: E402
from bot.domain.rsvp import EMOJI, Choice  # noqa: E402
from bot.storage.rsvps import RsvpRepository  # noqa: E402
from tests.e2e.conftest import ADMINISTRATOR  # noqa: E402
from tests.emulator.client import connect_client, pointed_at, stop_client  # noqa: E402
from tests.emulator.control import EmulatorProcess  # noqa: E402

Plan = list[tuple[int, Choice, bool]]


@dataclass
class World:
    guild_id: int
    channel_id: int
    admin_id: int
    members: list[int]


async def seed_world(emu: EmulatorProcess, members_n: int) -> World:
    guild = await emu.call("add_guild", "Bench", locale="no")
    channel = await emu.call("add_channel", guild["id"], "moter")
    admin = await emu.call("add_member", guild["id"], "admin", permissions=ADMINISTRATOR)
    members = await emu.call("add_members", guild["id"], [f"m{n}" for n in range(members_n)])
    await emu.call("enable_edit_bucket", limit=5, per=5.0)  # Discord's per-channel edit limit
    return World(guild["id"], channel["id"], admin["id"], members)


def actions(world: World, message_id: int, plan: Plan) -> list[list[Any]]:
    return [[world.channel_id, message_id, u, EMOJI[c], a] for u, c, a in plan]


async def burst(
    emu: EmulatorProcess, world: World, message_id: int, plan: Plan, handled: asyncio.Event
) -> tuple[Any, float, list[float]]:
    """Send the plan's reactions as fast as the websocket takes them, then wait (60 s at
    most) until `handled` is set: the request count before, when sending started and when
    each event was sent."""
    since = await emu.call("request_count")
    started = time.perf_counter()
    sent = await emu.call("react_many", actions(world, message_id, plan))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(handled.wait(), 60)
    return since, started, sent


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def bare_client() -> discord.AutoShardedClient:
    """The bot's intents and caches, nothing else."""
    return discord.AutoShardedClient(
        intents=intents(),
        max_messages=None,
        member_cache_flags=discord.MemberCacheFlags.none(),
        chunk_guilds_at_startup=False,
        guild_ready_timeout=0.1,
    )


async def ceiling_run(emu: EmulatorProcess, world: World, plan: Plan) -> dict[str, float]:
    client = bare_client()
    received: list[float] = []
    done = asyncio.Event()

    async def on_raw_reaction(_payload: discord.RawReactionActionEvent) -> None:
        received.append(time.perf_counter())
        if len(received) >= len(plan):
            done.set()

    client.on_raw_reaction_add = on_raw_reaction  # type: ignore[attr-defined]
    client.on_raw_reaction_remove = on_raw_reaction  # type: ignore[attr-defined]
    with pointed_at(emu):  # type: ignore[arg-type]
        task = await connect_client(client, emu)  # type: ignore[arg-type]
        try:
            message = await emu.call("post_message", world.channel_id, world.admin_id, "ceiling")
            started = time.perf_counter()
            sent = await emu.call("react_many", actions(world, int(message["id"]), plan))
            await asyncio.wait_for(done.wait(), 60)
        finally:
            await stop_client(client, task)
    latencies = [(r - s) * 1000 for r, s in zip(received, sent, strict=False)]
    return {
        "events_per_s": round(len(plan) / (received[-1] - started), 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


async def bot_run(emu: EmulatorProcess, world: World, plan: Plan, db_path: Path) -> dict[str, Any]:
    runner = bench_runner(emu, db_path)
    await runner.start()
    try:
        meeting, message_id = await bench_meeting(
            runner, emu, world.guild_id, world.admin_id, world.channel_id
        )
        assert runner.bot is not None and runner.db is not None
        done, all_done = time_answers(runner.bot.services.meetings, len(plan))
        since, started, sent = await burst(emu, world, message_id, plan, all_done)
        ingested_at = time.perf_counter()
        latencies = latencies_ms(plan, sent, done)
        expected = expected_roster(plan)
        repo = RsvpRepository(runner.db)
        stored = {u: a.status.value for u, a in (await repo.load_state(meeting.id)).answers.items()}
        lost = sum(1 for u in set(expected) | set(stored) if expected.get(u) != stored.get(u))
        counts = await repo.counts(meeting.id)
        want = f"going {counts.going} · 🤔 maybe {counts.maybe}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            fields = await emu.call("embed_fields", world.channel_id, message_id)
            if any(
                want in f["value"] and f"waitlist {counts.waitlist}" in f["value"] for f in fields
            ):
                break
            await asyncio.sleep(0.01)
        converged = time.perf_counter()
        edits = await emu.call("edit_stats", since)
    finally:
        await runner.stop()
    return {
        "events_per_s": round(len(plan) / (ingested_at - started), 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "converge_s": round(converged - sent[-1], 3),
        "edits": edits["edits"],
        "refused_429": edits["refused"],
        "lost": lost + (len(plan) - len(latencies)),
    }


async def edit_per_click_run(
    emu: EmulatorProcess, world: World, plan: Plan, seconds: float
) -> dict[str, Any]:
    """One embed edit per answer, awaited in the listener, as simple bots do."""
    client = bare_client()
    tally: dict[str, set[int]] = defaultdict(set)
    received: list[float] = []
    edited: list[float] = []
    all_received = asyncio.Event()
    message_id = 0

    def embed() -> discord.Embed:
        text = " · ".join(f"{e} {len(tally[e])}" for e in EMOJI.values())
        return discord.Embed(title="Bench", description=text)

    async def on_raw_reaction(payload: discord.RawReactionActionEvent) -> None:
        received.append(time.perf_counter())
        if len(received) >= len(plan):
            all_received.set()
        users = tally[str(payload.emoji)]
        if payload.event_type == "REACTION_ADD":
            users.add(payload.user_id)
        else:
            users.discard(payload.user_id)
        channel = client.get_partial_messageable(payload.channel_id)
        await channel.get_partial_message(payload.message_id).edit(embed=embed())
        edited.append(time.perf_counter())

    client.on_raw_reaction_add = on_raw_reaction  # type: ignore[attr-defined]
    client.on_raw_reaction_remove = on_raw_reaction  # type: ignore[attr-defined]
    before = asyncio.all_tasks()
    with pointed_at(emu):  # type: ignore[arg-type]
        task = await connect_client(client, emu)  # type: ignore[arg-type]
        try:
            sent_message = await client.get_partial_messageable(world.channel_id).send(
                embed=embed()
            )
            message_id = sent_message.id
            since, started, sent = await burst(emu, world, message_id, plan, all_received)
            received_at = time.perf_counter()
            await asyncio.sleep(max(0.0, started + seconds - time.perf_counter()))
            window = time.perf_counter() - started
            edits = await emu.call("edit_stats", since)
        finally:
            for pending in asyncio.all_tasks() - before:
                if pending is not asyncio.current_task() and pending is not task:
                    pending.cancel()
            await stop_client(client, task)
    done_edits = len(edited)
    per_s = done_edits / window
    return {
        "events_per_s": round(len(plan) / (received_at - started), 1),
        "window_s": round(window, 1),
        "edits": edits["edits"],
        "refused_429": edits["refused"],
        "answers_shown_per_s": round(per_s, 2),
        "edits_needed": len(sent),
        "last_answer_shown_after_s": round(len(sent) / per_s) if per_s else None,
    }


async def one_run(
    events_n: int, members_n: int, seed: int, reference_seconds: float | None
) -> dict[str, Any]:
    async with EmulatorProcess() as emu:
        world = await seed_world(emu, members_n)
        plan = plan_events(world.members, events_n, seed)
        before = await ceiling_run(emu, world, plan)
        with tempfile.TemporaryDirectory() as tmp:
            ours = await bot_run(emu, world, plan, Path(tmp) / "bench.db")
        after = await ceiling_run(emu, world, plan)
        # the ceiling on either side of the bot, so a change in the machine's load during
        # the run shifts both figures alike
        ceiling = {key: round((before[key] + after[key]) / 2, 2) for key in before}
        result: dict[str, Any] = {
            "events": len(plan),
            "ceiling": ceiling,
            "ceiling_each": [before["events_per_s"], after["events_per_s"]],
            "bot": ours,
            "ratio": round(ours["events_per_s"] / ceiling["events_per_s"], 3),
        }
        if reference_seconds is not None:
            result["edit_per_click"] = await edit_per_click_run(emu, world, plan, reference_seconds)
    return result


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reference-seconds", type=float, default=10.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)
    results = []
    for n in range(1, args.runs + 1):
        reference = args.reference_seconds if n == 1 else None
        result = asyncio.run(one_run(args.events, args.members, args.seed, reference))
        results.append(result)
        print(f"run {n}: " + json.dumps(result), flush=True)
    bots = [r["bot"] for r in results]
    ceilings = [r["ceiling"] for r in results]
    ref = results[0].get("edit_per_click")
    worst_bot = {
        "events_per_s": min(b["events_per_s"] for b in bots),
        "p50_ms": max(b["p50_ms"] for b in bots),
        "p99_ms": max(b["p99_ms"] for b in bots),
        "converge_s": max(b["converge_s"] for b in bots),
        "edits": max(b["edits"] for b in bots),
        "refused_429": max(b["refused_429"] for b in bots),
        "lost": max(b["lost"] for b in bots),
    }
    worst = {
        "runs": len(results),
        "events": results[0]["events"],
        "ceiling_events_per_s": min(c["events_per_s"] for c in ceilings),
        "bot": worst_bot,
        "ratio": min(r["ratio"] for r in results),
        "edit_per_click": ref,
    }
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"\n| {args.runs} runs ({stamp}, nproc {os.cpu_count()}, {cpu_model()}) | events/s "
        "| p50 ms | p99 ms | converge s | edits | 429s | lost |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| ceiling: bare discord.py, listeners that count (worst run) "
        f"| {worst['ceiling_events_per_s']:,.0f} "
        f"| {max(c['p50_ms'] for c in ceilings)} | {max(c['p99_ms'] for c in ceilings)} "
        "| – | – | – | – |"
    )
    print(
        f"| bot (worst) | {worst_bot['events_per_s']:,.0f} | {worst_bot['p50_ms']} "
        f"| {worst_bot['p99_ms']} | {worst_bot['converge_s']} | {worst_bot['edits']} "
        f"| {worst_bot['refused_429']} | {worst_bot['lost']} |"
    )
    if ref:
        print(
            f"| edit-per-click reference (run 1, {ref['window_s']} s window) "
            f"| {ref['events_per_s']:,.0f} received | – | – "
            f"| ≈{ref['last_answer_shown_after_s']} (projected) | {ref['edits']} "
            f"| {ref['refused_429']} | – |"
        )
    print(
        f"\nbot / ceiling: worst {worst['ratio']} (runs: "
        + ", ".join(str(r["ratio"]) for r in results)
        + ")"
    )
    print("bot events/s per run: " + ", ".join(f"{b['events_per_s']:,.0f}" for b in bots))
    print("ceiling events/s per run: " + ", ".join(f"{c['events_per_s']:,.0f}" for c in ceilings))
    print("lost per run: " + ", ".join(str(b["lost"]) for b in bots))
    if ref:
        print(
            f"edit-per-click: {ref['edits']} edits in {ref['window_s']} s "
            f"({ref['answers_shown_per_s']} answers shown/s, {ref['refused_429']} refused); "
            f"{ref['edits_needed']} edits needed, the last answer shown after "
            f"≈{ref['last_answer_shown_after_s']} s at that rate"
        )
    print(json.dumps(worst))
    return 1 if any(b["lost"] for b in bots) else 0


if __name__ == "__main__":
    sys.exit(main())
