"""A priced search with no starting plan: phase I prices its own columns.

The priced searches (:func:`~pcnopt.model.partition.colgen.solve_priced`) needed a plan to
start from, so a count the heuristic met no plan of could not be searched on its own in a
place too large to list (E38000016: 9 networks found, 7 to 8 may do). With none, phase I
(artificial columns, every real column at cost 0, priced by the same compiled searches)
finds columns that make the LP feasible, or proves that no plan of that count exists.
Checked against :mod:`tests.model.brute` at every count of small places.
"""

from __future__ import annotations

import pytest

from pcnopt.model.partition import colgen
from pcnopt.model.solvers import Status
from tests.model import brute
from tests.model.instances import place_arrays, random_place

LO, HI = 20_000.0, 50_000.0


@pytest.mark.parametrize("seed", range(6))
def test_each_count_from_no_plan_is_its_optimum_or_proved_impossible(seed: int) -> None:
    graph = random_place(11, seed=seed)
    adj, length, pop, cost = place_arrays(graph)
    every = list(brute.plans(graph, LO, HI))
    best = {}
    for plan in every:
        best[len(plan)] = min(best.get(len(plan), float("inf")), brute.compact(graph, plan))
    counts = range(min(best) - 1, max(best) + 2)
    for k in counts:
        res, cands = colgen.solve_priced(
            adj=adj,
            length=length,
            pop=pop,
            cost=cost,
            nodes=list(range(11)),
            lo=LO,
            hi=HI,
            together=[],
            apart=[],
            k_lo=k,
            k_hi=k,
            start_parts=[],
            solver="cbc",
            threads=1,
            mip_gap=0.0,
            deadline=None,
        )
        if k not in best:
            assert res.kind == Status.INFEASIBLE and res.plan is None, k
            continue
        assert res.kind == Status.OPTIMAL, k
        assert res.plan is not None and len(res.plan) == k
        assert sorted(v for c in res.plan for v in cands.part(c)) == list(range(11))
        assert res.value == pytest.approx(best[k])


@pytest.mark.parametrize("seed", range(6))
def test_a_priced_count_left_open_is_settled_count_by_count_from_no_plan(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E38000016 (priced): the count's search ends with 9 networks and 7 to 8 possible, and
    no count's band is narrower than 30,000-50,000. Each count below the plan is now priced
    on its own from no plan: here the count's search is made to return the plan of most
    networks with the band's least count as its bound, and the fewest are met."""
    import math

    import networkx as nx

    from pcnopt.model import PARTITION, SolveOptions, solve_place
    from pcnopt.model import partition as part

    graph = random_place(12, seed=seed)
    every = list(brute.plans(graph, LO, HI))
    fewest = min(len(p) for p in every)
    most = max(every, key=len)
    if len(most) == fewest:
        pytest.skip("every plan has the same count")
    best = min(brute.compact(graph, p) for p in every if len(p) == fewest)
    total = float(sum(graph.population))
    solve_priced = part.solve_priced
    starts: list[int] = []  # the counts searched from no plan

    def stops_at_most(**kw):  # type: ignore[no-untyped-def]
        if kw["objective"] == "count":
            _, cands = solve_priced(**{**kw, "start_parts": [sorted(p) for p in most]})
            plan = part.locate(cands, [sorted(p) for p in most])
            assert plan is not None
            low = float(math.ceil(total / HI))
            return part.StageResult(Status.FEASIBLE, plan, float(len(plan)), low, (0, 0)), cands
        if not kw["start_parts"]:
            starts.append(kw["k_lo"])
        return solve_priced(**kw)

    monkeypatch.setattr(part, "solve_priced", stops_at_most)
    options = SolveOptions(
        threads=1, min_size=LO, max_size=HI, n_pcns="fewest", partition_candidates=3
    )
    res = solve_place(graph, options=options)
    g = nx.Graph((i, j) for i, j, _ in graph.edges)
    parts = [{v for v, lab in enumerate(res.labels) if lab == x} for x in set(res.labels)]
    assert all(nx.is_connected(g.subgraph(p)) for p in parts)
    assert res.method == PARTITION
    assert len(set(res.labels)) == fewest
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best)
    assert starts and starts[-1] == fewest
