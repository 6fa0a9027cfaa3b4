"""Interactions: building INTERACTION_CREATE payloads from synced commands, callbacks, results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tests.emulator.models import (
    EPHEMERAL,
    LOADING,
    ApiError,
    InteractionRecord,
    InteractionResult,
    unknown,
)

if TYPE_CHECKING:
    from tests.emulator.emulator import Emulator
    from tests.emulator.rest import Req

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)


def _default_channel(emu: Emulator, guild_id: int | None, user_id: int) -> int:
    if guild_id is None:
        return emu.dm_channel(user_id)
    for cid in emu._guild(guild_id).channel_ids:
        if emu.channels[cid]["type"] == 0:
            return cid
    raise ValueError("the guild has no text channel to invoke the command in")


def _find_command(emu: Emulator, guild_id: int | None, name: str, ctype: int = 1) -> dict[str, Any]:
    pools = []
    if guild_id is not None:
        pools.append(emu.guild_commands.get(guild_id, []))
    pools.append(emu.global_commands)
    for pool in pools:
        for cmd in pool:
            if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                return cmd
    known = sorted({c["name"] for pool in pools for c in pool})
    raise LookupError(f"command {name!r} is not synced (known: {known})")


def _base_payload(
    emu: Emulator,
    itype: int,
    guild_id: int | None,
    user_id: int,
    channel_id: int,
    locale: str | None,
) -> tuple[int, str, dict[str, Any]]:
    iid = emu.snowflake()
    token = emu.new_token()
    channel = emu.channel_json(channel_id)
    payload: dict[str, Any] = {
        "id": str(iid),
        "application_id": str(emu.application_id),
        "type": itype,
        "token": token,
        "version": 1,
        "locale": locale or emu.user_locales.get(int(user_id), "en-US"),
        "app_permissions": str(emu.permissions_in(channel_id, emu.bot_user_id)),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "channel_id": str(channel_id),
    }
    if guild_id is not None:
        guild = emu._guild(guild_id)
        channel["permissions"] = str(emu.permissions_in(channel_id, user_id))
        payload.update(
            guild_id=str(guild_id),
            guild_locale=guild.data["preferred_locale"],
            guild={
                "id": str(guild_id),
                "locale": guild.data["preferred_locale"],
                "features": guild.data["features"],
            },
            member=emu.member_json(guild_id, user_id, channel_id=channel_id),
            authorizing_integration_owners={"0": str(guild_id)},
            context=0,
        )
    else:
        payload.update(
            user=emu.user_json(user_id),
            authorizing_integration_owners={"0": "0"},  # guild install, used in the bot's DM
            context=1,
        )
    payload["channel"] = channel
    return iid, token, payload


def _resolve(
    emu: Emulator,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    otype: int,
    value: Any,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    if otype in (USER, MENTIONABLE) and (otype == USER or int(value) in emu.users):
        uid = int(value)
        resolved.setdefault("users", {})[str(uid)] = emu.user_json(uid)
        if guild_id is not None and uid in emu._guild(guild_id).members:
            member = emu.member_json(guild_id, uid, with_user=False, channel_id=channel_id)
            resolved.setdefault("members", {})[str(uid)] = member
        return str(uid)
    if otype in (ROLE, MENTIONABLE):
        rid = int(value)
        assert guild_id is not None
        resolved.setdefault("roles", {})[str(rid)] = emu._guild(guild_id).roles[rid]
        return str(rid)
    if otype == CHANNEL:
        cid = int(value)
        ch = emu.channel_json(cid)
        entry: dict[str, Any] = {
            k: ch[k]
            for k in (
                "id",
                "type",
                "name",
                "parent_id",
                "guild_id",
                "thread_metadata",
                "owner_id",
                "member_count",
                "message_count",
                "nsfw",
                "topic",
                "position",
                "flags",
            )
            if k in ch
        }
        entry["permissions"] = str(emu.permissions_in(cid, user_id))
        resolved.setdefault("channels", {})[str(cid)] = entry
        return str(cid)
    if otype == ATTACHMENT:
        name, data = value
        att = emu._attachment(name, data, None, {})
        att["ephemeral"] = True
        resolved.setdefault("attachments", {})[att["id"]] = att
        return att["id"]
    if otype == INTEGER:
        return int(value)
    if otype == NUMBER:
        return float(value)
    if otype == BOOLEAN:
        return bool(value)
    return str(value)


def _build_options(
    emu: Emulator,
    cmd: dict[str, Any],
    path: Sequence[str],
    options: Mapping[str, Any],
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    focused: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    resolved: dict[str, dict[str, Any]] = {}
    schema = cmd.get("options") or []
    chain: list[tuple[str, int]] = []
    for name in path:
        found = next(
            (
                o
                for o in schema
                if o["name"] == name and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
            ),
            None,
        )
        if found is None:
            raise LookupError(f"{cmd['name']}: no subcommand {name!r}")
        chain.append((name, int(found["type"])))
        schema = found.get("options") or []
    leaf: list[dict[str, Any]] = []
    by_name = {o["name"]: o for o in schema}
    for name, value in options.items():
        opt = by_name.get(name)
        if opt is None:
            raise LookupError(
                f"{cmd['name']} {' '.join(path)}: no option {name!r} (have {sorted(by_name)})"
            )
        if name == focused:
            leaf.append({"name": name, "type": opt["type"], "value": str(value), "focused": True})
            continue
        typed = _resolve(emu, guild_id, channel_id, user_id, int(opt["type"]), value, resolved)
        leaf.append({"name": name, "type": opt["type"], "value": typed})
    if focused is not None and focused not in options:
        opt = by_name.get(focused)
        if opt is None:
            raise LookupError(f"no option {focused!r} to focus")
        leaf.append({"name": focused, "type": opt["type"], "value": "", "focused": True})
    missing = [o["name"] for o in schema if o.get("required") and o["name"] not in options]
    if missing and focused is None:
        raise LookupError(f"required options missing: {missing}")
    result = leaf
    for name, otype in reversed(chain):
        result = [{"name": name, "type": otype, "options": result}]
    return result, resolved


async def _dispatch_and_wait(
    emu: Emulator,
    record: InteractionRecord,
    timeout: float,
    wait_followup: bool = True,
) -> InteractionResult:
    if not emu.connected_sessions():
        raise RuntimeError("no bot is connected to the emulator's gateway")
    emu.interactions[record.token] = record
    emu.interactions_by_id[record.id] = record
    record.created = time.perf_counter()
    emu._dispatch("INTERACTION_CREATE", record.payload, record.guild_id)
    result = InteractionResult(emu, record)
    deadline = time.monotonic() + timeout

    def done() -> bool:
        if record.error is not None:
            return True
        if not record.responded:
            return False
        if record.response_type in (5, 6) and wait_followup:  # deferred: wait for the answer
            return record.original_edited or bool(record.followups) or record.original_deleted
        return True

    while not done():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            state = "deferred without a follow-up" if record.responded else "not answered"
            raise TimeoutError(
                f"interaction {record.payload.get('data', {}).get('name', record.type)!r} {state}"
            )
        record.changed.clear()
        try:
            await asyncio.wait_for(record.changed.wait(), remaining)
        except TimeoutError:
            continue
    return result


async def invoke(
    emu: Emulator,
    guild_id: int | None,
    user_id: int,
    command: str,
    options: Mapping[str, Any],
    channel_id: int | None,
    locale: str | None,
    timeout: float,
    *,
    omit_resolved: bool = False,
) -> InteractionResult:
    """A slash command by its path ("setup show"); options typed from the synced schema."""
    name, *path = command.split()
    cmd = _find_command(emu, guild_id, name)
    cid = channel_id if channel_id is not None else _default_channel(emu, guild_id, user_id)
    built, resolved = _build_options(emu, cmd, path, options, guild_id, cid, user_id)
    iid, token, payload = _base_payload(emu, 2, guild_id, user_id, cid, locale)
    data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": built}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    if resolved and not omit_resolved:
        data["resolved"] = resolved
    payload["data"] = data
    record = InteractionRecord(iid, token, 2, guild_id, cid, user_id, payload, time.perf_counter())
    return await _dispatch_and_wait(emu, record, timeout)


async def autocomplete(
    emu: Emulator,
    guild_id: int | None,
    user_id: int,
    command: str,
    focused: str,
    value: Any,
    options: Mapping[str, Any],
    channel_id: int | None,
    locale: str | None,
    timeout: float,
) -> list[dict[str, Any]]:
    name, *path = command.split()
    cmd = _find_command(emu, guild_id, name)
    cid = channel_id if channel_id is not None else _default_channel(emu, guild_id, user_id)
    opts = dict(options)
    opts[focused] = value
    built, resolved = _build_options(emu, cmd, path, opts, guild_id, cid, user_id, focused=focused)
    iid, token, payload = _base_payload(emu, 4, guild_id, user_id, cid, locale)
    data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": built}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    if resolved:
        data["resolved"] = resolved
    payload["data"] = data
    record = InteractionRecord(iid, token, 4, guild_id, cid, user_id, payload, time.perf_counter())
    result = await _dispatch_and_wait(emu, record, timeout)
    if result.error is not None:
        raise RuntimeError(f"autocomplete answer refused: {result.error}")
    return result.choices


def _modal_submission(
    components: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    def leaf(comp: Mapping[str, Any]) -> dict[str, Any]:
        cid = comp.get("custom_id")
        out: dict[str, Any] = {"type": comp["type"], "id": comp.get("id", 0)}
        if cid is None:
            return out
        out["custom_id"] = cid
        value = values.get(cid)
        if comp["type"] == 4:
            out["value"] = "" if value is None else str(value)
        else:
            if value is None:
                out["values"] = []
            else:
                out["values"] = (
                    [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
                )
        return out

    result: list[dict[str, Any]] = []
    for comp in components:
        if comp["type"] == 1:
            result.append(
                {
                    "type": 1,
                    "id": comp.get("id", 0),
                    "components": [leaf(c) for c in comp.get("components", [])],
                }
            )
        elif comp["type"] == 18:
            result.append(
                {"type": 18, "id": comp.get("id", 0), "component": leaf(comp["component"])}
            )
        elif comp.get("custom_id"):
            result.append(leaf(comp))
    return result


async def submit_modal(
    emu: Emulator,
    result: InteractionResult,
    user_id: int,
    values: Mapping[str, Any],
    timeout: float,
) -> InteractionResult:
    modal = result.modal
    if modal is None:
        raise ValueError(f"the interaction was not answered with a modal: {result!r}")
    known: set[str | None] = set()
    for comp in modal.get("components", []):
        inner = comp.get("components") or ([comp["component"]] if "component" in comp else [comp])
        known.update(c.get("custom_id") for c in inner)
    unknown_ids = set(values) - known
    if unknown_ids:
        raise LookupError(
            f"modal has no fields {sorted(unknown_ids)} (has {sorted(k for k in known if k)})"
        )
    src = result.record
    iid, token, payload = _base_payload(emu, 5, src.guild_id, user_id, src.channel_id, None)
    payload["locale"] = src.payload.get("locale", payload["locale"])
    payload["data"] = {
        "custom_id": modal["custom_id"],
        "components": _modal_submission(modal.get("components", []), values),
    }
    if "message" in src.payload:
        payload["message"] = src.payload["message"]
    record = InteractionRecord(
        iid, token, 5, src.guild_id, src.channel_id, user_id, payload, time.perf_counter()
    )
    record.source_message = src.source_message
    if src.source_message is not None:
        record.original = src.original
    return await _dispatch_and_wait(emu, record, timeout)


def _find_component(
    components: Sequence[Mapping[str, Any]], custom_id: str
) -> Mapping[str, Any] | None:
    for comp in components:
        if comp.get("custom_id") == custom_id:
            return comp
        for key in ("components",):
            found = _find_component(comp.get(key) or [], custom_id)
            if found is not None:
                return found
        for key in ("accessory", "component"):
            child = comp.get(key)
            if isinstance(child, Mapping):
                found = _find_component([child], custom_id)
                if found is not None:
                    return found
    return None


async def component(
    emu: Emulator,
    channel_id: int,
    message_id: int,
    user_id: int,
    custom_id: str,
    values: list[str] | None,
    locale: str | None,
    timeout: float,
) -> InteractionResult:
    msg = emu.channel_messages.get(int(channel_id), {}).get(int(message_id))
    source_record = None
    if msg is None:
        found = emu.find_interaction_message(message_id)
        if found is None:
            raise unknown(10008, "Message")
        source_record, msg = found
    comp = _find_component(msg.get("components") or [], custom_id)
    if comp is None:
        raise LookupError(f"message {message_id} has no component {custom_id!r}")
    if comp.get("disabled"):
        raise ValueError(f"component {custom_id!r} is disabled")
    channel = emu.channels[int(channel_id)]
    gid = int(channel["guild_id"]) if channel.get("guild_id") else None
    iid, token, payload = _base_payload(emu, 3, gid, user_id, int(channel_id), locale)
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": int(comp["type"])}
    if values is not None:
        data["values"] = values
        # User (5), role (6), mentionable (7) and channel (8) selects carry resolved data.
        kinds = {5: USER, 6: ROLE, 7: MENTIONABLE, 8: CHANNEL}
        if int(comp["type"]) in kinds:
            resolved: dict[str, dict[str, Any]] = {}
            for value in values:
                _resolve(
                    emu, gid, int(channel_id), user_id, kinds[int(comp["type"])], value, resolved
                )
            data["resolved"] = resolved
    payload["data"] = data
    payload["message"] = emu.message_json(msg)
    record = InteractionRecord(
        iid, token, 3, gid, int(channel_id), user_id, payload, time.perf_counter()
    )
    record.source_message = (int(channel_id), int(message_id))
    record.original = msg
    record.ephemeral = bool(int(msg.get("flags", 0)) & EPHEMERAL)
    _ = source_record
    return await _dispatch_and_wait(emu, record, timeout)


def interaction_message(
    emu: Emulator,
    record: InteractionRecord,
    body: Mapping[str, Any],
    files: Sequence[tuple[str, bytes, str | None]],
    *,
    store: bool,
    msg_type: int,
) -> dict[str, Any]:
    user = emu.user_json(record.user_id)
    meta = {
        "id": str(record.id),
        "type": record.type,
        "user": user,
        "authorizing_integration_owners": record.payload.get("authorizing_integration_owners", {}),
    }
    if record.type == 2:
        meta["name"] = record.payload["data"]["name"]
    extra: dict[str, Any] = {
        "webhook_id": str(emu.application_id),
        "application_id": str(emu.application_id),
        "interaction_metadata": meta,
    }
    if record.type == 2:
        extra["interaction"] = {
            "id": str(record.id),
            "type": 2,
            "name": record.payload["data"]["name"],
            "user": user,
        }
    return emu.create_message(
        record.channel_id, emu.bot_user_id, body, files, msg_type=msg_type, extra=extra, store=store
    )


async def handle_callback(emu: Emulator, req: Req) -> Any:
    from tests.emulator.rest import Raw

    token = req.params["token"]
    record = emu.interactions.get(token)
    if record is None or str(record.id) != req.params["interaction_id"]:
        raise unknown(10062, "interaction")
    if record.responded:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    now = time.perf_counter()
    if now - record.created > emu.interaction_deadline:
        record.error = (404, 10062, "Unknown interaction")
        record.touch()
        raise unknown(10062, "interaction")
    body = req.json or {}
    ctype = int(body.get("type", 0))
    data = dict(body.get("data") or {})
    allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}.get(record.type, {1})
    if ctype not in allowed:
        raise ApiError(
            400, 50035, "Invalid Form Body", extra={"errors": {"type": f"{ctype} not allowed"}}
        )
    resource_message = None
    if ctype == 4:
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        _check_channel_send(emu, record, ephemeral)
        msg = interaction_message(
            emu,
            record,
            data,
            req.files,
            store=not ephemeral,
            msg_type=20 if record.type == 2 else 0,
        )
        record.original = msg
        record.ephemeral = ephemeral
        resource_message = msg
    elif ctype == 5:
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        body_flags = LOADING | (EPHEMERAL if ephemeral else 0)
        msg = interaction_message(
            emu,
            record,
            {"content": "", "flags": body_flags},
            [],
            store=not ephemeral,
            msg_type=20 if record.type == 2 else 0,
        )
        record.original = msg
        record.ephemeral = ephemeral
        resource_message = msg
    elif ctype in (6, 7):
        if record.source_message is None or record.original is None:
            raise ApiError(
                400, 50035, "Invalid Form Body", extra={"errors": {"type": "no message"}}
            )
        if ctype == 7:
            emu.edit_message(record.original, data, req.files)
            record.original_edited = True
            resource_message = record.original
    elif ctype == 9:
        if not data.get("custom_id") or not data.get("title") or not data.get("components"):
            raise ApiError(
                400, 50035, "Invalid Form Body", extra={"errors": {"data": "modal incomplete"}}
            )
    elif ctype == 8:
        choices = data.get("choices") or []
        if len(choices) > 25:
            raise ApiError(400, 50035, "Invalid Form Body", extra={"errors": {"choices": "max 25"}})
    record.responded = True
    record.response_type = ctype
    record.response_data = data
    record.callback_time = now
    record.touch()
    if req.query.get("with_response", "").lower() not in ("1", "true"):
        return Raw(204)
    interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
    if resource_message is not None:
        interaction["response_message_id"] = resource_message["id"]
        interaction["response_message_loading"] = ctype == 5
        interaction["response_message_ephemeral"] = record.ephemeral
    resource: dict[str, Any] = {"type": ctype}
    if resource_message is not None:
        resource["message"] = emu.message_json(resource_message)
    return {"interaction": interaction, "resource": resource}


def _check_channel_send(emu: Emulator, record: InteractionRecord, ephemeral: bool) -> None:
    """Interaction responses do not need the bot's channel permissions (as on Discord)."""
    _ = (emu, record, ephemeral)
