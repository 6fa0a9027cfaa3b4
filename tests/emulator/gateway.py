"""The gateway side: sessions with a replay buffer, the websocket handler, intent filtering."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.emulator.emulator import Emulator

log = logging.getLogger(__name__)

# Intent bits.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
GUILD_SCHEDULED_EVENTS = 1 << 16

_GUILD_INTENT = {
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "THREAD_CREATE": GUILDS,
    "THREAD_UPDATE": GUILDS,
    "THREAD_DELETE": GUILDS,
    "THREAD_MEMBERS_UPDATE": GUILDS,
    "GUILD_CREATE": GUILDS,
    "GUILD_DELETE": GUILDS,
    "GUILD_UPDATE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "GUILD_ROLE_DELETE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_EMOJI": GUILD_MESSAGE_REACTIONS,
    "GUILD_SCHEDULED_EVENT_CREATE": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_UPDATE": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_DELETE": GUILD_SCHEDULED_EVENTS,
}
_DM_INTENT = {
    "MESSAGE_CREATE": DIRECT_MESSAGES,
    "MESSAGE_UPDATE": DIRECT_MESSAGES,
    "MESSAGE_DELETE": DIRECT_MESSAGES,
    "CHANNEL_CREATE": DIRECT_MESSAGES,
    "MESSAGE_REACTION_ADD": DIRECT_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": DIRECT_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": DIRECT_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_EMOJI": DIRECT_MESSAGE_REACTIONS,
}
_CONTENT_KEYS = ("content", "embeds", "attachments", "components", "poll")


class Session:
    """A gateway session: survives a dropped connection (RESUME) until invalidated."""

    def __init__(self, session_id: str, intents: int, shard: tuple[int, int]) -> None:
        self.id = session_id
        self.intents = intents
        self.shard = shard
        self.seq = 0
        self.sent_seq = 0
        self.buffer: list[str] = []  # buffer[i] has s == i + 1
        self.sent_at: dict[int, float] = {}
        self.ws: web.WebSocketResponse | None = None
        self.alive = True
        self.ready_seq = 0
        self.ready_done = False
        self.wakeup = asyncio.Event()
        self.resumes = 0

    def wants(self, event: str, guild_id: int | None) -> bool:
        if event in ("READY", "RESUMED", "INTERACTION_CREATE", "GUILD_MEMBERS_CHUNK"):
            return True
        table = _GUILD_INTENT if guild_id is not None else _DM_INTENT
        bit = table.get(event)
        if bit is None:
            return True
        return bool(self.intents & bit)

    def push(self, event: str, data: Any) -> int:
        self.seq += 1
        self.buffer.append(json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}))
        self.wakeup.set()
        return self.seq


def filter_content(
    session: Session, bot_id: int, event: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Without MESSAGE_CONTENT, guild messages not by/mentioning the bot arrive without content."""
    if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & MESSAGE_CONTENT:
        return data
    if data.get("guild_id") is None:
        return data
    if str(data.get("author", {}).get("id")) == str(bot_id):
        return data
    if any(str(m.get("id")) == str(bot_id) for m in data.get("mentions", [])):
        return data
    out = dict(data)
    for key in _CONTENT_KEYS:
        if key in out:
            out[key] = "" if key == "content" else []
    out.pop("poll", None)
    return out


async def _writer(emu: Emulator, session: Session, ws: web.WebSocketResponse) -> None:
    while True:
        session.wakeup.clear()
        while session.sent_seq < session.seq and session.ws is ws and not ws.closed:
            frame = session.buffer[session.sent_seq]
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            session.sent_seq += 1
            session.sent_at[session.sent_seq] = time.perf_counter()
            if (
                not session.ready_done
                and session.ready_seq
                and session.sent_seq >= session.ready_seq
            ):
                session.ready_done = True
                emu.ready_count += 1
        if session.ws is not ws or ws.closed:
            return
        await session.wakeup.wait()


async def handle_gateway(emu: Emulator, request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
    await ws.prepare(request)
    emu.gateway_connections.append(ws)
    emu.gateway_query.append(dict(request.query))
    session: Session | None = None
    writer: asyncio.Task[None] | None = None
    await ws.send_str(
        json.dumps(
            {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": emu.heartbeat_interval_ms}}
        )
    )
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    await ws.close(code=4002, message=b"Error while decoding payload")
                continue
            try:
                payload = json.loads(msg.data)
            except ValueError:
                await ws.close(code=4002, message=b"Error while decoding payload")
                break
            op = payload.get("op")
            d = payload.get("d")
            emu.gateway_ops.append((op, time.perf_counter()))
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "s": None, "t": None, "d": None}))
            elif op == 2:
                if session is not None:
                    await ws.close(code=4005, message=b"Already authenticated")
                    break
                if emu.token is not None and d.get("token") != emu.token:
                    await ws.close(code=4004, message=b"Authentication failed")
                    break
                shard = tuple(d.get("shard") or (0, 1))
                session = Session(
                    secrets.token_hex(16), int(d.get("intents", 0)), (shard[0], shard[1])
                )
                for old in emu.sessions:
                    if old.shard == session.shard:
                        old.alive = False
                emu.sessions.append(session)
                emu.identify_count += 1
                emu.identify_payloads.append(d)
                session.ws = ws
                emu.send_ready(session)
                writer = asyncio.create_task(_writer(emu, session, ws))
            elif op == 6:
                found = next((s for s in emu.sessions if s.id == d.get("session_id")), None)
                seq = d.get("seq") or 0
                if found is None or not found.alive or emu.refuse_resume or seq > found.seq:
                    emu.resume_refused += 1
                    await asyncio.sleep(0.05)
                    await ws.send_str(json.dumps({"op": 9, "s": None, "t": None, "d": False}))
                    continue
                session = found
                old_ws = session.ws
                session.ws = ws
                if old_ws is not None and not old_ws.closed:
                    await old_ws.close(code=4000)
                if emu.resume_replay_from is not None:
                    seq = min(seq, max(0, emu.resume_replay_from))
                    emu.resume_replay_from = None
                session.sent_seq = seq
                session.resumes += 1
                emu.resume_count += 1
                session.push("RESUMED", {"_trace": ["emulator"]})
                writer = asyncio.create_task(_writer(emu, session, ws))
            elif op == 8 and session is not None:
                emu.send_member_chunk(session, d)
            # op 3 (presence) and 4 (voice) are accepted and ignored
    finally:
        if session is not None and session.ws is ws:
            session.ws = None
            session.wakeup.set()
            if ws.close_code in (1000, 1001) and not emu.stopping:
                # A clean close by the client ends the session (as on Discord).
                session.alive = False
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
        with contextlib.suppress(ValueError):
            emu.gateway_connections.remove(ws)
    return ws
