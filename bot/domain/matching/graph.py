"""The candidate graph of a round: complete up to `dense_limit` people, else everyone's best
partners plus a few random ones; `prepare` builds it. See the package docstring."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.domain.match_model import History, MatchConfig, Person, validate_people
from bot.domain.matching.index import (
    BoolArray,
    Components,
    Index,
    IntArray,
    Radix,
    _benefits,
    _select,
    _weights_of,
)

# ── the candidate graph ────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Adjacency:
    """The candidate graph per person, best partner first (CSR: `target[start[u]:start[u+1]]`)."""

    start: IntArray
    target: IntArray

    @classmethod
    def of(cls, n: int, ii: IntArray, jj: IntArray, benefit: IntArray) -> Adjacency:
        src = np.concatenate([ii, jj])
        dst = np.concatenate([jj, ii])
        order = np.lexsort((dst, -np.concatenate([benefit, benefit]), src))
        start = np.searchsorted(src[order], np.arange(n + 1)).astype(np.int64)
        return cls(start, dst[order].astype(np.int64))

    def best(self, u: int, k: int) -> list[int]:
        first = int(self.start[u])
        return [int(v) for v in self.target[first : min(first + k, int(self.start[u + 1]))]]


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """A round ready to solve: people (sorted by id), the index and the weighted graph."""

    people: tuple[Person, ...]
    index: Index
    radix: Radix
    dense: bool
    ii: IntArray  # the edges' ends as arrays, i < j
    jj: IntArray
    parts: Components  # the edges' facts
    benefit: IntArray  # the edges' value vectors as int64 (see `_benefits`)
    adjacency: Adjacency
    cache: list[tuple[tuple[int, int, int], ...]] = field(default_factory=list, repr=False)

    @property
    def edges(self) -> tuple[tuple[int, int, int], ...]:
        """Every edge as (i, j, weight) with its exact weight (made when first asked for: a
        large round needs only the few in its windows, `edges_at`)."""
        if not self.cache:
            self.cache.append(tuple(self.edges_at(np.arange(self.ii.size, dtype=np.int64))))
        return self.cache[0]

    def edges_at(self, chosen: IntArray) -> list[tuple[int, int, int]]:
        """The edges numbered `chosen` as (i, j, weight)."""
        weights = _weights_of(_select(self.parts, chosen), self.radix)
        return list(zip(self.ii[chosen].tolist(), self.jj[chosen].tolist(), weights, strict=True))


def _all_pairs(nodes: IntArray) -> tuple[IntArray, IntArray]:
    a, b = np.triu_indices(len(nodes), k=1)
    return nodes[a].astype(np.int64), nodes[b].astype(np.int64)


def _candidate_pairs(index: Index, k: int, sample: int) -> tuple[IntArray, IntArray]:
    """The union of everyone's k best partners and a few seeded random ones, as (i, j) with
    i < j.

    Each chunk of rows is ranked against at most `sample` columns (a seeded random subset
    when the round is larger), which keeps large rounds linear in n. Best-partner lists
    crowd onto the same few attractive people, which can leave a graph with no good matching
    in it; so everyone also gets `k // 8` random partners from other sectors (none they met
    recently), and as many from the largest sector when it is half the round or more. And as the
    ranking puts other sectors first, when one sector is more than half the round its people
    get random partners from their own sector too, as many as the share of them that must
    pair inside it (at least `k // 4`).
    """
    n = index.n
    rng = np.random.default_rng(index.config.seed)
    width = min(n, max(sample, k + 1))
    chunk = max(1, 2_000_000 // width)
    everyone = np.arange(n, dtype=np.int64)
    sizes = np.bincount(index.sector)
    largest = int(sizes.max())
    crowded = int(sizes.argmax()) if 2 * largest > n else -1
    extra = max(1, k // 8)
    own = min(k, max(k // 4, math.ceil(k * (2 * largest - n) / largest))) if crowded >= 0 else 0
    # With one sector at half the round or more, everyone else must pair with it: they get
    # random partners from it too, or its people's lists (all on the same attractive few)
    # leave some of them with nobody (4,693 of 5,000 civil society placed at 10,000 people).
    big = int(sizes.argmax()) if 2 * largest >= n else -1
    toward = extra if big >= 0 else 0
    found: list[IntArray] = []
    for start in range(0, n, chunk):
        rows = everyone[start : start + chunk]
        cols = everyone if width == n else np.sort(rng.choice(n, size=width, replace=False))
        keys = index.ranks(rows, cols)
        keys[rows[:, None] == cols[None, :]] = -1
        best = cols[np.argpartition(keys, -k, axis=1)[:, -k:]].astype(np.int64)
        found.append(_codes(n, rows, best))
        draws = cols[rng.integers(0, cols.size, size=(rows.size, 4 * (extra + own + toward)))]
        mine = index.sector[draws] == index.sector[rows][:, None]
        # The draws repeat from round to round (same seed): without this, last round's
        # pairs made along them are all the random partners some people have.
        fresh = ~index.met_recently(rows[:, None], draws)
        found.append(_first_codes(n, rows, draws, ~mine & fresh, extra))
        if toward:
            into = (index.sector[draws] == big) & (index.sector[rows] != big)[:, None]
            found.append(_first_codes(n, rows, draws, into & fresh, toward))
        if own:
            mine &= (index.sector[rows] == crowded)[:, None]
            found.append(_first_codes(n, rows, draws, mine & fresh, own))
    codes = np.unique(np.concatenate(found))
    return codes // n, codes % n


def _first_codes(n: int, rows: IntArray, draws: IntArray, ok: BoolArray, count: int) -> IntArray:
    """Pair codes of each row with its first `count` draws where `ok`."""
    keep = ok & (np.cumsum(ok, axis=1) <= count)
    low = np.minimum(np.broadcast_to(rows[:, None], draws.shape)[keep], draws[keep])
    high = np.maximum(np.broadcast_to(rows[:, None], draws.shape)[keep], draws[keep])
    codes: IntArray = (low * n + high)[low != high]
    return codes


def _codes(n: int, rows: IntArray, partners: IntArray) -> IntArray:
    low: IntArray = np.minimum(rows[:, None], partners)
    high: IntArray = np.maximum(rows[:, None], partners)
    codes: IntArray = (low * n + high)[low != high]
    return codes


def prepare(
    people: Sequence[Person], history: History, config: MatchConfig | None = None
) -> Problem:
    """Validate, index and build the weighted graph (complete or top-k candidates)."""
    config = config or MatchConfig()
    ordered = validate_people(people)
    index = Index(ordered, history, config)
    radix = Radix.for_round(len(ordered), config.weights)
    dense = len(ordered) <= max(config.dense_limit, config.candidates_per_person + 1)
    if dense:
        ii, jj = _all_pairs(np.arange(len(ordered), dtype=np.int64))
    else:
        ii, jj = _candidate_pairs(index, config.candidates_per_person, config.candidate_sample)
    parts = index.components(ii, jj)
    benefit = _benefits(parts, config.weights)
    adjacency = Adjacency.of(len(ordered), ii, jj, benefit)
    return Problem(ordered, index, radix, dense, ii, jj, parts, benefit, adjacency)
