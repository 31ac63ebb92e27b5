"""The disruption objective solved exactly by set partitioning, and kept networks.

Expected optima come from :mod:`tests.model.brute` (every plan of the place enumerated),
never typed in as numbers.
"""

from __future__ import annotations

import pytest

from pcnopt.errors import OptionError
from pcnopt.model import (
    HESS,
    PARTITION,
    PlaceGraph,
    SolveOptions,
    compliant_current_pcns,
    kept_groups,
    release_where_needed,
    solve_place,
)
from tests.model import brute
from tests.model.instances import random_place, with_current_pcns
from tests.model.test_driver import check_invariants, make_graph, parts_of

L, U = 30_000.0, 50_000.0


def with_current(graph: PlaceGraph, *, seed: int, networks: int = 4) -> PlaceGraph:
    return with_current_pcns(graph, seed=seed, networks=networks)


def place(n: int, seed: int) -> PlaceGraph:
    return with_current(random_place(n, seed=seed, mean_population=9_000.0), seed=seed)


def best(graph: PlaceGraph, key, *, keep=()) -> tuple[float, ...] | None:
    kept = [frozenset(graph.codes.index(c) for c in g) for g in keep]
    values = [key(plan) for plan in brute.plans(graph, L, U) if all(g in plan for g in kept)]
    return min(values) if values else None


CASES = [(n, seed) for n in (9, 10, 11) for seed in range(4)]


@pytest.mark.parametrize(("n", "seed"), CASES)
def test_disruption_is_proved_optimal_against_brute_force(n: int, seed: int) -> None:
    graph = place(n, seed)
    solution = solve_place(graph, options=SolveOptions(objective="disruption"))
    expected = best(graph, lambda plan: (brute.disruption(graph, plan),))
    if expected is None:
        assert solution.status == "infeasible"
        return
    check_invariants(graph, solution)
    assert solution.method == PARTITION
    assert solution.status == "optimal" and solution.gap == 0
    assert solution.objective == pytest.approx(expected[0])


@pytest.mark.parametrize(("n", "seed"), CASES[::2])
def test_least_disruption_then_most_compact_against_brute_force(n: int, seed: int) -> None:
    graph = place(n, seed)
    options = SolveOptions(objective=(("disruption", 1.0), ("compact", 1.0)), lexicographic=True)
    solution = solve_place(graph, options=options)
    values = [
        (brute.disruption(graph, plan), brute.compact(graph, plan))
        for plan in brute.plans(graph, L, U)
    ]
    if not values:
        assert solution.status == "infeasible"
        return
    least = min(d for d, _ in values)
    then = min(c for d, c in values if d <= least + 1e-6)
    terms = dict(solution.terms)
    assert solution.method == PARTITION and solution.status == "optimal"
    assert terms["disruption"] == pytest.approx(least)
    assert terms["compact"] == pytest.approx(then, rel=1e-6)


@pytest.mark.parametrize(("n", "seed"), CASES[1::3])
def test_weighted_disruption_and_compact_against_brute_force(n: int, seed: int) -> None:
    graph = place(n, seed)
    weight = 0.01  # patients per patient-metre
    options = SolveOptions(objective=(("disruption", 1.0), ("compact", weight)))
    solution = solve_place(graph, options=options)
    expected = best(
        graph, lambda plan: (brute.disruption(graph, plan) + weight * brute.compact(graph, plan),)
    )
    if expected is None:
        assert solution.status == "infeasible"
        return
    assert solution.method == PARTITION and solution.status == "optimal"
    assert solution.objective == pytest.approx(expected[0], rel=1e-7)


def test_a_current_network_is_continued_by_one_new_network_only() -> None:
    """A----A----A----A (20,000 each): two networks, only one of which continues A.

    Without the one-continuation row both halves would "continue" A, with no disruption.
    """
    graph = make_graph([20_000.0] * 4, [(0, 1), (1, 2), (2, 3)], current=["A"] * 4)
    for method in ({}, {"partition_candidates": 0}):
        solution = solve_place(graph, options=SolveOptions(objective="disruption", **method))
        assert solution.status == "optimal"
        assert solution.objective == pytest.approx(40_000.0)
        assert solution.bound == pytest.approx(40_000.0)


def test_splitting_a_current_network_in_two_is_not_free() -> None:
    """A---A---A---A---B---B (15,000 each): two networks of 45,000 move one practice of A.

    Three networks of 30,000 would move none if both halves of A could continue A; with each
    current network continued once, they move 30,000, so two networks are best.
    """
    graph = make_graph(
        [15_000.0] * 6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], current=list("AAAABB")
    )
    for method in ({}, {"partition_candidates": 0}):
        solution = solve_place(graph, options=SolveOptions(objective="disruption", **method))
        assert solution.status == "optimal"
        assert parts_of(solution) == [[0, 1, 2], [3, 4, 5]]
        assert solution.objective == pytest.approx(15_000.0)


def test_set_partitioning_agrees_with_the_hess_model() -> None:
    # beyond brute force; the Hess model proves this one in seconds (most take minutes)
    graph = with_current(random_place(13, seed=3, mean_population=9_000.0), seed=3)
    exact = solve_place(graph, options=SolveOptions(objective="disruption"))
    hess = solve_place(graph, options=SolveOptions(objective="disruption", partition_candidates=0))
    assert exact.method == PARTITION and hess.method == HESS
    assert exact.status == hess.status == "optimal"
    assert exact.objective == pytest.approx(hess.objective)


# --------------------------------------------------------------------------------------------
# Kept networks
# --------------------------------------------------------------------------------------------


def test_compliant_current_pcns_name_what_is_wrong() -> None:
    """Practices (population in thousands, current PCN):

    0:20 A --- 1:15 A --- 2:12 B --- 3:18 B --- 4:40 C     5:25 D (no neighbour)
                                                |
                                             6:60 E        7:10 C
    """
    graph = make_graph(
        [20_000, 15_000, 12_000, 18_000, 40_000, 25_000, 60_000, 10_000],
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6)],
        current=["A", "A", "B", "B", "C", "D", "E", "C"],
    )
    everywhere = dict(zip(graph.codes, graph.current or (), strict=True))
    everywhere["X1"] = "D"  # D has a practice in another place
    pcns = {
        p.pcn: p for p in compliant_current_pcns(graph, min_size=L, max_size=U, current=everywhere)
    }
    assert pcns["A"].compliant and pcns["A"].reason == ""
    assert pcns["B"].compliant and pcns["B"].population == 30_000
    assert not pcns["C"].compliant and pcns["C"].reason == "not contiguous (2 parts)"
    assert (
        pcns["D"].reason
        == "below the band (25,000 patients); crosses places (1 practice in another place)"
    )
    assert pcns["E"].compliant  # a single practice above the band is its own network anyway
    assert kept_groups(tuple(pcns.values())) == (("P0", "P1"), ("P2", "P3"), ("P6",))


@pytest.mark.parametrize("method", [{}, {"partition_candidates": 0}], ids=["partition", "hess"])
@pytest.mark.parametrize(("n", "seed"), [(9, 0), (10, 1), (10, 3), (11, 2)])
def test_kept_networks_stay_and_the_rest_is_optimal(method: dict, n: int, seed: int) -> None:
    graph = place(n, seed)
    plan = next(iter(brute.plans(graph, L, U)), None)
    assert plan is not None
    keep = (tuple(graph.codes[v] for v in sorted(plan[0])),)
    for objective in ("disruption", "compact"):
        options = SolveOptions(objective=objective, keep=keep, **method)
        solution = solve_place(graph, options=options)
        key = brute.disruption if objective == "disruption" else brute.compact
        expected = best(graph, lambda p, key=key: (key(graph, p),), keep=keep)
        assert expected is not None
        check_invariants(graph, solution)
        parts = parts_of(solution)
        kept_at = [r for r, p in enumerate(parts) if [graph.codes[v] for v in p] == list(keep[0])]
        assert len(kept_at) == 1
        assert solution.notes[kept_at[0]] == "kept as it is"
        assert solution.status == "optimal"
        assert solution.objective == pytest.approx(expected[0], rel=1e-7)


def test_a_kept_network_that_is_not_contiguous_is_refused() -> None:
    graph = make_graph([20_000.0] * 4, [(0, 1), (1, 2), (2, 3)])
    with pytest.raises(OptionError, match="not contiguous"):
        solve_place(graph, options=SolveOptions(keep=(("P0", "P2"),)))
    with pytest.raises(OptionError, match="kept network"):
        SolveOptions(keep=(("P0", "P1"),), keep_together=(("P1", "P2"),))


def test_kept_pcns_beside_a_piece_that_cannot_stand_alone_are_released() -> None:
    """Practices (thousands, current PCN); 2 and 3 alone (20,000) fit no network:

    0:15 A --- 1:15 A --- 2:10 X --- 3:10 Y --- 4:15 B --- 5:15 B     6:35 C
    """
    graph = make_graph(
        [15_000, 15_000, 10_000, 10_000, 15_000, 15_000, 35_000],
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
        current=["A", "A", "X", "Y", "B", "B", "C"],
    )
    pcns = compliant_current_pcns(graph, min_size=L, max_size=U)
    assert kept_groups(pcns) == (("P0", "P1"), ("P4", "P5"), ("P6",))
    released = {p.pcn: p for p in release_where_needed(graph, pcns, min_size=L, max_size=U)}
    assert not released["A"].compliant and not released["B"].compliant
    assert released["A"].reason == (
        "kept PCN released: the 2 practices beside it (20,000 patients) cannot form networks "
        "in the band on their own"
    )
    assert released["C"].compliant
    keep = kept_groups(tuple(released.values()))
    assert keep == (("P6",),)
    solution = solve_place(graph, options=SolveOptions(objective="disruption", keep=keep))
    assert solution.status == "optimal"
    assert solution.notes[parts_of(solution).index([6])] == "kept as it is"
