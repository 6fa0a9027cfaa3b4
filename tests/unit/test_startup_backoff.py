"""Backoff and the retry decision at start-up (bot/startup.py)."""

from __future__ import annotations

import logging

import aiohttp
import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import StartupError
from bot.startup import backoff_delay, retry_unreachable, unreachable_reason


def test_backoff_doubles_from_one_second_to_the_cap() -> None:
    top = [backoff_delay(n, jitter=lambda: 1.0) for n in range(1, 10)]
    assert top == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff_delay(3, jitter=lambda: 0.0) == 2.0


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=1))
def test_backoff_stays_between_half_and_the_cap(attempt: int, draw: float) -> None:
    delay = backoff_delay(attempt, jitter=lambda: draw)
    assert 0.5 <= delay <= 60.0


class _Response:
    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "x"


def _http(status: int) -> discord.HTTPException:
    return discord.HTTPException(_Response(status), {"message": "x", "code": 0})  # type: ignore[arg-type]


def test_what_counts_as_unreachable() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("discord.com", 443, True, None, None, None, None)
    dns = aiohttp.ClientConnectorError(key, OSError(-2, "Name or service not known"))
    assert (
        unreachable_reason(dns)
        == "cannot connect (ClientConnectorError: Name or service not known)"
    )
    assert unreachable_reason(_http(503)) == "HTTP 503"
    gateway = discord.GatewayNotFound()
    gateway.__cause__ = _http(502)
    assert unreachable_reason(gateway) == "gateway lookup failed (HTTP 502)"
    assert unreachable_reason(TimeoutError()) == "timed out"
    assert unreachable_reason(ConnectionResetError()) == "connection failed (ConnectionResetError)"
    for final in (_http(400), _http(403), discord.LoginFailure(), ValueError()):
        assert unreachable_reason(final) is None


async def test_retry_logs_one_line_per_attempt_and_maps_a_refused_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionRefusedError(111, "refused")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="bot.startup"):
        assert await retry_unreachable("logging in", flaky, initial=0.001, cap=0.002) == "ok"
    assert [r.exc_info for r in caplog.records] == [None, None]
    assert "attempt 2" in caplog.records[1].getMessage()

    async def refused() -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    with pytest.raises(StartupError, match="401"):
        await retry_unreachable("logging in", refused)
