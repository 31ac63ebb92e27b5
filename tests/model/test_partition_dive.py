"""The dive of the converged master LP (:meth:`pcnopt.model.partition.colgen._Master.dive`).

At E38000077's refresh the priced LP's bound was the optimum (54,585 patients moved), yet the
closing programs over 9,000-13,000 columns found no plan better than the heuristic's 82,966 in
60 s, under CBC or HiGHS. A dive (fix the LP's largest column at 1, solve again, until whole)
found the optimum in a few LP solves. Checked here: the dive gives an exact cover that meets
every row and leaves the LP as it found it; with the closing programs made to find nothing,
both priced searches still reach the brute-force optimum from the worst plan on small places.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import pytest

from pcnopt.model import partition as setpart
from pcnopt.model.partition import closing, colgen
from pcnopt.model.partition.block import continued
from pcnopt.model.partition.enumeration import Candidates, candidates_for
from pcnopt.model.solvers import Status
from tests.model import brute
from tests.model.instances import place_arrays, random_place
from tests.model.test_partition_disruption_priced import L, U, _place

SEEDS = range(8)


def _no_closing_program(*args: object, **kwargs: object) -> tuple:
    """A closing program that finds nothing (as CBC did at E38000077 in the time)."""
    return None, None, Status.NO_SOLUTION, None


def _arrays(graph: object) -> tuple:
    adj, length, pop, cost = place_arrays(graph)
    return adj, length, np.asarray(pop, float), cost


def _listed(graph: object, lo: float = L, hi: float = U) -> Candidates:
    """Every connected network of the place within the band."""
    adj, length, pop, cost = _arrays(graph)
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
    assert cands is not None
    return cands


@pytest.mark.parametrize("seed", SEEDS)
def test_the_dive_gives_a_plan_and_leaves_the_lp_as_it_was(seed: int) -> None:
    graph = random_place(12, seed=seed, mean_population=9_000.0)
    n = len(graph.codes)
    cands = _listed(graph)
    assert cands.count > 0
    costs = cands.costs["compact"]
    master = colgen._Master(cands, list(range(n)), 1, n, costs, 1.0, [])
    master.add(list(range(cands.count)))
    master.phase(first=False)
    before = master.solve()
    optimum = min(
        (brute.compact(graph, plan) for plan in brute.plans(graph, L, U)), default=math.inf
    )
    if before is None:
        assert math.isinf(optimum)
        return
    plan = master.dive(None)
    after = master.solve()
    assert after is not None and after[0] == pytest.approx(before[0])
    if plan is None:
        return
    parts = [frozenset(cands.part(c)) for c in plan]
    assert sorted(v for p in parts for v in p) == list(range(n))
    value = float(costs[plan].sum())
    assert value == pytest.approx(brute.compact(graph, parts))
    assert value >= optimum - 1e-6 * optimum
    assert value >= before[0] - 1e-6 * abs(before[0])


def _compact_cases() -> Iterator[tuple[object, list, float]]:
    """Per seed with a plan in band: the place, its least compact plan and the optimum."""
    for seed in SEEDS:
        graph = random_place(12, seed=seed, mean_population=9_000.0)
        plans = list(brute.plans(graph, L, U))
        if plans:
            worst = max(plans, key=lambda plan: brute.compact(graph, plan))
            yield graph, worst, min(brute.compact(graph, plan) for plan in plans)


def _proven_from_worst(res: setpart.StageResult, graph: object, worst: list, optimum: float) -> int:
    """1 when the search proved the optimum starting from a worse plan, else 0; never a
    value below the optimum, nor a proof of another value."""
    assert res.value is not None and optimum * (1 - 1e-9) <= res.value
    if res.kind != Status.OPTIMAL:
        return 0
    assert res.value == pytest.approx(optimum)
    return int(brute.compact(graph, worst) > optimum * (1 + 1e-9))


def _worst_disruption_search(graph: object) -> tuple:
    plans = list(brute.plans(graph, L, U))
    worst = max(plans, key=lambda plan: brute.disruption(graph, plan))
    adj, length, pop, _ = _arrays(graph)
    names = sorted({c for c in graph.current if c is not None})
    current = np.asarray([-1 if c is None else names.index(c) for c in graph.current])
    res, _ = setpart.solve_priced_disruption(
        adj=adj,
        length=length,
        pop=pop,
        current=current,
        nodes=list(range(len(graph.codes))),
        lo=L,
        hi=U,
        together=[],
        apart=[],
        k_lo=1,
        k_hi=len(graph.codes),
        start_parts=[sorted(p) for p in worst],
        start_continues=continued([sorted(p) for p in worst], current, pop),
        solver="cbc",
        threads=1,
        mip_gap=0.0,
        deadline=None,
    )
    return res, min(brute.disruption(graph, plan) for plan in plans), brute.disruption(graph, worst)


def test_with_no_closing_program_the_priced_refresh_is_proven_by_the_dive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(closing, "_integer_program", _no_closing_program)
    proven = 0
    for seed in SEEDS:
        graph = _place(12, seed)
        res, optimum, worst = _worst_disruption_search(graph)
        assert res.value is not None and optimum <= res.value <= worst
        if res.kind == Status.OPTIMAL:
            assert res.value == pytest.approx(optimum)
            proven += worst > optimum
    # without the dive nothing better than the worst plan could be proven optimal
    assert proven >= len(SEEDS) // 2


def test_with_no_closing_program_the_priced_compact_search_is_proven_by_the_dive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(closing, "_integer_program", _no_closing_program)
    proven = 0
    for graph, worst, optimum in _compact_cases():
        adj, length, pop, cost = _arrays(graph)
        res, _ = setpart.solve_priced(
            adj=adj,
            length=length,
            pop=pop,
            cost=cost,
            nodes=list(range(len(graph.codes))),
            lo=L,
            hi=U,
            together=[],
            apart=[],
            k_lo=1,
            k_hi=len(graph.codes),
            start_parts=[sorted(p) for p in worst],
            solver="cbc",
            threads=1,
            mip_gap=0.0,
            deadline=None,
        )
        proven += _proven_from_worst(res, graph, worst, optimum)
    assert proven >= 1


def test_with_no_closing_program_the_listed_search_is_proven_by_the_dive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(closing, "_integer_program", _no_closing_program)
    proven = 0
    for graph, worst, optimum in _compact_cases():
        n = len(graph.codes)
        cands = _listed(graph)
        res = setpart.solve_stage(
            cands,
            nodes=list(range(n)),
            cost=cands.costs["compact"],
            k_lo=1,
            k_hi=n,
            limits=[],
            start=setpart.locate(cands, [sorted(p) for p in worst]),
            solver="cbc",
            threads=1,
            mip_gap=0.0,
            deadline=None,
            by_count=False,
        )
        proven += _proven_from_worst(res, graph, worst, optimum)
    assert proven >= 1


def test_with_no_closing_program_the_fewest_networks_are_met_by_the_dive_of_each_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # with the closing programs finding nothing and the LP over every count not dived (on
    # these small places its dive meets the fewest itself), a count is met only by the dive
    # of the LP at one count (``_least_count``: the fewest, every count below impossible)
    monkeypatch.setattr(closing, "_integer_program", _no_closing_program)
    relax = colgen._relax

    def one_count_dived(cands: Candidates, **kw: object) -> colgen._Relaxation:
        return relax(cands, **{**kw, "dive": kw.get("dive", False) and kw["k_lo"] == kw["k_hi"]})

    monkeypatch.setattr(colgen, "_relax", one_count_dived)
    lo, hi = 20_000.0, 50_000.0
    met = 0
    for seed in SEEDS:
        graph = random_place(12, seed=seed)
        n = len(graph.codes)
        cands = _listed(graph, lo, hi)
        every = list(brute.plans(graph, lo, hi))
        fewest = min(len(p) for p in every)
        most = max(every, key=len)
        if len(most) == fewest:
            continue
        res = setpart.solve_stage(
            cands,
            nodes=list(range(n)),
            cost=cands.costs["count"],
            k_lo=1,
            k_hi=n,
            limits=[],
            start=setpart.locate(cands, [sorted(s) for s in most]),
            solver="cbc",
            threads=1,
            mip_gap=0.0,
            deadline=None,
            integral=True,
        )
        assert res.plan is not None and len(res.plan) >= fewest
        if res.kind == Status.OPTIMAL:
            assert len(res.plan) == fewest == res.value
            met += 1
    assert met >= 3, met


def test_the_dive_has_its_share_of_the_time_or_its_seconds_within_the_deadline() -> None:
    # an LP that converges in the last seconds still gets its dive (the closing programs
    # have no time left then); never past the stage's deadline
    now = time.perf_counter()
    assert colgen.dive_deadline(None) is None
    assert colgen.dive_deadline(now + 100.0) == pytest.approx(
        now + 100.0 * colgen.DIVE_SHARE, abs=0.5
    )
    assert colgen.dive_deadline(now + 5.0) == pytest.approx(now + colgen.DIVE_SECONDS, abs=0.5)
    assert colgen.dive_deadline(now + 0.5) == now + 0.5
    past = colgen.dive_deadline(now - 1.0)
    assert past is not None and past <= time.perf_counter()  # no time beyond a deadline gone
