"""Cross-sector matchmaking: scoring, the weighted graph, exact matching, reasons, suggestions.

Pure domain code: frozen dataclasses in and out, no Discord, no clock (the caller passes the
history and a seed). `match_round(people, history, config)` pairs everyone (one group of
three when the number is odd, never anyone alone) by an exact maximum-weight matching
(rustworkx's blossom, `max_weight_matching(max_cardinality=True)`) on a graph whose
integer edge weights encode the rules.

What a group is worth (its "value vector"), most important first
-----------------------------------------------------------------
1. *same sector*: 1 if every member is from the same sector (a fallback, shown as a reason).
2. *repeats*: member pairs who met in the last `window_rounds` rounds (distinct dates in the
   history are rounds; the most recent N count).
3. *same organisation*: member pairs from the same organisation (empty organisation never
   matches).
4. *priority*: members with `priority > 0` (left out or paused last time) placed in a group
   that is cross-sector and repeat-free, so the unavoidable fallbacks go to others.
5. *score*: the visible score (`pair_score`): `cross_sector` if the sectors differ, plus
   `shared_interest` per shared interest key (at most `max_shared`), plus `offer_match` per
   term one offers and the other seeks (at most `max_offer_terms` per direction), minus
   `same_organisation`, minus `repeat`. A trio scores the sum of its three pairs.
6. *tie-break*: 0–15 per pair from a hash of the seed and both ids (deterministic per seed).

The internal weight is these levels in a mixed radix: level ℓ's unit is larger than twice
the most that all lower levels can add up to over a whole round (`n + 2` groups), so the
optimum is lexicographic: first the fewest same-sector groups, then the fewest repeats, then
the fewest same-organisation pairs, then priority, then the highest total score, then the
seeded tie-break. Weights are exact Python integers (rustworkx accepts 128-bit weights).
Repeats and same-sector pairs are heavy penalties, not prohibitions: they are used only
when nobody else is left.

Offers and seeks are free text. They match by shared *terms*: `terms(text)` lower-cases,
keeps words of three or more letters, drops common nb/sv/en stop words, strips a common
ending (-ing, -er, -en, -ar, -s …) and cuts to seven letters, so "mentoring" meets "mentor"
and "housing" meets "house". Interests match by taxonomy key.

Scale
-----
Up to `dense_limit` people the graph is complete (so the result is the exact optimum). Above
it, each person keeps their `candidates_per_person` best partners (ranked by the same value
vector, computed in numpy in row chunks against a seeded sample of `candidate_sample`
columns), and the graph is the union of these lists; when one sector is more than half the
round, its people also keep a few partners from their own sector. Up to `block_size` people
the whole candidate graph is solved exactly (one blossom run, about cubic).

Above it, a blossom run is too slow (12–36 s at 10,000 people), so the round goes in
three steps. (1) An optimal *assignment* on the graph's double cover, where everyone picks
one partner and is picked by one (`_assignment`: scipy's LAPJVsp on the sparse graph,
on the integer value vectors of `_benefits`; staying out costs more than any other change
could gain, so it covers as many people as any matching can). Its value bounds every
matching from above, and where it is a set of mutual choices it is a matching: on our rounds
that is 98–100 % of the people (an even cycle splits into two matchings of equal value; odd
cycles need the blossom). Every matching of the graph leaves at least as many people alone
as it leaves out (`_assignment_pairs`), so that many are left to the last resort, not chased
with windows. (2) The people it leaves in longer cycles are re-solved exactly by the blossom
together with the whole pairs around them (`_window`: breadth first over each person's best
candidates and their current partners). (3) Pairs those windows made that repeat a meeting,
or share a sector while the sector mix allows better, and people alone beyond that bound,
get exact windows of their own, doubling in size. Every window re-solve keeps the
current pairs among its options, so it never makes the round worse. Whoever the candidate
graph cannot place is re-solved on the complete graph among them, their best candidates
and those candidates' partners. An odd round attaches the one person left to the pair where
they add the most (exactly, by enumerating every trio, up to `exact_trio_limit` people).
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import rustworkx as rx

# The data model lives apart, without numpy (see its docstring); re-exported here.
from bot.domain.match_model import Group as Group
from bot.domain.match_model import History as History
from bot.domain.match_model import MatchConfig as MatchConfig
from bot.domain.match_model import MetRecord as MetRecord
from bot.domain.match_model import Pair as Pair
from bot.domain.match_model import Person as Person
from bot.domain.match_model import Reason as Reason
from bot.domain.match_model import RoundResult as RoundResult
from bot.domain.match_model import Suggestion as Suggestion
from bot.domain.match_model import Summary as Summary
from bot.domain.match_model import Weights as Weights
from bot.domain.match_model import _key
from bot.domain.match_model import group_reasons as group_reasons
from bot.domain.match_model import render_reason as render_reason
from bot.domain.match_model import terms as terms
from bot.domain.match_model import validate_people as validate_people

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
WordArray = npt.NDArray[np.uint64]
KeyArray = npt.NDArray[np.int32] | IntArray

_MIX = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
TIE_MAX = 15


# ── the vectorised index: one scoring path for every size ──────────────────────────────


def _bitwords(sets: Sequence[frozenset[str]], vocabulary: Sequence[str]) -> WordArray:
    position = {term: i for i, term in enumerate(vocabulary)}
    width = max(1, (len(vocabulary) + 63) // 64)
    words = np.zeros((len(sets), width), dtype=np.uint64)
    for row, items in enumerate(sets):
        for item in items:
            bit = position.get(item)
            if bit is not None:
                words[row, bit // 64] |= np.uint64(1 << (bit % 64))
    return words


def _common(a: WordArray, b: WordArray, ii: IntArray, jj: IntArray) -> IntArray:
    total = np.zeros(np.broadcast(ii, jj).shape, dtype=np.int64)
    for w in range(a.shape[1]):
        total += np.bitwise_count(a[ii, w] & b[jj, w]).astype(np.int64)
    return total


def _capped(a: WordArray, b: WordArray, rows: IntArray, cols: IntArray, cap: int) -> IntArray:
    """min(common bits, cap) for rows × cols, in the narrowest integers that hold it."""
    total = np.bitwise_count(a[rows, 0][:, None] & b[cols, 0][None, :])
    if a.shape[1] > 1:
        total = total.astype(np.int64)
        for w in range(1, a.shape[1]):
            total = total + np.bitwise_count(a[rows, w][:, None] & b[cols, w][None, :])
    capped: IntArray = np.minimum(total, cap)
    return capped


def _person_hash(seed: int, person_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x00{person_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def tie_break(seed: int, a: str, b: str) -> int:
    """The seeded tie-break of a pair, 0–15 (symmetric)."""
    mixed = ((_person_hash(seed, a) ^ _person_hash(seed, b)) * _MIX) & _MASK64
    return mixed >> 60


@dataclass(frozen=True, slots=True)
class Components:
    """Per pair (vectorised): the facts the value vector is made of."""

    cross: BoolArray
    repeat: BoolArray
    same_org: BoolArray
    prio: IntArray  # members with priority (0–2)
    score: IntArray
    tie: IntArray


class Index:
    """People as arrays: sectors, interest and term bit sets, organisations, history."""

    def __init__(self, people: Sequence[Person], history: History, config: MatchConfig) -> None:
        self.people = tuple(people)
        self.config = config
        self.n = len(self.people)
        self.position = {p.id: i for i, p in enumerate(self.people)}
        sectors = sorted({p.sector for p in self.people})
        self.sector = np.array([sectors.index(p.sector) for p in self.people], dtype=np.int64)
        interests = sorted(set().union(*(p.interests for p in self.people)))
        self.interests = _bitwords([p.interests for p in self.people], interests)
        offers = [terms(p.offers) for p in self.people]
        seeks = [terms(p.seeks) for p in self.people]
        vocabulary = sorted(set().union(*offers) & set().union(*seeks))
        self.offers = _bitwords(offers, vocabulary)
        self.seeks = _bitwords(seeks, vocabulary)
        organisations: dict[str, int] = {}
        org_codes = []
        for i, p in enumerate(self.people):
            name = " ".join(p.organisation.casefold().split())
            org_codes.append(organisations.setdefault(name, len(organisations)) if name else -1 - i)
        self.org = np.array(org_codes, dtype=np.int64)
        self.priority = np.array([p.priority > 0 for p in self.people], dtype=np.int64)
        self.hash = np.array(
            [_person_hash(config.seed, p.id) for p in self.people], dtype=np.uint64
        )
        recent = [
            min(self.position[a], self.position[b]) * self.n
            + max(self.position[a], self.position[b])
            for a, b in history.recent
            if a in self.position and b in self.position
        ]
        self.recent_codes = np.unique(np.array(recent, dtype=np.int64))
        ends = np.concatenate([self.recent_codes // self.n, self.recent_codes % self.n])
        partners = np.concatenate([self.recent_codes % self.n, self.recent_codes // self.n])
        order = np.lexsort((partners, ends))
        self.recent_start = np.searchsorted(ends[order], np.arange(self.n + 1))
        self.recent_partner = partners[order]

    def components(self, ii: IntArray, jj: IntArray) -> Components:
        """Facts for the pairs (ii[k], jj[k]); ii and jj broadcast against each other."""
        w = self.config.weights
        cross = self.sector[ii] != self.sector[jj]
        repeat = self.met_recently(ii, jj)
        same_org = self.org[ii] == self.org[jj]
        shared = np.minimum(_common(self.interests, self.interests, ii, jj), w.max_shared)
        offer = np.minimum(_common(self.offers, self.seeks, ii, jj), w.max_offer_terms)
        offer += np.minimum(_common(self.seeks, self.offers, ii, jj), w.max_offer_terms)
        score = (
            w.cross_sector * cross.astype(np.int64)
            + w.shared_interest * shared
            + w.offer_match * offer
            - w.same_organisation * same_org.astype(np.int64)
            - w.repeat * repeat.astype(np.int64)
        )
        mixed = (self.hash[ii] ^ self.hash[jj]) * np.uint64(_MIX)
        tie = (mixed >> np.uint64(60)).astype(np.int64)
        prio = self.priority[ii] + self.priority[jj]
        return Components(cross, repeat, same_org, prio, score.astype(np.int64), tie)

    def met_recently(self, ii: IntArray, jj: IntArray) -> BoolArray:
        """Whether the pairs (ii[k], jj[k]) met within the window (ii, jj broadcast)."""
        low, high = np.minimum(ii, jj), np.maximum(ii, jj)
        codes = low * self.n + high
        if not self.recent_codes.size:
            return np.zeros(codes.shape, dtype=np.bool_)
        at = np.searchsorted(self.recent_codes, codes).clip(0, self.recent_codes.size - 1)
        met: BoolArray = self.recent_codes[at] == codes
        return met

    def ranks(self, rows: IntArray, cols: IntArray) -> KeyArray:
        """`rank(components(rows[:, None], cols[None, :]))` for sorted `cols`, faster: the
        levels summed straight into narrow integers, and repeats patched in from each row's
        recent partners instead of searched for in every cell."""
        w = self.config.weights
        low, high = w.pair_range
        tie_unit = TIE_MAX + 1
        prio_unit = tie_unit * (high - low + 1)
        org_unit = 3 * prio_unit
        repeat_unit = 2 * org_unit
        cross_unit = 2 * repeat_unit
        if 2 * cross_unit >= 2**31:  # weights beyond any sensible setting
            return self.rank(self.components(rows[:, None], cols[None, :]))
        cross = self.sector[rows][:, None] != self.sector[cols][None, :]
        key = cross.astype(np.int32)
        key *= cross_unit + tie_unit * w.cross_sector
        key += repeat_unit + org_unit - tie_unit * low
        same_org = self.org[rows][:, None] == self.org[cols][None, :]
        key -= same_org.astype(np.int32) * (org_unit + tie_unit * w.same_organisation)
        shared = _capped(self.interests, self.interests, rows, cols, w.max_shared)
        key += shared.astype(np.int32) * (tie_unit * w.shared_interest)
        offer = _capped(self.offers, self.seeks, rows, cols, w.max_offer_terms).astype(np.int32)
        offer += _capped(self.seeks, self.offers, rows, cols, w.max_offer_terms)
        key += offer * (tie_unit * w.offer_match)
        if self.priority.any():
            prio = self.priority[rows][:, None] + self.priority[cols][None, :]
            key += np.where(cross, prio, 0).astype(np.int32) * prio_unit
        mixed = (self.hash[rows][:, None] ^ self.hash[cols][None, :]) * np.uint64(_MIX)
        key += (mixed >> np.uint64(60)).astype(np.int32)
        counts = self.recent_start[rows + 1] - self.recent_start[rows]
        if counts.any():
            row_at = np.repeat(np.arange(rows.size), counts)
            first = np.repeat(self.recent_start[rows] - np.cumsum(counts) + counts, counts)
            partner = self.recent_partner[first + np.arange(row_at.size)]
            col_at = np.searchsorted(cols, partner).clip(0, cols.size - 1)
            hit = cols[col_at] == partner
            row_at, col_at = row_at[hit], col_at[hit]
            fixed = self.rank(self.components(rows[row_at], cols[col_at]))
            key[row_at, col_at] = fixed
        narrow: KeyArray = key
        return narrow

    def rank(self, c: Components) -> IntArray:
        """A per-pair int64 key with the same order as the value vector (for top-k)."""
        low, high = self.config.weights.pair_range
        good = c.cross & ~c.repeat
        key = c.cross.astype(np.int64)
        key = key * 2 + (~c.repeat).astype(np.int64)
        key = key * 2 + (~c.same_org).astype(np.int64)
        key = key * 3 + np.where(good, c.prio, 0)
        key = key * (high - low + 1) + (c.score - low)
        return key * (TIE_MAX + 1) + c.tie


# ── weights: the value vector in a mixed radix ──────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Radix:
    """Units of the levels (see the module docstring), sized for a round of n people."""

    base: int
    same: int
    repeat: int
    org: int
    prio: int
    score: int

    @classmethod
    def for_round(cls, n: int, weights: Weights) -> Radix:
        groups = n + 2
        low, high = weights.pair_range
        spans = [  # (max |value| of one group at this level) from the lowest level up
            3 * TIE_MAX,
            3 * max(abs(low), abs(high)),
            3,  # priority
            3,  # same organisation
            3,  # repeats
            1,  # same sector
        ]
        units = [1]
        reach = 0
        for span in spans:
            reach += units[-1] * span
            units.append(2 * groups * reach + 1)
        _, score, prio, org, repeat, same, base = units
        return cls(base=base, same=same, repeat=repeat, org=org, prio=prio, score=score)

    def weight(self, same: int, repeats: int, org: int, prio: int, score: int, tie: int) -> int:
        return (
            self.base
            - self.same * same
            - self.repeat * repeats
            - self.org * org
            + self.prio * prio
            + self.score * score
            + tie
        )


def _pair_weights(index: Index, radix: Radix, ii: IntArray, jj: IntArray) -> list[int]:
    return _weights_of(index.components(ii, jj), radix)


def _weights_of(c: Components, radix: Radix) -> list[int]:
    good = (c.cross & ~c.repeat).tolist()
    return [
        radix.weight(int(not x), int(r), int(o), p if g else 0, s, t)
        for x, r, o, p, s, t, g in zip(
            c.cross.tolist(),
            c.repeat.tolist(),
            c.same_org.tolist(),
            c.prio.tolist(),
            c.score.tolist(),
            c.tie.tolist(),
            good,
            strict=True,
        )
    ]


BENEFIT_STEP = 32
TIE_SHARE = 64


def _benefits(c: Components, weights: Weights) -> IntArray:
    """The value vector of each pair as one int64, for the assignment (`_assignment`).

    The same levels as `Radix`, but sized for a pair rather than a whole round: each level's
    unit is `BENEFIT_STEP` times what the lower levels can add for one pair. Exact Python
    integers would not fit numpy; the assignment only proposes, the blossom decides.
    """
    low, high = weights.pair_range
    unit = (high - low + 1) * (TIE_MAX + 1) * TIE_SHARE
    good = c.cross & ~c.repeat
    value: IntArray = (c.score - low) * (TIE_MAX + 1) * TIE_SHARE + c.tie
    value += unit * np.where(good, c.prio, 0)
    unit *= 3 * BENEFIT_STEP
    value -= unit * c.same_org.astype(np.int64)
    unit *= 2 * BENEFIT_STEP
    value -= unit * c.repeat.astype(np.int64)
    unit *= 2 * BENEFIT_STEP
    value -= unit * (~c.cross).astype(np.int64)
    return value


def _trio_weights(
    index: Index, radix: Radix, xs: IntArray, as_: IntArray, bs: IntArray
) -> list[int]:
    parts = [index.components(u, v) for u, v in ((xs, as_), (xs, bs), (as_, bs))]
    same = (index.sector[xs] == index.sector[as_]) & (index.sector[as_] == index.sector[bs])
    repeats = sum(p.repeat.astype(np.int64) for p in parts)
    org = sum(p.same_org.astype(np.int64) for p in parts)
    prio = index.priority[xs] + index.priority[as_] + index.priority[bs]
    prio = np.where(~same & (repeats == 0), prio, 0)
    score = sum(p.score for p in parts)
    tie = sum(p.tie for p in parts)
    return [
        radix.weight(int(s), r, o, p, sc, t)
        for s, r, o, p, sc, t in zip(
            same.tolist(),
            np.asarray(repeats).tolist(),
            np.asarray(org).tolist(),
            np.asarray(prio).tolist(),
            np.asarray(score).tolist(),
            np.asarray(tie).tolist(),
            strict=True,
        )
    ]


# ── the graph and the solver ────────────────────────────────────────────────────────────


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
    in it; so everyone also gets `k // 8` random partners from other sectors. And as the
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
    found: list[IntArray] = []
    for start in range(0, n, chunk):
        rows = everyone[start : start + chunk]
        cols = everyone if width == n else np.sort(rng.choice(n, size=width, replace=False))
        keys = index.ranks(rows, cols)
        keys[rows[:, None] == cols[None, :]] = -1
        best = cols[np.argpartition(keys, -k, axis=1)[:, -k:]].astype(np.int64)
        found.append(_codes(n, rows, best))
        draws = cols[rng.integers(0, cols.size, size=(rows.size, 4 * (extra + own)))]
        mine = index.sector[draws] == index.sector[rows][:, None]
        # The draws repeat from round to round (same seed): without this, last round's
        # pairs made along them are all the random partners some people have.
        fresh = ~index.met_recently(rows[:, None], draws)
        found.append(_first_codes(n, rows, draws, ~mine & fresh, extra))
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


def max_matching(nodes: Sequence[int], edges: Iterable[tuple[int, int, int]]) -> dict[int, int]:
    """Exact maximum-cardinality, maximum-weight matching (rustworkx blossom). mate map."""
    local = {node: i for i, node in enumerate(nodes)}
    graph: rx.PyGraph = rx.PyGraph()
    graph.add_nodes_from(list(nodes))
    graph.add_edges_from(
        [(local[i], local[j], w) for i, j, w in edges if i in local and j in local]
    )
    matching = rx.max_weight_matching(graph, max_cardinality=True, weight_fn=_identity)
    mate: dict[int, int] = {}
    for u, v in matching:
        mate[nodes[u]] = nodes[v]
        mate[nodes[v]] = nodes[u]
    return mate


def _identity(weight: int) -> int:
    return weight


def _solve_dense(problem: Problem, nodes: Sequence[int]) -> dict[int, int]:
    array = np.array(sorted(nodes), dtype=np.int64)
    ii, jj = _all_pairs(array)
    weights = _pair_weights(problem.index, problem.radix, ii, jj)
    return max_matching(array.tolist(), zip(ii.tolist(), jj.tolist(), weights, strict=True))


def _fix_up(problem: Problem, mate: dict[int, int]) -> dict[int, int]:
    """The last resort for people the candidate graph left alone: re-solve them, their best
    candidates and those candidates' partners on the complete graph among them (in chunks
    of `dense_limit` when there are many, so this never gets slow)."""
    unmatched = [i for i in range(problem.index.n) if i not in mate]
    limit = problem.index.config.dense_limit
    if len(unmatched) <= 1:
        return mate
    if 2 * len(unmatched) > limit:
        size = max(2, limit - limit % 2)
        fixed = dict(mate)
        for first in range(0, len(unmatched), size):
            fixed.update(_solve_dense(problem, unmatched[first : first + size]))
        return fixed
    pool = set(unmatched)
    for u in unmatched:
        for v in problem.adjacency.best(u, 3):
            if len(pool) >= limit:
                break
            pool.add(v)
            if v in mate:
                pool.add(mate[v])
    for v in list(pool):
        if v in mate:
            pool.add(mate[v])
    fixed = {u: v for u, v in mate.items() if u not in pool}
    fixed.update(_solve_dense(problem, sorted(pool)))
    return fixed


def _assignment(n: int, ii: IntArray, jj: IntArray, benefit: IntArray) -> IntArray:
    """An optimal assignment on the graph's double cover: everyone takes one partner and is
    taken by one, maximising the total benefit (each edge usable both ways). `take[u]` is
    u's partner, or -1 where u stays out (a self edge worth less than any exchange of real
    edges along an augmenting path can gain, so the assignment first covers as many people
    as it can, as the blossom's `max_cardinality` does).

    A pair (u, v) with take[u] == v and take[v] == u is a matching edge; the rest of the
    assignment is cycles. Its value bounds every matching's from above (twice the fractional
    matching optimum), and on rounds like ours nearly all of it is pairs.

    Solved by scipy's LAPJVsp (`min_weight_full_bipartite_matching`: shortest augmenting
    paths on the sparse graph) in float64: each cost is the gap to the best benefit plus
    one (the solver wants a full matching and positive weights; the self edges make one
    exist). Real edges' costs are exact integers far below 2**53; the self edges' are
    large, and sums of many could round, which only matters where people must stay out
    (the assignment only proposes, the blossom decides). It replaced a Jacobi auction in
    numpy that took 0.9–6.6 s at 10,000 people (docs/benchmarks.md).
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    people = np.arange(n, dtype=np.int64)
    high = int(benefit.max()) if benefit.size else 0
    low = int(benefit.min()) if benefit.size else 0
    # Staying out costs more than any exchange along an augmenting path can gain, so the
    # assignment first covers as many people as any matching can (as the blossom's
    # max_cardinality does), which makes its people out a bound (`_assignment_pairs`).
    out = low - (n + 1) * (high - low + 1)
    rows = np.concatenate([ii, jj, people])
    cols = np.concatenate([jj, ii, people])
    value = np.concatenate([benefit, benefit, np.full(n, out, dtype=np.int64)])
    cost = high - value + 1
    graph = csr_array((cost.astype(np.float64), (rows, cols)), shape=(n, n))
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)
    take = np.full(n, -1, dtype=np.int64)
    take[matched_rows] = matched_cols
    return np.where(take == people, -1, take)


def _assignment_pairs(problem: Problem) -> tuple[dict[int, int], int]:
    """The pairs of the optimal assignment (see `_assignment`): mutual choices; and the
    fewest people any matching of the candidate graph leaves alone (the assignment's
    people out, rounded up to the round's parity: its value covers at least as many
    people as any matching does)."""
    n = problem.index.n
    take = _assignment(n, problem.ii, problem.jj, problem.benefit)
    back = np.where(take >= 0, take[np.maximum(take, 0)], -1)
    mutual = np.flatnonzero((take >= 0) & (back == np.arange(n)))
    out = int((take < 0).sum())
    out += (n - out) % 2
    return dict(zip(mutual.tolist(), take[mutual].tolist(), strict=True)), out


def _window(
    problem: Problem, mate: Mapping[int, int], seeds: Iterable[int], limit: int
) -> list[int]:
    """Whole pairs around the seeds: breadth first over each person's best candidates, each
    candidate with their current partner, until about `limit` people."""
    fan = WINDOW_FAN
    pool: dict[int, None] = {}
    frontier: list[int] = []
    for s in seeds:
        for w in (s, mate.get(s)):
            if w is not None and w not in pool:
                pool[w] = None
                frontier.append(w)
    widest = problem.index.n
    while frontier and len(pool) < limit:
        grown: list[int] = []
        for u in frontier:
            for v in problem.adjacency.best(u, fan):
                for w in (v, mate.get(v)):
                    if w is not None and w not in pool:
                        pool[w] = None
                        grown.append(w)
            if len(pool) >= limit:
                break
        if not grown and fan < widest:
            # The best few candidates close off a region smaller than asked for: widen the
            # fan and go round everyone reached so far once more.
            fan *= 2
            grown = list(pool)
        frontier = grown
    return sorted(pool)


WINDOW_FAN = 4
WINDOW_SEEDS = 100
WINDOW_GROWTH = 8


def _resolve(problem: Problem, mate: dict[int, int], nodes: Sequence[int]) -> dict[int, int]:
    """Re-solve whole pairs exactly: the blossom on the candidate edges among `nodes` plus
    their current pairs. Never worse: the current pairs are one of the matchings it weighs."""
    inside = np.zeros(problem.index.n, dtype=np.bool_)
    inside[np.asarray(nodes, dtype=np.int64)] = True
    edges = problem.edges_at(np.flatnonzero(inside[problem.ii] & inside[problem.jj]))
    present = {(i, j) for i, j, _ in edges}
    current = [
        (u, v) for u in nodes if (v := mate.get(u)) is not None and u < v and (u, v) not in present
    ]
    edges.extend(
        (u, v, w) for (u, v), w in zip(current, _pair_weight_map(problem, current), strict=True)
    )
    solved = max_matching(list(nodes), edges)
    fixed = {u: v for u, v in mate.items() if not inside[u]}
    fixed.update(solved)
    return fixed


def _defects(
    problem: Problem, mate: Mapping[int, int], proposed: Mapping[int, int], alone_least: int
) -> list[int]:
    """People a better matching might serve: those left alone (when more are than
    `alone_least`, the fewest any matching of the candidate graph leaves; see
    `_assignment_pairs`; the last resort `_fix_up` places them),
    those in pairs that the windows made (not proposed by the assignment) that repeat a
    meeting, and, while there are more same-sector pairs than the sector sizes force (the
    largest sector beyond half), those in any same-sector pair."""
    index = problem.index
    alone = [u for u in range(index.n) if u not in mate]
    if len(alone) <= max(index.n % 2, alone_least):
        alone = []
    pairs = _pairs_of(mate)
    if not pairs:
        return alone
    ii = np.array([p[0] for p in pairs], dtype=np.int64)
    jj = np.array([p[1] for p in pairs], dtype=np.int64)
    parts = index.components(ii, jj)
    made = np.array([proposed.get(u) != v for u, v in pairs], dtype=bool)
    bad = parts.repeat & made
    same = int((~parts.cross).sum())
    largest = int(np.bincount(index.sector).max())
    if same > max(0, 2 * largest - index.n) // 2:
        # Same-sector pairs beyond what the sector sizes force: the assignment's mutual
        # picks can hold one too (its optimum is fractional), so every such pair counts.
        bad |= ~parts.cross
    return sorted(set(ii[bad].tolist()) | set(jj[bad].tolist()) | set(alone))


def _alternating_paths(problem: Problem, mate: Mapping[int, int], free: Sequence[int]) -> list[int]:
    """People on alternating paths that join two of the `free` people (their own pairs set
    aside) through good edges only: candidate edges across sectors between people who have
    not met recently. Flipping such a path pairs both ends without a defect, so a window
    that holds it lets the exact re-solve find that.

    When the free people left without a path all share a sector, the fix may have to break
    a pair with nobody from that sector (with civil society exactly half, two unpaired
    members of it mean two others paired with each other): the nearest such pairs are set
    aside too and the search runs again.
    """
    found, stuck = _paths_between(problem, mate, free)
    sectors = {int(problem.index.sector[u]) for u in stuck}
    if len(stuck) > 1 and len(sectors) == 1:
        crowded = sectors.pop()
        extra = _nearest_pairs(problem, mate, stuck, crowded, len(stuck))
        if extra:
            found.extend(_paths_between(problem, mate, [*free, *extra])[0])
            found.extend(extra)
    return found


def _paths_between(
    problem: Problem, mate: Mapping[int, int], free: Sequence[int]
) -> tuple[list[int], list[int]]:
    """`_alternating_paths` once: breadth first from all the free people at once, one path
    per tree; odd cycles are not shrunk, so a path through one can be missed. Returns the
    people on the paths and the free people left without one."""
    index = problem.index
    loose = set(free)
    partner = {u: v for u, v in mate.items() if u not in loose and v not in loose}
    sector = index.sector.tolist()
    recent = set(index.recent_codes.tolist())
    n = index.n
    start, target = problem.adjacency.start.tolist(), problem.adjacency.target.tolist()
    root: dict[int, int] = {u: u for u in free}
    parent: dict[int, int] = {}
    even = set(free)
    done: set[int] = set()
    found: list[int] = []
    queue = collections.deque(free)

    def trail(u: int) -> list[int]:
        path = [u]
        while u in parent:
            u = parent[u]
            path.append(u)
        return path

    while queue:
        x = queue.popleft()
        if root[x] in done:
            continue
        for y in target[start[x] : start[x + 1]]:
            if sector[x] == sector[y] or min(x, y) * n + max(x, y) in recent:
                continue
            if y in even:
                if root[y] != root[x] and root[y] not in done:
                    found.extend(trail(x) + trail(y))
                    done.update((root[x], root[y]))
                    break
                continue
            if y in root or y not in partner:
                continue
            z = partner[y]
            root[y] = root[z] = root[x]
            parent[y], parent[z] = x, y
            even.add(z)
            queue.append(z)
    return found, [u for u in free if u not in done]


def _nearest_pairs(
    problem: Problem, mate: Mapping[int, int], sources: Sequence[int], sector: int, count: int
) -> list[int]:
    """Members of up to `count` pairs with nobody from `sector`, nearest to the sources in
    the candidate graph first."""
    index = problem.index
    seen = set(sources)
    queue = collections.deque(sources)
    found: list[int] = []
    while queue and len(found) < 2 * count:
        for y in problem.adjacency.best(queue.popleft(), len(index.people)):
            if y in seen:
                continue
            seen.add(y)
            queue.append(y)
            z = mate.get(y)
            if z is not None and z not in seen and sector not in (index.sector[y], index.sector[z]):
                seen.add(z)
                found.extend((y, z))
                if len(found) >= 2 * count:
                    break
    return found


def _solve_pairs(problem: Problem, exact: bool) -> dict[int, int]:
    """Pairs for the round (one person left over when odd).

    Up to `block_size` people (or with `exact`): one blossom run over the whole graph. Above:
    the optimal assignment on the double cover proposes the pairs (`_assignment`); the people
    it leaves in longer cycles are re-solved exactly with the whole pairs around them, in
    windows of about `WINDOW_GROWTH × WINDOW_SEEDS`; then pairs those windows made that repeat a
    meeting, or share a sector while the sector mix allows better, get windows of their
    own, doubling in size up to `WINDOW_CAP` people.
    """
    n = problem.index.n
    config = problem.index.config
    if exact or problem.dense or n <= config.block_size:
        return _fix_up(problem, max_matching(list(range(n)), problem.edges))
    proposed, alone_least = _assignment_pairs(problem)
    mate = dict(proposed)
    rest = [u for u in range(n) if u not in mate]
    for first in range(0, len(rest), WINDOW_SEEDS):
        seeds = [u for u in rest[first : first + WINDOW_SEEDS] if u not in mate]
        if seeds:
            limit = max(config.dense_limit, WINDOW_GROWTH * len(seeds))
            mate = _resolve(problem, mate, _window(problem, mate, seeds, limit))
    for attempt in range(config.improve_passes):
        bad = _defects(problem, mate, proposed, alone_least)
        if not bad:
            break
        bad = bad[: WINDOW_CAP // 4]
        seeds = list(dict.fromkeys(bad + _alternating_paths(problem, mate, bad)))[:WINDOW_CAP]
        limit = min(WINDOW_CAP, max(config.dense_limit, 2 * len(seeds)) * 2**attempt)
        mate = _resolve(problem, mate, _window(problem, mate, seeds, limit))
        if limit == WINDOW_CAP:
            break
    return _fix_up(problem, mate)


WINDOW_CAP = 2000


def _pairs_of(mate: Mapping[int, int]) -> list[tuple[int, int]]:
    return sorted({(min(u, v), max(u, v)) for u, v in mate.items()})


def _pair_weight_map(problem: Problem, pairs: Sequence[tuple[int, int]]) -> list[int]:
    if not pairs:
        return []
    ii = np.array([p[0] for p in pairs], dtype=np.int64)
    jj = np.array([p[1] for p in pairs], dtype=np.int64)
    return _pair_weights(problem.index, problem.radix, ii, jj)


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


# ── results, reasons, suggestions ───────────────────────────────────────────────────────


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


def _select(c: Components, where: BoolArray | IntArray) -> Components:
    return Components(
        c.cross[where],
        c.repeat[where],
        c.same_org[where],
        c.prio[where],
        c.score[where],
        c.tie[where],
    )


def suggest_for(
    person: Person,
    people: Sequence[Person],
    history: History,
    k: int = 3,
    config: MatchConfig | None = None,
) -> tuple[Suggestion, ...]:
    """Up to k people from other sectors whom `person` has never met, best first."""
    config = config or MatchConfig()
    others = [
        p
        for p in people
        if p.id != person.id and p.sector != person.sector and not history.met_ever(person.id, p.id)
    ]
    if not others or k <= 0:
        return ()
    index = Index((person, *others), history, config)
    rows = np.zeros(len(others), dtype=np.int64)
    cols = np.arange(1, len(others) + 1, dtype=np.int64)
    parts = index.components(rows, cols)
    keys = index.rank(parts).tolist()
    order = sorted(range(len(others)), key=lambda i: (-keys[i], others[i].id))[:k]
    return tuple(
        Suggestion(
            others[i].id,
            int(parts.score[i]),
            tuple(r for r in group_reasons((person, others[i]), history) if r.kind != "priority"),
        )
        for i in order
    )
