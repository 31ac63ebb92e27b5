r"""Exact set partitioning over every candidate network, priced by enumeration.

A block of practices is partitioned by choosing networks from the list of *every* candidate:
every connected set :math:`S` of practices with :math:`L \le p(S) \le U` that respects the
commissioners' pair rules. With :math:`c_S` the cost of a network (compact: the patient-weighted
distance to its best hub; boundary: half the border length it shares with practices outside it;
count: 1),

.. math::

    \min \sum_S c_S\, x_S \quad \text{s.t.} \quad
    \sum_{S \ni i} x_S = 1 \ \ \forall i, \qquad
    k_{\min} \le \sum_S x_S \le k_{\max}, \qquad x_S \in \{0, 1\}

(plus, in lexicographic stages, :math:`\sum_S c^{(t)}_S x_S \le v_t` for each earlier stage).
Contiguity and the size band hold by construction, so the LP relaxation is far stronger than
the Hess model's (its gap is usually below 1 %, often 0).

Solving (column generation with exact pricing, then price-and-branch)

1. List the candidates (a depth-first "extension set" enumeration that meets every connected set
   with lowest practice :math:`v` exactly once, pruned at :math:`U`), compiled with numba. If
   there are more than ``max_candidates`` the block is left to the Hess model.
2. Solve the LP over a restricted set of columns (HiGHS, in process), price *every* candidate
   with the duals :math:`(\pi, \mu, \lambda)`: :math:`\bar c_S = c_S - \sum_{i \in S} \pi_i -
   \mu - \sum_t \lambda_t c^{(t)}_S`, add the most negative, repeat until none is negative.
   The LP value :math:`z_{LP}` is then a proven lower bound. (Before convergence,
   :math:`z_{RMP} + k_{\max} \min(0, \min_S \bar c_S)` is one.) Without a starting plan a
   phase I (minimise artificial cover) finds one or proves the LP, hence the block, infeasible.
3. For any plan :math:`x`, :math:`c^\top x \ge z_{LP} + \sum_S \bar c_S x_S` with
   :math:`\bar c \ge 0`, so a plan cheaper than the incumbent :math:`z_{UB}` uses only columns
   with :math:`\bar c_S \le z_{UB} - z_{LP}`. The integer program over exactly those columns
   (solved by the chosen solver: CBC, HiGHS...) therefore gives the proven optimum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
import pulp

from pcnopt import _model_solver as slv

#: Above this many candidate networks a block is left to the Hess model.
MAX_CANDIDATES = 4_000_000

#: Largest block solved with priced candidates; beyond it (measured on England: 119 and 181
#: practices) the pruned enumeration is too slow and the Hess model does better in a minute.
MAX_PRICED_PRACTICES = 100

#: First reduced-cost threshold of the closing integer programs, relative to the LP bound.
FIRST_GAP = 0.003

#: Largest final integer program; above it the columns of least reduced cost are kept and the
#: LP bound is reported instead of a proof.
MAX_IP_COLUMNS = 100_000

_TOL = 1e-7


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
def _enumerate(
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Every connected set of allowed nodes with lo <= population <= hi, each met once.

    A depth-first "extension set" enumeration from each root v over the nodes above v. Returns
    the sets (flat members with offsets), their reduced costs (0 unless ``priced``), and
    whether it stopped at ``cap`` sets.

    With ``priced``, only sets whose compact reduced cost (``cost``: patients times distance,
    duals ``pi`` and ``mu``) is at most ``thresh`` are kept, and branches that cannot hold one
    are pruned: for a partial set S rooted at v and any hub h, every extension S' has reduced
    cost at least A_h(S) - (K_h - B_h(S)) - mu, where A_h(S) = sum_{i in S} (cost[i, h] - pi_i),
    K_h sums (pi_i - cost[i, h])^+ over the nodes above v and B_h(S) over S minus v.
    """
    n = pop.shape[0]
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
    members = np.empty(4096, np.int32)
    ptr = np.empty(1025, np.int64)
    rcs = np.empty(1025)
    ptr[0] = 0
    m = 0
    for v in range(n):
        if not allowed[v] or pop[v] > hi:
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
        weight[0] = pop[v]
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
        if pop[v] >= lo and rc <= thresh:
            if m >= cap:
                return members[: ptr[m]], ptr[: m + 1], rcs[:m], True
            members, ptr, rcs, m = _record(members, ptr, rcs, m, chosen, 1, rc)
        while depth >= 0:
            if seg_lo[depth] + pos[depth] < seg_hi[depth]:
                w = buf[seg_lo[depth] + pos[depth]]
                pos[depth] += 1
                if weight[depth] + pop[w] > hi:
                    continue
                nd = depth + 1
                if priced:
                    best = np.inf
                    for hh in range(nh):
                        h = hubs[hh]
                        a = acc[depth, hh] + cost[w, h] - pi[w]
                        g = pi[w] - cost[w, h]
                        g = gain[depth, hh] + (g if g > 0 else 0.0)
                        acc[nd, hh] = a
                        gain[nd, hh] = g
                        best = min(best, a - reach[hh] + g)
                    if best - mu > thresh:
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
                weight[nd] = weight[depth] + pop[w]
                depth = nd
                if weight[nd] >= lo:
                    rc = 0.0
                    if priced:
                        rc = np.inf
                        for q in range(nd + 1):
                            rc = min(rc, acc[nd, hidx[chosen[q]]])
                        rc -= mu
                    if rc <= thresh:
                        if m >= cap:
                            return members[: ptr[m]], ptr[: m + 1], rcs[:m], True
                        members, ptr, rcs, m = _record(members, ptr, rcs, m, chosen, nd + 1, rc)
            else:
                for q in range(seg_lo[depth], seg_hi[depth]):
                    u = buf[q]
                    if mark[u] == depth:
                        mark[u] = -1
                depth -= 1
        mark[v] = -1
    return members[: ptr[m]], ptr[: m + 1], rcs[:m], False


@numba.njit(cache=True)
def _compact_costs(members: np.ndarray, ptr: np.ndarray, cost: np.ndarray) -> np.ndarray:
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
            if total < best:
                best = total
        out[s] = best
    return out


@numba.njit(cache=True)
def _boundary_costs(
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


@numba.njit(cache=True)
def _rule_mask(
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


@numba.njit(cache=True)
def _price(members: np.ndarray, ptr: np.ndarray, base: np.ndarray, pi: np.ndarray) -> np.ndarray:
    m = ptr.shape[0] - 1
    out = np.empty(m)
    for s in range(m):
        total = base[s]
        for q in range(ptr[s], ptr[s + 1]):
            total -= pi[members[q]]
        out[s] = total
    return out


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
        Cost per candidate for ``compact``, ``boundary`` and ``count``.
    seconds
        Time spent listing and costing them.
    """

    members: np.ndarray
    ptr: np.ndarray
    costs: dict[str, np.ndarray]
    seconds: float

    @property
    def count(self) -> int:
        """Number of candidates."""
        return int(self.ptr.shape[0] - 1)

    def part(self, s: int) -> list[int]:
        """Members of candidate ``s``, sorted."""
        return sorted(int(v) for v in self.members[self.ptr[s] : self.ptr[s + 1]])


def _csr(adj: Sequence[set[int]], length: dict[tuple[int, int], float]) -> tuple[np.ndarray, ...]:
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
) -> Candidates | None:
    """List every connected network of ``nodes`` within the band that respects the pair rules.

    Returns None when there are more than ``max_candidates``.
    """
    start = time.perf_counter()
    n = len(adj)
    adj_ptr, adj_idx, adj_len = _csr(adj, length)
    allowed = np.zeros(n, np.bool_)
    allowed[list(nodes)] = True
    members, ptr, _, truncated = _enumerate(
        adj_ptr,
        adj_idx,
        np.asarray(pop, float),
        allowed,
        float(lo),
        float(hi),
        max_candidates,
        False,
        np.zeros((0, 0)),
        np.zeros(0),
        0.0,
        np.inf,
    )
    if truncated:
        return None
    block = set(nodes)
    rules = [(a, b, True) for a, b in together if a in block or b in block]
    rules += [(a, b, False) for a, b in apart if a in block and b in block]
    if rules:
        pairs = np.asarray([(a, b) for a, b, _ in rules], np.int64)
        flags = np.asarray([t for _, _, t in rules], np.bool_)
        keep = _rule_mask(members, ptr, pairs, flags, n)
        if not keep.all():
            sizes = np.diff(ptr)[keep]
            members = members[np.repeat(keep, np.diff(ptr))]
            ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    costs = {"count": np.ones(ptr.shape[0] - 1)}
    if "compact" in terms:
        costs["compact"] = _compact_costs(members, ptr, np.ascontiguousarray(cost, dtype=float))
    if "boundary" in terms:
        costs["boundary"] = _boundary_costs(members, ptr, adj_ptr, adj_idx, adj_len, n)
    return Candidates(members=members, ptr=ptr, costs=costs, seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------------------------
# Column generation and the final integer program
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageResult:
    """Outcome of one objective stage.

    Parameters
    ----------
    kind
        ``"optimal"``, ``"feasible"`` (stopped by the deadline with a plan), ``"infeasible"``
        (proved: not even the LP has a solution) or ``"none"`` (stopped without a plan).
    plan
        Candidate indices of the chosen networks, or None.
    value
        Stage objective of the plan.
    bound
        Proven lower bound on the stage objective, or None.
    columns
        Columns generated, and columns in the final integer program.
    """

    kind: str
    plan: list[int] | None
    value: float | None
    bound: float | None
    columns: tuple[int, int]


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


class _Master:
    """The restricted master LP in HiGHS: cover rows, the count row and earlier stage rows."""

    def __init__(
        self,
        cands: Candidates,
        nodes: Sequence[int],
        k_lo: int,
        k_hi: int,
        cost: np.ndarray,
        scale: float,
        limits: Sequence[tuple[np.ndarray, float]],
    ) -> None:
        import highspy

        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("random_seed", 0)
        self.h.setOptionValue("threads", 1)
        self.inf = highspy.kHighsInf
        self.cands = cands
        self.nodes = list(nodes)
        self.row_of = {v: r for r, v in enumerate(self.nodes)}
        self.nb = len(self.nodes)
        top = int(cands.members.max()) if cands.members.size else 0
        self.n_index = max(top, *self.nodes) + 1
        self.cost = cost / scale
        self.limits = [(c / max(1.0, float(np.abs(c).max())), v) for c, v in limits]
        self.limit_scale = [max(1.0, float(np.abs(c).max())) for c, _ in limits]
        lower = [1.0] * self.nb + [float(k_lo)]
        upper = [1.0] * self.nb + [float(k_hi)]
        for (_, v), s in zip(self.limits, self.limit_scale, strict=True):
            lower.append(-self.inf)
            upper.append(v / s)
        self.rows = len(lower)
        self.h.addRows(
            self.rows,
            np.asarray(lower),
            np.asarray(upper),
            0,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )
        self.cols: list[int] = []
        self.phase_one = False
        self.in_master = np.zeros(cands.count, np.bool_)
        # artificial columns: one per cover row, and +1/-1 on the count row (phase I only)
        art_rows = [*range(self.nb), self.nb, self.nb]
        art_vals = [1.0] * self.nb + [1.0, -1.0]
        self.n_art = len(art_rows)
        self.h.addCols(
            self.n_art,
            np.zeros(self.n_art),
            np.zeros(self.n_art),
            np.full(self.n_art, self.inf),
            self.n_art,
            np.arange(self.n_art, dtype=np.int32),
            np.asarray(art_rows, np.int32),
            np.asarray(art_vals),
        )

    def add(self, cols: Sequence[int]) -> None:
        top = max(cols, default=-1) + 1
        if top > self.in_master.size:
            self.in_master = np.concatenate(
                (self.in_master, np.zeros(top - self.in_master.size, np.bool_))
            )
        cols = [int(s) for s in cols if not self.in_master[s]]
        if not cols:
            return
        starts, index, value = [], [], []
        for s in cols:
            starts.append(len(index))
            for v in self.cands.members[self.cands.ptr[s] : self.cands.ptr[s + 1]]:
                index.append(self.row_of[int(v)])
                value.append(1.0)
            index.append(self.nb)
            value.append(1.0)
            for r, (c, _) in enumerate(self.limits):
                index.append(self.nb + 1 + r)
                value.append(float(c[s]))
            self.in_master[s] = True
        self.h.addCols(
            len(cols),
            np.zeros(len(cols)) if self.phase_one else self.cost[cols],
            np.zeros(len(cols)),
            np.full(len(cols), self.inf),
            len(index),
            np.asarray(starts, np.int32),
            np.asarray(index, np.int32),
            np.asarray(value),
        )
        self.cols += cols

    def phase(self, first: bool) -> None:
        """Phase I: artificial cost 1, real cost 0. Phase II: real costs, artificials off."""
        real = np.arange(self.n_art, self.n_art + len(self.cols), dtype=np.int32)
        art = np.arange(self.n_art, dtype=np.int32)
        self.phase_one = first
        if first:
            self.h.changeColsCost(self.n_art, art, np.ones(self.n_art))
            if len(real):
                self.h.changeColsCost(len(real), real, np.zeros(len(real)))
        else:
            self.h.changeColsCost(self.n_art, art, np.zeros(self.n_art))
            self.h.changeColsBounds(self.n_art, art, np.zeros(self.n_art), np.zeros(self.n_art))
            if len(real):
                self.h.changeColsCost(len(real), real, self.cost[self.cols])

    def solve(self) -> tuple[float, np.ndarray, np.ndarray] | None:
        """Objective, cover duals per node index, and the other row duals; None if no LP optimum."""
        import highspy

        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = self.h.getSolution()
        duals = np.asarray(sol.row_dual, float)
        return float(self.h.getInfo().objective_function_value), duals[: self.nb], duals[self.nb :]

    def reduced(self, base_cost: np.ndarray, cover: np.ndarray, other: np.ndarray) -> np.ndarray:
        pi = np.zeros(self.n_index)
        pi[self.nodes] = cover
        base = base_cost - other[0]
        for r, (c, _) in enumerate(self.limits):
            base = base - other[1 + r] * c
        return _price(self.cands.members, self.cands.ptr, base, pi)


def solve_stage(
    cands: Candidates,
    *,
    nodes: Sequence[int],
    cost: np.ndarray,
    k_lo: int,
    k_hi: int,
    limits: Sequence[tuple[np.ndarray, float]],
    start: list[int] | None,
    solver: str,
    threads: int,
    mip_gap: float,
    deadline: float | None,
    integral: bool = False,
    batch: int = 400,
) -> StageResult:
    """Minimise ``cost`` over plans from ``cands`` (see the module docstring).

    Parameters
    ----------
    cands
        Every admissible network.
    nodes
        Practices to cover exactly once.
    cost
        Stage cost per candidate.
    k_lo, k_hi
        Bounds on the number of networks.
    limits
        Earlier stages: ``(cost per candidate, value)`` with ``cost @ x <= value``.
    start
        Candidate indices of a plan that satisfies everything, or None.
    integral
        Costs are whole numbers (the bound may be rounded up).
    """
    scale = max(1.0, float(np.abs(cost).max()) if cost.size else 1.0)
    master = _Master(cands, nodes, k_lo, k_hi, cost, scale, limits)
    ub = math.inf
    if start is not None:
        master.add(start)
        ub = float(cost[start].sum())
    else:
        # seed with the cheapest candidate holding each practice
        master.add(_cheapest_cover(cands, cost))

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    # phase I (only without a starting plan): find an LP-feasible column set or prove none
    zero = np.zeros(cands.count)
    if start is None:
        master.phase(first=True)
        while True:
            res = master.solve()
            if res is None:
                return StageResult("none", None, None, None, (len(master.cols), 0))
            value, cover, other = res
            if value <= 1e-9:
                break
            rc = master.reduced(zero, cover, other)
            new = _most_negative(rc, master.in_master, batch)
            if not new:
                return StageResult("infeasible", None, None, None, (len(master.cols), 0))
            master.add(new)
            if out_of_time():
                return StageResult("none", None, None, None, (len(master.cols), 0))
    master.phase(first=False)

    # phase II: column generation to LP optimality
    lp_bound = -math.inf
    converged = False
    base = cost / scale
    while True:
        res = master.solve()
        if res is None:
            break
        value, cover, other = res
        rc = master.reduced(base, cover, other)
        min_rc = float(rc.min()) if rc.size else 0.0
        lag = value + k_hi * min(0.0, min_rc)
        lp_bound = max(lp_bound, lag * scale)
        if min_rc >= -_TOL:
            converged = True
            lp_bound = max(lp_bound, value * scale)
            break
        if out_of_time():
            break
        master.add(_most_negative(rc, master.in_master, batch))
    if cost.size and float(cost.min()) >= 0:
        # before convergence the Lagrangian bound can be below zero, where no plan of
        # non-negative costs can be
        lp_bound = max(lp_bound, 0.0)
    if integral and math.isfinite(lp_bound):
        lp_bound = math.ceil(lp_bound - 1e-6)

    ip = _IpArgs(
        nodes=nodes,
        k_lo=k_lo,
        k_hi=k_hi,
        limits=limits,
        solver=solver,
        threads=threads,
        mip_gap=mip_gap,
    )

    def columns_below(t: float, cap: int) -> tuple[np.ndarray, bool, Candidates, np.ndarray]:
        chosen = np.flatnonzero(rc * scale <= t)
        if chosen.size > cap:
            return np.sort(np.argsort(rc, kind="stable")[:cap]), False, cands, cost
        return chosen, True, cands, cost

    return _close_gap(
        columns_below,
        cands=cands,
        cost=cost,
        start=start,
        ub=ub,
        lb=lp_bound,
        converged=converged,
        own=np.asarray(sorted(master.cols), np.int64),
        ip=ip,
        deadline=deadline,
    )


class _Pool:
    """Candidate networks found so far by priced enumeration (each kept once)."""

    def __init__(self, cost: np.ndarray) -> None:
        self.cost_matrix = cost
        self.parts: list[np.ndarray] = []
        self.index: dict[tuple[int, ...], int] = {}
        self.costs: list[float] = []
        self._snap: Candidates | None = None

    def add(self, members: np.ndarray, ptr: np.ndarray) -> list[int]:
        """Add sets (flat members with offsets); return their pool indices."""
        out = []
        fresh = []
        for s in range(ptr.shape[0] - 1):
            key = tuple(sorted(int(v) for v in members[ptr[s] : ptr[s + 1]]))
            if key not in self.index:
                self.index[key] = len(self.parts)
                self.parts.append(np.asarray(key, np.int32))
                fresh.append(len(self.parts) - 1)
            out.append(self.index[key])
        if fresh:
            sub_ptr = np.concatenate(([0], np.cumsum([self.parts[s].size for s in fresh])))
            sub = np.concatenate([self.parts[s] for s in fresh])
            self.costs += list(_compact_costs(sub, sub_ptr.astype(np.int64), self.cost_matrix))
            self._snap = None
        return out

    def snapshot(self) -> Candidates:
        if self._snap is None:
            ptr = np.concatenate(([0], np.cumsum([p.size for p in self.parts]))).astype(np.int64)
            members = np.concatenate(self.parts) if self.parts else np.zeros(0, np.int32)
            cost = np.asarray(self.costs, float)
            self._snap = Candidates(
                members=members,
                ptr=ptr,
                costs={"compact": cost, "count": np.ones(cost.size)},
                seconds=0.0,
            )
        return self._snap


def solve_priced(
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
    k_lo: int,
    k_hi: int,
    start_parts: Sequence[Sequence[int]],
    solver: str,
    threads: int,
    mip_gap: float,
    deadline: float | None,
    batch: int = 400,
    price_cap: int = 200_000,
) -> tuple[StageResult, Candidates]:
    """Minimise the compact objective when the candidates are too many to list.

    The same column generation as :func:`solve_stage`, but each pricing round enumerates only
    the sets whose reduced cost can be negative (:func:`_enumerate` with ``priced``, pruned by
    a dual bound), and the final integer program only the sets with reduced cost up to the
    gap.
    Needs a starting plan (``start_parts``). Returns the result with candidate indices into
    the returned pool of candidates.
    """
    n = len(adj)
    adj_ptr, adj_idx, _ = _csr(adj, length)
    allowed = np.zeros(n, np.bool_)
    allowed[list(nodes)] = True
    cost = np.ascontiguousarray(cost, dtype=float)
    popf = np.asarray(pop, float)
    block = set(nodes)
    rules = [(a, b, True) for a, b in together if a in block or b in block]
    rules += [(a, b, False) for a, b in apart if a in block and b in block]
    pairs = np.asarray([(a, b) for a, b, _ in rules] or np.zeros((0, 2)), np.int64)
    flags = np.asarray([t for _, _, t in rules], np.bool_)

    def enumerate_below(pi: np.ndarray, mu: float, thresh: float, cap: int):
        members, ptr, rcs, truncated = _enumerate(
            adj_ptr, adj_idx, popf, allowed, float(lo), float(hi), cap, True, cost, pi, mu, thresh
        )
        if rules and ptr.shape[0] > 1:
            keep = _rule_mask(members, ptr, pairs, flags, n)
            members = members[np.repeat(keep, np.diff(ptr))]
            ptr = np.concatenate(([0], np.cumsum(np.diff(ptr)[keep]))).astype(np.int64)
            rcs = rcs[keep]
        return members, ptr, rcs, truncated

    pool = _Pool(cost)
    start = pool.add(
        np.concatenate([np.asarray(p, np.int32) for p in start_parts]),
        np.concatenate(([0], np.cumsum([len(p) for p in start_parts]))).astype(np.int64),
    )
    cands = pool.snapshot()
    ub = float(cands.costs["compact"][start].sum())
    scale = max(1.0, ub / max(1, len(start)))
    master = _Master(cands, nodes, k_lo, k_hi, cands.costs["compact"], scale, [])
    master.add(start)
    master.phase(first=False)
    lp_bound = -math.inf
    converged = False
    while True:
        res = master.solve()
        if res is None:
            break
        value, cover, other = res
        pi = np.zeros(n)
        pi[list(nodes)] = cover * scale
        mu = float(other[0]) * scale
        members, ptr, rcs, truncated = enumerate_below(pi, mu, -_TOL * scale, price_cap)
        if not truncated:
            low = float(rcs.min()) if rcs.size else 0.0
            lp_bound = max(lp_bound, value * scale + k_hi * min(0.0, low))
        if rcs.size == 0 and not truncated:
            converged = True
            lp_bound = max(lp_bound, value * scale)
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        order = np.argsort(rcs, kind="stable")[:batch]
        sizes = np.diff(ptr)
        picked_ptr = np.concatenate(([0], np.cumsum(sizes[order]))).astype(np.int64)
        picked = (
            np.concatenate([members[ptr[s] : ptr[s + 1]] for s in order])
            if order.size
            else np.zeros(0, np.int32)
        )
        new = pool.add(picked, picked_ptr)
        cands = pool.snapshot()
        master.cands = cands
        master.cost = cands.costs["compact"] / scale
        before = len(master.cols)
        master.add(new)
        if len(master.cols) == before:
            break  # numerically stuck: every priced column is already in the master
    ip = _IpArgs(
        nodes=nodes,
        k_lo=k_lo,
        k_hi=k_hi,
        limits=(),
        solver=solver,
        threads=threads,
        mip_gap=mip_gap,
    )
    duals = res if converged else None  # the LP is unchanged since its last solve

    def columns_below(t: float, cap: int) -> tuple[np.ndarray, bool, Candidates, np.ndarray]:
        if duals is None:
            snap = pool.snapshot()
            return np.asarray(sorted(master.cols), np.int64), False, snap, snap.costs["compact"]
        _, cover, other = duals
        pi = np.zeros(n)
        pi[list(nodes)] = cover * scale
        members, ptr, _, truncated = enumerate_below(pi, float(other[0]) * scale, t, cap)
        chosen = np.asarray(sorted(set(pool.add(members, ptr))), np.int64)
        snap = pool.snapshot()
        return chosen, not truncated, snap, snap.costs["compact"]

    cands = pool.snapshot()
    result = _close_gap(
        columns_below,
        cands=cands,
        cost=cands.costs["compact"],
        start=start,
        ub=ub,
        lb=max(lp_bound, 0.0),  # compact costs are never negative
        converged=converged,
        own=np.asarray(sorted(master.cols), np.int64),
        ip=ip,
        deadline=deadline,
    )
    return result, pool.snapshot()


@dataclass(frozen=True)
class _IpArgs:
    nodes: Sequence[int]
    k_lo: int
    k_hi: int
    limits: Sequence[tuple[np.ndarray, float]]
    solver: str
    threads: int
    mip_gap: float


def _share(deadline: float | None, fraction: float) -> float | None:
    if deadline is None:
        return None
    return time.perf_counter() + fraction * max(0.0, deadline - time.perf_counter())


def _close_gap(
    columns_below: Callable[[float, int], tuple[np.ndarray, bool, Candidates, np.ndarray]],
    *,
    cands: Candidates,
    cost: np.ndarray,
    start: list[int] | None,
    ub: float,
    lb: float,
    converged: bool,
    own: np.ndarray,
    ip: _IpArgs,
    deadline: float | None,
) -> StageResult:
    """Integer programs over the columns of reduced cost up to t, for growing t.

    ``columns_below(t, cap)`` gives every column with reduced cost at most ``t`` (and whether
    the list is complete, i.e. not cut at ``cap``). Every plan using a column outside it costs
    more than ``lb + t``; so once a plan of value at most ``lb + t`` is optimal over those
    columns, it is optimal. Small ``t`` keeps the program small; ``t = ub - lb`` is the
    classic reduced-cost filter.
    """
    generated = int(own.size)
    eps = 1e-9 * max(1.0, abs(ub) if math.isfinite(ub) else abs(lb) if math.isfinite(lb) else 1)
    gap_ok = ip.mip_gap

    def done(value: float, bound: float) -> bool:
        return value - bound <= gap_ok * abs(value) + eps

    if not converged:
        plan, value, _, _ = _integer_program(
            cands,
            np.union1d(own, start or []).astype(np.int64),
            cost=cost,
            start=start,
            ip=ip,
            deadline=deadline,
        )
        if plan is not None and value is not None and value < ub:
            start, ub = plan, value
        bound = lb if math.isfinite(lb) else None
        if start is None:
            return StageResult("none", None, None, bound, (generated, int(own.size)))
        kind = "optimal" if bound is not None and done(ub, bound) else "feasible"
        return StageResult(kind, start, ub, bound, (generated, int(own.size)))
    bound = lb
    if start is not None and done(ub, lb):
        return StageResult("optimal", start, ub, lb, (generated, 0))
    t = max(FIRST_GAP * abs(lb), eps)
    last = 0
    while True:
        whole = start is not None and t >= ub - lb
        t_eff = (ub - lb) if whole else t
        chosen, complete, cands, cost = columns_below(t_eff + eps, MAX_IP_COLUMNS)
        if start is not None:
            chosen = np.union1d(chosen, np.asarray(start, np.int64))
        last = int(chosen.size)
        plan, value, kind, ip_bound = _integer_program(
            cands,
            chosen,
            cost=cost,
            start=start,
            ip=ip,
            deadline=deadline if whole else _share(deadline, 0.4),
        )
        if plan is not None and value is not None and value < ub:
            start, ub = plan, value
        if complete:
            # the optimum is the program's optimum, or costs more than lb + t_eff
            if kind == "optimal" and value is not None:
                bound = max(bound, min(value, lb + t_eff))
            elif kind == "infeasible":
                bound = max(bound, lb + t_eff)
            elif ip_bound is not None:
                bound = max(bound, min(ip_bound, lb + t_eff))
            if kind == "infeasible" and start is None and not math.isfinite(t_eff):
                return StageResult("infeasible", None, None, None, (generated, last))
        if start is not None and done(ub, bound):
            return StageResult(
                "optimal", start, ub, ub if gap_ok == 0 else bound, (generated, last)
            )
        if whole or not complete or (deadline is not None and time.perf_counter() > deadline):
            break
        t = math.inf if (start is None and t > 0.1 * abs(lb)) else t * 4
    if start is None:
        return StageResult("none", None, None, bound, (generated, last))
    return StageResult("feasible", start, ub, bound, (generated, last))


def _most_negative(rc: np.ndarray, in_master: np.ndarray, batch: int) -> list[int]:
    cand = np.flatnonzero((rc < -_TOL) & ~in_master)
    if cand.size > batch:
        cand = cand[np.argpartition(rc[cand], batch)[:batch]]
    return sorted(int(s) for s in cand)


def _cheapest_cover(cands: Candidates, cost: np.ndarray) -> list[int]:
    owner = np.repeat(np.arange(cands.count), np.diff(cands.ptr))
    order = np.lexsort((cost[owner], cands.members))
    first = np.ones(order.size, np.bool_)
    first[1:] = cands.members[order][1:] != cands.members[order][:-1]
    return sorted({int(s) for s in owner[order][first]})


def _integer_program(
    cands: Candidates,
    cols: np.ndarray,
    *,
    cost: np.ndarray,
    start: list[int] | None,
    ip: _IpArgs,
    deadline: float | None,
) -> tuple[list[int] | None, float | None, str, float | None]:
    nodes, k_lo, k_hi, limits = ip.nodes, ip.k_lo, ip.k_hi, ip.limits
    prob = pulp.LpProblem("pcn_partition", pulp.LpMinimize)
    x = {int(s): pulp.LpVariable(f"s_{int(s)}", cat=pulp.LpBinary) for s in cols}
    prob.setObjective(pulp.lpSum(float(cost[s]) * var for s, var in x.items()))
    covers: dict[int, list[pulp.LpVariable]] = {v: [] for v in nodes}
    for s, var in x.items():
        for v in cands.members[cands.ptr[s] : cands.ptr[s + 1]]:
            covers[int(v)].append(var)
    for v in nodes:
        prob += (pulp.lpSum(covers[v]) == 1, f"cover_{v}")
    count = pulp.lpSum(x.values())
    if k_lo == k_hi:
        prob += (count == k_lo, "count")
    else:
        prob += (count >= k_lo, "count_min")
        prob += (count <= k_hi, "count_max")
    for r, (c, v) in enumerate(limits):
        prob += (pulp.lpSum(float(c[s]) * var for s, var in x.items()) <= v, f"stage_{r}")
    warm = None if start is None else {f"s_{s}": 1.0 for s in start}
    remaining = None if deadline is None else deadline - time.perf_counter()
    if remaining is not None and remaining < 0.5:
        return None, None, "none", None
    res = slv.run(
        prob,
        solver=ip.solver,
        time_limit=None if remaining is None else max(0.5, 0.9 * remaining - 0.5),
        threads=ip.threads,
        mip_gap=ip.mip_gap,
        warm_start=warm,
    )
    if res.status == "infeasible":
        return None, None, "infeasible", None
    if res.status == "no_solution":
        return None, None, "none", res.bound
    plan = sorted(s for s in x if res.values.get(f"s_{s}", 0.0) > 0.5)
    value = float(cost[plan].sum())
    return plan, value, res.status, res.bound
