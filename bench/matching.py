"""Matching benchmark: synthetic communities over 12 monthly rounds, against the exact optimum.

Run: `python bench/matching.py [--sizes 100,1000,3000,10000] [--rounds 12] [--seed 1]
[--exact-max 10000] [--networkx-max 1000]`.

Per size it prints seconds per round (and the part of it spent building the candidate graph),
score, cross-sector share, same-sector groups, repeats and peak RSS; then, on the last
round's graph (same people, same history, same candidate graph), the exact optimum from one
rustworkx blossom run over the whole candidate graph (and networkx up to `--networkx-max`
people), with its score and time. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.domain.matching import (
    History,
    MatchConfig,
    MetRecord,
    Person,
    RoundResult,
    max_matching,
    prepare,
    solve,
)
from bot.domain.taxonomy import load_taxonomy

PHRASES = (
    "mentoring for newcomers",
    "language cafe volunteers",
    "internships and jobs",
    "housing advice",
    "funding for projects",
    "research data on inclusion",
    "football training for youth",
    "music and culture events",
    "digital skills courses",
    "health information",
    "meeting rooms and venues",
    "network of employers",
    "translation and interpreting",
    "startup coaching",
    "evaluation and reports",
    "activities for older people",
)


def community(n: int, seed: int) -> list[Person]:
    """Half civil society, a third public sector, the rest business and others."""
    rng = random.Random(seed)
    taxonomy = load_taxonomy()
    interests = sorted(taxonomy.interest_keys)
    popularity = [rng.uniform(0.3, 3.0) for _ in interests]
    rest = n - n // 2 - n // 3
    sectors = (
        ["civil_society"] * (n // 2)
        + ["public_sector"] * (n // 3)
        + ["business"] * (rest * 6 // 10)
        + ["research_education"] * (rest * 3 // 10)
    )
    sectors += ["other"] * (n - len(sectors))
    rng.shuffle(sectors)
    organisations = max(2, n // 6)
    people = []
    for i in range(n):
        chosen: set[str] = set()
        while len(chosen) < rng.randint(2, 4):
            chosen.add(rng.choices(interests, popularity)[0])
        people.append(
            Person(
                id=f"p{i:05d}",
                name=f"Person {i}",
                sector=sectors[i],
                interests=frozenset(chosen),
                offers=rng.choice(PHRASES),
                seeks=rng.choice(PHRASES),
                organisation=f"org{rng.randrange(organisations)}",
            )
        )
    return people


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def records_of(result: RoundResult, when: date) -> list[MetRecord]:
    out = []
    for group in result.groups:
        for i, a in enumerate(group.members):
            out.extend(MetRecord(a, b, when) for b in group.members[i + 1 :])
    return out


def networkx_weight(edges: tuple[tuple[int, int, int], ...]) -> int:
    """The optimum weight of the same graph by networkx (pure Python blossom)."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_weighted_edges_from(edges)
    weight = {(i, j): w for i, j, w in edges}
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    return sum(weight[(min(a, b), max(a, b))] for a, b in matching)


def rustworkx_weight(edges: tuple[tuple[int, int, int], ...], n: int) -> int:
    weight = {(i, j): w for i, j, w in edges}
    mate = max_matching(list(range(n)), edges)
    return sum(weight[(a, b)] for a, b in mate.items() if a < b)


def run_size(
    n: int, rounds: int, seed: int, exact_max: int, networkx_max: int
) -> dict[str, object]:
    people = community(n, seed)
    config = MatchConfig(seed=seed)
    records: list[MetRecord] = []
    seconds: list[float] = []
    preparing: list[float] = []
    results: list[RoundResult] = []
    problem = None
    for r in range(rounds):
        when = date(2026 + r // 12, r % 12 + 1, 7)
        history = History.from_records(records, config.window_rounds)
        started = time.perf_counter()
        problem = prepare(people, history, config)
        preparing.append(time.perf_counter() - started)
        result = solve(problem)
        seconds.append(time.perf_counter() - started)
        results.append(result)
        records.extend(records_of(result, when))
    assert problem is not None
    last = results[-1]
    row: dict[str, object] = {
        "people": n,
        "rounds": rounds,
        "edges": len(problem.edges),
        "seconds_per_round": round(sum(seconds) / len(seconds), 3),
        "seconds_max": round(max(seconds), 3),
        "prepare_seconds": round(sum(preparing) / len(preparing), 3),
        "score": last.summary.score,
        "cross_sector_share": min(r.summary.cross_sector_share for r in results),
        "repeats": sum(r.summary.repeats for r in results),
        "same_sector_groups": sum(r.summary.same_sector for r in results),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if n <= exact_max:
        started = time.perf_counter()
        exact = solve(problem, exact=True)
        row["exact_seconds"] = round(time.perf_counter() - started, 3)
        row["exact_score"] = exact.summary.score
        row["exact_repeats"] = exact.summary.repeats
        row["exact_cross_sector_share"] = exact.summary.cross_sector_share
        row["score_ratio"] = round(last.summary.score / exact.summary.score, 5)
        row["objective_equal"] = last.objective == exact.objective
    if n <= networkx_max:
        started = time.perf_counter()
        reference = networkx_weight(problem.edges)
        row["networkx_seconds"] = round(time.perf_counter() - started, 3)
        row["networkx_equals_rustworkx"] = reference == rustworkx_weight(problem.edges, n)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exact-max", type=int, default=10_000)
    parser.add_argument("--networkx-max", type=int, default=1_000)
    args = parser.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        row = run_size(n, args.rounds, args.seed, args.exact_max, args.networkx_max)
        rows.append(row)
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    print(json.dumps({"matching": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
