"""Commands while a burst runs: `/meeting list`, `/match me` and `/meeting create` answered
during an RSVP burst, beside the same commands on an idle bot in the same launch.

The emulator runs in its own process (`python -m tests.emulator`); this process is the bot
(`BotRunner`, a real SQLite file, `--profiles` introduced members so `/match me` has people
to suggest). First, idle: `--idle` invocations of each command one after the other. Then
`--bursts` times: a fresh announcement gets a burst of `--events` reaction adds and removes
(as in bench/rsvp_ingest.py) and, until the bot has committed the whole burst, one command
every `--interval` s (round robin over the three, open loop: not waiting for the previous
answer) goes through the emulator's interaction endpoint. Then one more burst of the same
size paced at `--paced-rate` reactions/s (people clicking over a few seconds rather than
all at once) with the same commands. Between bursts the bot settles
(it takes away the old reactions, about 36 s after a full burst). Per command: p50/p99 from dispatching INTERACTION_CREATE to the
first response (the bot's defer) and to the final answer (the follow-up or the edited
original), measured in the emulator process. Every answer is checked: a command that
errs or is not answered, or a lost reaction answer, fails the bench (exit 1).

    python bench/commands_burst.py [--events 5000] [--members 2000] [--bursts 3] [--interval 0.05]
        [--paced-rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import discord  # noqa: E402

from bench.common import after_each_answer, bench_runner, configure_english  # noqa: E402
from bench.memory import seed as seed_profiles  # noqa: E402
from bench.rsvp_burst import expected_roster, plan_events  # noqa: E402
from bench.rsvp_ingest import (  # noqa: E402
    Plan,
    World,
    actions,
    bare_client,
    cpu_model,
    percentile,
    seed_world,
)
from bot.domain.rsvp import Choice  # noqa: E402
from bot.storage.meetings import MeetingRepository  # noqa: E402
from bot.storage.rsvps import RsvpRepository  # noqa: E402
from tests.emulator.client import connect_client, pointed_at, stop_client  # noqa: E402
from tests.emulator.control import EmulatorProcess  # noqa: E402

COMMANDS = ("meeting list", "match me", "meeting create")
MEETING = {"date": "4.3.2027", "start": "08:30", "end": "10:00"}


def sample_of(result: Any) -> tuple[float, float] | str:
    """(ms to the first response, ms to the final answer), or why it failed."""
    if isinstance(result, str):
        return result
    if result["error"] or result["answered_time"] is None:
        return str(result["error"] or "no answer")
    first = (result["callback_time"] - result["created"]) * 1000
    final = (result["answered_time"] - result["created"]) * 1000
    return first, final


def command_calls(world: World, count: int) -> list[dict[str, Any]]:
    """`count` rounds of the three commands (each meeting with its own title)."""
    calls = []
    for n in range(count):
        for command in COMMANDS:
            if command == "meeting create":
                user, options = world.admin_id, {"title": f"Load {n}", **MEETING}
            else:
                user, options = world.members[0], {}
            calls.append(
                {
                    "guild_id": world.guild_id,
                    "user_id": user,
                    "command": command,
                    "options": options,
                }
            )
    return calls


class Samples:
    def __init__(self) -> None:
        self.by_command: dict[str, list[tuple[float, float]]] = {c: [] for c in COMMANDS}
        self.failures: list[str] = []

    def add(self, command: str, result: Any) -> None:
        sample = sample_of(result)
        if isinstance(sample, str):
            self.failures.append(f"{command}: {sample}")
        else:
            self.by_command[command].append(sample)

    def add_paced(self, calls: list[dict[str, Any]], results: list[Any]) -> None:
        for n, result in enumerate(results):
            self.add(calls[n % len(calls)]["command"], result)

    def summary(self) -> dict[str, dict[str, float | int]]:
        return {c: summary(s) for c, s in self.by_command.items()}


def summary(samples: list[tuple[float, float]]) -> dict[str, float | int]:
    if not samples:
        return {"n": 0}
    firsts = [s[0] for s in samples]
    finals = [s[1] for s in samples]
    return {
        "n": len(samples),
        "first_p50_ms": round(percentile(firsts, 0.5), 1),
        "first_p99_ms": round(percentile(firsts, 0.99), 1),
        "final_p50_ms": round(percentile(finals, 0.5), 1),
        "final_p99_ms": round(percentile(finals, 0.99), 1),
    }


async def paced_burst(
    emu: EmulatorProcess,
    world: World,
    message_id: int,
    plan: Plan,
    calls: list[dict[str, Any]],
    interval: float,
    handled: Callable[[], int],
    rate: float | None = None,
) -> tuple[float, list[Any]]:
    """The burst on `message_id` while the emulator invokes `calls` every `interval` s, until
    `handled()` reaches the burst's size. Events/s of the burst and the paced results."""
    started = time.perf_counter()
    await emu.call("start_invoking", "burst", calls, interval)
    burst = asyncio.create_task(emu.call("react_many", actions(world, message_id, plan), rate=rate))
    deadline = time.monotonic() + 60
    while handled() < len(plan) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    rate = len(plan) / (time.perf_counter() - started)
    results = await emu.call("stop_invoking", "burst")
    await burst
    return rate, results


async def bare_reference(
    emu: EmulatorProcess, world: World, plan: Plan, calls: list[dict[str, Any]], interval: float
) -> tuple[float, Samples]:
    """A bare discord.py client that defers every interaction and sends one follow-up, and
    whose reaction listeners only count: the same burst and commands (the floor)."""
    client = bare_client()
    received = 0

    async def on_reaction(_payload: discord.RawReactionActionEvent) -> None:
        nonlocal received
        received += 1

    async def on_interaction(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("ok", ephemeral=True)

    client.on_raw_reaction_add = on_reaction  # type: ignore[attr-defined]
    client.on_raw_reaction_remove = on_reaction  # type: ignore[attr-defined]
    client.on_interaction = on_interaction  # type: ignore[attr-defined]
    samples = Samples()
    with pointed_at(emu):  # type: ignore[arg-type]
        task = await connect_client(client, emu)  # type: ignore[arg-type]
        try:
            message = await emu.call("post_message", world.channel_id, world.admin_id, "floor")
            rate, results = await paced_burst(
                emu, world, int(message["id"]), plan, calls, interval, lambda: received
            )
            samples.add_paced(calls, results)
        finally:
            await stop_client(client, task)
    return rate, samples


async def run(
    events_n: int,
    members_n: int,
    bursts: int,
    idle: int,
    profiles: int,
    interval: float,
    paced_rate: float,
) -> dict[str, Any]:
    async with EmulatorProcess() as emu:
        world = await seed_world(emu, members_n)
        calls = command_calls(world, 200)
        idle_samples, busy, paced = Samples(), Samples(), Samples()
        paced_rates: list[float] = []
        rates: list[float] = []
        lost = 0
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "bench.db"
            await seed_profiles(db_path, world.guild_id, world.members[:profiles])
            runner = bench_runner(emu, db_path)
            await runner.start()
            try:
                await configure_english(emu, world.guild_id, world.admin_id, world.channel_id)
                assert runner.bot is not None and runner.db is not None
                committed = [0]  # answers committed in the current burst

                def counted(_user_id: int, _choice: Choice, _added: bool) -> None:
                    committed[0] += 1

                after_each_answer(runner.bot.services.meetings, counted)

                for call in calls[: idle * len(COMMANDS)]:  # idle: one after the other
                    try:
                        result: Any = await emu.call(
                            "invoke",
                            call["guild_id"],
                            call["user_id"],
                            call["command"],
                            options=call["options"],
                            timeout=10,
                        )
                    except Exception as exc:
                        result = f"{type(exc).__name__}: {exc}"
                    idle_samples.add(call["command"], result)
                await runner.bot.wait_until_settled()

                for k in range(bursts + (1 if paced_rate else 0)):
                    rate = paced_rate if k == bursts else None  # the last one paced
                    title = f"Burst {k}"
                    await emu.call(
                        "invoke",
                        world.guild_id,
                        world.admin_id,
                        "meeting create",
                        options={**MEETING, "title": title, "date": "3.3.2027"},
                    )
                    # settled: the previous burst's old reactions are taken away first
                    await runner.bot.wait_until_settled()
                    meetings = await MeetingRepository(runner.db).list_upcoming(
                        world.guild_id, runner.clock.now(), limit=1000
                    )
                    meeting = next(m for m in meetings if m.title == title)
                    assert meeting.message_id is not None
                    plan = plan_events(world.members, events_n, seed=k + 1)
                    committed[0] = 0
                    got, results = await paced_burst(
                        emu,
                        world,
                        meeting.message_id,
                        plan,
                        calls,
                        interval,
                        lambda: committed[0],
                        rate,
                    )
                    (rates if rate is None else paced_rates).append(got)
                    (busy if rate is None else paced).add_paced(calls, results)
                    expected = expected_roster(plan)
                    state = await RsvpRepository(runner.db).load_state(meeting.id)
                    stored = {u: a.status.value for u, a in state.answers.items()}
                    lost += sum(
                        1 for u in set(expected) | set(stored) if expected.get(u) != stored.get(u)
                    )
            finally:
                with contextlib.suppress(Exception):
                    await runner.stop()
        floor_rate, floor = await bare_reference(
            emu, world, plan_events(world.members, events_n, seed=1), calls, interval
        )
    return {
        "events": events_n,
        "bursts": bursts,
        "interval_s": interval,
        "burst_events_per_s": [round(r) for r in rates],
        "floor_events_per_s": round(floor_rate),
        "lost": lost,
        "paced_rate": paced_rate,
        "paced_events_per_s": [round(r) for r in paced_rates],
        "failures": idle_samples.failures + busy.failures + paced.failures + floor.failures,
        "idle": idle_samples.summary(),
        "during_burst": busy.summary(),
        "during_paced_burst": paced.summary(),
        "floor_during_burst": floor.summary(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--idle", type=int, default=20, help="idle invocations per command")
    parser.add_argument("--profiles", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.05, help="s between commands")
    parser.add_argument(
        "--paced-rate", type=float, default=1000, help="reactions/s of one more burst (0: none)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)
    result = asyncio.run(
        run(
            args.events,
            args.members,
            args.bursts,
            args.idle,
            args.profiles,
            args.interval,
            args.paced_rate,
        )
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"| {stamp}, nproc {os.cpu_count()}, {cpu_model()} | samples | first response p50 / p99 ms "
        "| final answer p50 / p99 ms |"
    )
    print("|---|---:|---:|---:|")
    phases = (
        ("idle", "bot, idle"),
        ("during_burst", "bot, during a burst"),
        ("during_paced_burst", f"bot, during a burst at {result['paced_rate']:g} reactions/s"),
        ("floor_during_burst", "bare discord.py (defer + follow-up), during a burst"),
    )
    for phase, label in phases:
        for command in COMMANDS:
            s = result[phase][command]
            if not s["n"]:
                print(f"| `/{command}`, {label} | 0 | – | – |")
                continue
            print(
                f"| `/{command}`, {label} | {s['n']} | {s['first_p50_ms']} / {s['first_p99_ms']} "
                f"| {s['final_p50_ms']} / {s['final_p99_ms']} |"
            )
    print(
        f"\n{result['bursts']} bursts of {result['events']} reactions; bot ingest events/s per "
        f"burst (with the commands): {', '.join(f'{r:,}' for r in result['burst_events_per_s'])} "
        f"(bare client: {result['floor_events_per_s']:,}; paced burst: "
        f"{', '.join(f'{r:,}' for r in result['paced_events_per_s']) or '–'}); one command every "
        f"{result['interval_s']} s; "
        f"answers lost {result['lost']}; commands failed {len(result['failures'])}"
    )
    for failure in result["failures"][:10]:
        print(f"  failed: {failure}")
    print(json.dumps(result))
    return 1 if result["lost"] or result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
