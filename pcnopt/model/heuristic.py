"""Greedy contiguous region growing plus local search.

Serves three purposes in :mod:`pcnopt.model`: a warm start for the integer program, a feasible
incumbent when the time limit arrives before the solver finds one, and the fallback
configuration (least size violation, every network contiguous) for infeasible places.

Every part produced is connected by construction: regions grow only through graph edges, and a
local-search move takes a practice out of a network only if what remains stays connected.
The search is deterministic: a fixed number of seeded restarts (``numpy.random.default_rng``),
unless a deadline stops the restarts early.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pcnopt.model.hubs import hub_of
from pcnopt.model.place import Place


@dataclass(frozen=True)
class HeuristicResult:
    """Best partition found.

    Parameters
    ----------
    parts
        Lists of node indices, one per part, each connected.
    violation
        Weighted size and rule violation (0 when every rule holds).
    cost
        Objective of the partition (sum of the part costs).
    """

    parts: tuple[tuple[int, ...], ...]
    violation: float
    cost: float


def connected(nodes: Sequence[int] | set[int], adj: Sequence[set[int]]) -> bool:
    """Return whether ``nodes`` induce a connected subgraph (empty counts as connected)."""
    members = set(nodes)
    if not members:
        return True
    start = next(iter(members))
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v in members and v not in seen:
                seen.add(v)
                stack.append(v)
    return len(seen) == len(members)


class _Scorer:
    def __init__(  # noqa: PLR0913  (keyword-only: the scorer's fields)
        self,
        *,
        pop: np.ndarray,
        min_size: float,
        max_size: float,
        lower_weight: float,
        upper_weight: float,
        together: Sequence[tuple[int, int]],
        apart: Sequence[tuple[int, int]],
        part_cost: Callable[[tuple[int, ...]], float],
        rule_penalty: float,
    ) -> None:
        self.pop = pop
        self.lo = min_size
        self.hi = max_size
        self.lw = lower_weight
        self.uw = upper_weight
        self.together = together
        self.apart = apart
        self.part_cost = part_cost
        self.rule_penalty = rule_penalty

    def size_violation(self, size: float) -> float:
        return self.lw * max(0.0, self.lo - size) + self.uw * max(0.0, size - self.hi)

    def rule_violation(self, label: dict[int, int]) -> float:
        bad = sum(1 for a, b in self.together if label.get(a) != label.get(b))
        bad += sum(1 for a, b in self.apart if label.get(a) == label.get(b))
        return self.rule_penalty * bad


def grow_and_improve(  # noqa: PLR0913  (keyword-only: the heuristic's tuning options)
    *,
    nodes: Sequence[int],
    adj: Sequence[set[int]],
    pop: np.ndarray,
    dist: np.ndarray,
    min_size: float,
    max_size: float,
    k_values: Sequence[int],
    part_cost: Callable[[tuple[int, ...]], float],
    together: Sequence[tuple[int, int]] = (),
    apart: Sequence[tuple[int, int]] = (),
    lower_weight: float = 1.0,
    upper_weight: float = 1.0,
    starts: int = 8,
    seed: int = 0,
    max_passes: int = 50,
    deadline: float | None = None,
) -> HeuristicResult:
    """Partition the connected node set ``nodes`` into contiguous parts.

    Parameters
    ----------
    nodes
        Node indices of one connected block of the graph.
    adj
        Neighbour sets for every node of the whole graph.
    pop
        Population per node.
    dist
        Distance matrix over all nodes (seeds are spread by it, growth follows it).
    min_size, max_size
        The population band.
    k_values
        Numbers of parts to try (each with ``starts`` seeded restarts).
    part_cost
        Objective of one part (a tuple of node indices).
    together, apart
        Pairs that should share, or not share, a part; violations are penalised.
    lower_weight, upper_weight
        Weights of a shortfall below ``min_size`` and an excess above ``max_size``.
    starts
        Restarts per part count.
    seed
        Seed for ``numpy.random.default_rng``.
    max_passes
        Local-search passes per restart.
    deadline
        ``time.perf_counter()`` value after which no further restart begins (the first
        always runs, so there is always a result).
    """
    node_list = sorted(nodes)
    scorer = _Scorer(
        pop=pop,
        min_size=min_size,
        max_size=max_size,
        lower_weight=lower_weight,
        upper_weight=upper_weight,
        together=together,
        apart=apart,
        part_cost=part_cost,
        rule_penalty=max(max_size, 1.0) * max(lower_weight, upper_weight) * 10,
    )
    rng = np.random.default_rng(seed)
    best: HeuristicResult | None = None
    for k in k_values:
        k = max(1, min(int(k), len(node_list)))
        for start in range(starts if k > 1 else 1):
            if best is not None and deadline is not None and time.perf_counter() > deadline:
                break
            if start % 2 == 0:
                parts = _grow(node_list, adj, pop, dist, k, rng)
            else:
                parts = _grow_capacitated(
                    node_list, adj, pop, dist, k, rng, max_size=max_size, part_cost=part_cost
                )
            parts = _local_search(
                parts,
                adj,
                scorer,
                max_passes=max_passes,
                allow_merge=len(k_values) > 1 or min_size > 0,
            )
            label = {v: idx for idx, part in enumerate(parts) for v in part}
            violation = sum(scorer.size_violation(float(pop[list(p)].sum())) for p in parts)
            violation += scorer.rule_violation(label)
            cost = sum(part_cost(tuple(sorted(p))) for p in parts)
            result = HeuristicResult(
                parts=tuple(sorted(tuple(sorted(p)) for p in parts)),
                violation=violation,
                cost=cost,
            )
            if best is None or _better(result, best):
                best = result
    assert best is not None
    return best


def _better(a: HeuristicResult, b: HeuristicResult) -> bool:
    tol = 1e-9
    if a.violation < b.violation - tol:
        return True
    if a.violation > b.violation + tol:
        return False
    return a.cost < b.cost - tol * max(1.0, abs(b.cost))


def _grow(
    nodes: list[int],
    adj: Sequence[set[int]],
    pop: np.ndarray,
    dist: np.ndarray,
    k: int,
    rng: np.random.Generator,
) -> list[set[int]]:
    members = set(nodes)
    first = nodes[int(rng.integers(len(nodes)))]
    seeds = [first]
    sub = np.array(nodes)
    mind = dist[first, sub].astype(float).copy()
    while len(seeds) < k:
        # farthest point, with a little randomness among the farthest few
        order = np.argsort(-mind, kind="stable")
        pick = int(order[int(rng.integers(min(3, len(order))))])
        node = int(sub[pick])
        if node in seeds:
            node = int(sub[int(order[0])])
            if node in seeds:
                break
        seeds.append(node)
        mind = np.minimum(mind, dist[node, sub])
    regions = [{s} for s in seeds]
    sizes = [float(pop[s]) for s in seeds]
    owner = {s: i for i, s in enumerate(seeds)}
    while len(owner) < len(members):
        smallest_first = sorted(range(len(regions)), key=lambda r: (sizes[r], r))
        grown = False
        for r in smallest_first:
            frontier = {v for u in regions[r] for v in adj[u] if v in members and v not in owner}
            if not frontier:
                continue
            seed_node = seeds[r]
            v = min(frontier, key=lambda w: (float(dist[seed_node, w]), w))
            regions[r].add(v)
            owner[v] = r
            sizes[r] += float(pop[v])
            grown = True
            break
        if not grown:  # another component of a disconnected block: start a region there
            v = min(members - set(owner))
            seeds.append(v)
            regions.append({v})
            sizes.append(float(pop[v]))
            owner[v] = len(regions) - 1
    return regions


def _grow_capacitated(  # noqa: PLR0913  (the block's arrays, then keyword-only options)
    nodes: list[int],
    adj: Sequence[set[int]],
    pop: np.ndarray,
    dist: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    max_size: float,
    part_cost: Callable[[tuple[int, ...]], float],
    lloyd: int = 4,
) -> list[set[int]]:
    """Grow regions from hubs by nearest-first under the size cap, re-centring (k-medoids)."""
    regions = _grow(nodes, adj, pop, dist, k, rng)
    cost = pop[:, None] * dist
    for _ in range(lloyd):
        seeds = [hub_of(region, cost) for region in regions]
        members = set(nodes)
        owner = {s: r for r, s in enumerate(seeds)}
        new = [{s} for s in seeds]
        sizes = [float(pop[s]) for s in seeds]
        while len(owner) < len(members):
            best = None
            for r, region in enumerate(new):
                for u in region:
                    for v in adj[u]:
                        if v in members and v not in owner and sizes[r] + pop[v] <= max_size:
                            key = (float(dist[seeds[r], v]), v, r)
                            if best is None or key < best:
                                best = key
            if best is None:  # cap blocks every move: give the rest to the smallest neighbour
                for v in sorted(members - set(owner)):
                    near = [owner[u] for u in adj[v] if u in owner]
                    if near:
                        r = min(near, key=lambda q: (sizes[q], q))
                        new[r].add(v)
                        owner[v] = r
                        sizes[r] += float(pop[v])
                        break
                else:
                    v = min(members - set(owner))
                    new.append({v})
                    seeds.append(v)
                    sizes.append(float(pop[v]))
                    owner[v] = len(new) - 1
                continue
            _, v, r = best
            new[r].add(v)
            owner[v] = r
            sizes[r] += float(pop[v])
        if new == regions:
            break
        regions = new
    return regions


def _local_search(  # noqa: C901  (one pass of moves over the shared arrays, clearer whole)
    parts: list[set[int]],
    adj: Sequence[set[int]],
    scorer: _Scorer,
    *,
    max_passes: int,
    allow_merge: bool,
) -> list[set[int]]:
    pop = scorer.pop
    parts = [set(p) for p in parts if p]
    label = {v: i for i, p in enumerate(parts) for v in p}
    sizes = [float(pop[list(p)].sum()) for p in parts]
    costs = [scorer.part_cost(tuple(sorted(p))) for p in parts]

    def rules_for(v: int) -> list[tuple[int, int, bool]]:
        out = [(a, b, True) for a, b in scorer.together if v in (a, b)]
        out += [(a, b, False) for a, b in scorer.apart if v in (a, b)]
        return out

    rule_index = {v: rules_for(v) for v in label}

    def rule_bad(v: int, lab: dict[int, int]) -> float:
        bad = 0
        for a, b, same in rule_index.get(v, []):
            if (lab.get(a) == lab.get(b)) != same:
                bad += 1
        return scorer.rule_penalty * bad

    for _ in range(max_passes):
        improved = False
        for v in sorted(label):
            a = label[v]
            if len(parts[a]) == 1:
                continue
            targets = sorted({label[w] for w in adj[v] if w in label and label[w] != a})
            if not targets:
                continue
            rest = parts[a] - {v}
            if not connected(rest, adj):
                continue
            before_rule = rule_bad(v, label)
            old_a = scorer.size_violation(sizes[a])
            rest_t = tuple(sorted(rest))
            cost_rest = scorer.part_cost(rest_t)
            best_move = None
            for b in targets:
                new_b = tuple(sorted(parts[b] | {v}))
                old = old_a + scorer.size_violation(sizes[b]) + before_rule
                label[v] = b
                after_rule = rule_bad(v, label)
                label[v] = a
                new = (
                    scorer.size_violation(sizes[a] - pop[v])
                    + scorer.size_violation(sizes[b] + pop[v])
                    + after_rule
                )
                cost_b = scorer.part_cost(new_b)
                dcost = cost_rest + cost_b - costs[a] - costs[b]
                dviol = new - old
                tol = 1e-9 * max(1.0, abs(costs[a]) + abs(costs[b]))
                if dviol < -1e-9 or (abs(dviol) <= 1e-9 and dcost < -tol):
                    key = (dviol, dcost, b)
                    if best_move is None or key < best_move[0]:
                        best_move = (key, b, cost_b)
            if best_move is not None:
                _, b, cost_b = best_move
                parts[a].discard(v)
                parts[b].add(v)
                label[v] = b
                sizes[a] -= float(pop[v])
                sizes[b] += float(pop[v])
                costs[a] = cost_rest
                costs[b] = cost_b
                improved = True
        if allow_merge:
            improved |= _try_merge(parts, label, sizes, costs, adj, scorer)
        if not improved:
            improved = _pair_reopt(parts, label, sizes, costs, adj, scorer)
        if not improved:
            break
    return [p for p in parts if p]


def _connected_subsets(
    nodes: set[int], root: int, adj: Sequence[set[int]], pop: np.ndarray, cap: float, limit: int
) -> list[frozenset[int]]:
    """Connected subsets of ``nodes`` that contain ``root``, population at most ``cap``."""
    out: list[frozenset[int]] = []

    def extend(sub: frozenset[int], ext: set[int], size: float) -> None:
        if len(out) >= limit:
            return
        out.append(sub)
        ext = set(ext)
        while ext:
            w = min(ext)
            ext.discard(w)
            new_size = size + float(pop[w])
            if new_size > cap:
                continue
            excl = {
                u
                for u in adj[w]
                if u in nodes
                and u not in sub
                and u not in ext
                and all(u not in adj[s] for s in sub)
            }
            extend(sub | {w}, ext | excl, new_size)

    extend(frozenset([root]), {u for u in adj[root] if u in nodes}, float(pop[root]))
    return out


def _pair_reopt(  # noqa: C901  (one pass over adjacent pairs, clearer whole)
    parts: list[set[int]],
    label: dict[int, int],
    sizes: list[float],
    costs: list[float],
    adj: Sequence[set[int]],
    scorer: _Scorer,
    max_union: int = 14,
) -> bool:
    """Re-split the union of two adjacent parts optimally (enumeration); True if improved."""
    pop = scorer.pop
    improved = False
    pairs = sorted(
        {
            (min(label[v], label[w]), max(label[v], label[w]))
            for v in label
            for w in adj[v]
            if w in label and label[w] != label[v]
        }
    )
    rules = [(a, b, True) for a, b in scorer.together] + [(a, b, False) for a, b in scorer.apart]
    for a, b in pairs:
        if not parts[a] or not parts[b]:
            continue
        union = parts[a] | parts[b]
        if len(union) > max_union:
            continue
        local_rules = [r for r in rules if r[0] in union and r[1] in union]

        def rule_cost(first: frozenset[int], rules: list = local_rules) -> float:
            bad = sum(1 for x, y, same in rules if ((x in first) == (y in first)) != same)
            return scorer.rule_penalty * bad

        old_first = frozenset(parts[a] if min(union) in parts[a] else parts[b])
        old_viol = (
            scorer.size_violation(sizes[a]) + scorer.size_violation(sizes[b]) + rule_cost(old_first)
        )
        old_cost = costs[a] + costs[b]
        best = None
        cap = max(scorer.hi, float(pop[list(union)].sum()))
        if scorer.uw > 0:
            cap = max(scorer.hi, max(sizes[a], sizes[b]))
        root = min(union)
        total = sizes[a] + sizes[b]
        for first in _connected_subsets(union, root, adj, pop, cap, limit=4000):
            if len(first) == len(union):
                continue
            second = union - first
            s1 = float(pop[list(first)].sum())
            viol = scorer.size_violation(s1) + scorer.size_violation(total - s1)
            if viol > old_viol + 1e-9:
                continue
            viol += rule_cost(first)
            if viol > old_viol + 1e-9 or not connected(second, adj):
                continue
            cost = scorer.part_cost(tuple(sorted(first))) + scorer.part_cost(tuple(sorted(second)))
            key = (viol, cost)
            if best is None or key < best[0]:
                best = (key, first, second)
        if best is None:
            continue
        (viol, cost), first, second = best
        tol = 1e-9 * max(1.0, abs(old_cost))
        if viol < old_viol - 1e-9 or (viol <= old_viol + 1e-9 and cost < old_cost - tol):
            parts[a], parts[b] = set(first), set(second)
            for v in first:
                label[v] = a
            for v in second:
                label[v] = b
            sizes[a] = float(pop[list(first)].sum())
            sizes[b] = float(pop[list(second)].sum())
            costs[a] = scorer.part_cost(tuple(sorted(first)))
            costs[b] = scorer.part_cost(tuple(sorted(second)))
            improved = True
    return improved


def _try_merge(
    parts: list[set[int]],
    label: dict[int, int],
    sizes: list[float],
    costs: list[float],
    adj: Sequence[set[int]],
    scorer: _Scorer,
) -> bool:
    """Merge one pair of adjacent parts when that lowers the violation."""
    best = None
    for a in range(len(parts)):
        if not parts[a]:
            continue
        nbrs = {label[w] for v in parts[a] for w in adj[v] if w in label} - {a}
        for b in sorted(nbrs):
            if b <= a or not parts[b]:
                continue
            old = scorer.size_violation(sizes[a]) + scorer.size_violation(sizes[b])
            new = scorer.size_violation(sizes[a] + sizes[b])
            if new < old - 1e-9 and (best is None or new - old < best[0]):
                best = (new - old, a, b)
    if best is None:
        return False
    _, a, b = best
    for v in parts[b]:
        label[v] = a
    parts[a] |= parts[b]
    parts[b] = set()
    sizes[a] += sizes[b]
    sizes[b] = 0.0
    costs[a] = scorer.part_cost(tuple(sorted(parts[a])))
    costs[b] = 0.0
    return True


def block_heuristic(  # noqa: PLR0913  (keyword-only: the block's bounds, rules and weights)
    place: Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    lower_weight: float = 1.0,
    upper_weight: float = 1.0,
    deadline: float | None = None,
) -> HeuristicResult:
    opts = place.options
    total = float(place.pop[nodes].sum())
    target = total / ((opts.min_size + opts.max_size) / 2)
    ks = list(range(max(1, k_lo), min(len(nodes), k_hi) + 1))
    if not ks:
        ks = [max(1, min(len(nodes), round(target)))]
    if opts.n_pcns == "fewest" or "compact" not in place.terms:
        ks = ks[:3]  # boundary and disruption favour few networks
    elif len(place.terms) == 1 or (opts.lexicographic and place.terms[0] == "compact"):
        # distance to the hub favours many networks, but the band rarely allows k_max:
        # optima have networks a quarter of the way up the band on average
        aim = total / (opts.min_size + 0.25 * (opts.max_size - opts.min_size))
        ks = sorted(ks, key=lambda k: (abs(k - aim), -k))[:3]
    else:
        ks = sorted(ks, key=lambda k: (abs(k - target), k))[:3]
    block = set(nodes)
    tog = [(a, b) for a, b in together if a in block and b in block]
    apt = [(a, b) for a, b in apart if a in block and b in block]
    starts = 3 if len(nodes) <= 60 else 2 if len(nodes) <= 120 else 1
    if len(nodes) > 120:
        ks = ks[:2]
    return grow_and_improve(
        nodes=nodes,
        adj=place.adj,
        pop=place.pop,
        dist=place.dist,
        min_size=opts.min_size,
        max_size=opts.max_size,
        k_values=sorted(ks),
        part_cost=place.part_cost,
        together=tog,
        apart=apt,
        lower_weight=lower_weight,
        upper_weight=upper_weight,
        starts=starts,
        seed=0,
        deadline=deadline,
    )
