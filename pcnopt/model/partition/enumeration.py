"""Every connected candidate network of a block within the band, listed by compiled code.

See :mod:`pcnopt.model.partition` for the method.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numba
import numpy as np

from pcnopt._interrupts import holding_sigint
from pcnopt.model.objectives import candidate_costs, continuation_columns
from pcnopt.model.types import MAX_CANDIDATES

#: Largest block whose compact objective is solved with candidates priced on demand (every
#: sub-ICB and CCG place of England is smaller). Measured on the five sub-ICB places of more
#: than 4 million candidates (124-355 practices), 60 s each: with the greedy sets first and the
#: exact search keeping the least reduced costs, two proven optimal and three at 0.9-2 % gaps,
#: where the Hess model left gaps of 15-20 % or no bound (benchmarks/exact_results.md, 10).
MAX_PRICED_PRACTICES = 400

#: Largest block whose disruption objective is priced on demand, as for the compact objective.
#: Measured on the seven sub-ICB places of 124-355 practices beyond the listing's cap (60 s
#: each): E38000243 proven optimal (230,090 patients moved; the Hess model's plan 413,861),
#: the others keep the starting plan with a bound (gaps 41-60 %) where the Hess model had none
#: (benchmarks/exact_results.md, 12).
MAX_PRICED_DISRUPTION_PRACTICES = 400

#: Most (candidate, current network continued) columns the disruption objective lists; a block
#: with more is priced on demand. Measured on 11 sub-ICB refreshes whose columns passed it
#: (60 s each): every one as fast or faster priced (E38000119 19.8 s to 1.6 s), the same optima,
#: and E38000237 (200 practices) proven in 18 s where its 4 million listed columns left no LP
#: bound at 60 s (benchmarks/exact_results.md, 12). At 250,000, E38000261 and 172 were slower.
#: Not right everywhere: the CCG place E38000077 (37 practices) priced ended at a 34 % gap
#: under load, listed at 14 % (proven in 45 s on a quieter machine).
MAX_LISTED_DISRUPTION_COLUMNS = 1_000_000

TOL = 1e-7

#: Steps of the enumeration between two readings of the clock (a reading costs about a
#: microsecond; the steps between take a few milliseconds).
CLOCK_STEPS = 1 << 16


# --------------------------------------------------------------------------------------------
# Compiled kernels
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _record(
    members: np.ndarray,
    ptr: np.ndarray,
    rcs: np.ndarray,
    m: int,
    chosen: np.ndarray,
    size: int,
    rc: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Append ``chosen[:size]`` as set ``m`` (arrays grow by doubling); return them and m + 1."""
    nnz = ptr[m]
    while nnz + size > members.shape[0]:
        members = np.concatenate((members, np.empty(members.shape[0], np.int32)))
    if m + 2 > ptr.shape[0]:
        ptr = np.concatenate((ptr, np.empty(ptr.shape[0], np.int64)))
        rcs = np.concatenate((rcs, np.empty(ptr.shape[0] - rcs.shape[0])))
    for q in range(size):
        members[nnz + q] = chosen[q]
    rcs[m] = rc
    ptr[m + 1] = nnz + size
    return members, ptr, rcs, m + 1


@numba.njit(cache=True)
def _keep_best(
    members: np.ndarray, ptr: np.ndarray, rcs: np.ndarray, grp: np.ndarray, m: int, keep: int
) -> tuple[int, float]:
    """Keep the ``keep`` sets of least reduced cost (in their order), in place, and their
    entries of ``grp`` (the network each column continues; empty for plain sets).

    Returns the new count and the largest reduced cost kept (the search's new threshold).
    """
    order = np.argsort(rcs[:m], kind="mergesort")
    limit = rcs[order[keep - 1]]
    chosen = np.zeros(m, np.bool_)
    for q in range(keep):
        chosen[order[q]] = True
    out = 0
    nnz = 0
    for s in range(m):
        if not chosen[s]:
            continue
        a = ptr[s]
        b = ptr[s + 1]
        for q in range(a, b):
            members[nnz + q - a] = members[q]
        rcs[out] = rcs[s]
        if grp.shape[0] > 0:
            grp[out] = grp[s]
        ptr[out] = nnz
        nnz += b - a
        ptr[out + 1] = nnz
        out += 1
    return out, limit


def listed_reach(rcs: np.ndarray, *, thresh: float, stopped: bool, deadline: float) -> float:
    """The reduced cost below which a least-first search (``least``) listed every column.

    ``thresh`` when it stopped nowhere; where it kept the ``cap`` least, the largest reduced
    cost it returns (at most its final threshold, below which nothing was dropped); ``-inf``
    where the deadline may have stopped it (a time ``deadline`` has passed), for then columns
    of any reduced cost may be missing. Columns dropped later for breaking a pair rule belong
    to no plan, so the returned ``rcs`` may be those left after the rules.
    """
    if not stopped:
        return thresh
    if time.perf_counter() >= deadline or rcs.size == 0:
        return -np.inf
    return float(rcs.max())


@numba.njit(cache=True)
def _cut_gain(
    x: int, cut_ptr: np.ndarray, cut_idx: np.ndarray, cut_pen: np.ndarray, held: np.ndarray
) -> float:
    """What adding ``x`` to a set adds to its cuts' penalty: the cuts of which it holds one."""
    total = 0.0
    for t in range(cut_ptr[x], cut_ptr[x + 1]):
        c = cut_idx[t]
        if held[c] == 1:
            total += cut_pen[c]
    return total


@numba.njit(cache=True)
def _cut_hold(
    x: int, cut_ptr: np.ndarray, cut_idx: np.ndarray, held: np.ndarray, step: int
) -> None:
    """``x`` joins (``step`` 1) or leaves (-1) the set: its cuts' counts of practices held."""
    for t in range(cut_ptr[x], cut_ptr[x + 1]):
        held[cut_idx[t]] += step


@holding_sigint
@numba.njit(cache=True)
def enumerate_sets(
    adj_ptr: np.ndarray,
    adj_idx: np.ndarray,
    pop: np.ndarray,
    allowed: np.ndarray,
    lo: float,
    hi: float,
    cap: int,
    priced: bool,
    cost: np.ndarray,
    pi: np.ndarray,
    mu: float,
    thresh: float,
    deadline: float,
    least: bool,
    cut_ptr: np.ndarray,
    cut_idx: np.ndarray,
    cut_pen: np.ndarray,
    rule_ptr: np.ndarray,
    rule_idx: np.ndarray,
    rule_together: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Every connected set of allowed nodes with lo <= population <= hi, each met once.

    A depth-first "extension set" enumeration from each root v over the nodes above v. Returns
    the sets (flat members with offsets), their reduced costs (0 unless ``priced``), and
    whether it stopped early: at ``cap`` sets, or at ``deadline`` (a ``time.perf_counter()``
    value, ``inf`` for none; read every ``CLOCK_STEPS`` steps of the search, so that a search
    that prunes nearly every set it meets still ends in time).

    With ``priced``, only sets whose compact reduced cost (``cost``: patients times distance,
    duals ``pi`` and ``mu``) is at most ``thresh`` are kept, and branches that cannot hold one
    are pruned: for a partial set S rooted at v and any hub h, every extension S' has reduced
    cost at least A_h(S) - (K_h - B_h(S)) - mu, where A_h(S) = sum_{i in S} (cost[i, h] - pi_i),
    K_h sums (pi_i - cost[i, h])^+ over the nodes above v and B_h(S) over S minus v.

    With ``priced`` and ``least``, reaching ``cap`` does not stop the search: the half of the
    sets of least reduced cost are kept, the threshold drops to the largest kept, and the
    search goes on, pruning harder. The sets returned are then those of least reduced cost
    over the whole block (at most ``cap``, every set below the final threshold), not the
    first met; the flag says that sets at or below ``thresh`` were left out.

    ``cut_ptr``/``cut_idx`` list the subset-row cuts of each node (:func:`cut_lists`) and
    ``cut_pen[c] >= 0`` is minus cut ``c``'s dual: a set holding two or more practices of a
    cut has that added to its reduced cost. The penalty only grows as a set grows, so the
    penalty of a partial set is added to the bound of its extensions and the pruning stays
    exact (with no cuts, ``cut_ptr`` is zeros of n + 1).

    ``rule_ptr``/``rule_idx``/``rule_together`` list each node's pair rules (:func:`rule_lists`;
    zeros of n + 1 for none), which the search keeps to: a node is not added beside its
    keep-apart partner, nor when its keep-together partner cannot join (below the root, or
    not allowed), and a set is met only once it holds every keep-together partner of its
    nodes. So ``cap`` counts only sets that keep to the rules (the branching on pairs,
    :mod:`~pcnopt.model.partition.branching`, adds many).
    """
    n = pop.shape[0]
    inset = np.zeros(n, np.bool_)
    hubs = np.flatnonzero(allowed) if priced else np.zeros(0, np.int64)
    nh = hubs.shape[0]
    hidx = np.full(n, -1, np.int64)
    for hh in range(nh):
        hidx[hubs[hh]] = hh
    acc = np.zeros((n + 1, nh))
    gain = np.zeros((n + 1, nh))
    reach = np.zeros(nh)
    mark = np.full(n, -1, np.int64)  # depth at which a node joined the closed neighbourhood
    buf = np.empty(n * (n + 2) + 1, np.int64)  # extension sets, one segment per depth
    seg_lo = np.zeros(n + 1, np.int64)
    seg_hi = np.zeros(n + 1, np.int64)
    pos = np.zeros(n + 1, np.int64)
    chosen = np.empty(n + 1, np.int64)
    weight = np.zeros(n + 1)
    held = np.zeros(cut_pen.shape[0], np.int64)  # per cut, its practices in the set
    pen = np.zeros(n + 1)  # per depth, the cut penalty of the set
    members = np.empty(4096, np.int32)
    ptr = np.empty(1025, np.int64)
    rcs = np.empty(1025)
    nogrp = np.zeros(0, np.int64)
    ptr[0] = 0
    m = 0
    steps = 0
    dropped = False
    for v in range(n):
        if not allowed[v] or pop[v] > hi:
            continue
        if _barred(v, v, inset, allowed, rule_ptr, rule_idx, rule_together):
            continue
        rc = 0.0
        if priced:
            best = np.inf
            for hh in range(nh):
                h = hubs[hh]
                total = 0.0
                for i in range(v + 1, n):
                    if allowed[i]:
                        d = pi[i] - cost[i, h]
                        if d > 0:
                            total += d
                reach[hh] = total
                acc[0, hh] = cost[v, h] - pi[v]
                gain[0, hh] = 0.0
                best = min(best, acc[0, hh] - reach[hh])
            if best - mu > thresh:
                continue
            rc = acc[0, hidx[v]] - mu
        mark[v] = 0
        chosen[0] = v
        inset[v] = True
        weight[0] = pop[v]
        _cut_hold(v, cut_ptr, cut_idx, held, 1)
        pen[0] = 0.0
        e = 0
        for t in range(adj_ptr[v], adj_ptr[v + 1]):
            u = adj_idx[t]
            if u > v and allowed[u] and mark[u] < 0:
                mark[u] = 0
                buf[e] = u
                e += 1
        seg_lo[0] = 0
        seg_hi[0] = e
        pos[0] = 0
        depth = 0
        whole = _kept_together(chosen, 1, inset, rule_ptr, rule_idx, rule_together)
        if pop[v] >= lo and rc <= thresh and whole:
            if m >= cap:
                if not least:
                    return members[: ptr[m]], ptr[: m + 1], rcs[:m], True
                m, thresh = _keep_best(members, ptr, rcs, nogrp, m, max(1, cap // 2))
                dropped = True
            if rc <= thresh:
                members, ptr, rcs, m = _record(members, ptr, rcs, m, chosen, 1, rc)
        while depth >= 0:
            steps += 1
            if steps % CLOCK_STEPS == 0 and deadline < np.inf:
                with numba.objmode(now="float64"):
                    now = time.perf_counter()
                if now > deadline:
                    return members[: ptr[m]], ptr[: m + 1], rcs[:m], True
            if seg_lo[depth] + pos[depth] < seg_hi[depth]:
                w = buf[seg_lo[depth] + pos[depth]]
                pos[depth] += 1
                if weight[depth] + pop[w] > hi:
                    continue
                if _barred(w, v, inset, allowed, rule_ptr, rule_idx, rule_together):
                    continue
                nd = depth + 1
                extra = 0.0
                if priced:
                    extra = _cut_gain(w, cut_ptr, cut_idx, cut_pen, held)
                    best = np.inf
                    for hh in range(nh):
                        h = hubs[hh]
                        a = acc[depth, hh] + cost[w, h] - pi[w]
                        g = pi[w] - cost[w, h]
                        g = gain[depth, hh] + (g if g > 0 else 0.0)
                        acc[nd, hh] = a
                        gain[nd, hh] = g
                        best = min(best, a - reach[hh] + g)
                    if best - mu + pen[depth] + extra > thresh:
                        continue
                k = seg_hi[depth]
                start = k
                for q in range(seg_lo[depth] + pos[depth], seg_hi[depth]):
                    buf[k] = buf[q]
                    k += 1
                for t in range(adj_ptr[w], adj_ptr[w + 1]):
                    u = adj_idx[t]
                    if u > v and allowed[u] and mark[u] < 0:
                        mark[u] = nd
                        buf[k] = u
                        k += 1
                seg_lo[nd] = start
                seg_hi[nd] = k
                pos[nd] = 0
                chosen[nd] = w
                inset[w] = True
                weight[nd] = weight[depth] + pop[w]
                _cut_hold(w, cut_ptr, cut_idx, held, 1)
                pen[nd] = pen[depth] + extra
                depth = nd
                if weight[nd] >= lo and _kept_together(
                    chosen, nd + 1, inset, rule_ptr, rule_idx, rule_together
                ):
                    rc = 0.0
                    if priced:
                        rc = np.inf
                        for q in range(nd + 1):
                            rc = min(rc, acc[nd, hidx[chosen[q]]])
                        rc += pen[nd] - mu
                    if rc <= thresh:
                        if m >= cap:
                            if not least:
                                return members[: ptr[m]], ptr[: m + 1], rcs[:m], True
                            m, thresh = _keep_best(members, ptr, rcs, nogrp, m, max(1, cap // 2))
                            dropped = True
                        if rc <= thresh:
                            members, ptr, rcs, m = _record(members, ptr, rcs, m, chosen, nd + 1, rc)
            else:
                for q in range(seg_lo[depth], seg_hi[depth]):
                    u = buf[q]
                    if mark[u] == depth:
                        mark[u] = -1
                _cut_hold(chosen[depth], cut_ptr, cut_idx, held, -1)
                inset[chosen[depth]] = False
                depth -= 1
        mark[v] = -1
    return members[: ptr[m]], ptr[: m + 1], rcs[:m], dropped


@numba.njit(cache=True)
def _barred(
    w: int,
    root: int,
    inset: np.ndarray,
    allowed: np.ndarray,
    rule_ptr: np.ndarray,
    rule_idx: np.ndarray,
    rule_together: np.ndarray,
) -> bool:
    """Whether node ``w`` cannot join the set of ``inset`` rooted at ``root``: its keep-apart
    partner is in it, or its keep-together partner can never be (below the root, or not
    allowed)."""
    for t in range(rule_ptr[w], rule_ptr[w + 1]):
        u = rule_idx[t]
        if rule_together[t]:
            if u < root or not allowed[u]:
                return True
        elif inset[u]:
            return True
    return False


@numba.njit(cache=True)
def _kept_together(
    chosen: np.ndarray,
    size: int,
    inset: np.ndarray,
    rule_ptr: np.ndarray,
    rule_idx: np.ndarray,
    rule_together: np.ndarray,
) -> bool:
    """Whether the set ``chosen[:size]`` holds every keep-together partner of its nodes."""
    for q in range(size):
        w = chosen[q]
        for t in range(rule_ptr[w], rule_ptr[w + 1]):
            if rule_together[t] and not inset[rule_idx[t]]:
                return False
    return True


@holding_sigint
@numba.njit(cache=True)
def grow_sets(
    adj_ptr: np.ndarray,
    adj_idx: np.ndarray,
    pop: np.ndarray,
    allowed: np.ndarray,
    lo: float,
    hi: float,
    cost: np.ndarray,
    pi: np.ndarray,
    mu: float,
    thresh: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heuristic pricing: one connected set grown greedily around each hub.

    From each allowed hub h, the neighbour of the set with the least ``cost[i, h] - pi[i]``
    that keeps the population at most ``hi`` is added, while the set is below ``lo`` or the
    addition lowers the reduced cost. Of the sets in band along the way, the one of least
    reduced cost (measured at hub h, an upper bound on its compact reduced cost) is kept if
    it is at most ``thresh``. Fast (a few milliseconds for 300 practices), never exact:
    :func:`enumerate_sets` proves that no set is left.
    """
    n = pop.shape[0]
    members = np.empty(4096, np.int32)
    ptr = np.empty(1025, np.int64)
    rcs = np.empty(1025)
    ptr[0] = 0
    m = 0
    inside = np.zeros(n, np.bool_)
    chosen = np.empty(n + 1, np.int64)
    for h in range(n):
        if not allowed[h] or pop[h] > hi:
            continue
        size = 1
        chosen[0] = h
        inside[h] = True
        weight = pop[h]
        acc = cost[h, h] - pi[h]
        best_rc = np.inf
        best_size = 0
        while True:
            if weight >= lo and acc - mu < best_rc:
                best_rc = acc - mu
                best_size = size
            pick = -1
            least = np.inf
            for q in range(size):
                w = chosen[q]
                for t in range(adj_ptr[w], adj_ptr[w + 1]):
                    u = adj_idx[t]
                    if allowed[u] and not inside[u] and weight + pop[u] <= hi:
                        d = cost[u, h] - pi[u]
                        if d < least:
                            least = d
                            pick = u
            if pick < 0 or (weight >= lo and least >= 0.0):
                break
            chosen[size] = pick
            inside[pick] = True
            size += 1
            weight += pop[pick]
            acc += least
        for q in range(size):
            inside[chosen[q]] = False
        if best_size > 0 and best_rc <= thresh:
            members, ptr, rcs, m = _record(members, ptr, rcs, m, chosen, best_size, best_rc)
    return members[: ptr[m]], ptr[: m + 1], rcs[:m]


@numba.njit(cache=True)
def _record_column(
    members: np.ndarray,
    ptr: np.ndarray,
    rcs: np.ndarray,
    grp: np.ndarray,
    m: int,
    chosen: np.ndarray,
    size: int,
    rc: float,
    g: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`_record` with the current network ``g`` the column continues."""
    if m + 2 > ptr.shape[0]:
        grp = np.concatenate((grp, np.empty(ptr.shape[0], np.int64)))
    members, ptr, rcs, m1 = _record(members, ptr, rcs, m, chosen, size, rc)
    grp[m] = g
    return members, ptr, rcs, grp, m1


@holding_sigint
@numba.njit(cache=True)
def enumerate_continuing(
    adj_ptr: np.ndarray,
    adj_idx: np.ndarray,
    pop: np.ndarray,
    allowed: np.ndarray,
    lo: float,
    hi: float,
    cap: int,
    per_root: int,
    current: np.ndarray,
    groups: int,
    pi: np.ndarray,
    const: np.ndarray,
    thresh: float,
    deadline: float,
    least: bool,
    cut_ptr: np.ndarray,
    cut_idx: np.ndarray,
    cut_pen: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Every (connected set, current network it continues) column of reduced cost <= thresh.

    The sets are those of :func:`enumerate_sets` (connected, allowed nodes, lo <= population
    <= hi, each met once). ``current[i]`` is practice ``i``'s current network (0 to
    ``groups - 1``; -1: none). Column ``(S, g)`` for a network ``g`` with a member in ``S``
    has reduced cost ``sum_{i in S} (w_i - pi_i) - p(S & g) - const[g]``, the column
    continuing none ``sum_{i in S} (w_i - pi_i) - const[groups]``, where ``w_i`` is ``pop_i``
    for a practice with a current network, else 0 (``const``: the count row's dual plus the
    network's at-most-one row's dual).

    Each lowest practice (root) stops once it has given ``per_root`` columns (those of its
    last set kept together): a round of column generation with duals far from their optimum
    then spreads over the block instead of filling ``cap`` from the first roots.

    Returns the columns (flat members with offsets), their reduced costs, the network each
    continues (-1: none), and whether it stopped early: at ``cap`` columns, at a root's
    ``per_root``, or past
    ``deadline`` (a ``time.perf_counter()`` value; ``math.inf``: none).

    With ``least``, reaching ``cap`` does not stop the search (and ``per_root`` is not
    applied): as in :func:`enumerate_sets`, the half of least reduced cost is kept, the
    threshold drops to the largest kept and the search goes on, so that the columns returned
    are the ``cap`` least over the whole block, every column below the final threshold among
    them (a closing program over them bounds every plan; the first columns met all start from
    the lowest practices).

    Branches that cannot hold a column are pruned as in :func:`enumerate_sets`, with one
    "hub" per network (and one for none) of cost ``c_{ih} = w_i - pop_i [current(i) = h]``:
    every extension S' of a partial set S rooted at v has, for every h, reduced cost at least
    A_h(S) - min(K_h - B_h(S), (hi - p(S)) r_h) - const[h], where A_h(S) = sum_{i in S}
    (c_{ih} - pi_i), K_h sums (pi_i - c_{ih})^+ over the allowed nodes above v, B_h(S) over S
    minus v, and r_h is the largest (pi_i - c_{ih})^+ / pop_i over the allowed nodes above v
    (the room left in the band, filled at the best rate). The subset-row cuts' penalties
    (``cut_ptr``, ``cut_idx``, ``cut_pen``) are added as in :func:`enumerate_sets`.
    """
    n = pop.shape[0]
    nh = groups + 1
    w = np.zeros(n)
    for i in range(n):
        if current[i] >= 0:
            w[i] = pop[i]
    acc = np.zeros((n + 1, nh))
    gain = np.zeros((n + 1, nh))
    reach = np.zeros(nh)
    rate = np.zeros(nh)
    seen = np.full(nh, -1, np.int64)
    mark = np.full(n, -1, np.int64)
    buf = np.empty(n * (n + 2) + 1, np.int64)
    seg_lo = np.zeros(n + 1, np.int64)
    seg_hi = np.zeros(n + 1, np.int64)
    pos = np.zeros(n + 1, np.int64)
    chosen = np.empty(n + 1, np.int64)
    weight = np.zeros(n + 1)
    held = np.zeros(cut_pen.shape[0], np.int64)  # per cut, its practices in the set
    pen = np.zeros(n + 1)  # per depth, the cut penalty of the set
    members = np.empty(4096, np.int32)
    ptr = np.empty(1025, np.int64)
    rcs = np.empty(1025)
    grp = np.empty(1025, np.int64)
    ptr[0] = 0
    m = 0
    steps = 0
    stamp = 0
    cut = False
    dropped = False
    for v in range(n):
        if not allowed[v] or pop[v] > hi:
            continue
        # K_h: sum over the allowed nodes above v of (pi_i - c_ih)^+
        # and rate_h: the most of it per patient, so that a set with room for r more patients
        # gains at most min(K_h - B_h, r rate_h)
        base = 0.0
        top = 0.0
        for h in range(nh):
            reach[h] = 0.0
            rate[h] = 0.0
        for i in range(v + 1, n):
            if allowed[i]:
                d = pi[i] - w[i]
                dp = d if d > 0 else 0.0
                base += dp
                top = max(top, dp / pop[i] if pop[i] > 0 else (np.inf if dp > 0 else 0.0))
                if current[i] >= 0:
                    e = d + pop[i]
                    ep = e if e > 0 else 0.0
                    reach[current[i]] += ep - dp
                    h = current[i]
                    rate[h] = max(rate[h], ep / pop[i] if pop[i] > 0 else np.inf)
        best = np.inf
        room = hi - pop[v]
        for h in range(nh):
            reach[h] += base
            rate[h] = max(rate[h], top)
            c = w[v] - (pop[v] if current[v] == h else 0.0)
            acc[0, h] = c - pi[v]
            gain[0, h] = 0.0
            best = min(best, acc[0, h] - min(reach[h], room * rate[h]) - const[h])
        if best > thresh:
            continue
        mark[v] = 0
        chosen[0] = v
        weight[0] = pop[v]
        _cut_hold(v, cut_ptr, cut_idx, held, 1)
        pen[0] = 0.0
        e = 0
        for t in range(adj_ptr[v], adj_ptr[v + 1]):
            u = adj_idx[t]
            if u > v and allowed[u] and mark[u] < 0:
                mark[u] = 0
                buf[e] = u
                e += 1
        seg_lo[0] = 0
        seg_hi[0] = e
        pos[0] = 0
        depth = 0
        record = pop[v] >= lo
        first = m
        while depth >= 0:
            if record:
                record = False
                # every column of the set chosen[:depth + 1] within the threshold
                stamp += 1
                for q in range(-1, depth + 1):
                    h = groups if q < 0 else current[chosen[q]]
                    if h < 0 or seen[h] == stamp:
                        continue
                    seen[h] = stamp
                    rc = acc[depth, h] - const[h] + pen[depth]
                    if rc <= thresh:
                        if m >= cap:
                            if not least:
                                return members[: ptr[m]], ptr[: m + 1], rcs[:m], grp[:m], True
                            m, thresh = _keep_best(members, ptr, rcs, grp, m, max(1, cap // 2))
                            dropped = True
                            if rc > thresh:
                                continue
                        members, ptr, rcs, grp, m = _record_column(
                            members,
                            ptr,
                            rcs,
                            grp,
                            m,
                            chosen,
                            depth + 1,
                            rc,
                            -1 if h == groups else h,
                        )
                if not least and m - first >= per_root:
                    # this root is done: unwind the marks of every depth, on to the next root
                    cut = True
                    for d in range(depth, -1, -1):
                        for q in range(seg_lo[d], seg_hi[d]):
                            u = buf[q]
                            if mark[u] == d:
                                mark[u] = -1
                        _cut_hold(chosen[d], cut_ptr, cut_idx, held, -1)
                    break
            steps += 1
            if steps % CLOCK_STEPS == 0 and deadline < np.inf:
                with numba.objmode(now="float64"):
                    now = time.perf_counter()
                if now > deadline:
                    return members[: ptr[m]], ptr[: m + 1], rcs[:m], grp[:m], True
            if seg_lo[depth] + pos[depth] < seg_hi[depth]:
                x = buf[seg_lo[depth] + pos[depth]]
                pos[depth] += 1
                if weight[depth] + pop[x] > hi:
                    continue
                nd = depth + 1
                best = np.inf
                room = hi - weight[depth] - pop[x]
                for h in range(nh):
                    c = w[x] - (pop[x] if current[x] == h else 0.0)
                    a = acc[depth, h] + c - pi[x]
                    g = pi[x] - c
                    g = gain[depth, h] + (g if g > 0 else 0.0)
                    acc[nd, h] = a
                    gain[nd, h] = g
                    best = min(best, a - min(reach[h] - g, room * rate[h]) - const[h])
                extra = _cut_gain(x, cut_ptr, cut_idx, cut_pen, held)
                if best + pen[depth] + extra > thresh:
                    continue
                k = seg_hi[depth]
                start = k
                for q in range(seg_lo[depth] + pos[depth], seg_hi[depth]):
                    buf[k] = buf[q]
                    k += 1
                for t in range(adj_ptr[x], adj_ptr[x + 1]):
                    u = adj_idx[t]
                    if u > v and allowed[u] and mark[u] < 0:
                        mark[u] = nd
                        buf[k] = u
                        k += 1
                seg_lo[nd] = start
                seg_hi[nd] = k
                pos[nd] = 0
                chosen[nd] = x
                weight[nd] = weight[depth] + pop[x]
                _cut_hold(x, cut_ptr, cut_idx, held, 1)
                pen[nd] = pen[depth] + extra
                depth = nd
                record = weight[nd] >= lo
            else:
                for q in range(seg_lo[depth], seg_hi[depth]):
                    u = buf[q]
                    if mark[u] == depth:
                        mark[u] = -1
                _cut_hold(chosen[depth], cut_ptr, cut_idx, held, -1)
                depth -= 1
        mark[v] = -1
    return members[: ptr[m]], ptr[: m + 1], rcs[:m], grp[:m], cut or dropped


def cut_lists(
    triples: np.ndarray, pen: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cuts of each of ``n`` nodes (offsets, cut indices) and the cuts' penalties, as the
    priced searches take them; ``triples`` holds 3 practices a cut, ``pen`` minus each dual
    (negative duals only; others give 0)."""
    triples = np.asarray(triples, np.int64).reshape(-1, 3)
    pen = np.maximum(np.asarray(pen, float), 0.0)
    node = triples.ravel()
    cut = np.repeat(np.arange(triples.shape[0], dtype=np.int64), 3)
    order = np.argsort(node, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, node + 1, 1)
    return np.cumsum(ptr), cut[order], pen


def no_cuts(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cut_lists` of no cuts."""
    return np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0)


def no_rules(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`BlockArrays.rule_lists` of no pair rules, for :func:`enumerate_sets`."""
    return np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.bool_)


@holding_sigint
@numba.njit(cache=True)
def rule_mask(
    members: np.ndarray, ptr: np.ndarray, pairs: np.ndarray, together: np.ndarray, n: int
) -> np.ndarray:
    """Per set: False when it splits a keep-together pair or holds both of a keep-apart pair."""
    m = ptr.shape[0] - 1
    keep = np.ones(m, np.bool_)
    inside = np.zeros(n, np.bool_)
    for s in range(m):
        a, b = ptr[s], ptr[s + 1]
        for q in range(a, b):
            inside[members[q]] = True
        for r in range(pairs.shape[0]):
            x = inside[pairs[r, 0]]
            y = inside[pairs[r, 1]]
            if (together[r] and x != y) or (not together[r] and x and y):
                keep[s] = False
                break
        for q in range(a, b):
            inside[members[q]] = False
    return keep


@numba.njit(cache=True)
def _set_hashes(members: np.ndarray, ptr: np.ndarray, keys: np.ndarray) -> np.ndarray:
    m = ptr.shape[0] - 1
    out = np.empty(m, np.uint64)
    for s in range(m):
        h = np.uint64(0)
        for q in range(ptr[s], ptr[s + 1]):
            h ^= keys[members[q]]
        out[s] = h
    return out


@holding_sigint
@numba.njit(cache=True)
def price_sets(
    members: np.ndarray, ptr: np.ndarray, base: np.ndarray, pi: np.ndarray
) -> np.ndarray:
    m = ptr.shape[0] - 1
    out = np.empty(m)
    for s in range(m):
        total = base[s]
        for q in range(ptr[s], ptr[s + 1]):
            total -= pi[members[q]]
        out[s] = total
    return out


def subsets(
    members: np.ndarray, ptr: np.ndarray, sets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The sets ``sets`` of ``members``/``ptr``, as their own flat members and offsets."""
    sizes = ptr[sets + 1] - ptr[sets]
    out_ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    if not sets.size:
        return np.zeros(0, members.dtype), out_ptr
    return np.concatenate([members[ptr[s] : ptr[s + 1]] for s in sets]), out_ptr


def kept(members: np.ndarray, ptr: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sets of ``members``/``ptr`` where ``keep`` is True, as flat members and offsets."""
    sizes = np.diff(ptr)
    out_ptr = np.concatenate(([0], np.cumsum(sizes[keep]))).astype(np.int64)
    return members[np.repeat(keep, sizes)], out_ptr


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """Every admissible network of a block, as a flat member list with offsets.

    Parameters
    ----------
    members, ptr
        Members of candidate ``s`` are ``members[ptr[s]:ptr[s + 1]]`` (practice indices).
    costs
        Cost per candidate for ``compact``, ``boundary`` and ``count`` (and ``disruption``
        when the columns continue current networks).
    seconds
        Time spent listing and costing them.
    group
        For the disruption objective: per column, the current network it continues (-1:
        none). At most one column per current network may be chosen. None otherwise.
    """

    members: np.ndarray
    ptr: np.ndarray
    costs: dict[str, np.ndarray]
    seconds: float
    group: np.ndarray | None = None

    @property
    def groups(self) -> int:
        """Number of current networks that columns may continue (0 without ``group``)."""
        if self.group is None or self.group.size == 0:
            return 0
        return int(self.group.max()) + 1

    @property
    def count(self) -> int:
        """Number of candidates."""
        return int(self.ptr.shape[0] - 1)

    def part(self, s: int) -> list[int]:
        """Members of candidate ``s``, sorted."""
        return sorted(int(v) for v in self.members[self.ptr[s] : self.ptr[s + 1]])

    def patients(self, pop: np.ndarray) -> np.ndarray:
        """Patients of every candidate (``pop`` per practice)."""
        if self.count == 0:
            return np.zeros(0)
        return np.add.reduceat(np.asarray(pop, float)[self.members], self.ptr[:-1])

    def only(self, keep: np.ndarray) -> tuple[Candidates, np.ndarray]:
        """The candidates where ``keep`` is True, and their indices here (in order)."""
        idx = np.flatnonzero(keep).astype(np.int64)
        members, ptr = kept(self.members, self.ptr, np.asarray(keep, np.bool_))
        sub = Candidates(
            members=members,
            ptr=ptr,
            costs={name: cost[idx] for name, cost in self.costs.items()},
            seconds=self.seconds,
            group=None if self.group is None else self.group[idx],
        )
        return sub, idx


class Held:
    """The candidates a plan of one count can hold (all of them without a mask), and the
    translation of candidate indices to and from them."""

    def __init__(self, cands: Candidates, keep: np.ndarray | None) -> None:
        if keep is None or bool(np.all(keep)):
            self.cands, self.idx = cands, None
            return
        self.cands, self.idx = cands.only(keep)
        self.at = np.full(cands.count, -1, np.int64)
        self.at[self.idx] = np.arange(self.idx.size)

    def of(self, values: np.ndarray) -> np.ndarray:
        """Per-candidate ``values`` of the held candidates."""
        return values if self.idx is None else values[self.idx]

    def inside(self, cols: np.ndarray) -> np.ndarray:
        """The held ones of candidates ``cols``, as held indices."""
        if self.idx is None:
            return cols
        at = self.at[np.asarray(cols, np.int64)]
        return at[at >= 0]

    def plan_inside(self, plan: Sequence[int] | None) -> list[int] | None:
        """A plan of candidate indices as held indices, or None if one is not held."""
        if plan is None or self.idx is None:
            return None if plan is None else sorted(int(c) for c in plan)
        at = self.at[np.asarray(plan, np.int64)]
        return None if bool(np.any(at < 0)) else sorted(int(c) for c in at)

    def outside(self, plan: Sequence[int]) -> list[int]:
        """A plan of held indices as candidate indices."""
        if self.idx is None:
            return sorted(int(c) for c in plan)
        return sorted(int(self.idx[c]) for c in plan)


def least_count(total: float, *, hi: float) -> int:
    """The fewest networks of at most ``hi`` patients that can hold ``total``."""
    return math.ceil(total / hi - 1e-9)


def band_of_count(total: float, k: int, *, lo: float, hi: float) -> tuple[float, float]:
    r"""The sizes a network can have in a plan of exactly ``k`` networks of ``total`` patients.

    The other :math:`k - 1` networks hold between :math:`(k-1)L` and :math:`(k-1)U` patients,
    so each network holds between :math:`\max(L, P - (k-1)U)` and :math:`\min(U, P - (k-1)L)`.
    Where the count is tight this is far narrower than the band: E38000232's 644,640 patients
    in 13 networks of at most 50,000 leave each at least 44,640. The band is returned widened
    by a millionth of a patient, for sums of fractional weights.
    """
    eps = 1e-6
    return max(lo, total - (k - 1) * hi) - eps, min(hi, total - (k - 1) * lo) + eps


def csr(adj: Sequence[set[int]], length: dict[tuple[int, int], float]) -> tuple[np.ndarray, ...]:
    n = len(adj)
    ptr = np.zeros(n + 1, np.int64)
    idx: list[int] = []
    lens: list[float] = []
    for i in range(n):
        for j in sorted(adj[i]):
            idx.append(j)
            lens.append(length.get((min(i, j), max(i, j)), 0.0))
        ptr[i + 1] = len(idx)
    return ptr, np.asarray(idx, np.int64), np.asarray(lens, float)


class BlockArrays:
    """A block as the compiled searches take it: compressed adjacency, the allowed practices,
    and the pair rules that touch it, with the filter that applies them to found sets."""

    def __init__(
        self,
        *,
        adj: Sequence[set[int]],
        length: dict[tuple[int, int], float],
        nodes: Sequence[int],
        together: Sequence[tuple[int, int]],
        apart: Sequence[tuple[int, int]],
    ) -> None:
        self.n = len(adj)
        self.adj_ptr, self.adj_idx, self.adj_len = csr(adj, length)
        self.allowed = np.zeros(self.n, np.bool_)
        self.allowed[list(nodes)] = True
        block = set(nodes)
        rules = [(a, b, True) for a, b in together if a in block or b in block]
        rules += [(a, b, False) for a, b in apart if a in block and b in block]
        self.pairs = np.asarray([(a, b) for a, b, _ in rules] or np.zeros((0, 2)), np.int64)
        self.flags = np.asarray([t for _, _, t in rules], np.bool_)
        self.rules = self.rule_lists()

    def rule_lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each node's pair rules for the compiled search (:func:`enumerate_sets`): offsets
        per node, the partner, and whether the pair is kept together (else apart)."""
        per: list[list[tuple[int, bool]]] = [[] for _ in range(self.n)]
        for (a, b), t in zip(self.pairs.tolist(), self.flags.tolist(), strict=True):
            per[a].append((b, t))
            per[b].append((a, t))
        ptr = np.zeros(self.n + 1, np.int64)
        ptr[1:] = np.cumsum([len(p) for p in per])
        idx = np.asarray([u for p in per for u, _ in p], np.int64)
        together = np.asarray([t for p in per for _, t in p], np.bool_)
        return ptr, idx, together

    def ruled(self, together: Sequence[tuple[int, int]], apart: Sequence[tuple[int, int]]) -> Self:
        """The same block with more pairs kept together and apart (a node of the branching
        on pairs, :mod:`~pcnopt.model.partition.branching`)."""
        other = copy.copy(self)
        more = [(a, b) for a, b in together] + [(a, b) for a, b in apart]
        if more:
            other.pairs = np.concatenate((self.pairs, np.asarray(more, np.int64).reshape(-1, 2)))
            other.flags = np.concatenate(
                (self.flags, np.asarray([True] * len(together) + [False] * len(apart), np.bool_))
            )
            other.rules = other.rule_lists()
        return other

    def by_rules(
        self, members: np.ndarray, ptr: np.ndarray, *values: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """The sets (and their ``values``, one entry a set) that meet the pair rules."""
        if self.flags.size and ptr.shape[0] > 1:
            keep = rule_mask(members, ptr, self.pairs, self.flags, self.n)
            members, ptr = kept(members, ptr, keep)
            values = tuple(v[keep] for v in values)
        return (members, ptr, *values)


def candidates_for(
    *,
    adj: Sequence[set[int]],
    length: dict[tuple[int, int], float],
    pop: np.ndarray,
    cost: np.ndarray,
    nodes: Sequence[int],
    lo: float,
    hi: float,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    terms: Sequence[str],
    max_candidates: int = MAX_CANDIDATES,
    deadline: float | None = None,
) -> Candidates | None:
    """List every connected network of ``nodes`` within the band that respects the pair rules.

    Returns None when there are more than ``max_candidates``, or the listing meets
    ``deadline`` (a ``time.perf_counter()`` value).
    """
    start = time.perf_counter()
    block = BlockArrays(adj=adj, length=length, nodes=nodes, together=together, apart=apart)
    members, ptr, _, truncated = enumerate_sets(
        block.adj_ptr,
        block.adj_idx,
        np.asarray(pop, float),
        block.allowed,
        float(lo),
        float(hi),
        max_candidates,
        False,
        np.zeros((0, 0)),
        np.zeros(0),
        0.0,
        np.inf,
        np.inf if deadline is None else deadline,
        False,
        *no_cuts(block.n),
        *block.rules,
    )
    if truncated:
        return None
    members, ptr = block.by_rules(members, ptr)
    costs = candidate_costs(
        members,
        ptr,
        terms=terms,
        cost=cost,
        adj_csr=(block.adj_ptr, block.adj_idx, block.adj_len),
        n=block.n,
    )
    return Candidates(members=members, ptr=ptr, costs=costs, seconds=time.perf_counter() - start)


def with_continuations(
    cands: Candidates, *, pop: np.ndarray, current: np.ndarray, max_columns: int
) -> Candidates | None:
    """One column per (candidate, current network it continues or none), for disruption.

    ``current`` holds each practice's current network index (-1: none). Costs other than
    disruption are the candidate's. Returns None when there would be more than
    ``max_columns`` columns.
    """
    start = time.perf_counter()
    groups = int(current.max()) + 1 if current.size else 0
    base, group, value = continuation_columns(
        cands.members, cands.ptr, np.asarray(pop, float), current.astype(np.int64), groups
    )
    if base.size > max_columns:
        return None
    sizes = np.diff(cands.ptr)[base]
    ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    starts = cands.ptr[base]
    members = cands.members[np.repeat(starts - ptr[:-1], sizes) + np.arange(ptr[-1])]
    costs = {name: cost[base] for name, cost in cands.costs.items()}
    costs["disruption"] = value
    return Candidates(
        members=members,
        ptr=ptr,
        costs=costs,
        seconds=cands.seconds + time.perf_counter() - start,
        group=group,
    )


def locate_continuing(
    cands: Candidates, parts: Sequence[Sequence[int]], continues: Sequence[int]
) -> list[int] | None:
    """Column of every part continuing ``continues[r]`` (-1: none), or None if one is missing."""
    assert cands.group is not None
    rng = np.random.default_rng(12345)
    n = int(cands.members.max()) + 1 if cands.members.size else 0
    n = max([n] + [max(p) + 1 for p in parts if p])
    keys = rng.integers(1, 2**63 - 1, size=n, dtype=np.int64).astype(np.uint64)
    hashes = _set_hashes(cands.members, cands.ptr, keys)
    out: list[int] = []
    for part, g in zip(parts, continues, strict=True):
        h = np.uint64(0)
        for v in part:
            h ^= keys[v]
        hits = np.flatnonzero((hashes == h) & (cands.group == g))
        found = [int(s) for s in hits if cands.part(int(s)) == sorted(part)]
        if not found:
            return None
        out.append(found[0])
    return out


def locate(cands: Candidates, parts: Sequence[Sequence[int]]) -> list[int] | None:
    """Candidate index of every part, or None when one is not a candidate."""
    rng = np.random.default_rng(12345)
    n = int(cands.members.max()) + 1 if cands.members.size else 0
    n = max([n] + [max(p) + 1 for p in parts if p])
    keys = rng.integers(1, 2**63 - 1, size=n, dtype=np.int64).astype(np.uint64)
    hashes = _set_hashes(cands.members, cands.ptr, keys)
    out: list[int] = []
    for part in parts:
        h = np.uint64(0)
        for v in part:
            h ^= keys[v]
        hits = np.flatnonzero(hashes == h)
        found = [int(s) for s in hits if cands.part(int(s)) == sorted(part)]
        if not found:
            return None
        out.append(found[0])
    return out
