"""Small value types shared by the emulator: handles returned to tests, request records, errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

DISCORD_EPOCH_MS = 1420070400000
EPHEMERAL = 1 << 6
LOADING = 1 << 7


class Loopback:
    """The URLs of an emulator listening on 127.0.0.1 at `port`."""

    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"


class ApiError(Exception):
    """Raised by handlers; turned into Discord's JSON error shape by the middleware."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, **self.extra}


def unknown(code: int, what: str) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def invalid_form(detail: str) -> ApiError:
    return ApiError(400, 50035, "Invalid Form Body", extra={"errors": {"_detail": detail}})


# Discord's embed limits (characters): https://discord.com/developers/docs/resources/message
EMBED_LIMITS = {"title": 256, "description": 4096, "footer.text": 2048, "author.name": 256}
FIELD_NAME, FIELD_VALUE, MAX_FIELDS, EMBED_TOTAL = 256, 1024, 25, 6000


def check_embeds(embeds: Any) -> None:
    """400 / 50035 for an embed over Discord's limits, as Discord answers."""
    embeds = list(embeds or [])
    if len(embeds) > 10:
        raise invalid_form("embeds: Must be 10 or fewer in length.")
    total = 0
    for n, embed in enumerate(embeds):
        for path, limit in EMBED_LIMITS.items():
            value: Any = embed
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            text = str(value or "")
            if len(text) > limit:
                raise invalid_form(f"embeds.{n}.{path}: Must be {limit} or fewer in length.")
            total += len(text)
        fields = list(embed.get("fields") or [])
        if len(fields) > MAX_FIELDS:
            raise invalid_form(f"embeds.{n}.fields: Must be {MAX_FIELDS} or fewer in length.")
        for k, entry in enumerate(fields):
            name, value = str(entry.get("name") or ""), str(entry.get("value") or "")
            if not name.strip() or not value.strip():
                raise invalid_form(f"embeds.{n}.fields.{k}: name and value are required.")
            if len(name) > FIELD_NAME or len(value) > FIELD_VALUE:
                raise invalid_form(f"embeds.{n}.fields.{k}: over {FIELD_NAME}/{FIELD_VALUE}.")
            total += len(name) + len(value)
    if total > EMBED_TOTAL:
        raise invalid_form(f"embeds: {total} characters, more than {EMBED_TOTAL} in total.")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Content-Type exactly `application/json` (discord.py checks equality)."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


@dataclass(frozen=True)
class GuildRef:
    id: int
    name: str
    everyone_role_id: int
    bot_role_id: int
    owner_id: int


@dataclass(frozen=True)
class ChannelRef:
    id: int
    guild_id: int | None
    name: str
    type: int


@dataclass(frozen=True)
class RoleRef:
    id: int
    guild_id: int
    name: str


@dataclass(frozen=True)
class UserRef:
    id: int
    name: str
    bot: bool = False
    guild_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class RequestRecord:
    method: str
    path: str
    route: str | None
    json: Any
    status: int
    time: float
    query: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    authorized: bool = True
    bot_token: bool = False  # counted against the global limit


@dataclass
class Fault:
    method: str
    pattern: str
    status: int | None
    code: int | None
    retry_after: float
    times: int | None
    delay: float
    message: str | None
    is_global: bool = False
    after: bool = False  # the request is carried out, then answered with `status` (lost answer)
    hits: int = 0


@dataclass
class KillPoint:
    """`Emulator.kill_on`: call `callback` before or after the `nth` matching request."""

    method: str
    pattern: str
    after: bool
    nth: int
    callback: Callable[[RequestRecord], Any]
    where: Callable[[RequestRecord], bool] | None = None
    hits: int = 0
    fired: asyncio.Event = field(default_factory=asyncio.Event)
    record: RequestRecord | None = None


@dataclass
class InteractionRecord:
    """One interaction the emulator sent, and everything the bot answered."""

    id: int
    token: str
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: dict[str, Any]
    created: float  # perf_counter when dispatched
    source_message: tuple[int, int] | None = None  # (channel_id, message_id) for components
    responded: bool = False
    response_type: int | None = None
    response_data: dict[str, Any] | None = None
    callback_time: float | None = None
    ephemeral: bool = False
    original: dict[str, Any] | None = None  # the response message (or the component's message)
    original_edited: bool = False
    original_deleted: bool = False
    followups: list[dict[str, Any]] = field(default_factory=list)
    error: tuple[int, int, str] | None = None  # (status, code, message) of a refused callback
    answered_time: float | None = None  # perf_counter of the first follow-up or original edit
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.changed.set()


class InteractionResult:
    """What the bot answered to one interaction; properties read the live record."""

    def __init__(self, emu: Any, record: InteractionRecord) -> None:
        self._emu = emu
        self.record = record

    def __repr__(self) -> str:
        return (
            f"<InteractionResult type={self.response_type} ephemeral={self.ephemeral} "
            f"content={self.content!r} followups={len(self.followups)} error={self.error}>"
        )

    @property
    def interaction_id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def response_type(self) -> int | None:
        return self.record.response_type

    @property
    def data(self) -> dict[str, Any]:
        return self.record.response_data or {}

    @property
    def error(self) -> tuple[int, int, str] | None:
        return self.record.error

    @property
    def latency(self) -> float:
        if self.record.callback_time is None:
            return float("inf")
        return self.record.callback_time - self.record.created

    @property
    def message(self) -> dict[str, Any] | None:
        """The original response message (for components: the message the component is on)."""
        return self.record.original

    @property
    def followups(self) -> list[dict[str, Any]]:
        return self.record.followups

    @property
    def primary(self) -> dict[str, Any] | None:
        """The message a user would read first: the original answer, or the first follow-up
        when the answer was deferred and never edited."""
        rec = self.record
        if rec.response_type in (4, 7) or rec.original_edited:
            return rec.original
        if rec.followups:
            return rec.followups[0]
        return rec.original

    @property
    def ephemeral(self) -> bool:
        msg = self.primary
        if msg is not None and msg is not self.record.original:
            return bool(int(msg.get("flags", 0)) & EPHEMERAL)
        return self.record.ephemeral

    @property
    def content(self) -> str:
        msg = self.primary
        return "" if msg is None else str(msg.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        msg = self.primary
        return [] if msg is None else list(msg.get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        msg = self.primary
        return [] if msg is None else list(msg.get("components") or [])

    @property
    def files(self) -> list[tuple[str, bytes]]:
        """Files of the original answer and of every follow-up, in order."""
        out: list[tuple[str, bytes]] = []
        msgs = [self.record.original] if self.record.original is not None else []
        msgs += self.record.followups
        for msg in msgs:
            for att in msg.get("attachments") or []:
                data = self._emu.attachment_bytes(int(att["id"]))
                if data is not None:
                    out.append((att["filename"], data))
        return out

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.record.response_data if self.record.response_type == 9 else None

    @property
    def choices(self) -> list[dict[str, Any]]:
        if self.record.response_type != 8:
            return []
        return list((self.record.response_data or {}).get("choices") or [])

    async def wait_followups(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.record.followups) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"expected {count} follow-ups, got {len(self.record.followups)}")
            self.record.changed.clear()
            try:
                await asyncio.wait_for(self.record.changed.wait(), remaining)
            except TimeoutError:
                continue
        return self.record.followups
