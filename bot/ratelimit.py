"""Staying under Discord's global limit: at most N bot-token requests in any second.

discord.py waits on per-route buckets from Discord's headers, but it only learns about the
global limit (50 requests/s per bot) from a 429. A storm of DMs, reaction removals and edits
crosses it easily; Discord answers that with global 429s, and repeated ones with a temporary
ban. `GlobalLimiter` spaces requests out before they are sent. Interaction callbacks and
webhook follow-ups are not bound by the global limit (Discord) and are never delayed, so
the 3-second interaction deadline is unaffected.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import discord

EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


class GlobalLimiter:
    """A sliding one-second window: `acquire` returns once a request may be sent."""

    def __init__(self, limit: int, per: float = 1.0) -> None:
        self.limit = limit
        self.per = per
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.waited = 0  # requests that had to wait (for logs and tests)

    async def acquire(self) -> None:
        async with self._lock:  # first come, first sent
            while True:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self.per:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                self.waited += 1
                await asyncio.sleep(self._sent[0] + self.per - now)


def install(http: discord.http.HTTPClient, limiter: GlobalLimiter) -> None:
    """Route every bot-token request of `http` through `limiter` first."""
    request: Callable[..., Awaitable[Any]] = http.request

    async def limited(route: discord.http.Route, **kwargs: Any) -> Any:
        if not route.path.startswith(EXEMPT_PREFIXES):
            await limiter.acquire()
        return await request(route, **kwargs)

    http.request = limited  # type: ignore[method-assign]
