"""Commands while a burst runs: `/meeting list`, `/match me` and `/meeting create` answered
during an RSVP burst, beside the same commands on an idle bot in the same launch.

The emulator runs in its own process (`python -m tests.emulator`); this process is the bot
(`BotRunner`, a real SQLite file, `--profiles` introduced members so `/match me` has people
to suggest). First, idle: `--idle` invocations of each command one after the other. Then
`--bursts` times: a fresh announcement gets a burst of `--events` reaction adds and removes
(as in bench/rsvp_ingest.py) and, until the bot has committed the whole burst, one command
every `--interval` s (round robin over the three, open loop: not waiting for the previous
answer) goes through the emulator's interaction endpoint. Between bursts the bot settles
(it takes away the old reactions, about 36 s after a full burst). Per command: p50/p99 from dispatching INTERACTION_CREATE to the
first response (the bot's defer) and to the final answer (the follow-up or the edited
original), measured in the emulator process. Every answer is checked: a command that
errs or is not answered, or a lost reaction answer, fails the bench (exit 1).

    python bench/commands_burst.py [--events 5000] [--members 2000] [--bursts 3] [--interval 0.05]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.memory import seed as seed_profiles  # noqa: E402
from bench.rsvp_burst import expected_roster, plan_events  # noqa: E402
from bench.rsvp_ingest import World, actions, cpu_model, percentile, seed_world  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.domain.rsvp import Choice  # noqa: E402
from bot.i18n import Catalog  # noqa: E402
from bot.services.meetings import MeetingService  # noqa: E402
from bot.storage.meetings import MeetingRepository  # noqa: E402
from bot.storage.rsvps import RsvpRepository  # noqa: E402
from tests.e2e.conftest import BotRunner  # noqa: E402
from tests.emulator.control import EmulatorProcess  # noqa: E402

COMMANDS = ("meeting list", "match me", "meeting create")
MEETING = {"date": "4.3.2027", "start": "08:30", "end": "10:00"}


class Commands:
    def __init__(self, emu: EmulatorProcess, world: World) -> None:
        self.emu = emu
        self.world = world
        self.serial = 0
        self.failures: list[str] = []

    async def invoke(self, command: str) -> tuple[float, float] | None:
        """(ms to the first response, ms to the final answer), or None if it failed."""
        world = self.world
        if command == "meeting create":
            self.serial += 1
            user, options = world.admin_id, {"title": f"Load {self.serial}", **MEETING}
        else:
            user, options = world.members[0], {}
        try:
            result = await self.emu.call(
                "invoke", world.guild_id, user, command, options=options, timeout=10
            )
        except Exception as exc:
            self.failures.append(f"{command}: {exc}")
            return None
        if result["error"] or result["answered_time"] is None:
            self.failures.append(f"{command}: {result['error'] or 'no answer'}")
            return None
        first = (result["callback_time"] - result["created"]) * 1000
        final = (result["answered_time"] - result["created"]) * 1000
        return first, final


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


async def run(
    events_n: int, members_n: int, bursts: int, idle: int, profiles: int, interval: float
) -> dict[str, Any]:
    async with EmulatorProcess() as emu:
        world = await seed_world(emu, members_n)
        commands = Commands(emu, world)
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "bench.db"
            await seed_profiles(db_path, world.guild_id, world.members[:profiles])
            runner = BotRunner(emu, db_path, Catalog.load(), SystemClock())  # type: ignore[arg-type]
            runner.settings = runner.settings.model_copy(update={"embed_edit_interval": 1.0})
            await runner.start()
            try:
                await emu.call(
                    "invoke",
                    world.guild_id,
                    world.admin_id,
                    "setup configure",
                    options={"announce_channel": world.channel_id, "language": "en"},
                )
                assert runner.bot is not None and runner.db is not None
                service: MeetingService = runner.bot.services["meetings"]
                original = service._apply
                committed = 0

                async def counted(
                    meeting_id: int, user_id: int, choice: Choice, added: bool
                ) -> None:
                    nonlocal committed
                    await original(meeting_id, user_id, choice, added)
                    committed += 1

                service._apply = counted  # type: ignore[method-assign]

                idle_samples: dict[str, list[tuple[float, float]]] = {c: [] for c in COMMANDS}
                for _ in range(idle):
                    for command in COMMANDS:
                        sample = await commands.invoke(command)
                        if sample is not None:
                            idle_samples[command].append(sample)
                await runner.bot.wait_until_settled()

                busy: dict[str, list[tuple[float, float]]] = {c: [] for c in COMMANDS}
                rates: list[float] = []
                lost = 0
                for k in range(bursts):
                    title = f"Burst {k}"
                    await emu.call(
                        "invoke",
                        world.guild_id,
                        world.admin_id,
                        "meeting create",
                        options={"title": title, **MEETING},
                    )
                    await runner.bot.wait_until_settled()
                    meetings = await MeetingRepository(runner.db).list_upcoming(
                        world.guild_id, runner.clock.now()
                    )
                    meeting = next(m for m in meetings if m.title == title)
                    assert meeting.message_id is not None
                    plan = plan_events(world.members, events_n, seed=k + 1)
                    committed = 0
                    issued: list[asyncio.Task[None]] = []

                    async def one(command: str) -> None:
                        sample = await commands.invoke(command)
                        if sample is not None:
                            busy[command].append(sample)

                    started = time.perf_counter()
                    burst = asyncio.create_task(
                        emu.call("react_many", actions(world, meeting.message_id, plan))
                    )
                    deadline = time.monotonic() + 60
                    tick = 0
                    while committed < len(plan) and time.monotonic() < deadline:
                        # open loop: one command every `interval`, whether or not the last
                        # one was answered, round robin over the three
                        issued.append(asyncio.create_task(one(COMMANDS[tick % len(COMMANDS)])))
                        tick += 1
                        await asyncio.sleep(interval)
                    rates.append(len(plan) / (time.perf_counter() - started))
                    await burst
                    await asyncio.gather(*issued)
                    expected = expected_roster(plan)
                    state = await RsvpRepository(runner.db).load_state(meeting.id)
                    stored = {u: a.status.value for u, a in state.answers.items()}
                    lost += sum(
                        1 for u in set(expected) | set(stored) if expected.get(u) != stored.get(u)
                    )
                    await runner.bot.wait_until_settled()
            finally:
                with contextlib.suppress(Exception):
                    await runner.stop()
    return {
        "events": events_n,
        "bursts": bursts,
        "burst_events_per_s": [round(r) for r in rates],
        "lost": lost,
        "failures": commands.failures,
        "idle": {c: summary(s) for c, s in idle_samples.items()},
        "during_burst": {c: summary(s) for c, s in busy.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--idle", type=int, default=20, help="idle invocations per command")
    parser.add_argument("--profiles", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.05, help="s between commands")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)
    result = asyncio.run(
        run(args.events, args.members, args.bursts, args.idle, args.profiles, args.interval)
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"| {stamp}, nproc {os.cpu_count()}, {cpu_model()} | samples | first response p50 / p99 ms "
        "| final answer p50 / p99 ms |"
    )
    print("|---|---:|---:|---:|")
    for phase, label in (("idle", "idle"), ("during_burst", "during a burst")):
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
        f"burst (with the commands): {', '.join(f'{r:,}' for r in result['burst_events_per_s'])}; "
        f"answers lost {result['lost']}; commands failed {len(result['failures'])}"
    )
    for failure in result["failures"][:10]:
        print(f"  failed: {failure}")
    print(json.dumps(result))
    return 1 if result["lost"] or result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
