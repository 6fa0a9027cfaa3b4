"""Collaborations counted (issue 11, part 3): input checks and the pure counts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.collaborations import (
    ORIGINS,
    CollabFact,
    CollabMemberFact,
    check_link,
    check_members,
    check_title,
    collaboration_counts,
    sector_pairs,
    started_at,
)
from bot.domain.national import national_view
from bot.domain.stats import MeetingFact, ReportRequest, build_report
from bot.errors import BadInput

ZONE = "Europe/Oslo"
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)
T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)
SECTORS = ("business", "public_sector", "voluntary", "research")


def member(person: int | None, sector: str, at: datetime | None) -> CollabMemberFact:
    return CollabMemberFact(person, sector, at)


def fact(collab_id: int, origin: str, *members: CollabMemberFact) -> CollabFact:
    return CollabFact(collab_id, origin, members)  # type: ignore[arg-type]


def key_of(call: object, *args: object) -> str:
    with pytest.raises(BadInput) as err:
        call(*args)  # type: ignore[operator]
    return err.value.key


# --- input --------------------------------------------------------------------------------


def test_title_is_one_line_of_at_most_100() -> None:
    assert check_title("  Leksehjelp \n med   frivilligsentralen ") == (
        "Leksehjelp med frivilligsentralen"
    )
    assert check_title("x" * 100) == "x" * 100
    assert key_of(check_title, "x" * 101) == "collab.error.title_long"
    assert key_of(check_title, " \n ") == "collab.error.title_empty"
    assert key_of(check_title, "\u200b\u200c\u2060") == "collab.error.title_empty"
    assert key_of(check_title, "\x00\x01\x07") == "collab.error.title_empty"
    assert check_title("a\x00b") == "ab"


@pytest.mark.parametrize(
    "link",
    ["https://example.no/prosjekt", "http://kommune.no", "HTTPS://Example.org/a?b=c#d"],
)
def test_links_are_http_or_https_with_a_host(link: str) -> None:
    assert check_link(link) == link


@pytest.mark.parametrize(
    "link",
    [
        "ftp://example.no",
        "javascript:alert(1)",
        "example.no",
        "https://",
        "https://localhost",
        "https://exa mple.no",
        "https://[::1",
        "https://example.no/" + "a" * 500,
    ],
)
def test_bad_links_are_refused(link: str) -> None:
    assert key_of(check_link, link) == "collab.error.link"


def test_no_link_is_fine() -> None:
    assert check_link(None) is None
    assert check_link("   ") is None


def test_members_are_distinct_at_least_two_at_most_ten() -> None:
    assert check_members([3, 1, 3, 2]) == (3, 1, 2)
    assert key_of(check_members, [5, 5]) == "collab.error.too_few"
    assert key_of(check_members, []) == "collab.error.too_few"
    assert key_of(check_members, range(11)) == "collab.error.too_many"


# --- counting -----------------------------------------------------------------------------


moments = st.one_of(st.none(), st.integers(0, 90).map(lambda d: T0 + timedelta(days=d)))
members_st = st.lists(
    st.tuples(st.integers(1, 50) | st.none(), st.sampled_from(SECTORS), moments),
    min_size=0,
    max_size=6,
).map(lambda raw: tuple(member(p, s, at) for p, s, at in raw))


@given(members_st, st.randoms())
def test_a_collaboration_counts_once_when_two_confirmed_in_any_order(
    members: tuple[CollabMemberFact, ...], rnd: random.Random
) -> None:
    confirmed = sorted(m.confirmed_at for m in members if m.confirmed_at is not None)
    shuffled = list(members)
    rnd.shuffle(shuffled)
    assert started_at(shuffled) == started_at(members)
    if len(confirmed) < 2:
        assert started_at(members) is None
    else:
        assert started_at(members) == confirmed[1]
    counts = collaboration_counts([fact(1, "match", *members)], START, END, ZONE)
    assert counts.started == (1 if len(confirmed) >= 2 else 0)


@given(st.lists(st.sampled_from(SECTORS), min_size=1, max_size=6), st.randoms())
def test_pairs_of_sectors_are_unordered(sectors: list[str], rnd: random.Random) -> None:
    pairs = sector_pairs(sectors)
    shuffled = list(sectors)
    rnd.shuffle(shuffled)
    assert sector_pairs(shuffled) == pairs
    assert all(a <= b for a, b in pairs)
    distinct = set(sectors)
    assert len(pairs) == (1 if len(distinct) == 1 else len(distinct) * (len(distinct) - 1) // 2)


origins_st = st.sampled_from(ORIGINS)


@settings(max_examples=60)
@given(st.lists(st.tuples(origins_st, members_st), max_size=8))
def test_origins_add_up_and_pairs_count_each_collaboration_once(
    raw: list[tuple[str, tuple[CollabMemberFact, ...]]],
) -> None:
    facts = [fact(i, origin, *members) for i, (origin, members) in enumerate(raw)]
    counts = collaboration_counts(facts, START, END, ZONE)
    assert set(counts.by_origin) == set(ORIGINS)
    assert sum(counts.by_origin.values()) == counts.started
    assert sum(counts.by_month.values()) == counts.started
    assert len(counts.started_moments) == counts.started
    for pair, n in counts.by_pair.items():
        assert pair == tuple(sorted(pair))
        assert n <= counts.started


def test_only_confirmed_members_make_the_pairs_and_anonymised_ones_still_count() -> None:
    counts = collaboration_counts(
        [
            fact(
                1,
                "partner",
                member(None, "business", T0),  # deleted their data after confirming
                member(2, "public_sector", T0 + timedelta(hours=1)),
                member(3, "research", None),  # never confirmed: not among the sectors
            )
        ],
        START,
        END,
        ZONE,
    )
    assert counts.started == 1
    assert dict(counts.by_pair) == {("business", "public_sector"): 1}
    assert counts.by_origin["partner"] == 1


def test_month_is_the_second_confirmation_in_the_servers_zone_and_range_half_open() -> None:
    late_january_utc = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 1 February in Oslo
    facts = [
        fact(1, "match", member(1, "business", START), member(2, "voluntary", late_january_utc)),
        fact(2, "meeting", member(3, "business", END), member(4, "voluntary", END)),  # after
        fact(3, "other", member(5, "business", START), member(6, "business", START)),
    ]
    counts = collaboration_counts(facts, START, END, ZONE)
    assert counts.started == 2
    assert {m.isoformat(): n for m, n in counts.by_month.items()} == {
        "2026-01-01": 1,
        "2026-02-01": 1,
    }
    assert dict(counts.by_pair) == {("business", "business"): 1, ("business", "voluntary"): 1}
    assert dict(counts.by_origin) == {"match": 1, "partner": 0, "meeting": 0, "other": 1}


def test_the_report_carries_the_counts_and_gives_each_to_the_nearest_meeting() -> None:
    request = ReportRequest(START, END, ZONE)
    meetings = [
        MeetingFact(1, datetime(2026, 2, 5, 17, tzinfo=UTC), "Februar", "scheduled"),
        MeetingFact(2, datetime(2026, 4, 2, 17, tzinfo=UTC), "April", "scheduled"),
    ]
    early = datetime(2026, 2, 20, tzinfo=UTC)
    late = datetime(2026, 3, 25, tzinfo=UTC)
    collabs = [
        fact(1, "match", member(1, "business", early), member(2, "voluntary", early)),
        fact(2, "meeting", member(3, "business", late), member(4, "research", late)),
    ]
    report = build_report(request, meetings, [], [], [], [], collabs)
    assert report.collaborations.started == 2
    assert [row.collaborations for row in report.meetings] == [1, 1]
    view = national_view([("Oslo", report), ("Bergen", build_report(request, [], [], [], [], []))])
    assert [row.collaborations for row in view.rows] == [0, 2]
    assert view.total.collaborations == 2


def test_csv_and_chart_show_the_collaborations() -> None:
    import csv
    import io

    from bot.reports.chart import ChartLabels, report_chart
    from bot.reports.csv_export import report_csv

    request = ReportRequest(START, END, ZONE)
    meetings = [MeetingFact(1, datetime(2026, 2, 5, 17, tzinfo=UTC), "Februar", "scheduled")]
    at = datetime(2026, 2, 20, tzinfo=UTC)
    collabs = [fact(1, "partner", member(1, "business", at), member(2, "voluntary", at))]
    report = build_report(request, meetings, [], [], [], [], collabs)
    rows = list(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert ["collaborations_by_sectors"] in rows
    assert ["business", "voluntary", "1"] in rows
    assert ["2026-02", "1"] in rows
    assert ["collaborations_from_partner", "1"] in rows
    labels = ChartLabels(participants="p", contacts="c", empty="e", collaborations="k")
    png = report_chart(report, title="t", sector_labels={}, sector_colours={}, labels=labels)
    assert png.startswith(b"\x89PNG")
