"""Brute force over every plan of a small place, written independently of the model.

A test helper. Every connected set of practices within the band is listed from the subsets
of the place, and every exact cover by such sets is a plan (no exceptions: the places used
have no practice above the band and no island below it).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import networkx as nx

from pcnopt.model import PlaceGraph


def band_sets(graph: PlaceGraph, lo: float, hi: float) -> list[frozenset[int]]:
    """Every connected set of practices with lo <= population <= hi."""
    n = len(graph.codes)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for i, j, _ in graph.edges)
    out = []
    for mask in range(1, 2**n):
        members = [v for v in range(n) if mask >> v & 1]
        size = sum(graph.population[v] for v in members)
        if lo <= size <= hi and nx.is_connected(g.subgraph(members)):
            out.append(frozenset(members))
    return out


def plans(graph: PlaceGraph, lo: float, hi: float) -> Iterator[list[frozenset[int]]]:
    """Every plan: exact covers of the practices by connected sets within the band."""
    n = len(graph.codes)
    sets = band_sets(graph, lo, hi)
    by_low: dict[int, list[frozenset[int]]] = {}
    for s in sets:
        by_low.setdefault(min(s), []).append(s)

    def rec(
        covered: frozenset[int], chosen: list[frozenset[int]]
    ) -> Iterator[list[frozenset[int]]]:
        if len(covered) == n:
            yield list(chosen)
            return
        low = min(set(range(n)) - covered)
        for s in by_low.get(low, []):
            if not s & covered:
                chosen.append(s)
                yield from rec(covered | s, chosen)
                chosen.pop()

    yield from rec(frozenset(), [])


def compact(graph: PlaceGraph, parts: Sequence[frozenset[int]]) -> float:
    """Patient-weighted distance of each part to its best hub, summed."""
    pop = graph.population
    return sum(
        min(
            sum(pop[i] * math.hypot(graph.x[i] - graph.x[h], graph.y[i] - graph.y[h]) for i in p)
            for h in p
        )
        for p in parts
    )


def disruption(graph: PlaceGraph, parts: Sequence[frozenset[int]]) -> float:
    """Patients not kept with their current network under the best one-to-one matching.

    The matching is found by trying every assignment of current networks to parts.
    """
    assert graph.current is not None
    pop = graph.population
    currents = sorted({c for c in graph.current if c is not None})
    slots: list[int | None] = [*range(len(parts)), *([None] * len(currents))]
    best = 0.0
    for perm in set(itertools.permutations(slots, len(currents))):
        kept = 0.0
        for c, r in zip(currents, perm, strict=True):
            if r is not None:
                kept += sum(pop[i] for i in parts[r] if graph.current[i] == c)
        best = max(best, kept)
    moved = sum(pop[i] for p in parts for i in p if graph.current[i] is not None)
    return moved - best
