"""/team set|remove|show end to end: the team card posted once and edited in place (also
after a restart, a lost message id, a deleted card, a change while the bot was down);
team roles as organiser rights in buttons; /report and /privacy covering the roles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.db import Database
from bot.i18n import LANGUAGES
from bot.storage.checkins import CheckinRepository
from bot.storage.team import TeamRepository
from tests.e2e.conftest import BotRunner, World, eventually
from tests.e2e.test_meetings import configure, only_meeting


def cards(runner: BotRunner, world: World) -> list[dict[str, Any]]:
    """The bot's team cards in the announcement channel (known by the footer)."""
    footers = {runner.catalog.text(lang, "team.card.footer") for lang in LANGUAGES}
    return [
        m
        for m in world.emu.messages(world.announce.id)
        if m.get("embeds") and (m["embeds"][0].get("footer") or {}).get("text") in footers
    ]


def card_text(card: dict[str, Any]) -> str:
    embed = card["embeds"][0]
    return "\n".join(
        [embed.get("title", ""), embed.get("description", "")]
        + [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    )


async def add_profile(runner: BotRunner, guild_id: int, user_id: int, name: str, org: str) -> None:
    assert runner.db is not None
    stamp = datetime.now(UTC).isoformat()
    async with runner.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO profiles (guild_id, user_id, display_name, organisation, sector, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, 'business', ?, ?)",
            (guild_id, user_id, name, org, stamp, stamp),
        )


async def team(world: World, user_id: int, command: str, **options: Any) -> Any:
    return await world.emu.invoke(world.guild.id, user_id, f"team {command}", options=options)


async def test_team_card_is_posted_once_and_edited_in_place(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    emu, text = world.emu, runner.catalog.text
    kari, ola, per = world.members[0], world.members[1], world.members[2]
    await add_profile(runner, world.guild.id, kari.id, "Kari *Nordmann*", "NAV Oslo")
    # Organisations are offered from the introductions (and then the team).
    offered = await emu.autocomplete(
        world.guild.id, world.admin.id, "team set", focused="organisation", value="nav"
    )
    assert [c["value"] for c in offered] == ["NAV Oslo"]
    hidden = await emu.autocomplete(
        world.guild.id, world.organiser.id, "team set", focused="organisation", value="nav"
    )
    assert hidden == []

    empty = await team(world, world.organiser.id, "show")
    assert empty.content == text("en", "team.error.empty") and not cards(runner, world)

    # Without an organisation the holding takes the one from the introduction.
    first = await team(world, world.admin.id, "set", role="project_lead", member=kari.id)
    assert text("en", "team.card.hint") in first.content
    await team(world, world.admin.id, "set", role="working_group", member=kari.id)
    await team(
        world, world.admin.id, "set", role="funding_partner", member=ola.id, organisation="@here"
    )
    offered = await emu.autocomplete(
        world.guild.id, world.admin.id, "team set", focused="organisation", value=""
    )
    assert [c["value"] for c in offered] == ["@here", "NAV Oslo"]

    shown = await team(world, world.organiser.id, "show")
    assert shown.content == text("en", "team.show.posted", channel=f"<#{world.announce.id}>")
    (card,) = cards(runner, world)
    body = card_text(card)
    assert text("en", "team.card.title", region=world.guild.name) in body
    assert "Kari \\*Nordmann\\*, NAV Oslo" in body  # markdown shown as typed
    assert body.count("NAV Oslo") == 2  # project lead and working group
    assert "@\u200bhere" in body  # a name or organisation never pings
    assert emu.allowed_mentions(int(card["id"])) == {"parse": []}
    for role in ("project_lead", "working_group", "funding_partner"):
        assert text("en", f"team.role.{role}") in body
    assert text("en", "team.role.delivery_partner") not in body

    again = await team(world, world.organiser.id, "show")
    assert again.content == text("en", "team.show.edited", channel=f"<#{world.announce.id}>")
    assert [c["id"] for c in cards(runner, world)] == [card["id"]]

    # A change edits the card at once; removing a role too.
    added = await team(world, world.admin.id, "set", role="delivery_partner", member=per.id)
    assert text("en", "team.card.updated") in added.content
    (card,) = cards(runner, world)
    assert text("en", "team.role.delivery_partner") in card_text(card)
    removed = await team(world, world.admin.id, "remove", role="working_group", member=kari.id)
    assert removed.content.startswith(
        text(
            "en",
            "team.remove.done",
            member=f"<@{kari.id}>",
            role=text("en", "team.role.working_group"),
        )
    )
    (card,) = cards(runner, world)
    assert text("en", "team.role.working_group") not in card_text(card)
    not_held = await team(world, world.admin.id, "remove", role="working_group", member=kari.id)
    assert not_held.content == text(
        "en",
        "team.remove.not_held",
        member=f"<@{kari.id}>",
        role=text("en", "team.role.working_group"),
    )

    # After a restart the stored card is edited, not posted again.
    await runner.restart()
    await team(world, world.organiser.id, "show")
    assert [c["id"] for c in cards(runner, world)] == [card["id"]]

    # Posted but its id never stored (a crash in between): found in the channel, adopted.
    assert runner.db is not None
    await TeamRepository(runner.db).forget_card(world.guild.id)
    adopted = await team(world, world.organiser.id, "show")
    assert adopted.content == text("en", "team.show.edited", channel=f"<#{world.announce.id}>")
    assert [c["id"] for c in cards(runner, world)] == [card["id"]]

    # Changed while the bot was down: edited when it starts.
    await runner.stop()
    db = await Database.open(runner.db_path)
    try:
        await TeamRepository(db).set_role(
            world.guild.id, per.id, "municipal_partner", "Oslo kommune", datetime.now(UTC)
        )
    finally:
        await db.close()
    await runner.start()
    await emu.wait_until(lambda: "Oslo kommune" in card_text(cards(runner, world)[0]))
    assert runner.db is not None
    stored = await TeamRepository(runner.db).card(world.guild.id)
    assert stored is not None and not stored.stale

    # A deleted card is posted again, once; when Discord's answer to the post is lost (the
    # card exists, the bot never learnt its id), the next show adopts it.
    emu.delete_message(world.announce.id, int(card["id"]))
    emu.inject("POST", "/channels/{channel_id}/messages", status=400, code=50035, after=True)
    lost = await team(world, world.organiser.id, "show")
    assert lost.content != text("en", "team.show.posted", channel=f"<#{world.announce.id}>")
    (new_card,) = cards(runner, world)
    assert new_card["id"] != card["id"]
    reposted = await team(world, world.organiser.id, "show")
    assert reposted.content == text("en", "team.show.edited", channel=f"<#{world.announce.id}>")
    assert [c["id"] for c in cards(runner, world)] == [new_card["id"]]
    emu.delete_message(world.announce.id, int(new_card["id"]))
    posted = await team(world, world.organiser.id, "show")
    assert posted.content == text("en", "team.show.posted", channel=f"<#{world.announce.id}>")
    (old_card,) = cards(runner, world)
    # Discord refusing more edits of an old message: a fresh card, the old one deleted.
    emu.inject("PATCH", "/channels/{channel_id}/messages/{message_id}", status=400, code=30046)
    fresh = await team(world, world.organiser.id, "show")
    assert fresh.content == text("en", "team.show.posted", channel=f"<#{world.announce.id}>")
    assert [c["id"] != old_card["id"] for c in cards(runner, world)] == [True]

    # Bots hold no roles.
    bot_user = runner.bot.user if runner.bot else None
    assert bot_user is not None
    refused = await team(world, world.admin.id, "set", role="project_lead", member=bot_user.id)
    assert refused.content == text("en", "team.error.bot")


async def test_a_team_role_opens_organiser_buttons_until_it_is_taken_away(
    runner: BotRunner, world: World
) -> None:
    await configure(world)
    emu, text = world.emu, runner.catalog.text
    lead, other, walk_in = world.members[3], world.members[1], world.members[4]
    await add_profile(runner, world.guild.id, other.id, "Ola", "")
    await team(world, world.admin.id, "set", role="project_lead", member=lead.id)

    # The lead creates a meeting and checks someone in with the check-in view's select.
    created = await emu.invoke(
        world.guild.id,
        lead.id,
        "meeting create",
        options={"title": "Frokost", "date": "4.3.2030", "start": "08:30", "end": "10:00"},
    )
    assert created.content != text("en", "error.not_organiser")
    meeting = await only_meeting(runner, world)
    checkin = await emu.invoke(
        world.guild.id, lead.id, "meeting checkin", options={"meeting": str(meeting.id)}
    )
    view = checkin.followups[-1] if checkin.followups else checkin.message
    picked = await emu.select(
        view["channel_id"], view["id"], lead.id, "checkin:others", [str(walk_in.id)]
    )
    assert picked.error is None
    assert runner.db is not None
    checkins = CheckinRepository(runner.db)
    assert await checkins.user_ids(meeting.id) == {walk_in.id}

    # The lead asks to delete another member's data (an organiser's confirm button).
    asked = await emu.invoke(
        world.guild.id, lead.id, "privacy delete", options={"member": other.id}
    )
    buttons = [c for row in asked.components for c in row["components"]]
    confirm = next(b for b in buttons if b["style"] == 4)
    assert asked.primary is not None

    # The role is taken away: both are refused with the localised error, nothing changes.
    await team(world, world.admin.id, "remove", role="project_lead", member=lead.id)
    refused = text("en", "error.not_organiser")
    again = await emu.select(view["channel_id"], view["id"], lead.id, "checkin:others", [])
    assert again.content == refused
    assert await checkins.user_ids(meeting.id) == {walk_in.id}
    pressed = await emu.press_button(
        asked.primary["channel_id"], asked.primary["id"], lead.id, confirm["custom_id"]
    )
    assert pressed.content == refused
    assert await runner.db.fetchval("SELECT COUNT(*) FROM profiles") == 1

    # Given back, the same confirm button works (the member's data is deleted).
    await team(world, world.admin.id, "set", role="project_lead", member=lead.id)
    done = await emu.press_button(
        asked.primary["channel_id"], asked.primary["id"], lead.id, confirm["custom_id"]
    )
    assert done.response_type == 7
    await eventually(lambda: runner.db.fetchval("SELECT COUNT(*) FROM profiles"), 0, tries=250)


async def test_report_and_privacy_cover_team_roles(runner: BotRunner, world: World) -> None:
    await configure(world)
    emu, text = world.emu, runner.catalog.text
    kari, ola = world.members[0], world.members[1]
    await add_profile(runner, world.guild.id, kari.id, "Kari", "NAV Oslo")
    await team(world, world.admin.id, "set", role="project_lead", member=kari.id)
    await team(world, world.admin.id, "set", role="funding_partner", member=kari.id)
    await team(
        world,
        world.admin.id,
        "set",
        role="funding_partner",
        member=ola.id,
        organisation="Stiftelsen",
    )
    await team(world, world.admin.id, "set", role="working_group", member=ola.id)
    await team(world, world.organiser.id, "show")

    # The report's summary: organisations and their roles, never people.
    report = await emu.invoke(world.guild.id, world.organiser.id, "report")
    summary = report.embeds[0]["description"]
    role = {r: text("en", f"team.role.{r}") for r in ("project_lead", "funding_partner")}
    assert text("en", "team.report.header") in summary
    assert (
        text(
            "en",
            "team.report.organisation",
            organisation="NAV Oslo",
            roles=f"{role['project_lead']}, {role['funding_partner']}",
        )
        in summary
    )
    assert (
        text(
            "en",
            "team.report.organisation",
            organisation="Stiftelsen",
            roles=role["funding_partner"],
        )
        in summary
    )
    assert "Kari" not in summary and "deltaker" not in summary

    # /privacy show lists Kari's roles, in the summary and the file.
    shown = await emu.invoke(world.guild.id, kari.id, "privacy show")
    assert (
        text(
            "en",
            "privacy.show.team_roles",
            roles=f"{role['project_lead']}, {role['funding_partner']}",
        )
        in shown.embeds[0]["description"]
    )
    export = json.loads(shown.files[0][1])
    assert [r["role"] for r in export["data"]["team_roles"]] == [
        "project_lead",
        "funding_partner",
    ]

    # /privacy delete takes them away, and the card no longer names her.
    asked = await emu.invoke(world.guild.id, kari.id, "privacy delete")
    buttons = [c for row in asked.components for c in row["components"]]
    confirm = next(b for b in buttons if b["style"] == 4)
    assert asked.primary is not None
    await emu.press_button(
        asked.primary["channel_id"], asked.primary["id"], kari.id, confirm["custom_id"]
    )
    assert runner.db is not None
    repo = TeamRepository(runner.db)
    await emu.wait_until(lambda: "Kari" not in card_text(cards(runner, world)[0]))
    assert [h.user_id for h in await repo.holdings(world.guild.id)] == [ola.id, ola.id]
    card = await repo.card(world.guild.id)
    assert card is not None and not card.stale
    body = card_text(cards(runner, world)[0])
    assert text("en", "team.role.project_lead") not in body and "Stiftelsen" in body
