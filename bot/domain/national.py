"""The national view: one row per region (server) that opted in, and a total. Counts only.

Pure: each region's `Report` (built by `bot.domain.stats` from that server's facts alone)
in, rows out. Servers are strictly apart: nobody is compared across servers, so a person
active in two regions counts in both, and the total is the sum of the rows.

Per region:
* `meetings`: held (not cancelled) meetings in the range.
* `participants` and `by_sector`: people in those meetings (`Totals.participants_by_sector`:
  each known person once under their profile's sector, each anonymised participation once).
* `new_participants`: people whose first meeting ever was in the range.
* `new_contacts`: unique cross-sector contacts made in match rounds in the range.
* `rounds`, `introductions`: match rounds and introductions in the range.
* `collaborations`: collaborations started in the range (confirmed by two members; see
  `bot.domain.collaborations`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.domain.stats import Report

__all__ = ["NationalRow", "NationalView", "national_view"]


@dataclass(frozen=True, slots=True)
class NationalRow:
    region: str
    meetings: int
    participants: int
    by_sector: Mapping[str, int]
    new_participants: int
    new_contacts: int
    rounds: int
    introductions: int
    collaborations: int = 0


@dataclass(frozen=True, slots=True)
class NationalView:
    rows: tuple[NationalRow, ...]  # by region name, then as given
    total: NationalRow  # region "" (the caller labels it)
    sectors: tuple[str, ...]  # every sector key with a count, sorted


def _row(region: str, report: Report) -> NationalRow:
    t = report.totals
    return NationalRow(
        region=region,
        meetings=t.meetings,
        participants=t.people,
        by_sector=MappingProxyType(dict(t.participants_by_sector)),
        new_participants=t.new_participants,
        new_contacts=t.unique_cross_sector_contacts,
        rounds=t.rounds,
        introductions=t.introductions_in_range,
        collaborations=report.collaborations.started,
    )


def national_view(regions: Iterable[tuple[str, Report]]) -> NationalView:
    """A row per (region name, report) and their sum."""
    rows = sorted((_row(name, report) for name, report in regions), key=lambda r: r.region)
    sectors: Counter[str] = Counter()
    for row in rows:
        sectors.update(row.by_sector)
    total = NationalRow(
        region="",
        meetings=sum(r.meetings for r in rows),
        participants=sum(r.participants for r in rows),
        by_sector=MappingProxyType(dict(sorted(sectors.items()))),
        new_participants=sum(r.new_participants for r in rows),
        new_contacts=sum(r.new_contacts for r in rows),
        rounds=sum(r.rounds for r in rows),
        introductions=sum(r.introductions for r in rows),
        collaborations=sum(r.collaborations for r in rows),
    )
    return NationalView(tuple(rows), total, tuple(sorted(s for s, n in sectors.items() if n)))
