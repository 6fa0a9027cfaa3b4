"""REST routes under /api/v10: handlers, the recording/fault/auth middleware, body parsing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.emulator import permissions as P
from tests.emulator.models import (
    EPHEMERAL,
    ApiError,
    RequestRecord,
    invalid_form,
    iso,
    json_response,
    parse_iso,
    unknown,
)

if TYPE_CHECKING:
    from tests.emulator.emulator import Emulator

PREFIX = "/api/v10"
BODY_KEY: web.RequestKey[tuple[Any, list[tuple[str, bytes, str | None]]]] = web.RequestKey(
    "emu_body", tuple
)
NO_AUTH_PREFIXES = ("/interactions/", "/webhooks/")


@dataclass
class Req:
    """A parsed request handed to handlers."""

    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    json: Any = None
    files: list[tuple[str, bytes, str | None]] = field(default_factory=list)

    def int(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(404, 0, "404: Not Found") from None


Handler = Callable[["Emulator", Req], Awaitable[Any]]
ROUTES: list[tuple[str, str, Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        ROUTES.append((method, path, fn))
        return fn

    return deco


class Raw:
    """A handler result with its own status/headers (e.g. 204)."""

    def __init__(
        self, status: int = 204, data: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.data = data
        self.headers = headers or {}


async def _parse_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes, str | None]]]:
    ctype = request.headers.get("Content-Type", "")
    files: list[tuple[str, bytes, str | None]] = []
    if ctype.startswith("multipart/form-data"):
        payload: Any = None
        indexed: dict[int, tuple[str, bytes, str | None]] = {}
        reader = await request.multipart()
        order = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            name = getattr(part, "name", None) or ""
            data = await part.read()  # type: ignore[union-attr]
            if name == "payload_json":
                payload = json.loads(data.decode())
            elif name.startswith("file"):
                index = order
                if name.startswith("files[") and name.endswith("]"):
                    index = int(name[6:-1])
                filename = getattr(part, "filename", None) or f"file{index}"
                indexed[index] = (filename, bytes(data), part.headers.get("Content-Type"))
                order += 1
        if indexed:
            top = max(indexed) + 1
            files = [indexed.get(i, ("missing", b"", None)) for i in range(top)]
        return payload, files
    raw = await request.read()
    if not raw:
        return None, files
    try:
        return json.loads(raw), files
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def _fault_response(fault: Any) -> web.Response:
    status = int(fault.status)
    if status == 429:
        retry = float(fault.retry_after)
        headers = {
            "Retry-After": str(max(1, round(retry))),
            "Via": "1.1 google",
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry:.3f}",
            "X-RateLimit-Reset": f"{time.time() + retry:.3f}",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": fault.message or "You are being rate limited.",
            "retry_after": retry,
            "global": fault.is_global,
        }
        if fault.code is not None:
            body["code"] = fault.code
        return json_response(body, 429, headers)
    code = fault.code if fault.code is not None else (50013 if status == 403 else 0)
    default = {
        403: "Missing Permissions",
        404: "Unknown",
        400: "Bad Request",
    }.get(status, f"{status}: Server Error")
    return json_response({"message": fault.message or default, "code": code}, status)


def build_app(emu: Emulator) -> web.Application:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        if not path.startswith(PREFIX):
            return await handler(request)
        api_path = path[len(PREFIX) :]
        resource = request.match_info.route.resource
        template = None
        if resource is not None and request.match_info.http_exception is None:
            template = resource.canonical[len(PREFIX) :]
        record = RequestRecord(
            method=request.method,
            path=api_path,
            route=template,
            json=None,
            status=0,
            time=time.time(),
            query=dict(request.query),
        )
        emu.requests.append(record)
        response: web.StreamResponse
        try:
            fault = emu.match_fault(request.method, template, api_path)
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            auth = request.headers.get("Authorization", "")
            needs_auth = not api_path.startswith(NO_AUTH_PREFIXES)
            if needs_auth and (
                not auth.startswith("Bot ") or (emu.token is not None and auth[4:] != emu.token)
            ):
                record.authorized = False
                raise ApiError(401, 0, "401: Unauthorized")
            if template is None:
                emu.unknown_routes.append(record)
                exc = request.match_info.http_exception
                status = exc.status if exc is not None else 404
                if status == 405:
                    raise ApiError(405, 0, "405: Method Not Allowed")
                raise ApiError(404, 0, "404: Not Found")
            if needs_auth:
                record.bot_token = True
                emu.global_limit_take()
            body, files = await _parse_body(request)
            record.json = body
            record.files = [(name, data) for name, data, _ in files]
            kill = emu.match_kill(record)
            if kill is not None and not kill.after:
                await emu.fire_kill(kill, record)
                raise ApiError(503, 0, "killed before handling")
            if fault is not None and fault.status is not None and not fault.after:
                response = _fault_response(fault)
            else:
                request[BODY_KEY] = (body, files)
                response = await handler(request)
                if fault is not None and fault.status is not None:
                    response = _fault_response(fault)  # carried out, but the answer is lost
            if kill is not None:
                record.status = response.status
                await emu.fire_kill(kill, record)
        except ApiError as err:
            response = json_response(err.body(), err.status, err.headers)
        record.status = response.status
        return response

    app = web.Application(middlewares=[middleware], client_max_size=64 * 1024 * 1024)

    def wrap(fn: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def view(request: web.Request) -> web.StreamResponse:
            body, files = request.get(BODY_KEY, (None, []))
            req = Req(request, dict(request.match_info), dict(request.query), body, files)
            result = await fn(emu, req)
            if isinstance(result, web.StreamResponse):
                return result
            if isinstance(result, Raw):
                if result.data is None:
                    return web.Response(status=result.status, headers=result.headers)
                return json_response(result.data, result.status, result.headers)
            return json_response(result)

        return view

    for method, path, fn in ROUTES:
        app.router.add_route(method, PREFIX + path, wrap(fn))

    async def attachment(request: web.Request) -> web.Response:
        found = emu.attachments.get(int(request.match_info["aid"]))
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[1], content_type="application/octet-stream")

    app.router.add_get("/attachments/{aid}/{filename}", attachment)
    return app


# ---------------------------------------------------------------------- identity, gateway
@route("GET", "/users/@me")
async def get_me(emu: Emulator, req: Req) -> Any:
    return emu.users[emu.bot_user_id]


@route("GET", "/users/{user_id}")
async def get_user(emu: Emulator, req: Req) -> Any:
    return emu.user_json(req.int("user_id"))


@route("GET", "/oauth2/applications/@me")
@route("GET", "/applications/@me")
async def get_application(emu: Emulator, req: Req) -> Any:
    bot = emu.users[emu.bot_user_id]
    return {
        "id": str(emu.application_id),
        "name": bot["username"],
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 0,
        "owner": emu.user_json(emu.owner_user.id),
        "team": None,
        "bot": emu.user_json(emu.bot_user_id),
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "tags": [],
    }


@route("GET", "/gateway")
async def get_gateway(emu: Emulator, req: Req) -> Any:
    return {"url": emu.gateway_url}


@route("GET", "/gateway/bot")
async def get_gateway_bot(emu: Emulator, req: Req) -> Any:
    return {
        "url": emu.gateway_url,
        "shards": 1,
        "session_start_limit": {
            "total": 1000,
            "remaining": 999,
            "reset_after": 86400000,
            "max_concurrency": 1,
        },
    }


# ---------------------------------------------------------------------- application commands
def _store_commands(
    emu: Emulator, guild_id: int | None, commands: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for cmd in commands:
        if not isinstance(cmd, dict) or not cmd.get("name"):
            raise invalid_form("command name required")
        ctype = int(cmd.get("type", 1))
        key = (guild_id, cmd["name"], ctype)
        cid = emu._command_ids.get(key) or emu.snowflake()
        emu._command_ids[key] = cid
        stored = {
            "id": str(cid),
            "application_id": str(emu.application_id),
            "version": str(emu.snowflake()),
            "type": ctype,
            "name": cmd["name"],
            "name_localizations": cmd.get("name_localizations"),
            "description": cmd.get("description", ""),
            "description_localizations": cmd.get("description_localizations"),
            "options": cmd.get("options", []),
            "default_member_permissions": cmd.get("default_member_permissions"),
            "dm_permission": cmd.get("dm_permission", True),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types", [0]),
            "nsfw": cmd.get("nsfw", False),
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        out.append(stored)
    return out


@route("PUT", "/applications/{app_id}/commands")
async def put_global_commands(emu: Emulator, req: Req) -> Any:
    emu.global_commands = _store_commands(emu, None, req.json or [])
    return emu.global_commands


@route("GET", "/applications/{app_id}/commands")
async def get_global_commands(emu: Emulator, req: Req) -> Any:
    return emu.global_commands


@route("POST", "/applications/{app_id}/commands")
async def post_global_command(emu: Emulator, req: Req) -> Any:
    [stored] = _store_commands(emu, None, [req.json])
    emu.global_commands = [c for c in emu.global_commands if c["id"] != stored["id"]] + [stored]
    return Raw(201, stored)


@route("PUT", "/applications/{app_id}/guilds/{guild_id}/commands")
async def put_guild_commands(emu: Emulator, req: Req) -> Any:
    gid = req.int("guild_id")
    emu._guild(gid)
    emu.guild_commands[gid] = _store_commands(emu, gid, req.json or [])
    return emu.guild_commands[gid]


@route("GET", "/applications/{app_id}/guilds/{guild_id}/commands")
async def get_guild_commands(emu: Emulator, req: Req) -> Any:
    return emu.guild_commands.get(req.int("guild_id"), [])


# ---------------------------------------------------------------------- guilds
@route("GET", "/guilds/{guild_id}")
async def get_guild(emu: Emulator, req: Req) -> Any:
    guild = emu._guild(req.int("guild_id"))
    return {
        **guild.data,
        "roles": list(guild.roles.values()),
        "approximate_member_count": len(guild.members),
        "approximate_presence_count": 0,
    }


@route("GET", "/guilds/{guild_id}/channels")
async def get_guild_channels(emu: Emulator, req: Req) -> Any:
    return emu.guild_channels(req.int("guild_id"))


@route("GET", "/guilds/{guild_id}/threads/active")
async def get_active_threads(emu: Emulator, req: Req) -> Any:
    gid = str(req.int("guild_id"))
    threads = [
        emu.channel_json(int(c["id"]))
        for c in emu.channels.values()
        if c.get("guild_id") == gid
        and "thread_metadata" in c
        and not c["thread_metadata"]["archived"]
    ]
    members = [emu.thread_members[int(t["id"])][emu.bot_user_id] for t in threads if "member" in t]
    return {"threads": threads, "members": members}


@route("GET", "/guilds/{guild_id}/roles")
async def get_roles(emu: Emulator, req: Req) -> Any:
    return list(emu._guild(req.int("guild_id")).roles.values())


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(emu: Emulator, req: Req) -> Any:
    return emu.member_json(req.int("guild_id"), req.int("user_id"))


@route("GET", "/guilds/{guild_id}/members")
async def list_members(emu: Emulator, req: Req) -> Any:
    guild = emu._guild(req.int("guild_id"))
    limit = max(1, min(int(req.query.get("limit", 1)), 1000))
    after = int(req.query.get("after", 0))
    ids = sorted(uid for uid in guild.members if uid > after)[:limit]
    return [emu.member_json(guild.id, uid) for uid in ids]


def _require_in_server(emu: Emulator, gid: int, bit: int) -> None:
    """403 50013 unless the bot has the server-wide permission `bit`."""
    if not emu.guild_permissions(gid, emu.bot_user_id) & bit:
        raise ApiError(403, 50013, "Missing Permissions")


def _require_in_guild(emu: Emulator, cid: int, *bits: int) -> None:
    """The bot's permissions checked in a server channel (a DM asks for none)."""
    if emu._channel(cid).get("guild_id") is not None:
        emu.require(cid, *bits)


# ---------------------------------------------------------------------- channels
@route("GET", "/channels/{channel_id}")
async def get_channel(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    _require_in_guild(emu, cid)
    return emu.channel_json(cid)


@route("PATCH", "/channels/{channel_id}")
async def patch_channel(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    channel = emu._channel(cid)
    body = dict(req.json or {})
    if channel["type"] in (10, 11, 12):
        is_owner = int(channel["owner_id"]) == emu.bot_user_id
        only_archive = set(body) <= {"archived", "name", "auto_archive_duration"}
        if not (is_owner and only_archive):
            emu.require(cid, P.MANAGE_THREADS)
        meta = dict(channel["thread_metadata"])
        for key in ("archived", "locked", "invitable", "auto_archive_duration"):
            if key in body:
                meta[key] = body.pop(key)
        if "archived" in (req.json or {}):
            meta["archive_timestamp"] = iso(emu.now())
        body["thread_metadata"] = meta
    else:
        emu.require(cid, P.MANAGE_CHANNELS)
        if "permission_overwrites" in body:
            guild = emu._guild(int(channel["guild_id"]))
            body["permission_overwrites"] = [
                emu._overwrite(guild, o) for o in body["permission_overwrites"]
            ]
    allowed = {
        "name",
        "topic",
        "nsfw",
        "rate_limit_per_user",
        "position",
        "parent_id",
        "permission_overwrites",
        "thread_metadata",
        "flags",
        "applied_tags",
        "default_auto_archive_duration",
    }
    return emu.update_channel(cid, **{k: v for k, v in body.items() if k in allowed})


@route("DELETE", "/channels/{channel_id}")
async def delete_channel(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    channel = emu.channel_json(cid)
    if channel["type"] in (10, 11, 12):
        emu.require(cid, P.MANAGE_THREADS)
    elif channel.get("guild_id") is not None:
        emu.require(cid, P.MANAGE_CHANNELS)
    emu.delete_channel(cid)
    return channel


@route("POST", "/guilds/{guild_id}/channels")
async def create_guild_channel(emu: Emulator, req: Req) -> Any:
    gid = req.int("guild_id")
    _require_in_server(emu, gid, P.MANAGE_CHANNELS)
    body = req.json or {}
    ref = emu.add_channel(
        gid,
        body["name"],
        type=int(body.get("type", 0)),
        overwrites=body.get("permission_overwrites") or [],
        parent_id=int(body["parent_id"]) if body.get("parent_id") else None,
        topic=body.get("topic"),
    )
    return Raw(201, emu.channel_json(ref.id))


@route("POST", "/guilds/{guild_id}/roles")
async def create_guild_role(emu: Emulator, req: Req) -> Any:
    gid = req.int("guild_id")
    _require_in_server(emu, gid, P.MANAGE_ROLES)
    body = req.json or {}
    ref = emu.add_role(
        gid, str(body.get("name") or "new role"), permissions=int(body.get("permissions") or 0)
    )
    role = emu._guild(gid).roles[ref.id]
    role["mentionable"] = bool(body.get("mentionable", False))
    role["hoist"] = bool(body.get("hoist", False))
    return role


# ---------------------------------------------------------------------- messages
def _send_bits(emu: Emulator, channel: dict[str, Any]) -> int:
    return P.SEND_MESSAGES_IN_THREADS if channel["type"] in (10, 11, 12) else P.SEND_MESSAGES


def _check_thread_open(channel: dict[str, Any]) -> None:
    meta = channel.get("thread_metadata")
    if meta and (meta.get("archived") or meta.get("locked")):
        raise ApiError(400, 50083, "Thread is archived")


@route("POST", "/channels/{channel_id}/messages")
async def post_message(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    channel = emu._channel(cid)
    body = dict(req.json or {})
    if channel["type"] == 1:
        recipient = int(channel["recipients"][0]["id"])
        if recipient in emu.closed_dms or emu.users[recipient].get("bot"):
            raise ApiError(403, 50007, "Cannot send messages to this user")
    else:
        bits = [_send_bits(emu, channel)]
        if req.files:
            bits.append(P.ATTACH_FILES)
        emu.require(cid, *bits)
        _check_thread_open(channel)
        if channel["type"] == 12 and emu.bot_user_id not in emu.thread_members.get(cid, {}):
            emu.require(cid, P.MANAGE_THREADS)
    if not (
        body.get("content")
        or body.get("embeds")
        or req.files
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")
    if len(str(body.get("content") or "")) > 2000:
        raise invalid_form("content: Must be 2000 or fewer in length.")
    if len(body.get("embeds") or []) > 10:
        raise invalid_form("embeds: Must be 10 or fewer in length.")
    msg = emu.create_message(cid, emu.bot_user_id, body, req.files)
    return emu.message_json(msg)


@route("GET", "/channels/{channel_id}/messages/pins")
async def get_pins(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    emu.require(cid, P.READ_MESSAGE_HISTORY)
    pinned = [m for m in emu.channel_messages.get(cid, {}).values() if m.get("pinned")]
    pinned.sort(key=lambda m: m.get("_pinned_at", ""), reverse=True)
    items = [{"pinned_at": m.get("_pinned_at"), "message": emu.message_json(m)} for m in pinned]
    return {"items": items, "has_more": False}


def _managed_message(emu: Emulator, req: Req) -> tuple[int, dict[str, Any]]:
    """The request's channel id and message, in a server channel only with Manage Messages."""
    cid = req.int("channel_id")
    msg = emu.get_message(cid, req.int("message_id"))
    _require_in_guild(emu, cid, P.MANAGE_MESSAGES)
    return cid, msg


@route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
async def pin_message(emu: Emulator, req: Req) -> Any:
    _, msg = _managed_message(emu, req)
    if not msg.get("pinned"):
        msg["pinned"] = True
        msg["_pinned_at"] = iso(emu.now())
        emu.dispatch_message_update(msg)
    return Raw(204)


@route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
async def unpin_message(emu: Emulator, req: Req) -> Any:
    _, msg = _managed_message(emu, req)
    msg["pinned"] = False
    msg.pop("_pinned_at", None)
    return Raw(204)


@route("POST", "/channels/{channel_id}/typing")
async def typing(emu: Emulator, req: Req) -> Any:
    emu.require(req.int("channel_id"), P.SEND_MESSAGES)
    return Raw(204)


@route("PUT", "/channels/{channel_id}/permissions/{target_id}")
async def put_overwrite(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    emu.require(cid, P.MANAGE_ROLES)
    body = req.json or {}
    emu.set_channel_overwrite(
        cid, req.int("target_id"), allow=int(body.get("allow", 0)), deny=int(body.get("deny", 0))
    )
    return Raw(204)


@route("DELETE", "/channels/{channel_id}/permissions/{target_id}")
async def delete_overwrite(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    emu.require(cid, P.MANAGE_ROLES)
    channel = emu._channel(cid)
    target = str(req.int("target_id"))
    channel["permission_overwrites"] = [
        o for o in channel["permission_overwrites"] if o["id"] != target
    ]
    emu.update_channel(cid)
    return Raw(204)


@route("GET", "/channels/{channel_id}/messages")
async def get_messages(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    _require_in_guild(emu, cid, P.READ_MESSAGE_HISTORY)
    limit = max(1, min(int(req.query.get("limit", 50)), 100))
    msgs = sorted(emu.channel_messages.get(cid, {}).values(), key=lambda m: int(m["id"]))
    if "after" in req.query:
        after = int(req.query["after"])
        picked = [m for m in msgs if int(m["id"]) > after][:limit]
        picked.reverse()
    elif "before" in req.query:
        before = int(req.query["before"])
        picked = [m for m in msgs if int(m["id"]) < before][-limit:]
        picked.reverse()
    elif "around" in req.query:
        around = int(req.query["around"])
        older = [m for m in msgs if int(m["id"]) <= around][-(limit // 2 + limit % 2) :]
        newer = [m for m in msgs if int(m["id"]) > around][: limit // 2]
        picked = list(reversed(older + newer))
    else:
        picked = list(reversed(msgs[-limit:]))
    return [emu.message_json(m) for m in picked]


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    _require_in_guild(emu, cid, P.READ_MESSAGE_HISTORY)
    return emu.message_json(emu.get_message(cid, req.int("message_id")))


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def patch_message(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    channel = emu._channel(cid)
    msg = emu.get_message(cid, req.int("message_id"))
    body = dict(req.json or {})
    if int(msg["author"]["id"]) != emu.bot_user_id:
        if set(body) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        emu.require(cid, P.MANAGE_MESSAGES)
    if channel.get("guild_id") is not None:
        emu.require(cid)
    headers: dict[str, str] = {}
    if emu.edit_bucket is not None:
        headers = emu.edit_bucket_take(cid)
    emu.check_old_edit(msg)
    if len(str(body.get("content") or "")) > 2000:
        raise invalid_form("content: Must be 2000 or fewer in length.")
    emu.edit_message(msg, body, req.files)
    return Raw(200, emu.message_json(msg), headers)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    channel = emu._channel(cid)
    msg = emu.get_message(cid, req.int("message_id"))
    if int(msg["author"]["id"]) != emu.bot_user_id and channel.get("guild_id") is not None:
        emu.require(cid, P.MANAGE_MESSAGES)
    emu.remove_message(cid, int(msg["id"]))
    return Raw(204)


# ---------------------------------------------------------------------- reactions
def _reaction_target(emu: Emulator, req: Req) -> tuple[int, dict[str, Any], str]:
    from tests.emulator.emulator import normalise_emoji

    cid = req.int("channel_id")
    msg = emu.get_message(cid, req.int("message_id"))
    _require_in_guild(emu, cid, P.READ_MESSAGE_HISTORY)
    emoji = normalise_emoji(req.params["emoji"])
    if ":" in emoji:
        _, _, eid = emoji.rpartition(":")
        if not eid.isdigit():
            raise ApiError(400, 10014, "Unknown Emoji")
    return cid, msg, emoji


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def put_reaction(emu: Emulator, req: Req) -> Any:
    cid, msg, emoji = _reaction_target(emu, req)
    existing = emu.message_reactions.get(int(msg["id"]), {}).get(emoji)
    channel = emu._channel(cid)
    if not existing and channel.get("guild_id") is not None:
        emu.require(cid, P.ADD_REACTIONS)
    if not existing and len(emu.message_reactions.get(int(msg["id"]), {})) >= 20:
        raise ApiError(400, 30010, "Maximum number of reactions reached (20)")
    emu.add_reaction(cid, int(msg["id"]), emu.bot_user_id, emoji)
    return Raw(204)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def delete_own_reaction(emu: Emulator, req: Req) -> Any:
    cid, msg, emoji = _reaction_target(emu, req)
    emu.remove_reaction(cid, int(msg["id"]), emu.bot_user_id, emoji)
    return Raw(204)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}")
async def delete_user_reaction(emu: Emulator, req: Req) -> Any:
    cid, msg, emoji = _reaction_target(emu, req)
    uid = req.int("user_id")
    if uid != emu.bot_user_id and emu._channel(cid).get("guild_id") is not None:
        emu.require(cid, P.MANAGE_MESSAGES)
    emu.remove_reaction(cid, int(msg["id"]), uid, emoji)
    return Raw(204)


@route("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
async def get_reactions(emu: Emulator, req: Req) -> Any:
    _, msg, emoji = _reaction_target(emu, req)
    limit = max(1, min(int(req.query.get("limit", 25)), 100))
    after = int(req.query.get("after", 0))
    if int(req.query.get("type", 0)) == 1:
        return []
    users = sorted(emu.message_reactions.get(int(msg["id"]), {}).get(emoji, []))
    return [emu.user_json(u) for u in users if u > after][:limit]


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}")
async def delete_emoji_reactions(emu: Emulator, req: Req) -> Any:
    cid, msg, emoji = _reaction_target(emu, req)
    _require_in_guild(emu, cid, P.MANAGE_MESSAGES)
    emu.clear_reactions(cid, int(msg["id"]), emoji)
    return Raw(204)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions")
async def delete_all_reactions(emu: Emulator, req: Req) -> Any:
    cid, msg = _managed_message(emu, req)
    emu.clear_reactions(cid, int(msg["id"]))
    return Raw(204)


# ---------------------------------------------------------------------- DMs
@route("POST", "/users/@me/channels")
async def open_dm(emu: Emulator, req: Req) -> Any:
    body = req.json or {}
    recipient = body.get("recipient_id")
    if recipient is None:
        raise invalid_form("recipient_id required")
    cid = emu.dm_channel(int(recipient))
    return emu.channel_json(cid)


# ---------------------------------------------------------------------- threads
@route("POST", "/channels/{channel_id}/threads")
async def create_thread(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    channel = emu._channel(cid)
    if channel["type"] not in (0, 5):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    body = req.json or {}
    ttype = int(body.get("type", 12))
    emu.require(cid, P.CREATE_PRIVATE_THREADS if ttype == 12 else P.CREATE_PUBLIC_THREADS)
    if not body.get("name"):
        raise invalid_form("name required")
    data = emu._create_thread(
        cid,
        str(body["name"])[:100],
        emu.bot_user_id,
        ttype,
        bool(body.get("invitable", True)),
        None,
        int(body.get("auto_archive_duration", 1440)),
    )
    return Raw(201, emu.channel_json(int(data["id"])))


@route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
async def create_thread_from_message(emu: Emulator, req: Req) -> Any:
    cid = req.int("channel_id")
    msg = emu.get_message(cid, req.int("message_id"))
    emu.require(cid, P.CREATE_PUBLIC_THREADS)
    if int(msg["id"]) in emu.channels:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    body = req.json or {}
    data = emu._create_thread(
        cid,
        str(body.get("name") or "thread")[:100],
        emu.bot_user_id,
        11,
        True,
        int(msg["id"]),
        int(body.get("auto_archive_duration", 1440)),
    )
    return Raw(201, emu.channel_json(int(data["id"])))


def _thread(emu: Emulator, req: Req) -> dict[str, Any]:
    channel = emu._channel(req.int("channel_id"))
    if channel["type"] not in (10, 11, 12):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return channel


@route("PUT", "/channels/{channel_id}/thread-members/@me")
async def join_thread(emu: Emulator, req: Req) -> Any:
    thread = _thread(emu, req)
    _check_thread_open(thread)
    emu._add_thread_member(int(thread["id"]), emu.bot_user_id)
    return Raw(204)


@route("DELETE", "/channels/{channel_id}/thread-members/@me")
async def leave_thread(emu: Emulator, req: Req) -> Any:
    thread = _thread(emu, req)
    emu._remove_thread_member(int(thread["id"]), emu.bot_user_id)
    return Raw(204)


@route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
async def add_thread_member(emu: Emulator, req: Req) -> Any:
    thread = _thread(emu, req)
    _check_thread_open(thread)
    uid = req.int("user_id")
    tid = int(thread["id"])
    emu.require(tid, P.SEND_MESSAGES_IN_THREADS)
    if thread["type"] == 12 and emu.bot_user_id not in emu.thread_members.get(tid, {}):
        emu.require(tid, P.MANAGE_THREADS)
    guild = emu._guild(int(thread["guild_id"]))
    if uid not in guild.members:
        raise unknown(10007, "Member")
    emu._add_thread_member(tid, uid)
    return Raw(204)


@route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
async def remove_thread_member(emu: Emulator, req: Req) -> Any:
    thread = _thread(emu, req)
    tid = int(thread["id"])
    if int(thread["owner_id"]) != emu.bot_user_id:
        emu.require(tid, P.MANAGE_THREADS)
    emu._remove_thread_member(tid, req.int("user_id"))
    return Raw(204)


@route("GET", "/channels/{channel_id}/thread-members")
async def list_thread_members(emu: Emulator, req: Req) -> Any:
    thread = _thread(emu, req)
    return list(emu.thread_members.get(int(thread["id"]), {}).values())


@route("GET", "/channels/{channel_id}/thread-members/{user_id}")
async def get_thread_member(emu: Emulator, req: Req) -> Any:
    thread = _thread(emu, req)
    found = emu.thread_members.get(int(thread["id"]), {}).get(req.int("user_id"))
    if found is None:
        raise unknown(10007, "Member")
    return found


# ---------------------------------------------------------------------- scheduled events
def _event(emu: Emulator, req: Req) -> tuple[int, dict[str, Any]]:
    gid = req.int("guild_id")
    guild = emu._guild(gid)
    event = guild.events.get(req.int("event_id"))
    if event is None:
        raise unknown(10070, "Guild Scheduled Event")
    return gid, event


def _require_events(emu: Emulator, gid: int) -> None:
    _require_in_server(emu, gid, P.MANAGE_EVENTS)


def _validate_event(emu: Emulator, body: dict[str, Any], *, creating: bool) -> None:
    etype = int(body.get("entity_type", 3))
    if creating:
        for key in ("name", "scheduled_start_time", "entity_type", "privacy_level"):
            if key not in body:
                raise invalid_form(f"{key}: This field is required")
    if etype == 3 and creating:
        if not (body.get("entity_metadata") or {}).get("location"):
            raise invalid_form("entity_metadata.location: required for external events")
        if not body.get("scheduled_end_time"):
            raise invalid_form("scheduled_end_time: required for external events")
    start = body.get("scheduled_start_time")
    end = body.get("scheduled_end_time")
    if start is not None:
        if creating and parse_iso(start) < emu.now():
            raise invalid_form("scheduled_start_time: Cannot schedule event in the past.")
        if end is not None and parse_iso(end) <= parse_iso(start):
            raise invalid_form("scheduled_end_time: must be after the start time")
    if len(str(body.get("name") or "")) > 100:
        raise invalid_form("name: Must be 100 or fewer in length.")


@route("GET", "/guilds/{guild_id}/scheduled-events")
async def list_events(emu: Emulator, req: Req) -> Any:
    return emu.scheduled_events(req.int("guild_id"))


@route("POST", "/guilds/{guild_id}/scheduled-events")
async def create_event(emu: Emulator, req: Req) -> Any:
    gid = req.int("guild_id")
    emu._guild(gid)
    _require_events(emu, gid)
    body = dict(req.json or {})
    _validate_event(emu, body, creating=True)
    return emu.create_scheduled_event(gid, body)


@route("GET", "/guilds/{guild_id}/scheduled-events/{event_id}")
async def get_event(emu: Emulator, req: Req) -> Any:
    return _event(emu, req)[1]


_STATUS_MOVES = {1: {1, 2, 4}, 2: {2, 3}, 3: set(), 4: set()}


@route("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}")
async def patch_event(emu: Emulator, req: Req) -> Any:
    gid, event = _event(emu, req)
    _require_events(emu, gid)
    body = dict(req.json or {})
    _validate_event(emu, {**event, **body}, creating=False)
    if "status" in body and int(body["status"]) not in _STATUS_MOVES[int(event["status"])]:
        raise ApiError(400, 180000, "Cannot update event status")
    if int(event["status"]) in (3, 4):
        raise ApiError(400, 180000, "Cannot modify a finished event")
    allowed = {
        "name",
        "description",
        "scheduled_start_time",
        "scheduled_end_time",
        "entity_metadata",
        "entity_type",
        "channel_id",
        "privacy_level",
        "status",
        "image",
        "recurrence_rule",
    }
    return emu.update_scheduled_event(
        gid, int(event["id"]), **{k: v for k, v in body.items() if k in allowed}
    )


@route("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}")
async def delete_event(emu: Emulator, req: Req) -> Any:
    gid, event = _event(emu, req)
    _require_events(emu, gid)
    emu.delete_scheduled_event(gid, int(event["id"]))
    return Raw(204)


# ---------------------------------------------------------------------- interactions
def _interaction(emu: Emulator, token: str, *, app_id: int | None = None) -> Any:
    record = emu.interactions.get(token)
    if record is None:
        raise unknown(10015, "Webhook")
    if app_id is not None and app_id != emu.application_id:
        raise unknown(10015, "Webhook")
    return record


@route("POST", "/interactions/{interaction_id}/{token}/callback")
async def interaction_callback(emu: Emulator, req: Req) -> Any:
    from tests.emulator.interactions import handle_callback

    return await handle_callback(emu, req)


@route("POST", "/webhooks/{app_id}/{token}")
async def post_followup(emu: Emulator, req: Req) -> Any:
    record = _interaction(emu, req.params["token"], app_id=req.int("app_id"))
    if not record.responded or time.perf_counter() - record.created > emu.followup_deadline:
        raise unknown(10015, "Webhook")
    body = dict(req.json or {})
    flags = int(body.get("flags") or 0)
    ephemeral = bool(flags & EPHEMERAL)
    if not ephemeral and record.channel_id in emu.channels:
        channel = emu.channels[record.channel_id]
        if channel["type"] == 1 and int(channel["recipients"][0]["id"]) in emu.closed_dms:
            pass  # follow-ups to a user's own interaction still arrive
    from tests.emulator.interactions import interaction_message

    msg = interaction_message(emu, record, body, req.files, store=not ephemeral, msg_type=0)
    record.followups.append(msg)
    if record.answered_time is None:
        record.answered_time = time.perf_counter()
    record.touch()
    wait = req.query.get("wait", "false").lower() in ("1", "true")
    return emu.message_json(msg) if wait else Raw(204)


def _webhook_message(emu: Emulator, req: Req) -> tuple[Any, dict[str, Any]]:
    record = _interaction(emu, req.params["token"], app_id=req.int("app_id"))
    mid = req.params["message_id"]
    if mid == "@original":
        if record.original is None or record.original_deleted:
            raise unknown(10008, "Message")
        return record, record.original
    for msg in record.followups:
        if msg["id"] == mid:
            return record, msg
    raise unknown(10008, "Message")


@route("GET", "/webhooks/{app_id}/{token}/messages/{message_id}")
async def get_webhook_message(emu: Emulator, req: Req) -> Any:
    _, msg = _webhook_message(emu, req)
    return emu.message_json(msg)


@route("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}")
async def patch_webhook_message(emu: Emulator, req: Req) -> Any:
    record, msg = _webhook_message(emu, req)
    if not msg.get("flags", 0) & EPHEMERAL and int(msg["channel_id"]) in emu.channel_messages:
        stored = emu.channel_messages[int(msg["channel_id"])].get(int(msg["id"]))
        if stored is not None:
            emu.check_old_edit(stored)
    emu.edit_message(msg, dict(req.json or {}), req.files)
    if msg is record.original:
        record.original_edited = True
        if record.answered_time is None:
            record.answered_time = time.perf_counter()
    record.touch()
    return emu.message_json(msg)


@route("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}")
async def delete_webhook_message(emu: Emulator, req: Req) -> Any:
    record, msg = _webhook_message(emu, req)
    cid, mid = int(msg["channel_id"]), int(msg["id"])
    if mid in emu.channel_messages.get(cid, {}):
        emu.remove_message(cid, mid)
    if msg is record.original:
        record.original_deleted = True
    else:
        record.followups.remove(msg)
    record.touch()
    return Raw(204)
