"""A round from its pairs (the odd one out joins a pair), its results and reasons. See the
package docstring (suggestions for one person need no numpy: `match_model.suggest_for`)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import numpy as np

from bot.domain.match_model import (
    Group,
    History,
    MatchConfig,
    Person,
    RoundResult,
    Summary,
    Weights,
    _key,
    group_reasons,
)
from bot.domain.matching.graph import Problem, prepare
from bot.domain.matching.index import Index, _pair_weights, _select, _trio_weights, _weights_of
from bot.domain.matching.solver import _pair_weight_map, _pairs_of, _solve_pairs, max_matching


def _attach(problem: Problem, pairs: list[tuple[int, int]], x: int) -> list[tuple[int, ...]]:
    """Put the one person left over into the pair where the trio gains the most."""
    ii = np.array([p[0] for p in pairs], dtype=np.int64)
    jj = np.array([p[1] for p in pairs], dtype=np.int64)
    xs = np.full(len(pairs), x, dtype=np.int64)
    gains = [
        t - w
        for t, w in zip(
            _trio_weights(problem.index, problem.radix, xs, ii, jj),
            _pair_weights(problem.index, problem.radix, ii, jj),
            strict=True,
        )
    ]
    best = max(range(len(pairs)), key=lambda k: (gains[k], -k))
    groups: list[tuple[int, ...]] = [p for k, p in enumerate(pairs) if k != best]
    groups.append(tuple(sorted((*pairs[best], x))))
    return groups


def _exact_odd(problem: Problem) -> list[tuple[int, ...]]:
    """Every possible trio, each with an exact matching of the rest (small rounds only)."""
    n = problem.index.n
    weight = {(i, j): w for i, j, w in problem.edges}
    trios = list(itertools.combinations(range(n), 3))
    columns = [np.array(c, dtype=np.int64) for c in zip(*trios, strict=True)]
    trio_weights = _trio_weights(problem.index, problem.radix, *columns)
    best: tuple[int, list[tuple[int, ...]]] | None = None
    for trio, trio_weight in zip(trios, trio_weights, strict=True):
        rest = [i for i in range(n) if i not in trio]
        mate = max_matching(rest, problem.edges)
        pairs = _pairs_of(mate)
        total = trio_weight + sum(weight[p] for p in pairs)
        if len(pairs) * 2 == len(rest) and (best is None or total > best[0]):
            best = (total, [*pairs, trio])
    assert best is not None
    return best[1]


def solve(problem: Problem, *, exact: bool = False) -> RoundResult:
    """Groups for a prepared round. `exact` solves the whole graph in one blossom run."""
    started = time.perf_counter()
    n = problem.index.n
    groups: list[tuple[int, ...]]
    if n == 3:
        groups = [(0, 1, 2)]
    elif n % 2 == 1 and n <= problem.index.config.exact_trio_limit:
        groups = _exact_odd(problem)
    else:
        mate = _solve_pairs(problem, exact)
        pairs = _pairs_of(mate)
        left = [i for i in range(n) if i not in mate]
        groups = _attach(problem, pairs, left[0]) if left else list(pairs)
    return _result(problem, groups, time.perf_counter() - started)


def match_round(
    people: Sequence[Person], history: History | None = None, config: MatchConfig | None = None
) -> RoundResult:
    """Pair everyone (one trio when odd). Raises BadInput for fewer than two or duplicates."""
    started = time.perf_counter()
    result = solve(prepare(people, history or History(), config))
    seconds = time.perf_counter() - started
    summary = result.summary
    return RoundResult(
        result.groups,
        Summary(
            summary.people,
            summary.groups,
            summary.cross_sector_share,
            summary.repeats,
            summary.same_sector,
            summary.score,
            seconds,
        ),
        result.objective,
    )


# ── results and reasons ─────────────────────────────────────────────────────────────────


def group_weight(problem: Problem, members: Sequence[int]) -> int:
    """The internal weight of a group of two or three (by index in `problem.people`)."""
    if len(members) == 2:
        return _pair_weight_map(problem, [(members[0], members[1])])[0]
    cols = [np.array([m], dtype=np.int64) for m in members]
    return _trio_weights(problem.index, problem.radix, cols[0], cols[1], cols[2])[0]


def pair_score(a: Person, b: Person, history: History, weights: Weights | None = None) -> int:
    """The visible score of a pair (see the module docstring)."""
    config = MatchConfig(weights=weights or Weights())
    index = Index((a, b), history, config)
    zero, one = np.array([0], dtype=np.int64), np.array([1], dtype=np.int64)
    return int(index.components(zero, one).score[0])


def _result(problem: Problem, groups: list[tuple[int, ...]], seconds: float) -> RoundResult:
    index = problem.index
    people = problem.people
    history_recent = {(int(c // index.n), int(c % index.n)) for c in index.recent_codes.tolist()}
    history = History(recent=frozenset(_key(people[i].id, people[j].id) for i, j in history_recent))
    ordered = sorted(groups)
    owner, ii, jj = [], [], []
    for g, members in enumerate(ordered):
        for a, b in itertools.combinations(members, 2):
            owner.append(g)
            ii.append(a)
            jj.append(b)
    parts = index.components(np.array(ii, dtype=np.int64), np.array(jj, dtype=np.int64))
    at = np.array(owner, dtype=np.int64)
    scores = np.bincount(at, weights=parts.score, minlength=len(ordered)).astype(np.int64)
    pair_groups = [g for g, members in enumerate(ordered) if len(members) == 2]
    where = np.isin(at, pair_groups)
    objective = sum(_weights_of(_select(parts, where), problem.radix))
    objective += sum(group_weight(problem, m) for m in ordered if len(m) != 2)
    same_sector = sum(len({people[m].sector for m in members}) == 1 for members in ordered)
    built = [
        Group(
            tuple(people[m].id for m in members),
            int(score),
            group_reasons([people[m] for m in members], history),
        )
        for members, score in zip(ordered, scores.tolist(), strict=True)
    ]
    built.sort(key=lambda g: g.members)
    summary = Summary(
        people=len(people),
        groups=len(built),
        cross_sector_share=(len(built) - same_sector) / len(built) if built else 1.0,
        repeats=int(parts.repeat.sum()),
        same_sector=same_sector,
        score=sum(g.score for g in built),
        seconds=seconds,
    )
    return RoundResult(tuple(built), summary, objective)
