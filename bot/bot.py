"""The bot: a thin AutoShardedBot that owns the shared resources and loads the cogs."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot import __version__
from bot.clock import Clock
from bot.db import Database
from bot.i18n import Catalog, Text
from bot.permissions import require_organiser
from bot.settings import Settings
from bot.storage.guilds import GuildSettings, GuildSettingsRepository
from bot.translator import CatalogTranslator
from bot.tree import MoteplassTree

log = logging.getLogger(__name__)

# Loaded in this order by setup_hook. Each is a discord.py extension with `setup(bot)`.
EXTENSIONS: tuple[str, ...] = (
    "cogs.setup",
    "cogs.about",
    "cogs.meetings",
    "cogs.reports",
    "cogs.privacy",
    "cogs.reminders",
    "cogs.series",
    "cogs.matching",
    "cogs.profiles",
)


def intents() -> discord.Intents:
    """No privileged intents: guilds, guild messages (deletions) and reactions suffice."""
    value = discord.Intents.none()
    value.guilds = True
    value.guild_messages = True
    value.guild_reactions = True
    value.guild_scheduled_events = True
    return value


class MoteplassBot(commands.AutoShardedBot):
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        catalog: Catalog,
        clock: Clock,
        extensions: tuple[str, ...] = EXTENSIONS,
        sync_commands: bool = True,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            tree_cls=MoteplassTree,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            guild_ready_timeout=settings.guild_ready_timeout,
            help_command=None,
        )
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.clock = clock
        self.version = __version__
        self.started_monotonic = time.monotonic()
        self.started_at: datetime = clock.now()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.guild_settings = GuildSettingsRepository(db)
        self._extensions = extensions
        self._sync_commands = sync_commands
        # Services registered by cogs, for start-up waiting and tests (not for cogs to
        # reach each other: they share storage, not each other).
        self.services: dict[str, Any] = {}
        self._settled_task: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        await self.tree.set_translator(CatalogTranslator(self.catalog))
        self.scheduler.start()
        for name in self._extensions:
            await self.load_extension(name)
        if self._sync_commands:
            await self.sync_commands()

    async def sync_commands(self) -> None:
        if self.settings.sync_guilds:
            for guild_id in self.settings.sync_guilds:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))

    async def close(self) -> None:
        for service in self.services.values():
            closer = getattr(service, "close", None)
            if closer is not None:
                await closer()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await super().close()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if self.settings.identify_delay is None:
            await super().before_identify_hook(shard_id, initial=initial)
        elif not initial:
            await asyncio.sleep(self.settings.identify_delay)

    async def on_ready(self) -> None:
        log.info("ready in %d guilds", len(self.guilds))
        if self._settled_task is None or self._settled_task.done():
            self._settled_task = asyncio.create_task(self._log_settled())

    async def _log_settled(self) -> None:
        """One INFO line once start-up work is done (tests and operators wait for it)."""
        await self.wait_until_settled()
        log.info("settled")

    async def texts(self, guild_id: int | None) -> Text:
        """The catalogue in the server's language (Norwegian where there is no server)."""
        settings = await self.settings_for(guild_id)
        return self.catalog.translator(settings.language)

    async def organiser_texts(self, interaction: discord.Interaction[Any]) -> Text:
        """Refuse anyone but an organiser (BadInput-style error); else the server's catalogue."""
        assert interaction.guild_id is not None
        settings = await self.guild_settings.get(interaction.guild_id)
        require_organiser(interaction.user, settings)
        return self.catalog.translator(settings.language)

    async def settings_for(self, guild_id: int | None) -> GuildSettings:
        if guild_id is None:
            return GuildSettings(guild_id=0)
        return await self.guild_settings.get(guild_id)

    async def wait_until_settled(self) -> None:
        """Wait for start-up work (reconciliation, scheduling) and pending updates."""
        waits = [s.settled() for s in self.services.values() if hasattr(s, "settled")]
        await asyncio.gather(*waits)

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic
