"""Open resources, build the bot, run it, close everything in reverse order."""

from __future__ import annotations

import logging

from bot.bot import MoteplassBot
from bot.clock import Clock, OffsetClock, SystemClock
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
        clock: Clock = SystemClock()
        if settings.clock_start is not None:
            clock = OffsetClock(settings.clock_start)
            log.warning("clock starts at %s (the clock_start setting)", settings.clock_start)
        bot = MoteplassBot(settings=settings, db=db, catalog=Catalog.load(), clock=clock)
        async with bot:
            await bot.start(token)
    finally:
        await db.close()
        log.info("stopped")
