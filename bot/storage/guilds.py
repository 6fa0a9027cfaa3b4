"""Per-server settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.moments import from_stored, stored
from bot.i18n import DEFAULT_LANGUAGE
from bot.storage.rows import Repository, from_row

DEFAULT_TIMEZONE = "Europe/Oslo"


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    announce_channel_id: int | None = None
    intro_channel_id: int | None = None
    organiser_role_id: int | None = None
    language: str = DEFAULT_LANGUAGE
    timezone: str = DEFAULT_TIMEZONE
    stored: bool = False
    # When the server was first set up (None until it is stored).
    created_at: datetime | None = None
    # In `python -m bot report --all` (opt-in, `/setup national_report`), under this name.
    national_report: bool = False
    region_name: str | None = None
    # Where partner-search cards go (`/partner seek`); None: the introductions channel.
    partner_channel_id: int | None = None

    def with_changes(
        self,
        *,
        announce_channel_id: int | None = None,
        intro_channel_id: int | None = None,
        organiser_role_id: int | None = None,
        language: str | None = None,
        timezone: str | None = None,
        partner_channel_id: int | None = None,
    ) -> GuildSettings:
        """A copy with every given (non-None) field replaced."""
        return replace(
            self,
            announce_channel_id=announce_channel_id or self.announce_channel_id,
            intro_channel_id=intro_channel_id or self.intro_channel_id,
            organiser_role_id=organiser_role_id or self.organiser_role_id,
            language=language or self.language,
            timezone=timezone or self.timezone,
            partner_channel_id=partner_channel_id or self.partner_channel_id,
        )


class GuildSettingsRepository(Repository):
    async def get(self, guild_id: int) -> GuildSettings:
        """The stored settings, or the defaults (with `stored=False`) for a new server."""
        row = await self.db.fetchone(
            "SELECT guild_id, announce_channel_id, intro_channel_id, organiser_role_id, "
            "language, timezone, created_at, national_report, region_name, "
            "partner_channel_id FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return GuildSettings(guild_id=guild_id)
        return from_row(
            GuildSettings,
            row,
            stored=True,
            created_at=from_stored(row["created_at"]),
            national_report=bool(row["national_report"]),
        )

    async def save(self, settings: GuildSettings, now: datetime) -> GuildSettings:
        stamp = stored(now)
        await self.db.execute(
            "INSERT INTO guild_settings (guild_id, announce_channel_id, intro_channel_id, "
            "organiser_role_id, language, timezone, created_at, updated_at, "
            "partner_channel_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET "
            "announce_channel_id = excluded.announce_channel_id, "
            "intro_channel_id = excluded.intro_channel_id, "
            "organiser_role_id = excluded.organiser_role_id, "
            "language = excluded.language, timezone = excluded.timezone, "
            "updated_at = excluded.updated_at, "
            "partner_channel_id = excluded.partner_channel_id",
            (
                settings.guild_id,
                settings.announce_channel_id,
                settings.intro_channel_id,
                settings.organiser_role_id,
                settings.language,
                settings.timezone,
                stamp,
                stamp,
                settings.partner_channel_id,
            ),
        )
        return replace(settings, stored=True, created_at=settings.created_at or now)

    async def set_national_report(
        self, guild_id: int, enabled: bool, region_name: str, now: datetime
    ) -> GuildSettings:
        """Opt the server in or out of the national view, under `region_name`."""
        stamp = stored(now)
        await self.db.execute(
            "INSERT INTO guild_settings (guild_id, national_report, region_name, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET "
            "national_report = excluded.national_report, "
            "region_name = excluded.region_name, updated_at = excluded.updated_at",
            (guild_id, int(enabled), region_name, stamp, stamp),
        )
        return await self.get(guild_id)

    async def national_report_guilds(self) -> list[GuildSettings]:
        """The servers that opted in to the national view, by guild id."""
        rows = await self.db.fetchall(
            "SELECT guild_id FROM guild_settings WHERE national_report = 1 ORDER BY guild_id"
        )
        return [await self.get(int(r[0])) for r in rows]

    async def all_guild_ids(self) -> list[int]:
        rows = await self.db.fetchall("SELECT guild_id FROM guild_settings ORDER BY guild_id")
        return [int(r[0]) for r in rows]
