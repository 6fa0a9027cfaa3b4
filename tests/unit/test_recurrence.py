"""Recurrence: phrases in nb/sv/en, RRULE round trips, occurrences in local wall time."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.moments import local_to_utc
from bot.domain.recurrence import (
    RecurrenceRule,
    SeriesSchedule,
    next_occurrence,
    occurrences,
    validate_lead_days,
    validate_series,
)
from bot.domain.rule_phrases import parse_rule
from bot.errors import BadInput

MO, TU, WE, TH, FR = range(5)

PHRASES: list[tuple[str, str]] = [
    # English
    ("first Thursday of every month, 08:30–10:00", "FREQ=MONTHLY;BYDAY=1TH"),
    ("the last Tuesday", "FREQ=MONTHLY;BYDAY=-1TU"),
    ("every 4 weeks on Wednesday", "FREQ=WEEKLY;INTERVAL=4;BYDAY=WE"),
    ("every second Tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    ("every other Tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    ("third Wednesday", "FREQ=MONTHLY;BYDAY=3WE"),
    ("the fifth Monday of every month", "FREQ=MONTHLY;BYDAY=5MO"),
    ("Every Wednesday", "FREQ=WEEKLY;BYDAY=WE"),
    ("second to last Friday of the month", "FREQ=MONTHLY;BYDAY=-2FR"),
    ("1st Thursday", "FREQ=MONTHLY;BYDAY=1TH"),
    ("first Thursday every other month", "FREQ=MONTHLY;INTERVAL=2;BYDAY=1TH"),
    ("biweekly on tuesdays", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    # Norwegian Bokmål
    ("første torsdag i måneden", "FREQ=MONTHLY;BYDAY=1TH"),
    ("Første torsdag hver måned kl 8.30-10", "FREQ=MONTHLY;BYDAY=1TH"),
    ("forste torsdag i maneden", "FREQ=MONTHLY;BYDAY=1TH"),
    ("siste tirsdag", "FREQ=MONTHLY;BYDAY=-1TU"),
    ("annenhver tirsdag", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    ("annen hver tirsdag", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    ("tredje onsdag i måneden", "FREQ=MONTHLY;BYDAY=3WE"),
    ("hver 4. uke på onsdag", "FREQ=WEEKLY;INTERVAL=4;BYDAY=WE"),
    ("hver fjerde uke, onsdag", "FREQ=WEEKLY;INTERVAL=4;BYDAY=WE"),
    ("femte mandag i måneden", "FREQ=MONTHLY;BYDAY=5MO"),
    ("nest siste fredag", "FREQ=MONTHLY;BYDAY=-2FR"),
    ("hver onsdag", "FREQ=WEEKLY;BYDAY=WE"),
    ("andre tirsdag hver måned", "FREQ=MONTHLY;BYDAY=2TU"),
    ("1. torsdag i måneden", "FREQ=MONTHLY;BYDAY=1TH"),
    # Swedish
    ("första torsdagen i månaden", "FREQ=MONTHLY;BYDAY=1TH"),
    ("sista tisdagen", "FREQ=MONTHLY;BYDAY=-1TU"),
    ("varannan tisdag", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    ("var annan tisdag", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    ("tredje onsdagen varje månad", "FREQ=MONTHLY;BYDAY=3WE"),
    ("var fjärde vecka på onsdag", "FREQ=WEEKLY;INTERVAL=4;BYDAY=WE"),
    ("var 4:e vecka på onsdag", "FREQ=WEEKLY;INTERVAL=4;BYDAY=WE"),
    ("femte måndagen i månaden", "FREQ=MONTHLY;BYDAY=5MO"),
    ("näst sista fredagen", "FREQ=MONTHLY;BYDAY=-2FR"),
    ("varje onsdag", "FREQ=WEEKLY;BYDAY=WE"),
]


@pytest.mark.parametrize(("phrase", "rrule"), PHRASES)
def test_phrases_in_three_languages(phrase: str, rrule: str) -> None:
    parsed = parse_rule(phrase)
    assert parsed.rule.to_rrule() == rrule
    assert RecurrenceRule.from_rrule(rrule) == parsed.rule


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("first Thursday of every month, 08:30–10:00", time(8, 30), time(10, 0)),
        ("første torsdag i måneden kl 8.30-10", time(8, 30), time(10, 0)),
        ("första torsdagen i månaden kl. 18–20", time(18, 0), time(20, 0)),
        ("every Wednesday 6-8pm", time(18, 0), time(20, 0)),
        ("Thursdays at 18:30", time(18, 30), None),
        ("siste tirsdag", None, None),
    ],
)
def test_time_ranges(phrase: str, start: time | None, end: time | None) -> None:
    parsed = parse_rule(phrase)
    assert (parsed.start_time, parsed.end_time) == (start, end)


@pytest.mark.parametrize(
    "phrase",
    [
        "",
        "sometimes",
        "every 4 weeks",  # no weekday
        "every month on Tuesday",  # which Tuesday?
        "first Thursday except July",  # we do not drop words silently
        "first Thursday every week",
        "sixth Monday",
        "Monday and Thursday",
        "torsdag kl 25:00-26:00",
    ],
)
def test_unknown_phrases_are_refused_with_the_text(phrase: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_rule(phrase)
    assert caught.value.key == "series.error.unknown_rule"
    assert caught.value.params["text"] == phrase.strip()


def test_end_before_start_in_the_phrase() -> None:
    with pytest.raises(BadInput) as caught:
        parse_rule("torsdag 10-9")
    assert caught.value.key == "series.error.end_before_start"


def test_fifth_weekday_is_flagged_and_months_without_one_are_skipped() -> None:
    rule = parse_rule("the fifth Monday of every month").rule
    assert rule.skips_some_months
    assert not parse_rule("last Monday").rule.skips_some_months
    found = occurrences(
        rule,
        date(2026, 1, 1),
        time(18),
        time(20),
        "Europe/Oslo",
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert [o.local_date for o in found] == [
        date(2026, 3, 30),
        date(2026, 6, 29),
        date(2026, 8, 31),
        date(2026, 11, 30),
    ]


def test_rrule_strings_outside_the_subset_are_refused() -> None:
    for text in ("FREQ=DAILY;BYDAY=MO", "FREQ=MONTHLY;BYDAY=MO,TU", "FREQ=WEEKLY", "x"):
        with pytest.raises(ValueError):
            RecurrenceRule.from_rrule(text)
    assert RecurrenceRule.from_rrule("RRULE:FREQ=MONTHLY;BYDAY=+1TH;WKST=MO") == RecurrenceRule(
        "MONTHLY", TH, 1
    )


# --------------------------------------------------------------------------- properties

ZONES = ["Europe/Oslo", "Europe/Stockholm", "America/New_York", "UTC", "Australia/Sydney"]

rules = st.one_of(
    st.builds(
        RecurrenceRule,
        freq=st.just("MONTHLY"),
        weekday=st.integers(0, 6),
        ordinal=st.sampled_from([1, 2, 3, 4, 5, -1, -2]),
        interval=st.integers(1, 3),
    ),
    st.builds(
        RecurrenceRule,
        freq=st.just("WEEKLY"),
        weekday=st.integers(0, 6),
        ordinal=st.none(),
        interval=st.integers(1, 6),
    ),
)
# Times outside 01:00–03:59 exist exactly once on every day in these zones (their gaps and
# folds lie within that range), so the wall-clock property holds exactly there.
safe_times = st.builds(
    time, st.sampled_from([0, 6, 8, 10, 12, 18, 20, 22]), st.sampled_from([0, 30])
)


@settings(max_examples=150, deadline=None)
@given(
    rule=rules,
    zone=st.sampled_from(ZONES),
    start_day=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
    start_time=safe_times,
    offset_days=st.integers(-60, 400),
    span_days=st.integers(1, 500),
    data=st.data(),
)
def test_occurrences_follow_the_rule_in_local_time(
    rule: RecurrenceRule,
    zone: str,
    start_day: date,
    start_time: time,
    offset_days: int,
    span_days: int,
    data: st.DataObject,
) -> None:
    zi = ZoneInfo(zone)
    after = datetime.combine(start_day, time(), tzinfo=UTC) + timedelta(days=offset_days)
    before = after + timedelta(days=span_days)
    every = occurrences(rule, start_day, start_time, timedelta(hours=1), zone, after, before)
    skipped = frozenset(
        data.draw(st.lists(st.sampled_from([o.local_date for o in every]), max_size=3))
        if every
        else []
    )
    found = occurrences(
        rule, start_day, start_time, timedelta(hours=1), zone, after, before, skipped
    )

    starts = [o.start_utc for o in found]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert [o for o in every if o.local_date not in skipped] == found
    for occ in found:
        assert after <= occ.start_utc < before
        local = occ.start_utc.astimezone(zi)
        assert local.date() == occ.local_date >= start_day
        assert local.time() == start_time  # the same wall-clock time across DST
        assert rule.matches(occ.local_date)
        assert occ.local_date not in skipped
        assert occ.end_utc - occ.start_utc == timedelta(hours=1)
    if rule.freq == "WEEKLY":
        for a, b in itertools.pairwise(found):
            assert (b.local_date - a.local_date).days % (7 * rule.interval) == 0


@settings(max_examples=60, deadline=None)
@given(
    rule=rules,
    zone=st.sampled_from(ZONES),
    start_day=st.dates(date(2025, 1, 1), date(2026, 12, 31)),
    now_days=st.integers(0, 300),
)
def test_next_occurrence_is_the_first_of_occurrences(
    rule: RecurrenceRule, zone: str, start_day: date, now_days: int
) -> None:
    now = datetime.combine(start_day, time(12), tzinfo=UTC) + timedelta(days=now_days)
    nxt = next_occurrence(rule, start_day, time(18), time(20), zone, now)
    assert nxt is not None
    window = occurrences(
        rule, start_day, time(18), time(20), zone, now, nxt.start_utc + timedelta(1)
    )
    assert window[0] == nxt


def test_wall_clock_time_holds_across_both_oslo_changes() -> None:
    rule = parse_rule("every Sunday").rule
    found = occurrences(
        rule,
        date(2026, 3, 1),
        time(8, 30),
        time(10),
        "Europe/Oslo",
        datetime(2026, 3, 20, tzinfo=UTC),
        datetime(2026, 11, 5, tzinfo=UTC),
    )
    by_day = {o.local_date: o for o in found}
    # 29 March and 25 October 2026 are the change days in Europe/Oslo.
    assert by_day[date(2026, 3, 22)].start_utc == datetime(2026, 3, 22, 7, 30, tzinfo=UTC)
    assert by_day[date(2026, 3, 29)].start_utc == datetime(2026, 3, 29, 6, 30, tzinfo=UTC)
    assert by_day[date(2026, 10, 25)].start_utc == datetime(2026, 10, 25, 7, 30, tzinfo=UTC)
    assert by_day[date(2026, 10, 25)].end_utc == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)


def test_nonexistent_time_moves_forward_and_ambiguous_takes_the_first() -> None:
    oslo = ZoneInfo("Europe/Oslo")
    # 02:30 does not exist on 29 March 2026: the first valid local time is 03:00 (01:00 UTC).
    local = datetime(2026, 3, 29, 2, 30)  # noqa: DTZ001 (naive: local wall time)
    assert local_to_utc(local, oslo, gap="forward") == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # 02:30 happens twice on 25 October 2026: the first (summer time, +02:00).
    local = datetime(2026, 10, 25, 2, 30)  # noqa: DTZ001 (naive: local wall time)
    assert local_to_utc(local, oslo, gap="forward") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    rule = parse_rule("last Sunday").rule
    march = occurrences(
        rule,
        date(2026, 1, 1),
        time(2, 30),
        time(4),
        "Europe/Oslo",
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert [o.start_utc.astimezone(oslo).time() for o in march] == [time(3, 0)]
    assert march[0].end_utc.astimezone(oslo).time() == time(4, 0)


def test_skipped_dates_and_next_occurrence() -> None:
    schedule = SeriesSchedule(
        parse_rule("first Thursday").rule,
        date(2026, 1, 1),
        time(8, 30),
        time(10),
        "Europe/Oslo",
        frozenset({date(2026, 7, 2)}),
    )
    nxt = schedule.next_occurrence(datetime(2026, 6, 5, tzinfo=UTC))
    assert nxt is not None and nxt.local_date == date(2026, 8, 6)


def test_validation_errors() -> None:
    rule = parse_rule("first Thursday").rule
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    first = validate_series(rule, date(2026, 1, 1), time(8, 30), time(10), "Europe/Oslo", now)
    assert first.local_date == date(2026, 12, 3)
    cases = [
        ((time(10), time(8, 30), "Europe/Oslo", 21), "series.error.end_before_start"),
        ((time(10), time(10), "Europe/Oslo", 21), "series.error.end_before_start"),
        ((time(8, 30), time(10), "Europe/Nowhere", 21), "series.error.bad_timezone"),
        ((time(8, 30), time(10), "Europe/Oslo", 0), "series.error.lead_range"),
        ((time(8, 30), time(10), "Europe/Oslo", 91), "series.error.lead_range"),
    ]
    for (start, end, zone, lead), key in cases:
        with pytest.raises(BadInput) as caught:
            validate_series(rule, date(2026, 1, 1), start, end, zone, now, lead)
        assert caught.value.key == key
    with pytest.raises(BadInput) as caught:
        validate_series(rule, date(2026, 1, 1), time(8), time(9), "Europe/Nowhere", now)
    assert caught.value.params == {"zone": "Europe/Nowhere"}
    # February has a fifth Monday only when the 1st is a Monday: every 12 months from a
    # February without one never meets again within the horizon.
    never = RecurrenceRule("MONTHLY", MO, 5, 12)
    with pytest.raises(BadInput) as caught:
        validate_series(never, date(2027, 2, 1), time(8), time(9), "Europe/Oslo", now)
    assert caught.value.key == "series.error.no_future"
    assert validate_lead_days(1) == 1 and validate_lead_days(90) == 90
