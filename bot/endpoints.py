"""Pointing discord.py at a self-hosted Discord-compatible server (or the test emulator)."""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

_ORIGINAL_BASE = discord.http.Route.BASE
_ORIGINAL_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def apply_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Set both the REST base and the gateway: discord.py falls back to DEFAULT_GATEWAY
    after INVALID_SESSION even when GET /gateway/bot named another URL."""
    discord.http.Route.BASE = api_base.rstrip("/") if api_base else _ORIGINAL_BASE
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
        yarl.URL(gateway_url) if gateway_url else _ORIGINAL_GATEWAY
    )
