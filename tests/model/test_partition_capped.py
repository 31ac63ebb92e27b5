"""Closing programs over capped lists: the least columns, and the reach they are complete to.

Where more columns are cheap enough than a closing program may hold
(:data:`~pcnopt.model.partition.closing.MAX_IP_COLUMNS`), the program holds the least of
them, and every plan then costs at least its optimum or the LP bound plus the reach: the
reduced cost below which every column is listed. Checked against every column listed: the
listed search's least columns and their reach; the priced searches' reach
(:func:`~pcnopt.model.partition.enumeration.listed_reach`) over the compact and the
disruption kernels' least columns; and that the disruption kernel lists the least, where it
listed the first met (all from the lowest practices).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from pcnopt.model.partition import colgen
from pcnopt.model.partition.enumeration import (
    csr,
    enumerate_continuing,
    enumerate_sets,
    listed_reach,
    no_cuts,
    no_rules,
)
from tests.model.instances import place_arrays
from tests.model.test_partition_disruption_priced import L, U, _place

SEEDS = range(6)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_least_disruption_columns_are_the_cap_least_over_the_block(seed: int) -> None:
    graph = _place(12, seed)
    n = len(graph.codes)
    names = sorted({c for c in graph.current if c is not None})
    current = np.asarray([-1 if c is None else names.index(c) for c in graph.current])
    rng = np.random.default_rng(seed)
    pi = rng.uniform(0, 12_000, n)
    const = np.append(rng.uniform(-20_000, 0, len(names)), 0.0)
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j, _ in graph.edges:
        adj[i].add(j)
        adj[j].add(i)
    adj_ptr, adj_idx, _ = csr(adj, {})
    pop = np.asarray(graph.population, float)

    def search(cap: int, least: bool) -> tuple[dict, bool]:
        members, ptr, rcs, grp, truncated = enumerate_continuing(
            adj_ptr, adj_idx, pop, np.ones(n, np.bool_), L, U, cap, cap, current, len(names),
            pi, const, math.inf, math.inf, least, *no_cuts(n),
        )  # fmt: skip
        cols = {
            (frozenset(int(v) for v in members[ptr[s] : ptr[s + 1]]), int(grp[s])): float(rcs[s])
            for s in range(rcs.size)
        }
        return cols, truncated

    every, truncated = search(10**6, False)
    assert not truncated and len(every) > 40
    cap = len(every) // 4
    least, truncated = search(cap, True)
    assert truncated and 0 < len(least) <= cap
    assert least.items() <= every.items()
    reach = listed_reach(
        np.asarray(list(least.values())), thresh=math.inf, stopped=True, deadline=math.inf
    )
    assert {k for k, rc in every.items() if rc < reach} <= least.keys()
    assert sorted(least.values()) == pytest.approx(sorted(every.values())[: len(least)])
    # the first met (without least) are not: they start from the lowest practices
    first, _ = search(cap, False)
    assert sorted(first.values()) != pytest.approx(sorted(every.values())[: len(first)])


@pytest.mark.parametrize("seed", SEEDS)
def test_the_least_compact_sets_are_complete_below_their_reach(seed: int) -> None:
    graph = _place(12, seed)
    n = len(graph.codes)
    adj, length, pop, cost = place_arrays(graph)
    adj_ptr, adj_idx, _ = csr(adj, length)
    rng = np.random.default_rng(seed)
    pi = rng.uniform(0, 2.0 * float(np.max(cost)), n)

    def search(cap: int) -> tuple[dict, np.ndarray, bool]:
        """The sets up to ``cap`` (the least), with their reduced costs, and the flag."""
        members, ptr, rcs, truncated = enumerate_sets(
            adj_ptr, adj_idx, np.asarray(pop, float), np.ones(n, np.bool_), L, U, cap, True,
            np.asarray(cost, float), pi, 0.0, math.inf, math.inf, True, *no_cuts(n), *no_rules(n),
        )  # fmt: skip
        sets = {
            frozenset(int(v) for v in members[ptr[s] : ptr[s + 1]]): float(rcs[s])
            for s in range(rcs.size)
        }
        return sets, rcs, truncated

    every, _, _ = search(10**6)
    cap = max(2, len(every) // 4)
    least, rcs, truncated = search(cap)
    assert truncated and 0 < len(least) <= cap
    reach = listed_reach(rcs, thresh=math.inf, stopped=truncated, deadline=math.inf)
    assert math.isfinite(reach)
    assert {s for s, rc in every.items() if rc < reach} <= least.keys()


def test_the_reach_of_a_search_the_deadline_may_have_cut_is_unknown() -> None:
    rcs = np.asarray([1.0, 3.0, 2.0])
    assert listed_reach(rcs, thresh=10.0, stopped=False, deadline=0.0) == 10.0
    assert listed_reach(rcs, thresh=10.0, stopped=True, deadline=math.inf) == 3.0
    passed = time.perf_counter()
    assert listed_reach(rcs, thresh=10.0, stopped=True, deadline=passed) == -math.inf
    assert listed_reach(rcs[:0], thresh=10.0, stopped=True, deadline=math.inf) == -math.inf


@pytest.mark.parametrize("seed", SEEDS)
def test_the_listed_columns_below_a_cap_are_the_least_and_complete_below_the_reach(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    rc = np.round(rng.uniform(-1.0, 5.0, 200), 1)  # ties included
    relaxation = colgen._Relaxation(None, 0.0, 0.0, True, rc, np.arange(3), None)
    scale = 10.0
    below = colgen._below(relaxation, None, np.zeros(rc.size), scale)  # type: ignore[arg-type]
    t = 30.0
    chosen, reach, _, _ = below(t, 1_000)
    assert reach == t and set(chosen.tolist()) == set(np.flatnonzero(rc * scale <= t).tolist())
    chosen, reach, _, _ = below(t, 40)
    assert chosen.size == 40 and reach < t
    assert set(np.flatnonzero(rc * scale < reach).tolist()) <= set(chosen.tolist())
    assert np.all(rc[chosen] * scale <= reach)
