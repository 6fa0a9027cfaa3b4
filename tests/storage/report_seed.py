"""A small hand-built data set for report and privacy tests (numbers worked out by hand).

Guild G (Europe/Oslo), people A, B, C with profiles and D without one:
* m0 2025-09-04 (before the range): C going.
* m1 2026-03-05: A going, B going, C maybe, D not going (no check-in).
* m2 2026-05-07: A going, C going, B waitlist; check-in C and D (recorded by A).
* m3 2026-06-04 cancelled: A going.
* round 1 (pairs, 2026-03-06): [A yes, B yes], thread 9001.
* round 2 (tables, 2026-05-08): [A yes, C planned, B —], thread 9002.
Guild H holds A's answer to its own meeting, a profile and a round: G never sees them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.db import Database

G = 1_000_000_000_000_001
H = 2_000_000_000_000_002
A = 111_111_111_111_111_111
B = 222_222_222_222_222_222
C = 333_333_333_333_333_333
D = 444_444_444_444_444_444
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
CARD_CHANNEL, CARD_MESSAGE = 7001, 7002


def iso(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


async def seed(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with db.transaction() as conn:

        async def insert(sql: str, params: tuple[object, ...]) -> int:
            cur = await conn.execute(sql, params)
            return int(cur.lastrowid or 0)

        for guild in (G, H):
            await insert(
                "INSERT INTO guild_settings (guild_id, timezone, created_at, updated_at) "
                "VALUES (?, 'Europe/Oslo', ?, ?)",
                (guild, iso("2025-01-01T00:00:00"), iso("2025-01-01T00:00:00")),
            )
        for user, sector, created, guild in (
            (A, "business", "2026-01-10T10:00:00", G),
            (B, "civil_society", "2026-02-05T10:00:00", G),
            (C, "public_sector", "2025-06-01T10:00:00", G),
            (A, "business", "2026-02-01T10:00:00", H),
        ):
            await insert(
                "INSERT INTO profiles (guild_id, user_id, display_name, organisation, sector, "
                "card_channel_id, card_message_id, created_at, updated_at) "
                "VALUES (?, ?, ?, 'Org', ?, ?, ?, ?, ?)",
                (
                    guild,
                    user,
                    f"Person {user % 10}",
                    sector,
                    CARD_CHANNEL if user == A and guild == G else None,
                    CARD_MESSAGE if user == A and guild == G else None,
                    iso(created),
                    iso(created),
                ),
            )
        for name, guild, start, status, creator in (
            ("m0", G, "2025-09-04T07:00:00", "scheduled", B),
            ("m1", G, "2026-03-05T07:00:00", "scheduled", A),
            ("m2", G, "2026-05-07T07:00:00", "scheduled", A),
            ("m3", G, "2026-06-04T07:00:00", "cancelled", B),
            ("h1", H, "2026-04-01T07:00:00", "scheduled", A),
        ):
            ids[name] = await insert(
                "INSERT INTO meetings (guild_id, title, starts_at, ends_at, timezone, status, "
                "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, 'Europe/Oslo', ?, ?, ?, ?)",
                (
                    guild,
                    f"Frokost {name}",
                    iso(start),
                    iso(start.replace("07:00", "09:00")),
                    status,
                    creator,
                    iso("2025-01-01T00:00:00"),
                    iso("2025-01-01T00:00:00"),
                ),
            )
        answers = (
            ("m0", C, "going"),
            ("m1", A, "going"),
            ("m1", B, "going"),
            ("m1", C, "maybe"),
            ("m1", D, "not_going"),
            ("m2", A, "going"),
            ("m2", C, "going"),
            ("m2", B, "waitlist"),
            ("m3", A, "going"),
            ("h1", A, "going"),
        )
        for seq, (meeting, user, status) in enumerate(answers):
            guild = H if meeting == "h1" else G
            await insert(
                "INSERT INTO rsvps (meeting_id, guild_id, user_id, status, seq, answered_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    ids[meeting],
                    guild,
                    user,
                    status,
                    seq,
                    iso("2025-08-01T00:00:00"),
                    iso("2025-08-01T00:00:00"),
                ),
            )
        for user in (C, D):
            await insert(
                "INSERT INTO checkins (guild_id, meeting_id, user_id, checked_by, checked_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (G, ids["m2"], user, A, iso("2026-05-07T08:00:00")),
            )
        await insert(
            "INSERT INTO notices (guild_id, kind, meeting_id, user_id, created_at) "
            "VALUES (?, 'promoted', ?, ?, ?)",
            (G, ids["m2"], A, iso("2026-05-01T00:00:00")),
        )
        await insert(
            "INSERT INTO notices (guild_id, kind, meeting_id, user_id, created_at) "
            "VALUES (?, 'cancelled', ?, 0, ?)",
            (G, ids["m3"], iso("2026-06-01T00:00:00")),
        )
        await insert(
            "INSERT INTO reminder_optouts (guild_id, user_id, created_at) VALUES (?, ?, ?)",
            (G, A, iso("2026-02-01T00:00:00")),
        )
        for key, recipient, due in (
            (f"dm_reminder:{ids['m2']}:d1:{A}", A, "2026-05-06T08:00:00"),
            (f"channel_reminder:{ids['m2']}:d7:0", 0, "2026-04-30T08:00:00"),
        ):
            await insert(
                "INSERT INTO deliveries (guild_id, key, kind, meeting_id, offset_key, "
                "recipient_id, due_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'sent')",
                (G, key, key.split(":")[0], ids["m2"], key.split(":")[2], recipient, iso(due)),
            )
        rounds = (
            (
                "r1",
                G,
                "pairs",
                "2026-03-06T12:00:00",
                9001,
                ((A, "business", "yes"), (B, "civil_society", "yes")),
            ),
            (
                "r2",
                G,
                "tables",
                "2026-05-08T12:00:00",
                9002,
                (
                    (A, "business", "yes"),
                    (C, "public_sector", "planned"),
                    (B, "civil_society", None),
                ),
            ),
            (
                "rh",
                H,
                "pairs",
                "2026-04-02T12:00:00",
                9003,
                ((A, "business", None), (C, "public_sector", None)),
            ),
        )
        for name, guild, kind, at, thread, members in rounds:
            ids[name] = await insert(
                "INSERT INTO match_rounds (guild_id, kind, seed, people, groups, cross_sector, "
                "score, created_by, created_at) VALUES (?, ?, 0, ?, 1, 1, 0, ?, ?)",
                (guild, kind, len(members), A, iso(at)),
            )
            reasons = json.dumps([{"code": "cross_sector", "people": [m[0] for m in members]}])
            group = await insert(
                "INSERT INTO match_groups (round_id, guild_id, position, score, reasons, "
                "thread_id, delivered) VALUES (?, ?, 0, 0, ?, ?, 1)",
                (ids[name], guild, reasons, thread),
            )
            for user, sector, met in members:
                await insert(
                    "INSERT INTO match_members (group_id, guild_id, user_id, sector, met, "
                    "answered_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (group, guild, user, sector, met, iso(at) if met else None),
                )
        ids["series"] = await insert(
            "INSERT INTO series (guild_id, rrule, dtstart_local, start_time, end_time, timezone, "
            "title_template, created_by, created_at, updated_at) "
            "VALUES (?, 'FREQ=MONTHLY;BYDAY=1TH', '2026-01-01', '08:00', '09:00', "
            "'Europe/Oslo', 'Frokost', ?, ?, ?)",
            (G, A, iso("2026-01-01T00:00:00"), iso("2026-01-01T00:00:00")),
        )
        await insert(
            "INSERT INTO match_settings (guild_id, rhythm, rhythm_anchor, rhythm_set_by) "
            "VALUES (?, 'every_2_weeks', ?, ?)",
            (G, iso("2026-01-01T00:00:00"), A),
        )
    return ids
