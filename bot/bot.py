"""The bot: a thin AutoShardedBot that owns the shared resources and loads the cogs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot import __version__
from bot.clock import Clock
from bot.db import Database
from bot.gateway_guard import guard_parsers
from bot.i18n import Catalog, Text
from bot.permissions import require_organiser
from bot.ratelimit import GlobalLimiter, install
from bot.services.channel_health import ChannelHealth
from bot.settings import Settings
from bot.startup import retry_unreachable
from bot.storage.guilds import GuildSettings, GuildSettingsRepository
from bot.translator import CatalogTranslator
from bot.tree import MoteplassTree, watch_deadline

if TYPE_CHECKING:
    from bot.wiring import Services

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds close() waits for running event handlers before cancelling them.
SHUTDOWN_GRACE = 5.0

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
    "cogs.collaborations",
    "cogs.profiles",
    "cogs.partners",
    "cogs.team",
    "cogs.programme",
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
        self.limiter = GlobalLimiter(settings.global_requests_per_second)
        install(self.http, self.limiter)
        self.db = db
        self.catalog = catalog
        self.clock = clock
        self.version = __version__
        self.started_monotonic = time.monotonic()
        self.started_at: datetime = clock.now()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.guild_settings = GuildSettingsRepository(db)
        self.channel_health = ChannelHealth()  # posts Discord refused, for /about
        self._extensions = extensions
        self._sync_commands = sync_commands
        # Every service, built once with its collaborators (bot/wiring.py); the cogs take
        # theirs from here. Imported here, not at the top: the wiring imports the cogs'
        # views, and the cogs import this module.
        from bot.wiring import build_services

        self.services: Services = build_services(self)
        self._settled_task: asyncio.Task[None] | None = None
        self._event_tasks: set[asyncio.Task[Any]] = set()
        # Gateway events skipped because discord.py could not parse them, by event name.
        self.skipped_events: Counter[str] = Counter()
        guard_parsers(self._connection.parsers, self.skipped_events)

    async def setup_hook(self) -> None:
        await self.tree.set_translator(CatalogTranslator(self.catalog))
        self.scheduler.start()
        for name in self._extensions:
            await self.load_extension(name)
        if self._sync_commands:
            await self._retry("syncing commands", self.sync_commands)

    async def _retry(
        self,
        what: str,
        attempt_once: Callable[[], Awaitable[T]],
        before_retry: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        return await retry_unreachable(
            what,
            attempt_once,
            initial=self.settings.connect_retry_initial,
            cap=self.settings.connect_retry_max,
            before_retry=before_retry,
        )

    async def login(self, token: str) -> None:
        """Log in, waiting out an unreachable Discord; a refused token is a StartupError.
        setup_hook runs inside and retries its own calls, so a retry here never repeats it."""

        async def reset_http() -> None:
            # A new session and connector for the next attempt (closing one closes both).
            await self.http.close()
            self.http.connector = discord.utils.MISSING

        await self._retry("logging in", lambda: super(MoteplassBot, self).login(token), reset_http)

    async def launch_shards(self) -> None:
        """AutoShardedClient asks GET /gateway/bot first: wait out an unreachable Discord
        there too (the shard count is known only once that lookup has succeeded)."""
        await self._retry("looking up the gateway", super().launch_shards)

    async def sync_commands(self) -> None:
        if self.settings.sync_guilds:
            for guild_id in self.settings.sync_guilds:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))

    def _schedule_event(
        self,
        coro: Callable[..., Coroutine[Any, Any, Any]],
        event_name: str,
        *args: Any,
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        """discord.py runs each event handler as a task: keep them, so close() can wait."""
        task = super()._schedule_event(coro, event_name, *args, **kwargs)
        self.keep_until_closed(task)
        return task

    def keep_until_closed(self, task: asyncio.Task[Any]) -> None:
        """Work an event handler handed on (it returned at once): close() waits for it, and
        cancels it after the grace, as it does the handlers."""
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def close(self) -> None:
        """Stop background work and wait for it, so the database can close after: no event
        handler, scheduler job or start-up task is left running against a closed
        connection. What is still running after SHUTDOWN_GRACE is cancelled (a transaction
        rolls back whole)."""
        for service in self.services.closing():
            await service.close()
        jobs: list[asyncio.Future[Any]] = []
        if self.scheduler.running:
            executor: Any = self.scheduler._lookup_executor("default")
            self.scheduler.pause()  # no job starts now; the running ones may end
            jobs = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
            if jobs:
                await asyncio.wait(jobs, timeout=SHUTDOWN_GRACE)
            self.scheduler.shutdown(wait=False)  # cancels what is still running
        events = await self._stop_event_handlers()
        await asyncio.gather(*jobs, return_exceptions=True)
        await super().close()
        # Events keep coming until the gateway is closed: their handlers too end before the
        # database does (an answer dropped by a late one is read from the reactions at the
        # next start).
        events += await self._stop_event_handlers()
        if events or jobs:
            log.info("stopped %d event handlers and %d jobs", events, len(jobs))

    async def _stop_event_handlers(self) -> int:
        """Wait for the running event handlers, up to SHUTDOWN_GRACE; cancel the rest."""
        current = asyncio.current_task()
        events = [t for t in self._event_tasks if t is not current and not t.done()]
        if events:
            _, late = await asyncio.wait(events, timeout=SHUTDOWN_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*events, return_exceptions=True)
        return len(events)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if self.settings.identify_delay is None:
            await super().before_identify_hook(shard_id, initial=initial)
        elif not initial:
            await asyncio.sleep(self.settings.identify_delay)

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: messages are not read (and one without an author is harmless)."""

    async def on_ready(self) -> None:
        log.info("ready in %d guilds", len(self.guilds))
        if self._settled_task is None or self._settled_task.done():
            self._settled_task = asyncio.create_task(self._log_settled())

    async def _log_settled(self) -> None:
        """One INFO line once start-up work is done (tests and operators wait for it)."""
        await self.wait_until_settled()
        log.info("settled")

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        # Every interaction, whoever handles it: log one still unanswered near its deadline.
        watch_deadline(interaction)

    async def texts(self, guild_id: int | None) -> Text:
        """The catalogue in the server's language (Norwegian where there is no server)."""
        settings = await self.settings_for(guild_id)
        return self.catalog.translator(settings.language)

    async def organiser_texts(self, interaction: discord.Interaction[Any]) -> Text:
        """Refuse anyone but an organiser (BadInput-style error); else the server's catalogue."""
        assert interaction.guild_id is not None
        settings = await self.guild_settings.get(interaction.guild_id)
        await require_organiser(self.db, interaction.user, settings)
        return self.catalog.translator(settings.language)

    async def settings_for(self, guild_id: int | None) -> GuildSettings:
        if guild_id is None:
            return GuildSettings(guild_id=0)
        return await self.guild_settings.get(guild_id)

    async def wait_until_settled(self) -> None:
        """Wait for start-up work (reconciliation, scheduling) and pending updates."""
        await asyncio.gather(*(s.settled() for s in self.services.settling()))

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic
