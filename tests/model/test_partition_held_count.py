"""The most compact plan of a proven fewest count, over the networks that count allows.

In a plan of exactly :math:`k` networks of :math:`P` patients, each network holds what the
other :math:`k - 1` leave: at least :math:`P - (k-1)U` and at most :math:`P - (k-1)L`
(:func:`~pcnopt.model.partition.band_of_count`). Once the count stage proves :math:`k` the
fewest, the compact stage is solved with exactly :math:`k` networks over only those
(E38000232: 644,640 patients in 13 networks, each at least 44,640; before, its compact
stage had no bound in 60 s). Checked against :mod:`tests.model.brute`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pcnopt.model import PARTITION, SolveOptions, solve_place
from pcnopt.model import partition as part
from pcnopt.model.partition import band_of_count
from pcnopt.model.solvers import Status
from tests.model import brute
from tests.model.instances import listed_candidates, place_arrays, random_place

LO = 15_000.0


def _tight(seed: int) -> tuple[object, float, int]:
    """A random place of 12 practices and an upper limit that makes its fewest count tight:
    three networks of a little more than a third of its patients each."""
    graph = random_place(12, seed=seed)
    total = float(sum(graph.population))
    for margin in (500.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0):
        hi = math.ceil(total / 3) + margin
        every = list(brute.plans(graph, LO, hi))
        if every and min(len(p) for p in every) == 3:
            return graph, hi, 3
    pytest.skip("no plan of three networks near the limit")


@pytest.mark.parametrize("seed", range(6))
def test_every_network_of_a_plan_of_k_is_within_the_band_of_k(seed: int) -> None:
    graph = random_place(10, seed=seed)
    total = float(sum(graph.population))
    hi = 40_000.0
    seen = 0
    for plan in brute.plans(graph, LO, hi):
        lo_k, hi_k = band_of_count(total, len(plan), lo=LO, hi=hi)
        for p in plan:
            assert lo_k <= sum(graph.population[v] for v in p) <= hi_k
        seen += 1
    assert seen, "no plan to check"


def test_the_band_of_a_tight_count_is_narrower() -> None:
    # E38000232: 644,640 patients, 13 networks of 30,000-50,000
    lo, hi = band_of_count(644_640.0, 13, lo=30_000.0, hi=50_000.0)
    assert lo == pytest.approx(44_640.0) and hi == pytest.approx(50_000.0)
    # room to spare: the band itself
    assert band_of_count(500_000.0, 13, lo=30_000.0, hi=50_000.0) == pytest.approx(
        (30_000.0, 50_000.0)
    )


@pytest.mark.parametrize("seed", range(6))
def test_the_compact_stage_of_a_proven_count_holds_only_networks_that_count_allows(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph, hi, fewest = _tight(seed)
    total = float(sum(graph.population))
    lo_k, hi_k = band_of_count(total, fewest, lo=LO, hi=hi)
    every = list(brute.plans(graph, LO, hi))
    best = min(brute.compact(graph, p) for p in every if len(p) == fewest)
    _, _, pop, _ = place_arrays(graph)
    stages: list[tuple[int, int, float, float]] = []  # compact stages: counts, least, most
    solve_stage = part.solve_stage

    def spied(cands, **kw):  # type: ignore[no-untyped-def]
        if not kw.get("integral") and len(kw["nodes"]) == 12:
            patients = cands.patients(pop)
            stages.append((kw["k_lo"], kw["k_hi"], float(patients.min()), float(patients.max())))
        return solve_stage(cands, **kw)

    monkeypatch.setattr(part, "solve_stage", spied)
    options = SolveOptions(threads=1, min_size=LO, max_size=hi, n_pcns="fewest")
    res = solve_place(graph, options=options)
    assert res.method == PARTITION and res.status == "optimal"
    assert len(set(res.labels)) == fewest
    assert res.objective == pytest.approx(best)
    assert stages, "no compact stage"
    k_lo, k_hi, least, most = stages[-1]
    assert k_lo == k_hi == fewest
    assert lo_k <= least and most <= hi_k


@pytest.mark.parametrize("seed", range(6))
def test_the_priced_compact_stage_of_a_proven_count_prices_only_that_band(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph, hi, fewest = _tight(seed)
    total = float(sum(graph.population))
    lo_k, hi_k = band_of_count(total, fewest, lo=LO, hi=hi)
    every = list(brute.plans(graph, LO, hi))
    best = min(brute.compact(graph, p) for p in every if len(p) == fewest)
    asked: list[tuple[int, int, float, float]] = []  # compact searches: counts and band
    solve_priced = part.solve_priced

    def spied(**kw):  # type: ignore[no-untyped-def]
        if kw["objective"] == "compact":
            asked.append((kw["k_lo"], kw["k_hi"], kw["lo"], kw["hi"]))
        return solve_priced(**kw)

    monkeypatch.setattr(part, "solve_priced", spied)
    options = SolveOptions(
        threads=1, min_size=LO, max_size=hi, n_pcns="fewest", partition_candidates=3
    )
    res = solve_place(graph, options=options)
    assert res.method == PARTITION and res.status == "optimal"
    assert len(set(res.labels)) == fewest
    assert res.objective == pytest.approx(best)
    assert asked, "no priced compact stage"
    assert asked[-1] == (fewest, fewest, pytest.approx(lo_k), pytest.approx(hi_k))
    assert np.isfinite(asked[-1][2]) and asked[-1][2] > LO


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("with_start", [True, False])
def test_counts_tried_one_by_one_hold_only_the_networks_of_their_count(
    seed: int, with_start: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count by count search (``_least_count``), as at E38000135: each count's own LP
    and programs over only the candidates a plan of that count can hold."""
    from pcnopt.model.partition import colgen
    from tests.model.test_partition_by_count import _stop_when_the_count_is_free

    _stop_when_the_count_is_free(monkeypatch)
    graph, hi, fewest = _tight(seed)
    _, _, pop, _ = place_arrays(graph)
    nodes = list(range(12))
    cands = listed_candidates(graph, lo=LO, hi=hi)
    total = float(sum(graph.population))
    patients = cands.patients(pop)

    def of_count(k: int) -> np.ndarray:
        lo_k, hi_k = band_of_count(total, k, lo=LO, hi=hi)
        return (patients >= lo_k) & (patients <= hi_k)

    relaxed: list[tuple[int, float, float]] = []  # per count tried: least and most patients
    relax_at = colgen._relax_at

    def spied(held, k, **kw):  # type: ignore[no-untyped-def]
        sizes = held.patients(pop)
        relaxed.append((k, float(sizes.min()), float(sizes.max())))
        return relax_at(held, k, **kw)

    monkeypatch.setattr(colgen, "_relax_at", spied)
    most = max(brute.plans(graph, LO, hi), key=len)
    start = part.locate(cands, [sorted(s) for s in most])
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
        of_count=of_count,
    )
    assert res.plan is not None and len(res.plan) == fewest == res.value == res.bound
    assert sorted(v for s in res.plan for v in cands.part(s)) == nodes
    if not relaxed:
        pytest.skip("the count was settled before any count was tried on its own")
    for k, least, largest in relaxed:
        lo_k, hi_k = band_of_count(total, k, lo=LO, hi=hi)
        assert lo_k <= least and largest <= hi_k
    assert any(band_of_count(total, k, lo=LO, hi=hi)[0] > LO for k, _, _ in relaxed)


@pytest.mark.parametrize("seed", range(6))
def test_a_priced_count_left_open_is_settled_over_the_networks_each_count_can_hold(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E38000135 (over 4 million candidates, priced): the count's search ends with 6
    networks and 5 possible. Each count below is then listed over the networks it can hold
    (each at least 48,533 patients of 248,533 in 5): here the priced count search is made to
    return the plan of most networks, and the fewest are met by their band's list."""
    graph, hi, fewest = _tight(seed)
    total = float(sum(graph.population))
    _, _, pop, _ = place_arrays(graph)
    every = list(brute.plans(graph, LO, hi))
    most = max(every, key=len)
    if len(most) == fewest:
        pytest.skip("every plan has the same count")
    best = min(brute.compact(graph, p) for p in every if len(p) == fewest)
    listed = listed_candidates(graph, lo=LO, hi=hi)
    lo_k, _ = band_of_count(total, fewest, lo=LO, hi=hi)
    narrow = int(np.count_nonzero(listed.patients(pop) >= lo_k))
    assert narrow < listed.count
    solve_priced = part.solve_priced

    def stops_at_most(**kw):  # type: ignore[no-untyped-def]
        if kw["objective"] != "count":
            return solve_priced(**kw)
        plan = part.locate(listed, [sorted(p) for p in most])
        assert plan is not None
        low = float(math.ceil(total / hi))
        stopped = part.StageResult(Status.FEASIBLE, plan, float(len(plan)), low, (0, 0))
        return stopped, listed

    monkeypatch.setattr(part, "solve_priced", stops_at_most)
    options = SolveOptions(
        threads=1, min_size=LO, max_size=hi, n_pcns="fewest", partition_candidates=narrow
    )
    res = solve_place(graph, options=options)
    assert len(set(res.labels)) == fewest
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best)
