"""Announcements, RSVP by reaction, the coalescing embed updater and reconciliation.

Discord-facing glue around `bot.storage.meetings` and `bot.domain.rsvp`: the database is
the source of truth, the announcement embed shows it. Reaction events are applied through
`RsvpRepository.apply` (which batches bursts into shared transactions); the embed is
refreshed by a `Coalescer`, so a burst of answers costs a few edits, not one per click.

Publishing and notices survive a crash between any two steps: each step is stored before
the next (`publish_state`, owed notices), and `complete_all` finishes them at start, looking
first for what Discord already has (docs/reliability/crash.md).
"""

from bot.services.meetings.render import (
    EVENT_NOT_UPDATED,
    NO_EVENT_PERMISSION,
    announcement_embed,
    counts_line,
    event_failure_key,
    notice_text,
    timestamps,
)
from bot.services.meetings.service import MeetingService

__all__ = [
    "EVENT_NOT_UPDATED",
    "NO_EVENT_PERMISSION",
    "MeetingService",
    "announcement_embed",
    "counts_line",
    "event_failure_key",
    "notice_text",
    "timestamps",
]
