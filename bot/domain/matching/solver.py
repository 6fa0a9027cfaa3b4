"""Pairs for a prepared round: one blossom run up to `block_size` people; above, the optimal
assignment (scipy's LAPJVsp) repaired by exact blossom windows, then the last resort for
whoever the candidate graph cannot place. See the package docstring."""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import rustworkx as rx

from bot.domain.matching.graph import Problem, _all_pairs
from bot.domain.matching.index import IntArray, _pair_weights


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


def _half_and_half_pairs(problem: Problem) -> tuple[dict[int, int], int] | None:
    """When one sector is exactly half the round (as in the communities we bench: civil
    society is half of them), a matching with no same-sector pair pairs each of its members
    with someone outside it: the round is a bipartite matching between that sector and the
    rest, and the optimal assignment on that bipartite graph (not the double cover) is that
    matching's optimum, with no odd cycles to repair. At 10,000 people it reached the exact
    optimum where the double cover's repair stopped at 99.3 % (docs/benchmarks.md).

    None when no sector is half. People the bipartite graph cannot place (no candidate on
    the other side) stay out for the windows and the last resort, as with `_assignment`.
    """
    index = problem.index
    n = index.n
    counts = np.bincount(index.sector)
    half = int(counts.argmax())
    if 2 * int(counts[half]) not in (n, n + 1):
        return None
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    inside = index.sector == half
    ii, jj = problem.ii, problem.jj
    across = inside[ii] != inside[jj]
    members = np.where(inside[ii], ii, jj)[across]
    others = np.where(inside[ii], jj, ii)[across]
    benefit = problem.benefit[across]
    side_a, side_b = np.flatnonzero(inside), np.flatnonzero(~inside)
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[side_a] = np.arange(side_a.size)
    col_of = np.full(n, -1, dtype=np.int64)
    col_of[side_b] = np.arange(side_b.size)
    high = int(benefit.max()) if benefit.size else 0
    low = int(benefit.min()) if benefit.size else 0
    out = low - (n + 1) * (high - low + 1)  # staying out: as in `_assignment`
    # A row of its own per person outside the sector, for staying out: a full matching of
    # the columns then always exists.
    rows = np.concatenate([row_of[members], side_a.size + np.arange(side_b.size)])
    cols = np.concatenate([col_of[others], np.arange(side_b.size)])
    value = np.concatenate([benefit, np.full(side_b.size, out, dtype=np.int64)])
    cost = (high - value + 1).astype(np.float64)
    graph = csr_array((cost, (rows, cols)), shape=(side_a.size + side_b.size, side_b.size))
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)
    real = matched_rows < side_a.size
    a = side_a[matched_rows[real]].tolist()
    b = side_b[matched_cols[real]].tolist()
    mate = dict(zip(a, b, strict=True))
    mate.update(zip(b, a, strict=True))
    return mate, n % 2


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
    proposed, alone_least = _half_and_half_pairs(problem) or _assignment_pairs(problem)
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
