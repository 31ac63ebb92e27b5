"""Tests of the set-partitioning method, :mod:`pcnopt._model_partition`.

The candidate lists are checked against a brute-force listing of every subset; the solves
against :func:`pcnopt.model.solve_place` with the Hess model, which is exact by other means.
"""

from __future__ import annotations

import itertools
import math
import time

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcnopt import _model_partition as part
from pcnopt._model_instances import random_place
from pcnopt.model import SolveOptions, solve_place


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[set[int]], np.ndarray, list[int], float, float]:
    n = draw(st.integers(1, 10))
    edges = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=25))
    adj: list[set[int]] = [set() for _ in range(n)]
    for a, b in edges:
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    pop = np.asarray(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), float)
    nodes = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1)))
    lo = float(draw(st.integers(0, 12)))
    hi = lo + float(draw(st.integers(0, 20)))
    return adj, pop, nodes, lo, hi


def brute_candidates(
    adj: list[set[int]], pop: np.ndarray, nodes: list[int], lo: float, hi: float
) -> list[tuple[int, ...]]:
    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from((a, b) for a in nodes for b in adj[a] if b in g)
    out = []
    for r in range(1, len(nodes) + 1):
        for subset in itertools.combinations(nodes, r):
            if lo <= pop[list(subset)].sum() <= hi and nx.is_connected(g.subgraph(subset)):
                out.append(subset)
    return sorted(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_every_connected_set_in_the_band_is_listed_once(case) -> None:
    adj, pop, nodes, lo, hi = case
    cands = part.candidates_for(
        adj=adj,
        length={},
        pop=pop,
        cost=np.zeros((len(adj), len(adj))),
        nodes=nodes,
        lo=lo,
        hi=hi,
        together=[],
        apart=[],
        terms=("compact",),
    )
    assert cands is not None
    listed = sorted(tuple(cands.part(s)) for s in range(cands.count))
    assert listed == brute_candidates(adj, pop, nodes, lo, hi)  # duplicates would show here


def test_costs_and_rules_per_candidate() -> None:
    r"""A 2x2 square with one diagonal practice pair kept apart and one pair kept together.

    ::

        0 -- 1
        |    |
        2 -- 3
    """
    adj = [{1, 2}, {0, 3}, {0, 3}, {1, 2}]
    length = {(0, 1): 10.0, (0, 2): 20.0, (1, 3): 30.0, (2, 3): 40.0}
    pop = np.asarray([1.0, 2.0, 3.0, 4.0])
    xy = np.asarray([(0, 0), (100, 0), (0, 100), (100, 100)], float)
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    cost = pop[:, None] * dist
    cands = part.candidates_for(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=[0, 1, 2, 3],
        lo=0,
        hi=100,
        together=[(0, 1)],
        apart=[(0, 3)],
        terms=("compact", "boundary"),
    )
    assert cands is not None
    listed = {tuple(cands.part(s)): s for s in range(cands.count)}
    # connected, 0 and 1 together, 0 and 3 apart
    assert sorted(listed) == [(0, 1), (0, 1, 2), (2,), (2, 3), (3,)]
    for members, s in listed.items():
        idx = list(members)
        assert cands.costs["compact"][s] == pytest.approx(cost[np.ix_(idx, idx)].sum(0).min())
        border = sum(
            length[(min(a, b), max(a, b))] for a in idx for b in adj[a] if b not in members
        )
        assert cands.costs["boundary"][s] == pytest.approx(border / 2)
        assert cands.costs["count"][s] == 1.0


def test_too_many_candidates_leaves_the_block_to_the_hess_model() -> None:
    graph = random_place(30, seed=2)
    small = SolveOptions(threads=1, partition_candidates=10)
    solution = solve_place(graph, options=small)
    assert "Set partitioning" not in solution.message
    default = solve_place(graph, options=SolveOptions(threads=1))
    assert "Set partitioning" in default.message
    assert solution.status == default.status == "optimal"
    assert solution.objective == pytest.approx(default.objective)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fifty_practices_agree_with_the_hess_model(seed: int) -> None:
    graph = random_place(50, seed=seed)
    exact = solve_place(graph, options=SolveOptions(threads=1, time_limit=120))
    assert exact.status == "optimal", exact.message
    assert exact.gap == 0.0
    assert exact.bound == pytest.approx(exact.objective)
    # the Hess model, given the same time, never finds a cheaper plan
    hess = solve_place(graph, options=SolveOptions(threads=1, time_limit=5, partition_candidates=0))
    assert hess.objective >= exact.objective * (1 - 1e-9)
    if hess.bound is not None:
        assert hess.bound <= exact.objective * (1 + 1e-9)


def test_infeasibility_is_proved_without_a_starting_plan() -> None:
    """A star: two networks needed, but a leaf without the centre is 16k (see test_model)."""
    pop = np.asarray([2_000.0, 16_000, 16_000, 16_000, 16_000])
    adj = [{1, 2, 3, 4}, {0}, {0}, {0}, {0}]
    cands = part.candidates_for(
        adj=adj,
        length={},
        pop=pop,
        cost=np.zeros((5, 5)),
        nodes=[0, 1, 2, 3, 4],
        lo=30_000,
        hi=50_000,
        together=[],
        apart=[],
        terms=("compact",),
    )
    assert cands is not None and cands.count > 0
    result = part.solve_stage(
        cands,
        nodes=[0, 1, 2, 3, 4],
        cost=cands.costs["compact"],
        k_lo=2,
        k_hi=2,
        limits=[],
        start=None,
        solver="cbc",
        threads=1,
        mip_gap=0.0,
        deadline=None,
    )
    assert result.kind == "infeasible"
    assert result.plan is None


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_without_a_start_the_optimum_and_its_bound_are_found(solver: str) -> None:
    graph = random_place(24, seed=7)
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
    nodes = list(range(n))
    cands = part.candidates_for(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=nodes,
        lo=30_000,
        hi=50_000,
        together=[],
        apart=[],
        terms=("compact",),
    )
    assert cands is not None
    total = pop.sum()
    result = part.solve_stage(
        cands,
        nodes=nodes,
        cost=cands.costs["compact"],
        k_lo=math.ceil(total / 50_000),
        k_hi=math.floor(total / 30_000),
        limits=[],
        start=None,
        solver=solver,
        threads=1,
        mip_gap=0.0,
        deadline=time.perf_counter() + 120,
    )
    reference = solve_place(graph, options=SolveOptions(threads=1, partition_candidates=0))
    assert result.kind == "optimal"
    assert result.value == pytest.approx(reference.objective)
    assert result.bound == pytest.approx(reference.objective)
    covered = sorted(v for s in (result.plan or []) for v in cands.part(s))
    assert covered == nodes
