"""Coalescing work per key: many marks in a burst lead to few flushes, the last one last.

Used for announcement embeds: every answer marks its meeting dirty; a flush renders the
current counts from the database and edits the message. A flush never overlaps another
for the same key, runs at most once per `interval`, and a mark that arrives during a
flush causes exactly one more flush afterwards, so the final state is always shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class Coalescer(Generic[K]):
    def __init__(
        self,
        flush: Callable[[K], Awaitable[None]],
        *,
        interval: float = 1.0,
        max_retries: int = 5,
        backoff: float = 1.0,
    ) -> None:
        self._flush = flush
        self.interval = interval
        self.max_retries = max_retries
        self.backoff = backoff
        self._dirty: set[K] = set()
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._last: dict[K, float] = {}
        self.flushes = 0
        self._closed = False

    def mark(self, key: K) -> None:
        if self._closed:
            return
        self._dirty.add(key)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key))

    async def _run(self, key: K) -> None:
        try:
            while key in self._dirty and not self._closed:
                wait = self._last.get(key, float("-inf")) + self.interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._dirty.discard(key)
                await self._flush_with_retries(key)
                self._last[key] = time.monotonic()
        finally:
            self._tasks.pop(key, None)

    async def _flush_with_retries(self, key: K) -> None:
        for attempt in range(self.max_retries + 1):
            try:
                await self._flush(key)
                self.flushes += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if attempt == self.max_retries:
                    log.exception("giving up flushing %r after %d attempts", key, attempt + 1)
                    return
                delay = self.backoff * (2**attempt)
                log.warning("flush of %r failed; retrying in %.1f s", key, delay, exc_info=True)
                await asyncio.sleep(delay)

    def pending(self) -> bool:
        return bool(self._dirty or self._tasks)

    async def drain(self) -> None:
        """Wait until nothing is dirty and no flush is running."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
