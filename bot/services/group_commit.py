"""Group commit: work for one key that arrives while a transaction for that key is being
opened is done together in it.

`GroupCommit(run).submit(key, item)` awaits `item`'s own result. The first submitter for
a key calls `run(key, take)`; `run` opens its transaction and then calls `take()`, which
closes the group and returns every item queued for that key so far, in arrival order
(items submitted later form the next group); `run` returns one result per item. Awaited
one at a time, every item gets its own run; in a burst, a few runs carry many items. If a
group fails, each of its items is retried alone, so one bad item never takes the others
down. Plain asyncio: no discord, no SQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")  # an item
R = TypeVar("R")  # its result

Take = Callable[[], Sequence[T]]


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R | None]


class GroupCommit(Generic[K, T, R]):
    def __init__(self, run: Callable[[K, Take[T]], Awaitable[Sequence[R]]]) -> None:
        self._run = run
        self._queues: dict[K, list[_Pending[T, R]]] = {}

    async def submit(self, key: K, item: T) -> R:
        mine: _Pending[T, R] = _Pending(item, asyncio.get_running_loop().create_future())
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(mine)
            result = await mine.future
            if result is None:  # the group failed: try this item on its own
                return await self.alone(key, item)
            return result
        queue = [mine]
        self._queues[key] = queue

        def take() -> list[T]:
            if self._queues.get(key) is queue:
                del self._queues[key]  # later items form the next group
            return [p.item for p in queue]

        try:
            results = await self._run(key, take)
        except BaseException as exc:
            if self._queues.get(key) is queue:
                del self._queues[key]
            for pending in queue[1:]:
                if not pending.future.done():
                    pending.future.set_result(None)
            if len(queue) > 1 and isinstance(exc, Exception):
                log.warning("group of %d failed; retrying each", len(queue))
                return await self.alone(key, item)
            raise
        for pending, result in zip(queue[1:], results[1:], strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
        return results[0]

    async def alone(self, key: K, item: T) -> R:
        """`item` in a run of its own."""
        return (await self._run(key, lambda: [item]))[0]
