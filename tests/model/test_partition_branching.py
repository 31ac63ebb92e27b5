"""Branch-and-price on pairs of practices: a count settled where its LP has a solution.

The fewest networks of a place too large to list stopped where the LP of a count had a
solution but the closing programs met no plan of it (E38000016: 9 networks found, 7 to 8
possible). The branching on pairs (:mod:`pcnopt.model.partition.branching`) settles such a
count: a plan of it, or a proof that none exists. Checked against :mod:`tests.model.brute`
at every count of small places, on a place whose LP has a solution at a count with no plan,
and through the fewest networks' priced path.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from pcnopt.model import PlaceGraph
from pcnopt.model.partition import branching, colgen
from pcnopt.model.partition.enumeration import (
    BlockArrays,
    csr,
    enumerate_sets,
    no_cuts,
    no_rules,
)
from pcnopt.model.solvers import Status
from tests.model import brute
from tests.model.instances import place_arrays, random_place


def _count(graph: PlaceGraph, k: int, lo: float, hi: float) -> branching.PairSearch:
    adj, length, pop, cost = place_arrays(graph)
    return colgen.branch_priced_count(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=list(range(len(graph.codes))),
        lo=lo,
        hi=hi,
        together=[],
        apart=[],
        k=k,
        deadline=None,
    )


def _is_plan(graph: PlaceGraph, plan: list[list[int]], lo: float, hi: float) -> bool:
    g = nx.Graph((i, j) for i, j, _ in graph.edges)
    pop = np.asarray(graph.population)
    covered = sorted(v for p in plan for v in p)
    return covered == list(range(len(graph.codes))) and all(
        nx.is_connected(g.subgraph(p)) and lo <= pop[list(p)].sum() <= hi for p in plan
    )


def two_triangles() -> PlaceGraph:
    """Two triangles of practices joined through a practice ``c`` whose only other neighbour
    is ``d``; every practice 10,000 patients and every network exactly two of them. Four
    networks cover the eight practices fractionally (``c-d`` whole, each triangle's three
    pairs at 1/2) but in no plan: ``c`` must join ``d``, and a triangle cannot be paired."""
    a1, a2, a3, b1, b2, b3, c, d = range(8)
    edges = [(a1, a2), (a1, a3), (a2, a3), (b1, b2), (b1, b3), (b2, b3), (a1, c), (b1, c)]
    edges.append((c, d))
    xy = [(0, 0), (-1, 1), (-1, -1), (4, 0), (5, 1), (5, -1), (2, 0), (2, 2)]
    return PlaceGraph(
        place_id="triangles",
        codes=tuple(f"P{i}" for i in range(8)),
        population=(10_000.0,) * 8,
        x=tuple(1_000.0 * x for x, _ in xy),
        y=tuple(1_000.0 * y for _, y in xy),
        edges=tuple(sorted((min(i, j), max(i, j), 100.0) for i, j in edges)),
    )


def test_a_count_whose_lp_has_a_solution_but_no_plan_is_proved_impossible() -> None:
    graph = two_triangles()
    assert not [p for p in brute.plans(graph, 19_999, 20_001) if len(p) == 4]
    res = _count(graph, 4, 19_999, 20_001)
    assert res.kind == Status.INFEASIBLE and res.plan is None
    assert res.nodes > 1  # the root's LP had a solution: the proof is the tree's


@pytest.mark.parametrize("seed", range(8))
def test_each_count_is_met_or_proved_impossible_as_brute_force_says(seed: int) -> None:
    lo, hi = 33_000.0, 38_000.0
    graph = random_place(12, seed=seed)
    counts = {len(p) for p in brute.plans(graph, lo, hi)}
    total = float(sum(graph.population))
    for k in range(max(1, math.floor(total / hi)), math.ceil(total / lo) + 1):
        res = _count(graph, k, lo, hi)
        if k in counts:
            assert res.kind == Status.OPTIMAL and res.plan is not None, k
            assert len(res.plan) == k and _is_plan(graph, res.plan, lo, hi)
        else:
            assert res.kind == Status.INFEASIBLE and res.plan is None, k


def test_the_pair_most_nearly_together_is_branched_on() -> None:
    support = [((0, 1, 2), 0.5), ((0, 1), 0.3), ((2, 3), 0.5), ((3,), 0.2), ((0, 1, 3), 0.2)]
    f = branching.togetherness(support)
    assert f[(0, 1)] == pytest.approx(1.0) and f[(0, 2)] == pytest.approx(0.5)
    assert f[(2, 3)] == pytest.approx(0.5) and f[(0, 3)] == pytest.approx(0.2)
    pair, value = branching.pair_to_branch(support) or ((-1, -1), 0.0)
    assert pair in ((0, 2), (1, 2), (2, 3)) and value == pytest.approx(0.5)
    assert branching.pair_to_branch([((0, 1), 1.0), ((2,), 1.0)]) is None


def test_a_network_keeps_to_the_pairs() -> None:
    assert branching.keeps_to((1, 2, 3), ((1, 2),), ((1, 4),))
    assert not branching.keeps_to((1, 3), ((1, 2),), ())
    assert not branching.keeps_to((1, 4), (), ((1, 4),))
    assert branching.keeps_to((5,), ((1, 2),), ((1, 4),))


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_search_keeps_to_the_pair_rules_and_its_cap_counts_only_those(
    seed: int,
) -> None:
    """The branching adds pair rules to the pricing; sets that break them must not fill the
    search's cap (a node's pricing met 2,000 sets, all broke the node's rules, and the node
    was left undecided)."""
    graph = random_place(12, seed=seed)
    adj, length, pop, _ = place_arrays(graph)
    n = len(adj)
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    for _ in range(4):
        a, b = sorted(int(v) for v in rng.choice(n, 2, replace=False))
        pairs.append((a, b))
    together, apart = pairs[:2], pairs[2:]
    block = BlockArrays(adj=adj, length=length, nodes=range(n), together=together, apart=apart)
    ptr, idx, _ = csr(adj, length)
    lo, hi = 20_000.0, 50_000.0

    def search(cap: int, rules: tuple) -> set[frozenset[int]]:
        members, set_ptr, _, _ = enumerate_sets(
            ptr, idx, pop, np.ones(n, np.bool_), lo, hi, cap, False, np.zeros((0, 0)),
            np.zeros(0), 0.0, np.inf, np.inf, False, *no_cuts(n), *rules,
        )  # fmt: skip
        return {
            frozenset(int(v) for v in members[set_ptr[s] : set_ptr[s + 1]])
            for s in range(set_ptr.size - 1)
        }

    every = search(10**7, no_rules(n))
    ruled = {s for s in every if branching.keeps_to(tuple(s), tuple(together), tuple(apart))}
    assert search(10**7, block.rules) == ruled
    if len(ruled) > 2:
        first = search(len(ruled) // 2, block.rules)
        assert len(first) == len(ruled) // 2 and first <= ruled


@pytest.mark.parametrize("seed", range(6))
def test_a_priced_count_with_a_solution_and_no_plan_met_is_settled_by_branching(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fewest networks when priced: each count's priced search from no plan is made to
    meet no plan (as E38000016's did at 7 and 8 networks: its LP converged, its programs met
    nothing) and the count's search to stop at the plan of most networks. The branching on
    pairs then meets the fewest (before it, the plan of most networks was returned)."""
    from pcnopt.model import PARTITION, SolveOptions, solve_place
    from pcnopt.model import partition as part

    lo, hi = 20_000.0, 50_000.0
    graph = random_place(12, seed=seed)
    every = list(brute.plans(graph, lo, hi))
    fewest = min(len(p) for p in every)
    most = max(every, key=len)
    if len(most) == fewest:
        pytest.skip("every plan has the same count")
    solve_priced = part.solve_priced
    total = float(sum(graph.population))

    def meets_nothing(**kw):
        if kw["objective"] == "count":
            _, cands = solve_priced(**{**kw, "start_parts": [sorted(p) for p in most]})
            plan = part.locate(cands, [sorted(p) for p in most])
            assert plan is not None
            low = float(math.ceil(total / hi))
            return part.StageResult(Status.FEASIBLE, plan, float(len(plan)), low, (0, 0)), cands
        if not kw["start_parts"]:
            res, cands = solve_priced(**kw)
            if res.kind == Status.INFEASIBLE:
                return res, cands
            return part.StageResult(Status.NO_SOLUTION, None, None, res.bound, (0, 0)), cands
        return solve_priced(**kw)

    monkeypatch.setattr(part, "solve_priced", meets_nothing)
    options = SolveOptions(
        threads=1, min_size=lo, max_size=hi, n_pcns="fewest", partition_candidates=3
    )
    res = solve_place(graph, options=options)
    parts = [sorted(v for v, lab in enumerate(res.labels) if lab == x) for x in set(res.labels)]
    assert res.method == PARTITION
    assert _is_plan(graph, parts, lo, hi)
    assert len(parts) == fewest
    assert res.status == "optimal"
