"""`python -m bot run` as a process, from the outside: a refused token, an unreachable or
failing Discord at start. Exit codes, stderr lines, and never the token in the output."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.emulator import Emulator
from tests.emulator.emulator import _free_port

REPO = Path(__file__).resolve().parents[2]
TOKEN = "MTk4NjIyNDgzNDcx.GsEcRt.startup-test-token-value"
UNREACHABLE = "Discord unreachable while"


class BotProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.stdout = b""
        self.before_interrupt: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    async def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 20) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.lines):
            if self.proc.returncode is not None or loop.time() > deadline:
                raise AssertionError("never seen; stderr was:\n" + "\n".join(self.lines))
            await asyncio.sleep(0.05)

    async def finish(self, timeout: float = 20) -> int:
        assert self.proc.stdout is not None
        self.stdout = await asyncio.wait_for(self.proc.stdout.read(), timeout)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._reader
        return code

    async def interrupt(self) -> int:
        """Ctrl-C. Lines logged from here on are left out of `before_interrupt`: start-up
        work cut short by the shutdown may log (see docs/reliability/startup.md)."""
        self.before_interrupt = list(self.lines)
        self.proc.send_signal(signal.SIGINT)
        return await self.finish()

    def output(self) -> str:
        return "\n".join(self.lines) + self.stdout.decode("utf-8", "replace")


@asynccontextmanager
async def bot_process(
    tmp_path: Path, base_url: str, token: str = TOKEN
) -> AsyncIterator[BotProcess]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "DISCORD_TOKEN": token,
        "DATABASE_PATH": str(tmp_path / "moteplass.db"),
        "DISCORD_API_BASE": f"{base_url}/api/v10",
        "DISCORD_GATEWAY_URL": base_url.replace("http://", "ws://") + "/",
        "CONNECT_RETRY_INITIAL": "0.05",
        "CONNECT_RETRY_MAX": "0.2",
        "GUILD_READY_TIMEOUT": "0.1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,  # no config/moteplass.toml there
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    process = BotProcess(proc)
    try:
        yield process
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _tracebacks(lines: list[str]) -> str:
    """The first traceback in `lines` (empty when there is none)."""
    starts = [n for n, line in enumerate(lines) if line.startswith("Traceback")]
    return "\n".join(lines[starts[0] - 2 :]) if starts else ""


async def test_a_refused_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    async with (
        Emulator(token="MTAx.other.token") as emu,
        bot_process(tmp_path, emu.base_url) as bot,
    ):
        code = await bot.finish()
    assert code == 2
    assert not _tracebacks(bot.lines)
    refused = [line for line in bot.lines if line.startswith("moteplass: ")]
    assert len(refused) == 1 and "401" in refused[0] and "DISCORD_TOKEN" in refused[0]
    assert TOKEN not in bot.output()


async def test_connection_refused_is_retried_until_discord_is_there(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens here yet
    async with bot_process(tmp_path, f"http://127.0.0.1:{port}") as bot:
        await bot.wait_for(lambda lines: sum(UNREACHABLE in line for line in lines) >= 3)
        async with Emulator(port=port) as emu:
            emu.add_guild("Oslo")
            await bot.wait_for(lambda lines: any("ready in 1 guilds" in line for line in lines))
            code = await bot.interrupt()
    assert code == 130
    retries = [line for line in bot.lines if UNREACHABLE in line]
    assert all("logging in: cannot connect" in line for line in retries)
    assert not _tracebacks(bot.before_interrupt)
    assert TOKEN not in bot.output()


async def test_5xx_on_login_and_gateway_lookup_are_retried(tmp_path: Path) -> None:
    async with Emulator(token=TOKEN) as emu:
        emu.add_guild("Oslo")
        emu.inject("GET", "/users/@me", status=503, times=2)
        emu.inject("GET", "/gateway/bot", status=503, times=2)
        async with bot_process(tmp_path, emu.base_url) as bot:
            await bot.wait_for(lambda lines: any("ready in 1 guilds" in line for line in lines))
            code = await bot.interrupt()
    assert code == 130
    retries = [line for line in bot.lines if UNREACHABLE in line]
    assert len(retries) == 4
    assert sum("logging in: HTTP 503" in line for line in retries) == 2
    assert (
        sum("looking up the gateway: gateway lookup failed (HTTP 503)" in r for r in retries) == 2
    )
    assert "attempt 2" in retries[1]
    assert not _tracebacks(bot.before_interrupt)
    assert TOKEN not in bot.output()
