from __future__ import annotations

import asyncio
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.coalescer import Coalescer


async def test_burst_gives_few_flushes_and_the_last_state() -> None:
    state = {"value": 0}
    seen: list[int] = []

    async def flush(key: str) -> None:
        await asyncio.sleep(0.01)
        seen.append(state["value"])

    coalescer: Coalescer[str] = Coalescer(flush, interval=0.05)
    for n in range(1, 201):
        state["value"] = n
        coalescer.mark("m")
        if n % 20 == 0:
            await asyncio.sleep(0.005)
    await coalescer.drain()
    assert seen[-1] == 200
    assert len(seen) < 20


async def test_flushes_respect_the_interval() -> None:
    times: list[float] = []

    async def flush(key: int) -> None:
        times.append(asyncio.get_running_loop().time())

    coalescer: Coalescer[int] = Coalescer(flush, interval=0.05)
    for _ in range(10):
        coalescer.mark(1)
        await asyncio.sleep(0.02)
    await coalescer.drain()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.045 for gap in gaps)


async def test_failed_flush_is_retried() -> None:
    calls = {"n": 0}

    async def flush(key: int) -> None:
        calls["n"] += 1
        if calls["n"] < 3:
            raise RuntimeError("transient")

    coalescer: Coalescer[int] = Coalescer(flush, interval=0, backoff=0.001)
    coalescer.mark(1)
    await coalescer.drain()
    assert calls["n"] == 3
    assert coalescer.flushes == 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 3)), min_size=1, max_size=40))
def test_every_key_ends_with_its_last_value(marks: list[tuple[str, int]]) -> None:
    async def scenario() -> None:
        current: dict[str, int] = {}
        shown: dict[str, int] = {}

        async def flush(key: str) -> None:
            await asyncio.sleep(0)
            shown[key] = current[key]

        coalescer: Coalescer[str] = Coalescer(flush, interval=0.001)
        for key, pause in marks:
            current[key] = current.get(key, 0) + 1
            coalescer.mark(key)
            for _ in range(pause):
                await asyncio.sleep(0)
        await coalescer.drain()
        assert shown == current

    asyncio.run(scenario())
