"""Dates, times and durations as typed, DST decisions, suggestions and local formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.dates import (
    combine,
    format_datetime_local,
    format_range_local,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_end,
    parse_time,
    suggest_dates,
)
from bot.errors import BadInput

OSLO = "Europe/Oslo"
TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("text", ["2026-12-03", "3.12.2026", "03.12.2026", "03.12.26", " 3.12.26 "])
def test_date_formats(text: str) -> None:
    assert parse_date(text) == date(2026, 12, 3)


def test_date_without_year_is_the_next_such_day() -> None:
    assert parse_date("3.12", today=TODAY) == date(2026, 12, 3)
    assert parse_date("3.1.", today=TODAY) == date(2027, 1, 3)
    assert parse_date("23.11", today=TODAY) == TODAY
    assert parse_date("29.2", today=TODAY) == date(2028, 2, 29)


@pytest.mark.parametrize("text", ["31.02.2027", "2027-02-29", "32.1.2027", "1.13.2027"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_date(text)
    assert err.value.key == "meeting.error.invalid_date"


@pytest.mark.parametrize("text", ["", "3/12/2026", "tomorrow", "3.12", "2026-12"])
def test_unreadable_dates_are_refused(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_date(text)
    assert err.value.key == "meeting.error.date_format"


@pytest.mark.parametrize("text", ["08:30", "8.30", "8:30", "0830", "830", "kl. 8.30", "kl 08:30"])
def test_time_formats(text: str) -> None:
    assert parse_time(text) == time(8, 30)


@pytest.mark.parametrize("text", ["24:00", "8:60", "8:3", "abc", "", "12345"])
def test_bad_times(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_time(text)
    assert err.value.key == "meeting.error.time_format"


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90m", 90),
        ("90 min", 90),
        ("1h30", 90),
        ("1h 30m", 90),
        ("1:30", 90),
        ("1,5t", 90),
        ("1.5h", 90),
        ("2 timer", 120),
        ("2t", 120),
        ("45 minutter", 45),
    ],
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["90", "0m", "1:75", "h", "", "-1h", "1,25m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_duration(text)
    assert err.value.key == "meeting.error.duration_format"


def test_combine_gives_utc_for_winter_and_summer() -> None:
    assert combine(date(2026, 12, 3), time(8, 30), OSLO) == datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
    assert combine(date(2026, 6, 4), time(8, 30), OSLO) == datetime(2026, 6, 4, 6, 30, tzinfo=UTC)


def test_nonexistent_spring_forward_time_is_refused() -> None:
    with pytest.raises(BadInput) as err:
        combine(date(2026, 3, 29), time(2, 30), OSLO)
    assert err.value.key == "meeting.error.nonexistent_time"
    assert combine(date(2026, 3, 29), time(3, 0), OSLO) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_ambiguous_autumn_time_is_the_first_occurrence() -> None:
    first = combine(date(2026, 10, 25), time(2, 30), OSLO)
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still summer time (+02:00)
    assert first.astimezone(ZoneInfo(OSLO)).utcoffset() == timedelta(hours=2)


def test_end_as_time_or_duration() -> None:
    start = combine(date(2026, 12, 3), time(8, 30), OSLO)
    assert parse_end("10:00", start, OSLO) == start + timedelta(minutes=90)
    assert parse_end("90m", start, OSLO) == start + timedelta(minutes=90)
    assert parse_end("1:30", start, OSLO) == start + timedelta(minutes=90)  # a duration
    assert parse_end("0800", start, OSLO) < start  # only a time: validation refuses it
    late = combine(date(2026, 12, 3), time(23, 0), OSLO)
    assert parse_end("2:00", late, OSLO) == late + timedelta(hours=2)


def test_end_across_the_autumn_change_keeps_wall_time() -> None:
    start = combine(date(2026, 10, 24), time(23, 0), OSLO)
    assert parse_end("4h", start, OSLO) - start == timedelta(hours=4)


def test_deadline_date_alone_means_end_of_that_day() -> None:
    # Midnight after 1 December in Oslo is 23:00 UTC on the 1st.
    assert parse_datetime("1.12.2026", OSLO) == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert parse_datetime("1.12.2026 12:00", OSLO) == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def test_suggestions_follow_the_weekday_of_month() -> None:
    first_thursday = date(2026, 11, 5)
    got = suggest_dates(first_thursday, TODAY, OSLO)
    assert got[:4] == [date(2026, 12, 3), date(2027, 1, 7), date(2027, 2, 4), date(2027, 3, 4)]
    assert len(got) == 25 and len(set(got)) == 25


def test_suggestions_for_a_last_weekday_of_month() -> None:
    last_friday = date(2026, 10, 30)  # the fifth Friday: read as "last Friday"
    got = suggest_dates(last_friday, TODAY, OSLO)
    assert got[:3] == [date(2026, 11, 27), date(2026, 12, 25), date(2027, 1, 29)]


def test_suggestions_after_a_future_meeting_start_after_it() -> None:
    got = suggest_dates(date(2026, 12, 3), TODAY, OSLO)
    assert got[0] == date(2027, 1, 7)


def test_suggestions_read_now_in_the_zone() -> None:
    late_evening_utc = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already the 24th in Oslo
    assert suggest_dates(None, late_evening_utc, OSLO, n=3)[0] == date(2026, 11, 24)


@given(
    st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)),
    st.integers(min_value=0, max_value=40),
)
def test_suggestions_are_future_unique_and_few(last: date | None, today: date, n: int) -> None:
    got = suggest_dates(last, today, OSLO, n=n)
    assert all(d >= today for d in got)
    assert len(got) == len(set(got)) == min(n, 25)


def test_formatting_per_language() -> None:
    start = combine(date(2026, 12, 3), time(8, 30), OSLO)
    assert format_datetime_local(start, OSLO, "nb") == "torsdag 3. desember 2026 kl. 08:30"
    assert "december" in format_datetime_local(start, OSLO, "sv")
    assert "December" in format_datetime_local(start, OSLO, "en")
    span = format_range_local(start, start + timedelta(minutes=90), OSLO, "nb")
    assert span.endswith("08:30–10:00")
