"""The loopback Discord emulator: in-memory state, test helpers, the aiohttp server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import mimetypes
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.emulator import permissions as P
from tests.emulator.gateway import Session, filter_content, handle_gateway
from tests.emulator.models import (
    DISCORD_EPOCH_MS,
    ApiError,
    ChannelRef,
    Fault,
    GuildRef,
    InteractionRecord,
    InteractionResult,
    KillPoint,
    Loopback,
    RequestRecord,
    RoleRef,
    UserRef,
    check_embeds,
    iso,
    snowflake_time,
    unknown,
)

_MENTION_USER = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE = re.compile(r"<@&(\d+)>")

TEXT, DM, CATEGORY, PUBLIC_THREAD, PRIVATE_THREAD = 0, 1, 4, 11, 12
THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Guild:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.roles: dict[int, dict[str, Any]] = {}
        self.members: dict[int, dict[str, Any]] = {}  # member JSON without "user"
        self.channel_ids: list[int] = []
        self.events: dict[int, dict[str, Any]] = {}
        self.bot_role_id = 0

    @property
    def id(self) -> int:
        return int(self.data["id"])


class Emulator(Loopback):
    """A Discord REST API + gateway on 127.0.0.1 for the real discord.py client.

    See tests/emulator/README.md for the routes, helpers and faults.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        heartbeat_interval_ms: int = 41250,
        interaction_deadline: float = 3.0,
        followup_deadline: float = 15 * 60,
        old_message_edit_limit: int | None = 3,
        bot_name: str = "Møteplass",
        port: int = 0,
        control: bool = False,
    ) -> None:
        self.token = token
        self.control = control  # serve POST /_control (tests/emulator/control.py)
        self._wanted_port = port
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.followup_deadline = followup_deadline
        self.old_message_edit_limit = old_message_edit_limit
        self.old_message_age = 3600.0
        self.edit_bucket: tuple[int, float] | None = None  # (limit, per seconds), off by default
        self.clock_offset = 0.0
        self.refuse_resume = False
        # The next RESUME replays from this seq, not the client's: events it already got
        # come again (Discord's delivery is at least once). Reset after one use.
        self.resume_replay_from: int | None = None
        self.port = 0
        self.stopping = False

        self._snow_last = 0
        self._tokens = itertools.count(1)
        self.users: dict[int, dict[str, Any]] = {}
        self.user_locales: dict[int, str] = {}
        self.guilds: dict[int, _Guild] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.thread_members: dict[int, dict[int, dict[str, Any]]] = {}
        self.channel_messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.message_reactions: dict[int, dict[str, list[int]]] = {}
        self.message_meta: dict[int, dict[str, Any]] = {}
        self.attachments: dict[int, tuple[str, bytes]] = {}
        self.dm_channels: dict[int, int] = {}
        self.closed_dms: set[int] = set()
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self.interactions_by_id: dict[int, InteractionRecord] = {}
        self._edit_times: dict[int, deque[float]] = {}
        self._old_edits: dict[int, list[float]] = {}

        self.requests: list[RequestRecord] = []
        self.unknown_routes: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.kill_points: list[KillPoint] = []
        # Discord's global limit for bot-token requests (None: off); see enable_global_limit
        self.global_limit: tuple[int, float] | None = None
        self._global_times: deque[float] = deque()
        self.global_limited: list[RequestRecord] = []
        # (author, nonce) → (channel, message id, when) for enforce_nonce
        self.nonce_window = 300.0
        self._nonces: dict[tuple[int, str], tuple[int, int, float]] = {}
        self.sessions: list[Session] = []
        self.gateway_connections: list[web.WebSocketResponse] = []
        self.gateway_query: list[dict[str, str]] = []
        self.gateway_ops: list[tuple[int, float]] = []
        self.identify_payloads: list[dict[str, Any]] = []
        self.identify_count = 0
        self.resume_count = 0
        self.resume_refused = 0
        self.ready_count = 0
        self.dispatched: list[tuple[str, dict[str, Any]]] = []

        self._runner: web.AppRunner | None = None
        bot = self.add_user(bot_name, bot=True)
        self.bot_user_id = bot.id
        self.application_id = self.snowflake()
        self.owner_user = self.add_user("app-owner")

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> Emulator:
        from tests.emulator.rest import build_app

        app = build_app(self)

        async def gateway(request: web.Request) -> web.StreamResponse:
            return await handle_gateway(self, request)

        app.router.add_get("/", gateway)
        if self.control:
            from tests.emulator.control import add_control_routes

            add_control_routes(self, app)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        self.port = self._wanted_port or _free_port()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        return self

    async def stop(self) -> None:
        self.stopping = True
        for ws in list(self.gateway_connections):
            with contextlib.suppress(Exception):
                await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ clock and ids
    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's own clock (message ages, edit windows)."""
        self.clock_offset += seconds

    def snowflake(self, at: float | None = None) -> int:
        ms = int((at if at is not None else self.now()) * 1000) - DISCORD_EPOCH_MS
        value = max(ms << 22, self._snow_last + 1)
        self._snow_last = value
        return value

    # ------------------------------------------------------------------ users, guilds, roles
    def add_user(
        self, name: str, *, bot: bool = False, locale: str = "en-US", global_name: str | None = None
    ) -> UserRef:
        uid = self.snowflake()
        self.users[uid] = {
            "id": str(uid),
            "username": name,
            "discriminator": "0",
            "global_name": global_name if global_name is not None else (None if bot else name),
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
            "locale": locale,
        }
        self.user_locales[uid] = locale
        return UserRef(uid, name, bot)

    def user_json(self, user_id: int) -> dict[str, Any]:
        user = self.users.get(int(user_id))
        if user is None:
            raise unknown(10013, "User")
        return {
            k: v for k, v in user.items() if k not in ("verified", "mfa_enabled", "locale", "flags")
        }

    def add_guild(
        self,
        name: str,
        *,
        locale: str = "en-US",
        everyone_permissions: int = P.DEFAULT_EVERYONE,
        bot_permissions: int = P.DEFAULT_BOT,
    ) -> GuildRef:
        gid = self.snowflake()
        owner = self.add_user(f"{name}-owner")
        data: dict[str, Any] = {
            "id": str(gid),
            "name": name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(owner.id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "widget_enabled": False,
            "joined_at": iso(self.now()),
            "large": False,
        }
        guild = _Guild(data)
        self.guilds[gid] = guild
        guild.roles[gid] = self._role_json(gid, "@everyone", everyone_permissions, 0)
        bot_role = self.snowflake()
        role = self._role_json(
            bot_role, self.users[self.bot_user_id]["username"], bot_permissions, 1
        )
        role["managed"] = True
        role["tags"] = {"bot_id": str(self.bot_user_id)}
        guild.roles[bot_role] = role
        guild.bot_role_id = bot_role
        guild.members[self.bot_user_id] = self._member_json(self.bot_user_id, [bot_role])
        self._dispatch_guild_create(guild)
        return GuildRef(gid, name, gid, bot_role, owner.id)

    def remove_guild(self, guild_id: int) -> None:
        self.guilds.pop(guild_id)
        self._dispatch("GUILD_DELETE", {"id": str(guild_id), "unavailable": False}, guild_id)

    def _guild(self, guild_id: int) -> _Guild:
        guild = self.guilds.get(int(guild_id))
        if guild is None:
            raise unknown(10004, "Guild")
        return guild

    @staticmethod
    def _role_json(rid: int, name: str, perms: int, position: int) -> dict[str, Any]:
        return {
            "id": str(rid),
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(perms),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def add_role(self, guild_id: int, name: str, *, permissions: int = 0) -> RoleRef:
        guild = self._guild(guild_id)
        rid = self.snowflake()
        guild.roles[rid] = self._role_json(rid, name, permissions, len(guild.roles))
        self._dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": guild.roles[rid]}, guild_id
        )
        return RoleRef(rid, guild_id, name)

    def set_role_permissions(self, guild_id: int, role_id: int, permissions: int) -> None:
        guild = self._guild(guild_id)
        guild.roles[role_id]["permissions"] = str(permissions)
        self._dispatch(
            "GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": guild.roles[role_id]}, guild_id
        )

    def set_bot_permissions(self, guild_id: int, permissions: int) -> None:
        """The permissions of the bot's managed role (on top of @everyone's)."""
        self.set_role_permissions(guild_id, self._guild(guild_id).bot_role_id, permissions)

    def set_everyone_permissions(self, guild_id: int, permissions: int) -> None:
        self.set_role_permissions(guild_id, guild_id, permissions)

    def _member_json(self, user_id: int, roles: Iterable[int]) -> dict[str, Any]:
        return {
            "user_id": user_id,
            "roles": [str(r) for r in roles],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.now()),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def member_json(
        self, guild_id: int, user_id: int, *, with_user: bool = True, channel_id: int | None = None
    ) -> dict[str, Any]:
        guild = self._guild(guild_id)
        member = guild.members.get(int(user_id))
        if member is None:
            raise unknown(10007, "Member")
        out = {k: v for k, v in member.items() if k != "user_id"}
        if with_user:
            out["user"] = self.user_json(user_id)
        if channel_id is not None:
            out["permissions"] = str(self.permissions_in(channel_id, user_id))
        return out

    def add_member(
        self,
        guild_id: int,
        name: str,
        *,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        bot: bool = False,
        locale: str = "en-US",
        user_id: int | None = None,
    ) -> UserRef:
        """Create a user (unless user_id is given) and make them a member. `permissions`
        gives the member a personal role with those permissions."""
        guild = self._guild(guild_id)
        if user_id is None:
            user = self.add_user(name, bot=bot, locale=locale)
            uid = user.id
        else:
            uid = int(user_id)
        role_ids = list(roles)
        if permissions is not None:
            role_ids.append(self.add_role(guild_id, f"{name}-perms", permissions=permissions).id)
        guild.members[uid] = self._member_json(uid, role_ids)
        data = self.member_json(guild_id, uid)
        data["guild_id"] = str(guild_id)
        self._dispatch("GUILD_MEMBER_ADD", data, guild_id)
        return UserRef(uid, name, bot, guild_id)

    def update_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        roles: Sequence[int] | None = None,
        nick: str | None = None,
    ) -> None:
        guild = self._guild(guild_id)
        member = guild.members[int(user_id)]
        if roles is not None:
            member["roles"] = [str(r) for r in roles]
        if nick is not None:
            member["nick"] = nick
        data = self.member_json(guild_id, user_id)
        data["guild_id"] = str(guild_id)
        self._dispatch("GUILD_MEMBER_UPDATE", data, guild_id)

    def remove_member(self, guild_id: int, user_id: int) -> None:
        guild = self._guild(guild_id)
        guild.members.pop(int(user_id), None)
        self._dispatch(
            "GUILD_MEMBER_REMOVE",
            {"guild_id": str(guild_id), "user": self.user_json(user_id)},
            guild_id,
        )

    # ------------------------------------------------------------------ channels
    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: int = TEXT,
        overwrites: Sequence[Mapping[str, Any]] = (),
        parent_id: int | None = None,
        topic: str | None = None,
    ) -> ChannelRef:
        guild = self._guild(guild_id)
        cid = self.snowflake()
        data: dict[str, Any] = {
            "id": str(cid),
            "type": type,
            "guild_id": str(guild_id),
            "name": name,
            "position": len(guild.channel_ids),
            "parent_id": str(parent_id) if parent_id else None,
            "permission_overwrites": [self._overwrite(guild, o) for o in overwrites],
            "nsfw": False,
            "flags": 0,
        }
        if type != CATEGORY:
            data.update(
                topic=topic,
                last_message_id=None,
                rate_limit_per_user=0,
                default_auto_archive_duration=1440,
                default_thread_rate_limit_per_user=0,
                last_pin_timestamp=None,
            )
        self.channels[cid] = data
        self.channel_messages[cid] = {}
        guild.channel_ids.append(cid)
        self._dispatch("CHANNEL_CREATE", data, guild_id)
        return ChannelRef(cid, guild_id, name, type)

    def add_category(self, guild_id: int, name: str) -> ChannelRef:
        return self.add_channel(guild_id, name, type=CATEGORY)

    @staticmethod
    def _overwrite(guild: _Guild, o: Mapping[str, Any]) -> dict[str, Any]:
        target = int(o["id"])
        kind = o.get("type", 0 if target in guild.roles else 1)
        return {
            "id": str(target),
            "type": int(kind),
            "allow": str(int(o.get("allow", 0))),
            "deny": str(int(o.get("deny", 0))),
        }

    def set_channel_overwrite(
        self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0
    ) -> None:
        channel = self._channel(channel_id)
        guild = self._guild(int(channel["guild_id"]))
        ows = [o for o in channel["permission_overwrites"] if int(o["id"]) != int(target_id)]
        ows.append(self._overwrite(guild, {"id": target_id, "allow": allow, "deny": deny}))
        channel["permission_overwrites"] = ows
        self._dispatch("CHANNEL_UPDATE", channel, guild.id)

    def update_channel(self, channel_id: int, **fields: Any) -> dict[str, Any]:
        channel = self._channel(channel_id)
        channel.update(fields)
        gid = channel.get("guild_id")
        event = "THREAD_UPDATE" if channel["type"] in THREAD_TYPES else "CHANNEL_UPDATE"
        self._dispatch(event, channel, int(gid) if gid else None)
        return channel

    def delete_channel(self, channel_id: int) -> None:
        channel = self.channels.pop(int(channel_id))
        gid = channel.get("guild_id")
        if gid is not None:
            guild = self.guilds.get(int(gid))
            if guild is not None and int(channel_id) in guild.channel_ids:
                guild.channel_ids.remove(int(channel_id))
        if channel["type"] in THREAD_TYPES:
            self._dispatch(
                "THREAD_DELETE",
                {
                    "id": channel["id"],
                    "guild_id": gid,
                    "parent_id": channel["parent_id"],
                    "type": channel["type"],
                },
                int(gid) if gid else None,
            )
        else:
            self._dispatch("CHANNEL_DELETE", channel, int(gid) if gid else None)

    def _channel(self, channel_id: int | str) -> dict[str, Any]:
        channel = self.channels.get(int(channel_id))
        if channel is None:
            raise unknown(10003, "Channel")
        return channel

    def channel_json(self, channel_id: int) -> dict[str, Any]:
        channel = dict(self._channel(channel_id))
        if channel["type"] in THREAD_TYPES:
            members = self.thread_members.get(int(channel_id), {})
            channel["member_count"] = min(len(members), 50)
            if self.bot_user_id in members:
                channel["member"] = members[self.bot_user_id]
        return channel

    def add_thread(
        self,
        channel_id: int,
        name: str,
        *,
        owner_id: int | None = None,
        type: int = PRIVATE_THREAD,
        invitable: bool = True,
        message_id: int | None = None,
    ) -> ChannelRef:
        data = self._create_thread(
            int(channel_id), name, owner_id or self.bot_user_id, type, invitable, message_id
        )
        return ChannelRef(int(data["id"]), int(data["guild_id"]), name, type)

    def _create_thread(
        self,
        parent_id: int,
        name: str,
        owner_id: int,
        type: int,
        invitable: bool,
        message_id: int | None,
        auto_archive: int = 1440,
    ) -> dict[str, Any]:
        parent = self._channel(parent_id)
        gid = int(parent["guild_id"])
        tid = message_id if message_id is not None else self.snowflake()
        now = iso(self.now())
        data: dict[str, Any] = {
            "id": str(tid),
            "type": type,
            "guild_id": str(gid),
            "parent_id": str(parent_id),
            "owner_id": str(owner_id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 0,
            "total_message_sent": 0,
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": auto_archive,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
                **({"invitable": invitable} if type == PRIVATE_THREAD else {}),
            },
        }
        self.channels[tid] = data
        self.channel_messages[tid] = {}
        self.thread_members[tid] = {}
        self._add_thread_member(tid, owner_id, dispatch=False)
        event = self.channel_json(tid)
        event["newly_created"] = True
        self._dispatch("THREAD_CREATE", event, gid)
        if message_id is not None:
            msg = self.channel_messages.get(parent_id, {}).get(message_id)
            if msg is not None:
                msg["thread"] = self.channel_json(tid)
                msg["flags"] = int(msg.get("flags", 0)) | (1 << 5)  # HAS_THREAD
        return data

    def _add_thread_member(self, thread_id: int, user_id: int, *, dispatch: bool = True) -> None:
        members = self.thread_members.setdefault(int(thread_id), {})
        if int(user_id) in members:
            return
        members[int(user_id)] = {
            "id": str(thread_id),
            "user_id": str(user_id),
            "join_timestamp": iso(self.now()),
            "flags": 0,
        }
        thread = self.channels[int(thread_id)]
        thread["member_count"] = len(members)
        if dispatch:
            self._dispatch(
                "THREAD_MEMBERS_UPDATE",
                {
                    "id": str(thread_id),
                    "guild_id": thread["guild_id"],
                    "member_count": len(members),
                    "added_members": [members[int(user_id)]],
                },
                int(thread["guild_id"]),
            )

    def _remove_thread_member(self, thread_id: int, user_id: int) -> None:
        members = self.thread_members.setdefault(int(thread_id), {})
        if members.pop(int(user_id), None) is None:
            return
        thread = self.channels[int(thread_id)]
        thread["member_count"] = len(members)
        self._dispatch(
            "THREAD_MEMBERS_UPDATE",
            {
                "id": str(thread_id),
                "guild_id": thread["guild_id"],
                "member_count": len(members),
                "removed_member_ids": [str(user_id)],
            },
            int(thread["guild_id"]),
        )

    def thread_member_ids(self, thread_id: int) -> list[int]:
        return list(self.thread_members.get(int(thread_id), {}))

    def dm_channel(self, user_id: int) -> int:
        """The DM channel between the bot and a user (created on demand)."""
        uid = int(user_id)
        if uid not in self.users:
            raise unknown(10013, "User")
        cid = self.dm_channels.get(uid)
        if cid is None:
            cid = self.snowflake()
            self.channels[cid] = {
                "id": str(cid),
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.user_json(uid)],
            }
            self.channel_messages[cid] = {}
            self.dm_channels[uid] = cid
        return cid

    def close_dms(self, user_id: int) -> None:
        self.closed_dms.add(int(user_id))

    def open_dms(self, user_id: int) -> None:
        self.closed_dms.discard(int(user_id))

    # ------------------------------------------------------------------ permissions
    def permissions_in(self, channel_id: int, user_id: int) -> int:
        channel = self._channel(channel_id)
        if channel["type"] == DM:
            return (
                P.VIEW_CHANNEL
                | P.SEND_MESSAGES
                | P.READ_MESSAGE_HISTORY
                | P.ADD_REACTIONS
                | P.EMBED_LINKS
                | P.ATTACH_FILES
            )
        if channel["type"] in THREAD_TYPES:
            channel = self._channel(channel["parent_id"])
        return self._permissions(int(channel["guild_id"]), user_id, channel)

    def guild_permissions(self, guild_id: int, user_id: int) -> int:
        return self._permissions(guild_id, user_id, None)

    def _permissions(self, guild_id: int, user_id: int, channel: dict[str, Any] | None) -> int:
        guild = self._guild(guild_id)
        member = guild.members.get(int(user_id))
        if member is None:
            return 0
        role_ids = [int(r) for r in member["roles"]]
        base = P.compute_base(
            int(guild.roles[guild.id]["permissions"]),
            [int(guild.roles[r]["permissions"]) for r in role_ids if r in guild.roles],
            is_owner=int(guild.data["owner_id"]) == int(user_id),
        )
        if channel is None:
            return base
        overwrites = list(channel.get("permission_overwrites") or [])
        parent_id = channel.get("parent_id")
        if not overwrites and parent_id and int(parent_id) in self.channels:
            pass  # unsynced categories are not modelled: overwrites are per channel
        return P.compute_channel(
            base,
            guild_id=guild.id,
            member_id=int(user_id),
            member_role_ids=role_ids,
            overwrites=overwrites,
        )

    def require(self, channel_id: int, *bits: int, user_id: int | None = None) -> None:
        """403 50001 without VIEW_CHANNEL, 50013 when any of `bits` is missing."""
        perms = self.permissions_in(channel_id, user_id or self.bot_user_id)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        for bit in bits:
            if not perms & bit:
                raise ApiError(403, 50013, "Missing Permissions")

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, event: str, data: dict[str, Any], guild_id: int | None) -> None:
        self.dispatched.append((event, data))
        for session in self.sessions:
            own_member = event == "GUILD_MEMBER_UPDATE" and data.get("user", {}).get("id") == str(
                self.bot_user_id
            )  # sent without the members intent too
            if not session.alive or not (own_member or session.wants(event, guild_id)):
                continue
            if (
                guild_id is not None
                and event != "GUILD_CREATE"
                and not self._on_shard(session, guild_id)
            ):
                continue
            session.push(event, filter_content(session, self.bot_user_id, event, data))

    @staticmethod
    def _on_shard(session: Session, guild_id: int) -> bool:
        shard_id, count = session.shard
        return (guild_id >> 22) % max(count, 1) == shard_id

    def guild_create_json(self, guild: _Guild, intents: int) -> dict[str, Any]:
        from tests.emulator.gateway import GUILD_MEMBERS

        member_ids = list(guild.members) if intents & GUILD_MEMBERS else [self.bot_user_id]
        members = [self.member_json(guild.id, uid) for uid in member_ids if uid in guild.members]
        channels = [
            self.channel_json(cid)
            for cid in guild.channel_ids
            if self.channels[cid]["type"] not in THREAD_TYPES
        ]
        threads = [
            self.channel_json(cid)
            for cid, ch in self.channels.items()
            if ch["type"] in THREAD_TYPES
            and ch.get("guild_id") == str(guild.id)
            and not ch["thread_metadata"]["archived"]
        ]
        return {
            **guild.data,
            "roles": list(guild.roles.values()),
            "channels": channels,
            "threads": threads,
            "members": members,
            "member_count": len(members),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": list(guild.events.values()),
            "soundboard_sounds": [],
            "unavailable": False,
            "lazy": True,
        }

    def _dispatch_guild_create(self, guild: _Guild) -> None:
        for session in self.sessions:
            if session.alive and self._on_shard(session, guild.id):
                session.push("GUILD_CREATE", self.guild_create_json(guild, session.intents))

    def send_ready(self, session: Session) -> None:
        guilds = [g for g in self.guilds.values() if self._on_shard(session, g.id)]
        bot = dict(self.users[self.bot_user_id])
        session.push(
            "READY",
            {
                "v": 10,
                "user": bot,
                "user_settings": {},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url,
                "shard": list(session.shard),
                "application": {"id": str(self.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "auth": {},
                "_trace": ["emulator"],
            },
        )
        for guild in guilds:
            session.push("GUILD_CREATE", self.guild_create_json(guild, session.intents))
        session.ready_seq = session.seq

    def send_member_chunk(self, session: Session, d: dict[str, Any]) -> None:
        guild = self.guilds.get(int(d.get("guild_id", 0)))
        if guild is None:
            return
        user_ids = d.get("user_ids")
        query = (d.get("query") or "").lower()
        limit = int(d.get("limit") or 0) or len(guild.members)
        ids = [int(u) for u in user_ids] if user_ids else list(guild.members)
        members = [
            self.member_json(guild.id, uid)
            for uid in ids
            if uid in guild.members and self.users[uid]["username"].lower().startswith(query)
        ][:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        session.push("GUILD_MEMBERS_CHUNK", chunk)

    def connected_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.alive and s.ws is not None and not s.ws.closed]

    # ------------------------------------------------------------------ gateway faults
    async def drop_gateway(self, code: int | None = None) -> None:
        """Close every gateway connection abruptly (no close frame unless `code`)."""
        for session in self.connected_sessions():
            ws = session.ws
            assert ws is not None
            session.ws = None
            session.wakeup.set()
            if code is None:
                transport = ws._req.transport if ws._req is not None else None
                if transport is not None:
                    transport.abort()
                else:
                    await ws.close(code=4000)
            else:
                await ws.close(code=code)
        await asyncio.sleep(0)

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9; the client must IDENTIFY again (resumable=False) or RESUME."""
        for session in self.connected_sessions():
            if not resumable:
                session.alive = False
            ws = session.ws
            assert ws is not None
            await ws.send_str(f'{{"op": 9, "s": null, "t": null, "d": {str(resumable).lower()}}}')

    async def send_reconnect(self) -> None:
        """Send op 7; the client reconnects and RESUMEs."""
        for session in self.connected_sessions():
            ws = session.ws
            assert ws is not None
            await ws.send_str('{"op": 7, "s": null, "t": null, "d": null}')

    def dispatch_raw(self, event: str, data: Any) -> int:
        """Send a dispatch (op 0) exactly as given to every live session: no intent or shard
        filtering, no state change. `data` may be any JSON value (malformed payloads).
        Returns the number of sessions it was queued for."""
        self.dispatched.append((event, data))
        sent = 0
        for session in self.sessions:
            if session.alive:
                session.push(event, data)
                sent += 1
        return sent

    # ------------------------------------------------------------------ REST faults
    def inject(
        self,
        method: str,
        route_pattern: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float = 0.1,
        times: int | None = 1,
        delay: float = 0.0,
        message: str | None = None,
        is_global: bool = False,
        after: bool = False,
    ) -> Fault:
        """The next `times` requests matching (method or "*", route template or regex) get
        `status` (429 with rate-limit headers and Via, 5xx, 403 50013 ...) and/or wait `delay`.
        With `after=True` the request is carried out first and only its answer is replaced
        (the message was posted, but the bot never heard)."""
        fault = Fault(
            method.upper(),
            route_pattern,
            status,
            code,
            retry_after,
            times,
            delay,
            message,
            is_global,
            after,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()
        self.kill_points.clear()

    def kill_on(
        self,
        method: str,
        route_pattern: str,
        callback: Callable[[RequestRecord], Any],
        *,
        after: bool = True,
        nth: int = 1,
        where: Callable[[RequestRecord], bool] | None = None,
    ) -> KillPoint:
        """Crash the bot at one request: on the `nth` request matching (method or "*", route
        template or regex on the path), call `callback(record)` (sync or async; it kills the
        bot process and waits for it to be gone) - after the request took effect and before its
        answer is written (`after=True`: Discord did it, the bot never learnt), or before it is
        handled (`after=False`: nothing happened, answered 503). `where(record)` narrows the
        match (the JSON body is parsed by then). Once only; `await point.fired.wait()`."""
        point = KillPoint(method.upper(), route_pattern, after, nth, callback, where)
        self.kill_points.append(point)
        return point

    def match_kill(self, record: RequestRecord) -> KillPoint | None:
        for point in self.kill_points:
            if point.fired.is_set() or point.method not in ("*", record.method):
                continue
            if not _route_matches(point.pattern, record.route, record.path):
                continue
            if point.where is None or point.where(record):
                point.hits += 1
                if point.hits == point.nth:
                    return point
        return None

    async def fire_kill(self, point: KillPoint, record: RequestRecord) -> None:
        point.record = record
        result = point.callback(record)
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            await result
        point.fired.set()

    def gateway_seq(self) -> int:
        """The seq of the last event pushed to the newest live session (0 without one)."""
        live = [s for s in self.sessions if s.alive]
        return live[-1].seq if live else 0

    def match_fault(self, method: str, route: str | None, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times is not None and fault.hits >= fault.times:
                continue
            if fault.method not in ("*", method):
                continue
            if _route_matches(fault.pattern, route, path):
                fault.hits += 1
                return fault
        return None

    def enable_global_limit(self, limit: int = 50, per: float = 1.0) -> None:
        """Discord's global limit: at most `limit` bot-token requests in any `per` seconds
        (interaction callbacks and webhooks are not counted, as on Discord); beyond it a
        global 429. Requests refused so are listed in `global_limited`."""
        self.global_limit = (limit, per)

    def global_limit_take(self) -> None:
        """Count one request against the global limit; raise a global 429 when over it."""
        if self.global_limit is None:
            return
        limit, per = self.global_limit
        now = time.monotonic()
        times = self._global_times
        while times and now - times[0] >= per:
            times.popleft()
        if len(times) >= limit:
            retry = max(per - (now - times[0]), 0.001)
            raise ApiError(
                429,
                0,
                "You are being rate limited.",
                headers={
                    "Retry-After": str(max(1, round(retry))),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Via": "1.1 google",
                },
                extra={"retry_after": round(retry, 3), "global": True},
            )
        times.append(now)

    def max_requests_per_window(self, per: float = 1.0) -> int:
        """The most bot-token requests received in any `per`-second window (by `requests`)."""
        times = sorted(r.time for r in self.requests if r.authorized and r.bot_token)
        best = start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= per:
                start += 1
            best = max(best, end - start + 1)
        return best

    def enable_edit_bucket(self, limit: int = 5, per: float = 5.0) -> None:
        """Per-channel message edit bucket with Discord's headers (off by default)."""
        self.edit_bucket = (limit, per)

    def edit_bucket_take(self, channel_id: int) -> dict[str, str]:
        """Headers for one edit; raises a 429 when the bucket is empty."""
        assert self.edit_bucket is not None
        limit, per = self.edit_bucket
        now = time.monotonic()
        times = self._edit_times.setdefault(int(channel_id), deque())
        while times and now - times[0] >= per:
            times.popleft()
        if len(times) >= limit:
            retry = max(per - (now - times[0]), 0.001)
            headers = _ratelimit_headers(limit, 0, retry, f"edit-{channel_id}")
            headers.update(
                {
                    "Retry-After": str(max(1, round(retry))),
                    "X-RateLimit-Scope": "user",
                    "Via": "1.1 google",  # without it discord.py takes a 429 for a Cloudflare ban
                }
            )
            raise ApiError(
                429,
                0,
                "You are being rate limited.",
                headers=headers,
                extra={"retry_after": round(retry, 3), "global": False},
            )
        times.append(now)
        reset_after = per - (now - times[0])
        return _ratelimit_headers(limit, limit - len(times), reset_after, f"edit-{channel_id}")

    # ------------------------------------------------------------------ messages
    def _message_channel(self, message_id: int) -> int | None:
        for cid, msgs in self.channel_messages.items():
            if message_id in msgs:
                return cid
        return None

    def message_json(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in msg.items() if not k.startswith("_")}
        reactions = self.message_reactions.get(int(msg["id"]), {})
        out["reactions"] = [
            {
                "emoji": _emoji_json(key),
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "burst_colors": [],
                "me": self.bot_user_id in users,
                "me_burst": False,
                "burst_me": False,
                "burst_count": 0,
            }
            for key, users in reactions.items()
            if users
        ]
        if not out["reactions"]:
            out.pop("reactions")
        return out

    def get_message(self, channel_id: int, message_id: int) -> dict[str, Any]:
        self._channel(channel_id)
        msg = self.channel_messages.get(int(channel_id), {}).get(int(message_id))
        if msg is None:
            raise unknown(10008, "Message")
        return msg

    def build_attachments(
        self,
        specs: Sequence[Mapping[str, Any]] | None,
        files: Sequence[tuple[str, bytes, str | None]],
        existing: Sequence[dict[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """Attachments from a payload's `attachments` (ids = file index for new uploads)."""
        out: list[dict[str, Any]] = []
        used: set[int] = set()
        known = {int(a["id"]): a for a in existing}
        for spec in specs or []:
            raw_id = spec.get("id")
            if raw_id is not None and int(raw_id) in known and int(raw_id) >= len(files):
                out.append(known[int(raw_id)])
                continue
            index = int(raw_id) if raw_id is not None else len(used)
            if index >= len(files):
                if raw_id is not None and int(raw_id) in known:
                    out.append(known[int(raw_id)])
                continue
            used.add(index)
            name, data, ctype = files[index]
            out.append(self._attachment(spec.get("filename") or name, data, ctype, spec))
        for index, (name, data, ctype) in enumerate(files):
            if index not in used:
                out.append(self._attachment(name, data, ctype, {}))
        return out

    def _attachment(
        self, filename: str, data: bytes, ctype: str | None, spec: Mapping[str, Any]
    ) -> dict[str, Any]:
        aid = self.snowflake()
        self.attachments[aid] = (filename, data)
        url = f"{self.base_url}/attachments/{aid}/{filename}"
        att: dict[str, Any] = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": ctype
            if ctype and ctype != "application/octet-stream"
            else (mimetypes.guess_type(filename)[0] or "application/octet-stream"),
        }
        if spec.get("description"):
            att["description"] = spec["description"]
        return att

    def attachment_bytes(self, attachment_id: int) -> bytes | None:
        found = self.attachments.get(int(attachment_id))
        return None if found is None else found[1]

    def create_message(
        self,
        channel_id: int,
        author_id: int,
        body: Mapping[str, Any],
        files: Sequence[tuple[str, bytes, str | None]] = (),
        *,
        msg_type: int | None = None,
        extra: Mapping[str, Any] | None = None,
        store: bool = True,
    ) -> dict[str, Any]:
        """Build (and unless store=False, store and dispatch) a message.

        With `enforce_nonce` and a `nonce`, a message by the same author with the same nonce
        in the last `nonce_window` seconds is returned instead of a new one (as Discord does).
        """
        check_embeds(body.get("embeds"))
        channel = self._channel(channel_id)
        nonce = body.get("nonce")
        if store and nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get((int(author_id), str(nonce)))
            if seen is not None and self.now() - seen[2] < self.nonce_window:
                earlier = self.channel_messages.get(seen[0], {}).get(seen[1])
                if earlier is not None:
                    return earlier
        gid = channel.get("guild_id")
        mid = self.snowflake()
        content = str(body.get("content") or "")
        allowed = body.get("allowed_mentions")
        ref = body.get("message_reference")
        referenced = None
        if ref and ref.get("message_id") and int(ref.get("type", 0)) == 0:
            ref_channel = int(ref.get("channel_id") or channel_id)
            referenced = self.channel_messages.get(ref_channel, {}).get(int(ref["message_id"]))
            if referenced is None and ref.get("fail_if_not_exists", True):
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    extra={"errors": {"message_reference": "Unknown message"}},
                )
        mentions, mention_roles, everyone = self._mentions(
            content, allowed, gid, referenced if referenced is not None else None, author_id
        )
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": self.user_json(author_id),
            "content": content,
            "timestamp": iso(self.now()),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "mention_channels": [],
            "attachments": self.build_attachments(body.get("attachments"), files),
            "embeds": [_embed(e) for e in body.get("embeds") or []],
            "pinned": False,
            "type": msg_type if msg_type is not None else (19 if referenced is not None else 0),
            "flags": int(body.get("flags") or 0),
            "components": list(body.get("components") or []),
        }
        if gid is not None:
            msg["guild_id"] = gid
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        if ref:
            msg["message_reference"] = {
                "type": int(ref.get("type", 0)),
                "message_id": str(ref.get("message_id")),
                "channel_id": str(ref.get("channel_id") or channel_id),
                **({"guild_id": str(gid)} if gid else {}),
            }
            if referenced is not None:
                msg["referenced_message"] = self.message_json(referenced)
        if extra:
            msg.update(extra)
        self.message_meta[mid] = {"allowed_mentions": allowed, "body": dict(body)}
        if store and nonce is not None and body.get("enforce_nonce"):
            self._nonces[(int(author_id), str(nonce))] = (int(channel_id), mid, self.now())
        if store:
            self.channel_messages.setdefault(int(channel_id), {})[mid] = msg
            channel["last_message_id"] = str(mid)
            if channel["type"] in THREAD_TYPES:
                channel["message_count"] = int(channel.get("message_count", 0)) + 1
                channel["total_message_sent"] = int(channel.get("total_message_sent", 0)) + 1
            self._dispatch("MESSAGE_CREATE", self._message_event(msg), int(gid) if gid else None)
        return msg

    def _message_event(self, msg: dict[str, Any]) -> dict[str, Any]:
        data = self.message_json(msg)
        gid = msg.get("guild_id")
        author_id = int(msg["author"]["id"])
        if gid is not None and "webhook_id" not in msg:
            guild = self.guilds.get(int(gid))
            if guild is not None and author_id in guild.members:
                data["member"] = self.member_json(int(gid), author_id, with_user=False)
        return data

    def _mentions(
        self,
        content: str,
        allowed: Mapping[str, Any] | None,
        guild_id: str | None,
        referenced: dict[str, Any] | None,
        author_id: int,
    ) -> tuple[list[dict[str, Any]], list[str], bool]:
        parse = None if allowed is None else set(allowed.get("parse") or [])
        allowed_users = set() if allowed is None else {int(u) for u in allowed.get("users") or []}
        allowed_roles = set() if allowed is None else {int(r) for r in allowed.get("roles") or []}
        user_ids: list[int] = []
        for m in _MENTION_USER.finditer(content):
            uid = int(m.group(1))
            known = uid in self.users and uid not in user_ids
            if known and (parse is None or "users" in parse or uid in allowed_users):
                user_ids.append(uid)
        if referenced is not None:
            replied = int(referenced["author"]["id"])
            if (allowed is None or allowed.get("replied_user", False)) and replied not in user_ids:
                user_ids.append(replied)
        role_ids: list[str] = []
        if guild_id is not None:
            guild = self.guilds.get(int(guild_id))
            for m in _MENTION_ROLE.finditer(content):
                rid = int(m.group(1))
                known = guild is not None and rid in guild.roles and str(rid) not in role_ids
                if known and (parse is None or "roles" in parse or rid in allowed_roles):
                    role_ids.append(str(rid))
        everyone = ("@everyone" in content or "@here" in content) and (
            parse is None or "everyone" in parse
        )
        mentions = []
        for uid in user_ids:
            user = self.user_json(uid)
            if guild_id is not None and int(guild_id) in self.guilds:
                member = self.guilds[int(guild_id)].members.get(uid)
                if member is not None:
                    user["member"] = self.member_json(int(guild_id), uid, with_user=False)
            mentions.append(user)
        return mentions, role_ids, everyone

    def edit_message(
        self,
        msg: dict[str, Any],
        body: Mapping[str, Any],
        files: Sequence[tuple[str, bytes, str | None]] = (),
        *,
        dispatch: bool = True,
    ) -> dict[str, Any]:
        if "embeds" in body:
            check_embeds(body.get("embeds"))
        if "content" in body:
            msg["content"] = str(body.get("content") or "")
            gid = msg.get("guild_id")
            mentions, roles, everyone = self._mentions(
                msg["content"], body.get("allowed_mentions"), gid, None, int(msg["author"]["id"])
            )
            msg.update(mentions=mentions, mention_roles=roles, mention_everyone=everyone)
        if "embeds" in body:
            msg["embeds"] = [_embed(e) for e in body.get("embeds") or []]
        if "components" in body:
            msg["components"] = list(body.get("components") or [])
        if "flags" in body and body["flags"] is not None:
            keep = int(msg.get("flags", 0)) & (1 << 6)
            msg["flags"] = (int(body["flags"]) & ~(1 << 6)) | keep
        if "attachments" in body or files:
            specs = body.get("attachments")
            if specs is None:
                specs = [{"id": a["id"]} for a in msg.get("attachments", [])]
            msg["attachments"] = self.build_attachments(specs, files, msg.get("attachments", []))
        msg["flags"] = int(msg.get("flags", 0)) & ~(1 << 7)  # no longer loading
        msg["edited_timestamp"] = iso(self.now())
        if (
            dispatch
            and int(msg["channel_id"]) in self.channel_messages
            and int(msg["id"]) in self.channel_messages[int(msg["channel_id"])]
        ):
            gid = msg.get("guild_id")
            self._dispatch("MESSAGE_UPDATE", self._message_event(msg), int(gid) if gid else None)
        return msg

    def dispatch_message_update(self, msg: dict[str, Any]) -> None:
        gid = msg.get("guild_id")
        self._dispatch("MESSAGE_UPDATE", self._message_event(msg), int(gid) if gid else None)

    def remove_message(self, channel_id: int, message_id: int) -> None:
        msgs = self.channel_messages.get(int(channel_id), {})
        msg = msgs.pop(int(message_id), None)
        if msg is None:
            raise unknown(10008, "Message")
        self.message_reactions.pop(int(message_id), None)
        gid = msg.get("guild_id")
        data = {"id": msg["id"], "channel_id": msg["channel_id"]}
        if gid:
            data["guild_id"] = gid
        self._dispatch("MESSAGE_DELETE", data, int(gid) if gid else None)

    def delete_message(self, channel_id: int, message_id: int) -> None:
        """Test helper: someone (a moderator) deleted the message."""
        self.remove_message(channel_id, message_id)

    def post_message(
        self,
        channel_id: int,
        user_id: int,
        content: str = "",
        *,
        embeds: Sequence[Mapping[str, Any]] = (),
        files: Sequence[tuple[str, bytes]] = (),
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """Test helper: a user posts a message (MESSAGE_CREATE is dispatched)."""
        body: dict[str, Any] = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            body["message_reference"] = {"message_id": reply_to, "channel_id": channel_id}
        return self.create_message(
            channel_id, user_id, body, [(name, data, None) for name, data in files]
        )

    def age_message(self, channel_id: int, message_id: int, *, hours: float = 2) -> None:
        """Pretend the message was sent `hours` earlier (its timestamp moves back)."""
        msg = self.get_message(channel_id, message_id)
        ts = snowflake_time(int(msg["id"])) - hours * 3600
        msg["timestamp"] = iso(min(ts, self.now() - hours * 3600))

    def check_old_edit(self, msg: dict[str, Any]) -> None:
        if self.old_message_edit_limit is None:
            return
        from tests.emulator.models import parse_iso

        now = self.now()
        if now - parse_iso(msg["timestamp"]) < self.old_message_age:
            return
        edits = self._old_edits.setdefault(int(msg["id"]), [])
        edits[:] = [t for t in edits if now - t < self.old_message_age]
        if len(edits) >= self.old_message_edit_limit:
            raise ApiError(
                400,
                30046,
                "Maximum number of edits to messages older than 1 hour reached. Try again later",
            )
        edits.append(now)

    # ------------------------------------------------------------------ reactions
    def add_reaction(
        self, channel_id: int, message_id: int, user_id: int, emoji: str, *, dispatch: bool = True
    ) -> bool:
        msg = self.get_message(channel_id, message_id)
        key = normalise_emoji(emoji)
        users = self.message_reactions.setdefault(int(message_id), {}).setdefault(key, [])
        if int(user_id) in users:
            return False
        users.append(int(user_id))
        if dispatch:
            self._dispatch_reaction("MESSAGE_REACTION_ADD", msg, int(user_id), key)
        return True

    def remove_reaction(
        self, channel_id: int, message_id: int, user_id: int, emoji: str, *, dispatch: bool = True
    ) -> bool:
        msg = self.get_message(channel_id, message_id)
        key = normalise_emoji(emoji)
        reactions = self.message_reactions.get(int(message_id), {})
        users = reactions.get(key, [])
        if int(user_id) not in users:
            return False
        users.remove(int(user_id))
        if not users:
            reactions.pop(key, None)
        if dispatch:
            self._dispatch_reaction("MESSAGE_REACTION_REMOVE", msg, int(user_id), key)
        return True

    def reaction_event(
        self, event: str, msg: dict[str, Any], user_id: int, key: str
    ) -> dict[str, Any]:
        gid = msg.get("guild_id")
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": msg["channel_id"],
            "message_id": msg["id"],
            "emoji": _emoji_json(key),
            "burst": False,
            "type": 0,
        }
        if event == "MESSAGE_REACTION_ADD":
            data["message_author_id"] = msg["author"]["id"]
            data["burst_colors"] = []
        if gid is not None:
            data["guild_id"] = gid
            guild = self.guilds.get(int(gid))
            if event == "MESSAGE_REACTION_ADD" and guild is not None and user_id in guild.members:
                data["member"] = self.member_json(int(gid), user_id)
        return data

    def _dispatch_reaction(self, event: str, msg: dict[str, Any], user_id: int, key: str) -> None:
        gid = msg.get("guild_id")
        self._dispatch(
            event, self.reaction_event(event, msg, user_id, key), int(gid) if gid else None
        )

    def clear_reactions(self, channel_id: int, message_id: int, emoji: str | None = None) -> None:
        msg = self.get_message(channel_id, message_id)
        gid = msg.get("guild_id")
        data: dict[str, Any] = {"channel_id": msg["channel_id"], "message_id": msg["id"]}
        if gid:
            data["guild_id"] = gid
        if emoji is None:
            self.message_reactions.pop(int(message_id), None)
            self._dispatch("MESSAGE_REACTION_REMOVE_ALL", data, int(gid) if gid else None)
        else:
            key = normalise_emoji(emoji)
            self.message_reactions.get(int(message_id), {}).pop(key, None)
            data["emoji"] = _emoji_json(key)
            self._dispatch("MESSAGE_REACTION_REMOVE_EMOJI", data, int(gid) if gid else None)

    async def react(self, channel_id: int, message_id: int, user_id: int, emoji: str) -> None:
        self.add_reaction(channel_id, message_id, user_id, emoji)
        await asyncio.sleep(0)

    async def unreact(self, channel_id: int, message_id: int, user_id: int, emoji: str) -> None:
        self.remove_reaction(channel_id, message_id, user_id, emoji)
        await asyncio.sleep(0)

    async def react_many(
        self,
        actions: Iterable[tuple[int, int, int, str, bool]],
        timeout: float = 60,
        rate: float | None = None,
    ) -> list[float]:
        """Apply many reaction adds/removes and push them as fast as the websocket takes them
        (or, with `rate`, that many actions per second, as people clicking over a while).
        Returns, per action that produced an event, the perf_counter time it was written."""
        sessions = self.connected_sessions()
        marks: list[tuple[Session, int]] = []
        begun = time.monotonic()
        for n, (channel_id, message_id, user_id, emoji, add) in enumerate(actions):
            if rate is not None and (ahead := begun + n / rate - time.monotonic()) > 0:
                await asyncio.sleep(ahead)
            before = {id(s): s.seq for s in sessions}
            changed = (self.add_reaction if add else self.remove_reaction)(
                channel_id, message_id, user_id, emoji
            )
            if changed and sessions:
                s = sessions[0]
                if s.seq > before[id(s)]:
                    marks.append((s, s.seq))
        deadline = time.monotonic() + timeout
        while any(s.sent_seq < seq for s, seq in marks):
            if time.monotonic() > deadline:
                raise TimeoutError("gateway did not take the events in time")
            await asyncio.sleep(0.001)
        return [s.sent_at[seq] for s, seq in marks]

    # ------------------------------------------------------------------ scheduled events
    def create_scheduled_event(
        self, guild_id: int, body: Mapping[str, Any], creator_id: int | None = None
    ) -> dict[str, Any]:
        guild = self._guild(guild_id)
        eid = self.snowflake()
        creator = creator_id or self.bot_user_id
        event = {
            "id": str(eid),
            "guild_id": str(guild_id),
            "channel_id": body.get("channel_id"),
            "creator_id": str(creator),
            "creator": self.user_json(creator),
            "name": body["name"],
            "description": body.get("description"),
            "scheduled_start_time": body["scheduled_start_time"],
            "scheduled_end_time": body.get("scheduled_end_time"),
            "privacy_level": int(body.get("privacy_level", 2)),
            "status": int(body.get("status", 1)),
            "entity_type": int(body["entity_type"]),
            "entity_id": None,
            "entity_metadata": body.get("entity_metadata"),
            "user_count": 0,
            "image": body.get("image"),
            "recurrence_rule": body.get("recurrence_rule"),
        }
        guild.events[eid] = event
        self._dispatch("GUILD_SCHEDULED_EVENT_CREATE", event, guild.id)
        return event

    def update_scheduled_event(self, guild_id: int, event_id: int, **fields: Any) -> dict[str, Any]:
        guild = self._guild(guild_id)
        event = guild.events.get(int(event_id))
        if event is None:
            raise unknown(10070, "Guild Scheduled Event")
        for key, value in fields.items():
            event[key] = value
        self._dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event, guild.id)
        return event

    def delete_scheduled_event(self, guild_id: int, event_id: int) -> None:
        guild = self._guild(guild_id)
        event = guild.events.pop(int(event_id), None)
        if event is None:
            raise unknown(10070, "Guild Scheduled Event")
        self._dispatch("GUILD_SCHEDULED_EVENT_DELETE", event, guild.id)

    # ------------------------------------------------------------------ read-back helpers
    def messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first, with their current reactions."""
        return [
            self.message_json(m) for m in self.channel_messages.get(int(channel_id), {}).values()
        ]

    def message(self, channel_id: int, message_id: int) -> dict[str, Any] | None:
        msg = self.channel_messages.get(int(channel_id), {}).get(int(message_id))
        return None if msg is None else self.message_json(msg)

    def dm_messages(self, user_id: int) -> list[dict[str, Any]]:
        cid = self.dm_channels.get(int(user_id))
        return [] if cid is None else self.messages(cid)

    def allowed_mentions(self, message_id: int) -> dict[str, Any] | None:
        """The `allowed_mentions` the bot sent with a message (None when absent)."""
        meta = self.message_meta.get(int(message_id))
        return None if meta is None else meta["allowed_mentions"]

    def reactions(self, channel_id: int, message_id: int) -> dict[str, list[int]]:
        self.get_message(channel_id, message_id)
        return {k: list(v) for k, v in self.message_reactions.get(int(message_id), {}).items() if v}

    def scheduled_events(self, guild_id: int) -> list[dict[str, Any]]:
        return list(self._guild(guild_id).events.values())

    def synced_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        if guild_id is None:
            return list(self.global_commands)
        return list(self.guild_commands.get(int(guild_id), []))

    def guild_channels(self, guild_id: int) -> list[dict[str, Any]]:
        return [self.channel_json(c) for c in self._guild(guild_id).channel_ids]

    def count_requests(self, method: str = "*", route: str = ".*") -> int:
        return len(self.find_requests(method, route))

    def find_requests(self, method: str = "*", route: str = ".*") -> list[RequestRecord]:
        method = method.upper()
        return [
            r
            for r in self.requests
            if method in ("*", r.method) and _route_matches(route, r.route, r.path)
        ]

    async def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 5, interval: float = 0.01
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(interval)

    async def wait_for_ready(self, timeout: float = 10, count: int = 1) -> Session:
        """Wait until `count` IDENTIFYs have been answered with READY + every GUILD_CREATE."""
        await self.wait_until(lambda: self.ready_count >= count, timeout)
        return next(s for s in reversed(self.sessions) if s.ready_done)

    async def wait_for_resume(self, timeout: float = 10, count: int = 1) -> None:
        await self.wait_until(lambda: self.resume_count >= count, timeout)

    async def wait_for_idle(self, timeout: float = 5) -> None:
        """Wait until every connected session has been sent all of its events."""
        await self.wait_until(
            lambda: all(s.sent_seq >= s.seq for s in self.connected_sessions()), timeout
        )

    # ------------------------------------------------------------------ interactions (see interactions.py)
    def new_token(self) -> str:
        return f"emu-{next(self._tokens)}-{secrets.token_urlsafe(24)}"

    async def invoke(
        self,
        guild_id: int | None,
        user_id: int,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel_id: int | None = None,
        locale: str | None = None,
        timeout: float = 5,
        omit_resolved: bool = False,
    ) -> InteractionResult:
        """`omit_resolved=True` sends user/role/channel options without `resolved` data, as
        Discord sometimes does (the client then sees bare ids)."""
        from tests.emulator.interactions import invoke

        return await invoke(
            self,
            guild_id,
            user_id,
            command,
            options or {},
            channel_id,
            locale,
            timeout,
            omit_resolved=omit_resolved,
        )

    async def autocomplete(
        self,
        guild_id: int | None,
        user_id: int,
        command: str,
        *,
        focused: str,
        value: Any = "",
        options: Mapping[str, Any] | None = None,
        channel_id: int | None = None,
        locale: str | None = None,
        timeout: float = 5,
    ) -> list[dict[str, Any]]:
        from tests.emulator.interactions import autocomplete

        return await autocomplete(
            self,
            guild_id,
            user_id,
            command,
            focused,
            value,
            options or {},
            channel_id,
            locale,
            timeout,
        )

    async def submit_modal(
        self,
        result: InteractionResult,
        user_id: int,
        values: Mapping[str, Any],
        *,
        timeout: float = 5,
    ) -> InteractionResult:
        from tests.emulator.interactions import submit_modal

        return await submit_modal(self, result, user_id, values, timeout)

    async def press_button(
        self,
        channel_id: int,
        message_id: int,
        user_id: int,
        custom_id: str,
        *,
        locale: str | None = None,
        timeout: float = 5,
    ) -> InteractionResult:
        from tests.emulator.interactions import component

        return await component(
            self, channel_id, message_id, user_id, custom_id, None, locale, timeout
        )

    async def select(
        self,
        channel_id: int,
        message_id: int,
        user_id: int,
        custom_id: str,
        values: Sequence[str],
        *,
        locale: str | None = None,
        timeout: float = 5,
    ) -> InteractionResult:
        from tests.emulator.interactions import component

        return await component(
            self, channel_id, message_id, user_id, custom_id, list(values), locale, timeout
        )

    def find_interaction_message(
        self, message_id: int
    ) -> tuple[InteractionRecord, dict[str, Any]] | None:
        """An ephemeral response or follow-up (not stored in any channel)."""
        for record in self.interactions.values():
            candidates = (
                [record.original] if record.original is not None else []
            ) + record.followups
            for msg in candidates:
                if int(msg["id"]) == int(message_id):
                    return record, msg
        return None


def normalise_emoji(emoji: str) -> str:
    """`✅`, `name:id`, `<:name:id>` or `<a:name:id>` → the key used in routes (`✅` or `name:id`)."""
    emoji = emoji.strip()
    if emoji.startswith("<") and emoji.endswith(">"):
        emoji = emoji[1:-1]
        if emoji.startswith("a:"):
            emoji = emoji[2:]
        elif emoji.startswith(":"):
            emoji = emoji[1:]
    return emoji


def _emoji_json(key: str) -> dict[str, Any]:
    if ":" in key:
        name, _, eid = key.rpartition(":")
        return {"id": eid, "name": name, "animated": False}
    return {"id": None, "name": key}


def _embed(data: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    out.setdefault("type", "rich")
    return out


def _route_matches(pattern: str, route: str | None, path: str) -> bool:
    if route is not None and pattern == route:
        return True
    try:
        regex = re.compile(pattern)
    except re.error:
        return False
    return bool((route is not None and regex.fullmatch(route)) or regex.search(path))


def _ratelimit_headers(
    limit: int, remaining: int, reset_after: float, bucket: str
) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }
