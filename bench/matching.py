"""Matching benchmark: synthetic communities over 12 monthly rounds, against the exact optimum.

Run: `python bench/matching.py [--sizes 100,1000,3000,10000] [--mixes bench,tests,half]
[--rounds 12] [--seed 1] [--exact-max 10000] [--networkx-max 1000] [--cli-sizes 10000]
[--cli-runs 3] [--block-size 2500]`.

Three sector mixes, each at every size: `bench` (this file's community: half civil society,
a third public sector, the rest business and others, 2–4 of the taxonomy's interests),
`tests` (the generator of tests/unit/test_matching.py: half civil society, 5 interests, a
history of n random meetings, 5 % priority) and `half` (half civil society, the other half
spread evenly over the four other sectors, 1–2 of six popular interests, a third with no
offer or seek: a plain CSV export).

Per size and mix it prints seconds per round (mean and the worst of the rounds; the part of
it spent building the candidate graph), score, cross-sector share, same-sector groups,
repeats and peak RSS; then, on the last round's graph (same people, same history, same
candidate graph), the reference: the exact optimum from one rustworkx blossom run over the
whole candidate graph (and networkx up to `--networkx-max` people), with its score, its
same-sector groups and its time; and the exact optimum of the first round's graph (no
history yet), whose score ratio is the last column. Then, per mix at `--cli-sizes`, what an organiser waits
for: `python -m bot match` on a CSV of the same people as its own process (wall clock, the
worst of `--cli-runs`), beside the round inside this process. It ends with a Markdown block
to paste into docs/benchmarks.md, and one JSON line; it exits 1 if a round is below 99.9 %
of the exact score (first or last round) or has more same-sector groups than the exact
optimum.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.domain.matching import (
    History,
    MatchConfig,
    MetRecord,
    Person,
    RoundResult,
    match_round,
    max_matching,
    prepare,
    solve,
)
from bot.domain.taxonomy import load_taxonomy
from tests.unit.test_matching import _community as tests_community

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 0.999  # the bar: at least 99.9 % of the exact optimum's score

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


def half_community(n: int, seed: int) -> list[Person]:
    """Half civil society, the rest evenly over the other four sectors; few interests, and
    a third of the people with no offer or seek (what a plain CSV export looks like)."""
    rng = random.Random(seed)
    popular = sorted(load_taxonomy().interest_keys)[:6]
    others = ("public_sector", "business", "research_education", "other")
    sectors = ["civil_society"] * (n // 2) + [others[i % 4] for i in range(n - n // 2)]
    rng.shuffle(sectors)
    people = []
    for i in range(n):
        plain = rng.random() < 1 / 3
        people.append(
            Person(
                id=f"h{i:05d}",
                name=f"Person {i}",
                sector=sectors[i],
                interests=frozenset(rng.sample(popular, rng.randint(1, 2))),
                offers="" if plain else rng.choice(PHRASES),
                seeks="" if plain else rng.choice(PHRASES),
                organisation=f"org{rng.randrange(max(2, n // 8))}",
            )
        )
    return people


def mix(name: str, n: int, seed: int) -> tuple[list[Person], list[MetRecord]]:
    """People of a mix, and the meetings before the first round (the tests' history)."""
    if name == "bench":
        return community(n, seed), []
    if name == "half":
        return half_community(n, seed), []
    people, history = tests_community(n, seed, 0.5)
    when = date(2025, 6, 1)
    return people, [MetRecord(a, b, when) for a, b in sorted(history.recent)]


MIXES = ("bench", "tests", "half")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def records_of(result: RoundResult, when: date) -> list[MetRecord]:
    out: list[MetRecord] = []
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
    name: str, n: int, rounds: int, seed: int, exact_max: int, networkx_max: int, block_size: int
) -> dict[str, object]:
    people, records = mix(name, n, seed)
    config = MatchConfig(seed=seed, block_size=block_size)
    seconds: list[float] = []
    preparing: list[float] = []
    results: list[RoundResult] = []
    problem = first = None
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
        first = first or problem
    assert problem is not None and first is not None
    last = results[-1]
    row: dict[str, object] = {
        "mix": name,
        "people": n,
        "rounds": rounds,
        "edges": len(problem.ii),
        "seconds_per_round": round(sum(seconds) / len(seconds), 3),
        "seconds_max": round(max(seconds), 3),
        "prepare_seconds": round(sum(preparing) / len(preparing), 3),
        "score": last.summary.score,
        "same_sector": last.summary.same_sector,
        "last_repeats": last.summary.repeats,
        "cross_sector_share": round(min(r.summary.cross_sector_share for r in results), 4),
        "repeats": sum(r.summary.repeats for r in results),
        "same_sector_groups": sum(r.summary.same_sector for r in results),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if n <= exact_max:
        started = time.perf_counter()
        exact = solve(problem, exact=True)
        exact_seconds = round(time.perf_counter() - started, 3)
        row["exact_seconds"] = exact_seconds
        row["exact_score"] = exact.summary.score
        row["exact_same_sector"] = exact.summary.same_sector
        row["exact_repeats"] = exact.summary.repeats
        row["score_ratio"] = round(last.summary.score / exact.summary.score, 5)
        row["time_ratio"] = round(max(seconds) / (exact_seconds or 1e-9), 3)
        row["objective_equal"] = last.objective == exact.objective
        # The first round too (no history yet: a different graph from the last one's).
        first_exact = solve(first, exact=True)
        row["first_score_ratio"] = round(results[0].summary.score / first_exact.summary.score, 5)
        row["first_same_sector"] = results[0].summary.same_sector
        row["first_exact_same_sector"] = first_exact.summary.same_sector
    if n <= networkx_max:
        started = time.perf_counter()
        reference = networkx_weight(problem.edges)
        row["networkx_seconds"] = round(time.perf_counter() - started, 3)
        row["networkx_equals_rustworkx"] = reference == rustworkx_weight(problem.edges, n)
    return row


def write_csv(people: list[Person], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("id", "name", "sector", "interests", "offers", "seeks", "organisation"))
        for p in people:
            writer.writerow(
                (
                    p.id,
                    p.name,
                    p.sector,
                    ";".join(sorted(p.interests)),
                    p.offers,
                    p.seeks,
                    p.organisation,
                )
            )


def run_cli(name: str, n: int, seed: int, runs: int) -> dict[str, object]:
    """`python -m bot match` on a CSV of the mix's people (no history), as an organiser runs
    it: wall clock of the whole process, worst of `runs`; beside it the round inside this
    process for the same people and seed (the reference)."""
    people, _ = mix(name, n, seed)
    walls: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        source, output = Path(folder) / "people.csv", Path(folder) / "groups.json"
        write_csv(people, source)
        command = [sys.executable, "-m", "bot", "match", "--input", str(source)]
        command += ["--output", str(output), "--seed", str(seed)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - started)
        groups = len(json.loads(output.read_text(encoding="utf-8"))["groups"])
    inside: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        match_round(people, History(), MatchConfig(seed=seed))
        inside.append(time.perf_counter() - started)
    return {
        "mix": name,
        "people": n,
        "cli_seconds_max": round(max(walls), 3),
        "cli_seconds_min": round(min(walls), 3),
        "round_seconds_max": round(max(inside), 3),
        "cli_over_round": round(max(walls) / max(inside), 2),
        "groups": groups,
    }


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{datetime.now(UTC).date().isoformat()}, nproc {os.cpu_count()}, {model}"


def markdown(rows: list[dict[str, object]], cli: list[dict[str, object]]) -> str:
    lines = [
        f"Measured {machine()}; Python {platform.python_version()}.",
        "",
        "| mix | people | edges | s/round mean (worst) | of which graph | score | same-sector"
        " groups, repeats (all rounds) | last round: same-sector, repeats | exact: same-sector,"
        " repeats | exact score | exact s | score / exact | first round: score / exact |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        exact = "exact_score" in r
        lines.append(
            f"| {r['mix']} | {r['people']:,} | {r['edges']:,} | {r['seconds_per_round']}"
            f" ({r['seconds_max']}) | {r['prepare_seconds']} | {r['score']:,}"
            f" | {r['same_sector_groups']}, {r['repeats']}"
            f" | {r['same_sector']}, {r['last_repeats']}"
            + (
                f" | {r['exact_same_sector']}, {r['exact_repeats']} | {r['exact_score']:,}"
                f" | {r['exact_seconds']}"
                f" | {100 * float(r['score_ratio']):.3f} %"  # type: ignore[arg-type]
                f" | {100 * float(r['first_score_ratio']):.3f} % |"  # type: ignore[arg-type]
                if exact
                else " | – | – | – | – | – |"
            )
        )
    if cli:
        lines += [
            "",
            "| mix | people | `python -m bot match` s (worst, best) | round in-process s (worst)"
            " | CLI / round |",
            "|---|---:|---:|---:|---:|",
        ]
        for c in cli:
            lines.append(
                f"| {c['mix']} | {c['people']:,} | {c['cli_seconds_max']}, {c['cli_seconds_min']}"
                f" | {c['round_seconds_max']} | {c['cli_over_round']} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--mixes", default=",".join(MIXES))
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exact-max", type=int, default=10_000)
    parser.add_argument("--networkx-max", type=int, default=1_000)
    parser.add_argument("--cli-sizes", default="10000")
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument(
        "--block-size",
        type=int,
        default=MatchConfig().block_size,
        help="above this many people the round is decomposed (smaller: the quick run reaches it)",
    )
    args = parser.parse_args()
    mixes = [m for m in args.mixes.split(",") if m.strip()]
    unknown = sorted(set(mixes) - set(MIXES))
    if unknown:
        parser.error(f"unknown mixes: {', '.join(unknown)}")
    rows, cli, failed = [], [], []
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        for name in mixes:
            row = run_size(
                name, n, args.rounds, args.seed, args.exact_max, args.networkx_max, args.block_size
            )
            rows.append(row)
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            if "exact_score" in row and (
                float(row["score_ratio"]) < GOAL_RATIO  # type: ignore[arg-type]
                or float(row["first_score_ratio"]) < GOAL_RATIO  # type: ignore[arg-type]
                or int(row["first_same_sector"]) > int(row["first_exact_same_sector"])  # type: ignore[call-overload]
                or int(row["same_sector"]) > int(row["exact_same_sector"])  # type: ignore[call-overload]
                or int(row["last_repeats"]) > int(row["exact_repeats"])  # type: ignore[call-overload]
            ):
                failed.append(f"{name} at {n}")
    for n in (int(s) for s in args.cli_sizes.split(",") if s.strip()):
        for name in mixes:
            row = run_cli(name, n, args.seed, args.cli_runs)
            cli.append(row)
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    print("\n--- paste into docs/benchmarks.md ---")
    print(markdown(rows, cli))
    print("---")
    print(json.dumps({"matching": rows, "cli": cli}))
    if failed:
        print(f"below the quality bar: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
