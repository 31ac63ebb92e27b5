r"""The disruption objective by column generation with its columns priced on demand.

A column is a candidate network :math:`S` with the current network :math:`c` it continues, or
none (:func:`~pcnopt.model.objectives.continuation_columns`); its cost :math:`d_{S,c}` is
the patients of :math:`S` with a current network other than :math:`c` (all patients of
:math:`S` with a current network, continuing none). With the duals :math:`\pi_i` of the cover
rows, :math:`\mu` of the count row and :math:`\sigma_c \le 0` of network :math:`c`'s
at-most-one row, the reduced cost

.. math::

    \bar d_{S,c} = \sum_{i \in S} \bigl(w_i - \pi_i\bigr) - p(S \cap c) - \mu - \sigma_c,
    \qquad
    \bar d_{S,\varnothing} = \sum_{i \in S} \bigl(w_i - \pi_i\bigr) - \mu

(:math:`w_i` the patients of practice :math:`i` if it has a current network, else 0) is linear
in the members, one "hub" per current network. A column continuing :math:`c` with no member
in :math:`c` is never needed (the column continuing none has the same cost and a reduced cost
no larger), so each set gives the columns of the networks among its members, and none.

Each pricing round enumerates only the columns of negative reduced cost
(:func:`~pcnopt.model.partition.enumeration.enumerate_continuing`, pruned by a dual bound);
the LP bound and the closing integer programs (:func:`~pcnopt.model.partition.closing.
close_gap`, with the at-most-one rows) are those of the listed path, so a proof here proves
the same optimum. Used for a block whose listed columns exceed the cap, when its objective is
disruption alone (one stage).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from pcnopt.model.partition.closing import (
    IpArgs,
    StageResult,
    close_gap,
    share_of_time,
    whole_bound,
)
from pcnopt.model.partition.colgen import CUT_SHARE, SUBSET_ROW_CUTS, _Master, dived, with_cuts
from pcnopt.model.partition.enumeration import (
    TOL,
    BlockArrays,
    Candidates,
    enumerate_continuing,
    grow_sets,
    kept,
    listed_reach,
    rule_mask,
    subsets,
)


class _ColumnPool:
    """(set, current network continued) columns found so far, each kept once."""

    def __init__(self, pop: np.ndarray, current: np.ndarray) -> None:
        self.moved = np.where(current >= 0, pop, 0.0)
        self.pop = pop
        self.current = current
        self.parts: list[np.ndarray] = []
        self.groups: list[int] = []
        self.costs: list[float] = []
        self.index: dict[tuple[tuple[int, ...], int], int] = {}
        self._snap: Candidates | None = None

    def add(self, members: np.ndarray, ptr: np.ndarray, group: np.ndarray) -> list[int]:
        """Add columns (flat members with offsets, network continued); return their indices."""
        out = []
        for s in range(ptr.shape[0] - 1):
            part = np.sort(members[ptr[s] : ptr[s + 1]]).astype(np.int32)
            key = (tuple(int(v) for v in part), int(group[s]))
            if key not in self.index:
                g = key[1]
                cost = float(self.moved[part].sum())
                if g >= 0:
                    cost -= float(self.pop[part][self.current[part] == g].sum())
                self.index[key] = len(self.parts)
                self.parts.append(part)
                self.groups.append(g)
                self.costs.append(cost)
                self._snap = None
            out.append(self.index[key])
        return out

    def snapshot(self) -> Candidates:
        if self._snap is None:
            ptr = np.concatenate(([0], np.cumsum([p.size for p in self.parts]))).astype(np.int64)
            members = np.concatenate(self.parts) if self.parts else np.zeros(0, np.int32)
            cost = np.asarray(self.costs, float)
            self._snap = Candidates(
                members=members,
                ptr=ptr,
                costs={"disruption": cost, "count": np.ones(cost.size)},
                seconds=0.0,
                group=np.asarray(self.groups, np.int64),
            )
        return self._snap


class _ContinuingPricer(BlockArrays):
    """Disruption's pricing over one block: greedy columns, or the exact search.

    Both return the columns (flat members, offsets) that meet the pair rules, their reduced
    costs and the current network each continues (-1: none); the exact search also whether it
    left columns out (its caps or the deadline). ``const[g]`` is the count dual plus network
    ``g``'s at-most-one dual, ``const[groups]`` the count dual alone (continuing none).
    """

    def __init__(
        self,
        *,
        adj: Sequence[set[int]],
        length: dict[tuple[int, int], float],
        pop: np.ndarray,
        current: np.ndarray,
        groups: int,
        nodes: Sequence[int],
        lo: float,
        hi: float,
        together: Sequence[tuple[int, int]],
        apart: Sequence[tuple[int, int]],
        deadline: float | None,
    ) -> None:
        super().__init__(adj=adj, length=length, nodes=nodes, together=together, apart=apart)
        self.pop = pop
        self.current = current
        self.groups = groups
        self.lo, self.hi = float(lo), float(hi)
        self.stop = math.inf if deadline is None else deadline
        moved = np.where(current >= 0, pop, 0.0)
        same = (current[:, None] == current[None, :]) & (current[:, None] >= 0)
        # cost[u, h]: u's patients who move when u joins a network continuing h's PCN
        self.cost = moved[:, None] - np.where(same, pop[:, None], 0.0)

    def exact(
        self,
        pi: np.ndarray,
        const: np.ndarray,
        thresh: float,
        cap: int,
        per_root: int,
        cuts: tuple[np.ndarray, np.ndarray, np.ndarray],
        least: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
        """Every column of reduced cost at most ``thresh`` (up to the caps; with ``least`` the
        ``cap`` least), the subset-row cuts ``cuts``
        (:meth:`~pcnopt.model.partition.colgen._Master.cut_prices`) in it."""
        members, ptr, rcs, grp, truncated = enumerate_continuing(
            self.adj_ptr,
            self.adj_idx,
            self.pop,
            self.allowed,
            self.lo,
            self.hi,
            cap,
            per_root,
            self.current,
            self.groups,
            pi,
            const,
            thresh,
            self.stop,
            least,
            *cuts,
        )
        members, ptr, rcs, grp = self.by_rules(members, ptr, rcs, grp)
        return members, ptr, rcs, grp, truncated

    def greedy(
        self, pi: np.ndarray, const: np.ndarray, thresh: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One column per practice h: a set grown around h, continuing h's network."""
        n = self.n
        cost = self.cost.copy()
        own = np.where(self.current >= 0, const[self.current], const[self.groups])
        cost[np.arange(n), np.arange(n)] -= own  # h is in its own set once: its constant
        members, ptr, rcs = grow_sets(
            self.adj_ptr,
            self.adj_idx,
            self.pop,
            self.allowed,
            self.lo,
            self.hi,
            cost,
            pi,
            0.0,
            thresh,
        )
        grp = self.current[members[ptr[:-1]]] if rcs.size else np.zeros(0, np.int64)
        members, ptr, rcs, grp = self.by_rules(members, ptr, rcs, grp)
        return members, ptr, rcs, grp


def solve_priced_disruption(
    *,
    adj: Sequence[set[int]],
    length: dict[tuple[int, int], float],
    pop: np.ndarray,
    current: np.ndarray,
    nodes: Sequence[int],
    lo: float,
    hi: float,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    k_lo: int,
    k_hi: int,
    start_parts: Sequence[Sequence[int]],
    start_continues: Sequence[int],
    solver: str,
    threads: int,
    mip_gap: float,
    deadline: float | None,
    batch: int = 2_000,
    price_cap: int = 200_000,
) -> tuple[StageResult, Candidates]:
    """Minimise disruption when its (candidate, continued network) columns are too many to list.

    Parameters
    ----------
    adj, length
        Adjacency of the place and border lengths.
    pop
        Patients per practice.
    current
        Per practice, the index of its current network among the block's (-1: none).
    nodes
        Practices of the block, to cover exactly once.
    lo, hi
        Population band of a network.
    together, apart
        Pair rules (practice indices).
    k_lo, k_hi
        Bounds on the number of networks.
    start_parts, start_continues
        A plan meeting every rule, and the current network each of its parts continues (-1:
        none; each network at most once).
    solver, threads, mip_gap
        For the closing integer programs.
    deadline
        ``time.perf_counter()`` value to stop at, or None.
    batch
        The most negative columns added to the master per pricing round (with, besides, the
        most negative column of each practice; see :func:`_diverse`). 2,000, not the compact
        path's 400: at E38000172 (33 practices) the LP converged in 6 s against 21 s.
    price_cap
        Most columns one pricing round may list, and at most ``price_cap / len(nodes)`` of
        them from each lowest practice.

    Returns
    -------
    tuple
        The result (candidate indices into the returned pool), and the pool of columns.
    """
    n = len(adj)
    popf = np.asarray(pop, float)
    current = np.asarray(current, np.int64)
    groups = int(current[list(nodes)].max()) + 1 if len(nodes) else 0
    pricer = _ContinuingPricer(
        adj=adj,
        length=length,
        pop=popf,
        current=current,
        groups=groups,
        nodes=nodes,
        lo=lo,
        hi=hi,
        together=together,
        apart=apart,
        deadline=deadline,
    )
    enumerate_below, grown_below = pricer.exact, pricer.greedy
    pairs, flags = pricer.pairs, pricer.flags

    def duals_of(cover: np.ndarray, other: np.ndarray, scale: float) -> tuple[np.ndarray, ...]:
        pi = np.zeros(n)
        pi[list(nodes)] = cover * scale
        mu = float(other[0]) * scale
        sigma = np.asarray(other[1 : 1 + groups], float) * scale
        return pi, np.append(mu + sigma, mu)

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    cuts_until = share_of_time(deadline, CUT_SHARE)

    def cut_time() -> bool:
        return cuts_until is None or time.perf_counter() < cuts_until

    pool = _ColumnPool(popf, current)
    start = pool.add(
        np.concatenate([np.asarray(p, np.int32) for p in start_parts]),
        np.concatenate(([0], np.cumsum([len(p) for p in start_parts]))).astype(np.int64),
        np.asarray(start_continues, np.int64),
    )
    seeded = pool.add(*_current_networks(adj, popf, current, nodes, lo, hi, pairs, flags))
    cands = pool.snapshot()
    ub = float(cands.costs["disruption"][start].sum())
    scale = max(1.0, ub / max(1, len(start)))
    master = _Master(cands, nodes, k_lo, k_hi, cands.costs["disruption"], scale, [], groups)
    master.add(start)
    master.add(seeded)
    master.phase(first=False)
    lp_bound = -math.inf
    converged = False
    res = None
    while True:
        res = master.solve()
        if res is None:
            break
        value, cover, other = res
        pi, const = duals_of(cover, other, scale)
        # the greedy columns first (grown without the cuts, so filtered by them); the exact
        # search, which prices the cuts, when they price out
        members, ptr, rcs, grp = with_cuts(
            master, *grown_below(pi, const, -TOL * scale), other=other * scale, thresh=-TOL * scale
        )
        truncated = True
        if rcs.size == 0:
            members, ptr, rcs, grp, truncated = enumerate_below(
                pi,
                const,
                -TOL * scale,
                price_cap,
                max(1, price_cap // len(nodes)),
                master.cut_prices(other * scale, n),
            )
        if not truncated:
            low = float(rcs.min()) if rcs.size else 0.0
            lp_bound = max(lp_bound, value * scale + k_hi * min(0.0, low))
        if rcs.size == 0 and not truncated:
            lp_bound = max(lp_bound, value * scale)
            if SUBSET_ROW_CUTS and cut_time() and master.separate():
                continue
            converged = True
            break
        if out_of_time():
            break
        order = _diverse(members, ptr, rcs, batch)
        picked, picked_ptr = subsets(members, ptr, order)
        new = pool.add(picked, picked_ptr, grp[order])
        cands = pool.snapshot()
        master.cands = cands
        master.cost = cands.costs["disruption"] / scale
        before = len(master.cols)
        master.add(new)
        if len(master.cols) == before:
            break  # numerically stuck: every priced column is already in the master
    ip = IpArgs(
        nodes=nodes,
        k_lo=k_lo,
        k_hi=k_hi,
        limits=(),
        solver=solver,
        threads=threads,
        mip_gap=mip_gap,
        cuts=master.triples,
    )
    duals = res if converged else None  # the LP is unchanged since its last solve

    def columns_below(t: float, cap: int) -> tuple[np.ndarray, float, Candidates, np.ndarray]:
        if duals is None:
            snap = pool.snapshot()
            cols = np.asarray(sorted(master.cols), np.int64)
            return cols, -math.inf, snap, snap.costs["disruption"]
        _, cover, other = duals
        pi, const = duals_of(cover, other, scale)
        cuts = master.cut_prices(other * scale, n)
        # the cap least over the block (the first met all start from the lowest practices)
        members, ptr, rcs, grp, truncated = enumerate_below(pi, const, t, cap, cap, cuts, True)
        reach = listed_reach(rcs, thresh=t, stopped=truncated, deadline=pricer.stop)
        chosen = np.asarray(sorted(set(pool.add(members, ptr, grp))), np.int64)
        snap = pool.snapshot()
        return chosen, reach, snap, snap.costs["disruption"]

    cands = pool.snapshot()
    if converged:
        plan, ub = dived(
            master, cost=cands.costs["disruption"], start=start, ub=ub, deadline=deadline
        )
        start = start if plan is None else plan
    lb, whole = _whole_bound(lp_bound, popf[list(nodes)])
    result = close_gap(
        columns_below,
        cands=cands,
        cost=cands.costs["disruption"],
        start=start,
        ub=ub,
        lb=lb,
        converged=converged,
        own=np.asarray(sorted(master.cols), np.int64),
        ip=ip,
        deadline=deadline,
        integral=whole,
    )
    return result, pool.snapshot()


def _whole_bound(lp_bound: float, pop: np.ndarray) -> tuple[float, bool]:
    """The disruption bound for the closing programs, and whether plans cost whole numbers.

    Disruption is never negative. Where patients are counted whole a plan's disruption is a
    whole number, so the bound rounds up (less a relative 1e-6 for the LP's error) and a
    better plan saves at least one patient (E38000244: a plan of 464,777 moved over the bound
    464,776 was not called optimal).
    """
    lb = max(lp_bound, 0.0)
    whole = bool(np.all(np.mod(pop, 1.0) == 0.0))
    if whole:
        lb = whole_bound(lb)
    return lb, whole


def _diverse(members: np.ndarray, ptr: np.ndarray, rcs: np.ndarray, batch: int) -> np.ndarray:
    """Columns to add: the most negative ``batch``, and for each practice its most negative.

    The most negative columns alone overlap heavily (the same few practices, with duals far
    from their optimum); the best column of every practice spreads a round over the block.
    """
    sizes = np.diff(ptr)
    owner = np.repeat(np.arange(rcs.size), sizes)
    order = np.lexsort((rcs[owner], members))
    first = np.ones(order.size, np.bool_)
    first[1:] = members[order][1:] != members[order][:-1]
    best_of_each = owner[order][first]
    return np.union1d(np.argsort(rcs, kind="stable")[:batch], best_of_each)


def _current_networks(
    adj: Sequence[set[int]],
    pop: np.ndarray,
    current: np.ndarray,
    nodes: Sequence[int],
    lo: float,
    hi: float,
    pairs: np.ndarray,
    flags: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each current network's practices in the block, continuing it, as columns (members,
    offsets, network), if contiguous, in band and within the pair rules.

    Columns of no disruption: the first master's duals then start near the current networks
    rather than at the starting plan's alone.
    """
    parts: list[list[int]] = []
    groups: list[int] = []
    for g in sorted({int(current[v]) for v in nodes if current[v] >= 0}):
        members = [v for v in nodes if current[v] == g]
        if not lo <= float(pop[members].sum()) <= hi:
            continue
        inside, seen, stack = set(members), {members[0]}, [members[0]]
        while stack:
            for u in adj[stack.pop()]:
                if u in inside and u not in seen:
                    seen.add(u)
                    stack.append(u)
        if len(seen) == len(members):
            parts.append(members)
            groups.append(g)
    ptr = np.concatenate(([0], np.cumsum([len(p) for p in parts]))).astype(np.int64)
    members_flat = np.asarray([v for p in parts for v in p], np.int32)
    group = np.asarray(groups, np.int64)
    if pairs.shape[0] and parts:
        keep = rule_mask(members_flat, ptr, pairs, flags, len(adj))
        members_flat, ptr = kept(members_flat, ptr, keep)
        group = group[keep]
    return members_flat, ptr, group
