"""The vectorised index (people as arrays: one scoring path for every size) and the weights
(the value vector in a mixed radix for the blossom, as one int64 for the assignment).
See the package docstring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.domain.match_model import (
    _MIX,
    History,
    MatchConfig,
    Person,
    Weights,
    _person_hash,
    organisation_key,
    terms,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
WordArray = npt.NDArray[np.uint64]
KeyArray = npt.NDArray[np.int32] | IntArray

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
            name = organisation_key(p)
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


def _select(c: Components, where: BoolArray | IntArray) -> Components:
    return Components(
        c.cross[where],
        c.repeat[where],
        c.same_org[where],
        c.prio[where],
        c.score[where],
        c.tie[where],
    )
