"""Group commit: work for one key is done by one drainer per key, everything queued for
that key while a transaction is being opened together in it.

`GroupCommit(run).post(key, item, done)` queues `item` and returns at once; `done(result)`
is called once `item`'s result is known (or `done(exc)` if it failed). `submit(key, item)`
is the same, awaited. While a key has work queued, one task (its drainer) calls
`run(key, take)` again and again; `run` opens its transaction and then calls `take()`,
which closes the group and returns every item queued for that key so far, in arrival order
(items posted later form the next group); `run` returns one result per item. Posted one at
a time, every item gets its own run; in a burst, a few runs carry many items, and no task
per item waits meanwhile. If a group fails, each of its items is retried alone, in order,
so one bad item never takes the others down. Plain asyncio: no discord, no SQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")  # an item
R = TypeVar("R")  # its result

Take = Callable[[], Sequence[T]]
Done = Callable[[R | BaseException], None]


class GroupCommit(Generic[K, T, R]):
    def __init__(
        self,
        run: Callable[[K, Take[T]], Awaitable[Sequence[R]]],
        *,
        keep: Callable[[asyncio.Task[None]], None] | None = None,
    ) -> None:
        """`keep(task)` is told of each drainer started (e.g. so a shutdown waits for it)."""
        self._run = run
        self._keep = keep
        self._queues: dict[K, list[tuple[T, Done[R]]]] = {}
        self._drainers: dict[K, asyncio.Task[None]] = {}

    def post(self, key: K, item: T, done: Done[R]) -> None:
        """Queue `item`; `done` gets its result or its exception (never raises here)."""
        self._queues.setdefault(key, []).append((item, done))
        if key not in self._drainers:
            task = asyncio.get_running_loop().create_task(self._drain(key))
            self._drainers[key] = task
            if self._keep is not None:
                self._keep(task)

    async def submit(self, key: K, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()

        def done(result: R | BaseException) -> None:
            if future.done():
                return
            if isinstance(result, asyncio.CancelledError):
                future.cancel()
            elif isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        self.post(key, item, done)
        return await future

    def busy(self) -> list[asyncio.Task[None]]:
        """The drainers running now."""
        return list(self._drainers.values())

    async def _drain(self, key: K) -> None:
        try:
            while key in self._queues:
                await self._one_group(key)
        finally:
            del self._drainers[key]
            # cancelled: what is still queued is not done (the caller's fallback applies)
            for _item, done in self._queues.pop(key, []):
                _tell(done, asyncio.CancelledError())

    async def _one_group(self, key: K) -> None:
        taken: list[tuple[T, Done[R]]] = []

        def take() -> list[T]:
            taken.extend(self._queues.pop(key, []))  # later items form the next group
            return [item for item, _ in taken]

        try:
            results = await self._run(key, take)
        except BaseException as exc:
            if not taken:
                taken.extend(self._queues.pop(key, []))
            if len(taken) > 1 and isinstance(exc, Exception):
                log.warning("group of %d failed; retrying each", len(taken))
                for n, (item, done) in enumerate(taken):
                    try:
                        _tell(done, await self._alone(key, item))
                    except Exception as alone:
                        _tell(done, alone)
                    except BaseException as stop:
                        for _, rest in taken[n:]:
                            _tell(rest, stop)
                        raise
                return
            for _item, done in taken:
                _tell(done, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_item, done), result in zip(taken, results, strict=True):
            _tell(done, result)

    async def _alone(self, key: K, item: T) -> R:
        return (await self._run(key, lambda: [item]))[0]


def _tell(done: Done[R], result: R | BaseException) -> None:
    try:
        done(result)
    except Exception:
        log.exception("a group commit's callback failed")
