"""Tests of the branching on the number of networks in :mod:`pcnopt.model.partition.colgen`.

Each optimum is checked against :mod:`tests.model.brute`, which enumerates every plan of a
small random place. The search over every count at once is made to stop as CBC does on the
tightly packed sub-ICB places (its closing integer programs return no plan, as at a time
limit): only the programs with the count fixed are solved, so a proof must come from the
branching on the count.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from pcnopt.model import PARTITION, SolveOptions, solve_place
from pcnopt.model import partition as part
from pcnopt.model.partition import closing, colgen
from pcnopt.model.solvers import Status
from tests.model import brute
from tests.model.instances import place_arrays, random_place

LO, HI = 20_000.0, 50_000.0


def _stop_when_the_count_is_free(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Closing programs over a range of counts stop with no plan, and so does the dive of
    the LP over every count (:meth:`colgen._Master.dive`); the programs' calls are recorded."""
    real = closing._integer_program
    calls: list[tuple[int, int]] = []

    def stopping(cands, cols, *, cost, start, ip, deadline):  # type: ignore[no-untyped-def]
        calls.append((ip.k_lo, ip.k_hi))
        if ip.k_lo < ip.k_hi:
            return None, None, Status.NO_SOLUTION, None
        return real(cands, cols, cost=cost, start=start, ip=ip, deadline=deadline)

    monkeypatch.setattr(closing, "_integer_program", stopping)
    monkeypatch.setattr(colgen._Master, "dive", lambda self, deadline: None)
    return calls


def _instance(seed: int, n: int = 12) -> tuple[part.Candidates, list[int], dict[int, float]]:
    """Candidates of a random place, and its optimum per count by brute force."""
    graph = random_place(n, seed=seed)
    adj, length, pop, cost = place_arrays(graph)
    nodes = list(range(n))
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
    per_count: dict[int, float] = {}
    for plan in brute.plans(graph, LO, HI):
        value = brute.compact(graph, plan)
        per_count[len(plan)] = min(per_count.get(len(plan), math.inf), value)
    return cands, nodes, per_count


def _solve(
    cands: part.Candidates, nodes: list[int], *, start: list[int] | None, k_lo: int, k_hi: int
) -> part.StageResult:
    return part.solve_stage(
        cands,
        nodes=nodes,
        cost=cands.costs["compact"],
        k_lo=k_lo,
        k_hi=k_hi,
        limits=[],
        start=start,
        solver="cbc",
        threads=1,
        mip_gap=0.0,
        deadline=time.perf_counter() + 30,  # a small place: seconds at most
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_branching_on_the_count_proves_the_brute_force_optimum(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """From no plan, and from the worst count's best plan: the optimum over every count."""
    cands, nodes, per_count = _instance(seed)
    assert len(per_count) >= 2, "the place must admit several counts"
    k_lo, k_hi = min(per_count), max(per_count)
    best = min(per_count.values())
    worst = max(per_count, key=lambda k: per_count[k])
    start_plan = _solve(cands, nodes, start=None, k_lo=worst, k_hi=worst).plan
    assert start_plan is not None
    calls = _stop_when_the_count_is_free(monkeypatch)
    for start in (None, start_plan):
        result = _solve(cands, nodes, start=start, k_lo=k_lo, k_hi=k_hi)
        assert result.kind == Status.OPTIMAL
        assert result.value == pytest.approx(best, rel=1e-9)
        assert result.bound == pytest.approx(best, rel=1e-9)
        assert result.plan is not None
        covered = sorted(v for s in result.plan for v in cands.part(s))
        assert covered == nodes
        assert per_count[len(result.plan)] == pytest.approx(best, rel=1e-9)
    assert any(lo == hi for lo, hi in calls), "each count closed on its own"


def test_the_bound_of_each_count_lies_between_the_free_bound_and_its_optimum() -> None:
    """Seed 1 (LP gap 7.2 % over every count): fixing the count lifts the least bound."""
    cands, nodes, per_count = _instance(1)
    cost = cands.costs["compact"]
    scale = max(1.0, float(np.abs(cost).max()))

    def bound(k_lo: int, k_hi: int) -> float:
        relaxation = colgen._relax(
            cands,
            nodes=nodes,
            cost=cost,
            scale=scale,
            k_lo=k_lo,
            k_hi=k_hi,
            limits=[],
            start=None,
            seed=None,
            deadline=None,
            integral=False,
            batch=400,
        )
        assert relaxation.converged
        return relaxation.bound

    free = bound(min(per_count), max(per_count))
    by_count = {k: bound(k, k) for k in per_count}
    for k, value in per_count.items():
        assert free - 1e-6 <= by_count[k] <= value + 1e-6
    assert min(by_count.values()) > free * 1.01


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_count_alone_gives_its_brute_force_optimum(seed: int) -> None:
    """A fixed count (no branching) agrees with the brute force of that count."""
    cands, nodes, per_count = _instance(seed)
    for k, value in per_count.items():
        result = _solve(cands, nodes, start=None, k_lo=k, k_hi=k)
        assert result.kind == Status.OPTIMAL
        assert result.value == pytest.approx(value, rel=1e-9)
        assert result.plan is not None and len(result.plan) == k


def test_a_place_stopped_over_every_count_is_proven_count_by_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through :func:`solve_place`: the free-count closing stops, the branching proves.

    Seed 1: the LP over every count is 7.2 % below the optimum, so no plan is proven without
    a closing program.
    """
    seed = 1
    graph = random_place(12, seed=seed)
    _, _, per_count = _instance(seed)
    _stop_when_the_count_is_free(monkeypatch)
    options = SolveOptions(threads=1, min_size=LO, max_size=HI, time_limit=60)
    solution = solve_place(graph, options=options)
    assert solution.method == PARTITION
    assert solution.status == Status.OPTIMAL
    assert solution.objective == pytest.approx(min(per_count.values()), rel=1e-9)
    assert solution.gap == pytest.approx(0.0)


@pytest.mark.parametrize("max_open", [0, 3])
def test_a_free_search_out_of_its_share_of_time_ends_at_the_optimum(
    monkeypatch: pytest.MonkeyPatch, max_open: int
) -> None:
    """No time for the search over every count: branched on (3 open counts at most), or, with
    more counts open than :data:`MAX_OPEN_COUNTS` (0 here), that search goes on."""
    cands, nodes, per_count = _instance(1)
    monkeypatch.setattr(colgen, "FREE_SHARE", 0.0)
    monkeypatch.setattr(colgen, "MAX_OPEN_COUNTS", max_open)
    result = _solve(cands, nodes, start=None, k_lo=min(per_count), k_hi=max(per_count))
    assert result.kind == Status.OPTIMAL
    assert result.value == pytest.approx(min(per_count.values()), rel=1e-9)
    assert result.bound == pytest.approx(result.value, rel=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_a_solver_claiming_a_program_with_a_plan_in_it_infeasible_proves_nothing(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """A closing program warm-started from a plan holds that plan: "infeasible" from the
    solver there is its error. Read as a proof it raised the bound to the program's threshold,
    up to the plan's value: the worst count's plan came back "optimal"."""
    cands, nodes, per_count = _instance(seed)
    k = max(per_count, key=lambda c: per_count[c])  # the worst count: not the optimum
    start = _solve(cands, nodes, start=None, k_lo=k, k_hi=k).plan
    assert start is not None
    real = closing.slv.solve

    def lying(prob, *, warm_start, **kwargs):  # type: ignore[no-untyped-def]
        if warm_start is not None:
            return closing.slv.SolveResult(Status.INFEASIBLE, None, None, {})
        return real(prob, warm_start=warm_start, **kwargs)

    monkeypatch.setattr(closing.slv, "solve", lying)
    result = _solve(cands, nodes, start=start, k_lo=min(per_count), k_hi=max(per_count))
    best = min(per_count.values())
    assert result.value is not None and result.value >= best - 1e-6
    if result.kind == Status.OPTIMAL:
        assert result.value == pytest.approx(best, rel=1e-9)
    assert result.bound is not None and result.bound <= best + 1e-6
