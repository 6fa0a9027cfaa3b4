"""`/privacy show`'s data: every row about a member in one server, as JSON-ready data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.db import Database
from bot.storage.collaborations import CollaborationRepository


async def _ids(db: Database, sql: str, guild_id: int, user_id: int) -> list[int]:
    return [int(r[0]) for r in await db.fetchall(sql, (guild_id, user_id))]


def _rows(rows: Sequence[aiosqlite.Row]) -> list[dict[str, Any]]:
    return [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]


async def export_member(db: Database, guild_id: int, user_id: int) -> dict[str, Any]:
    """Every row about the member in this server, as JSON-ready data.

    Other people's ids are left out (a match lists the member's own row and the
    group's sectors, not who else was in it).
    """
    g, u = guild_id, user_id
    fetch = db.fetchall
    profile = _rows(
        await fetch("SELECT * FROM profiles WHERE guild_id = ? AND user_id = ?", (g, u))
    )
    data: dict[str, Any] = {
        "profile": profile[0] if profile else None,
        "answers": _rows(
            await fetch(
                "SELECT r.meeting_id, m.title AS meeting_title, "
                "m.starts_at AS meeting_starts_at, r.status, r.seq, r.answered_at, "
                "r.updated_at FROM rsvps r "
                "JOIN meetings m ON m.id = r.meeting_id "
                "WHERE r.guild_id = ? AND r.user_id = ? ORDER BY m.starts_at, r.meeting_id",
                (g, u),
            )
        ),
        "checkins": _rows(
            await fetch(
                "SELECT c.meeting_id, m.title AS meeting_title, c.checked_at FROM checkins c "
                "JOIN meetings m ON m.id = c.meeting_id "
                "WHERE c.guild_id = ? AND c.user_id = ? ORDER BY c.checked_at",
                (g, u),
            )
        ),
        "notices": _rows(
            await fetch(
                "SELECT kind, meeting_id, created_at FROM notices "
                "WHERE guild_id = ? AND user_id = ? ORDER BY created_at",
                (g, u),
            )
        ),
        "matches": _rows(
            await fetch(
                "SELECT r.id AS round_id, r.kind, r.created_at AS round_at, g.id AS group_id, "
                "g.thread_id, mm.sector, mm.met, mm.answered_at, "
                "(SELECT group_concat(o.sector, ',') FROM match_members o "
                " WHERE o.group_id = g.id) AS group_sectors "
                "FROM match_members mm JOIN match_groups g ON g.id = mm.group_id "
                "JOIN match_rounds r ON r.id = g.round_id "
                "WHERE mm.guild_id = ? AND mm.user_id = ? ORDER BY r.created_at, r.id",
                (g, u),
            )
        ),
        "partner_searches": _rows(
            await fetch(
                "SELECT id, title, description, brings, sectors, target_groups, themes, "
                "deadline, status, created_at, posted_at, expires_at, closed_at "
                "FROM partner_searches WHERE guild_id = ? AND user_id = ? ORDER BY id",
                (g, u),
            )
        ),
        "partner_interests": _rows(
            await fetch(
                "SELECT search_id, created_at, thread_id, answer, answered_at "
                "FROM partner_interests WHERE guild_id = ? AND user_id = ? ORDER BY id",
                (g, u),
            )
        ),
        "partner_settings": _rows(
            await fetch(
                "SELECT suggest FROM partner_prefs WHERE guild_id = ? AND user_id = ?", (g, u)
            )
        ),
        "collaborations": await CollaborationRepository(db).export(g, u),
        "proposals": _rows(
            await fetch(
                "SELECT p.id, p.meeting_id, m.title AS meeting_title, p.title, p.summary, "
                "p.kind, p.sector, p.status, p.slot, p.created_at, p.updated_at "
                "FROM proposals p JOIN meetings m ON m.id = p.meeting_id "
                "WHERE p.guild_id = ? AND p.user_id = ? ORDER BY p.id",
                (g, u),
            )
        ),
        "reminder_optout": _rows(
            await fetch(
                "SELECT created_at FROM reminder_optouts WHERE guild_id = ? AND user_id = ?",
                (g, u),
            )
        ),
        "team_roles": _rows(
            await fetch(
                "SELECT role, organisation, created_at, updated_at FROM team_roles "
                "WHERE guild_id = ? AND user_id = ? ORDER BY created_at",
                (g, u),
            )
        ),
        "deliveries": _rows(
            await fetch(
                "SELECT kind, meeting_id, offset_key, due_at, status, done_at FROM deliveries "
                "WHERE guild_id = ? AND recipient_id = ? ORDER BY due_at",
                (g, u),
            )
        ),
        "departure": _rows(
            await fetch("SELECT left_at FROM departures WHERE guild_id = ? AND user_id = ?", (g, u))
        ),
        "meetings_created": await _ids(
            db, "SELECT id FROM meetings WHERE guild_id = ? AND created_by = ? ORDER BY id", g, u
        ),
        "series_created": await _ids(
            db, "SELECT id FROM series WHERE guild_id = ? AND created_by = ? ORDER BY id", g, u
        ),
        "match_rounds_created": await _ids(
            db,
            "SELECT id FROM match_rounds WHERE guild_id = ? AND created_by = ? ORDER BY id",
            g,
            u,
        ),
        "match_rhythm_set": await _ids(
            db,
            "SELECT guild_id FROM match_settings WHERE guild_id = ? AND rhythm_set_by = ?",
            g,
            u,
        ),
        "checkins_recorded": await _ids(
            db,
            "SELECT DISTINCT meeting_id FROM checkins WHERE guild_id = ? AND checked_by = ? "
            "ORDER BY meeting_id",
            g,
            u,
        ),
        "privacy_actions": _rows(
            await fetch(
                "SELECT action, at FROM privacy_log WHERE guild_id = ? AND actor_id = ? "
                "ORDER BY at",
                (g, u),
            )
        ),
    }
    return {"guild_id": g, "user_id": u, "data": data}
