r"""Every objective, defined once and used by every method.

A plan's objective is a weighted sum of *terms* (``SolveOptions.objective``), or the terms one
after another (``lexicographic``), optionally after the fewest networks (``n_pcns="fewest"``).

=============  =====================================================  ==========================
term           per network :math:`S`                                  plan value
=============  =====================================================  ==========================
``compact``    :math:`\min_{h \in S} \sum_{i \in S} p_i\, d_{ih}`     sum over networks
               (:math:`d^2` with ``squared``)
``boundary``   :math:`\tfrac12 \sum_{i \in S,\, k \notin S} \ell_{ik}`  border between networks
``disruption`` patients of :math:`S` outside its largest current      patients not kept under the
               network; as a set-partitioning column :math:`(S, c)`:   best one-to-one matching
               patients of :math:`S` outside the current network
               :math:`c` it continues (:func:`continuation_columns`)
``count``      1                                                      number of networks
=============  =====================================================  ==========================

The per-network costs serve the heuristic (:func:`network_cost`) and set partitioning
(:func:`candidate_costs`, compiled); the plan values are :func:`evaluate_partition`, which
every method's answer is reported with. The Hess model states the same terms as linear
expressions over its variables (:mod:`pcnopt.model.hess`). Disruption is not separable by
network (each current network is continued by at most one new one), so set partitioning
prices it per pair of a candidate and the current network it continues
(:func:`continuation_columns`), with one side row per current network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import numba
import numpy as np

from pcnopt._interrupts import holding_sigint
from pcnopt.model.types import PlaceGraph, SolveOptions


def distances(graph: PlaceGraph) -> np.ndarray:
    """Distance between every two practices: ``graph.distance``, or Euclidean from x, y."""
    if graph.distance is not None:
        return np.asarray(graph.distance, dtype=float)
    xs = np.asarray(graph.x, dtype=float)
    ys = np.asarray(graph.y, dtype=float)
    return np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])


def patient_cost(pop: np.ndarray, dist: np.ndarray, *, squared: bool) -> np.ndarray:
    """``cost[i, j]``: patients of practice ``i`` times its (squared) distance to hub ``j``."""
    power = dist**2 if squared else dist
    return pop[:, None] * power


# --------------------------------------------------------------------------------------------
# Per network
# --------------------------------------------------------------------------------------------


def compact(members: Sequence[int], cost: np.ndarray) -> float:
    """Patient-weighted distance of the network's members to its best hub."""
    idx = list(members)
    return float(cost[np.ix_(idx, idx)].sum(axis=0).min())


def boundary(
    members: Sequence[int], adj: Sequence[set[int]], length: Mapping[tuple[int, int], float]
) -> float:
    """Half the border the network shares with practices outside it (each side counts half)."""
    inside = set(members)
    return 0.5 * sum(
        length[(min(u, v), max(u, v))] for u in members for v in adj[u] if v not in inside
    )


def disruption(members: Sequence[int], pop: np.ndarray, current: Sequence[str | None]) -> float:
    """Patients of the network outside its largest current network."""
    counts: dict[str, float] = {}
    for i in members:
        c = current[i]
        if c is not None:
            counts[c] = counts.get(c, 0.0) + float(pop[i])
    return sum(counts.values()) - max(counts.values(), default=0.0)


def network_cost(
    name: str,
    members: Sequence[int],
    *,
    cost: np.ndarray,
    adj: Sequence[set[int]],
    length: Mapping[tuple[int, int], float],
    pop: np.ndarray,
    current: Sequence[str | None] | None,
) -> float:
    """Term ``name`` of one network (disruption is 0 without current networks)."""
    if name == "compact":
        return compact(members, cost)
    if name == "boundary":
        return boundary(list(members), adj, length)
    if name == "disruption" and current is not None:
        return disruption(members, pop, current)
    return 0.0


def objective_pairs(options: SolveOptions) -> list[tuple[str, float]]:
    """The options' objective as ``(name, weight)`` pairs, as :class:`SolveOptions` stores it."""
    objective = options.objective
    if isinstance(objective, str):  # pragma: no cover - SolveOptions normalises it
        return [(objective, 1.0)]
    return [(name, weight) for name, weight in objective]


def heuristic_weights(options: SolveOptions) -> dict[str, float]:
    """Weight of each term in the heuristic's single score.

    The options' weights; lexicographic: 1 for the first term and 1e-6 for the others.
    """
    terms = [name for name, _ in objective_pairs(options)]
    weights = dict(objective_pairs(options))
    if options.lexicographic:
        return {name: 1.0 if name == terms[0] else 1e-6 for name in terms}
    return {name: float(weights[name]) for name in terms}


@holding_sigint
@numba.njit(cache=True)
def compact_costs(members: np.ndarray, ptr: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per set: min over members j of sum over members i of cost[i, j]."""
    m = ptr.shape[0] - 1
    out = np.empty(m)
    for s in range(m):
        a, b = ptr[s], ptr[s + 1]
        best = np.inf
        for jj in range(a, b):
            j = members[jj]
            total = 0.0
            for ii in range(a, b):
                total += cost[members[ii], j]
            best = min(best, total)
        out[s] = best
    return out


@holding_sigint
@numba.njit(cache=True)
def boundary_costs(
    members: np.ndarray,
    ptr: np.ndarray,
    adj_ptr: np.ndarray,
    adj_idx: np.ndarray,
    adj_len: np.ndarray,
    n: int,
) -> np.ndarray:
    """Per set: half the border length between its members and practices outside it."""
    m = ptr.shape[0] - 1
    out = np.empty(m)
    inside = np.zeros(n, np.bool_)
    for s in range(m):
        a, b = ptr[s], ptr[s + 1]
        for q in range(a, b):
            inside[members[q]] = True
        total = 0.0
        for q in range(a, b):
            i = members[q]
            for t in range(adj_ptr[i], adj_ptr[i + 1]):
                if not inside[adj_idx[t]]:
                    total += adj_len[t]
        out[s] = 0.5 * total
        for q in range(a, b):
            inside[members[q]] = False
    return out


@holding_sigint
@numba.njit(cache=True)
def continuation_columns(
    members: np.ndarray, ptr: np.ndarray, pop: np.ndarray, current: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (candidate, current network it continues) pair, with its disruption.

    ``current[i]`` is the index of practice ``i``'s current network (-1: none). Candidate
    ``s`` gives one column continuing no network (disruption: all its patients with a current
    network) and one per current network ``c`` among its members (disruption: its patients
    with a current network other than ``c``). Returns per column the candidate, the network
    continued (-1 for none) and the disruption.
    """
    m = ptr.shape[0] - 1
    overlap = np.zeros(max(groups, 1))
    base = np.empty(2 * m, np.int64)
    group = np.empty(2 * m, np.int64)
    value = np.empty(2 * m)
    k = 0
    for s in range(m):
        with_current = 0.0
        for q in range(ptr[s], ptr[s + 1]):
            c = current[members[q]]
            if c >= 0:
                with_current += pop[members[q]]
                overlap[c] += pop[members[q]]
        # grow the outputs when needed
        need = k + 1 + (ptr[s + 1] - ptr[s])
        if need > base.shape[0]:
            size = max(need, 2 * base.shape[0])
            base = np.concatenate((base, np.empty(size - base.shape[0], np.int64)))
            group = np.concatenate((group, np.empty(size - group.shape[0], np.int64)))
            value = np.concatenate((value, np.empty(size - value.shape[0])))
        base[k] = s
        group[k] = -1
        value[k] = with_current
        k += 1
        for q in range(ptr[s], ptr[s + 1]):
            c = current[members[q]]
            if c >= 0 and overlap[c] > 0:
                base[k] = s
                group[k] = c
                value[k] = with_current - overlap[c]
                k += 1
                overlap[c] = 0.0  # each network once per candidate
    return base[:k], group[:k], value[:k]


def candidate_costs(
    members: np.ndarray,
    ptr: np.ndarray,
    *,
    terms: Sequence[str],
    cost: np.ndarray,
    adj_csr: tuple[np.ndarray, np.ndarray, np.ndarray],
    n: int,
) -> dict[str, np.ndarray]:
    """``count``, and each separable term asked for, of every candidate network at once.

    Parameters
    ----------
    members, ptr
        Candidate ``s`` is ``members[ptr[s]:ptr[s + 1]]``.
    terms
        Objective terms wanted.
    cost
        :func:`patient_cost` of the place.
    adj_csr
        Adjacency as offsets, neighbours and border lengths.
    n
        Number of practices.
    """
    costs = {"count": np.ones(ptr.shape[0] - 1)}
    if "compact" in terms:
        costs["compact"] = compact_costs(members, ptr, np.ascontiguousarray(cost, dtype=float))
    if "boundary" in terms:
        costs["boundary"] = boundary_costs(members, ptr, *adj_csr, n)
    return costs


# --------------------------------------------------------------------------------------------
# Per plan
# --------------------------------------------------------------------------------------------


def objective_stages(options: SolveOptions) -> list[list[tuple[str, float]]]:
    """Objective stages in order: fewest networks first if asked, then the terms."""
    pairs = objective_pairs(options)
    stages: list[list[tuple[str, float]]] = []
    if options.n_pcns == "fewest":
        stages.append([("count", 1.0)])
    if options.lexicographic:
        stages += [[(name, 1.0)] for name, _ in pairs]
    else:
        weights = dict(pairs)
        stages.append([(name, weights[name]) for name, _ in pairs])
    return stages


def plan_objective(values: Mapping[str, float], options: SolveOptions) -> float:
    """The reported objective: the weighted sum of the terms, or the last one if lexicographic."""
    pairs = objective_pairs(options)
    if options.lexicographic:
        return values[pairs[-1][0]]
    weights = dict(pairs)
    return sum(weights[name] * values[name] for name, _ in pairs)


def evaluate_partition(
    graph: PlaceGraph, labels: Sequence[int], *, squared: bool = False
) -> dict[str, float]:
    """Objective terms of a plan, computed independently of the solver.

    Parameters
    ----------
    graph
        The place.
    labels
        Network index per practice (-1 for unassigned).
    squared
        Use squared distances for ``compact``.

    Returns
    -------
    dict
        ``compact`` (to each network's best hub), ``boundary`` (border length between different
        networks), ``disruption`` (patients not continuing with their current network under the
        best one-to-one matching of new to current networks; 0 without ``current``) and
        ``count``.
    """
    n = len(graph.codes)
    pop = np.asarray(graph.population, dtype=float)
    cost = patient_cost(pop, distances(graph), squared=squared)
    parts: dict[int, list[int]] = {}
    for i in range(n):
        if labels[i] >= 0:
            parts.setdefault(int(labels[i]), []).append(i)
    compact_total = 0.0
    for members in parts.values():
        compact_total += compact(members, cost)
    boundary_total = 0.0
    for i, j, length in graph.edges:
        if labels[i] >= 0 and labels[j] >= 0 and labels[i] != labels[j]:
            boundary_total += float(length)
    disruption_total = 0.0
    if graph.current is not None:
        overlap: dict[tuple[int, str], float] = {}
        with_current = 0.0
        for i in range(n):
            c = graph.current[i]
            if c is None or labels[i] < 0:
                continue
            with_current += float(pop[i])
            key = (int(labels[i]), c)
            overlap[key] = overlap.get(key, 0.0) + float(pop[i])
        bip = nx.Graph()
        for (part, cur), weight in sorted(overlap.items()):
            bip.add_edge(("new", part), ("cur", cur), weight=weight)
        matching = nx.max_weight_matching(bip)
        kept = sum(bip.edges[a, b]["weight"] for a, b in matching)
        disruption_total = with_current - kept
    return {
        "compact": compact_total,
        "boundary": boundary_total,
        "disruption": disruption_total,
        "count": float(len(parts)),
    }
