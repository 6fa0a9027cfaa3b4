"""Dates, times and durations as people type them, in the server's IANA zone.

Accepted input (surrounding spaces are ignored):

* dates: ISO `2026-12-03`; Nordic dotted `3.12.2026`, `03.12.26` (two-digit years are
  20xx); without a year `3.12.` / `3.12` means the next such day on or after today.
* times: `08:30`, `8:30`, `8.30`, `0830`, `830`, `8` (whole hour); an optional `kl.`/`kl`
  in front.
* durations: `90m`, `90 min`, `1h30`, `1h 30m`, `1:30`, `1,5t`, `1.5h`, `2 timer`.

Daylight saving follows `bot.domain.moments`' rule for times a person typed
(`gap="refuse"`): a local time that does not exist (skipped by the spring-forward change,
e.g. 02:30 on the last Sunday of March in Oslo) is refused with
`meeting.error.nonexistent_time`; a time that happens twice (the autumn change) means the
first occurrence (`fold=0`, still summer time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo

from babel.dates import format_date, format_time
from dateutil.relativedelta import relativedelta
from dateutil.rrule import MONTHLY, rrule, weekday

from bot.domain.moments import NonexistentLocalTime, local_to_utc, to_local
from bot.errors import BadInput
from bot.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE

__all__ = [
    "combine",
    "format_date_local",
    "format_datetime_local",
    "format_range_local",
    "parse_date",
    "parse_datetime",
    "parse_duration",
    "parse_end",
    "parse_time",
    "suggest_dates",
]

# How each language joins a date and a clock time in running text.
_AT: Mapping[str, str] = {
    "nb": "{date} kl. {time}",
    "sv": "{date} kl. {time}",
    "en": "{date} at {time}",
}

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})$")
_DOTTED_NO_YEAR = re.compile(r"^(\d{1,2})\.(\d{1,2})\.?$")
_TIME_SEP = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_TIME_DIGITS = re.compile(r"^(\d{1,2})(\d{2})$")
_TIME_HOUR = re.compile(r"^(\d{1,2})$")
_KL = re.compile(r"^kl\.?\s*", re.IGNORECASE)
_SHORT_CLOCK = re.compile(r"^\d:\d{2}$")
_DURATION_CLOCK = re.compile(r"^(\d{1,3}):(\d{2})$")
_DURATION_PARTS = re.compile(
    r"^(?:(?P<h>\d+(?:[.,]\d+)?)\s*(?:h|t|hr|hrs|hour|hours|time|timer|timme|timmar|tim)\.?)?"
    r"\s*(?:(?P<m>\d+)\s*(?:m|min|mins|minute|minutes|minutt|minutter|minut|minuter)?\.?)?$",
    re.IGNORECASE,
)


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise BadInput("meeting.error.invalid_date", text=text[:32]) from None


def parse_date(text: str, *, today: date | None = None) -> date:
    """A calendar date. `today` is needed only for input without a year."""
    cleaned = text.strip()
    if match := _ISO.match(cleaned):
        year, month, day = (int(g) for g in match.groups())
        return _make_date(year, month, day, cleaned)
    if match := _DOTTED.match(cleaned):
        day, month = int(match.group(1)), int(match.group(2))
        year_text = match.group(3)
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _make_date(year, month, day, cleaned)
    if today is not None and (match := _DOTTED_NO_YEAR.match(cleaned)):
        day, month = int(match.group(1)), int(match.group(2))
        # The next such day on or after today (29 February: the next leap year).
        for year in range(today.year, today.year + 9):
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if candidate >= today:
                return candidate
        raise BadInput("meeting.error.invalid_date", text=cleaned[:32])
    raise BadInput("meeting.error.date_format", text=cleaned[:32])


def parse_time(text: str) -> time:
    """A wall-clock time (hours 0–23)."""
    cleaned = _KL.sub("", text.strip())
    match = _TIME_SEP.match(cleaned) or _TIME_DIGITS.match(cleaned)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
    elif match := _TIME_HOUR.match(cleaned):
        hour, minute = int(match.group(1)), 0
    else:
        raise BadInput("meeting.error.time_format", text=text.strip()[:32])
    if hour > 23 or minute > 59:
        raise BadInput("meeting.error.time_format", text=text.strip()[:32])
    return time(hour, minute)


def parse_duration(text: str) -> timedelta:
    """A positive length of time. A bare number needs a unit (is `90` minutes or hours?)."""
    cleaned = text.strip()
    minutes: float | None = None
    if match := _DURATION_CLOCK.match(cleaned):
        if int(match.group(2)) < 60:
            minutes = int(match.group(1)) * 60 + int(match.group(2))
    elif (match := _DURATION_PARTS.match(cleaned)) and cleaned:
        hours, mins = match.group("h"), match.group("m")
        bare_number = hours is None and mins is not None and cleaned.isdigit()
        if (hours is not None or mins is not None) and not bare_number:
            minutes = float(hours.replace(",", ".")) * 60 if hours else 0.0
            minutes += int(mins) if mins else 0
    if minutes is None or minutes <= 0 or minutes != int(minutes):
        raise BadInput("meeting.error.duration_format", text=cleaned[:32])
    return timedelta(minutes=int(minutes))


def combine(day: date, clock: time, zone: str | tzinfo) -> datetime:
    """Local wall time in `zone` → an aware UTC datetime (see the module note on DST)."""
    naive = datetime.combine(day, clock.replace(tzinfo=None, fold=0))
    try:
        return local_to_utc(naive, zone, gap="refuse")
    except NonexistentLocalTime:
        raise BadInput(
            "meeting.error.nonexistent_time", date=day.isoformat(), time=clock.strftime("%H:%M")
        ) from None


def parse_end(text: str, start: datetime, zone: str | tzinfo) -> datetime:
    """The end: a clock time on the start's local day, or a duration after the start.

    `H:MM` with a one-digit hour reads both ways: the clock time when that is later than
    the start on the same day, otherwise a duration (`1:30` after 08:30 is 10:00). Any
    other time that is not after the start (`09:00` after 10:00) is returned as is, and
    validation refuses it rather than guessing the next day.
    """
    try:
        clock: time | None = parse_time(text)
    except BadInput:
        clock = None
    if clock is None:
        return start + parse_duration(text)
    end = combine(to_local(start, zone).date(), clock, zone)
    if end <= start and _SHORT_CLOCK.match(text.strip()):
        return start + parse_duration(text)
    return end


def parse_datetime(text: str, zone: str | tzinfo, *, today: date | None = None) -> datetime:
    """`<date> <time>` or just `<date>` (then the end of that day: midnight after it)."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        raise BadInput("meeting.error.date_format", text="")
    day = parse_date(parts[0], today=today)
    if len(parts) == 2:
        return combine(day, parse_time(parts[1]), zone)
    return combine(day + timedelta(days=1), time(0, 0), zone)


def _nth_weekday(day: date) -> weekday:
    """`day` as a weekday-of-month rule: the 1st–4th such weekday, or the last one."""
    nth = (day.day - 1) // 7 + 1
    return weekday(day.weekday(), -1 if nth == 5 else nth)


def suggest_dates(
    last: date | None, today: date | datetime, zone: str | tzinfo, n: int = 25
) -> list[date]:
    """Likely dates for the next meeting, most likely first, never before today, unique.

    With a last meeting: the same weekday of the month (e.g. the first Thursday) in the
    coming months, then the same weekday in the coming weeks, then every day from today.
    `today` may be an aware datetime (then it is read in `zone`) or a local date.
    """
    if isinstance(today, datetime):
        today = to_local(today, zone).date()
    limit = max(0, min(n, 25))
    picks: dict[date, None] = {}
    if last is not None:
        begin = max(today, last + timedelta(days=1))
        rule = rrule(
            MONTHLY,
            dtstart=datetime.combine(begin.replace(day=1), time()),
            byweekday=_nth_weekday(last),
            count=8,
        )
        for occurrence in rule:
            if occurrence.date() >= begin:
                picks.setdefault(occurrence.date(), None)
        week = begin + relativedelta(weekday=weekday(last.weekday()))
        for i in range(4):
            picks.setdefault(week + timedelta(weeks=i), None)
    day = today
    while len(picks) < limit:
        picks.setdefault(day, None)
        day += timedelta(days=1)
    return list(picks)[:limit]


def _babel_locale(lang: str) -> str:
    return BABEL_LOCALES.get(lang, BABEL_LOCALES[DEFAULT_LANGUAGE])


def format_date_local(day: date, lang: str, *, style: str = "full") -> str:
    """`torsdag 3. desember 2026` (nb), `torsdag 3 december 2026` (sv), `Thursday, 3 …` (en)."""
    return format_date(day, style, locale=_babel_locale(lang))


def format_datetime_local(moment: datetime, zone: str | tzinfo, lang: str) -> str:
    """`torsdag 3. desember 2026 kl. 08:30` in the meeting's zone."""
    local = to_local(moment, zone)
    locale = _babel_locale(lang)
    return _AT.get(lang, _AT[DEFAULT_LANGUAGE]).format(
        date=format_date(local.date(), "full", locale=locale),
        time=format_time(local, "short", locale=locale),
    )


def format_range_local(start: datetime, end: datetime, zone: str | tzinfo, lang: str) -> str:
    """`torsdag 3. desember 2026 kl. 08:30–10:00`, or both full ends across days."""
    local_start, local_end = to_local(start, zone), to_local(end, zone)
    if local_start.date() != local_end.date():
        return (
            f"{format_datetime_local(start, zone, lang)} – {format_datetime_local(end, zone, lang)}"
        )
    end_time = format_time(local_end, "short", locale=_babel_locale(lang))
    return f"{format_datetime_local(start, zone, lang)}–{end_time}"
