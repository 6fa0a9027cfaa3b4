"""What the services with start-up work and APScheduler jobs share.

`Lifecycle` is their base: `start()` runs on every `on_ready` (`_first_start()` once per
process, `_every_start()` each time: re-deriving jobs is idempotent, their ids come from
the rows), then sets the event `settled()` waits for, together with the service's lock.

The job helpers keep the one way a job is added: a date job only wakes the service's
`tick`, which decides (a late one runs at once, `coalesce`, a long misfire grace), an
interval job for a sweep or a safety sync; jobs are found by the prefix of their ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.bot import MoteplassBot

Job = Callable[[], Awaitable[object]]


def schedule_at(
    scheduler: AsyncIOScheduler, job_id: str, run: Job, due: datetime, now: datetime, grace: int
) -> None:
    """One date job `job_id` at `due` (at once when `due` has passed), replacing its old one."""
    scheduler.add_job(
        run,
        DateTrigger(run_date=max(due, now)),
        id=job_id,
        replace_existing=True,
        misfire_grace_time=grace,
        coalesce=True,
    )


def schedule_every(
    scheduler: AsyncIOScheduler, job_id: str, run: Job, interval: timedelta, grace: int
) -> None:
    """One interval job `job_id`, replacing its old one."""
    scheduler.add_job(
        run,
        IntervalTrigger(seconds=interval.total_seconds()),
        id=job_id,
        replace_existing=True,
        misfire_grace_time=grace,
        coalesce=True,
    )


def drop_jobs(scheduler: AsyncIOScheduler, *prefixes: str, keep: Collection[str] = ()) -> None:
    """Remove the jobs whose ids start with one of `prefixes`, except those in `keep`."""
    for job in scheduler.get_jobs():
        if job.id.startswith(prefixes) and job.id not in keep:
            job.remove()


def job_ids(scheduler: AsyncIOScheduler, prefix: str) -> list[str]:
    return sorted(job.id for job in scheduler.get_jobs() if job.id.startswith(prefix))


class Lifecycle:
    """A service's start-up and settling (see the module docstring)."""

    #: Logged when start-up work fails (then swallowed); None: the failure propagates to
    #: the `on_ready` that called `start()`.
    start_failure: ClassVar[str | None] = None

    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._started = False
        self._log = logging.getLogger(type(self).__module__)

    def now(self) -> datetime:
        return self.bot.clock.now()

    async def settled(self) -> None:
        await self._ready.wait()
        async with self._lock:
            pass

    async def start(self) -> None:
        try:
            if not self._started:
                self._started = True
                await self._first_start()
            await self._every_start()
        except Exception:
            if self.start_failure is None:
                raise
            self._log.exception(self.start_failure)
        finally:
            self._ready.set()

    async def _first_start(self) -> None:
        """Catching up, once per process (after a restart)."""

    async def _every_start(self) -> None:
        """Re-deriving what a new gateway session needs (jobs)."""

    async def _guarded(self, what: str, work: Job) -> None:
        """Run a job's work; a failure is logged (`<what> failed`), never raised into the
        scheduler."""
        try:
            await work()
        except Exception:
            self._log.exception("%s failed", what)
