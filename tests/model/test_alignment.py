"""Council alignment as an objective, against brute force over every plan of small places."""

from __future__ import annotations

import numpy as np
import pytest

from pcnopt.model import SolveOptions
from pcnopt.model.alignment import plan_alignment, solve_aligned, unit_alignment
from tests.model.test_levels import compact, nx_of, random_place, set_partitions

LO, HI = 15_000.0, 40_000.0


def councils(n: int, *, seed: int) -> list[dict[str, float]]:
    """Each practice's patients, all in one of three council areas (west, middle, east by a
    random cut, so that areas are mostly contiguous but not aligned with any band)."""
    rng = np.random.default_rng(seed)
    return [{f"LA{int(rng.integers(3))}": 1.0} for _ in range(n)]


def shares_of(place, council: list[dict[str, float]]) -> list[dict[str, float]]:
    return [
        {c: place.population[i] * w for c, w in council[i].items()} for i in range(len(council))
    ]


def brute(place, shares, term: str) -> list[tuple[float, float]]:
    """(compact, alignment) of every plan of connected units within the band."""
    g = nx_of(place)
    out = []
    for parts in set_partitions(len(place.codes)):
        if all(LO <= sum(place.population[v] for v in p) <= HI and _connected(g, p) for p in parts):
            align = sum(unit_alignment([shares[v] for v in p], term) for p in parts)
            out.append((compact(place, parts), align))
    return out


def _connected(g, part) -> bool:
    import networkx as nx

    return nx.is_connected(g.subgraph(part))


@pytest.mark.parametrize("term", ["outside", "split"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_alignment_alone_and_after_compactness_match_brute_force(seed, term):
    place = random_place(9, seed=seed, mean_population=7_000)
    shares = shares_of(place, councils(9, seed=seed))
    plans = brute(place, shares, term)
    assert plans, "the instance must have a plan in band"
    options = SolveOptions(min_size=LO, max_size=HI)

    alone = solve_aligned(place, shares, options=options, term=term, after_compact=False)
    least = min(a for _, a in plans)
    assert alone.status == "optimal"
    assert alone.alignment == pytest.approx(least, abs=1e-6)
    # ties broken by compactness
    assert alone.compact == pytest.approx(min(c for c, a in plans if a <= least + 1e-6), rel=1e-9)

    after = solve_aligned(place, shares, options=options, term=term, after_compact=True)
    best = min(c for c, _ in plans)
    assert after.status == "optimal"
    assert after.compact == pytest.approx(best, rel=1e-9)
    assert after.alignment == pytest.approx(
        min(a for c, a in plans if c <= best * (1 + 1e-7)), abs=1e-6
    )
    # the plan returned is one of the plans: its figures recomputed from its labels
    for plan in (alone, after):
        assert plan_alignment(plan.labels, shares, term) == pytest.approx(plan.alignment)
        parts: dict[int, list[int]] = {}
        for v, label in enumerate(plan.labels):
            parts.setdefault(label, []).append(v)
        assert (compact(place, list(parts.values())), plan.alignment) in [
            pytest.approx(p) for p in plans
        ]


def test_alignment_changes_the_plan_where_councils_disagree_with_compactness():
    """At least one instance where the best-aligned plan is not the most compact one (so the
    tests above compare different optima, not the same plan twice)."""
    differs = 0
    for seed in range(1, 5):
        place = random_place(9, seed=seed, mean_population=7_000)
        shares = shares_of(place, councils(9, seed=seed))
        plans = brute(place, shares, "outside")
        best_compact = min(plans)[0]
        differs += min(a for _, a in plans) < min(a for c, a in plans if c <= best_compact * 1.0)
    assert differs >= 1


def test_a_place_that_cannot_be_split_in_band_is_said_so():
    place = random_place(6, seed=1)
    shares = shares_of(place, councils(6, seed=1))
    plan = solve_aligned(
        place, shares, options=SolveOptions(min_size=1e9, max_size=2e9), term="outside"
    )
    assert plan.status == "infeasible" and "cannot be split" in plan.message


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grouping_whole_pcns_aligned_with_councils_is_the_brute_force_optimum(seed):
    from pcnopt.model import solve_place
    from pcnopt.model.levels import Alignment, group_units, unit_graph

    place = random_place(16, seed=seed, mean_population=6_000)
    inner = solve_place(place, options=SolveOptions(min_size=8_000, max_size=24_000))
    unit_of = {c: f"U{lab:02d}" for c, lab in zip(place.codes, inner.labels, strict=True)}
    rng = np.random.default_rng(seed)
    council_of = {c: f"LA{int(rng.integers(3))}" for c in place.codes}
    contracted = unit_graph(place, unit_of)
    shares = [
        {
            la: sum(
                place.population[place.codes.index(c)]
                for c in contracted.members[unit]
                if council_of[c] == la
            )
            for la in {council_of[c] for c in contracted.members[unit]}
        }
        for unit in contracted.graph.codes
    ]
    lo, hi = 25_000.0, 70_000.0
    plans = [a for _, a in _brute_band(contracted.graph, shares, "outside", lo, hi)]
    assert plans
    nested = group_units(
        place,
        unit_of,
        options=SolveOptions(min_size=lo, max_size=hi),
        align=Alignment(council_of, "outside", after_compact=False),
    )
    # recomputed at the practices: patients outside their neighbourhood's main council
    practice_shares = [
        {council_of[c]: p} for c, p in zip(place.codes, place.population, strict=True)
    ]
    labels = [nested.outer_of[c] for c in place.codes]
    assert plan_alignment(labels, practice_shares, "outside") == pytest.approx(min(plans))
    assert "proven least" in nested.alignment
    for unit in set(unit_of.values()):  # every PCN whole in one neighbourhood
        assert len({nested.outer_of[c] for c in place.codes if unit_of[c] == unit}) == 1


def _brute_band(place, shares, term, lo, hi):
    g = nx_of(place)
    for parts in set_partitions(len(place.codes)):
        if all(lo <= sum(place.population[v] for v in p) <= hi and _connected(g, p) for p in parts):
            yield (
                compact(place, parts),
                sum(unit_alignment([shares[v] for v in p], term) for p in parts),
            )


@pytest.mark.parametrize("seed", [1, 2])
def test_top_down_outer_level_aligned_after_compactness_is_the_brute_force_optimum(seed):
    from pcnopt.model.levels import Alignment, nesting_problems, solve_nested

    place = random_place(9, seed=seed, mean_population=7_000)
    rng = np.random.default_rng(seed)
    council_of = {c: f"LA{int(rng.integers(3))}" for c in place.codes}
    shares = [{council_of[c]: p} for c, p in zip(place.codes, place.population, strict=True)]
    lo, hi = 20_000.0, 45_000.0
    plans = list(_brute_band(place, shares, "split", lo, hi))
    best = min(c for c, _ in plans)
    nested = solve_nested(
        place,
        outer=SolveOptions(min_size=lo, max_size=hi),
        inner=SolveOptions(min_size=8_000, max_size=25_000),
        align=Alignment(council_of, "split"),
    )
    labels = [nested.outer_of[c] for c in place.codes]
    assert plan_alignment(labels, shares, "split") == pytest.approx(
        min(a for c, a in plans if c <= best * (1 + 1e-7))
    )
    assert nesting_problems(nested.inner_of, nested.outer_of) == ()
