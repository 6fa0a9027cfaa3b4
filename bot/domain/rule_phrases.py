"""Rule phrases: recurrence rules as people type them (nb, sv, en) and in words.

`parse_rule("første torsdag i måneden 08:30-10:00")` → a `ParsedRule` (the
`RecurrenceRule` and the time range if the phrase had one); `describe_rule` says a rule
back through the catalogue. The rules and their occurrences are in
`bot.domain.recurrence`; this module only reads and writes the words.

Nothing here imports discord; every refusal is a `BadInput` with a catalogue key from the
`reminders` domain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

from bot.domain.recurrence import MAX_MONTH_INTERVAL, MAX_WEEK_INTERVAL, RecurrenceRule
from bot.errors import BadInput


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """What `parse_rule` found: the rule, and the time range if the phrase had one."""

    rule: RecurrenceRule
    start_time: time | None = None
    end_time: time | None = None


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
