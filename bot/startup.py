"""Reaching Discord at start: a refused token is one line and exit 2; an unreachable
Discord (DNS, refused connection, timeouts, 5xx) is retried with capped, jittered backoff,
one log line per attempt and no traceback. Nothing here ever logs the token."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import discord

from bot.errors import StartupError

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_REFUSED = (
    "Discord refused DISCORD_TOKEN (401 Unauthorized): the token was reset or copied wrong. "
    "Press Reset Token under Bot in the Discord developer portal and put the new token in "
    "the DISCORD_TOKEN environment variable (or discord_token in config/moteplass.toml)."
)


def backoff_delay(
    attempt: int,
    *,
    initial: float = 1.0,
    cap: float = 60.0,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, …): initial·2^(n-1)
    capped at `cap`, then scaled by a random factor in [0.5, 1.0] so that many bots
    restarting together do not knock at the same moment."""
    exponent = max(0, min(attempt - 1, 30))
    base = min(cap, initial * float(1 << exponent))
    return base * (0.5 + 0.5 * jitter())


def unreachable_reason(exc: BaseException) -> str | None:
    """A short reason when `exc` means Discord could not be reached or is failing (worth
    retrying), else None. Never the token, never a URL with credentials."""
    if isinstance(exc, discord.LoginFailure):
        return None
    if isinstance(exc, discord.GatewayNotFound):
        cause = exc.__cause__
        if isinstance(cause, discord.HTTPException):
            return f"gateway lookup failed (HTTP {cause.status})"
        return "gateway lookup failed"
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}" if exc.status >= 500 else None
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({type(exc).__name__}: {exc.os_error.strerror or 'error'})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return f"connection failed ({type(exc).__name__})"
    return None


async def retry_unreachable(
    what: str,
    attempt_once: Callable[[], Awaitable[T]],
    *,
    initial: float = 1.0,
    cap: float = 60.0,
    before_retry: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Run `attempt_once` until it succeeds. A 401 becomes a StartupError (exit 2); an
    unreachable Discord is logged in one line and retried; anything else propagates."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await attempt_once()
        except discord.LoginFailure:
            raise StartupError(TOKEN_REFUSED) from None
        except Exception as exc:
            reason = unreachable_reason(exc)
            if reason is None:
                raise
            delay = backoff_delay(attempt, initial=initial, cap=cap)
            log.warning(
                "Discord unreachable while %s: %s (attempt %d); retrying in %.1f s",
                what,
                reason,
                attempt,
                delay,
            )
        if before_retry is not None:
            await before_retry()
        await asyncio.sleep(delay)
