"""Four servers for the national view: G and H from `report_seed`, K, and L (not opted in).

Range 2026-01-01 … 2026-11-30. Numbers worked out by hand (G's as in `report_seed`):
* G "Oslo": 2 held meetings; people A business, B civil society, C public sector, D without
  a profile (unknown); 3 new (C came before the range); 3 cross-sector contacts; 2 rounds;
  2 introductions.
* H "Rogaland": 1 meeting; A business; 1 new; 1 contact (A–C); 1 round; 1 introduction.
* K "Göteborg": 1 meeting; E business, F public sector; 2 new; 1 contact; 1 round;
  2 introductions.
* L "Bergen" (never opted in, then opted out): 1 meeting with 5 going; left out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.db import Database
from bot.storage.guilds import GuildSettingsRepository
from tests.storage.report_seed import G, H, iso, seed

K = 3_000_000_000_000_003
L = 4_000_000_000_000_004
E = 555_555_555_555_555_555
F = 666_666_666_666_666_666
NOW = datetime(2026, 12, 1, tzinfo=UTC)
REGIONS = {G: "Oslo", H: "Rogaland", K: "Göteborg"}


async def _small_guild(db: Database, guild: int, people: list[tuple[int, str]]) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO guild_settings (guild_id, language, timezone, created_at, updated_at) "
            "VALUES (?, 'sv', 'Europe/Stockholm', ?, ?)",
            (guild, iso("2026-01-01T00:00:00"), iso("2026-01-01T00:00:00")),
        )
        for user, sector in people:
            await conn.execute(
                "INSERT INTO profiles (guild_id, user_id, display_name, organisation, sector, "
                "created_at, updated_at) VALUES (?, ?, 'Namn Namnsson', 'Org', ?, ?, ?)",
                (guild, user, sector, iso("2026-06-01T10:00:00"), iso("2026-06-01T10:00:00")),
            )
        cur = await conn.execute(
            "INSERT INTO meetings (guild_id, title, starts_at, ends_at, timezone, status, "
            "created_by, created_at, updated_at) "
            "VALUES (?, 'Frukost', ?, ?, 'Europe/Stockholm', 'scheduled', ?, ?, ?)",
            (
                guild,
                iso("2026-07-02T07:00:00"),
                iso("2026-07-02T09:00:00"),
                people[0][0],
                iso("2026-06-01T00:00:00"),
                iso("2026-06-01T00:00:00"),
            ),
        )
        meeting = cur.lastrowid
        for seq, (user, _) in enumerate(people):
            await conn.execute(
                "INSERT INTO rsvps (meeting_id, guild_id, user_id, status, seq, answered_at, "
                "updated_at) VALUES (?, ?, ?, 'going', ?, ?, ?)",
                (meeting, guild, user, seq, iso("2026-06-20T00:00:00"), iso("2026-06-20T00:00:00")),
            )
        cur = await conn.execute(
            "INSERT INTO match_rounds (guild_id, kind, seed, people, groups, cross_sector, "
            "score, created_by, created_at) VALUES (?, 'pairs', 0, 2, 1, 1, 0, ?, ?)",
            (guild, people[0][0], iso("2026-07-03T12:00:00")),
        )
        round_id = cur.lastrowid
        cur = await conn.execute(
            "INSERT INTO match_groups (round_id, guild_id, position, score, reasons, "
            "thread_id, delivered) VALUES (?, ?, 0, 0, '[]', NULL, 1)",
            (round_id, guild),
        )
        group = cur.lastrowid
        for user, sector in people[:2]:
            await conn.execute(
                "INSERT INTO match_members (group_id, guild_id, user_id, sector, met) "
                "VALUES (?, ?, ?, ?, NULL)",
                (group, guild, user, sector),
            )


async def seed_national(db: Database) -> None:
    await seed(db)
    await _small_guild(db, K, [(E, "business"), (F, "public_sector")])
    await _small_guild(db, L, [(E + i, "business") for i in range(5)])
    repo = GuildSettingsRepository(db)
    for guild, region in REGIONS.items():
        await repo.set_national_report(guild, True, region, NOW)
    await repo.set_national_report(L, True, "Bergen", NOW)
    await repo.set_national_report(L, False, "Bergen", NOW)  # opted out again
