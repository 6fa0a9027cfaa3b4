"""Open resources, build the bot, run it, close everything in reverse order."""

from __future__ import annotations

import logging

from bot.bot import MoteplassBot
from bot.clock import SystemClock
from bot.db import Database
from bot.endpoints import apply_endpoints
from bot.i18n import Catalog
from bot.settings import Settings

log = logging.getLogger(__name__)


async def run(settings: Settings) -> None:
    token = settings.require_token()
    apply_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    db = await Database.open(settings.database_path)
    try:
        bot = MoteplassBot(settings=settings, db=db, catalog=Catalog.load(), clock=SystemClock())
        async with bot:
            await bot.start(token)
    finally:
        await db.close()
        log.info("stopped")
