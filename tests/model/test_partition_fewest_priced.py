"""The fewest networks with candidates priced on demand (``n_pcns="fewest"``).

Places whose candidates cannot be listed went to the Hess model for the fewest networks (12 of
the 34 sub-ICB places not proven in 60 s): two stages were not priced. The count is now priced
with every network costing 1 (:func:`~pcnopt.model.partition.colgen.solve_priced`,
``objective="count"``), then the most compact plan of that count. Checked against
:mod:`tests.model.brute` on small places with the listing's cap set so low that every block is
priced.
"""

from __future__ import annotations

import math

import networkx as nx
import pytest

from pcnopt.model import PARTITION, SolveOptions, solve_place
from pcnopt.model.partition import colgen
from tests.model import brute
from tests.model.instances import place_arrays, random_place

LO, HI = 20_000.0, 50_000.0

#: Far below the candidates of these places: every block is priced.
CAP = 3


@pytest.mark.parametrize("seed", range(6))
def test_priced_fewest_then_compact_agrees_with_brute_force(seed: int) -> None:
    graph = random_place(12, seed=seed)
    every = list(brute.plans(graph, LO, HI))
    fewest = min(len(p) for p in every)
    best = min(brute.compact(graph, p) for p in every if len(p) == fewest)
    options = SolveOptions(
        threads=1, min_size=LO, max_size=HI, n_pcns="fewest", partition_candidates=CAP
    )
    res = solve_place(graph, options=options)
    g = nx.Graph((i, j) for i, j, _ in graph.edges)
    parts = [{v for v, lab in enumerate(res.labels) if lab == x} for x in set(res.labels)]
    assert all(nx.is_connected(g.subgraph(p)) for p in parts)
    assert all(LO <= sum(graph.population[v] for v in p) <= HI for p in parts)
    assert res.method == PARTITION
    assert res.status == "optimal" and res.gap == 0
    assert len(set(res.labels)) == fewest
    assert res.objective == pytest.approx(best)


@pytest.mark.parametrize("seed", range(6))
def test_the_priced_count_needs_no_column_that_cannot_save_a_network(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts are whole: a plan better than ``ub`` networks has at most ``ub - 1``, so the
    closing programs ask for no column of reduced cost above ``ub - 1 - lb`` (they asked up
    to ``ub - lb``: 67,884 columns at E38000135, where none above 0 was needed)."""
    asked: list[tuple[float, float, float]] = []  # (t, ub, lb) per request
    real = colgen.close_gap

    def spied(columns_below, **kw):  # type: ignore[no-untyped-def]
        def recorded(t: float, cap: int):  # type: ignore[no-untyped-def]
            asked.append((t, kw["ub"], kw["lb"]))
            return columns_below(t, cap)

        return real(recorded, **kw)

    monkeypatch.setattr(colgen, "close_gap", spied)
    graph = random_place(14, seed=seed)
    every = list(brute.plans(graph, LO, HI))
    fewest = min(len(p) for p in every)
    # start from the plan of most networks, so that the count stage has work to do
    most = max(every, key=len)
    adj, length, pop, cost = place_arrays(graph)
    res, cands = colgen.solve_priced(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=list(range(14)),
        lo=LO,
        hi=HI,
        together=[],
        apart=[],
        k_lo=1,
        k_hi=14,
        start_parts=[sorted(p) for p in most],
        solver="cbc",
        threads=1,
        mip_gap=0.0,
        deadline=None,
        objective="count",
    )
    assert res.plan is not None and len(res.plan) == fewest == res.value == res.bound
    assert sorted(v for c in res.plan for v in cands.part(c)) == list(range(14))
    for t, ub, lb in asked:
        assert math.isfinite(ub) and lb == math.ceil(lb)  # the LP bound of a count, rounded up
        assert t <= ub - 1 - lb + 1e-6
