"""Tests of the optimisation core, :mod:`pcnopt.model`.

Expected optima are found by brute force in the test itself (every set partition of a small
graph is enumerated and checked against the rules), never typed in as numbers.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcnopt.errors import InputError, OptionError
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions, solve_place
from tests.model.instances import random_place

L, U = 30_000.0, 50_000.0


# --------------------------------------------------------------------------------------------
# Brute force, written independently of the model
# --------------------------------------------------------------------------------------------


def set_partitions(n: int) -> Iterator[list[list[int]]]:
    """Every partition of ``range(n)`` (restricted growth strings)."""

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


def nx_graph(graph: PlaceGraph, nodes: Sequence[int] | None = None) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(len(graph.codes)) if nodes is None else nodes)
    for i, j, _ in graph.edges:
        if i in g and j in g:
            g.add_edge(i, j)
    return g


def objective_value(graph: PlaceGraph, parts: list[list[int]], name: str) -> float:
    pop = graph.population
    if name == "compact":
        total = 0.0
        for part in parts:
            total += min(
                sum(
                    pop[i] * math.hypot(graph.x[i] - graph.x[h], graph.y[i] - graph.y[h])
                    for i in part
                )
                for h in part
            )
        return total
    if name == "boundary":
        label = {v: r for r, part in enumerate(parts) for v in part}
        return sum(
            length
            for i, j, length in graph.edges
            if i in label and j in label and label[i] != label[j]
        )
    assert name == "disruption"
    assert graph.current is not None
    currents = sorted({c for c in graph.current if c is not None})
    kept_best = 0.0
    # one-to-one matching of new parts to current networks, by brute force
    slots = list(range(len(parts))) + [None] * len(currents)
    for perm in itertools.permutations(slots, len(currents)):
        kept = 0.0
        for c, r in zip(currents, perm, strict=True):
            if r is not None:
                kept += sum(pop[i] for i in parts[r] if graph.current[i] == c)
        kept_best = max(kept_best, kept)
    moved = sum(pop[i] for part in parts for i in part if graph.current[i] is not None)
    return moved - kept_best


def brute_force(
    graph: PlaceGraph,
    *,
    objective: str = "compact",
    n_pcns: int | None = None,
    together: Sequence[tuple[int, int]] = (),
    apart: Sequence[tuple[int, int]] = (),
) -> tuple[float, list[list[int]]] | None:
    """Best valid partition, or None: parts connected; in the band, or a named exception.

    Exceptions, as documented in pcnopt.model: a practice above U is alone; a connected
    component (after removing such practices) below L is one network.
    """
    n = len(graph.codes)
    pop = graph.population
    big = {i for i in range(n) if pop[i] > U}
    small_islands = [
        frozenset(c)
        for c in nx.connected_components(nx_graph(graph, [i for i in range(n) if i not in big]))
        if sum(pop[v] for v in c) < L
    ]
    g = nx_graph(graph)
    best: tuple[float, list[list[int]]] | None = None
    for parts in set_partitions(n):
        if n_pcns is not None and len(parts) != n_pcns:
            continue
        label = {v: r for r, part in enumerate(parts) for v in part}
        if any(label[a] != label[b] for a, b in together):
            continue
        if any(label[a] == label[b] for a, b in apart):
            continue
        ok = True
        for part in parts:
            size = sum(pop[v] for v in part)
            in_band = L <= size <= U or set(part) <= big or frozenset(part) in small_islands
            if (
                (big & set(part) and len(part) > 1)
                or not in_band
                or not nx.is_connected(g.subgraph(part))
            ):
                ok = False
            if not ok:
                break
        if ok and any(
            set(island) - set(p) and set(island) & set(p) for island in small_islands for p in parts
        ):
            ok = False
        if not ok:
            continue
        value = objective_value(graph, parts, objective)
        if best is None or value < best[0] - 1e-9:
            best = (value, parts)
    return best


def parts_of(solution: PlaceSolution) -> list[list[int]]:
    parts: dict[int, list[int]] = {}
    for v, lab in enumerate(solution.labels):
        if lab >= 0:
            parts.setdefault(lab, []).append(v)
    return [parts[k] for k in sorted(parts)]


def check_invariants(graph: PlaceGraph, solution: PlaceSolution) -> None:
    """Every practice in exactly one part; parts connected; sizes in band or flagged."""
    parts = parts_of(solution)
    assert sorted(v for p in parts for v in p) == [
        v for v in range(len(graph.codes)) if solution.labels[v] >= 0
    ]
    assert len(solution.notes) == len(parts) == len(solution.hubs)
    g = nx_graph(graph)
    for r, part in enumerate(parts):
        assert nx.is_connected(g.subgraph(part)), f"part {r} is not contiguous: {part}"
        size = sum(graph.population[v] for v in part)
        if not (L - 1e-6 <= size <= U + 1e-6):
            assert solution.notes[r], f"part {r} of size {size} is outside the band unflagged"
        assert solution.hubs[r] in part


def make_graph(
    pop: Sequence[float],
    edges: Sequence[tuple[int, int]],
    xy: Sequence[tuple[float, float]] | None = None,
    current: Sequence[str | None] | None = None,
    lengths: Sequence[float] | None = None,
) -> PlaceGraph:
    n = len(pop)
    if xy is None:
        xy = [(1000.0 * i, 0.0) for i in range(n)]
    return PlaceGraph(
        place_id="test",
        codes=tuple(f"P{i}" for i in range(n)),
        population=tuple(float(p) for p in pop),
        x=tuple(float(p[0]) for p in xy),
        y=tuple(float(p[1]) for p in xy),
        edges=tuple(
            sorted(
                (min(a, b), max(a, b), float(lengths[k] if lengths else 100.0))
                for k, (a, b) in enumerate(edges)
            )
        ),
        current=None if current is None else tuple(current),
    )


OPTS = SolveOptions(threads=1)

#: Both exact methods: set partitioning over every candidate network (the default for places
#: whose candidates can be listed) and the Hess model with contiguity cuts.
METHODS = pytest.mark.parametrize(
    "method", [{}, {"partition_candidates": 0}], ids=["partition", "hess"]
)


# --------------------------------------------------------------------------------------------
# Hand-drawn graphs
# --------------------------------------------------------------------------------------------


@METHODS
def test_path_of_four_has_one_valid_split(method: dict) -> None:
    """A path where only the middle cut is valid.

    ::

        P0(20k) -- P1(15k) -- P2(15k) -- P3(20k)

    {P0,P1,P2} is 50k and leaves P3 alone at 20k: invalid. Only {P0,P1} | {P2,P3} fits.
    """
    graph = make_graph([20_000, 15_000, 15_000, 20_000], [(0, 1), (1, 2), (2, 3)])
    solution = solve_place(graph, options=SolveOptions(threads=1, **method))
    expected = brute_force(graph)
    assert expected is not None
    assert solution.status == "optimal"
    assert sorted(map(sorted, parts_of(solution))) == sorted(map(sorted, expected[1]))
    assert solution.objective == pytest.approx(expected[0])
    assert solution.bound == pytest.approx(expected[0])
    assert solution.gap == pytest.approx(0.0)
    check_invariants(graph, solution)


@METHODS
def test_contiguity_beats_a_cheaper_disconnected_plan(method: dict) -> None:
    """The cheapest plan by distance is disconnected; the solver must refuse it.

    ::

        P0(20k) -- P1(25k) -- P2(20k) -- P3(25k)
        at x=0     x=10 km    x=0        x=10 km

    {P0,P2} and {P1,P3} cost nothing (co-located) but are not contiguous.
    """
    graph = make_graph(
        [20_000, 25_000, 20_000, 25_000],
        [(0, 1), (1, 2), (2, 3)],
        xy=[(0, 0), (10_000, 0), (0, 10), (10_000, 10)],
    )
    solution = solve_place(graph, options=SolveOptions(threads=1, **method))
    expected = brute_force(graph)
    assert expected is not None
    assert expected[0] > 0  # the contiguous optimum costs something
    assert solution.objective == pytest.approx(expected[0])
    check_invariants(graph, solution)


def test_cut_rounds_repair_a_disconnected_network() -> None:
    """A ring where the distance-optimal networks skip the practice in between.

    ::

        P0(16k) -- P1(16k) -- P2(16k)
          |                     |
        P5(16k) -- P4(16k) -- P3(16k)

    Pairs (P0,P2), (P1,P4), (P3,P5) are co-located, so pairing them costs nothing, and each
    pair is only two steps apart (48k on the path, within the size fixing): only the
    contiguity constraints rule those networks out.
    """
    xy = [(0, 0), (10_000, 0), (0, 10), (5_000, 8_000), (10_000, 10), (5_000, 8_010)]
    graph = make_graph([16_000] * 6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5)], xy=xy)
    hess = SolveOptions(threads=1, partition_candidates=0)
    solution = solve_place(graph, options=hess)
    expected = brute_force(graph)
    assert expected is not None
    assert expected[0] > 1_000
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(expected[0])
    check_invariants(graph, solution)
    flow = solve_place(graph, options=SolveOptions(contiguity="flow", partition_candidates=0))
    assert flow.objective == pytest.approx(expected[0])
    partition = solve_place(graph, options=OPTS)
    assert "Set partitioning" in partition.message
    assert partition.objective == pytest.approx(expected[0])


@METHODS
def test_island_below_minimum_is_flagged(method: dict) -> None:
    """Two islands: a viable mainland and a small island that forms one flagged network.

    ::

        P0(20k) -- P1(20k) -- P2(20k) -- P3(20k)        P4(10k) -- P5(8k)
    """
    graph = make_graph([20_000] * 4 + [10_000, 8_000], [(0, 1), (1, 2), (2, 3), (4, 5)])
    solution = solve_place(graph, options=SolveOptions(threads=1, **method))
    parts = parts_of(solution)
    island = [r for r, p in enumerate(parts) if set(p) == {4, 5}]
    assert island, "the island must be one network"
    assert solution.notes[island[0]] == "below minimum, needs commissioner approval"
    assert solution.status == "below_minimum"
    expected = brute_force(graph)
    assert expected is not None
    assert solution.objective == pytest.approx(expected[0])
    check_invariants(graph, solution)


def test_practice_above_maximum_is_its_own_network() -> None:
    """A 55k practice in the middle of a path is alone; the others are split around it.

    ::

        P0(15k) -- P1(16k) -- P2(55k) -- P3(16k) -- P4(15k)
    """
    graph = make_graph([15_000, 16_000, 55_000, 16_000, 15_000], [(0, 1), (1, 2), (2, 3), (3, 4)])
    solution = solve_place(graph, options=OPTS)
    parts = parts_of(solution)
    big = [r for r, p in enumerate(parts) if p == [2]]
    assert big and solution.notes[big[0]] == "single practice above 50,000: own PCN"
    assert "55,000" not in solution.message or "above" in solution.message
    check_invariants(graph, solution)
    expected = brute_force(graph)
    assert expected is not None
    assert solution.objective == pytest.approx(expected[0])


def test_arithmetic_infeasibility_is_explained_with_a_fallback() -> None:
    """Two practices of 26k and 27k alone on an island: no split fits 30-50k.

    ::

        P0(26k) -- P1(27k)
    """
    graph = make_graph([26_000, 27_000], [(0, 1)])
    solution = solve_place(graph, options=OPTS)
    assert brute_force(graph) is None
    assert solution.status == "infeasible"
    assert "53,000" in solution.message
    assert solution.bound is None and solution.gap is None
    # least violation: one network of 53k (3k over) rather than two (4k + 3k under)
    assert parts_of(solution) == [[0, 1]]
    assert solution.notes == ("fallback: size violation 3,000",)
    check_invariants(graph, solution)


def test_approved_small_returns_least_shortfall() -> None:
    """Same island as above; with the rural exception approved, two small networks are fine.

    ::

        P0(26k) -- P1(27k)
    """
    graph = make_graph([26_000, 27_000], [(0, 1)])
    options = SolveOptions(approved_small=True)
    solution = solve_place(graph, options=options)
    assert solution.status == "below_minimum"
    assert all(note.startswith("below minimum") for note in solution.notes)
    assert len(parts_of(solution)) == 2


@METHODS
def test_contiguity_infeasibility_is_proved(method: dict) -> None:
    """A star: sizes allow two networks, but every 2-split leaves a leaf cut off.

    ::

              P1(16k)
                |
        P2(16k)-P0(2k)-P3(16k)
                |
              P4(16k)

    66k needs two networks of 30-50k; any network without the centre P0 is one leaf (16k).
    """
    graph = make_graph([2_000, 16_000, 16_000, 16_000, 16_000], [(0, 1), (0, 2), (0, 3), (0, 4)])
    solution = solve_place(graph, options=SolveOptions(threads=1, **method))
    assert brute_force(graph) is None
    assert solution.status == "infeasible"
    assert "proved" in solution.message
    check_invariants(graph, solution)


# --------------------------------------------------------------------------------------------
# Objectives and commissioner rules, against brute force
# --------------------------------------------------------------------------------------------


GRID_POP = [9_000, 14_000, 8_000, 12_000, 11_000, 7_000, 10_000, 13_000, 9_500]
GRID_EDGES = [
    (0, 1),
    (1, 2),
    (3, 4),
    (4, 5),
    (6, 7),
    (7, 8),
    (0, 3),
    (3, 6),
    (1, 4),
    (4, 7),
    (2, 5),
    (5, 8),
]
GRID_XY = [(1000.0 * (v % 3) + 37 * v, 1000.0 * (v // 3) + 11 * v * v) for v in range(9)]


def grid(current: Sequence[str | None] | None = None) -> PlaceGraph:
    """A 3x3 grid of practices.

    ::

        P0 -- P1 -- P2
        |     |     |
        P3 -- P4 -- P5
        |     |     |
        P6 -- P7 -- P8
    """
    lengths = [100.0 + 17 * k for k in range(len(GRID_EDGES))]
    return make_graph(GRID_POP, GRID_EDGES, xy=GRID_XY, current=current, lengths=lengths)


@METHODS
@pytest.mark.parametrize("objective", ["compact", "boundary"])
def test_grid_objectives_match_brute_force(objective: str, method: dict) -> None:
    graph = grid()
    solution = solve_place(graph, options=SolveOptions(objective=objective, **method))
    expected = brute_force(graph, objective=objective)
    assert expected is not None
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(expected[0])
    check_invariants(graph, solution)


def test_grid_disruption_matches_brute_force() -> None:
    current = ["A", "A", "B", "A", "B", "B", "C", "C", None]
    graph = grid(current)
    solution = solve_place(graph, options=SolveOptions(objective="disruption"))
    expected = brute_force(graph, objective="disruption")
    assert expected is not None
    assert solution.objective == pytest.approx(expected[0])
    check_invariants(graph, solution)


@METHODS
def test_weighted_and_lexicographic_objectives(method: dict) -> None:
    graph = grid()
    best_boundary = brute_force(graph, objective="boundary")
    assert best_boundary is not None
    lex = solve_place(
        graph,
        options=SolveOptions(
            objective=(("boundary", 1.0), ("compact", 1.0)), lexicographic=True, **method
        ),
    )
    terms = dict(lex.terms)
    assert terms["boundary"] == pytest.approx(best_boundary[0])
    # among plans with the best boundary, compact is minimal
    candidates = [
        objective_value(graph, [list(p) for p in parts], "compact")
        for parts in valid_grid_partitions()
        if abs(objective_value(graph, [list(p) for p in parts], "boundary") - best_boundary[0])
        < 1e-6
    ]
    assert terms["compact"] == pytest.approx(min(candidates))
    weighted = solve_place(
        graph, options=SolveOptions(objective=(("compact", 1.0), ("boundary", 1000.0)), **method)
    )
    plans = [[list(p) for p in parts] for parts in valid_grid_partitions()]
    values = [
        objective_value(graph, parts, "compact") + 1000 * objective_value(graph, parts, "boundary")
        for parts in plans
    ]
    assert weighted.objective == pytest.approx(min(values))


@functools.cache
def valid_grid_partitions() -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Every valid plan of the 3x3 grid (enumerated once; the grid is fixed)."""
    graph = grid()
    return tuple(
        tuple(tuple(p) for p in parts) for parts in set_partitions(9) if _valid(graph, parts)
    )


def _valid(graph: PlaceGraph, parts: list[list[int]]) -> bool:
    g = nx_graph(graph)
    return all(
        L <= sum(graph.population[v] for v in p) <= U and nx.is_connected(g.subgraph(p))
        for p in parts
    )


@METHODS
def test_exact_count_and_fewest(method: dict) -> None:
    graph = grid()
    for k in (2, 3):
        solution = solve_place(graph, options=SolveOptions(n_pcns=k, **method))
        expected = brute_force(graph, n_pcns=k)
        assert expected is not None
        assert len(parts_of(solution)) == k
        assert solution.objective == pytest.approx(expected[0])
    fewest = solve_place(graph, options=SolveOptions(n_pcns="fewest", **method))
    k_min = min(len(p) for p in valid_grid_partitions())
    assert len(parts_of(fewest)) == k_min
    expected = brute_force(graph, n_pcns=k_min)
    assert expected is not None
    assert fewest.objective == pytest.approx(expected[0])


@METHODS
def test_keep_together_apart_fixed_and_excluded(method: dict) -> None:
    graph = grid()
    options = SolveOptions(keep_together=(("P0", "P8"),), keep_apart=(("P4", "P1"),), **method)
    solution = solve_place(graph, options=options)
    expected = brute_force(graph, together=[(0, 8)], apart=[(1, 4)])
    assert expected is not None
    assert solution.labels[0] == solution.labels[8]
    assert solution.labels[1] != solution.labels[4]
    assert solution.objective == pytest.approx(expected[0])
    fixed = solve_place(
        graph,
        options=SolveOptions(fixed=(("P0", "north"), ("P2", "north"), ("P6", "south")), **method),
    )
    assert fixed.labels[0] == fixed.labels[2] != fixed.labels[6]
    assert fixed.names[fixed.labels[0]] == "north"
    assert fixed.names[fixed.labels[6]] == "south"
    expected = brute_force(graph, together=[(0, 2)], apart=[(0, 6)])
    assert expected is not None
    assert fixed.objective == pytest.approx(expected[0])
    left_out = solve_place(graph, options=SolveOptions(excluded=("P4",), **method))
    assert left_out.labels[4] == -1
    check_invariants(graph, left_out)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"min_size": 60_000}, "min_size"),
        ({"objective": "shortest"}, "unknown objective"),
        ({"objective": (("compact", -1.0),)}, "positive"),
        ({"n_pcns": 0}, "n_pcns"),
        ({"keep_together": (("P0", "P1"),), "keep_apart": (("P1", "P0"),)}, "kept apart"),
        (
            {"fixed": (("P0", "a"), ("P1", "b")), "keep_together": (("P0", "P1"),)},
            "different labels",
        ),
        ({"excluded": ("P0",), "fixed": (("P0", "a"),)}, "excluded"),
        ({"mip_gap": 1.5}, "mip_gap"),
        ({"partition_candidates": -1}, "partition_candidates"),
    ],
)
def test_bad_options_raise_option_error(kwargs: dict, fragment: str) -> None:
    with pytest.raises(OptionError, match=fragment):
        SolveOptions(**kwargs)


def test_rules_that_do_not_fit_the_place_raise_option_error() -> None:
    graph = make_graph([20_000] * 4 + [10_000, 8_000], [(0, 1), (1, 2), (2, 3), (4, 5)])
    with pytest.raises(OptionError, match="not in this place"):
        solve_place(graph, options=SolveOptions(excluded=("X999",)))
    with pytest.raises(OptionError, match="no chain of neighbouring practices"):
        solve_place(graph, options=SolveOptions(keep_together=(("P0", "P5"),)))


def test_bad_graph_raises_input_error() -> None:
    with pytest.raises(InputError, match="population"):
        PlaceGraph(
            place_id="bad",
            codes=("A", "B"),
            population=(1.0,),
            x=(0.0, 1.0),
            y=(0.0, 0.0),
            edges=((0, 1, 1.0),),
        )


# --------------------------------------------------------------------------------------------
# Properties on random small instances
# --------------------------------------------------------------------------------------------


@st.composite
def small_places(draw: st.DrawFn) -> tuple[PlaceGraph, str]:
    n = draw(st.integers(min_value=2, max_value=7))
    pops = draw(
        st.lists(
            st.integers(min_value=3, max_value=56).map(lambda v: v * 1000.0), min_size=n, max_size=n
        )
    )
    # a random tree plus a few extra edges, sometimes dropping tree edges (islands)
    edges = set()
    for v in range(1, n):
        u = draw(st.integers(min_value=0, max_value=v - 1))
        if draw(st.integers(min_value=0, max_value=9)) > 0:
            edges.add((u, v))
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4))
    edges |= {(min(a, b), max(a, b)) for a, b in extra if a != b}
    xy = draw(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=n, max_size=n))
    current = draw(st.lists(st.sampled_from(["A", "B", None]), min_size=n, max_size=n))
    edge_list = sorted(edges)
    lengths = [float(50 + 10 * ((a * 7 + b * 3) % 11)) for a, b in edge_list]
    graph = make_graph(
        pops,
        edge_list,
        xy=[(500.0 * a, 500.0 * b) for a, b in xy],
        current=current,
        lengths=lengths,
    )
    objective = draw(st.sampled_from(["compact", "boundary", "disruption"]))
    return graph, objective


@METHODS
@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(small_places())
def test_random_small_places_are_solved_exactly(method: dict, case: tuple[PlaceGraph, str]) -> None:
    graph, objective = case
    solution = solve_place(graph, options=SolveOptions(objective=objective, threads=1, **method))
    check_invariants(graph, solution)
    expected = brute_force(graph, objective=objective)
    if expected is None:
        assert solution.status == "infeasible", solution.message
        return
    assert solution.status in ("optimal", "below_minimum", "trivial"), solution.message
    assert solution.objective == pytest.approx(expected[0], rel=1e-7, abs=1e-6)


# --------------------------------------------------------------------------------------------
# Engineering properties
# --------------------------------------------------------------------------------------------


def test_deterministic_and_picklable() -> None:
    graph = random_place(14, seed=3)
    first = solve_place(graph, options=OPTS)
    second = pickle.loads(pickle.dumps(solve_place))(graph, options=OPTS)
    assert first.labels == second.labels
    assert first.objective == second.objective
    assert pickle.loads(pickle.dumps(first)).labels == first.labels
    check_invariants(graph, first)
    # networks are numbered by their smallest member
    firsts = [min(p) for p in parts_of(first)]
    assert firsts == sorted(firsts)


def test_highs_agrees_with_cbc() -> None:
    graph = random_place(12, seed=5)
    cbc = solve_place(graph, options=OPTS)
    highs = solve_place(graph, options=SolveOptions(solver="highs", threads=1))
    assert highs.status == cbc.status == "optimal"
    assert highs.objective == pytest.approx(cbc.objective)


@METHODS
def test_time_limit_returns_a_plan_with_its_gap(method: dict) -> None:
    graph = random_place(70, seed=11)
    solution = solve_place(graph, options=SolveOptions(time_limit=3, threads=1, **method))
    assert solution.status in ("optimal", "feasible")
    assert solution.seconds < 30
    check_invariants(graph, solution)
    if solution.status == "feasible" and solution.bound is not None:
        assert solution.bound <= solution.objective + 1e-6
        assert solution.gap is not None and solution.gap >= 0


@pytest.mark.slow
def test_fifty_practices_random_place_optimal() -> None:
    graph = random_place(50, seed=0)
    solution = solve_place(graph, options=SolveOptions(threads=1, time_limit=240))
    assert solution.status == "optimal"
    check_invariants(graph, solution)


# --------------------------------------------------------------------------------------------
# Published districting instances (../shared)
# --------------------------------------------------------------------------------------------


def county_graph(path: Path, k: int) -> tuple[PlaceGraph, SolveOptions]:
    data = json.loads(path.read_text())
    g = nx.readwrite.json_graph.adjacency_graph(data)
    nodes = sorted(g.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    pop = [float(g.nodes[v]["TOTPOP"]) for v in nodes]
    total = sum(pop)
    lo, hi = math.ceil(0.995 * total / k), math.floor(1.005 * total / k)
    edges = tuple(
        sorted(
            (min(index[a], index[b]), max(index[a], index[b]), 1.0) for a, b in g.edges if a != b
        )
    )
    graph = PlaceGraph(
        place_id=path.stem,
        codes=tuple(f"{i:04d}" for i in range(len(nodes))),
        population=tuple(pop),
        x=tuple(0.0 for _ in nodes),
        y=tuple(0.0 for _ in nodes),
        edges=edges,
    )
    return graph, SolveOptions(min_size=lo, max_size=hi, objective="boundary", n_pcns=k)


def test_new_hampshire_has_no_contiguous_plan(shared_dir: Path) -> None:
    graph, options = county_graph(shared_dir / "benchmarks/districting/county/county33.json", 2)
    solution = solve_place(graph, options=options)
    assert solution.status == "infeasible"


def test_maine_matches_published_optimum(shared_dir: Path) -> None:
    folder = shared_dir / "benchmarks/districting"
    graph, options = county_graph(folder / "county/county23.json", 2)
    rows = (folder / "optima_min_cut_edges_county.csv").read_text().splitlines()[1:]
    published = {row.split(",")[0]: float(row.split(",")[8]) for row in rows}
    solution = solve_place(graph, options=options)
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(published["ME"])


def test_numpy_not_needed_in_results() -> None:
    """Results hold plain Python numbers (they are written to CSV/JSON by other stages)."""
    graph = grid()
    solution = solve_place(graph, options=OPTS)
    assert all(type(v) is int for v in solution.labels)
    assert solution.objective is not None and not isinstance(solution.objective, np.floating)


# --------------------------------------------------------------------------------------------
# Mending a plan into the band, and the time limit on large places
# --------------------------------------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(24, 40), seed=st.integers(0, 10_000), merges=st.integers(1, 2))
def test_a_plan_with_networks_outside_the_band_is_mended(n: int, seed: int, merges: int) -> None:
    from pcnopt.model.neighbourhood import repair_by_subproblems
    from pcnopt.model.place import Place

    graph = random_place(n, seed=seed)
    options = SolveOptions(time_limit=30)
    solution = solve_place(graph, options=options)
    plan = parts_of(solution)
    assume = solution.status in {"optimal", "feasible"} and len(plan) > merges
    if not assume:
        return
    # merge neighbouring networks: each merged one is contiguous and above the band
    g = nx_graph(graph)
    for _ in range(merges):
        a = plan[0]
        b = next(p for p in plan[1:] if any(g.has_edge(u, v) for u in a for v in p))
        plan = [a + b] + [p for p in plan[1:] if p is not b]
    assert any(sum(graph.population[v] for v in p) > U for p in plan)
    mended = repair_by_subproblems(Place(graph, options), plan, [], [], None)
    assert mended is not None
    assert sorted(v for p in mended for v in p) == list(range(n))
    for part in mended:
        assert nx.is_connected(g.subgraph(part))
        assert L <= sum(graph.population[v] for v in part) <= U


def test_a_large_place_out_of_time_keeps_the_heuristic_plan() -> None:
    from pcnopt.model import HEURISTIC

    graph = random_place(130, seed=3)  # on the Hess model (too many candidates to list)
    solution = solve_place(graph, options=SolveOptions(time_limit=0.01, partition_candidates=0))
    assert solution.method == HEURISTIC and solution.status == "feasible"
    assert solution.gap is None and "Time limit" in solution.message
    check_invariants(graph, solution)
    assert all(L <= sum(graph.population[v] for v in p) <= U for p in parts_of(solution))


def test_a_claim_of_infeasibility_with_a_plan_in_hand_keeps_the_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A solver stopped at its limit that says "infeasible" while the heuristic holds a plan
    in band (seen once on England's largest place, loaded) must not sink that plan."""
    from pcnopt.model import driver
    from pcnopt.model.solvers import Status

    graph = random_place(30, seed=0)
    options = SolveOptions(partition_candidates=0)  # the Hess model
    monkeypatch.setattr(driver, "solve_rounds", lambda *a, **k: (Status.INFEASIBLE, None, None, 1))
    solution = solve_place(graph, options=options)
    assert solution.status == "feasible" and solution.gap is None
    check_invariants(graph, solution)
    assert all(L <= sum(graph.population[v] for v in p) <= U for p in parts_of(solution))


@pytest.mark.parametrize("broken", [False, True], ids=["in band", "merged out of band"])
def test_a_block_left_without_a_plan_at_the_deadline_gets_one_in_band(
    monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    """The set partitioning of a block ends with no plan by its deadline (seen on 7 sub-ICB
    places refreshed against October 2024): the heuristic's plan, mended into the band if it
    is not, is the answer, not the least-violation fallback."""
    from pcnopt.model import HEURISTIC, driver
    from pcnopt.model.fallback import fallback
    from pcnopt.model.heuristic import HeuristicResult

    graph = random_place(30, seed=0)
    good = parts_of(solve_place(graph, options=SolveOptions(time_limit=30)))
    if broken:  # two neighbouring networks merged: above the band
        g = nx_graph(graph)
        a, b = next(
            (a, b)
            for a, b in itertools.combinations(range(len(good)), 2)
            if any(g.has_edge(u, v) for u in good[a] for v in good[b])
        )
        good = [p for r, p in enumerate(good) if r not in (a, b)] + [good[a] + good[b]]
    found = HeuristicResult(
        parts=tuple(tuple(p) for p in good), violation=1.0 if broken else 0.0, cost=0.0
    )
    monkeypatch.setattr(driver, "block_heuristic", lambda *a, **k: found)

    def no_plan(place, nodes, *, together, apart, deadline, **_):  # type: ignore[no-untyped-def]
        return fallback(
            place, nodes, together, apart, deadline, reason="", proved=False, found=found
        )

    monkeypatch.setattr(driver, "partition_block", no_plan)
    solution = solve_place(graph, options=SolveOptions(time_limit=30))
    assert solution.status == "feasible" and solution.method == HEURISTIC
    check_invariants(graph, solution)
    assert all(L <= sum(graph.population[v] for v in p) <= U for p in parts_of(solution))
