"""Report statistics: hand-computed numbers on a small data set, and invariants (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.stats import (
    UNKNOWN_SECTOR,
    AnswerFact,
    AnswerStatus,
    CheckinFact,
    IntroFact,
    MatchGroupFact,
    MeetingFact,
    MemberFact,
    MetAnswer,
    MonthCount,
    Report,
    ReportRequest,
    build_report,
    default_range,
)

ZONE = "Europe/Oslo"
# Snowflake-like ids, so the output tests can look for them and find none.
P1, P2, P3, P4, P5, P6, P7, P8, P9, P10 = (987654321000000000 + i for i in range(1, 11))

# The range: 1 Jan 2026 00:00 to 1 Jul 2026 00:00, Oslo time (UTC+1 in winter, +2 in summer).
START = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
END = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
REQUEST = ReportRequest(START, END, ZONE)


def _at(year: int, month: int, day: int, hour: int = 17) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def hand_built() -> tuple[
    list[MeetingFact],
    list[AnswerFact],
    list[CheckinFact],
    list[MatchGroupFact],
    list[IntroFact],
]:
    meetings = [
        MeetingFact(1, _at(2025, 11, 10), "Før perioden", "scheduled"),
        MeetingFact(10, START, "Nyttårsmøte", "scheduled"),  # exactly at start: in range
        MeetingFact(2, _at(2026, 2, 10), "Februar", "scheduled"),
        MeetingFact(3, _at(2026, 3, 10), "Mars", "scheduled"),
        MeetingFact(4, _at(2026, 4, 10), "April (avlyst)", "cancelled"),
        MeetingFact(5, _at(2026, 5, 10), "Mai", "scheduled"),
        MeetingFact(7, END, "Exactly at the end", "scheduled"),  # excluded
        MeetingFact(6, _at(2026, 8, 10), "Etter perioden", "scheduled"),
    ]
    answers = [
        AnswerFact(1, P1, "going", "civil_society"),
        AnswerFact(1, P2, "going", "business"),
        # Meeting 2 has a check-in: it overrides the answers.
        AnswerFact(2, P1, "going", "civil_society"),
        AnswerFact(2, P3, "going", "public_sector"),  # said going, did not come
        AnswerFact(2, P4, "maybe", "business"),
        AnswerFact(2, P5, "not_going", "business"),
        AnswerFact(2, P6, "waitlist", None),
        AnswerFact(3, P3, "going", "public_sector"),
        AnswerFact(3, P7, "going", "business"),
        AnswerFact(3, None, "going", "civil_society"),  # anonymised
        AnswerFact(3, P1, "maybe", "civil_society"),
        AnswerFact(4, P1, "going", "civil_society"),
        AnswerFact(4, P8, "going", "civil_society"),
        AnswerFact(5, P8, "going", "civil_society"),
        AnswerFact(5, P7, "going", "business"),
        AnswerFact(7, P9, "going", "public_sector"),
        AnswerFact(6, P9, "going", "public_sector"),
    ]
    checkins = [
        CheckinFact(2, P1, "civil_society"),
        CheckinFact(2, P2, "business"),  # came without answering
        CheckinFact(2, None, None),  # anonymised, sector gone
    ]
    groups = [
        MatchGroupFact(0, _at(2025, 12, 1), "pairs", (MemberFact(P1, "civil_society"),)),
        MatchGroupFact(
            1,
            _at(2026, 2, 12),
            "pairs",
            (MemberFact(P1, "civil_society", "yes"), MemberFact(P2, "business", "yes")),
        ),
        MatchGroupFact(
            1,
            _at(2026, 2, 12),
            "pairs",
            (MemberFact(P3, "public_sector", "no"), MemberFact(P7, "public_sector", None)),
        ),
        MatchGroupFact(
            1,
            _at(2026, 2, 12),
            "pairs",
            (
                MemberFact(P8, "civil_society", "planned"),
                MemberFact(None, "business", "yes"),
                MemberFact(P9, "public_sector", None),
            ),
        ),
        MatchGroupFact(
            2,
            _at(2026, 3, 20),
            "tables",
            (
                MemberFact(P1, "civil_society"),
                MemberFact(P2, "business"),
                MemberFact(P3, "public_sector"),
                MemberFact(P10, "civil_society"),
            ),
        ),
    ]
    intros = [
        IntroFact(P1, _at(2025, 6, 1)),
        IntroFact(P2, datetime(2025, 12, 31, 22, 59, tzinfo=UTC)),  # 23:59 local: before
        IntroFact(P3, datetime(2025, 12, 31, 23, 30, tzinfo=UTC)),  # 00:30 local: January
        IntroFact(P4, _at(2026, 3, 15)),
        IntroFact(None, _at(2026, 3, 15, 18)),
        IntroFact(P5, datetime(2026, 6, 30, 21, 59, tzinfo=UTC)),  # 23:59 local: June
        IntroFact(P6, END),  # excluded
    ]
    return meetings, answers, checkins, groups, intros


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(REQUEST, *hand_built())


def test_meetings_in_range_in_date_order(report: Report) -> None:
    assert [m.meeting_id for m in report.meetings] == [10, 2, 3, 4, 5]
    assert report.meetings[0].date_local == date(2026, 1, 1)


def test_checkin_overrides_answers(report: Report) -> None:
    m2 = report.meetings[1]
    assert (m2.going, m2.maybe, m2.not_going, m2.waitlist) == (2, 1, 1, 1)
    assert m2.attended == 3
    assert m2.participants == 3
    assert dict(m2.by_sector) == {"business": 1, "civil_society": 1, UNKNOWN_SECTOR: 1}
    # P1 and P2 came to meeting 1 (before the range): both returning; the anonymous neither.
    assert (m2.new_participants, m2.returning_participants) == (0, 2)
    assert m2.anonymous_participants == 1


def test_going_counts_without_checkin(report: Report) -> None:
    m3 = report.meetings[2]
    assert m3.attended is None
    assert dict(m3.by_sector) == {"business": 1, "civil_society": 1, "public_sector": 1}
    # P3 said going to meeting 2 but did not come, so meeting 3 is P3's first.
    assert (m3.new_participants, m3.returning_participants, m3.participants) == (2, 0, 3)


def test_cancelled_meeting_is_listed_without_participants(report: Report) -> None:
    m4 = report.meetings[3]
    assert m4.status == "cancelled"
    assert m4.going == 2
    assert (m4.participants, m4.attended, dict(m4.by_sector)) == (0, None, {})
    assert (m4.new_participants, m4.returning_participants) == (0, 0)
    # ...and does not count as "came before": P8 is new at meeting 5.
    m5 = report.meetings[4]
    assert (m5.new_participants, m5.returning_participants) == (1, 1)


def test_meeting_at_start_without_answers(report: Report) -> None:
    m10 = report.meetings[0]
    assert (m10.participants, m10.answers, m10.attended) == (0, 0, None)


def test_rounds(report: Report) -> None:
    r1, r2 = report.rounds
    assert (r1.round_id, r1.date_local, r1.kind) == (1, date(2026, 2, 12), "pairs")
    assert (r1.groups, r1.people, r1.cross_sector_groups) == (3, 7, 2)
    assert r1.cross_sector_share == pytest.approx(2 / 3)
    assert (r1.answered, r1.met_yes, r1.met_share) == (5, 3, pytest.approx(0.6))
    assert (r2.round_id, r2.kind, r2.groups, r2.people, r2.cross_sector_groups) == (
        2,
        "tables",
        1,
        4,
        1,
    )
    assert (r2.cross_sector_share, r2.answered, r2.met_share) == (1.0, 0, None)


def test_cross_sector_contacts(report: Report) -> None:
    t = report.totals
    # Round 1: P1–P2, and in the trio P8–anon, P8–P9, anon–P9 (4). Round 2's table:
    # P1–P3, P2–P3, P2–P10, P3–P10 are new; P1–P2 is not; P1–P10 share a sector (4).
    assert t.unique_cross_sector_contacts == 8
    assert t.matched_people == 8
    assert t.contacts_per_participant == pytest.approx(2.0)
    # Round 1 (12 Feb) is nearest meeting 2 (10 Feb), round 2 (20 Mar) meeting 3 (10 Mar).
    assert [m.cross_sector_contacts for m in report.meetings] == [0, 4, 4, 0, 0]


def test_totals(report: Report) -> None:
    t = report.totals
    assert (t.meetings, t.cancelled_meetings, t.checked_in_meetings) == (4, 1, 1)
    assert t.unique_participants == 5  # P1, P2, P3, P7, P8
    assert (t.new_participants, t.participated_before) == (3, 2)
    assert t.participations == 8
    assert t.answers == 13
    assert t.attended == 3
    assert (t.rounds, t.pairs, t.tables) == (2, 3, 1)
    assert t.cross_sector_share == pytest.approx(0.75)
    assert t.met_share == pytest.approx(0.6)
    assert report.sectors == ("business", "civil_society", "public_sector", UNKNOWN_SECTOR)


def test_introductions_growth(report: Report) -> None:
    t = report.totals
    assert (t.introductions_before, t.introductions_in_range) == (2, 4)
    assert t.introductions_growth == (
        MonthCount(date(2026, 1, 1), 1, 3),
        MonthCount(date(2026, 2, 1), 0, 3),
        MonthCount(date(2026, 3, 1), 2, 5),
        MonthCount(date(2026, 4, 1), 0, 5),
        MonthCount(date(2026, 5, 1), 0, 5),
        MonthCount(date(2026, 6, 1), 1, 6),
    )


def test_empty_facts() -> None:
    report = build_report(REQUEST, [], [], [], [], [])
    assert report.is_empty
    assert report.totals.cross_sector_share is None
    assert report.totals.met_share is None
    assert report.totals.contacts_per_participant == 0.0
    assert len(report.totals.introductions_growth) == 6


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # 23 Nov 2026 in Oslo → 1 Dec 2025 00:00 Oslo (winter time, UTC+1).
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), datetime(2025, 11, 30, 23, 0, tzinfo=UTC)),
        # Late on 31 Jan UTC is already 1 Feb in Oslo → 1 Mar 2025.
        (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), datetime(2025, 2, 28, 23, 0, tzinfo=UTC)),
        # Summer: 1 Sep 2025 00:00 Oslo is 31 Aug 22:00 UTC.
        (datetime(2026, 8, 5, 12, 0, tzinfo=UTC), datetime(2025, 8, 31, 22, 0, tzinfo=UTC)),
    ],
)
def test_default_range_is_twelve_calendar_months(now: datetime, start: datetime) -> None:
    got_start, got_end = default_range(now, ZONE)
    assert (got_start, got_end) == (start, now)
    report = build_report(ReportRequest(got_start, got_end, ZONE), [], [], [], [], [])
    assert len(report.totals.introductions_growth) == 12


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        ReportRequest(END, START, ZONE)
    with pytest.raises(ValueError):
        ReportRequest(datetime(2026, 1, 1), END, ZONE)  # noqa: DTZ001 (naive on purpose: refused)
    with pytest.raises(ValueError):
        ReportRequest(START, END, "Not/AZone")
    with pytest.raises(ValueError):
        MeetingFact(1, START, "x", "postponed")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AnswerFact(1, 1, "yes", None)  # type: ignore[arg-type]


# --- invariants ---------------------------------------------------------------------------

BASE = datetime(2025, 1, 1, tzinfo=UTC)
SECTORS = ("civil_society", "business", "public_sector", "other")
PEOPLE = st.one_of(st.none(), st.integers(1, 12))


def _moment(hours: int) -> datetime:
    return BASE + timedelta(hours=hours)


HOURS = st.integers(0, 24 * 365 * 2)


@st.composite
def facts(draw: st.DrawFn) -> tuple[ReportRequest, tuple[list[object], ...]]:
    meeting_count = draw(st.integers(0, 8))
    meetings = [
        MeetingFact(
            i,
            _moment(draw(HOURS)),
            f"m{i}",
            draw(st.sampled_from(["scheduled", "scheduled", "cancelled"])),
        )
        for i in range(meeting_count)
    ]
    answers: list[AnswerFact] = []
    checkins: list[CheckinFact] = []
    sector = st.one_of(st.none(), st.sampled_from(SECTORS))
    for meeting in meetings:
        known = draw(st.sets(st.integers(1, 12), max_size=8))
        for person in sorted(known):
            status = draw(st.sampled_from(get_args(AnswerStatus)))
            answers.append(AnswerFact(meeting.meeting_id, person, status, draw(sector)))
        for _ in range(draw(st.integers(0, 2))):
            answers.append(AnswerFact(meeting.meeting_id, None, "going", draw(sector)))
        if draw(st.booleans()):
            for person in sorted(draw(st.sets(st.integers(1, 12), max_size=6))):
                checkins.append(CheckinFact(meeting.meeting_id, person, draw(sector)))
            for _ in range(draw(st.integers(0, 1))):
                checkins.append(CheckinFact(meeting.meeting_id, None, draw(sector)))
    groups: list[MatchGroupFact] = []
    for round_id in range(draw(st.integers(0, 4))):
        at = _moment(draw(HOURS))
        kind = draw(st.sampled_from(["pairs", "tables"]))
        people = draw(st.lists(st.integers(1, 12), unique=True, max_size=10))
        size = 2 if kind == "pairs" else 4
        for i in range(0, len(people), size):
            members = [
                MemberFact(
                    p if draw(st.integers(0, 5)) else None,
                    draw(st.sampled_from(SECTORS)),
                    draw(st.one_of(st.none(), st.sampled_from(get_args(MetAnswer)))),
                )
                for p in people[i : i + size]
            ]
            groups.append(MatchGroupFact(round_id, at, kind, tuple(members)))
    intros = [IntroFact(draw(PEOPLE), _moment(h)) for h in draw(st.lists(HOURS, max_size=10))]
    a, b = sorted(draw(st.lists(HOURS, min_size=2, max_size=2, unique=True)))
    request = ReportRequest(_moment(a), _moment(b), draw(st.sampled_from([ZONE, "UTC"])))
    return request, (meetings, answers, checkins, groups, intros)


def _build(request: ReportRequest, data: tuple[list[object], ...]) -> Report:
    return build_report(request, *data)  # type: ignore[arg-type]


def _in_unit(value: float | None) -> bool:
    return value is None or 0.0 <= value <= 1.0


@settings(max_examples=50, deadline=None)
@given(facts())
def test_totals_are_consistent(case: tuple[ReportRequest, tuple[list[object], ...]]) -> None:
    request, data = case
    report = _build(request, data)
    t = report.totals
    for row in report.meetings:
        assert row.anonymous_participants >= 0
        assert sum(row.by_sector.values()) == row.participants
        if row.status == "cancelled":
            assert (row.participants, row.attended, row.new_participants) == (0, None, 0)
        elif row.attended is not None:
            assert row.attended == row.participants
        else:
            assert row.participants == row.going
    assert t.meetings + t.cancelled_meetings == len(report.meetings)
    assert t.new_participants == sum(r.new_participants for r in report.meetings)
    assert 0 <= t.new_participants <= t.unique_participants <= t.participations
    assert t.participated_before >= 0
    assert t.answers == sum(r.going + r.maybe + r.not_going + r.waitlist for r in report.meetings)
    assert t.pairs + t.tables == sum(r.groups for r in report.rounds)
    for value in [t.cross_sector_share, t.met_share] + [
        s for r in report.rounds for s in (r.cross_sector_share, r.met_share)
    ]:
        assert _in_unit(value)
    n = t.matched_people
    assert t.unique_cross_sector_contacts <= n * (n - 1) // 2
    assert 0.0 <= t.contacts_per_participant <= max(0, n - 1)
    attributed = sum(r.cross_sector_contacts for r in report.meetings)
    assert attributed == (t.unique_cross_sector_contacts if t.meetings else 0)
    growth = t.introductions_growth
    assert sum(m.introductions for m in growth) == t.introductions_in_range
    assert growth[-1].cumulative == t.introductions_before + t.introductions_in_range


@settings(max_examples=50, deadline=None)
@given(facts(), st.randoms(use_true_random=False))
def test_order_of_facts_and_members_does_not_matter(
    case: tuple[ReportRequest, tuple[list[object], ...]], rnd: random.Random
) -> None:
    request, data = case
    expected = _build(request, data)
    meetings, answers, checkins, groups, intros = (list(part) for part in data)
    for part in (meetings, answers, checkins, groups, intros):
        rnd.shuffle(part)
    # Contacts are unordered pairs: reversing every group changes nothing.
    flipped = [
        MatchGroupFact(g.round_id, g.round_at, g.kind, tuple(reversed(g.members)))
        for g in groups
        if isinstance(g, MatchGroupFact)
    ]
    got = _build(request, (meetings, answers, checkins, flipped, intros))
    assert got == expected


@settings(max_examples=50, deadline=None)
@given(facts())
def test_everyone_is_new_exactly_once_over_all_time(
    case: tuple[ReportRequest, tuple[list[object], ...]],
) -> None:
    _, data = case
    everything = ReportRequest(BASE, _moment(24 * 365 * 2 + 1), "UTC")
    report = _build(everything, data)
    assert sum(row.new_participants for row in report.meetings) == (
        report.totals.unique_participants
    )
    assert report.totals.participated_before == 0
