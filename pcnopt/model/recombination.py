"""Plans of exactly k connected parts within a band, by spanning-tree splitting (a heuristic).

The warm start of :mod:`pcnopt.model.branch_cut`. A first plan is carved part by part: a random
spanning tree of what is left is cut at an edge that leaves a subtree within the band and a rest
that can still be split (GerryChain's ``recursive_tree_part``). The plan is then improved by
*recombination* (DeFord, Duchin and Solomon's ReCom): two neighbouring parts are merged, a random
spanning tree of the union is cut at an edge that leaves both sides within the band, and the new
plan is kept when its weighted cut is no larger. Nothing here is proved: the branch-and-cut does
that.
"""

from __future__ import annotations

import time

import numpy as np

from pcnopt.model.types import PlaceGraph

__all__ = ["plan_by_recombination"]


def _tree_cuts(
    nodes: list[int],
    *,
    adj: list[list[int]],
    pop: tuple[float, ...],
    rng: np.random.Generator,
) -> tuple[dict[int, int], list[int], dict[int, float]]:
    """A random spanning tree of ``nodes`` (connected): parent, DFS order and subtree sizes."""
    inside = set(nodes)
    edges = [(a, b) for a in nodes for b in adj[a] if a < b and b in inside]
    weights = rng.random(len(edges))
    root_of = {v: v for v in nodes}

    def find(v: int) -> int:
        while root_of[v] != v:
            root_of[v] = root_of[root_of[v]]
            v = root_of[v]
        return v

    tree: dict[int, list[int]] = {v: [] for v in nodes}
    for e in np.argsort(weights):
        a, b = edges[int(e)]
        ra, rb = find(a), find(b)
        if ra != rb:
            root_of[ra] = rb
            tree[a].append(b)
            tree[b].append(a)
    start = nodes[int(rng.integers(len(nodes)))]
    parent = {start: -1}
    order = [start]
    for v in order:
        for w in tree[v]:
            if w not in parent:
                parent[w] = v
                order.append(w)
    size = {v: pop[v] for v in nodes}
    for v in reversed(order[1:]):
        size[parent[v]] += size[v]
    return parent, order, size


def _subtree(v: int, parent: dict[int, int], order: list[int]) -> set[int]:
    below = {v}
    for w in order[order.index(v) + 1 :]:
        if parent[w] in below:
            below.add(w)
    return below


def _split(
    nodes: list[int],
    *,
    adj: list[list[int]],
    pop: tuple[float, ...],
    lo: float,
    hi: float,
    rest_parts: int,
    rng: np.random.Generator,
    tries: int,
) -> set[int] | None:
    """A connected part within [lo, hi] whose complement in ``nodes`` is connected and can hold
    ``rest_parts`` parts (by population), or None after ``tries`` trees."""
    total = sum(pop[v] for v in nodes)
    for _ in range(tries):
        parent, order, size = _tree_cuts(nodes, adj=adj, pop=pop, rng=rng)
        good = [
            v
            for v in order[1:]
            if lo <= size[v] <= hi and rest_parts * lo <= total - size[v] <= rest_parts * hi
        ]
        if good:
            return _subtree(good[int(rng.integers(len(good)))], parent, order)
    return None


def _cut(labels: list[int], edges: tuple[tuple[int, int, float], ...]) -> float:
    return sum(length for a, b, length in edges if labels[a] != labels[b])


def plan_by_recombination(
    graph: PlaceGraph,
    *,
    parts: int,
    min_size: float,
    max_size: float,
    seconds: float,
    seed: int = 0,
    patience: int = 20_000,
) -> tuple[int, ...] | None:
    """A plan of ``parts`` connected parts within the band, of small weighted cut, or None.

    Parameters
    ----------
    graph
        Nodes, populations and edges (lengths are the cut weights).
    parts
        Number of parts, k.
    min_size, max_size
        Population band of every part.
    seconds
        Time budget (the first plan may take longer when it is hard to find; it gives up
        after 20 rounds of trees).
    seed
        Seed for ``numpy.random.default_rng``.
    patience
        Stop after this many recombination attempts without a smaller cut.

    Returns
    -------
    tuple of int or None
        Part per node, or None when no plan was found (not a proof that none exists).
    """
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + seconds
    n = len(graph.codes)
    pop = graph.population
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b, _ in graph.edges:
        adj[a].append(b)
        adj[b].append(a)
    labels = _first_plan(
        n, adj=adj, pop=pop, parts=parts, lo=min_size, hi=max_size, rng=rng, deadline=deadline
    )
    if labels is None:
        return None
    best = _cut(labels, graph.edges)
    stale = 0
    while time.perf_counter() < deadline and stale < patience:
        stale += 1
        a, b, _ = graph.edges[int(rng.integers(len(graph.edges)))]
        pa, pb = labels[a], labels[b]
        if pa == pb:
            continue
        union = [v for v in range(n) if labels[v] in (pa, pb)]
        part = _split(
            union, adj=adj, pop=pop, lo=min_size, hi=max_size, rest_parts=1, rng=rng, tries=1
        )
        if part is None:
            continue
        trial = [
            (pa if v in part else pb) if labels[v] in (pa, pb) else labels[v] for v in range(n)
        ]
        cut = _cut(trial, graph.edges)
        if cut < best:
            stale = 0
        if cut <= best:
            labels, best = trial, cut
    return tuple(labels)


def _first_plan(
    n: int,
    *,
    adj: list[list[int]],
    pop: tuple[float, ...],
    parts: int,
    lo: float,
    hi: float,
    rng: np.random.Generator,
    deadline: float,
) -> list[int] | None:
    """Carve parts one by one from random spanning trees; up to 20 attempts."""
    for _ in range(20):
        left = list(range(n))
        trial = [-1] * n
        for t in range(parts - 1):
            part = _split(
                left, adj=adj, pop=pop, lo=lo, hi=hi, rest_parts=parts - 1 - t, rng=rng, tries=200
            )
            if part is None:
                break
            for v in part:
                trial[v] = t
            left = [v for v in left if v not in part]
        else:
            if lo <= sum(pop[v] for v in left) <= hi and _connected(left, adj):
                for v in left:
                    trial[v] = parts - 1
                return trial
        if time.perf_counter() > deadline:
            break
    return None


def _connected(nodes: list[int], adj: list[list[int]]) -> bool:
    if not nodes:
        return False
    inside = set(nodes)
    seen = {nodes[0]}
    stack = [nodes[0]]
    while stack:
        v = stack.pop()
        for w in adj[v]:
            if w in inside and w not in seen:
                seen.add(w)
                stack.append(w)
    return len(seen) == len(inside)
