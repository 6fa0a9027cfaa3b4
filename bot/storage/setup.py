"""The guided start's facts: what a server stored, read in one place (`/setup start`,
`/setup show`), and the steps confirmed without a stored choice of their own."""

from __future__ import annotations

from datetime import datetime

from bot.domain.moments import stored
from bot.domain.setup_steps import SetupFacts
from bot.domain.team import PROJECT_LEAD
from bot.storage.rows import Repository

LANGUAGE_STEP = "language"


class SetupRepository(Repository):
    async def confirm(self, guild_id: int, step: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO setup_progress (guild_id, step, done_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id, step) DO NOTHING",
            (guild_id, step, stored(now)),
        )

    async def facts(self, guild_id: int) -> SetupFacts:
        settings = await self.db.fetchone(
            "SELECT announce_channel_id, intro_channel_id, organiser_role_id "
            "FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        confirmed = await self.db.fetchval(
            "SELECT COUNT(*) FROM setup_progress WHERE guild_id = ? AND step = ?",
            (guild_id, LANGUAGE_STEP),
        )
        series = await self.db.fetchval(
            "SELECT COUNT(*) FROM series WHERE guild_id = ? AND active = 1", (guild_id,)
        )
        announced = await self.db.fetchval(
            "SELECT COUNT(*) FROM meetings WHERE guild_id = ? AND series_id IS NOT NULL "
            "AND message_id IS NOT NULL",
            (guild_id,),
        )
        plan = await self.db.fetchval(
            "SELECT COUNT(*) FROM reminder_plans WHERE guild_id = ?", (guild_id,)
        )
        lead = await self.db.fetchval(
            "SELECT COUNT(*) FROM team_roles WHERE guild_id = ? AND role = ?",
            (guild_id, PROJECT_LEAD),
        )
        card = await self.db.fetchval(
            "SELECT COUNT(*) FROM team_cards WHERE guild_id = ?", (guild_id,)
        )
        return SetupFacts(
            announce_channel=settings is not None and settings["announce_channel_id"] is not None,
            intro_channel=settings is not None and settings["intro_channel_id"] is not None,
            organiser_role=settings is not None and settings["organiser_role_id"] is not None,
            language_confirmed=bool(confirmed),
            series=bool(series),
            meeting_announced=bool(announced),
            reminder_plan=bool(plan),
            project_lead=bool(lead),
            team_card=bool(card),
        )
