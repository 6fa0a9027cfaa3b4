"""Tables at the physical meeting: mixed sectors, spread interests, no recent table-mates.

`seat(people, history, size, config)` splits everyone into ceil(n / size) tables whose sizes
differ by at most one, by a heuristic: a greedy deal (people sorted by sector, largest
sector first, dealt round the tables in a snake so every sector spreads evenly), then a
seeded local search of swaps between tables that keeps any swap lowering the cost.

Cost of a seating (lower is better), summed over the pairs sitting at the same table:
    repeat (met in the last N rounds)      1000
    same sector                             100
    same organisation                        10
    sharing no interest                       1

The quality report compares the number of same-sector pairs at tables with the simple
lower bound: whatever the seating, sector s with N_s people over T tables puts at least
r·C(q+1, 2) + (T − r)·C(q, 2) same-sector pairs together (q = N_s // T, r = N_s % T: the
sector spread as evenly as possible), summed over sectors. The bound ignores table sizes,
so it may be unreachable; the gap is an upper bound on how far from optimal the mix is.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.match_model import summary_fields
from bot.domain.matching import (
    Group,
    History,
    MatchConfig,
    Person,
    group_reasons,
    pair_score,
    validate_people,
)

REPEAT_COST = 1000
SECTOR_COST = 100
ORG_COST = 10
NO_INTEREST_COST = 1


@dataclass(frozen=True, slots=True)
class TableSummary:
    people: int
    tables: int
    cross_sector_share: float  # tables with more than one sector
    repeats: int
    same_sector_pairs: int
    same_sector_lower_bound: int
    shared_interest_pairs: int
    cost: int
    score: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            **summary_fields(
                self.people,
                self.tables,
                self.cross_sector_share,
                self.repeats,
                self.score,
                self.seconds,
            ),
            "same_sector_pairs": self.same_sector_pairs,
            "same_sector_lower_bound": self.same_sector_lower_bound,
            "shared_interest_pairs": self.shared_interest_pairs,
        }


@dataclass(frozen=True, slots=True)
class Seating:
    tables: tuple[Group, ...]
    summary: TableSummary


def _norm(org: str) -> str:
    return " ".join(org.casefold().split())


def pair_cost(a: Person, b: Person, history: History) -> int:
    """What seating a and b together costs (see the module docstring)."""
    cost = 0
    if history.met_recently(a.id, b.id):
        cost += REPEAT_COST
    if a.sector == b.sector:
        cost += SECTOR_COST
    if _norm(a.organisation) and _norm(a.organisation) == _norm(b.organisation):
        cost += ORG_COST
    if not a.interests & b.interests:
        cost += NO_INTEREST_COST
    return cost


def sector_lower_bound(people: Sequence[Person], tables: int) -> int:
    """The least number of same-sector pairs any seating at `tables` tables can have."""
    counts: dict[str, int] = {}
    for p in people:
        counts[p.sector] = counts.get(p.sector, 0) + 1
    total = 0
    for count in counts.values():
        q, r = divmod(count, tables)
        total += r * (q + 1) * q // 2 + (tables - r) * q * (q - 1) // 2
    return total


def _initial(people: Sequence[Person], tables: int) -> list[list[int]]:
    by_sector: dict[str, list[int]] = {}
    for i, p in enumerate(people):
        by_sector.setdefault(p.sector, []).append(i)
    order = [
        i for _, members in sorted(by_sector.items(), key=lambda kv: -len(kv[1])) for i in members
    ]
    sizes = [len(people) // tables + (1 if t < len(people) % tables else 0) for t in range(tables)]
    seating: list[list[int]] = [[] for _ in range(tables)]
    t, step = 0, 1
    for i in order:
        while len(seating[t]) >= sizes[t]:
            t, step = _next(t, step, tables)
        seating[t].append(i)
        t, step = _next(t, step, tables)
    return seating


def _next(t: int, step: int, tables: int) -> tuple[int, int]:
    """The next table in a snake: 0, 1, …, T−1, T−1, …, 0, 0, 1, …"""
    if 0 <= t + step < tables:
        return t + step, step
    return t, -step


def seat(
    people: Sequence[Person],
    history: History | None = None,
    size: int = 4,
    config: MatchConfig | None = None,
    *,
    moves_per_person: int = 200,
    max_moves: int = 400_000,
) -> Seating:
    """Tables of about `size` (sizes differ by at most one). Deterministic per seed."""
    started = time.perf_counter()
    config = config or MatchConfig()
    history = history or History()
    ordered = validate_people(people)
    if size < 2:
        raise ValueError("table size must be at least 2")
    n = len(ordered)
    tables = max(1, -(-n // size))
    seating = _initial(ordered, tables)
    matrix = [[pair_cost(a, b, history) for b in ordered] for a in ordered]
    where = [0] * n
    for t, members in enumerate(seating):
        for i in members:
            where[i] = t
    rng = random.Random(config.seed)
    if tables > 1:
        for _ in range(min(moves_per_person * n, max_moves)):
            a, b = rng.randrange(n), rng.randrange(n)
            ta, tb = where[a], where[b]
            if ta == tb:
                continue
            delta = sum(matrix[b][x] - matrix[a][x] for x in seating[ta] if x != a) + sum(
                matrix[a][y] - matrix[b][y] for y in seating[tb] if y != b
            )
            if delta < 0:
                seating[ta][seating[ta].index(a)] = b
                seating[tb][seating[tb].index(b)] = a
                where[a], where[b] = tb, ta
    return _seating(ordered, seating, history, matrix, time.perf_counter() - started)


def _seating(
    people: Sequence[Person],
    seating: list[list[int]],
    history: History,
    cost: list[list[int]],
    seconds: float,
) -> Seating:
    groups: list[Group] = []
    repeats = same_sector = shared = total_cost = mixed = score = 0
    for members in seating:
        chosen = sorted((people[i] for i in members), key=lambda p: p.id)
        table_score = 0
        for a, b in itertools.combinations(chosen, 2):
            repeats += history.met_recently(a.id, b.id)
            same_sector += a.sector == b.sector
            shared += bool(a.interests & b.interests)
            table_score += pair_score(a, b, history)
        total_cost += sum(cost[i][j] for i, j in itertools.combinations(members, 2))
        mixed += len({p.sector for p in chosen}) > 1
        score += table_score
        groups.append(
            Group(tuple(p.id for p in chosen), table_score, group_reasons(chosen, history))
        )
    groups.sort(key=lambda g: g.members)
    summary = TableSummary(
        people=len(people),
        tables=len(groups),
        cross_sector_share=mixed / len(groups),
        repeats=repeats,
        same_sector_pairs=same_sector,
        same_sector_lower_bound=sector_lower_bound(people, len(groups)),
        shared_interest_pairs=shared,
        cost=total_cost,
        score=score,
        seconds=seconds,
    )
    return Seating(tuple(groups), summary)
