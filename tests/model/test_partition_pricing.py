"""Pricing of candidate networks on demand, :mod:`pcnopt.model.partition.enumeration`.

Two parts of a pricing round are checked against the full listing of a place's networks:
the exact search keeping the networks of least reduced cost when they are more than its cap
(``best``), and the greedy sets grown around each hub that are tried first (``grow_sets``).
On large places (186 practices, more than 30 million networks) the first pricing rounds met
hundreds of thousands of networks of negative reduced cost, and the search returned the first
200,000 it met: all rooted at the first practices of the place, so the master LP did not move
in a minute; with both parts the same place is proven optimal in 12 s.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from pcnopt.model import SolveOptions, solve_place
from pcnopt.model.partition.enumeration import csr, enumerate_sets, grow_sets, no_cuts, no_rules
from tests.model.instances import place_arrays, random_place

LO, HI = 20_000.0, 40_000.0


def priced_place(seed: int, n: int = 16) -> tuple:
    """A random place, its compressed adjacency, populations, costs and random duals."""
    graph = random_place(n, seed=seed)
    adj, length, pop, cost = place_arrays(graph)
    ptr, idx, _ = csr(adj, length)
    rng = np.random.default_rng(seed)
    # duals of the size of a network's cost, spread so that some networks price out
    scale = float(np.median(cost[cost > 0])) * 3
    pi = rng.uniform(0, scale, n)
    return adj, ptr, idx, np.asarray(pop, float), cost, pi, float(rng.uniform(0, scale))


def listing(
    ptr: np.ndarray,
    idx: np.ndarray,
    pop: np.ndarray,
    prices: tuple[np.ndarray, np.ndarray, float],
    *,
    cap: int,
    least: bool,
) -> tuple[list[frozenset], np.ndarray, bool]:
    """The priced search's sets (at every reduced cost), their reduced costs and its flag."""
    cost, pi, mu = prices
    n = pop.shape[0]
    members, set_ptr, rcs, flag = enumerate_sets(
        ptr,
        idx,
        pop,
        np.ones(n, np.bool_),
        LO,
        HI,
        cap,
        True,
        cost,
        pi,
        mu,
        np.inf,
        np.inf,
        least,
        *no_cuts(n),
        *no_rules(n),
    )
    sets = [frozenset(members[set_ptr[s] : set_ptr[s + 1]].tolist()) for s in range(rcs.size)]
    return sets, rcs, flag


def true_rc(part: frozenset, cost: np.ndarray, pi: np.ndarray, mu: float) -> float:
    """The compact reduced cost: the cheapest hub in the network, less the duals."""
    members = sorted(part)
    return min(float(cost[members, h].sum()) for h in members) - float(pi[members].sum()) - mu


@pytest.mark.parametrize("seed", range(6))
def test_over_its_cap_the_search_keeps_the_networks_of_least_reduced_cost(seed: int) -> None:
    _, ptr, idx, pop, cost, pi, mu = priced_place(seed)
    every, every_rc, flag = listing(ptr, idx, pop, (cost, pi, mu), cap=10**7, least=False)
    assert not flag and len(every) > 40
    for cap in (7, 20, len(every) // 2):
        sets, rcs, dropped = listing(ptr, idx, pop, (cost, pi, mu), cap=cap, least=True)
        assert dropped
        assert cap // 2 <= len(sets) <= cap
        # exactly the networks of least reduced cost over the whole place, each once
        assert len(set(sets)) == len(sets)
        smallest = np.sort(every_rc)[: len(sets)]
        assert np.allclose(np.sort(rcs), smallest)
        by_set = dict(zip(every, every_rc, strict=True))
        assert all(by_set[s] == pytest.approx(r) for s, r in zip(sets, rcs, strict=True))
        # the first networks met are not those: the search did not stop at its cap
        first, _, stopped = listing(ptr, idx, pop, (cost, pi, mu), cap=cap, least=False)
        assert stopped and len(first) == cap
    # under its cap nothing is left out, in either mode
    sets, rcs, dropped = listing(ptr, idx, pop, (cost, pi, mu), cap=len(every), least=True)
    assert not dropped and sorted(map(sorted, sets)) == sorted(map(sorted, every))


@pytest.mark.parametrize("seed", range(8))
def test_the_grown_networks_are_candidates_priced_no_lower_than_they_are(seed: int) -> None:
    adj, ptr, idx, pop, cost, pi, mu = priced_place(seed, n=30)
    every, every_rc, _ = listing(ptr, idx, pop, (cost, pi, mu), cap=10**7, least=False)
    by_set = dict(zip(every, every_rc, strict=True))
    n = pop.shape[0]
    members, set_ptr, rcs = grow_sets(
        ptr, idx, pop, np.ones(n, np.bool_), LO, HI, cost, pi, mu, np.inf
    )
    assert rcs.size > 0
    graph = nx.Graph([(a, b) for a in range(n) for b in adj[a]])
    for s in range(rcs.size):
        part = frozenset(members[set_ptr[s] : set_ptr[s + 1]].tolist())
        assert LO <= pop[sorted(part)].sum() <= HI
        assert nx.is_connected(graph.subgraph(part))
        # the reduced cost reported is measured at the hub it grew from: never below the true
        assert by_set[part] == pytest.approx(true_rc(part, cost, pi, mu))
        assert rcs[s] >= by_set[part] - 1e-6 * max(1.0, abs(by_set[part]))
    # with a threshold, only the networks at or below it
    cut = float(np.median(rcs))
    _, _, below = grow_sets(ptr, idx, pop, np.ones(n, np.bool_), LO, HI, cost, pi, mu, cut)
    assert below.size and (below <= cut).all() and below.size == int((rcs <= cut).sum())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_priced_search_still_proves_the_listed_optimum(seed: int) -> None:
    graph = random_place(40, seed=seed)
    options = SolveOptions(threads=1, min_size=LO, max_size=HI)
    listed = solve_place(graph, options=options)
    priced = solve_place(
        graph, options=SolveOptions(threads=1, min_size=LO, max_size=HI, partition_candidates=10)
    )
    assert listed.status == priced.status == "optimal"
    assert priced.objective == pytest.approx(listed.objective)
    assert priced.bound == pytest.approx(listed.objective)
