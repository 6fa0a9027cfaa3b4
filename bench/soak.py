"""Soak: the bot process's memory through a burst, a match round and `--duration` seconds of
mixed traffic, measured from outside (VmRSS from /proc/<pid>/status).

The bot is the real `python -m bot run` (as `bench/memory.py` starts it); the loopback
emulator runs in this bench's process with `--guilds` servers of `--members` members
(5 × 5,000). Its clock (the test-only `CLOCK_START` setting) starts at 11:00 Oslo time on
today's date or yesterday's, always behind the real time, so reminders the bench makes due
are run by the bot's scheduler at once (a moved clock ahead of the real one would postpone
them). Every server's reminder plan posts the channel reminder on the meeting day at 10:30.

1. *idle*: settled, each server with one announced meeting.
2. *after the bursts*: `--burst` reaction events from 2,000 members on the second server's
   announcement at `--paced-rate` events/s (500), then the same on the first server's as
   fast as the gateway takes them (as `bench/rsvp_burst.py`); each stored, and the old
   reactions taken away.
3. *after the round*: `/match round` over `--profiles` introduced members of that server.
4. *soak*: for `--duration` seconds, every second `--rate` reaction events (adds, removes
   and changes of answer, each person holding one answer) spread over every server's
   announcement, a `/meeting list` or `/match me`; every `--reminder-every` seconds a
   `/meeting create` for today at 20:00 whose reminder is due (the bot posts it at once);
   halfway, a `/match round` in the second server over `--soak-profiles` people. RSS is
   sampled `--samples` times; the first sample after the warm-up (the first tenth of the
   soak) is the baseline of the growth.

At the end (exit 1 otherwise): every answer stored as the reactions on Discord show it,
every command answered, every meeting made in the soak reminded exactly once, both rounds
delivered. `--quick` (run by `make test`): small sizes and 2 s; the figures mean nothing.

    python bench/soak.py [--duration 600] [--rate 20] [--guilds 5] [--members 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.memory import TOKEN, Process, rss_mb, seed  # noqa: E402
from bench.rsvp_burst import plan_events  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.domain.reminders import ReminderPlan  # noqa: E402
from bot.domain.rsvp import EMOJI, Choice  # noqa: E402
from bot.storage.deliveries import ReminderPlanRepository  # noqa: E402
from bot.storage.guilds import GuildSettings, GuildSettingsRepository  # noqa: E402
from tests.e2e.conftest import ADMINISTRATOR  # noqa: E402
from tests.emulator import Emulator  # noqa: E402

SETTLED = "bot.bot: settled"
OSLO = ZoneInfo("Europe/Oslo")
CHOICES = (Choice.GOING, Choice.MAYBE, Choice.NOT_GOING)
BY_EMOJI = {EMOJI[c]: c for c in CHOICES}
PLAN = ReminderPlan(
    channel_reminder_days=0, local_time=clock_time(10, 30), dm_enabled=False, monthly_enabled=False
)


def clock_start() -> datetime:
    """11:00 in Oslo on the latest day where that is not after the real time."""
    real = datetime.now(UTC)
    local = real.astimezone(OSLO).replace(hour=11, minute=0, second=0, microsecond=0)
    if local > real:
        local -= timedelta(days=1)
    return local.astimezone(UTC)


async def seed_servers(db_path: Path, refs: list[tuple[int, int, int]], now: datetime) -> None:
    db = await Database.open(db_path)
    try:
        for guild_id, announce, intro in refs:
            await GuildSettingsRepository(db).save(
                GuildSettings(
                    guild_id=guild_id, announce_channel_id=announce, intro_channel_id=intro
                ),
                now - timedelta(days=40),
            )
            await ReminderPlanRepository(db).set(guild_id, PLAN, now - timedelta(days=40))
    finally:
        await db.close()


def held(emu: Emulator, channel: int, message: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for emoji, users in emu.reactions(channel, message).items():
        for user in users:
            if user != emu.bot_user_id:
                out.setdefault(user, []).append(emoji)
    return out


def day_option(moment: datetime) -> str:
    local = moment.astimezone(OSLO)
    return f"{local.day}.{local.month}.{local.year}"


async def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    figures: dict[str, object] = {}
    start = clock_start()
    with tempfile.TemporaryDirectory(prefix="moteplass-soak-") as tmp:
        work = Path(tmp)
        db_path = args.db_path = work / "bot.db"
        async with Emulator() as emu:
            servers = []
            for g in range(args.guilds):
                guild = emu.add_guild(f"Region {g}", locale="no")
                announce = emu.add_channel(guild.id, "moter")
                intro = emu.add_channel(guild.id, "presentasjoner")
                admin = emu.add_member(guild.id, "admin", permissions=ADMINISTRATOR)
                people = [emu.add_member(guild.id, f"m{g}-{n}").id for n in range(args.members)]
                servers.append((guild, announce, intro, admin, people))
            await seed_servers(db_path, [(s[0].id, s[1].id, s[2].id) for s in servers], start)
            await seed(db_path, servers[0][0].id, servers[0][4][: args.profiles])
            await seed(db_path, servers[1][0].id, servers[1][4][: args.soak_profiles])
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "DISCORD_TOKEN": TOKEN,
                "DISCORD_API_BASE": emu.api_base,
                "DISCORD_GATEWAY_URL": emu.gateway_url,
                "DATABASE_PATH": str(db_path),
                "LOG_LEVEL": "INFO",
                "GUILD_READY_TIMEOUT": "0.1",
                "IDENTIFY_DELAY": "0.05",
                "EMBED_EDIT_INTERVAL": "1.0",
                "CLOCK_START": start.isoformat(),
            }
            env.pop("PYTHONSTARTUP", None)
            emu.enable_global_limit(limit=50, per=1.0)
            emu.enable_edit_bucket(limit=5, per=5.0)
            bot = Process([sys.executable, "-m", "bot", "run"], env, work)
            pid = await bot.start(SETTLED)
            try:
                figures["idle_mb"] = await measure(args, emu, servers, start, pid, rng, figures)
            finally:
                await bot.stop()
            figures["errors"] = sum(
                1 for line in bot.lines if " ERROR " in line or "Traceback" in line
            )
    return figures


async def invoke(emu: Emulator, *call: object, **kwargs: object) -> object:
    result = await emu.invoke(*call, **kwargs)  # type: ignore[arg-type]
    if result.error is not None:
        raise RuntimeError(f"{call[2]} failed: {result.error}")
    return result


async def create_meeting(
    emu: Emulator, server: tuple[Any, ...], day: datetime, title: str, start: str, end: str
) -> int:
    guild, announce, _intro, admin, _people = server
    before = {m["id"] for m in emu.messages(announce.id)}
    await invoke(
        emu,
        guild.id,
        admin.id,
        "meeting create",
        options={"title": title, "date": day_option(day), "start": start, "end": end},
        channel_id=announce.id,
        timeout=30,
    )
    posted = [m for m in emu.messages(announce.id) if m["embeds"] and m["id"] not in before]
    return int(posted[-1]["id"])


async def measure(
    args: argparse.Namespace,
    emu: Emulator,
    servers: list[tuple[Any, ...]],
    start: datetime,
    pid: int,
    rng: random.Random,
    figures: dict[str, object],
) -> float:
    idle: float | None = None
    t0 = time.monotonic()
    # One announced meeting per server, a week ahead (its reminder is not due in the soak).
    announcements = []
    for n, server in enumerate(servers):
        message = await create_meeting(
            emu, server, start + timedelta(days=7), f"Møte {n}", "08:30", "10:00"
        )
        announcements.append((server[1].id, message))
    await asyncio.sleep(args.pause)
    idle = rss_mb(pid)

    # The same burst twice (several reactions per person; the bot takes the old ones away
    # once it is quiet): first paced at --paced-rate events/s on the second server, then
    # as fast as the gateway takes it on the first.
    await burst(args, emu, servers[1], announcements[1], announcements, args.paced_rate)
    figures["after_paced_mb"] = rss_mb(pid)
    await burst(args, emu, servers[0], announcements[0], announcements, 0)
    figures["after_burst_mb"] = rss_mb(pid)

    guild, _announce, _intro, admin, _people = servers[0]
    started = time.monotonic()
    await invoke(emu, guild.id, admin.id, "match round", options={}, timeout=900)
    figures["round_s"] = round(time.monotonic() - started, 1)
    await asyncio.sleep(args.pause)
    figures["after_round_mb"] = rss_mb(pid)
    figures["warmup_s"] = round(time.monotonic() - t0, 1)

    # The soak.
    hold = {a: {u: e[0] for u, e in held(emu, *a).items()} for a in announcements}
    members = {a: s[4] for a, s in zip(announcements, servers, strict=True)}
    samples: list[tuple[float, float]] = []
    sample_every = args.duration / args.samples
    commands = failed = events = 0
    soak_meetings: list[tuple[int, int]] = []  # (channel, announcement) to be reminded
    round_task: asyncio.Task[object] | None = None
    soak_start = time.monotonic()
    next_sample = soak_start
    next_meeting = soak_start + args.reminder_every / 2
    second = 0
    while (now := time.monotonic()) < soak_start + args.duration:
        if now >= next_sample:
            samples.append((round(now - soak_start, 1), rss_mb(pid)))
            next_sample += sample_every
        actions = []
        for _ in range(args.rate):
            target = rng.choice(announcements)
            user = rng.choice(members[target][:2000])
            mine = hold[target].get(user)
            if mine is None:
                emoji = rng.choice(list(BY_EMOJI))
                actions.append((*target, user, emoji, True))
                hold[target][user] = emoji
            elif rng.random() < 0.5:
                actions.append((*target, user, mine, False))
                del hold[target][user]
            else:
                emoji = rng.choice([e for e in BY_EMOJI if e != mine])
                actions.append((*target, user, mine, False))
                actions.append((*target, user, emoji, True))
                hold[target][user] = emoji
        await emu.react_many(actions, timeout=60)
        events += len(actions)
        server = servers[second % len(servers)]
        try:
            if second % 2:
                await invoke(
                    emu, server[0].id, server[3].id, "meeting list", options={}, timeout=10
                )
            else:
                await invoke(
                    emu, server[0].id, rng.choice(server[4]), "match me", options={}, timeout=10
                )
            commands += 1
        except (RuntimeError, TimeoutError):
            failed += 1
        if time.monotonic() >= next_meeting:
            server = servers[len(soak_meetings) % len(servers)]
            today = start + timedelta(seconds=time.monotonic() - soak_start)
            message = await create_meeting(
                emu, server, today, f"Kveld {len(soak_meetings)}", "20:00", "21:00"
            )
            soak_meetings.append((server[1].id, message))
            commands += 1
            next_meeting += args.reminder_every
        if round_task is None and time.monotonic() >= soak_start + args.duration / 2:
            g, _a, _i, admin, _p = servers[1]
            round_task = asyncio.create_task(
                invoke(emu, g.id, admin.id, "match round", options={}, timeout=900)
            )
        second += 1
        await asyncio.sleep(max(0.0, soak_start + second - time.monotonic()))
    if round_task is None:
        g, _a, _i, admin, _p = servers[1]
        round_task = asyncio.create_task(
            invoke(emu, g.id, admin.id, "match round", options={}, timeout=900)
        )
    await round_task
    samples.append((round(time.monotonic() - soak_start, 1), rss_mb(pid)))
    # Nothing lost: answers as shown, one reminder per soak meeting, both rounds delivered.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not await stored_as_shown(
        emu, args.db_path, announcements
    ):
        await asyncio.sleep(0.2)
    figures["answers_wrong"] = await wrong_answers(emu, args.db_path, announcements)
    while time.monotonic() < deadline and any(reminders(emu, *m) < 1 for m in soak_meetings):
        await asyncio.sleep(0.2)
    counts = [reminders(emu, *m) for m in soak_meetings]
    figures["reminders"] = sum(counts)
    figures["reminders_wrong"] = sum(1 for c in counts if c != 1)
    with sqlite3.connect(f"file:{args.db_path}?mode=ro", uri=True) as con:
        figures["rounds"] = con.execute(
            "SELECT COUNT(DISTINCT round_id) FROM match_groups"
        ).fetchone()[0]
    figures["soak_s"] = round(time.monotonic() - soak_start, 1)
    figures["events"] = events
    figures["commands"] = commands
    figures["commands_failed"] = failed
    figures["soak_meetings"] = len(soak_meetings)
    figures["samples"] = samples
    warm = [mb for at, mb in samples if at >= args.duration / 10] or [samples[-1][1]]
    base = warm[0]
    figures["baseline_mb"] = base
    figures["end_mb"] = samples[-1][1]
    figures["peak_mb"] = max(mb for _, mb in samples)
    figures["growth_pct"] = round((samples[-1][1] - base) / base * 100, 1)
    figures["peak_growth_pct"] = round((max(warm) - base) / base * 100, 1)
    return idle


async def burst(
    args: argparse.Namespace,
    emu: Emulator,
    server: tuple[Any, ...],
    target: tuple[int, int],
    announcements: list[tuple[int, int]],
    rate: float,
) -> None:
    """`--burst` events on one announcement, at `rate` events/s (0: all at once); returns
    once every answer is stored and the old reactions are gone."""
    channel, message = target
    plan = plan_events(server[4][:2000], args.burst, args.seed)
    actions = [(channel, message, u, EMOJI[c], a) for u, c, a in plan]
    step = max(1, int(rate / 10)) if rate else len(actions)
    for at in range(0, len(actions), step):
        await emu.react_many(actions[at : at + step], timeout=120)
        if rate:
            await asyncio.sleep(0.1)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if all(len(v) == 1 for v in held(emu, channel, message).values()) and await stored_as_shown(
            emu, args.db_path, announcements
        ):
            break
        await asyncio.sleep(0.2)
    else:
        raise RuntimeError("the burst was not stored and cleaned up in 300 s")
    await asyncio.sleep(args.pause)


def stored(db_path: Path) -> dict[tuple[int, int], str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT m.message_id, r.user_id, r.status FROM rsvps r JOIN meetings m ON m.id = r.meeting_id"
        ).fetchall()
    return {(int(m), int(u)): s for m, u, s in rows}


async def wrong_answers(emu: Emulator, db_path: Path, announcements: list[tuple[int, int]]) -> int:
    answers = stored(db_path)
    wrong = 0
    for channel, message in announcements:
        shown = {u: BY_EMOJI[e[-1]].value for u, e in held(emu, channel, message).items()}
        mine = {u: s for (m, u), s in answers.items() if m == message}
        wrong += sum(1 for u in set(shown) | set(mine) if shown.get(u) != mine.get(u))
    return wrong


async def stored_as_shown(
    emu: Emulator, db_path: Path, announcements: list[tuple[int, int]]
) -> bool:
    return await wrong_answers(emu, db_path, announcements) == 0


def reminders(emu: Emulator, channel: int, message: int) -> int:
    return sum(
        1
        for m in emu.messages(channel)
        if str((m.get("message_reference") or {}).get("message_id")) == str(message)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of soak")
    parser.add_argument("--rate", type=int, default=20, help="reaction events per second")
    parser.add_argument("--reminder-every", type=float, default=30.0, help="seconds")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--guilds", type=int, default=5)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--burst", type=int, default=5000, help="reaction events in the burst")
    parser.add_argument("--paced-rate", type=float, default=500, help="events/s of the paced burst")
    parser.add_argument("--profiles", type=int, default=1000, help="in the first round")
    parser.add_argument("--soak-profiles", type=int, default=100, help="in the soak's round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pause", type=float, default=1.0, help="s before each RSS reading")
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 s of soak")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rate, args.reminder_every, args.samples = 2.0, 10, 1.0, 2
        args.pause = 0.2
        args.guilds, args.members, args.burst, args.profiles, args.soak_profiles = (
            2,
            50,
            200,
            10,
            10,
        )
    figures = asyncio.run(run(args))
    print(f"--- soak: {args.guilds} servers × {args.members} members, {args.duration:.0f} s ---")
    print("| bot process (VmRSS) | MB |")
    print("|---|---:|")
    print(f"| idle, settled | {figures['idle_mb']} |")
    print(
        f"| after a burst of {args.burst} reaction events at {args.paced_rate:.0f}/s | {figures['after_paced_mb']} |"
    )
    print(
        f"| after the same burst at once (as fast as the gateway takes it) | {figures['after_burst_mb']} |"
    )
    print(
        f"| after `/match round` of {args.profiles} ({figures['round_s']} s) | {figures['after_round_mb']} |"
    )
    print(
        f"| soak baseline (after {args.duration / 10:.0f} s of soak) | {figures['baseline_mb']} |"
    )
    print(f"| soak end | {figures['end_mb']} |")
    print(f"| soak peak | {figures['peak_mb']} |")
    print(
        f"growth after warm-up: {figures['growth_pct']} % at the end, {figures['peak_growth_pct']} % at the peak"
    )
    samples = cast(list[tuple[float, float]], figures["samples"])
    print("RSS over the soak (s, MB): " + ", ".join(f"{at:.0f} s {mb}" for at, mb in samples))
    print(
        f"traffic: {figures['events']} reaction events, {figures['commands']} commands "
        f"({figures['commands_failed']} failed), {figures['soak_meetings']} meetings made with "
        f"{figures['reminders']} reminders ({figures['reminders_wrong']} not exactly one), "
        f"{figures['rounds']} rounds, {figures['answers_wrong']} answers not as shown, "
        f"{figures['errors']} errors logged"
    )
    print(json.dumps(figures))
    bad = (
        figures["answers_wrong"]
        or figures["commands_failed"]
        or figures["reminders_wrong"]
        or figures["rounds"] != 2
        or not figures["soak_meetings"]
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
