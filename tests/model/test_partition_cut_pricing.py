"""Pricing that sees the subset-row cuts, :mod:`pcnopt.model.partition.enumeration`.

A network holding two or more practices of a cut's triple pays minus the cut's dual in its
reduced cost. The compiled searches used to price without the cuts and have their networks
filtered afterwards: at a search's cap every network it kept could be one the cuts price out
while others, never listed, were negative, and the disruption search was left without the
cuts (benchmarks/exact_results.md, 11c). Both searches now carry the penalty in their pruning;
checked here against every connected network of small places, priced from the definitions.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from pcnopt.model import PARTITION, SolveOptions, solve_place
from pcnopt.model.partition import colgen
from pcnopt.model.partition.enumeration import (
    csr,
    cut_lists,
    enumerate_continuing,
    enumerate_sets,
    no_cuts,
    no_rules,
)
from tests.model.test_partition_disruption_priced import CAP, _least_disruption, _place
from tests.model.test_partition_disruption_priced import L as D_LO
from tests.model.test_partition_disruption_priced import U as D_HI
from tests.model.test_partition_pricing import HI, LO, priced_place, true_rc


def random_cuts(n: int, count: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` distinct triples of ``n`` practices and their penalties (some zero)."""
    rng = np.random.default_rng(seed)
    every = list(itertools.combinations(range(n), 3))
    picked = rng.choice(len(every), size=count, replace=False)
    triples = np.asarray([every[i] for i in picked], np.int64)
    pen = rng.uniform(0, scale, count) * (rng.random(count) < 0.8)
    return triples, pen


def between(values: list[float], q: float) -> float:
    """A threshold halfway between the value at quantile ``q`` and the next (no float ties)."""
    v = sorted(values)
    k = int(q * (len(v) - 1))
    return (v[k] + v[k + 1]) / 2 if k + 1 < len(v) else v[k] + 1.0


def penalty(part: frozenset, triples: np.ndarray, pen: np.ndarray) -> float:
    """The cuts' penalty of a network from the definition: the cuts it holds two of."""
    return float(sum(p for t, p in zip(triples, pen, strict=True) if len(part & set(t)) >= 2))


def sets_search(prices: tuple, pop: np.ndarray, adj: tuple, cuts: tuple, **kw: object) -> dict:
    cost, pi, mu = prices
    ptr, idx = adj
    n = pop.shape[0]
    members, set_ptr, rcs, flag = enumerate_sets(
        ptr, idx, pop, np.ones(n, np.bool_), LO, HI, kw.get("cap", 10**7), True, cost, pi, mu,
        kw.get("thresh", np.inf), np.inf, kw.get("least", False), *cuts, *no_rules(n),
    )  # fmt: skip
    assert kw.get("cap") or not flag
    out = {
        frozenset(members[set_ptr[s] : set_ptr[s + 1]].tolist()): float(rcs[s])
        for s in range(rcs.size)
    }
    assert len(out) == rcs.size  # each network once
    return out


@pytest.mark.parametrize("seed", range(6))
def test_the_compact_search_prices_the_cuts_and_prunes_no_network_it_should_keep(
    seed: int,
) -> None:
    _, ptr, idx, pop, cost, pi, mu = priced_place(seed)
    n = pop.shape[0]
    # oracle: every connected network in band (the search without cuts at no threshold lists
    # them all), priced from the definition with the cuts
    every = sets_search((cost, pi, mu), pop, (ptr, idx), no_cuts(n))
    scale = float(np.median(np.abs(list(every.values()))))
    triples, pen = random_cuts(n, 25, scale, seed)
    truth = {s: true_rc(s, cost, pi, mu) + penalty(s, triples, pen) for s in every}
    assert sum(penalty(s, triples, pen) > 0 for s in every) > len(every) // 4
    cuts = cut_lists(triples, pen, n)
    got = sets_search((cost, pi, mu), pop, (ptr, idx), cuts)
    assert got.keys() == truth.keys()
    assert all(got[s] == pytest.approx(truth[s]) for s in got)
    # at a threshold: exactly the networks at or below it (the pruning counts the cuts)
    for q in (0.1, 0.3, 0.6):
        thresh = between(list(truth.values()), q)
        below = sets_search((cost, pi, mu), pop, (ptr, idx), cuts, thresh=thresh)
        assert below.keys() == {s for s, rc in truth.items() if rc <= thresh}
    # over its cap: the networks of least reduced cost with the cuts
    kept = sets_search((cost, pi, mu), pop, (ptr, idx), cuts, cap=20, least=True)
    assert np.allclose(sorted(kept.values()), sorted(truth.values())[: len(kept)])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_disruption_search_prices_the_cuts_and_prunes_no_column_it_should_keep(
    seed: int,
) -> None:
    graph = _place(11, seed)
    n = len(graph.codes)
    rng = np.random.default_rng(seed)
    names = sorted({c for c in graph.current if c is not None})
    current = np.asarray([-1 if c is None else names.index(c) for c in graph.current], np.int64)
    pop = np.asarray(graph.population, float)
    pi = rng.uniform(0, 12_000, n)
    const = np.append(rng.uniform(-20_000, 0, len(names)), 0.0) + rng.uniform(-5_000, 5_000)
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j, _ in graph.edges:
        adj[i].add(j)
        adj[j].add(i)
    adj_ptr, adj_idx, _ = csr(adj, {})
    triples, pen = random_cuts(n, 20, 8_000.0, seed)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for i, j, _ in graph.edges)
    # oracle: every connected set in band with every network among its members and none
    truth = {}
    for size in range(1, n + 1):
        for subset in itertools.combinations(range(n), size):
            if not D_LO <= pop[list(subset)].sum() <= D_HI or not nx.is_connected(
                g.subgraph(subset)
            ):
                continue
            part = frozenset(subset)
            base = sum(pop[i] for i in subset if current[i] >= 0) - sum(pi[i] for i in subset)
            base += penalty(part, triples, pen)
            for c in {-1, *(int(current[i]) for i in subset)}:
                moved = 0.0 if c == -1 else sum(pop[i] for i in subset if current[i] == c)
                truth[(part, c)] = base - moved - const[c]
    assert truth
    for q in (0.2, 0.5, 1.0):
        thresh = between(list(truth.values()), q)
        members, ptr, rcs, grp, truncated = enumerate_continuing(
            adj_ptr, adj_idx, pop, np.ones(n, np.bool_), D_LO, D_HI, 10**6, 10**6, current,
            len(names), pi, const, thresh, math.inf, False, *cut_lists(triples, pen, n),
        )  # fmt: skip
        assert not truncated
        got = {
            (frozenset(int(v) for v in members[ptr[s] : ptr[s + 1]]), int(grp[s])): float(rcs[s])
            for s in range(rcs.size)
        }
        assert got.keys() == {k for k, rc in truth.items() if rc <= thresh}
        assert all(got[k] == pytest.approx(truth[k]) for k in got)
    # a root stopped at its share leaves every count of cuts held at zero for the next root:
    # the columns of a search with a small share are columns of the full one, priced alike
    members, ptr, rcs, grp, truncated = enumerate_continuing(
        adj_ptr, adj_idx, pop, np.ones(n, np.bool_), D_LO, D_HI, 10**6, 3, current,
        len(names), pi, const, math.inf, math.inf, False, *cut_lists(triples, pen, n),
    )  # fmt: skip
    for s in range(rcs.size):
        key = (frozenset(int(v) for v in members[ptr[s] : ptr[s + 1]]), int(grp[s]))
        assert rcs[s] == pytest.approx(truth[key])


def test_the_priced_disruption_search_adds_cuts_and_still_proves_the_brute_force_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    added: list[int] = []
    real = colgen._Master.separate

    def counted(self: colgen._Master) -> bool:
        before = self.triples.shape[0]
        out = real(self)
        added.append(self.triples.shape[0] - before)
        return out

    monkeypatch.setattr(colgen._Master, "separate", counted)
    cut_places = 0
    for n, seed in [(n, s) for n in (11, 12) for s in range(6)]:
        graph = _place(n, seed)
        expected = _least_disruption(graph)
        if math.isinf(expected):
            continue
        added.clear()
        priced = solve_place(
            graph, options=SolveOptions(objective="disruption", partition_candidates=CAP)
        )
        assert priced.method == PARTITION and priced.status == "optimal"
        assert priced.objective == pytest.approx(expected)
        cut_places += sum(added) > 0
    assert cut_places >= 1  # the LP was strengthened somewhere, and every optimum still holds
