"""Memory of the bot process, measured from outside: VmRSS from /proc/<pid>/status.

One run, three processes against one loopback emulator (in this process) with `--guilds`
servers of `--members` members each:

1. *bare*: a bare discord.py client with the bot's intents and caches (the reference);
   RSS once it is ready.
2. *eager*: `python -m bot run` with matplotlib, numpy, rustworkx and icalendar imported
   before it starts (what every start cost before they were loaded lazily); RSS settled.
3. *bot*: `python -m bot run` as shipped: RSS settled (idle), after `/match round` over
   `--profiles` introduced members of the first server, and after `/report`. Which heavy
   libraries the process has mapped (/proc/<pid>/maps) is printed at each step.

Linux only. `--quick` (run by `make test`): small sizes, the figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.db import Database  # noqa: E402
from bot.storage.profiles import ProfileRepository, ProfileText  # noqa: E402
from tests.e2e.conftest import ADMINISTRATOR  # noqa: E402
from tests.emulator import Emulator  # noqa: E402

TOKEN = "MTAxMDEw.Gtest.emulatortoken"
SETTLED = "bot.bot: settled"
READY = "bare client ready"
HEAVY = ("numpy", "rustworkx", "matplotlib", "PIL", "icalendar")
SECTORS = ("business", "public_sector", "civil_society", "research")

BARE = f"""
import sys, discord, yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
Route.BASE = sys.argv[1]
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[2])
intents = discord.Intents.none()
intents.guilds = intents.guild_messages = intents.guild_reactions = True
intents.guild_scheduled_events = True
client = discord.AutoShardedClient(
    intents=intents, max_messages=None, member_cache_flags=discord.MemberCacheFlags.none(),
    chunk_guilds_at_startup=False, guild_ready_timeout=0.1,
)
@client.event
async def on_ready():
    print({READY!r}, file=sys.stderr, flush=True)
client.run(sys.argv[3], log_handler=None)
"""

EAGER = """
import sys
import icalendar, numpy, rustworkx  # noqa: F401
import bot.domain.matching, bot.domain.tables, bot.reports.chart  # noqa: F401
from bot.__main__ import main
sys.exit(main(["run"]))
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def mapped(pid: int) -> list[str]:
    """The heavy libraries whose shared objects the process has mapped."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name for name in HEAVY if f"/site-packages/{name}" in maps]


class Process:
    """One measured subprocess; `start` returns once `marker` is on its stderr."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.argv, self.env, self.cwd = argv, env, cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []

    async def start(self, marker: str, timeout: float = 120) -> int:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        seen = asyncio.Event()

        async def read() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            while line := await self.proc.stderr.readline():
                text = line.decode(errors="replace").rstrip()
                self.lines.append(text)
                if marker in text:
                    seen.set()

        self._reader = asyncio.create_task(read())
        try:
            await asyncio.wait_for(seen.wait(), timeout)
        except TimeoutError:
            await self.stop()
            raise RuntimeError("not ready:\n" + "\n".join(self.lines[-30:])) from None
        await asyncio.sleep(1.0)  # let start-up garbage settle
        return self.proc.pid

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, 5)
        self.proc = None


async def seed(db_path: Path, guild_id: int, user_ids: list[int]) -> None:
    db = await Database.open(db_path)
    try:
        repo = ProfileRepository(db)
        now = datetime.now(UTC) - timedelta(days=1)
        for n, uid in enumerate(user_ids):
            text = ProfileText(
                f"Person {n}", organisation=f"Org {n % 97}", role="", offers="", seeks=""
            )
            await repo.save_text(guild_id, uid, text, now, opt_in=True)
            await repo.set_sector(guild_id, uid, SECTORS[n % len(SECTORS)], now)
    finally:
        await db.close()


async def run(guilds: int, members: int, profiles: int) -> dict[str, object]:
    figures: dict[str, object] = {"guilds": guilds, "members": members, "profiles": profiles}
    with tempfile.TemporaryDirectory(prefix="moteplass-memory-") as tmp:
        work = Path(tmp)
        async with Emulator() as emu:
            refs = []
            for g in range(guilds):
                guild = emu.add_guild(f"Server {g}", locale="no")
                announce = emu.add_channel(guild.id, "moter")
                intro = emu.add_channel(guild.id, "presentasjoner")
                admin = emu.add_member(guild.id, "admin", permissions=ADMINISTRATOR)
                people = [emu.add_member(guild.id, f"m{g}-{n}").id for n in range(members)]
                refs.append((guild, announce, intro, admin, people))
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "DISCORD_TOKEN": TOKEN,
                "DISCORD_API_BASE": emu.api_base,
                "DISCORD_GATEWAY_URL": emu.gateway_url,
                "LOG_LEVEL": "INFO",
                "GUILD_READY_TIMEOUT": "0.1",
                "IDENTIFY_DELAY": "0.05",
            }
            env.pop("PYTHONSTARTUP", None)
            python = sys.executable

            bare = Process([python, "-c", BARE, emu.api_base, emu.gateway_url, TOKEN], env, work)
            figures["bare_ready_mb"] = rss_mb(await bare.start(READY))
            await bare.stop()

            eager_env = {**env, "DATABASE_PATH": str(work / "eager.db")}
            eager = Process([python, "-c", EAGER], eager_env, work)
            figures["eager_idle_mb"] = rss_mb(await eager.start(SETTLED))
            await eager.stop()

            db_path = work / "bot.db"
            guild, announce, intro, admin, people = refs[0]
            await seed(db_path, guild.id, people[:profiles])
            shipped = Process(
                [python, "-m", "bot", "run"], {**env, "DATABASE_PATH": str(db_path)}, work
            )
            pid = await shipped.start(SETTLED)
            try:
                figures["bot_idle_mb"] = rss_mb(pid)
                figures["idle_mapped"] = mapped(pid)
                await emu.invoke(
                    guild.id,
                    admin.id,
                    "setup configure",
                    options={"announce_channel": announce.id, "intro_channel": intro.id},
                )
                started = time.monotonic()
                await emu.invoke(guild.id, admin.id, "match round", options={}, timeout=600)
                figures["round_s"] = round(time.monotonic() - started, 2)
                with sqlite3.connect(db_path) as con:
                    figures["groups"] = con.execute("SELECT COUNT(*) FROM match_groups").fetchone()[
                        0
                    ]
                await asyncio.sleep(1.0)
                figures["after_round_mb"] = rss_mb(pid)
                figures["round_mapped"] = mapped(pid)
                report = await emu.invoke(guild.id, admin.id, "report", timeout=120)
                figures["report_files"] = sorted(
                    name.rsplit(".", 1)[-1] for name, _ in report.files
                )
                await asyncio.sleep(1.0)
                figures["after_report_mb"] = rss_mb(pid)
                figures["report_mapped"] = mapped(pid)
            finally:
                await shipped.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=5)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--profiles", type=int, default=1000, help="introduced, in the round")
    parser.add_argument(
        "--quick", action="store_true", help="2 servers × 50 members, 10 in the round"
    )
    args = parser.parse_args()
    if args.quick:
        args.guilds, args.members, args.profiles = 2, 50, 10
    figures = asyncio.run(run(args.guilds, args.members, args.profiles))
    print(f"servers × members   {args.guilds} × {args.members}, round of {args.profiles}")
    print(f"bare discord.py     {figures['bare_ready_mb']} MB ready")
    print(f"bot, eager imports  {figures['eager_idle_mb']} MB settled (as before lazy imports)")
    print(
        f"bot                 {figures['bot_idle_mb']} MB settled, mapped {figures['idle_mapped']}"
    )
    print(
        f"after /match round  {figures['after_round_mb']} MB ({figures['groups']} groups, {figures['round_s']} s), mapped {figures['round_mapped']}"
    )
    print(f"after /report       {figures['after_report_mb']} MB, mapped {figures['report_mapped']}")
    print(json.dumps(figures))
    if figures["idle_mapped"] or not figures["groups"] or figures["report_files"] != ["csv", "png"]:
        print("heavy libraries loaded at start, or no round or report", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
