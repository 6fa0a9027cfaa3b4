"""GroupCommit: one drainer per key, groups in arrival order, a failed group retried item
by item, nothing left waiting when it is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.services.group_commit import GroupCommit, Take


class Runs:
    """A `run` that records each group and fails on the items in `bad`."""

    def __init__(self, bad: frozenset[int] = frozenset()) -> None:
        self.groups: list[list[int]] = []
        self.bad = bad
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, key: str, take: Take[int]) -> Sequence[int]:
        await self.gate.wait()  # "opening the transaction"
        items = list(take())
        self.groups.append(items)
        if self.bad & set(items):
            raise ValueError("bad item")
        return [item * 10 for item in items]


async def test_posting_returns_at_once_and_a_burst_is_a_few_groups_in_order() -> None:
    runs = Runs()
    runs.gate.clear()
    groups: GroupCommit[str, int, int] = GroupCommit(runs)
    results: list[int | BaseException] = []
    for n in range(1, 101):
        groups.post("m", n, results.append)
    assert results == [] and len(groups.busy()) == 1  # one drainer, no task per item
    runs.gate.set()
    await asyncio.gather(*groups.busy())
    assert results == [n * 10 for n in range(1, 101)]
    assert [n for group in runs.groups for n in group] == list(range(1, 101))
    assert len(runs.groups) <= 2


async def test_a_failed_group_is_retried_item_by_item() -> None:
    runs = Runs(bad=frozenset({3}))
    runs.gate.clear()
    groups: GroupCommit[str, int, int] = GroupCommit(runs)
    results: dict[int, int | BaseException] = {}
    for n in range(1, 6):
        groups.post("m", n, lambda r, n=n: results.__setitem__(n, r))
    runs.gate.set()
    await asyncio.gather(*groups.busy())
    assert {n: r for n, r in results.items() if not isinstance(r, BaseException)} == {
        1: 10,
        2: 20,
        4: 40,
        5: 50,
    }
    assert isinstance(results[3], ValueError)
    assert await groups.submit("m", 7) == 70
    with pytest.raises(ValueError):
        await groups.submit("m", 3)


async def test_cancelled_drainer_tells_every_queued_item() -> None:
    runs = Runs()
    runs.gate.clear()
    kept: list[asyncio.Task[None]] = []
    groups: GroupCommit[str, int, int] = GroupCommit(runs, keep=kept.append)
    results: list[int | BaseException] = []
    for n in range(3):
        groups.post("m", n, results.append)
    waiting = asyncio.ensure_future(groups.submit("m", 9))
    await asyncio.sleep(0)
    assert len(kept) == 1
    kept[0].cancel()
    await asyncio.gather(kept[0], return_exceptions=True)
    assert len(results) == 3 and all(isinstance(r, asyncio.CancelledError) for r in results)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not groups.busy()
    groups.post("m", 1, results.append)  # a later item gets a new drainer
    runs.gate.set()
    await asyncio.gather(*groups.busy())
    assert results[-1] == 10
