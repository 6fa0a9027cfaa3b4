"""/report, /privacy show and /privacy delete through the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.storage.privacy import PrivacyRepository
from tests.e2e.conftest import BotRunner, World


async def _seed(runner: BotRunner, world: World) -> tuple[int, int]:
    """A meeting with two answers and a profile whose intro card the bot posted."""
    assert runner.db is not None and runner.bot is not None
    member = world.members[0]
    card = await runner.bot.get_partial_messageable(world.intro.id).send("intro card")
    now = datetime.now(UTC)
    stamp = now.isoformat()
    async with runner.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO meetings (guild_id, title, starts_at, ends_at, timezone, created_by, "
            "created_at, updated_at) VALUES (?, 'Frokost', ?, ?, 'Europe/Oslo', ?, ?, ?)",
            (
                world.guild.id,
                datetime(now.year, now.month, 1, 7, tzinfo=UTC).isoformat(),
                datetime(now.year, now.month, 1, 9, tzinfo=UTC).isoformat(),
                member.id,
                stamp,
                stamp,
            ),
        )
        meeting_id = int(cur.lastrowid or 0)
        for seq, user in enumerate((member, world.members[1])):
            await conn.execute(
                "INSERT INTO rsvps (meeting_id, guild_id, user_id, status, seq, answered_at, "
                "updated_at) VALUES (?, ?, ?, 'going', ?, ?, ?)",
                (meeting_id, world.guild.id, user.id, seq, stamp, stamp),
            )
        await conn.execute(
            "INSERT INTO profiles (guild_id, user_id, display_name, sector, card_channel_id, "
            "card_message_id, created_at, updated_at) VALUES (?, ?, 'Kari', 'business', ?, ?, ?, ?)",
            (world.guild.id, member.id, world.intro.id, card.id, stamp, stamp),
        )
    return meeting_id, card.id


async def test_report_attaches_csv_and_png(runner: BotRunner, world: World) -> None:
    await _seed(runner, world)
    res = await world.emu.invoke(world.guild.id, world.admin.id, "report")
    assert res.ephemeral
    files = dict(res.files)
    csv_name = next(n for n in files if n.endswith(".csv"))
    png_name = next(n for n in files if n.endswith(".png"))
    assert b"Frokost" in files[csv_name]
    assert files[png_name][:8] == b"\x89PNG\r\n\x1a\n"
    assert "Kari" not in str(res.embeds) and "Kari" not in files[csv_name].decode("utf-8-sig")
    bad = await world.emu.invoke(
        world.guild.id, world.admin.id, "report", options={"from": "2026-05-01", "to": "2026-04-01"}
    )
    assert bad.ephemeral and bad.content and not bad.files
    refused = await world.emu.invoke(world.guild.id, world.members[2].id, "report")
    assert refused.ephemeral and not refused.files


async def test_privacy_show_gives_a_json_file(runner: BotRunner, world: World) -> None:
    meeting_id, _ = await _seed(runner, world)
    member = world.members[0]
    res = await world.emu.invoke(world.guild.id, member.id, "privacy show")
    assert res.ephemeral
    (name, data), *_rest = res.files
    assert name.endswith(".json")
    export = json.loads(data)
    assert export["user_id"] == member.id
    assert export["data"]["profile"]["display_name"] == "Kari"
    assert [a["meeting_id"] for a in export["data"]["answers"]] == [meeting_id]
    assert export["data"]["meetings_created"] == [meeting_id]


async def test_privacy_delete_with_confirm_button(runner: BotRunner, world: World) -> None:
    _, card_id = await _seed(runner, world)
    emu, member = world.emu, world.members[0]
    asked = await emu.invoke(world.guild.id, member.id, "privacy delete")
    assert asked.ephemeral and asked.components
    buttons = [c for row in asked.components for c in row["components"]]
    confirm = next(b for b in buttons if b["style"] == 4)
    assert asked.primary is not None
    done = await emu.press_button(
        asked.primary["channel_id"], asked.primary["id"], member.id, confirm["custom_id"]
    )
    assert done.response_type == 7
    assert runner.db is not None
    await emu.wait_until(
        lambda: all(m["id"] != str(card_id) for m in emu.messages(world.intro.id)), timeout=5
    )
    export = await PrivacyRepository(runner.db).export(world.guild.id, member.id)
    assert not any(PrivacyRepository.summarise(export).values())
    # The other member's answer stays; the deleted one is now an anonymous count.
    assert await runner.db.fetchval("SELECT COUNT(*) FROM rsvps") == 1
    assert await runner.db.fetchval("SELECT SUM(people) FROM anonymous_participation") == 1
    # A member cannot delete someone else's data.
    other = await emu.invoke(
        world.guild.id,
        world.members[2].id,
        "privacy delete",
        options={"member": world.members[1].id},
    )
    assert other.ephemeral and not other.components


async def test_privacy_settings_for_organisers(runner: BotRunner, world: World) -> None:
    from tests.e2e.test_meetings import configure

    await configure(world)
    assert runner.db is not None
    repo = PrivacyRepository(runner.db)
    emu, guild = world.emu, world.guild.id
    shown = await emu.invoke(guild, world.organiser.id, "privacy settings")
    assert shown.ephemeral
    assert shown.content == runner.catalog.text(
        "en", "privacy.settings.current", months=24, days=30
    )

    saved = await emu.invoke(
        guild, world.organiser.id, "privacy settings", options={"retention_months": 12}
    )
    assert saved.content == runner.catalog.text("en", "privacy.settings.saved", months=12, days=30)
    stored = await repo.settings(guild)
    assert (stored.retention_months, stored.leave_grace_days) == (12, 30)

    # A plain member is refused; out-of-range numbers are refused; nothing changes.
    refused = await emu.invoke(
        guild, world.members[0].id, "privacy settings", options={"leave_grace_days": 1}
    )
    assert refused.content == runner.catalog.text("en", "error.not_organiser")
    for options, key, low, high in (
        ({"retention_months": 0}, "privacy.error.retention_range", 1, 120),
        ({"leave_grace_days": 400}, "privacy.error.grace_range", 0, 365),
    ):
        bad = await emu.invoke(guild, world.organiser.id, "privacy settings", options=options)
        assert bad.ephemeral
        assert bad.content == runner.catalog.text("en", key, min=low, max=high)
    stored = await repo.settings(guild)
    assert (stored.retention_months, stored.leave_grace_days) == (12, 30)
