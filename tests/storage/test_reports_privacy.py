"""Report facts from SQL, and privacy: export, deletion, retention, the leave grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db import Database
from bot.domain.stats import Report, ReportRequest
from bot.storage.checkins import CheckinRepository
from bot.storage.privacy import PrivacyRepository, PrivacySettings
from bot.storage.reports import ReportRepository
from tests.storage.report_seed import CARD_CHANNEL, CARD_MESSAGE, END, START, A, B, C, D, G, H, seed

REQUEST = ReportRequest(START, END, "Europe/Oslo")


async def _report(db: Database, guild: int = G, request: ReportRequest = REQUEST) -> Report:
    return await ReportRepository(db).report(guild, request)


async def test_report_numbers_equal_hand_computed_ones(db: Database) -> None:
    ids = await seed(db)
    report = await _report(db)
    rows = {row.meeting_id: row for row in report.meetings}
    assert list(rows) == [ids["m1"], ids["m2"], ids["m3"]]  # m0 is before the range
    m1, m2, m3 = rows[ids["m1"]], rows[ids["m2"]], rows[ids["m3"]]
    assert (m1.going, m1.maybe, m1.not_going, m1.waitlist) == (2, 1, 1, 0)
    assert m1.attended is None and dict(m1.by_sector) == {"business": 1, "civil_society": 1}
    assert (m1.new_participants, m1.returning_participants) == (2, 0)
    assert (m2.going, m2.waitlist, m2.attended) == (2, 1, 2)
    assert dict(m2.by_sector) == {"public_sector": 1, "unknown": 1}  # checked in: C and D
    assert (m2.new_participants, m2.returning_participants) == (1, 1)  # D new, C came to m0
    assert m3.status == "cancelled" and m3.participants == 0 and m3.going == 1
    t = report.totals
    assert (t.meetings, t.cancelled_meetings, t.unique_participants) == (2, 1, 4)
    assert (t.new_participants, t.participated_before, t.answers, t.attended) == (3, 1, 8, 2)
    assert (t.rounds, t.pairs, t.tables, t.matched_people) == (2, 1, 1, 3)
    assert t.cross_sector_share == 1.0 and t.met_share == 0.75
    assert t.unique_cross_sector_contacts == 3 and t.contacts_per_participant == 2.0
    assert (t.introductions_in_range, t.introductions_before) == (2, 1)


async def test_a_server_sees_only_its_own_data(db: Database) -> None:
    ids = await seed(db)
    other = await _report(db, H)
    assert [row.meeting_id for row in other.meetings] == [ids["h1"]]
    assert other.totals.answers == 1 and other.totals.rounds == 1
    assert other.totals.introductions_in_range == 1
    facts = await ReportRepository(db).facts(G, END)
    assert ids["h1"] not in {m.meeting_id for m in facts.meetings}
    assert all(g.round_id != ids["rh"] for g in facts.groups)
    assert len(facts.intros) == 3


async def test_checkin_record_replaces_the_set(db: Database) -> None:
    ids = await seed(db)
    repo = CheckinRepository(db)
    now = datetime(2026, 5, 7, 9, tzinfo=UTC)
    first = await repo.record(G, ids["m1"], [A, B, A], checked_by=C, now=now)
    assert [c.user_id for c in first] == [A, B]
    later = await repo.record(G, ids["m1"], [B, D], checked_by=D, now=now + timedelta(hours=1))
    assert [(c.user_id, c.checked_by) for c in later] == [(B, C), (D, D)]  # B keeps the first
    assert await repo.user_ids(ids["m1"]) == {B, D}
    assert await repo.record(G, ids["m1"], [], checked_by=C, now=now) == []
    with pytest.raises(ValueError):
        await repo.record(H, ids["m1"], [A], checked_by=C, now=now)  # not H's meeting
    report = await _report(db)
    m1 = next(r for r in report.meetings if r.meeting_id == ids["m1"])
    assert m1.attended is None  # the check-in was emptied again


async def _tables(db: Database) -> list[tuple[str, list[str]]]:
    names = [
        r[0]
        for r in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return [(n, [c[1] for c in await db.fetchall(f"PRAGMA table_info({n})")]) for n in names]


async def _find(db: Database, guild: int, user: int) -> dict[tuple[str, str], int]:
    """(table, column) → rows of `guild` whose column holds the user's id (as number or text)."""
    found: dict[tuple[str, str], int] = {}
    for table, columns in await _tables(db):
        scope = " AND guild_id = ?" if "guild_id" in columns else ""
        for column in columns:
            params: tuple[object, ...] = (user, f"%{user}%") + ((guild,) if scope else ())
            count = await db.fetchval(
                f'SELECT COUNT(*) FROM "{table}" WHERE ("{column}" = ? '
                f'OR CAST("{column}" AS TEXT) LIKE ?){scope}',
                params,
            )
            if count:
                found[(table, column)] = int(count)
    return found


# Where each kind of row about a member shows up in the export.
EXPORT_PART = {
    ("profiles", "user_id"): "profile",
    ("rsvps", "user_id"): "answers",
    ("checkins", "user_id"): "checkins",
    ("checkins", "checked_by"): "checkins_recorded",
    ("notices", "user_id"): "notices",
    ("match_members", "user_id"): "matches",
    ("match_groups", "reasons"): "matches",
    ("reminder_optouts", "user_id"): "reminder_optout",
    ("deliveries", "recipient_id"): "deliveries",
    ("deliveries", "key"): "deliveries",
    ("departures", "user_id"): "departure",
    ("meetings", "created_by"): "meetings_created",
    ("series", "created_by"): "series_created",
    ("match_rounds", "created_by"): "match_rounds_created",
    ("match_settings", "rhythm_set_by"): "match_rhythm_set",
    ("privacy_log", "actor_id"): "privacy_actions",
}


async def test_export_contains_every_row_about_the_member(db: Database) -> None:
    ids = await seed(db)
    repo = PrivacyRepository(db)
    await repo.mark_departed(G, A, datetime(2026, 11, 1, tzinfo=UTC))
    await repo.delete(G, B, datetime(2026, 11, 2, tzinfo=UTC), actor_id=A)  # A acted once
    found = await _find(db, G, A)
    unknown = set(found) - set(EXPORT_PART)
    assert not unknown, f"rows about the member that the export does not cover: {unknown}"
    export = await repo.export(G, A)
    data = export["data"]
    counts = repo.summarise(export)
    for (table, column), n in found.items():
        part = EXPORT_PART[(table, column)]
        if (table, column) == ("checkins", "checked_by"):
            assert data[part] == [ids["m2"]]
        elif column in ("reasons", "key"):
            assert counts[part] >= 1
        else:
            assert counts[part] == n, (table, column)
    assert data["profile"]["sector"] == "business" and data["profile"]["user_id"] == A
    assert {a["meeting_id"] for a in data["answers"]} == {ids["m1"], ids["m2"], ids["m3"]}
    assert ids["h1"] not in {a["meeting_id"] for a in data["answers"]}  # only this server
    assert data["matches"][1]["group_sectors"].count(",") == 2  # sectors, not other people
    assert str(B) not in str(data["matches"])


async def test_after_delete_nothing_but_anonymous_aggregates_remains(db: Database) -> None:
    ids = await seed(db)
    before = await _report(db)
    repo = PrivacyRepository(db)
    result = await repo.delete(G, A, datetime(2026, 11, 23, tzinfo=UTC), actor_id=A)
    assert result.found
    assert result.cards == ((CARD_CHANNEL, CARD_MESSAGE),)
    assert set(result.threads) == {9001, 9002}
    assert await _find(db, G, A) == {}
    # Other people's data and A's data in the other server stay.
    assert await _find(db, G, B) and await _find(db, H, A)
    log = await db.fetchall("SELECT action, actor_id FROM privacy_log WHERE guild_id = ?", (G,))
    assert [tuple(r) for r in log] == [("delete_self", None)]
    # The counts stay, as anonymous numbers.
    after = await _report(db)
    assert after.totals.answers == before.totals.answers
    assert after.totals.participations == before.totals.participations
    assert after.totals.introductions_in_range == before.totals.introductions_in_range
    assert after.totals.rounds == before.totals.rounds
    assert after.totals.unique_participants == before.totals.unique_participants - 1
    m1 = next(r for r in after.meetings if r.meeting_id == ids["m1"])
    assert dict(m1.by_sector) == {"business": 1, "civil_society": 1}
    assert m1.anonymous_participants == 1
    sectors = await db.fetchall(
        "SELECT sector FROM match_members WHERE guild_id = ? AND user_id IS NULL", (G,)
    )
    assert sorted(r[0] for r in sectors) == ["business", "business"]
    # A second deletion finds nothing, and an organiser's deletion is logged with their id.
    assert not (await repo.delete(G, A, datetime(2026, 11, 24, tzinfo=UTC), actor_id=A)).found
    await repo.delete(G, C, datetime(2026, 11, 24, tzinfo=UTC), actor_id=B)
    log = await db.fetchall("SELECT action, actor_id FROM privacy_log WHERE guild_id = ?", (G,))
    assert ("delete_member", B) in [tuple(r) for r in log]


async def test_retention_deletes_exactly_what_is_older_than_the_limit(db: Database) -> None:
    ids = await seed(db)
    repo = PrivacyRepository(db)
    await repo.save_settings(PrivacySettings(G, retention_months=12))
    # now − 12 months = 2025-11-23 for G: m0 (2025-09) is older, m1 … are not.
    # Round r1 is 2026-03-06: give G an older round and an older delivery too.
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO match_rounds (guild_id, kind, seed, people, groups, cross_sector, "
            "score, created_at) VALUES (?, 'pairs', 0, 0, 0, 0, 0, ?)",
            (G, datetime(2025, 11, 22, tzinfo=UTC).isoformat()),
        )
        await conn.execute(
            "INSERT INTO deliveries (guild_id, key, kind, meeting_id, due_at, status) "
            "VALUES (?, 'old', 'channel_reminder', ?, ?, 'sent')",
            (G, ids["m0"], datetime(2025, 11, 22, 23, 59, tzinfo=UTC).isoformat()),
        )
        # H keeps the default 24 months: its 2025 round stays.
        await conn.execute(
            "INSERT INTO match_rounds (guild_id, kind, seed, people, groups, cross_sector, "
            "score, created_at) VALUES (?, 'pairs', 0, 0, 0, 0, 0, ?)",
            (H, datetime(2025, 1, 22, tzinfo=UTC).isoformat()),
        )
    counts_before = {
        t: await db.fetchval(f"SELECT COUNT(*) FROM {t}")
        for t in ("rsvps", "match_rounds", "deliveries", "meetings")
    }
    result = await repo.retention_sweep(datetime(2026, 11, 23, tzinfo=UTC))
    assert (result.answers, result.rounds, result.deliveries) == (1, 1, 1)
    assert await db.fetchval("SELECT COUNT(*) FROM rsvps WHERE meeting_id = ?", (ids["m0"],)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM rsvps") == counts_before["rsvps"] - 1
    assert (
        await db.fetchval("SELECT COUNT(*) FROM match_rounds") == counts_before["match_rounds"] - 1
    )
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries") == counts_before["deliveries"] - 1
    assert await db.fetchval("SELECT COUNT(*) FROM meetings") == counts_before["meetings"]
    assert await db.fetchval("SELECT COUNT(*) FROM match_rounds WHERE guild_id = ?", (H,)) == 2
    again = await repo.retention_sweep(datetime(2026, 11, 23, tzinfo=UTC))
    assert again.total == 0


async def test_leaving_and_rejoining_within_the_grace_period_keeps_the_data(db: Database) -> None:
    await seed(db)
    repo = PrivacyRepository(db)
    left = datetime(2026, 11, 1, tzinfo=UTC)
    assert A in await repo.people(G) and D in await repo.people(G)
    assert await repo.mark_departed(G, A, left)
    assert not await repo.mark_departed(G, A, left + timedelta(days=5))  # first date counts
    assert await repo.departed_due(left + timedelta(days=29)) == []
    assert await repo.clear_departed(G, A)  # back within the grace period
    assert await repo.departed_due(left + timedelta(days=60)) == []
    assert await db.fetchval("SELECT COUNT(*) FROM profiles WHERE user_id = ?", (A,)) == 2
    # Gone for good: due after the grace period (shorter in G).
    await repo.save_settings(PrivacySettings(G, leave_grace_days=7))
    await repo.mark_departed(G, A, left)
    await repo.mark_departed(H, A, left)
    due = await repo.departed_due(left + timedelta(days=8))
    assert [(d.guild_id, d.user_id) for d in due] == [(G, A)]
    assert len(await repo.departed_due(left + timedelta(days=30))) == 2
