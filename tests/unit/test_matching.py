"""Matching: exact against brute force, invariants, determinism, reasons, suggestions."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.matching import (
    History,
    Index,
    MatchConfig,
    MetRecord,
    Person,
    Problem,
    _assignment,
    _pairs_of,
    _resolve,
    _window,
    group_weight,
    match_round,
    prepare,
    render_reason,
    solve,
    suggest_for,
    terms,
)
from bot.errors import BadInput
from bot.i18n import Catalog

SECTORS = ("civil_society", "business", "public_sector", "research_education")
INTERESTS = ("language", "housing", "health", "elderly", "refugees")
PHRASES = ("mentoring", "housing advice", "volunteers", "internships", "funding", "")


@st.composite
def rounds(draw: st.DrawFn, low: int = 2, high: int = 12) -> tuple[list[Person], History]:
    n = draw(st.integers(low, high))
    people = [
        Person(
            id=f"p{i:02d}",
            name=f"P{i}",
            sector=draw(st.sampled_from(SECTORS[: draw(st.integers(1, 4))])),
            interests=frozenset(draw(st.sets(st.sampled_from(INTERESTS), max_size=3))),
            offers=draw(st.sampled_from(PHRASES)),
            seeks=draw(st.sampled_from(PHRASES)),
            organisation=draw(st.sampled_from(("", "org1", "org2"))),
            priority=draw(st.sampled_from((0, 0, 0, 1))),
        )
        for i in range(n)
    ]
    pairs = list(itertools.combinations([p.id for p in people], 2))
    met = draw(st.lists(st.sampled_from(pairs), max_size=n)) if pairs else []
    days = [date(2026, 1, 1 + k) for k in range(8)]
    records = [MetRecord(a, b, draw(st.sampled_from(days))) for a, b in met]
    return people, History.from_records(records, window_rounds=6)


def partitions(items: list[int]) -> Iterator[list[tuple[int, ...]]]:
    """Every partition into pairs, plus exactly one trio when the count is odd."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    sizes = (2, 3) if len(items) % 2 == 1 else (2,)
    for size in sizes:
        if size == 3 and len(items) % 2 == 0:
            continue
        for others in itertools.combinations(rest, size - 1):
            remaining = [i for i in rest if i not in others]
            if size == 2 and len(remaining) % 2 == 1 and len(items) % 2 == 0:
                continue
            for tail in partitions(remaining):
                trios = sum(len(g) == 3 for g in tail) + (size == 3)
                if trios == len(items) % 2:
                    yield [(first, *others), *tail]


def brute_force(problem: Problem) -> tuple[int, list[list[tuple[int, ...]]]]:
    best = None
    winners: list[list[tuple[int, ...]]] = []
    for partition in partitions(list(range(len(problem.people)))):
        total = sum(group_weight(problem, g) for g in partition)
        if best is None or total > best:
            best, winners = total, [partition]
        elif total == best:
            winners.append(partition)
    assert best is not None
    return best, winners


@settings(max_examples=40, deadline=None)
@given(rounds(2, 10))
def test_total_equals_brute_force(data: tuple[list[Person], History]) -> None:
    people, history = data
    problem = prepare(people, history, MatchConfig(seed=3))
    result = match_round(people, history, MatchConfig(seed=3))
    best, _ = brute_force(problem)
    assert result.objective == best


def test_brute_force_twelve_people() -> None:
    people = [
        Person(
            f"p{i:02d}",
            f"P{i}",
            SECTORS[i % 3],
            frozenset(INTERESTS[i % 4 : i % 4 + 2]),
            PHRASES[i % 5],
            PHRASES[(i + 2) % 5],
            f"org{i % 4}",
        )
        for i in range(12)
    ]
    history = History.from_records([MetRecord("p00", "p01", date(2026, 1, 1))])
    problem = prepare(people, history, MatchConfig(seed=1))
    assert match_round(people, history, MatchConfig(seed=1)).objective == brute_force(problem)[0]


def _feasible(people: list[Person], history: History, ok: object) -> bool:
    """Whether some partition has only groups for which ok(group) holds (n ≤ 10)."""
    index = dict(enumerate(people))
    return any(
        all(ok([index[m] for m in g]) for g in partition)  # type: ignore[operator]
        for partition in partitions(list(index))
    )


def _cross(group: list[Person]) -> bool:
    return len({p.sector for p in group}) > 1


@settings(max_examples=40, deadline=None)
@given(rounds(2, 9))
def test_invariants(data: tuple[list[Person], History]) -> None:
    people, history = data
    result = match_round(people, history, MatchConfig(seed=7))
    members = [m for g in result.groups for m in g.members]
    assert sorted(members) == sorted(p.id for p in people)
    sizes = sorted(len(g.members) for g in result.groups)
    assert (
        sizes == [2] * (len(people) // 2 - 1) + [3] if len(people) % 2 else [2] * (len(people) // 2)
    )
    by_id = {p.id: p for p in people}
    groups = [[by_id[m] for m in g.members] for g in result.groups]
    if _feasible(people, history, _cross):
        assert all(_cross(g) for g in groups)
        assert result.summary.cross_sector_share == 1.0

    def repeat_free(group: list[Person]) -> bool:
        return not any(
            history.met_recently(a.id, b.id) for a, b in itertools.combinations(group, 2)
        )

    # Cross-sector comes first; among the partitions with the most cross-sector groups,
    # repeats are avoided (with too few people outside one sector, pairing them across can
    # force a repeat that an all-same-sector partition would not have).
    index = dict(enumerate(people))
    scored = [
        (sum(_cross([index[m] for m in g]) for g in part), part) for part in partitions(list(index))
    ]
    most = max(cross for cross, _ in scored)
    if any(
        cross == most and all(repeat_free([index[m] for m in g]) for g in part)
        for cross, part in scored
    ):
        assert result.summary.repeats == 0
    again = match_round(list(reversed(people)), history, MatchConfig(seed=7))
    assert again.groups == result.groups


def test_same_sector_only_when_nobody_else_is_left() -> None:
    people = [Person(f"c{i}", "", "civil_society", frozenset()) for i in range(4)]
    people.append(Person("b0", "", "business", frozenset()))
    people.append(Person("b1", "", "business", frozenset()))
    result = match_round(people)
    same = [g for g in result.groups if all(m.startswith("c") for m in g.members)]
    assert len(same) == 1
    assert any(r.kind == "same_sector_fallback" for r in same[0].reasons)
    assert result.summary.cross_sector_share == pytest.approx(2 / 3)


def test_pairing_across_comes_before_avoiding_a_repeat() -> None:
    """Found by test_invariants: two in civil society, four in business, and one of the
    two has met all four recently. Pairing both across (one repeat, one business pair)
    beats the repeat-free partition (three same-sector pairs)."""
    people = [Person(f"c{i}", "", "civil_society", frozenset()) for i in range(2)]
    people += [Person(f"b{i}", "", "business", frozenset()) for i in range(4)]
    met = [MetRecord("c1", f"b{i}", date(2026, 1, 1)) for i in range(4)]
    result = match_round(people, History.from_records(met, window_rounds=6))
    assert result.summary.same_sector == 1 and result.summary.repeats == 1


def test_priority_people_get_the_good_pairs() -> None:
    people = [
        Person("c0", "", "civil_society", frozenset(), priority=1),
        Person("c1", "", "civil_society", frozenset()),
        Person("c2", "", "civil_society", frozenset()),
        Person("b0", "", "business", frozenset()),
    ]
    result = match_round(people)
    assert ("b0", "c0") in [g.members for g in result.groups]


def test_repeat_is_avoided_and_old_meetings_fall_out_of_the_window() -> None:
    people = [
        Person("a", "", "civil_society", frozenset({"language"})),
        Person("b", "", "business", frozenset({"language"})),
        Person("c", "", "civil_society", frozenset()),
        Person("d", "", "business", frozenset()),
    ]
    records = [MetRecord("a", "b", date(2026, 1, 1))]
    recent = History.from_records(records, window_rounds=6)
    assert ("a", "b") not in [g.members for g in match_round(people, recent).groups]
    later = records + [MetRecord("x", "y", date(2026, m, 1)) for m in range(2, 8)]
    old = History.from_records(later, window_rounds=6)
    assert not old.met_recently("a", "b") and old.met_ever("a", "b")
    assert ("a", "b") in [g.members for g in match_round(people, old).groups]


def test_seed_changes_only_ties() -> None:
    people = [Person(f"p{i}", "", SECTORS[i % 2], frozenset()) for i in range(20)]
    first = match_round(people, config=MatchConfig(seed=1))
    assert first.groups == match_round(people, config=MatchConfig(seed=1)).groups
    assert first.summary.score == match_round(people, config=MatchConfig(seed=2)).summary.score


@pytest.mark.parametrize("count", [0, 1])
def test_too_few(count: int) -> None:
    people = [Person("a", "", "business", frozenset())][:count]
    with pytest.raises(BadInput) as caught:
        match_round(people)
    assert caught.value.key == "match.error.too_few"
    assert caught.value.params == {"count": count}


def test_duplicate_ids() -> None:
    people = [Person("a", "", "business", frozenset()), Person("a", "", "other", frozenset())]
    with pytest.raises(BadInput) as caught:
        match_round(people)
    assert caught.value.key == "match.error.duplicate_id"


def test_large_round_uses_candidates_and_the_assignment() -> None:
    people = [
        Person(
            f"p{i:04d}",
            "",
            SECTORS[i % 4],
            frozenset({INTERESTS[i % 5], INTERESTS[i % 3]}),
            PHRASES[i % 6],
            PHRASES[(i * 7) % 6],
            f"org{i % 50}",
        )
        for i in range(801)
    ]
    config = MatchConfig(seed=2, dense_limit=100, block_size=300, candidates_per_person=8)
    result = match_round(people, History(), config)
    assert sorted(m for g in result.groups for m in g.members) == [p.id for p in people]
    assert sorted(len(g.members) for g in result.groups)[-1] == 3
    assert result.summary.cross_sector_share == 1.0
    exact = match_round(
        people,
        History(),
        MatchConfig(seed=2, dense_limit=100, block_size=10_000, candidates_per_person=8),
    )
    assert result.summary.score >= 0.97 * exact.summary.score


def test_terms_normalise() -> None:
    assert terms("Mentoring") & terms("mentor")
    assert terms("Housing advice") & terms("a house")
    assert not terms("and the for")


def test_reasons_render_in_every_language(catalog: Catalog) -> None:
    a = Person("a", "Anne", "civil_society", frozenset({"language"}), offers="mentoring", seeks="")
    b = Person("b", "Bo", "business", frozenset({"language"}), offers="", seeks="a mentor")
    group = match_round([a, b]).groups[0]
    kinds = {r.kind for r in group.reasons}
    assert {"cross_sector", "shared", "offers"} <= kinds
    for lang in ("nb", "sv", "en"):
        for reason in group.reasons:
            text = render_reason(reason, catalog.translator(lang), {"a": "Anne", "b": "Bo"}, str)
            assert catalog.has(reason.message_key, lang)
            assert "{" not in text


def test_suggest_for() -> None:
    me = Person("me", "", "civil_society", frozenset({"housing"}), seeks="housing advice")
    people = [
        me,
        Person("same", "", "civil_society", frozenset({"housing"})),
        Person("met", "", "business", frozenset({"housing"})),
        Person("best", "", "public_sector", frozenset({"housing"}), offers="housing advice"),
        Person("ok", "", "business", frozenset({"housing"})),
        Person("meh", "", "business", frozenset()),
        Person("last", "", "other", frozenset()),
    ]
    history = History.from_records([MetRecord("me", "met", date(2020, 1, 1))], window_rounds=1)
    suggestions = suggest_for(me, people, history, k=3)
    ids = [s.person for s in suggestions]
    assert ids[:2] == ["best", "ok"]
    assert "same" not in ids and "met" not in ids and len(ids) == 3
    assert suggestions[0].score > suggestions[1].score
    assert any(r.kind == "offers" for r in suggestions[0].reasons)


def solver_suggestions(
    person: Person, people: Sequence[Person], history: History, k: int, config: MatchConfig
) -> list[tuple[str, int]]:
    """The suggestions as the solver's vectorised index ranks them (what `suggest_for`
    computed with numpy before it became plain Python): (id, score), best first."""
    others = [
        p
        for p in people
        if p.id != person.id and p.sector != person.sector and not history.met_ever(person.id, p.id)
    ]
    if not others or k <= 0:
        return []
    index = Index((person, *others), history, config)
    rows = np.zeros(len(others), dtype=np.int64)
    cols = np.arange(1, len(others) + 1, dtype=np.int64)
    parts = index.components(rows, cols)
    keys = index.rank(parts).tolist()
    order = sorted(range(len(others)), key=lambda i: (-keys[i], others[i].id))[:k]
    return [(others[i].id, int(parts.score[i])) for i in order]


@settings(max_examples=80, deadline=None)
@given(rounds(2, 12), st.integers(0, 5), st.integers(0, 3), st.integers(0, 10**6), st.data())
def test_suggest_for_ranks_as_the_solver(
    drawn: tuple[list[Person], History], k: int, who: int, seed: int, data: st.DataObject
) -> None:
    people, history = drawn
    person = people[who % len(people)]
    # pairs met "recently" but not "ever" (a history the service never builds): the order
    # still agrees
    ids = [p.id for p in people]
    odd = data.draw(st.lists(st.sampled_from(ids), max_size=3))
    history = History(
        recent=history.recent
        | {(min(person.id, o), max(person.id, o)) for o in odd if o != person.id},
        ever=history.ever,
    )
    config = MatchConfig(seed=seed)
    got = suggest_for(person, people, history, k=k, config=config)
    assert [(s.person, s.score) for s in got] == solver_suggestions(
        person, people, history, k, config
    )


# ── large rounds: the assignment, the windows, the fast ranking ─────────────────────────


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(
                    st.sampled_from(list(itertools.combinations(range(n), 2))),
                    st.integers(-50, 50),
                ),
                max_size=12,
                unique_by=lambda e: e[0],
            ),
        )
    )
)
def test_assignment_is_optimal(graph: tuple[int, list[Any]]) -> None:
    """Against every assignment: each person takes a partner along an edge or stays out
    (as giver and taker both), each partner taken once."""
    n, edges = graph
    ii = np.array([e[0][0] for e in edges], dtype=np.int64)
    jj = np.array([e[0][1] for e in edges], dtype=np.int64)
    benefit = np.array([e[1] for e in edges], dtype=np.int64)
    value = {(a, b): w for (a, b), w in edges} | {(b, a): w for (a, b), w in edges}
    low, high = min(value.values(), default=0), max(value.values(), default=0)
    out = low - (n + 1) * (high - low + 1)  # the stand-in's value (see _assignment)

    def total(take: Sequence[int]) -> int | None:
        if any(t >= 0 and (u, t) not in value for u, t in enumerate(take)):
            return None
        taken = [t for t in take if t >= 0]
        if len(taken) != len(set(taken)) or any(take[t] < 0 for t in taken):
            return None
        return sum(value[(u, t)] if t >= 0 else out for u, t in enumerate(take))

    best = max(
        (
            t
            for p in itertools.permutations(range(n))
            if (t := total([-1 if p[u] == u else p[u] for u in range(n)])) is not None
        ),
    )
    take = _assignment(n, ii, jj, benefit).tolist()
    assert total(take) == best


def _community(n: int, seed: int, civil: float) -> tuple[list[Person], History]:
    rng = random.Random(seed)
    count = round(civil * n)
    sectors = ["civil_society"] * count + [SECTORS[1 + i % 3] for i in range(n - count)]
    rng.shuffle(sectors)
    people = [
        Person(
            f"p{i:04d}",
            "",
            sectors[i],
            frozenset(rng.sample(INTERESTS, rng.randint(1, 3))),
            rng.choice(PHRASES),
            rng.choice(PHRASES),
            f"org{rng.randrange(n // 5)}",
            priority=int(rng.random() < 0.05),
        )
        for i in range(n)
    ]
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(n)]
    records = [
        MetRecord(people[a].id, people[b].id, date(2026, 1 + k % 6, 1))
        for k, (a, b) in enumerate(pairs)
        if a != b
    ]
    return people, History.from_records(records)


SPARSE = MatchConfig(seed=4, dense_limit=60, block_size=100, candidates_per_person=8)


@settings(max_examples=12, deadline=None)
@given(st.integers(200, 500), st.integers(0, 10**6), st.sampled_from((0.3, 0.45, 0.5, 0.55, 0.7)))
@example(455, 1, 0.45)  # the best few candidates closed off a region smaller than a window
@example(313, 550985, 0.55)  # a same-sector pair among the assignment's own mutual picks
@example(200, 0, 0.3)  # odd cycles of the assignment that windows of 4 per seed left short
def test_large_rounds_avoid_what_the_exact_optimum_avoids(n: int, seed: int, civil: float) -> None:
    """Same-sector pairs and repeats: no more than the exact optimum on the same candidate
    graph (so none when the graph holds a cross-sector, repeat-free matching; civil society
    at most half is the usual case), and nearly its score."""
    people, history = _community(n, seed, civil)
    problem = prepare(people, history, SPARSE)
    fast, exact = solve(problem), solve(problem, exact=True)
    assert sorted(m for g in fast.groups for m in g.members) == sorted(p.id for p in people)
    assert fast.summary.same_sector <= exact.summary.same_sector
    assert fast.summary.repeats <= exact.summary.repeats
    assert fast.summary.score >= 0.99 * exact.summary.score


@pytest.mark.xfail(strict=True, reason="known gap: 98.7 % of the exact score (2,042 of 2,069)")
def test_known_gap_civil_society_at_a_third_with_small_blocks() -> None:
    """Found by the property above (its random search, not the CI's fixed examples): with
    civil society at 0.3 and blocks of 100, the decomposition's windows leave 1.3 % of the
    exact score behind. Same-sector pairs and repeats are as the exact optimum's; only
    the score falls short. Kept as a failing case until the windows close it."""
    people, history = _community(231, 27426, 0.3)
    problem = prepare(people, history, SPARSE)
    fast, exact = solve(problem), solve(problem, exact=True)
    assert fast.summary.same_sector <= exact.summary.same_sector
    assert fast.summary.repeats <= exact.summary.repeats
    assert fast.summary.score >= 0.99 * exact.summary.score


@settings(max_examples=25, deadline=None)
@given(st.integers(120, 300), st.integers(0, 10**6), st.integers(0, 10**6))
def test_window_resolve_never_loses(n: int, seed: int, pick: int) -> None:
    """Re-solving any window of whole pairs keeps everyone paired and never lowers the
    round's weight, whatever the pairs were before (here: a shuffled matching)."""
    people, history = _community(n - n % 2, seed, 0.5)
    problem = prepare(people, history, SPARSE)
    order = list(range(len(people)))
    random.Random(seed).shuffle(order)
    mate = {}
    for a, b in zip(order[::2], order[1::2], strict=True):
        mate[a], mate[b] = b, a
    before = sum(group_weight(problem, p) for p in _pairs_of(mate))
    rng = random.Random(pick)
    seeds = rng.sample(order, rng.randint(1, 8))
    window = _window(problem, mate, seeds, rng.randint(2, 80))
    assert all(mate[u] in window for u in window)
    after = _resolve(problem, mate, window)
    assert sorted(after) == sorted(mate)
    assert all(after[after[u]] == u for u in after)
    assert sum(group_weight(problem, p) for p in _pairs_of(after)) >= before


def test_fast_ranking_equals_the_value_vector() -> None:
    people, history = _community(300, 9, 0.5)
    index = Index(sorted(people, key=lambda p: p.id), history, MatchConfig(seed=2))
    rows = np.arange(40, 140, dtype=np.int64)
    cols = np.sort(np.random.default_rng(3).choice(300, 120, replace=False)).astype(np.int64)
    slow = index.rank(index.components(rows[:, None], cols[None, :]))
    assert index.components(rows[:, None], cols[None, :]).repeat.any()
    assert (index.ranks(rows, cols) == slow).all()


def test_crowded_sector_keeps_partners_of_its_own() -> None:
    """With 70 % civil society, 40 % of them must pair among themselves: the candidate
    graph holds such pairs, so the round needs no last-resort complete re-solve."""
    people, history = _community(400, 5, 0.7)
    problem = prepare(people, history, SPARSE)
    sector = problem.index.sector
    assert (sector[problem.ii] == sector[problem.jj]).any()
    result = solve(problem)
    assert result.summary.same_sector == solve(problem, exact=True).summary.same_sector == 80


def test_large_rounds_are_deterministic_and_keep_one_trio() -> None:
    people, history = _community(401, 11, 0.5)
    first = match_round(people, history, SPARSE)
    assert match_round(list(reversed(people)), history, SPARSE).groups == first.groups
    other = match_round(people, history, MatchConfig(seed=5, dense_limit=60, block_size=100))
    assert sorted(len(g.members) for g in other.groups)[-1] == 3
