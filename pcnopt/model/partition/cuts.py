"""Subset-row cuts: a stronger LP bound for set partitioning of tightly packed places.

For any three practices ``T``, at most one network of a plan holds two or more of them (the
networks are disjoint), so ``sum of x_S over the networks S with |S & T| >= 2 <= 1`` holds for
every plan, though not for every solution of the LP (Jepsen, Petersen, Spoorendonk and
Pisinger, "Subset-row inequalities applied to the vehicle-routing problem with time windows",
Operations Research 56(2), 2008). Where the LP mixes overlapping networks (the places whose
LP bound is 5-15 % below the optimum), a few dozen of these rows raise the bound to or near
the optimum: on E38000080 (36 practices) two rounds of 50 and 42 cuts took the LP from
215.2 M to 232.7 M, the proven optimum.

The rows are added to the master LP of column generation; pricing subtracts their duals from
the reduced cost of every candidate they hold (:func:`cut_penalty`).
"""

from __future__ import annotations

import numba
import numpy as np

from pcnopt._interrupts import holding_sigint

#: Violation below which a cut is not added.
MIN_VIOLATION = 1e-3


@numba.njit(cache=True)
def _incidence(
    members: np.ndarray, ptr: np.ndarray, x: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The practices of the fractional networks, and which of them each network holds."""
    m = ptr.shape[0] - 1
    frac = np.zeros(n, np.bool_)
    for s in range(m):
        if 1e-6 < x[s] < 1 - 1e-6:
            for q in range(ptr[s], ptr[s + 1]):
                frac[members[q]] = True
    cand = np.flatnonzero(frac)
    pos = np.full(n, -1, np.int64)
    pos[cand] = np.arange(cand.shape[0])
    inside = np.zeros((m, cand.shape[0]), np.bool_)
    for s in range(m):
        for q in range(ptr[s], ptr[s + 1]):
            if pos[members[q]] >= 0:
                inside[s, pos[members[q]]] = True
    return cand, inside


@numba.njit(cache=True)
def _pair_weights(inside: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``w[a, b]``: the LP weight of the networks holding both ``a`` and ``b``."""
    m, f = inside.shape
    pair = np.zeros((f, f))
    for s in range(m):
        held = np.flatnonzero(inside[s])
        for i in range(held.shape[0]):
            for j in range(i + 1, held.shape[0]):
                pair[held[i], held[j]] += x[s]
                pair[held[j], held[i]] += x[s]
    return pair


@numba.njit(cache=True)
def _row_value(inside: np.ndarray, x: np.ndarray, a: int, b: int, c: int) -> float:
    """Left-hand side of the cut of ``a``, ``b``, ``c``: weight of networks holding 2 or 3."""
    total = 0.0
    for s in range(inside.shape[0]):
        if int(inside[s, a]) + int(inside[s, b]) + int(inside[s, c]) >= 2:
            total += x[s]
    return total


@holding_sigint
@numba.njit(cache=True)
def violated_triples(
    members: np.ndarray, ptr: np.ndarray, x: np.ndarray, n: int, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """The triples of practices whose subset-row inequality the LP solution ``x`` violates.

    ``members``/``ptr`` are the networks of the LP's support, ``x`` their values. Only the
    practices of fractional networks are tried (an integral plan violates none), and only
    triples whose pairs' weights sum above 1 (the left-hand side is at most that sum). Returns
    up to ``limit`` triples (rows of 3 practices), most violated first, and their left-hand
    sides.
    """
    cand, inside = _incidence(members, ptr, x, n)
    pair = _pair_weights(inside, x)
    f = cand.shape[0]
    rows = []
    values = []
    for a in range(f):
        for b in range(a + 1, f):
            for c in range(b + 1, f):
                if pair[a, b] + pair[a, c] + pair[b, c] <= 1 + MIN_VIOLATION:
                    continue
                total = _row_value(inside, x, a, b, c)
                if total > 1 + MIN_VIOLATION:
                    rows.append((cand[a], cand[b], cand[c]))
                    values.append(total)
    out = np.empty((min(len(rows), limit), 3), np.int64)
    if len(rows) == 0:
        return out, np.empty(0)
    lhs = np.asarray(values)
    order = np.argsort(-lhs, kind="mergesort")[:limit]
    for r in range(order.shape[0]):
        out[r, 0], out[r, 1], out[r, 2] = rows[order[r]]
    return out, lhs[order]


@numba.njit(cache=True)
def _node_cuts(triples: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per practice (of ``n``), the cuts holding it: offsets and cut indices."""
    nc = triples.shape[0]
    deg = np.zeros(n + 1, np.int64)
    for c in range(nc):
        for j in range(3):
            deg[triples[c, j] + 1] += 1
    node_ptr = np.cumsum(deg)
    node_cuts = np.empty(3 * nc, np.int64)
    fill = node_ptr[:-1].copy()
    for c in range(nc):
        for j in range(3):
            v = triples[c, j]
            node_cuts[fill[v]] = c
            fill[v] += 1
    return node_ptr, node_cuts


@holding_sigint
@numba.njit(cache=True)
def cut_penalty(
    members: np.ndarray,
    ptr: np.ndarray,
    triples: np.ndarray,
    sigma: np.ndarray,
    n: int,
) -> np.ndarray:
    """Per network, the sum of ``sigma`` over the cuts it holds two or more practices of."""
    nc = triples.shape[0]
    node_ptr, node_cuts = _node_cuts(triples, n)
    m = ptr.shape[0] - 1
    out = np.zeros(m)
    count = np.zeros(nc, np.int64)
    for s in range(m):
        total = 0.0
        for q in range(ptr[s], ptr[s + 1]):
            v = members[q]
            if v >= n:
                continue
            for t in range(node_ptr[v], node_ptr[v + 1]):
                c = node_cuts[t]
                count[c] += 1
                if count[c] == 2:
                    total += sigma[c]
        for q in range(ptr[s], ptr[s + 1]):
            v = members[q]
            if v >= n:
                continue
            for t in range(node_ptr[v], node_ptr[v + 1]):
                count[node_cuts[t]] = 0
        out[s] = total
    return out


@holding_sigint
@numba.njit(cache=True)
def cut_incidence(
    members: np.ndarray, ptr: np.ndarray, triples: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The (cut, network) pairs of every network holding two or more practices of a cut, as
    two arrays of indices into ``triples`` and the networks of ``members``/``ptr``."""
    nc = triples.shape[0]
    node_ptr, node_cuts = _node_cuts(triples, n)
    m = ptr.shape[0] - 1
    count = np.zeros(nc, np.int64)
    out_cut = np.empty(16, np.int64)
    out_col = np.empty(16, np.int64)
    k = 0
    for s in range(m):
        for q in range(ptr[s], ptr[s + 1]):
            v = members[q]
            if v >= n:
                continue
            for t in range(node_ptr[v], node_ptr[v + 1]):
                c = node_cuts[t]
                count[c] += 1
                if count[c] == 2:
                    if k == out_cut.shape[0]:
                        out_cut = np.concatenate((out_cut, np.empty(k, np.int64)))
                        out_col = np.concatenate((out_col, np.empty(k, np.int64)))
                    out_cut[k] = c
                    out_col[k] = s
                    k += 1
        for q in range(ptr[s], ptr[s + 1]):
            v = members[q]
            if v >= n:
                continue
            for t in range(node_ptr[v], node_ptr[v + 1]):
                count[node_cuts[t]] = 0
    return out_cut[:k], out_col[:k]


def cut_rows_of(
    members: np.ndarray, ptr: np.ndarray, triples: np.ndarray, n: int
) -> list[list[int]]:
    """Per network, the cuts (indices into ``triples``, ascending) it holds two or more
    practices of: :func:`cut_incidence`'s pairs, by network."""
    out: list[list[int]] = [[] for _ in range(ptr.shape[0] - 1)]
    triples = np.asarray(triples, np.int64).reshape(-1, 3)
    if triples.shape[0]:
        cut_of, col_of = cut_incidence(members, ptr, triples, n)
        for s, c in sorted(zip(col_of.tolist(), cut_of.tolist(), strict=True)):
            out[s].append(c)
    return out
