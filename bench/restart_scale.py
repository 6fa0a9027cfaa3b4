"""Restart at scale: 100 open announcements with 300 answers each, a third of them changed
while the bot was down; how long the start takes to reconcile them, which REST requests it
makes, and how fast commands are answered meanwhile.

`--servers` servers (10) with `--meetings` open announcements each (10: 100 in all) and
`--answers` members (300) who each hold exactly one answer reaction on every announcement.
The bot is stopped; for a third of the announcements, a sixth of the people change their
answer (one reaction off, another on), a twentieth take theirs away and as many newcomers
react, all without the bot seeing it; then the bot starts. The reference, in the same
launch: the same stop and start with nothing changed. Discord's global limit (50 requests/s)
is on, so the start cannot go faster than its requests allow. While the start reconciles,
`/meeting list` is issued every 0.1 s (one at a time) and its latency is reported
(bot-token REST requests only are counted: not the commands' interaction answers).

**The emulator and the bot share this process and its event loop** (the bot is the real
discord.py client, in-process, as `tests/e2e` runs it). Each start is checked: every stored
answer equals the reactions on Discord (exit 1 otherwise). Times are from `bot.start()`
until the meeting service has reconciled every announcement (`reconciled`), worst of `--runs`
starts of each kind. REST requests are counted by route; "needed" is the number of reaction
pages a reading must fetch (100 users per page per emoji, one more when a page is full) plus
one read of each announcement.

    python bench/restart_scale.py [--servers 10] [--meetings 10] [--answers 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_servers, bench_runner, stored_answers
from bot.domain.rsvp import EMOJI, Choice
from bot.services.meetings import MeetingService
from tests.e2e.conftest import BotRunner
from tests.emulator import Emulator

CHOICES = (Choice.GOING, Choice.MAYBE, Choice.NOT_GOING)
BY_EMOJI = {EMOJI[c]: c for c in CHOICES}
FIRST_DAY = date(2027, 4, 1)
PAUSE = 1.1  # s between a stop and the next start: the global limit's window is clear
COMMAND_EVERY = 0.1  # s between `/meeting list` commands while the start reconciles


class Restart:
    def __init__(self, emu: Emulator, runner: BotRunner, announcements: list[tuple[int, int, int]]):
        self.emu, self.runner = emu, runner
        self.announcements = announcements  # (guild, channel, message)

    def expected(self) -> dict[tuple[int, int], str]:
        """(message, user) → the answer the reactions on Discord say."""
        bot_id = self.emu.bot_user_id
        out: dict[tuple[int, int], str] = {}
        for _guild, channel, message in self.announcements:
            for emoji, users in self.emu.reactions(channel, message).items():
                for user in users:
                    if user != bot_id:
                        out[(message, user)] = BY_EMOJI[emoji].value
        return out

    def pages_needed(self) -> int:
        pages = 0
        for _guild, channel, message in self.announcements:
            for users in self.emu.reactions(channel, message).values():
                pages += len(users) // 100 + 1
        return pages

    def lost(self) -> int:
        assert self.runner.db_path is not None
        stored = stored_answers(self.runner.db_path)
        expected = self.expected()
        return sum(1 for k in set(stored) | set(expected) if stored.get(k) != expected.get(k))

    async def start(self) -> dict[str, float | int]:
        """Start the bot; while it reconciles, issue `/meeting list` until it is done."""
        runner, emu = self.runner, self.emu
        first_request = len(emu.requests)
        guild_id = self.announcements[0][0]
        admin = next(iter(emu.guilds[guild_id].members))
        started = time.perf_counter()
        start = asyncio.create_task(runner.start(timeout=120))
        while runner.bot is None or not runner.bot.is_ready():
            await asyncio.sleep(0.001)
        ready_s = time.perf_counter() - started
        service: MeetingService = runner.bot.services.meetings
        latencies: list[float] = []
        reconciled_s = None
        command: asyncio.Task[object] | None = None
        next_at = 0.0
        while reconciled_s is None:
            if command is None and time.perf_counter() >= next_at:
                next_at = time.perf_counter() + COMMAND_EVERY
                asked = time.perf_counter()
                command = asyncio.create_task(
                    emu.invoke(guild_id, admin, "meeting list", options={}, timeout=30)
                )
            waiter = asyncio.create_task(service.reconciled.wait())
            pending = {waiter} if command is None else {command, waiter}
            done, _ = await asyncio.wait(
                pending,
                timeout=max(0.0, next_at - time.perf_counter()),
                return_when="FIRST_COMPLETED",
            )
            if waiter in done:
                reconciled_s = time.perf_counter() - started
            else:
                waiter.cancel()
            if command is not None and command in done:
                result = command.result()
                assert getattr(result, "error", None) is None, result
                latencies.append((time.perf_counter() - asked) * 1000)
                command = None
        if command is not None:  # the one running when reconciliation ended
            result = await command
            latencies.append((time.perf_counter() - asked) * 1000)
        await start
        settled_s = time.perf_counter() - started
        made = [r for r in emu.requests[first_request:] if r.bot_token]  # not interactions
        limited = sum(1 for r in made if r.status == 429)
        routes = Counter(f"{r.method} {r.route}" for r in made if r.status != 429)
        pages = routes.get("GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}", 0)
        reads = routes.get("GET /channels/{channel_id}/messages/{message_id}", 0)
        return {
            "ready_s": round(ready_s, 3),
            "reconciled_s": round(reconciled_s, 3),
            "settled_s": round(settled_s, 3),
            "requests": sum(routes.values()),
            "reaction_pages": pages,
            "pages_needed": self.pages_needed(),
            "message_reads": reads,
            "other_requests": sum(routes.values()) - pages - reads,
            "answered_429": limited,
            "commands": len(latencies),
            "command_p50_ms": round(statistics.median(latencies), 1),
            "command_max_ms": round(max(latencies), 1),
            "lost": self.lost(),
            "routes": dict(routes.most_common()),  # type: ignore[dict-item]
        }


def change_while_down(
    emu: Emulator, announcements: list[tuple[int, int, int]], rng: random.Random
) -> int:
    """A third of the announcements: a sixth of the people change their answer, a
    twentieth leave and as many react for the first time. Nothing is dispatched (the bot is
    down). Returns the number of reaction changes."""
    bot_id = emu.bot_user_id
    changes = 0
    for guild, channel, message in announcements[::3]:
        held = {
            user: emoji
            for emoji, users in emu.reactions(channel, message).items()
            for user in users
            if user != bot_id
        }
        members = [u for u in emu.guilds[guild].members if u != bot_id]
        people = sorted(held)
        n = max(1, len(people) // 6)
        for user in rng.sample(people, n):
            new = rng.choice([e for e in BY_EMOJI if e != held[user]])
            emu.remove_reaction(channel, message, user, held[user], dispatch=False)
            emu.add_reaction(channel, message, user, new, dispatch=False)
            changes += 2
        leave = rng.sample(people, max(1, len(people) // 20))
        for user in leave:
            emu.remove_reaction(channel, message, user, held[user], dispatch=False)
            changes += 1
        for user in [u for u in members if u not in held][: len(leave)]:
            emu.add_reaction(channel, message, user, rng.choice(list(BY_EMOJI)), dispatch=False)
            changes += 1
    return changes


async def run(
    servers_n: int, meetings_n: int, answers_n: int, runs: int, seed: int
) -> tuple[list[dict[str, float | int]], list[dict[str, float | int]], int]:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)  # 429 retries are counted instead
    rng = random.Random(seed)
    async with Emulator() as emu:
        # a few more members than answers: newcomers react while the bot is down
        servers = add_servers(emu, servers_n, answers_n + 20)
        with tempfile.TemporaryDirectory(prefix="moteplass-restart-") as tmp:
            runner = bench_runner(emu, Path(tmp) / "bench.db")
            await runner.start(timeout=60)
            announcements: list[tuple[int, int, int]] = []
            try:
                for guild, channel, admin, _people in servers:
                    await emu.invoke(
                        guild.id,
                        admin.id,
                        "setup configure",
                        options={"announce_channel": channel.id},
                    )
                    for m in range(meetings_n):
                        day = FIRST_DAY + timedelta(days=m)
                        result = await emu.invoke(
                            guild.id,
                            admin.id,
                            "meeting create",
                            options={
                                "title": f"Møte {m}",
                                "date": f"{day.day}.{day.month}.{day.year}",
                                "start": "08:30",
                                "end": "10:00",
                            },
                            channel_id=channel.id,
                            timeout=30,
                        )
                        assert result.error is None, result.error
                        posted = [x for x in emu.messages(channel.id) if x["embeds"]]
                        announcements.append((guild.id, channel.id, int(posted[-1]["id"])))
                assert runner.bot is not None
                await runner.bot.wait_until_settled()
            finally:
                await runner.stop()
            # Every announcement gets its answers while the bot is down; the first start
            # (not measured) reads them all.
            by_guild = {s[0].id: s for s in servers}
            for guild_id, channel_id, message_id in announcements:
                for user in by_guild[guild_id][3][:answers_n]:
                    emoji = rng.choice(list(BY_EMOJI))
                    emu.add_reaction(channel_id, message_id, user, emoji, dispatch=False)
            restart = Restart(emu, runner, announcements)
            emu.enable_global_limit(limit=50, per=1.0)
            warm = await restart.start()
            if warm["lost"]:
                raise RuntimeError(f"the first start lost {warm['lost']} answers")
            same, changed = [], []
            changes = 0
            try:
                for n in range(1, runs + 1):
                    await runner.stop()
                    await asyncio.sleep(PAUSE)
                    same.append(await restart.start())
                    print(f"start {n}, nothing changed: {short(same[-1])}", flush=True)
                    await runner.stop()
                    changes = change_while_down(emu, announcements, rng)
                    await asyncio.sleep(PAUSE)
                    changed.append(await restart.start())
                    print(f"start {n}, {changes} changes: {short(changed[-1])}", flush=True)
            finally:
                await runner.stop()
    return same, changed, changes


def short(result: dict[str, float | int]) -> str:
    return json.dumps({k: v for k, v in result.items() if k != "routes"})


WORST = {
    "ready_s": max,
    "reconciled_s": max,
    "settled_s": max,
    "requests": max,
    "reaction_pages": max,
    "pages_needed": max,
    "message_reads": max,
    "other_requests": max,
    "answered_429": max,
    "commands": min,
    "command_p50_ms": max,
    "command_max_ms": max,
    "lost": max,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--meetings", type=int, default=10, help="open announcements per server")
    parser.add_argument("--answers", type=int, default=300, help="answers per announcement")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    same, changed, changes = asyncio.run(
        run(args.servers, args.meetings, args.answers, args.runs, args.seed)
    )
    s = {k: pick(r[k] for r in same) for k, pick in WORST.items()}
    c = {k: pick(r[k] for r in changed) for k, pick in WORST.items()}
    total = args.servers * args.meetings
    print(f"--- restart, worst of {args.runs} starts of each kind (each figure on its own) ---")
    print(
        f"| {total} announcements × {args.answers} answers | a third changed "
        f"({changes} reaction changes) | nothing changed (reference) | ratio |"
    )
    print("|---|---:|---:|---:|")
    for key, label in (
        ("ready_s", "gateway ready, s"),
        ("reconciled_s", "every announcement reconciled, s"),
        ("settled_s", "settled (embeds edited), s"),
        ("requests", "REST requests"),
        ("reaction_pages", "reaction pages read"),
        ("pages_needed", "reaction pages needed"),
        ("message_reads", "announcements read"),
        ("other_requests", "other requests"),
        ("answered_429", "requests answered 429 (retried)"),
        ("commands", "`/meeting list` answered while reconciling"),
        ("command_p50_ms", "`/meeting list` p50, ms"),
        ("command_max_ms", "`/meeting list` max, ms"),
        ("lost", "answers not as on Discord"),
    ):
        ratio = f"{c[key] / s[key]:.2f}" if s[key] else "–"
        print(f"| {label} | {c[key]} | {s[key]} | {ratio} |")
    print("requests by route (last start with changes): " + json.dumps(changed[-1]["routes"]))
    print(json.dumps({"changed": c, "same": s}))
    return 1 if c["lost"] or s["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
