"""Recurring meetings: rule phrases in nb/sv/en, RRULE strings, and occurrences in local time.

A series is stored as an RFC 5545 RRULE (only the subset below) plus a first local date,
a local start and end time and the server's IANA zone. Supported rules:

- `FREQ=MONTHLY;BYDAY=1TH` - the first Thursday of every month (ordinals 1..5, -1 the last,
  -2 the second to last), optionally `INTERVAL=n` (every n months);
- `FREQ=WEEKLY;BYDAY=WE` - every Wednesday, optionally `INTERVAL=n` (every n weeks).

Occurrences are computed on naive local wall-clock datetimes with dateutil's `rrule`, then
localised with `zoneinfo`, so a meeting at 08:30 stays at 08:30 on both sides of a
daylight-saving change. The two local times that need a decision follow
`bot.domain.moments`' rule for generated times (`gap="forward"`): a time in the
spring-forward gap (02:30 on the last Sunday of March in Europe/Oslo) moves forward to the
first valid local time (03:00); a time in the autumn fold is the first of the two.

Nothing here imports discord; every user-facing refusal is a `BadInput` with a catalogue key
from the `reminders` domain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

from bot.domain.moments import local_to_utc, require_aware
from bot.errors import BadInput

Freq = Literal["MONTHLY", "WEEKLY"]

WEEKDAY_CODES: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_WEEK_INTERVAL = 52
MAX_MONTH_INTERVAL = 12
LEAD_DAYS_MIN = 1
LEAD_DAYS_MAX = 90
DEFAULT_LEAD_DAYS = 21
# How far ahead next_occurrence looks before deciding a rule has no further date. A fifth
# weekday every twelfth month can be decades apart; we do not plan meetings that far.
SEARCH_HORIZON_DAYS = 366 * 10

_DU_WEEKDAYS = (du.MO, du.TU, du.WE, du.TH, du.FR, du.SA, du.SU)


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    """A structured recurrence: every `interval` weeks on `weekday`, or the `ordinal`-th
    `weekday` of every `interval` months.

    `weekday` is 0 for Monday … 6 for Sunday. `ordinal` is set only for monthly rules:
    1..5, or -1 (last) and -2 (second to last).
    """

    freq: Freq
    weekday: int
    ordinal: int | None = None
    interval: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday out of range: {self.weekday}")
        if self.freq == "WEEKLY":
            if self.ordinal is not None:
                raise ValueError("a weekly rule has no ordinal")
            if not 1 <= self.interval <= MAX_WEEK_INTERVAL:
                raise ValueError(f"weekly interval out of range: {self.interval}")
        elif self.freq == "MONTHLY":
            if self.ordinal not in (1, 2, 3, 4, 5, -1, -2):
                raise ValueError(f"monthly ordinal out of range: {self.ordinal}")
            if not 1 <= self.interval <= MAX_MONTH_INTERVAL:
                raise ValueError(f"monthly interval out of range: {self.interval}")
        else:
            raise ValueError(f"unsupported frequency: {self.freq}")

    @property
    def skips_some_months(self) -> bool:
        """True when some months have no such day (a fifth weekday): those months are skipped
        silently by the rule, so the cog should say so when the series is created."""
        return self.freq == "MONTHLY" and self.ordinal == 5

    def to_rrule(self) -> str:
        """The RRULE value, e.g. `FREQ=MONTHLY;BYDAY=1TH` or `FREQ=WEEKLY;INTERVAL=4;BYDAY=WE`."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        prefix = "" if self.ordinal is None else str(self.ordinal)
        parts.append(f"BYDAY={prefix}{WEEKDAY_CODES[self.weekday]}")
        return ";".join(parts)

    @classmethod
    def from_rrule(cls, text: str) -> RecurrenceRule:
        """Parse an RRULE value written by `to_rrule` (an optional `RRULE:` prefix and a
        `WKST=MO` are accepted). Anything outside the supported subset raises ValueError."""
        body = text.strip()
        if body.upper().startswith("RRULE:"):
            body = body[6:]
        fields: dict[str, str] = {}
        for part in body.split(";"):
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep or name.upper() in fields:
                raise ValueError(f"bad RRULE part: {part!r}")
            fields[name.upper()] = value.upper()
        if fields.pop("WKST", "MO") != "MO":
            raise ValueError("only WKST=MO is supported")
        freq = fields.pop("FREQ", "")
        interval_text = fields.pop("INTERVAL", "1")
        byday = fields.pop("BYDAY", "")
        if fields:
            raise ValueError(f"unsupported RRULE parts: {sorted(fields)}")
        match = re.fullmatch(r"([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)", byday)
        if match is None or not interval_text.isdigit():
            raise ValueError(f"unsupported RRULE: {text!r}")
        ordinal = int(match.group(1)) if match.group(1) else None
        if freq not in ("MONTHLY", "WEEKLY"):
            raise ValueError(f"unsupported frequency: {freq!r}")
        return cls(
            freq="MONTHLY" if freq == "MONTHLY" else "WEEKLY",
            weekday=WEEKDAY_CODES.index(match.group(2)),
            ordinal=ordinal,
            interval=int(interval_text),
        )

    def matches(self, day: date) -> bool:
        """Whether `day` has the right weekday and position in its month (ignores interval)."""
        if day.weekday() != self.weekday:
            return False
        if self.ordinal is None:
            return True
        if self.ordinal > 0:
            return (day.day - 1) // 7 + 1 == self.ordinal
        days_left = (_month_end(day) - day).days
        return days_left // 7 + 1 == -self.ordinal

    def _rrule(self, dtstart: datetime) -> du.rrule:
        weekday = _DU_WEEKDAYS[self.weekday]
        return du.rrule(
            du.MONTHLY if self.freq == "MONTHLY" else du.WEEKLY,
            dtstart=dtstart,
            interval=self.interval,
            byweekday=weekday if self.ordinal is None else weekday(self.ordinal),
            wkst=du.MO,
        )


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """What `parse_rule` found: the rule, and the time range if the phrase had one."""

    rule: RecurrenceRule
    start_time: time | None = None
    end_time: time | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One meeting of a series: UTC start and end, and the local date it falls on."""

    start_utc: datetime
    end_utc: datetime
    local_date: date


@dataclass(frozen=True, slots=True)
class SeriesSchedule:
    """Everything needed to compute a series' meetings (storage builds it from a row)."""

    rule: RecurrenceRule
    dtstart_local: date
    start_time: time
    end_time: time
    zone: str
    skipped: frozenset[date] = frozenset()

    def occurrences(self, after: datetime, before: datetime) -> list[Occurrence]:
        return occurrences(
            self.rule,
            self.dtstart_local,
            self.start_time,
            self.end_time,
            self.zone,
            after,
            before,
            self.skipped,
        )

    def next_occurrence(self, after: datetime) -> Occurrence | None:
        return next_occurrence(
            self.rule,
            self.dtstart_local,
            self.start_time,
            self.end_time,
            self.zone,
            after,
            self.skipped,
        )


# --------------------------------------------------------------------------- time zones


def load_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or BadInput("series.error.bad_timezone", zone=...)."""
    cleaned = name.strip()
    if not cleaned or cleaned.startswith(("/", ".")) or ".." in cleaned:
        raise BadInput("series.error.bad_timezone", zone=cleaned[:64])
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadInput("series.error.bad_timezone", zone=cleaned[:64]) from None


def _month_end(day: date) -> date:
    first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


# --------------------------------------------------------------------------- occurrences

EndSpec = time | timedelta


def _duration(start_time: time, end: EndSpec) -> timedelta:
    if isinstance(end, timedelta):
        duration = end
    else:
        duration = datetime.combine(date.min, end) - datetime.combine(date.min, start_time)
    if duration <= timedelta(0):
        raise BadInput("series.error.end_before_start")
    return duration


def occurrences(
    rule: RecurrenceRule,
    dtstart_local_date: date,
    start_time: time,
    end: EndSpec,
    zone: str,
    after: datetime,
    before: datetime,
    skipped: Iterable[date] = frozenset(),
) -> list[Occurrence]:
    """Every occurrence with `after <= start_utc < before`, in order, without skipped dates.

    `end` is the local end time on the same day, or a duration. The rule runs on naive local
    datetimes from `dtstart_local_date` at `start_time`; each result is localised with
    `moments.local_to_utc` (gap → forward, fold → first). The end is the local end wall
    time, localised the same way (never before the start).
    """
    zi = load_zone(zone)
    duration = _duration(start_time, end)
    after = require_aware(after, "after")
    before = require_aware(before, "before")
    if before <= after:
        return []
    skip = frozenset(skipped)
    lo = after.astimezone(zi).replace(tzinfo=None) - timedelta(days=1)
    hi = before.astimezone(zi).replace(tzinfo=None) + timedelta(days=1)
    first = datetime.combine(dtstart_local_date, start_time)
    if hi < first:
        return []
    found: list[Occurrence] = []
    candidates: list[datetime] = rule._rrule(first).between(max(lo, first), hi, inc=True)
    for local_start in candidates:
        if local_start.date() in skip:
            continue
        start_utc = local_to_utc(local_start, zi, gap="forward")
        if not after <= start_utc < before:
            continue
        end_utc = local_to_utc(local_start + duration, zi, gap="forward")
        if end_utc <= start_utc:
            end_utc = start_utc + duration
        found.append(Occurrence(start_utc, end_utc, local_start.date()))
    return found


def next_occurrence(
    rule: RecurrenceRule,
    dtstart_local_date: date,
    start_time: time,
    end: EndSpec,
    zone: str,
    after: datetime,
    skipped: Iterable[date] = frozenset(),
) -> Occurrence | None:
    """The first occurrence with `start_utc >= after`, or None within SEARCH_HORIZON_DAYS."""
    skip = frozenset(skipped)
    window = timedelta(days=400)
    lo = require_aware(after, "after")
    first = datetime.combine(dtstart_local_date - timedelta(days=2), time())
    lo = max(lo, first.replace(tzinfo=UTC))
    limit = lo + timedelta(days=SEARCH_HORIZON_DAYS)
    while lo < limit:
        hi = min(lo + window, limit)
        found = occurrences(rule, dtstart_local_date, start_time, end, zone, lo, hi, skip)
        if found:
            return found[0]
        lo = hi
    return None


# --------------------------------------------------------------------------- validation


def validate_lead_days(days: int) -> int:
    """Days ahead a meeting is created and announced: 1..90 (0 is refused)."""
    if not LEAD_DAYS_MIN <= days <= LEAD_DAYS_MAX:
        raise BadInput("series.error.lead_range", min=LEAD_DAYS_MIN, max=LEAD_DAYS_MAX)
    return days


def validate_series(
    rule: RecurrenceRule,
    dtstart_local_date: date,
    start_time: time,
    end: EndSpec,
    zone: str,
    now: datetime,
    lead_days: int = DEFAULT_LEAD_DAYS,
    skipped: Iterable[date] = frozenset(),
) -> Occurrence:
    """Check a new or edited series; returns its next occurrence.

    Raises BadInput with `series.error.bad_timezone`, `series.error.end_before_start`,
    `series.error.lead_range` or `series.error.no_future`.
    """
    load_zone(zone)
    _duration(start_time, end)
    validate_lead_days(lead_days)
    upcoming = next_occurrence(rule, dtstart_local_date, start_time, end, zone, now, skipped)
    if upcoming is None:
        raise BadInput("series.error.no_future")
    return upcoming


# --------------------------------------------------------------------------- the parser


def _fold(text: str) -> str:
    """Lower case, Nordic letters spelled out, accents dropped, dashes unified."""
    text = text.casefold()
    for src, dst in (("æ", "ae"), ("ø", "o"), ("å", "a"), ("ä", "a"), ("ö", "o")):
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\u2010-\u2015\u2212]", "-", text)


_WEEKDAY_STEMS: dict[str, int] = {
    "monday": 0, "mandag": 0, "mon": 0, "man": 0,
    "tuesday": 1, "tirsdag": 1, "tisdag": 1, "tysdag": 1, "tue": 1, "tues": 1, "tir": 1, "tis": 1,
    "wednesday": 2, "onsdag": 2, "wed": 2, "ons": 2,
    "thursday": 3, "torsdag": 3, "thu": 3, "thur": 3, "thurs": 3, "tor": 3, "tors": 3,
    "friday": 4, "fredag": 4, "fri": 4, "fre": 4,
    "saturday": 5, "lordag": 5, "laurdag": 5, "sat": 5, "lor": 5,
    "sunday": 6, "sondag": 6, "sun": 6, "son": 6,
}  # fmt: skip
# Inflections: Thursdays, torsdager/torsdagar (plural), torsdagen (definite), torsdagens.
_WEEKDAY_SUFFIXES = ("", "s", "en", "er", "ar", "ene", "arna", "ens")
_LONG_STEM_MIN = 6

_ORDINALS: dict[str, int] = {
    "first": 1, "forste": 1, "fyrste": 1, "forsta": 1,
    "second": 2, "andre": 2, "annen": 2, "andra": 2, "annan": 2,
    "third": 3, "tredje": 3,
    "fourth": 4, "fjerde": 4, "fjarde": 4,
    "fifth": 5, "femte": 5,
    "last": -1, "siste": -1, "sista": -1, "sist": -1,
    "penultimate": -2,
}  # fmt: skip
_CARDINALS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "to": 2, "tva": 2, "tre": 3, "fire": 4, "fyra": 4, "fem": 5,
    "seks": 6, "sex": 6, "other": 2,
    "sjette": 6, "sjatte": 6, "sixth": 6, "sjuende": 7, "sjunde": 7, "seventh": 7,
    "attende": 8, "attonde": 8, "eighth": 8,
}  # fmt: skip
_EVERY = {"every", "each", "hver", "hvert", "kvar", "kvart", "varje", "var", "alle", "per"}
_WEEK_UNITS = {"week", "weeks", "uke", "uker", "uka", "veke", "veker", "vecka", "veckor", "veckan"}
_MONTH_UNITS = {
    "month", "months", "maned", "maneder", "maneden", "maneds", "manad", "manader",
    "manaden", "manadens", "mand", "mnd",
}  # fmt: skip
_EVERY_OTHER = {"annenhver", "annahver", "annakvar", "varannan", "everyother", "hverannen"}
_WEEKLY_WORDS = {"weekly", "ukentlig", "ukentleg", "veckovis", "varje_vecka"}
_BIWEEKLY_WORDS = {"biweekly", "fortnightly"}
_MONTHLY_WORDS = {"monthly", "manedlig", "manadlig", "manatlig", "manadsvis", "manedsvis"}
_FILLER = {
    "the", "of", "on", "in", "at", "a", "an", "and",
    "i", "pa", "om", "den", "det", "de", "dei",
    "kl", "klokka", "klokken", "klockan",
    "day", "dag", "dagen",
}  # fmt: skip
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bsecond[ -]?to[ -]?last\b", "penultimate"),
    (r"\bnext[ -]?to[ -]?last\b", "penultimate"),
    (r"\bsecond[ -]last\b", "penultimate"),
    (r"\bnest[ -]?siste?\b", "penultimate"),
    (r"\bnast[ -]?sista\b", "penultimate"),
    (r"\bannen[ -]hver\b", "annenhver"),
    (r"\bhver (annen|andre)\b", "annenhver"),
    (r"\bkvar (anna|andre)\b", "annakvar"),
    (r"\bvar (annan|andra)\b", "varannan"),
    (r"\bevery (other|second)\b", "everyother"),
    (r"\bvarje vecka\b", "varje_vecka"),
)

_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?"
_RANGE_RE = re.compile(
    r"(?:\b(?:kl|klokka|klokken|klockan|at|from|fra|fran)\.?\s*)?"
    + _TIME
    + r"\s*(?:-|\bto\b|\btil\b|\btill\b)\s*(?:\b(?:kl|klokka|klokken|klockan)\.?\s*)?"
    + _TIME
    + r"(?![\d:])"
)
_START_RE = re.compile(
    r"(?:\b(?:kl|klokka|klokken|klockan|at|from|fra|fran)\.?\s*" + _TIME + r"(?![\d:])"
    r"|\b(\d{1,2})[:.](\d{2})\s*(am|pm)?(?![\d:]))"
)


def _clock(hours: str, minutes: str | None, meridiem: str | None, text: str) -> time:
    hour = int(hours)
    minute = int(minutes) if minutes else 0
    if meridiem:
        if not 1 <= hour <= 12:
            raise BadInput("series.error.unknown_rule", text=text)
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise BadInput("series.error.unknown_rule", text=text)
    return time(hour, minute)


def _extract_times(folded: str, original: str) -> tuple[str, time | None, time | None]:
    match = _RANGE_RE.search(folded)
    if match:
        g = match.groups()
        meridiem_end = g[5]
        start = _clock(g[0], g[1], g[2] or meridiem_end, original)
        end = _clock(g[3], g[4], meridiem_end, original)
        if end <= start:
            raise BadInput("series.error.end_before_start")
        rest = folded[: match.start()] + " " + folded[match.end() :]
        return rest, start, end
    match = _START_RE.search(folded)
    if match:
        g = match.groups()
        start = (
            _clock(g[0], g[1], g[2], original)
            if g[0] is not None
            else _clock(g[3], g[4], g[5], original)
        )
        rest = folded[: match.start()] + " " + folded[match.end() :]
        return rest, start, None
    return folded, None, None


def _weekday_of(token: str) -> int | None:
    for suffix in _WEEKDAY_SUFFIXES:
        if suffix and not token.endswith(suffix):
            continue
        stem = token[: len(token) - len(suffix)] if suffix else token
        day = _WEEKDAY_STEMS.get(stem)
        if day is not None and (not suffix or len(stem) >= _LONG_STEM_MIN):
            return day
    return None


_NUMBER_RE = re.compile(r"^(\d{1,2})(st|nd|rd|th|:a|:e|e|a|\.)?$")


def _number_of(token: str) -> tuple[int, bool] | None:
    """(value, written as an ordinal) for `4`, `4.`, `4th`, `4:e`, `fourth`, `four` …"""
    match = _NUMBER_RE.match(token)
    if match:
        return int(match.group(1)), bool(match.group(2))
    if token in _ORDINALS:
        return _ORDINALS[token], True
    if token in _CARDINALS:
        return _CARDINALS[token], False
    return None


def parse_rule(text: str) -> ParsedRule:
    """Read a rule phrase in Norwegian Bokmål, Swedish or English.

    Examples: "first Thursday of every month, 08:30–10:00", "the last Tuesday",
    "every 4 weeks on Wednesday", "every second Tuesday", "annenhver tirsdag kl 8.30-10",
    "tredje onsdag i måneden", "tredje onsdagen varje månad", "varannan tisdag",
    "the fifth Monday of every month" (see `RecurrenceRule.skips_some_months`).
    Anything else raises BadInput("series.error.unknown_rule", text=...).
    """
    original = text.strip()[:200]
    folded = _fold(original)
    folded, start, end = _extract_times(folded, original)
    for pattern, replacement in _PHRASES:
        folded = re.sub(pattern, replacement, folded)
    tokens = re.findall(r"\d{1,2}(?:st|nd|rd|th|:a|:e|e|a|\.)?|[a-z_]+", folded)
    rule = _rule_from_tokens(tokens)
    if rule is None:
        raise BadInput("series.error.unknown_rule", text=original)
    return ParsedRule(rule, start, end)


def _rule_from_tokens(tokens: Sequence[str]) -> RecurrenceRule | None:
    weekday: int | None = None
    ordinal: int | None = None
    unit: str | None = None  # "week" | "month"
    interval: int | None = None
    used = [False] * len(tokens)

    def set_unit(new: str, count: int) -> bool:
        nonlocal unit, interval
        if unit is None:
            unit, interval = new, count
            return True
        if unit != new:
            return False
        if count == 1:  # "every month … of every month"
            return True
        if interval == 1:
            interval = count
            return True
        return interval == count

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if used[i]:
            i += 1
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in _EVERY or tok in _EVERY_OTHER or tok in _BIWEEKLY_WORDS:
            used[i] = True
            count = 1
            j = i + 1
            if tok in _EVERY_OTHER or tok in _BIWEEKLY_WORDS:
                count = 2
            else:
                number = _number_of(nxt) if nxt else None
                if number is not None and 2 <= number[0] <= MAX_WEEK_INTERVAL:
                    count = number[0]
                    used[j] = True
                    j += 1
            follow = tokens[j] if j < len(tokens) else ""
            if follow in _WEEK_UNITS:
                used[j] = True
                if not set_unit("week", count):
                    return None
            elif follow in _MONTH_UNITS:
                used[j] = True
                if not set_unit("month", count):
                    return None
            elif tok in _BIWEEKLY_WORDS or _weekday_of(follow) is not None:
                if not set_unit("week", count):
                    return None
            elif count != 1:
                return None
            i = j
            continue
        if tok in _WEEKLY_WORDS:
            used[i] = True
            if not set_unit("week", 1):
                return None
        elif tok in _MONTHLY_WORDS or tok in _MONTH_UNITS:
            used[i] = True
            if not set_unit("month", 1):
                return None
        elif tok in _WEEK_UNITS:
            return None
        elif (day := _weekday_of(tok)) is not None:
            if weekday is not None and weekday != day:
                return None
            weekday = day
            used[i] = True
        elif (number := _number_of(tok)) is not None and (
            number[1] or (tok.isdigit() and _weekday_of(nxt) is not None)
        ):
            if ordinal is not None or number[0] not in (1, 2, 3, 4, 5, -1, -2):
                return None
            ordinal = number[0]
            used[i] = True
        elif tok in _FILLER:
            used[i] = True
        else:
            return None
        i += 1

    if weekday is None:
        return None
    if ordinal is not None:
        if unit == "week":
            return None
        count = interval or 1
        if count > MAX_MONTH_INTERVAL:
            return None
        return RecurrenceRule("MONTHLY", weekday, ordinal, count)
    if unit == "month":
        return None  # "every month on Tuesday": which Tuesday?
    count = interval or 1
    return RecurrenceRule("WEEKLY", weekday, None, count)


# --------------------------------------------------------------------------- description


def describe_rule(rule: RecurrenceRule, text: Callable[..., str]) -> str:
    """The rule in words, through a catalogue lookup `text(key, **params)` (an `i18n.Text`).

    Keys: `series.rule.weekly`, `series.rule.weekly_interval`, `series.rule.monthly`,
    `series.rule.monthly_interval`, `series.weekday.N` / `series.weekday_nth.N` (N = 0..6),
    `series.ordinal.N` (N = 1..5, -1, -2).
    """
    params: dict[str, Any] = {"interval": rule.interval}
    if rule.ordinal is None:
        params["weekday"] = text(f"series.weekday.{rule.weekday}")
        key = "series.rule.weekly" if rule.interval == 1 else "series.rule.weekly_interval"
    else:
        params["weekday"] = text(f"series.weekday_nth.{rule.weekday}")
        params["ordinal"] = text(f"series.ordinal.{rule.ordinal}")
        key = "series.rule.monthly" if rule.interval == 1 else "series.rule.monthly_interval"
    return text(key, **params)
