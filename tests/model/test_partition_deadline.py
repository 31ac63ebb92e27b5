"""The enumeration of candidate networks ends at its deadline, :mod:`pcnopt.model.partition`.

A pricing round at neighbourhood scale (70 practices, networks of 10-15 practices) meets
millions of partial sets whose bound does not prune them; without a clock inside the compiled
search one round ran for more than ten minutes past a 10 s limit on England.
"""

from __future__ import annotations

import math
import time

import numpy as np

from pcnopt.model import SolveOptions, solve_place
from pcnopt.model.partition import colgen
from pcnopt.model.partition.enumeration import CLOCK_STEPS, csr, enumerate_sets, no_cuts, no_rules
from tests.model.instances import random_place


def grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``side`` x ``side`` grid of nodes, as compressed adjacency."""
    adj: list[set[int]] = [set() for _ in range(side * side)]
    for r in range(side):
        for c in range(side):
            v = r * side + c
            if c + 1 < side:
                adj[v].add(v + 1)
                adj[v + 1].add(v)
            if r + 1 < side:
                adj[v].add(v + side)
                adj[v + side].add(v)
    ptr, idx, _ = csr(adj, {})
    return ptr, idx


def enumerate_grid(side: int, size: int, deadline: float) -> tuple[int, bool]:
    """Walk every connected set of up to ``size`` nodes of a grid, keeping none of them."""
    ptr, idx = grid(side)
    n = side * side
    _, set_ptr, _, stopped = enumerate_sets(
        ptr,
        idx,
        np.ones(n),
        np.ones(n, np.bool_),
        float(size + 1),  # lo above hi: no set is kept, every set up to hi is visited
        float(size),
        1_000,
        False,
        np.zeros((0, 0)),
        np.zeros(0),
        0.0,
        np.inf,
        deadline,
        False,
        *no_cuts(n),
        *no_rules(n),
    )
    return set_ptr.shape[0] - 1, stopped


def test_a_search_that_keeps_nothing_still_stops_at_its_deadline() -> None:
    # More than CLOCK_STEPS steps: every connected set of up to 8 nodes of a 10 x 10 grid.
    kept, stopped = enumerate_grid(10, 8, math.inf)
    assert (kept, stopped) == (0, False)
    # The same search with a deadline already passed stops at its first reading of the clock.
    kept, stopped = enumerate_grid(10, 8, time.perf_counter() - 1.0)
    assert (kept, stopped) == (0, True)
    # A deadline it meets before the end changes nothing.
    assert enumerate_grid(10, 8, time.perf_counter() + 3600.0) == (0, False)
    assert CLOCK_STEPS <= 1 << 20


def test_a_pricing_round_at_neighbourhood_scale_returns_by_its_deadline(monkeypatch) -> None:
    """Every call of the priced enumeration returns within a second of the place's deadline."""
    late: list[float] = []
    real = colgen.enumerate_sets

    def timed(*args):  # type: ignore[no-untyped-def]
        out = real(*args)
        late.append(time.perf_counter())
        return out

    monkeypatch.setattr(colgen, "enumerate_sets", timed)
    graph = random_place(70, seed=1)
    limit = 6.0
    start = time.perf_counter()
    result = solve_place(
        graph,
        options=SolveOptions(
            threads=1,
            time_limit=limit,
            partition_candidates=1_000,  # too many to list: priced
            min_size=80_000,
            max_size=120_000,
        ),
    )
    assert late, "the priced enumeration was not used"
    assert result.status in ("feasible", "optimal")
    overrun = max(late) - (start + limit)
    assert overrun < 1.0, f"a pricing round returned {overrun:.1f} s after the deadline"
