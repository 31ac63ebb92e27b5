"""Nested levels against brute force: every unit contiguous, in its band, nested; optimal."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import networkx as nx
import pytest

from pcnopt.errors import OptionError
from pcnopt.model import PlaceGraph, SolveOptions, solve_place
from pcnopt.model.levels import group_units, nesting_problems, solve_nested, unit_graph
from tests.model.instances import random_place


def set_partitions(n: int) -> Iterator[list[list[int]]]:
    """Every partition of ``range(n)``."""

    def rec(i: int, labels: list[int], k: int) -> Iterator[list[int]]:
        if i == n:
            yield labels
            return
        for lab in range(k + 1):
            labels.append(lab)
            yield from rec(i + 1, labels, max(k, lab + 1))
            labels.pop()

    for labels in rec(0, [], 0):
        parts: dict[int, list[int]] = {}
        for v, lab in enumerate(labels):
            parts.setdefault(lab, []).append(v)
        yield list(parts.values())


def nx_of(graph: PlaceGraph) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(len(graph.codes)))
    g.add_edges_from((i, j) for i, j, _ in graph.edges)
    return g


def compact(graph: PlaceGraph, parts: Sequence[Sequence[int]]) -> float:
    pop = graph.population
    return sum(
        min(
            sum(pop[i] * math.hypot(graph.x[i] - graph.x[h], graph.y[i] - graph.y[h]) for i in part)
            for h in part
        )
        for part in parts
    )


def best_in_band(graph: PlaceGraph, lo: float, hi: float) -> float | None:
    """Least compact cost over partitions into connected parts within [lo, hi]."""
    g = nx_of(graph)
    best = None
    for parts in set_partitions(len(graph.codes)):
        if all(
            lo <= sum(graph.population[v] for v in p) <= hi and nx.is_connected(g.subgraph(p))
            for p in parts
        ):
            cost = compact(graph, parts)
            best = cost if best is None or cost < best else best
    return best


def connected(graph: PlaceGraph, codes: set[str]) -> bool:
    at = [k for k, c in enumerate(graph.codes) if c in codes]
    return nx.is_connected(nx_of(graph).subgraph(at))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_units_contract_to_their_sums_and_touching_pairs(seed):
    place = random_place(14, seed=seed)
    units = solve_place(place, options=SolveOptions(min_size=8_000, max_size=30_000))
    unit_of = {c: f"U{lab}" for c, lab in zip(place.codes, units.labels, strict=True)}
    contracted = unit_graph(place, unit_of)
    g = contracted.graph
    for k, unit in enumerate(g.codes):
        members = contracted.members[unit]
        assert g.population[k] == pytest.approx(
            sum(place.population[place.codes.index(c)] for c in members)
        )
    touching = {
        (a, b)
        for a in range(len(g.codes))
        for b in range(a + 1, len(g.codes))
        if any(
            {unit_of[place.codes[i]], unit_of[place.codes[j]]} == {g.codes[a], g.codes[b]}
            for i, j, _ in place.edges
        )
    }
    assert {(i, j) for i, j, _ in g.edges} == touching


@pytest.mark.parametrize("seed", [1, 2, 3, 5])
def test_grouping_whole_units_is_optimal_and_keeps_each_unit_whole(seed):
    place = random_place(16, seed=seed, mean_population=6_000)
    inner = solve_place(place, options=SolveOptions(min_size=8_000, max_size=24_000))
    unit_of = {c: f"U{lab:02d}" for c, lab in zip(place.codes, inner.labels, strict=True)}
    contracted = unit_graph(place, unit_of).graph
    assert len(contracted.codes) <= 9
    lo, hi = 25_000.0, 70_000.0
    truth = best_in_band(contracted, lo, hi)
    assert truth is not None
    nested = group_units(place, unit_of, options=SolveOptions(min_size=lo, max_size=hi))
    assert nested.outer.status == "optimal"
    assert nested.outer.objective == pytest.approx(truth, rel=1e-6)
    assert nesting_problems(nested.inner_of, nested.outer_of) == ()
    for outer in set(nested.outer_of.values()):
        codes = {c for c, o in nested.outer_of.items() if o == outer}
        size = sum(place.population[place.codes.index(c)] for c in codes)
        assert lo <= size <= hi and connected(place, codes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_top_down_levels_nest_and_each_is_contiguous_and_in_band(seed):
    place = random_place(9, seed=seed, mean_population=7_000)
    outer = SolveOptions(min_size=20_000, max_size=45_000)
    inner = SolveOptions(min_size=8_000, max_size=25_000)
    truth = best_in_band(place, 20_000, 45_000)
    assert truth is not None
    nested = solve_nested(place, outer=outer, inner=inner)
    assert nested.outer.objective == pytest.approx(truth, rel=1e-6)  # the outer level is optimal
    assert nesting_problems(nested.inner_of, nested.outer_of) == ()
    for level, lo, hi in ((nested.outer_of, 20_000, 45_000), (nested.inner_of, 8_000, 25_000)):
        for unit in set(level.values()):
            codes = {c for c, u in level.items() if u == unit}
            size = sum(place.population[place.codes.index(c)] for c in codes)
            if nested.unsplittable and level is nested.inner_of:
                continue  # an outer unit that cannot split is reported, not drawn
            assert lo <= size <= hi and connected(place, codes), (unit, size)


def test_an_inner_unit_across_two_outer_units_is_named():
    assert nesting_problems({"a": "X", "b": "X", "c": "Y"}, {"a": 1, "b": 2, "c": 2}) == (
        "inner unit X lies in 2 outer units",
    )


def test_bands_that_cannot_nest_are_refused():
    place = random_place(6, seed=1)
    with pytest.raises(OptionError, match="could never hold one"):
        solve_nested(
            place,
            outer=SolveOptions(min_size=10_000, max_size=20_000),
            inner=SolveOptions(min_size=30_000, max_size=50_000),
        )


def _units_of(level: dict[str, str]) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for code, unit in level.items():
        units.setdefault(unit, set()).add(code)
    return units


@pytest.mark.parametrize("seed", [2, 3, 6])  # two outer units each, every one splittable
def test_three_levels_nest_and_each_is_optimal_inside_the_level_above(seed):
    """Every level against brute force: the outer on the place, each inner level on every
    unit of the level above (as if it were a place); every unit contiguous, in band, nested."""
    from pcnopt.model.levels import solve_levels, subgraph

    place = random_place(9, seed=seed, mean_population=7_000)
    bands = [(30_000.0, 70_000.0), (12_000.0, 35_000.0), (5_000.0, 20_000.0)]
    levels = [SolveOptions(min_size=lo, max_size=hi) for lo, hi in bands]
    nested = solve_levels(place, levels)
    assert nested.unsplittable == ()
    assert nested.top.objective == pytest.approx(best_in_band(place, *bands[0]), rel=1e-6)
    for outer, inner in zip(nested.unit_of, nested.unit_of[1:], strict=False):
        assert nesting_problems(inner, outer) == ()
    for k, ((lo, hi), level) in enumerate(zip(bands, nested.unit_of, strict=True)):
        for unit, codes in _units_of(dict(level)).items():
            size = sum(place.population[place.codes.index(c)] for c in codes)
            assert unit and lo <= size <= hi and connected(place, codes), (k, unit, size)
            if k + 1 < len(bands):  # the level below is optimal inside this unit
                part = subgraph(place, sorted(codes), place_id=unit)
                depth = nested.parts if k == 0 else [q for p in nested.parts for q in p.parts]
                below = [p for p in depth if set(p.unit_of[0]) == codes]
                assert len(below) == 1
                truth = best_in_band(part, *bands[k + 1])
                assert below[0].top.objective == pytest.approx(truth, rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_levels_above_given_units_keep_each_unit_whole_and_nest(seed):
    """Bottom-up with two levels above the given units: the outer is optimal on the units'
    graph (brute force), every given unit lies whole in one unit of each level above."""
    from pcnopt.model.levels import group_levels

    place = random_place(16, seed=seed, mean_population=6_000)
    given = solve_place(place, options=SolveOptions(min_size=8_000, max_size=24_000))
    unit_of = {c: f"U{lab:02d}" for c, lab in zip(place.codes, given.labels, strict=True)}
    contracted = unit_graph(place, unit_of).graph
    bands = [(45_000.0, 110_000.0), (20_000.0, 60_000.0)]
    nested = group_levels(
        place, unit_of, [SolveOptions(min_size=lo, max_size=hi) for lo, hi in bands]
    )
    assert nested.top.objective == pytest.approx(best_in_band(contracted, *bands[0]), rel=1e-6)
    assert nested.unit_of[-1] == unit_of  # the given units, kept
    for outer, inner in zip(nested.unit_of, nested.unit_of[1:], strict=False):
        assert nesting_problems(inner, outer) == ()
    for (lo, hi), level in zip(bands, nested.unit_of, strict=False):
        if nested.unsplittable and level is not nested.unit_of[0]:
            continue  # an outer unit that cannot split is reported, not drawn
        for unit, codes in _units_of(dict(level)).items():
            size = sum(place.population[place.codes.index(c)] for c in codes)
            assert unit and lo <= size <= hi and connected(place, codes), (unit, size)
