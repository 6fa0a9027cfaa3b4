"""Series, reminders and the monthly post: derived from the database, sent exactly once.

The database is the source of truth. `sync()` derives every pending delivery from the
tables (upcoming meetings × the server's plan, each series' next meeting, monthly posts)
and schedules one APScheduler `DateTrigger` job per delivery with an id derived from the
row (`reminder:<key>`, `replace_existing`); jobs only wake `tick()`, which decides with
`due_now` and the configured grace window. Every delivery is claimed in the ledger
(`DeliveryRepository.claim`) before it is sent and marked afterwards, so restarts,
reconnects and racing instances never post twice.
"""

from bot.services.reminders.common import RHYTHM_KINDS, series_key
from bot.services.reminders.service import ReminderService

__all__ = ["RHYTHM_KINDS", "ReminderService", "series_key"]
