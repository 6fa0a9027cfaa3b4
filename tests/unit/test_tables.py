"""Tables: everyone seated once, sizes even, sectors mixed up to the bound, no recent mates."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.matching import History, MatchConfig, MetRecord, Person
from bot.domain.tables import seat, sector_lower_bound

SECTORS = ("civil_society", "business", "public_sector", "other")


def _people(sectors: list[str]) -> list[Person]:
    return [
        Person(f"p{i:03d}", "", s, frozenset({("language", "housing")[i % 2]}))
        for i, s in enumerate(sectors)
    ]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(SECTORS), min_size=2, max_size=40), st.integers(3, 6))
def test_everyone_once_and_sizes_even(sectors: list[str], size: int) -> None:
    people = _people(sectors)
    seating = seat(people, History(), size, MatchConfig(seed=1), moves_per_person=50)
    members = [m for t in seating.tables for m in t.members]
    assert sorted(members) == sorted(p.id for p in people)
    sizes = [len(t.members) for t in seating.tables]
    assert max(sizes) - min(sizes) <= 1 and max(sizes) <= size
    summary = seating.summary
    assert summary.same_sector_pairs >= summary.same_sector_lower_bound
    again = seat(people, History(), size, MatchConfig(seed=1), moves_per_person=50)
    assert again.tables == seating.tables


def test_even_mix_reaches_the_bound() -> None:
    people = _people([SECTORS[i % 4] for i in range(24)])
    seating = seat(people, History(), 4)
    assert seating.summary.same_sector_pairs == sector_lower_bound(people, 6) == 0
    assert seating.summary.cross_sector_share == 1.0


def test_recent_table_mates_are_split() -> None:
    people = _people([SECTORS[i % 4] for i in range(8)])
    first = seat(people, History(), 4)
    records = [
        MetRecord(a, b, date(2026, 1, 1))
        for t in first.tables
        for i, a in enumerate(t.members)
        for b in t.members[i + 1 :]
    ]
    second = seat(people, History.from_records(records), 4)
    assert second.summary.repeats < first.summary.same_sector_pairs + 6
    assert second.summary.repeats <= 4  # 2 tables of 4: some overlap is unavoidable


def test_bound_counts_sector_pairs() -> None:
    people = _people(["business"] * 5 + ["other"])
    assert sector_lower_bound(people, 2) == 1 + 3  # 2 and 3 business people at the tables
