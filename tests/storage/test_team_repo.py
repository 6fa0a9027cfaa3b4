"""Team roles on a real SQLite file: organisations, the card's staleness, privacy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db import Database
from bot.storage.privacy import PrivacyRepository
from bot.storage.team import TeamRepository

G, OTHER = 100, 200
KARI, OLA = 1, 2
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _profile(db: Database, guild: int, user: int, organisation: str) -> None:
    stamp = NOW.isoformat()
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO profiles (guild_id, user_id, display_name, organisation, created_at, "
            "updated_at) VALUES (?, ?, 'x', ?, ?, ?)",
            (guild, user, organisation, stamp, stamp),
        )


async def test_roles_organisations_and_the_card(db: Database) -> None:
    repo = TeamRepository(db)
    await _profile(db, G, KARI, "NAV Oslo")
    await _profile(db, OTHER, OLA, "Elsewhere")
    # No organisation given: the introduction's; given: replaces; again without: kept.
    assert (await repo.set_role(G, KARI, "project_lead", None, NOW)).organisation == "NAV Oslo"
    held = await repo.set_role(G, KARI, "project_lead", "Oslo kommune", NOW)
    assert held.organisation == "Oslo kommune"
    assert (await repo.set_role(G, KARI, "project_lead", None, NOW)).organisation == "Oslo kommune"
    assert (await repo.set_role(G, OLA, "working_group", None, NOW)).organisation == ""
    later = NOW + timedelta(days=30)
    await repo.set_role(G, OLA, "funding_partner", "Stiftelsen", later)
    assert await repo.holds_any(G, KARI) and not await repo.holds_any(OTHER, KARI)
    assert sorted(await repo.organisations(G)) == ["NAV Oslo", "Oslo kommune", "Stiftelsen"]
    assert [h.role for h in await repo.holdings(G, before=later)] == [
        "project_lead",
        "working_group",
    ]
    assert len(await repo.holdings(G)) == 3

    # A change marks a stored card stale until it is saved again (edited).
    assert await repo.card(G) is None
    await repo.save_card(G, 10, 11, NOW)
    assert await repo.stale_cards() == []
    assert await repo.remove_role(G, OLA, "working_group")
    assert not await repo.remove_role(G, OLA, "working_group")
    assert [c.guild_id for c in await repo.stale_cards()] == [G]
    card = await repo.save_card(G, 10, 11, NOW)
    assert not card.stale and await repo.card(G) == card


async def test_privacy_exports_and_deletes_team_roles(db: Database) -> None:
    repo, privacy = TeamRepository(db), PrivacyRepository(db)
    await repo.set_role(G, KARI, "project_lead", "NAV Oslo", NOW)
    await repo.set_role(G, OLA, "funding_partner", "Stiftelsen", NOW)
    await repo.save_card(G, 10, 11, NOW)
    # Someone with only a team role is checked by the leave sweep too.
    assert await privacy.people(G) == [KARI, OLA]
    assert G in await privacy.guilds()
    export = await privacy.export(G, KARI)
    assert [r["role"] for r in export["data"]["team_roles"]] == ["project_lead"]
    assert privacy.summarise(export)["team_roles"] == 1

    result = await privacy.delete(G, KARI, NOW, actor_id=KARI)
    assert result.found
    assert [h.user_id for h in await repo.holdings(G)] == [OLA]
    card = await repo.card(G)
    assert card is not None and card.stale  # edited by the service, or at the next start

    # Deleting someone without a role leaves the card as it is.
    await repo.save_card(G, 10, 11, NOW)
    await privacy.delete(G, 99, NOW, actor_id=99)
    card = await repo.card(G)
    assert card is not None and not card.stale
