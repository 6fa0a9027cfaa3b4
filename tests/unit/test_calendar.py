"""The .ics file parses back with the right times; the Google link is well formed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from icalendar import Calendar

from bot.domain.calendar import google_calendar_link, meeting_ics, meetings_ics
from bot.domain.meeting import Meeting, MeetingStatus

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
MEETING = Meeting(
    id=42,
    guild_id=1,
    title="Frokost & prat; 50% nytt, nå",
    starts_at=START,
    ends_at=START + timedelta(minutes=90),
    timezone="Europe/Oslo",
    place="Kafé Øst, Oslo",
    description="Linje 1\nLinje 2",
    ical_sequence=3,
)


def only_event(data: bytes) -> Calendar:
    calendar = Calendar.from_ical(data)
    events = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    return events[0]


def test_ics_round_trip() -> None:
    data = meeting_ics(MEETING, NOW, url="https://discord.com/channels/1/2/3")
    assert b"\r\n" in data
    event = only_event(data)
    assert str(event["UID"]) == "meeting-42@moteplass"
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == START + timedelta(minutes=90)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["SUMMARY"]) == MEETING.title
    assert str(event["LOCATION"]) == MEETING.place
    assert "Linje 1\nLinje 2" in str(event["DESCRIPTION"])
    assert "https://discord.com/channels/1/2/3" in str(event["DESCRIPTION"])
    assert int(event["SEQUENCE"]) == 3
    assert str(event["STATUS"]) == "CONFIRMED"


def test_cancelled_meeting_says_so() -> None:
    cancelled = replace(MEETING, status=MeetingStatus.CANCELLED, ical_sequence=4)
    event = only_event(meeting_ics(cancelled, NOW))
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 4


def test_several_meetings_in_one_file() -> None:
    other = replace(MEETING, id=43)
    calendar = Calendar.from_ical(meetings_ics([MEETING, other], NOW))
    uids = sorted(str(c["UID"]) for c in calendar.walk("VEVENT"))
    assert uids == ["meeting-42@moteplass", "meeting-43@moteplass"]


def test_google_link() -> None:
    link = google_calendar_link(MEETING, url="https://discord.com/channels/1/2/3")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "calendar.google.com",
        "/calendar/render",
    )
    assert " " not in link and "&prat" not in link  # user text is encoded
    query = parse_qs(parts.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == [MEETING.title]
    assert query["dates"] == ["20261203T073000Z/20261203T090000Z"]
    assert query["location"] == [MEETING.place]
    assert query["details"][0].startswith("Linje 1\nLinje 2")


def test_google_link_leaves_out_empty_fields() -> None:
    bare = replace(MEETING, place="", description="")
    query = parse_qs(urlsplit(google_calendar_link(bare)).query)
    assert "location" not in query and "details" not in query
