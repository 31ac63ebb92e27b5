"""The recombination heuristic (:mod:`pcnopt.model.recombination`): valid plans, never better
than the brute-force optimum, and none where brute force finds none."""

from __future__ import annotations

import pytest

from pcnopt.model.recombination import plan_by_recombination
from tests.model.test_branch_cut import (
    NEEDS_CUTS,
    ORDINARY,
    _brute_min,
    _check_plan,
    _cut_edges,
    _random,
    _star,
)


@pytest.mark.parametrize(("seed", "width"), NEEDS_CUTS + ORDINARY)
def test_plans_are_valid_and_not_below_the_optimum(seed: int, width: float) -> None:
    """A plan found has k connected parts within the band and a cut >= the optimum."""
    graph, k, lo, hi = _random(seed, width)
    expected = _brute_min(graph, k, lo, hi)
    plan = plan_by_recombination(graph, parts=k, min_size=lo, max_size=hi, seconds=2.0, seed=1)
    if expected is None:
        assert plan is None
        return
    if plan is not None:
        _check_plan(graph, plan, k, lo, hi)
        assert _cut_edges(graph, plan) >= expected


def test_finds_plans_on_most_places() -> None:
    """The heuristic is worth running: it finds a plan on most places that have one."""
    found = total = 0
    for seed, width in NEEDS_CUTS + ORDINARY:
        graph, k, lo, hi = _random(seed, width)
        if _brute_min(graph, k, lo, hi) is None:
            continue
        total += 1
        plan = plan_by_recombination(graph, parts=k, min_size=lo, max_size=hi, seconds=2.0)
        found += plan is not None
    assert found >= total - 1


def test_no_plan_on_the_star() -> None:
    """No contiguous plan exists, so none is returned."""
    assert plan_by_recombination(_star(), parts=2, min_size=8, max_size=8, seconds=1.0) is None
