"""What the reminder service and its parts share: ledger kinds and keys, copy-search
bounds and the texts a copy is recognised by."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.domain.meeting import Meeting
from bot.domain.reminders import HOUR_BEFORE
from bot.i18n import Text
from bot.services.meetings import timestamps

if TYPE_CHECKING:
    pass


SERIES_MEETING = "series_meeting"
# Claims of bot.services.rhythm (kept apart so this module does not import it).
RHYTHM_KINDS = frozenset({"match_rhythm", "match_rhythm_report"})
JOB_PREFIX = "reminder:"
SAFETY_JOB = "reminders-safety"
SAFETY_INTERVAL = timedelta(minutes=5)
# Jobs only wake tick(); tick decides with due_now and the grace window, so a late job
# must never be dropped by APScheduler (its default grace is one second).
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600
UPCOMING_LIMIT = 200
# How many messages after a delivery's due time are read to find a crashed process's copy.
COPY_SEARCH_LIMIT = 200
CLAIM_CLOCK_STEP = timedelta(milliseconds=1)
# ... from this long before the due time: a host clock ahead of Discord's by up to this much
# still finds the copy (the same text is never due twice within it).
COPY_LOOKBACK = timedelta(hours=1)


def series_key(series_id: int, local_day: date) -> str:
    return f"series:{series_id:d}:{local_day.isoformat()}"


def channel_reminder_text(_: Text, kind: str, meeting: Meeting) -> str:
    """The channel reminder without its answer counts (those change; this part does not)."""
    key = "reminders.hour_before" if kind == HOUR_BEFORE else "reminders.channel"
    return _(
        key, title=meeting.title, when=timestamps(meeting.starts_at), place=meeting.place or "—"
    )


def dm_reminder_text(_: Text, meeting: Meeting) -> str:
    return _(
        "reminders.dm",
        title=meeting.title,
        when=timestamps(meeting.starts_at),
        place=meeting.place or "—",
    )
