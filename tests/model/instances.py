"""Random planar places for tests and timing of :mod:`pcnopt.model`.

A test helper: it lives in ``tests/``, not in the package.

Practices are random points in a square; catchments are their Voronoi cells clipped to the
square, and two practices are adjacent when their cells share a border (length in metres).
This mimics real catchment adjacency (planar, average degree a little under 6).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import shapely

from pcnopt.model import PlaceGraph
from pcnopt.model.partition import Candidates, candidates_for


def random_place(
    n: int,
    *,
    seed: int,
    mean_population: float = 8_000.0,
    low: float = 2_000.0,
    high: float = 20_000.0,
    spacing: float = 1_500.0,
    place_id: str | None = None,
) -> PlaceGraph:
    """Return a random place of ``n`` practices with Voronoi-catchment adjacency.

    Parameters
    ----------
    n
        Number of practices.
    seed
        Seed for ``numpy.random.default_rng``.
    mean_population
        Target mean list size (gamma distributed, clipped to ``[low, high]``).
    low, high
        Smallest and largest list size.
    spacing
        Typical distance between neighbouring practices, metres.
    place_id
        Name of the place (default ``"R{n}-{seed}"``).
    """
    rng = np.random.default_rng(seed)
    side = spacing * np.sqrt(n)
    xs = rng.uniform(0, side, n) + 400_000
    ys = rng.uniform(0, side, n) + 300_000
    shape = 2.5
    pop = np.clip(rng.gamma(shape, mean_population / shape, n), low, high).round()
    box = shapely.box(400_000, 300_000, 400_000 + side, 300_000 + side)
    points = shapely.multipoints(np.column_stack([xs, ys]))
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=box, ordered=True))
    cells = shapely.intersection(cells, box)
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    edges = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            length = float(shapely.length(shapely.intersection(cells[i], cells[j])))
            if length > 1e-6:
                edges.append((i, j, round(length, 1)))
    codes = tuple(f"P{i:04d}" for i in range(n))
    return PlaceGraph(
        place_id=place_id or f"R{n}-{seed}",
        codes=codes,
        population=tuple(float(p) for p in pop),
        x=tuple(float(v) for v in xs),
        y=tuple(float(v) for v in ys),
        edges=tuple(sorted(edges)),
    )


def with_current_pcns(graph: PlaceGraph, *, seed: int, networks: int = 4) -> PlaceGraph:
    """The place with current PCNs: ``networks`` strips from west to east, one practice in
    five then moved to a random one (so some are split) and one in ten with none."""
    rng = np.random.default_rng(seed)
    order = np.argsort(np.asarray(graph.x))
    label: list[str | None] = [None] * len(graph.codes)
    for rank, v in enumerate(order):
        label[int(v)] = f"C{rank * networks // len(order):02d}"
    for v in range(len(label)):
        draw = rng.random()
        if draw < 0.2:
            label[v] = f"C{int(rng.integers(networks)):02d}"
        elif draw < 0.3:
            label[v] = None
    return replace(graph, current=tuple(label))


def place_arrays(
    graph: PlaceGraph,
) -> tuple[list[set[int]], dict[tuple[int, int], float], np.ndarray, np.ndarray]:
    """Adjacency, border lengths, populations and compact costs (patients x straight-line
    distance to each hub) of a place, as the partition functions take them."""
    n = len(graph.codes)
    adj: list[set[int]] = [set() for _ in range(n)]
    length = {}
    for i, j, w in graph.edges:
        adj[i].add(j)
        adj[j].add(i)
        length[(i, j)] = w
    pop = np.asarray(graph.population)
    xy = np.column_stack([graph.x, graph.y])
    cost = pop[:, None] * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return adj, length, pop, cost


def listed_candidates(graph: PlaceGraph, *, lo: float, hi: float) -> Candidates:
    """Every candidate network of a whole place within ``[lo, hi]`` (compact costs, no pair
    rules), as :func:`~pcnopt.model.partition.candidates_for` lists them."""
    adj, length, pop, cost = place_arrays(graph)
    cands = candidates_for(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=list(range(len(graph.codes))),
        lo=lo,
        hi=hi,
        together=[],
        apart=[],
        terms=("compact",),
    )
    assert cands is not None, "more candidates than the cap"
    return cands
