"""The national view from a real SQLite file: a row per opted-in server and the total."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.db import Database
from bot.domain.national import NationalRow
from bot.domain.stats import UNKNOWN_SECTOR
from bot.services.reports import build_national
from bot.storage.guilds import GuildSettingsRepository
from tests.storage.national_seed import NOW, K, L, seed_national
from tests.storage.report_seed import G


async def test_rows_and_total_for_three_servers_leave_out_one_not_opted_in(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "n.db")
    try:
        await seed_national(db)
        national = await build_national(db, NOW, date(2026, 1, 1), date(2026, 11, 30))
    finally:
        await db.close()
    view = national.view
    assert [r.region for r in view.rows] == ["Göteborg", "Oslo", "Rogaland"]
    rows = {r.region: r for r in view.rows}
    oslo, rogaland, goteborg = rows["Oslo"], rows["Rogaland"], rows["Göteborg"]

    def numbers(r: NationalRow) -> tuple[int, ...]:
        return (r.meetings, r.participants, r.new_participants, r.new_contacts, r.rounds)

    assert numbers(oslo) == (2, 4, 3, 3, 2) and oslo.introductions == 2
    assert dict(oslo.by_sector) == {
        "business": 1,
        "civil_society": 1,
        "public_sector": 1,
        UNKNOWN_SECTOR: 1,
    }
    assert numbers(rogaland) == (1, 1, 1, 1, 1) and dict(rogaland.by_sector) == {"business": 1}
    assert numbers(goteborg) == (1, 2, 2, 1, 1) and goteborg.introductions == 2
    assert numbers(view.total) == (4, 7, 6, 5, 4) and view.total.introductions == 5
    assert dict(view.total.by_sector) == {
        "business": 3,
        "civil_society": 1,
        "public_sector": 2,
        UNKNOWN_SECTOR: 1,
    }
    assert (national.first, national.last) == (date(2026, 1, 1), date(2026, 11, 30))


async def test_opt_in_is_off_by_default_and_keeps_other_settings(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "o.db")
    try:
        repo = GuildSettingsRepository(db)
        assert not (await repo.get(K)).national_report
        saved = await repo.set_national_report(K, True, "Göteborg", NOW)
        assert (saved.stored, saved.national_report, saved.region_name) == (
            True,
            True,
            "Göteborg",
        )
        await repo.save(saved.with_changes(language="sv"), NOW)
        again = await repo.get(K)
        assert (again.language, again.national_report, again.region_name) == (
            "sv",
            True,
            "Göteborg",
        )
        assert [g.guild_id for g in await repo.national_report_guilds()] == [K]
        await repo.set_national_report(K, False, "Göteborg", NOW)
        assert await repo.national_report_guilds() == []
        assert not (await repo.get(L)).stored and not (await repo.get(G)).national_report
    finally:
        await db.close()
