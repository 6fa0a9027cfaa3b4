"""Partner searches: drafts, posted cards, interested people and their threads, opt-outs.

SQL only, parameters only. Every query filters by guild (or by a row id whose guild the
caller checks). Lists of taxonomy keys are stored as JSON.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.db import Database
from bot.domain.moments import from_stored, from_stored_or_none, stored
from bot.storage.rows import Repository, from_row

OPEN = "open"
CLOSED = ("found", "withdrawn", "expired")

_SEARCH = (
    "id, guild_id, user_id, title, description, brings, sectors, target_groups, themes, "
    "deadline, status, created_at, posted_at, expires_at, closed_at, channel_id, message_id, "
    "card_synced"
)
_INTEREST = (
    "id, search_id, guild_id, user_id, created_at, thread_id, thread_at, opened_at, "
    "followup_claimed_at, followup_done, answer"
)


@dataclass(frozen=True, slots=True)
class Search:
    id: int
    guild_id: int
    user_id: int
    title: str
    description: str
    brings: str
    sectors: tuple[str, ...]
    target_groups: tuple[str, ...]
    themes: tuple[str, ...]
    deadline: date | None
    status: str  # draft, open, found, withdrawn, expired
    created_at: datetime
    posted_at: datetime | None
    expires_at: datetime | None
    closed_at: datetime | None
    channel_id: int | None
    message_id: int | None
    card_synced: bool

    @property
    def interests(self) -> tuple[str, ...]:
        return self.target_groups + self.themes


@dataclass(frozen=True, slots=True)
class Interest:
    id: int
    search_id: int
    guild_id: int
    user_id: int
    created_at: datetime
    thread_id: int | None
    thread_at: datetime | None
    opened_at: datetime | None
    followup_claimed_at: datetime | None
    followup_done: int
    answer: str | None


def _search(r: sqlite3.Row) -> Search:
    return from_row(
        Search,
        r,
        sectors=tuple(json.loads(r["sectors"])),
        target_groups=tuple(json.loads(r["target_groups"])),
        themes=tuple(json.loads(r["themes"])),
        deadline=date.fromisoformat(r["deadline"]) if r["deadline"] else None,
        created_at=from_stored(r["created_at"]),
        posted_at=from_stored_or_none(r["posted_at"]),
        expires_at=from_stored_or_none(r["expires_at"]),
        closed_at=from_stored_or_none(r["closed_at"]),
        card_synced=bool(r["card_synced"]),
    )


def _interest(r: sqlite3.Row) -> Interest:
    return from_row(
        Interest,
        r,
        created_at=from_stored(r["created_at"]),
        thread_at=from_stored_or_none(r["thread_at"]),
        opened_at=from_stored_or_none(r["opened_at"]),
        followup_claimed_at=from_stored_or_none(r["followup_claimed_at"]),
    )


async def members_of_interest(db: Database, guild_id: int, interest_id: int) -> list[int]:
    """The poster and the interested person of one partner-search thread (for the
    collaboration form); [] when unknown in this server."""
    row = await db.fetchone(
        "SELECT s.user_id AS poster, i.user_id AS interested FROM partner_interests i "
        "JOIN partner_searches s ON s.id = i.search_id WHERE i.id = ? AND i.guild_id = ?",
        (interest_id, guild_id),
    )
    if row is None:
        return []
    return [int(row["poster"]), int(row["interested"])]


class PartnerRepository(Repository):
    # ----- searches ------------------------------------------------------------------

    async def create_draft(
        self,
        guild_id: int,
        user_id: int,
        *,
        title: str,
        description: str,
        brings: str,
        deadline: date | None,
        now: datetime,
    ) -> Search:
        search_id = await self.db.insert(
            "INSERT INTO partner_searches (guild_id, user_id, title, description, brings, "
            "deadline, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                guild_id,
                user_id,
                title,
                description,
                brings,
                deadline.isoformat() if deadline else None,
                stored(now),
            ),
        )
        found = await self.get(guild_id, search_id)
        assert found is not None
        return found

    async def get(self, guild_id: int, search_id: int) -> Search | None:
        return await self.read_one(
            _search,
            f"SELECT {_SEARCH} FROM partner_searches WHERE guild_id = ? AND id = ?",  # noqa: S608
            (guild_id, search_id),
        )

    async def set_choice(
        self, guild_id: int, search_id: int, part: str, keys: Sequence[str]
    ) -> None:
        """The wanted sectors, target groups or themes of a draft."""
        column = {"sector": "sectors", "target_group": "target_groups", "theme": "themes"}[part]
        await self.db.execute(
            f"UPDATE partner_searches SET {column} = ? "  # noqa: S608 (a fixed column name)
            "WHERE guild_id = ? AND id = ? AND status = 'draft'",
            (json.dumps(list(keys)), guild_id, search_id),
        )

    async def open(
        self, guild_id: int, search_id: int, channel_id: int, now: datetime, expires_at: datetime
    ) -> bool:
        """Draft → open, in the channel its card goes to. False if it was not a draft."""
        return await self.db.execute_one(
            "UPDATE partner_searches SET status = 'open', posted_at = ?, expires_at = ?, "
            "channel_id = ? WHERE guild_id = ? AND id = ? AND status = 'draft'",
            (stored(now), stored(expires_at), channel_id, guild_id, search_id),
        )

    async def set_card(self, search_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE partner_searches SET message_id = ? WHERE id = ?", (message_id, search_id)
        )

    async def unposted(self) -> list[Search]:
        """Searches that are past the draft but whose card is not stored (a crash, a
        refused post): the card is looked for or posted again."""
        return await self.read_all(
            _search,
            f"SELECT {_SEARCH} FROM partner_searches "  # noqa: S608
            "WHERE status <> 'draft' AND channel_id IS NOT NULL AND message_id IS NULL "
            "ORDER BY id",
        )

    async def close(self, guild_id: int, search_id: int, status: str, now: datetime) -> bool:
        """Open → found / withdrawn / expired (card to be edited). False if not open."""
        if status not in CLOSED:
            raise ValueError(status)
        return await self.db.execute_one(
            "UPDATE partner_searches SET status = ?, closed_at = ?, card_synced = 0 "
            "WHERE guild_id = ? AND id = ? AND status = 'open'",
            (status, stored(now), guild_id, search_id),
        )

    async def expire_due(self, now: datetime) -> int:
        """Every open search whose time ran out becomes expired. Returns how many."""
        stamp = stored(now)
        return await self.db.execute(
            "UPDATE partner_searches SET status = 'expired', closed_at = ?, card_synced = 0 "
            "WHERE status = 'open' AND expires_at IS NOT NULL AND expires_at <= ?",
            (stamp, stamp),
        )

    async def unsynced_cards(self) -> list[Search]:
        return await self.read_all(
            _search,
            f"SELECT {_SEARCH} FROM partner_searches "  # noqa: S608
            "WHERE card_synced = 0 AND message_id IS NOT NULL ORDER BY id",
        )

    async def card_synced(self, search_id: int, status: str) -> None:
        """The card shows `status` now (unless the status changed again meanwhile)."""
        await self.db.execute(
            "UPDATE partner_searches SET card_synced = 1 WHERE id = ? AND status = ?",
            (search_id, status),
        )

    async def card_ids(self, guild_id: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT message_id FROM partner_searches WHERE guild_id = ? AND message_id IS NOT NULL",
            (guild_id,),
        )
        return {int(r[0]) for r in rows}

    # ----- interested people ------------------------------------------------------------

    async def add_interest(
        self, guild_id: int, search_id: int, user_id: int, now: datetime
    ) -> tuple[Interest, bool]:
        """The person's interest in the search (one per person); True if new."""
        new = await self.db.execute_one(
            "INSERT INTO partner_interests (search_id, guild_id, user_id, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (search_id, user_id) DO NOTHING",
            (search_id, guild_id, user_id, stored(now)),
        )
        row = await self.db.fetchone(
            f"SELECT {_INTEREST} FROM partner_interests "  # noqa: S608
            "WHERE guild_id = ? AND search_id = ? AND user_id = ?",
            (guild_id, search_id, user_id),
        )
        assert row is not None
        return _interest(row), new

    async def interest(self, interest_id: int) -> Interest | None:
        return await self.read_one(
            _interest,
            f"SELECT {_INTEREST} FROM partner_interests WHERE id = ?",  # noqa: S608
            (interest_id,),
        )

    async def interests(self, guild_id: int, search_id: int) -> list[Interest]:
        return await self.read_all(
            _interest,
            f"SELECT {_INTEREST} FROM partner_interests "  # noqa: S608
            "WHERE guild_id = ? AND search_id = ? ORDER BY id",
            (guild_id, search_id),
        )

    async def set_thread(self, interest_id: int, thread_id: int, now: datetime) -> None:
        """Stored as soon as the thread exists (a restart reuses it)."""
        await self.db.execute(
            "UPDATE partner_interests SET thread_id = ?, thread_at = COALESCE(thread_at, ?) "
            "WHERE id = ?",
            (thread_id, stored(now), interest_id),
        )

    async def set_opened(self, interest_id: int, now: datetime) -> None:
        await self.db.execute(
            "UPDATE partner_interests SET opened_at = ? WHERE id = ? AND opened_at IS NULL",
            (stored(now), interest_id),
        )

    async def unopened(self) -> list[Interest]:
        """Interests whose thread or first message is missing (a crash or a refusal)."""
        return await self.read_all(
            _interest,
            f"SELECT {_INTEREST} FROM partner_interests "  # noqa: S608
            "WHERE opened_at IS NULL ORDER BY id",
        )

    async def thread_ids(self, guild_id: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT thread_id FROM partner_interests WHERE guild_id = ? AND thread_id IS NOT NULL",
            (guild_id,),
        )
        return {int(r[0]) for r in rows}

    # ----- the 30-day question ------------------------------------------------------------

    async def due_followups(self, opened_before: datetime) -> list[Interest]:
        return await self.read_all(
            _interest,
            f"SELECT {_INTEREST} FROM partner_interests "  # noqa: S608
            "WHERE followup_done = 0 AND followup_claimed_at IS NULL AND opened_at IS NOT NULL "
            "AND thread_id IS NOT NULL AND thread_at <= ? ORDER BY id",
            (stored(opened_before),),
        )

    async def claimed_followups(self) -> list[Interest]:
        """Claimed and not done: the try was cut off (a crash, a refused post)."""
        return await self.read_all(
            _interest,
            f"SELECT {_INTEREST} FROM partner_interests "  # noqa: S608
            "WHERE followup_done = 0 AND followup_claimed_at IS NOT NULL ORDER BY id",
        )

    async def claim_followup(self, interest_id: int, now: datetime) -> bool:
        """Written down before the question is sent; True for the one caller that claims."""
        return await self.db.execute_one(
            "UPDATE partner_interests SET followup_claimed_at = ? "
            "WHERE id = ? AND followup_claimed_at IS NULL AND followup_done = 0",
            (stored(now), interest_id),
        )

    async def followup_done(self, interest_id: int, asked: bool) -> None:
        await self.db.execute(
            "UPDATE partner_interests SET followup_done = ? WHERE id = ?",
            (1 if asked else 2, interest_id),
        )

    async def record_answer(
        self, interest_id: int, user_id: int, answer: str, now: datetime
    ) -> Interest | None:
        """The answer of the poster or the interested person; None for anyone else."""
        changed = await self.db.execute_one(
            "UPDATE partner_interests SET answer = ?, answered_at = ? WHERE id = ? AND "
            "(user_id = ? OR search_id IN (SELECT id FROM partner_searches WHERE user_id = ?))",
            (answer, stored(now), interest_id, user_id, user_id),
        )
        return await self.interest(interest_id) if changed else None

    # ----- who may be suggested -----------------------------------------------------------

    async def opted_out(self, guild_id: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM partner_prefs WHERE guild_id = ? AND suggest = 0", (guild_id,)
        )
        return {int(r[0]) for r in rows}

    async def suggestable(self, guild_id: int, user_id: int) -> bool:
        value = await self.db.fetchval(
            "SELECT suggest FROM partner_prefs WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return value is None or bool(value)

    async def set_suggestable(self, guild_id: int, user_id: int, suggest: bool) -> None:
        await self.db.execute(
            "INSERT INTO partner_prefs (guild_id, user_id, suggest) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id, user_id) DO UPDATE SET suggest = excluded.suggest",
            (guild_id, user_id, int(suggest)),
        )
