"""Crash the real bot process at one Discord request, start it again, wait until it settled.

`BotProcess` runs `python -m bot run` as a subprocess pointed at an in-test `Emulator`
(one emulator and one database file across restarts). `kill_on(...)` registers an emulator
kill point (`Emulator.kill_on`) whose callback SIGKILLs the process and waits until it is
gone, so nothing of the old process runs after the crash and its uncommitted database work
is lost, as after a power cut. `start()` returns once the bot logged `settled` (after
`on_ready`, when every service's start-up work is done). See tests/emulator/README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.emulator import Emulator
from tests.emulator.models import KillPoint, RequestRecord

TOKEN = "MTAxMDEw.Gtest.emulatortoken"
REPO = Path(__file__).resolve().parents[2]
SETTLED = "bot.bot: settled"


class BotCrashed(AssertionError):
    """The process ended by itself (not by a kill point) or never became ready."""


class BotProcess:
    """The bot as a separate process. One instance, many runs: start, crash, start again."""

    def __init__(
        self,
        emu: Emulator,
        db_path: Path,
        *,
        sync_guilds: Iterable[int] = (),
        clock_start: datetime | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`clock_start`: the process clock starts there at every run (the `clock_start`
        setting), e.g. just before a reminder is due; `env`: more settings."""
        self.emu = emu
        self.db_path = db_path
        self.env = {
            "DISCORD_TOKEN": TOKEN,
            "DATABASE_PATH": str(db_path),
            "DISCORD_API_BASE": emu.api_base,
            "DISCORD_GATEWAY_URL": emu.gateway_url,
            "SYNC_GUILDS": json.dumps(list(sync_guilds)),
            "LOG_LEVEL": "INFO",
            "GUILD_READY_TIMEOUT": "0.1",
            "EMBED_EDIT_INTERVAL": "0.05",
            "IDENTIFY_DELAY": "0.05",
            **({"CLOCK_START": clock_start.isoformat()} if clock_start else {}),
            **(env or {}),
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []  # stderr of every run, in order
        self.runs = 0
        self.kills = 0
        self._settled = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, timeout: float = 60) -> None:
        """Start the process; return once it logged `settled` (raises BotCrashed if not)."""
        assert not self.running, "already running"
        self._settled = asyncio.Event()
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO)}
        env.pop("PYTHONSTARTUP", None)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.db_path.parent,  # no config/moteplass.toml of a developer is read
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.runs += 1
        self.lines.append(f"----- run {self.runs} (pid {self.proc.pid})")
        self._reader = asyncio.create_task(self._read(self.proc))
        settled = asyncio.create_task(self._settled.wait())
        ended = asyncio.create_task(self.proc.wait())
        done, _ = await asyncio.wait(
            {settled, ended}, timeout=timeout, return_when="FIRST_COMPLETED"
        )
        settled.cancel()
        ended.cancel()
        if settled not in done:
            await self.kill()
            raise BotCrashed("bot did not settle:\n" + self.log_tail())

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            if SETTLED in text:
                self._settled.set()

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.lines[-n:])

    def errors(self) -> list[str]:
        """Logged errors and tracebacks of every run (a recovery must not need them)."""
        return [line for line in self.lines if " ERROR " in line or "Traceback" in line]

    async def kill(self) -> None:
        """SIGKILL now and wait until the process is gone (idempotent)."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
            self.kills += 1
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, timeout=5)
        self.proc = self._reader = None

    async def stop(self, timeout: float = 15) -> None:
        """A clean stop (SIGTERM → the bot closes), SIGKILL if it hangs."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout=timeout)
        await self.kill()

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    def kill_on(
        self,
        method: str,
        route: str,
        *,
        after: bool = True,
        nth: int = 1,
        where: Callable[[RequestRecord], bool] | None = None,
    ) -> KillPoint:
        """Crash at the `nth` request matching (see `Emulator.kill_on`)."""

        async def crash(_record: RequestRecord) -> None:
            await self.kill()

        return self.emu.kill_on(method, route, crash, after=after, nth=nth, where=where)

    async def crash_during(self, point: KillPoint, action: Any, timeout: float = 30) -> None:
        """Run `action` (a coroutine, e.g. an interaction) until the kill point fired; what
        the action was waiting for (an answer from the dead bot) is abandoned."""
        task = asyncio.ensure_future(action)
        fired = asyncio.create_task(point.fired.wait())
        done, _ = await asyncio.wait({task, fired}, timeout=timeout, return_when="FIRST_COMPLETED")
        if fired not in done:
            fired.cancel()
            if task.done() and task.exception() is not None:
                # the action failed by itself: say so, not "the kill point never fired"
                self.emu.kill_points.remove(point)
                raise BotCrashed(f"the action failed before the kill point: {task.exception()!r}")
            await asyncio.wait_for(point.fired.wait(), timeout=timeout)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        self.emu.kill_points.remove(point)


@contextlib.asynccontextmanager
async def bot_process(emu: Emulator, db_path: Path, **kwargs: Any) -> AsyncIterator[BotProcess]:
    """A `BotProcess` that is always stopped at the end (never left running)."""
    process = BotProcess(emu, db_path, **kwargs)
    try:
        yield process
    finally:
        await process.stop()
