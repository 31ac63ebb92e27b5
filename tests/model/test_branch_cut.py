"""The SCIP branch-and-cut (:mod:`pcnopt.model.branch_cut`) against brute force over every plan.

Hand-drawn places (weights 1 per edge, so the objective counts cut edges)::

    pocket: two pendant pairs hanging off a 4-clique, every node 3, k = 2, band [12, 18]

        a2 - a1 - K1 = K2 - b1 - b2         (K1..K4 all joined)

    Both parts have 12. Without contiguity the optimum is {a1, a2, b1, b2} against the
    clique: 2 cut edges, a disconnected part in which every node has a neighbour (so only
    a separator larger than a neighbourhood cuts it off). Every connected plan splits the
    clique two and two: 4 cut edges.

    star: a centre of 2 with leaves of 4, 4 and 6, k = 2, band [8, 8]

        a - c - b
            |
            d

    {a, b} | {c, d} meets the band but {a, b} is not connected: no contiguous plan.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pcnopt.errors import SolverError
from pcnopt.model import PlaceGraph
from pcnopt.model.branch_cut import minimal_separator, solve_branch_cut
from pcnopt.model.solvers import Status
from tests.model.brute import plans
from tests.model.instances import random_place
from tests.model.test_driver import county_graph

pytest.importorskip("pyscipopt")


def _place(population: list[float], edges: list[tuple[int, int]]) -> PlaceGraph:
    n = len(population)
    return PlaceGraph(
        place_id="hand",
        codes=tuple(f"N{i:02d}" for i in range(n)),
        population=tuple(population),
        x=(0.0,) * n,
        y=(0.0,) * n,
        edges=tuple(sorted((min(a, b), max(a, b), 1.0) for a, b in edges)),
    )


def _pocket() -> PlaceGraph:
    # a1, a2, b1, b2 = 0, 1, 2, 3 and K1..K4 = 4..7: a1 comes first, so the part
    # {a1, a2, b1, b2} has a1 as its centre and b2 within reach (15 <= 18)
    clique = [(a, b) for a in range(4, 8) for b in range(a + 1, 8)]
    return _place([3] * 8, [*clique, (0, 1), (0, 4), (2, 3), (2, 5)])


def _star() -> PlaceGraph:
    return _place([2, 4, 4, 6], [(0, 1), (0, 2), (0, 3)])


def _cut_edges(graph: PlaceGraph, labels: tuple[int, ...]) -> int:
    return sum(1 for a, b, _ in graph.edges if labels[a] != labels[b])


def _connected(graph: PlaceGraph, members: set[int]) -> bool:
    start = next(iter(members))
    seen = {start}
    stack = [start]
    while stack:
        v = stack.pop()
        for a, b, _ in graph.edges:
            for u, w in ((a, b), (b, a)):
                if u == v and w in members and w not in seen:
                    seen.add(w)
                    stack.append(w)
    return seen == members


def _brute_min(graph: PlaceGraph, k: int, lo: float, hi: float) -> int | None:
    best = None
    for plan in plans(graph, lo, hi):
        if len(plan) != k:
            continue
        cut = sum(1 for a, b, _ in graph.edges if not any(a in p and b in p for p in plan))
        best = cut if best is None else min(best, cut)
    return best


def _check_plan(graph: PlaceGraph, labels: tuple[int, ...], k: int, lo: float, hi: float) -> None:
    assert sorted(set(labels)) == list(range(k))
    for t in range(k):
        members = {i for i, lab in enumerate(labels) if lab == t}
        size = sum(graph.population[i] for i in members)
        assert lo <= size <= hi
        assert _connected(graph, members)


def test_pocket_needs_the_cuts() -> None:
    """The model without separators returns the disconnected plan; with them, the optimum."""
    graph = _pocket()
    assert _brute_min(graph, 2, 12, 18) == 4
    relaxed = solve_branch_cut(graph, parts=2, min_size=12, max_size=18, separate=False)
    assert relaxed.status is Status.OPTIMAL
    assert relaxed.objective == pytest.approx(2)  # {a1, a2, b1, b2}: not connected
    exact = solve_branch_cut(graph, parts=2, min_size=12, max_size=18)
    assert exact.status is Status.OPTIMAL
    assert exact.objective == pytest.approx(4)
    assert exact.bound == pytest.approx(4)
    assert exact.cuts > 0
    _check_plan(graph, exact.labels, 2, 12, 18)
    assert _cut_edges(graph, exact.labels) == 4


def test_star_is_infeasible() -> None:
    """Population-feasible, contiguity-infeasible: proved infeasible, no plan."""
    graph = _star()
    assert _brute_min(graph, 2, 8, 8) is None
    result = solve_branch_cut(graph, parts=2, min_size=8, max_size=8)
    assert result.status is Status.INFEASIBLE
    assert result.labels == ()


# (seed, band half-width): random places of 9-11 nodes, k = 2-4. The first seven were found
# by search as places where the model without the separator cuts (``separate=False``) is
# wrong: it returns a disconnected plan better than every connected one, or a plan where
# there is no connected plan. The others are ordinary places.
NEEDS_CUTS = [(10, 0.05), (10, 0.12), (11, 0.05), (13, 0.05), (15, 0.05), (22, 0.05), (22, 0.12)]
ORDINARY = [(100 + s, 0.3 if s % 2 else 0.12) for s in range(8)]


def _random(seed: int, width: float) -> tuple[PlaceGraph, int, float, float]:
    n, k = 9 + seed % 3, 2 + seed % 3
    graph = random_place(n, seed=seed)
    graph = replace(graph, edges=tuple((a, b, 1.0) for a, b, _ in graph.edges))
    total = sum(graph.population)
    return graph, k, (1 - width) * total / k, (1 + width) * total / k


@pytest.mark.parametrize(("seed", "width"), NEEDS_CUTS + ORDINARY)
def test_random_places_match_brute_force(seed: int, width: float) -> None:
    """Proven optimum = brute-force minimum over every plan; infeasible exactly when none."""
    graph, k, lo, hi = _random(seed, width)
    expected = _brute_min(graph, k, lo, hi)
    result = solve_branch_cut(graph, parts=k, min_size=lo, max_size=hi)
    if expected is None:
        assert result.status is Status.INFEASIBLE
        return
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected)
    assert result.bound == pytest.approx(expected)
    _check_plan(graph, result.labels, k, lo, hi)
    assert _cut_edges(graph, result.labels) == expected


@pytest.mark.parametrize(("seed", "width"), NEEDS_CUTS)
def test_random_places_need_the_cuts(seed: int, width: float) -> None:
    """Without the separator cuts these places get a wrong answer (so the cuts are tested)."""
    graph, k, lo, hi = _random(seed, width)
    expected = _brute_min(graph, k, lo, hi)
    relaxed = solve_branch_cut(graph, parts=k, min_size=lo, max_size=hi, separate=False)
    assert relaxed.objective is not None
    assert expected is None or relaxed.objective < expected - 1e-6


def test_random_places_include_both_outcomes() -> None:
    """The places above are worth running: some have plans, some have none."""
    outcomes = {_brute_min(*_random(seed, width)) is None for seed, width in NEEDS_CUTS + ORDINARY}
    assert outcomes == {True, False}


def test_minimal_separator() -> None:
    """Each separator node touches the piece and the centre's side: removing any reconnects."""
    # a 3x3 grid, piece {8} (corner), centre 0 (opposite corner)
    adj: list[list[int]] = [[] for _ in range(9)]
    for r in range(3):
        for c in range(3):
            v = 3 * r + c
            if c < 2:
                adj[v].append(v + 1)
                adj[v + 1].append(v)
            if r < 2:
                adj[v].append(v + 3)
                adj[v + 3].append(v)
    assert minimal_separator({8}, 0, allowed=set(range(9)), adj=adj) == {5, 7}
    # without node 7, node 5 alone separates
    assert minimal_separator({8}, 0, allowed=set(range(9)) - {7}, adj=adj) == {5}


def test_missing_pyscipopt_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without PySCIPOpt the method says what to install."""
    monkeypatch.setitem(sys.modules, "pyscipopt", None)
    with pytest.raises(SolverError, match="pip install"):
        solve_branch_cut(_star(), parts=2, min_size=8, max_size=8)


def test_product_does_not_import_pyscipopt() -> None:
    """pcnopt's model, its runner and this module import without PySCIPOpt (blocked).

    (PuLP itself tries PySCIPOpt at import and carries on without it.)
    """
    code = (
        "import sys; sys.modules['pyscipopt'] = None; "
        "import pcnopt.model, pcnopt.model.branch_cut, pcnopt.run; "
        "from pcnopt.model.branch_cut import scip_available; assert not scip_available()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.shared
@pytest.mark.parametrize(("state", "k", "expected"), [("NM", 3, 17.0), ("ID", 2, 10.0)])
def test_published_optima(shared_dir: Path, state: str, k: int, expected: float) -> None:
    """Two county instances of Validi and Buchanan reach their published optimum."""
    fips = {"NM": 35, "ID": 16}[state]
    graph, options = county_graph(
        shared_dir / f"benchmarks/districting/county/county{fips}.json", k
    )
    result = solve_branch_cut(
        graph, parts=k, min_size=options.min_size, max_size=options.max_size, time_limit=120
    )
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected)


@pytest.mark.shared
@pytest.mark.parametrize(("fips", "k"), [(8, 7), (33, 2), (41, 5)])
def test_published_infeasible(shared_dir: Path, fips: int, k: int) -> None:
    """Colorado, New Hampshire and Oregon have no contiguous plan: proved."""
    graph, options = county_graph(
        shared_dir / f"benchmarks/districting/county/county{fips:02d}.json", k
    )
    result = solve_branch_cut(
        graph, parts=k, min_size=options.min_size, max_size=options.max_size, time_limit=60
    )
    assert result.status is Status.INFEASIBLE
