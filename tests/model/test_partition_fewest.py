"""Tests of the fewest networks (``n_pcns="fewest"``) in :mod:`pcnopt.model.partition.colgen`.

The search over every count at once has an LP bound of a fractional count; where the closing
programs do not settle the count below the plan's (as CBC at a time limit on E38000080, 36
practices: 6 networks found, 5 possible), each count below is tried on its own
(``_least_count``). Checked against :mod:`tests.model.brute` on small random places, with the
closing programs over a range of counts made to stop without a plan.
"""

from __future__ import annotations

import networkx as nx
import pytest

from pcnopt.model import SolveOptions, solve_place
from pcnopt.model import partition as part
from pcnopt.model.solvers import Status
from tests.model import brute
from tests.model.instances import listed_candidates, place_arrays, random_place
from tests.model.test_partition_by_count import _stop_when_the_count_is_free

LO, HI = 20_000.0, 50_000.0


@pytest.fixture
def free_count_stops(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Closing programs over a range of counts stop with no plan; every call is recorded."""
    return _stop_when_the_count_is_free(monkeypatch)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("with_start", [True, False])
def test_the_fewest_networks_are_proved_count_by_count(
    seed: int, with_start: bool, free_count_stops: list[tuple[int, int]]
) -> None:
    """From the plan of most networks, or from no plan (as E38000045, whose heuristic plan was
    not among the candidates: its count stage ended with no plan at 10 % of the time)."""
    graph = random_place(12, seed=seed)
    adj, length, pop, cost = place_arrays(graph)
    nodes = list(range(12))
    cands = part.candidates_for(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=nodes,
        lo=LO,
        hi=HI,
        together=[],
        apart=[],
        terms=("compact",),
    )
    assert cands is not None
    every = list(brute.plans(graph, LO, HI))
    fewest = min(len(p) for p in every)
    most = max(every, key=len)
    if len(most) == fewest:
        pytest.skip("every plan of this place has the same count")
    start = part.locate(cands, [sorted(s) for s in most])
    assert start is not None
    res = part.solve_stage(
        cands,
        nodes=nodes,
        cost=cands.costs["count"],
        k_lo=1,
        k_hi=12,
        limits=[],
        start=start if with_start else None,
        solver="cbc",
        threads=1,
        mip_gap=0.0,
        deadline=None,
        integral=True,
    )
    assert res.kind == Status.OPTIMAL
    assert res.plan is not None and len(res.plan) == fewest == res.value == res.bound
    covered = sorted(v for s in res.plan for v in cands.part(s))
    assert covered == nodes
    assert any(lo == hi for lo, hi in free_count_stops), "no count was tried on its own"


@pytest.mark.parametrize("seed", range(4))
def test_fewest_then_compact_agrees_with_brute_force(seed: int) -> None:
    graph = random_place(12, seed=seed)
    every = list(brute.plans(graph, LO, HI))
    fewest = min(len(p) for p in every)
    best = min(brute.compact(graph, p) for p in every if len(p) == fewest)
    res = solve_place(
        graph, options=SolveOptions(threads=1, min_size=LO, max_size=HI, n_pcns="fewest")
    )
    assert res.status == "optimal"
    assert len(set(res.labels)) == fewest
    assert res.objective == pytest.approx(best)


@pytest.mark.parametrize("seed", range(4))
def test_a_heuristic_plan_out_of_band_is_mended_to_start_the_listed_search(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E38000261 (120 practices): the heuristic's 24 networks were not all in band, so the
    count stage over the listed candidates started with no plan and ended with none; the
    place fell back to the heuristic's plan mended afterwards (27 networks, least compact).
    Now the mended plan starts the search: the stage has a plan from its first program."""
    from pcnopt.model import driver
    from pcnopt.model.heuristic import HeuristicResult

    graph = random_place(12, seed=seed)
    every = list(brute.plans(graph, LO, HI))
    fewest = min(len(p) for p in every)
    # a plan of the most networks with one practice taken out on its own: below the band
    most = max(every, key=len)
    split = max(most, key=len)
    edges = nx.Graph((i, j) for i, j, _ in graph.edges)
    alone = next(v for v in sorted(split) if nx.is_connected(edges.subgraph(split - {v})))
    parts = tuple(tuple(sorted(p)) for p in most if p != split)
    parts += (tuple(sorted(split - {alone})), (alone,))
    monkeypatch.setattr(
        driver,
        "block_heuristic",
        lambda place, nodes, **kw: HeuristicResult(parts=parts, violation=1.0, cost=0.0),
    )
    starts: list[bool] = []  # of the count stage (the repair solves its own small stages)
    solve_stage = part.solve_stage

    def spied(cands, **kw):
        if len(kw["nodes"]) == 12 and kw.get("integral"):
            starts.append(kw["start"] is not None)
        return solve_stage(cands, **kw)

    monkeypatch.setattr(part, "solve_stage", spied)
    res = solve_place(
        graph, options=SolveOptions(threads=1, min_size=LO, max_size=HI, n_pcns="fewest")
    )
    assert starts and starts[0], "the count stage started with no plan"
    assert res.status == "optimal"
    assert len(set(res.labels)) == fewest


@pytest.mark.parametrize("seed", range(8))
def test_the_counts_are_tried_one_by_one_before_a_program_over_every_count(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E38000232: the program over every count (102,770 columns of reduced cost 0, given 5.5 s)
    took 16 s and met nothing; the count by count search met 13 networks in 6 s. With a plan
    above the LP's count, the counts are now tried one by one first."""
    from pcnopt.model.partition import closing, colgen

    real = closing._integer_program
    programs: list[tuple[int, int]] = []

    def recorded(cands, cols, *, cost, start, ip, deadline):  # type: ignore[no-untyped-def]
        programs.append((ip.k_lo, ip.k_hi))
        return real(cands, cols, cost=cost, start=start, ip=ip, deadline=deadline)

    monkeypatch.setattr(closing, "_integer_program", recorded)
    monkeypatch.setattr(colgen._Master, "dive", lambda self, deadline: None)
    graph = random_place(12, seed=seed)
    nodes = list(range(12))
    cands = listed_candidates(graph, lo=LO, hi=HI)
    every = list(brute.plans(graph, LO, HI))
    fewest = min(len(p) for p in every)
    most = max(every, key=len)
    start = part.locate(cands, [sorted(s) for s in most])
    assert start is not None
    res = part.solve_stage(
        cands,
        nodes=nodes,
        cost=cands.costs["count"],
        k_lo=1,
        k_hi=12,
        limits=[],
        start=start,
        solver="cbc",
        threads=1,
        mip_gap=0.0,
        deadline=None,
        integral=True,
    )
    assert res.kind == Status.OPTIMAL
    assert res.plan is not None and len(res.plan) == fewest == res.value
    if len(most) == fewest or not programs:
        pytest.skip("the LP's count settled it")
    assert programs[0][0] == programs[0][1], "a program over every count came first"
