"""Driving an emulator that runs in another process: a JSON-over-HTTP control endpoint.

`python -m tests.emulator` (see `__main__.py`) serves REST + gateway as usual and, beside
them, `POST /_control` (outside `/api/v10`, so never recorded in `emu.requests` and never
seen by a bot). The body is one call or a list of calls, run one after the other:

    {"method": "add_member", "args": [guild_id, "m1"], "kwargs": {}}

`method` is a public `Emulator` method (sync or async) or one of the extra operations in
`EXTRA` below (bulk helpers, read-backs in JSON). The answer is `{"result": ...}` (a list of
results for a list of calls) with dataclasses as dicts and `InteractionResult` as a dict
of its figures; an exception answers 500 `{"error": "Type: message"}`. Calls from several
connections run concurrently (a long `react_many` does not block an `invoke`).

`EmulatorProcess` (below) starts such a process and calls it from a test or bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import ClientSession, ClientTimeout, web

from tests.emulator.models import InteractionResult, Loopback

if TYPE_CHECKING:
    from tests.emulator.emulator import Emulator

CONTROL_PATH = "/_control"
REPO = Path(__file__).resolve().parent.parent.parent


def _interaction_json(result: InteractionResult) -> dict[str, Any]:
    record = result.record
    final = record.answered_time
    if record.response_type not in (5, 6):  # answered at once: the answer is the callback
        final = record.callback_time
    return {
        "interaction_id": record.id,
        "response_type": record.response_type,
        "ephemeral": record.ephemeral,
        "error": list(record.error) if record.error else None,
        "content": result.content,
        "embeds": result.embeds,
        "followups": len(record.followups),
        "created": record.created,  # perf_counter (CLOCK_MONOTONIC: comparable across processes)
        "callback_time": record.callback_time,
        "answered_time": final,
    }


def to_json(value: Any) -> Any:
    if isinstance(value, InteractionResult):
        return _interaction_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_") and f.name != "changed"
        }
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json(v) for v in value]
    return value


# ---------------------------------------------------------------- extra operations
def _add_members(emu: Emulator, guild_id: int, names: list[str]) -> list[int]:
    """Many plain members at once; returns their ids."""
    return [emu.add_member(guild_id, name).id for name in names]


def _react_many(
    emu: Emulator, actions: list[list[Any]], timeout: float = 60, rate: float | None = None
) -> Awaitable[list[float]]:
    return emu.react_many([tuple(a) for a in actions], timeout=timeout, rate=rate)


def _edit_stats(emu: Emulator, since: int = 0) -> dict[str, int]:
    """Message edits (PATCH of a channel message) from request number `since` on: how many,
    how many were refused with 429, and how many requests there are now (the next `since`)."""
    edits = [
        r
        for r in emu.requests[since:]
        if r.method == "PATCH" and re.fullmatch(r"/channels/\d+/messages/\d+", r.path)
    ]
    return {
        "edits": sum(1 for r in edits if r.status < 400),
        "refused": sum(1 for r in edits if r.status == 429),
        "requests": len(emu.requests),
    }


def _request_count(emu: Emulator) -> int:
    return len(emu.requests)


def _embed_fields(emu: Emulator, channel_id: int, message_id: int) -> list[dict[str, Any]]:
    message = emu.message(channel_id, message_id)
    if message is None or not message.get("embeds"):
        return []
    return list(message["embeds"][0].get("fields", []))


_pacers: dict[str, tuple[asyncio.Task[None], list[asyncio.Task[Any]]]] = {}


def _start_invoking(
    emu: Emulator, name: str, calls: list[dict[str, Any]], interval: float, timeout: float = 10
) -> None:
    """Open loop, in the emulator's own time: every `interval` s the next of `calls`
    (round robin; each `{"guild_id", "user_id", "command", "options"}`) is invoked without
    waiting for earlier ones, until `stop_invoking(name)`."""

    async def pace() -> None:
        n = 0
        start = asyncio.get_running_loop().time()
        while True:
            call = calls[n % len(calls)]
            started.append(
                asyncio.ensure_future(
                    emu.invoke(
                        call["guild_id"],
                        call["user_id"],
                        call["command"],
                        options=call.get("options") or {},
                        timeout=timeout,
                    )
                )
            )
            n += 1
            await asyncio.sleep(max(0.0, start + n * interval - asyncio.get_running_loop().time()))

    started: list[asyncio.Task[Any]] = []
    _pacers[name] = (asyncio.ensure_future(pace()), started)


async def _stop_invoking(emu: Emulator, name: str) -> list[Any]:
    """Stop the pacer `name`; wait for its interactions; each result, or an error string."""
    pacer, started = _pacers.pop(name)
    pacer.cancel()
    results = await asyncio.gather(*started, return_exceptions=True)
    return [
        f"{type(r).__name__}: {r}" if isinstance(r, BaseException) else to_json(r) for r in results
    ]


EXTRA: dict[str, Callable[..., Any]] = {
    "start_invoking": _start_invoking,
    "stop_invoking": _stop_invoking,
    "add_members": _add_members,
    "react_many": _react_many,  # JSON lists as tuples
    "edit_stats": _edit_stats,
    "request_count": _request_count,
    "embed_fields": _embed_fields,
}


async def _call(emu: Emulator, call: dict[str, Any]) -> Any:
    name = str(call.get("method", ""))
    args = call.get("args") or []
    kwargs = call.get("kwargs") or {}
    if name in EXTRA:
        result = EXTRA[name](emu, *args, **kwargs)
    elif name.startswith("_") or not callable(getattr(emu, name, None)):
        raise LookupError(f"no control method {name!r}")
    else:
        result = getattr(emu, name)(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return to_json(result)


def add_control_routes(emu: Emulator, app: web.Application) -> None:
    async def control(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            if isinstance(body, list):
                result: Any = [await _call(emu, call) for call in body]
            else:
                result = await _call(emu, body)
        except Exception as exc:  # reported to the caller, who decides
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=500)
        return web.Response(text=json.dumps({"result": result}), content_type="application/json")

    app.router.add_post(CONTROL_PATH, control)


# ---------------------------------------------------------------- the caller's side
class ControlError(RuntimeError):
    pass


class EmulatorProcess(Loopback):
    """`python -m tests.emulator` as a child process, driven over its control endpoint.

    Has `api_base` / `gateway_url` like `Emulator`, so `BotRunner` and `pointed_at` take it.

        async with EmulatorProcess() as emu:
            guild = await emu.call("add_guild", "Oslo", locale="no")
            ...
    """

    def __init__(self, *, args: list[str] | None = None, python: str = sys.executable) -> None:
        self.args = args or []
        self.python = python
        self.port = 0
        self.pid = 0
        self._process: asyncio.subprocess.Process | None = None
        self._session: ClientSession | None = None

    async def start(self, timeout: float = 30) -> EmulatorProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._process = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "tests.emulator",
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(REPO),
            env=env,
        )
        self.pid = self._process.pid
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        if not line:
            raise ControlError("emulator process exited before it listened")
        self.port = int(json.loads(line)["port"])
        self._session = ClientSession(timeout=ClientTimeout(total=None))
        return self

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self._post({"method": method, "args": list(args), "kwargs": kwargs})

    async def batch(self, calls: list[tuple[str, list[Any], dict[str, Any]]]) -> list[Any]:
        body = [{"method": m, "args": a, "kwargs": k} for m, a, k in calls]
        result = await self._post(body)
        assert isinstance(result, list)
        return result

    async def _post(self, body: Any) -> Any:
        assert self._session is not None, "start() first"
        async with self._session.post(self.base_url + CONTROL_PATH, json=body) as response:
            data = await response.json()
        if "error" in data:
            raise ControlError(data["error"])
        return data["result"]

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(Exception):
                process.stdin.close()  # EOF on stdin: the emulator stops and exits
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> EmulatorProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
