"""Tests of the subset-row cuts of :mod:`pcnopt.model.partition.cuts` and their use in
:mod:`pcnopt.model.partition.colgen`.

The cuts are checked by hand on three networks that pairwise share a practice, against a
direct count on random networks, and in column generation against :mod:`tests.model.brute`:
with them the LP bound of small random places lies between the LP bound without them and the
brute-force optimum, and reaches the optimum where the LP alone falls short.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcnopt.model.partition import colgen
from pcnopt.model.partition.cuts import cut_penalty, cut_rows_of, violated_triples
from pcnopt.model.solvers import Status
from tests.model import brute
from tests.model.instances import place_arrays, random_place
from tests.model.test_partition_by_count import HI, LO, _instance


def _flat(sets: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    members = np.asarray([v for s in sets for v in s], np.int32)
    ptr = np.concatenate(([0], np.cumsum([len(s) for s in sets]))).astype(np.int64)
    return members, ptr


def test_three_networks_sharing_a_practice_pairwise_violate_their_cut() -> None:
    # {0,1}, {1,2}, {0,2} at one half each cover 0, 1 and 2 exactly once, but every plan
    # takes at most one network holding two of them: 1.5 > 1
    members, ptr = _flat([[0, 1], [1, 2], [0, 2], [3]])
    triples, lhs = violated_triples(members, ptr, np.asarray([0.5, 0.5, 0.5, 1.0]), 4, 10)
    assert triples.tolist() == [[0, 1, 2]]
    assert lhs.tolist() == pytest.approx([1.5])
    # an integral plan violates no cut
    none, _ = violated_triples(members, ptr, np.asarray([1.0, 0.0, 0.0, 1.0]), 4, 10)
    assert none.shape == (0, 3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 7), min_size=1, max_size=5, unique=True), max_size=12),
    st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)), max_size=6),
)
def test_each_network_pays_the_duals_of_the_cuts_it_holds_two_of(sets, raw) -> None:
    triples = np.asarray([t for t in raw if len(set(t)) == 3] or np.zeros((0, 3)), np.int64)
    sigma = -np.arange(1, triples.shape[0] + 1, dtype=float)
    members, ptr = _flat(sets)
    penalty = cut_penalty(members, ptr, triples.reshape(-1, 3), sigma, 8)
    rows = cut_rows_of(members, ptr, triples.reshape(-1, 3), 8)
    for s, part in enumerate(sets):
        held = [c for c, t in enumerate(triples.tolist()) if len(set(t) & set(part)) >= 2]
        assert rows[s] == held
        assert penalty[s] == pytest.approx(sum(sigma[c] for c in held))


def _relax(
    seed: int, *, cuts: bool, term: str = "compact", batch: int = 400
) -> tuple[colgen._Relaxation, float, float]:
    """The LP over every count of a random place; its brute-force optimum; the LP scale."""
    cands, nodes, per_count = _instance(seed)
    cost = cands.costs[term]
    scale = max(1.0, float(np.abs(cost).max()))
    relaxation = colgen._relax(
        cands,
        nodes=nodes,
        cost=cost,
        scale=scale,
        k_lo=min(per_count),
        k_hi=max(per_count),
        limits=[],
        start=None,
        seed=None,
        deadline=time.perf_counter() + 60,
        integral=False,
        batch=batch,
        cuts=cuts,
    )
    best = min(per_count) if term == "count" else min(per_count.values())
    return relaxation, best, scale


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_the_cuts_raise_the_lp_bound_no_higher_than_the_optimum(seed: int) -> None:
    plain, best, _ = _relax(seed, cuts=False)
    cut, _, scale = _relax(seed, cuts=True)
    assert plain.converged and cut.converged
    assert plain.bound <= cut.bound + 1e-6 * best
    assert cut.bound <= best * (1 + 1e-9)
    # the reduced costs include the cuts' duals: none is negative at the end
    assert float(cut.rc.min()) * scale >= -1e-6 * best


@pytest.mark.parametrize("term", ["count", "compact"])
@pytest.mark.parametrize("seed", range(2, 12))
def test_cuts_that_cut_off_the_master_without_a_plan_send_it_back_to_phase_one(
    seed: int, term: str
) -> None:
    """With no plan among the master's columns, the cuts can leave it no LP solution: the
    generation then ended unconverged, and the fewest-networks stage of E38000261 (no plan in
    hand) returned no plan at 2 s of 60. Few columns a round (``batch``) make it common."""
    plain, best, _ = _relax(seed, cuts=False, term=term, batch=5)
    cut, _, _ = _relax(seed, cuts=True, term=term, batch=5)
    assert plain.converged and cut.converged
    assert plain.bound <= cut.bound + 1e-6 * best <= best * (1 + 1e-9) + 1e-6 * best


def test_the_cuts_close_the_lp_gap_where_the_lp_alone_falls_short() -> None:
    """Seed 1: the LP over every count is 7.2 % below the optimum; the cuts close most of it."""
    plain, best, _ = _relax(1, cuts=False)
    cut, _, _ = _relax(1, cuts=True)
    assert plain.bound < 0.95 * best
    assert best - cut.bound < 0.25 * (best - plain.bound)


def test_the_priced_search_closes_the_lp_gap_with_the_cuts_too(monkeypatch) -> None:
    """Seed 1, candidates priced on demand: the bound handed to the closing programs."""
    n = 12
    graph = random_place(n, seed=1)
    adj, length, pop, cost = place_arrays(graph)
    _, _, per_count = _instance(1)
    best = min(per_count.values())
    worst = max(per_count, key=lambda k: per_count[k])
    plan = min(
        (p for p in brute.plans(graph, LO, HI) if len(p) == worst),
        key=lambda p: brute.compact(graph, p),
    )
    handed: list[float] = []
    real = colgen.close_gap

    def recording(columns_below, **kw):  # type: ignore[no-untyped-def]
        handed.append(kw["lb"])
        return real(columns_below, **kw)

    monkeypatch.setattr(colgen, "close_gap", recording)
    results = {}
    for cuts in (False, True):
        monkeypatch.setattr(colgen, "SUBSET_ROW_CUTS", cuts)
        result, _ = colgen.solve_priced(
            adj=adj,
            length=length,
            pop=pop,
            cost=cost,
            nodes=list(range(n)),
            lo=LO,
            hi=HI,
            together=[],
            apart=[],
            k_lo=min(per_count),
            k_hi=max(per_count),
            start_parts=[sorted(p) for p in plan],
            solver="cbc",
            threads=1,
            mip_gap=0.0,
            deadline=time.perf_counter() + 60,
        )
        results[cuts] = result
    plain, cut = handed
    assert plain < 0.95 * best
    assert best - cut < 0.25 * (best - plain)
    assert cut <= best * (1 + 1e-9)
    for result in results.values():
        assert result.kind == Status.OPTIMAL
        assert result.value == pytest.approx(best, rel=1e-9)


def test_a_stage_solved_without_cuts_keeps_the_plain_bound(monkeypatch) -> None:
    """``solve_stage(cuts=False)`` (the heuristic's small programs) relaxes without the cuts."""
    cands, nodes, per_count = _instance(1)
    seen: list[bool] = []
    real = colgen._relax

    def recording(*args, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw.get("cuts", False))
        return real(*args, **kw)

    monkeypatch.setattr(colgen, "_relax", recording)
    for cuts in (False, None):
        colgen.solve_stage(
            cands,
            nodes=nodes,
            cost=cands.costs["compact"],
            k_lo=min(per_count),
            k_hi=max(per_count),
            limits=[],
            start=None,
            solver="cbc",
            threads=1,
            mip_gap=0.0,
            deadline=time.perf_counter() + 30,
            by_count=False,
            cuts=cuts,
        )
    assert seen == [False, colgen.SUBSET_ROW_CUTS]
