"""'Add to my calendar': an iCalendar file and a Google Calendar link for a meeting.

Times go out in UTC (`…Z`), so every calendar shows them in its own zone. The UID is
stable (`meeting-<id>@moteplass`) and SEQUENCE grows with each change, so importing a
newer file updates the event instead of adding a second one; a cancelled meeting is sent
with STATUS:CANCELLED.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from bot.domain.meeting import Meeting

if TYPE_CHECKING:
    from icalendar import Event

# icalendar is imported where a file is made, so the bot starts without it.

__all__ = [
    "GOOGLE_TEMPLATE_URL",
    "PRODID",
    "google_calendar_link",
    "ics_filename",
    "meeting_ics",
    "meeting_uid",
    "meetings_ics",
]

PRODID = "-//Moteplass//Moteplass Discord bot//EN"
GOOGLE_TEMPLATE_URL = "https://calendar.google.com/calendar/render"
# Google's template link is read from a URL; keep long descriptions from breaking it.
_GOOGLE_DETAILS_LIMIT = 1500


def meeting_uid(meeting_id: int) -> str:
    return f"meeting-{meeting_id}@moteplass"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _details(meeting: Meeting, url: str | None) -> str:
    parts = [meeting.description] if meeting.description else []
    if url:
        parts.append(url)
    return "\n\n".join(parts)


def _event(meeting: Meeting, now: datetime, url: str | None) -> Event:
    from icalendar import Event

    event = Event()
    event.add("uid", meeting_uid(meeting.id))
    event.add("dtstamp", _utc(now))
    event.add("dtstart", _utc(meeting.starts_at))
    event.add("dtend", _utc(meeting.ends_at))
    event.add("summary", meeting.title)
    if meeting.place:
        event.add("location", meeting.place)
    details = _details(meeting, url)
    if details:
        event.add("description", details)
    if url:
        event.add("url", url)
    event.add("sequence", meeting.ical_sequence)
    event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
    return event


def _calendar(events: Iterable[Event]) -> bytes:
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    for event in events:
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def meeting_ics(meeting: Meeting, now: datetime, *, url: str | None = None) -> bytes:
    """One meeting as an .ics file (UTF-8, CRLF line endings). `url`: the announcement."""
    return _calendar([_event(meeting, now, url)])


def meetings_ics(meetings: Iterable[Meeting], now: datetime) -> bytes:
    """Several meetings in one calendar file (e.g. everything upcoming on a server)."""
    return _calendar(_event(m, now, None) for m in meetings)


def ics_filename(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}.ics"


def _google_time(moment: datetime) -> str:
    return _utc(moment).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(meeting: Meeting, *, url: str | None = None) -> str:
    """A link that opens Google Calendar's "new event" form filled in for this meeting."""
    details = _details(meeting, url)
    if len(details) > _GOOGLE_DETAILS_LIMIT:
        details = details[: _GOOGLE_DETAILS_LIMIT - 1] + "…"
    params = {
        "action": "TEMPLATE",
        "text": meeting.title,
        "dates": f"{_google_time(meeting.starts_at)}/{_google_time(meeting.ends_at)}",
        "details": details,
        "location": meeting.place,
        "ctz": meeting.timezone,
    }
    query = urlencode({k: v for k, v in params.items() if v}, quote_via=quote, safe="/")
    return f"{GOOGLE_TEMPLATE_URL}?{query}"
