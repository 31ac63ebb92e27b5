"""Column generation over the candidate networks: the master LP and exact pricing.

See :mod:`pcnopt.model.partition` for the method.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from pcnopt.model.objectives import compact_costs
from pcnopt.model.partition.branching import (
    WHOLE,
    NodeLp,
    Pairs,
    PairSearch,
    branch_on_pairs,
    whole_plan,
)
from pcnopt.model.partition.closing import (
    IpArgs,
    StageResult,
    close_gap,
    share_of_time,
    whole_bound,
)
from pcnopt.model.partition.cuts import cut_penalty, cut_rows_of, violated_triples
from pcnopt.model.partition.enumeration import (
    TOL,
    BlockArrays,
    Candidates,
    Held,
    cut_lists,
    enumerate_sets,
    grow_sets,
    kept,
    least_count,
    listed_reach,
    price_sets,
    subsets,
)
from pcnopt.model.solvers import Status
from pcnopt.model.solvers.highs import IncrementalLp


class _Master:
    """The restricted master LP (HiGHS in process): cover, count and earlier-stage rows."""

    def __init__(
        self,
        cands: Candidates,
        nodes: Sequence[int],
        k_lo: int,
        k_hi: int,
        cost: np.ndarray,
        scale: float,
        limits: Sequence[tuple[np.ndarray, float]],
        groups: int | None = None,
    ) -> None:
        self.lp = IncrementalLp()
        self.inf = self.lp.inf
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
        # disruption: each current network continued by at most one chosen column
        self.group_row = len(lower)
        for _ in range(cands.groups if groups is None else groups):
            lower.append(-self.inf)
            upper.append(1.0)
        self.rows = len(lower)
        self.lp.add_rows(np.asarray(lower), np.asarray(upper))
        # subset-row cuts (rows after every other): their practices, one row of 3 per cut
        self.cut_row = self.rows
        self.triples = np.zeros((0, 3), np.int64)
        self.cols: list[int] = []
        self.phase_one = False
        self.in_master = np.zeros(cands.count, np.bool_)
        # artificial columns: one per cover row, and +1/-1 on the count row (phase I only)
        art_rows = [*range(self.nb), self.nb, self.nb]
        art_vals = [1.0] * self.nb + [1.0, -1.0]
        self.n_art = len(art_rows)
        self.lp.add_cols(
            np.zeros(self.n_art),
            np.zeros(self.n_art),
            np.full(self.n_art, self.inf),
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
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        sub, sub_ptr = subsets(self.cands.members, self.cands.ptr, np.asarray(cols, np.int64))
        cut_hits = cut_rows_of(sub, sub_ptr, self.triples, self.n_index)
        for j, s in enumerate(cols):
            starts.append(len(index))
            for v in self.cands.members[self.cands.ptr[s] : self.cands.ptr[s + 1]]:
                index.append(self.row_of[int(v)])
                value.append(1.0)
            index.append(self.nb)
            value.append(1.0)
            for r, (c, _) in enumerate(self.limits):
                index.append(self.nb + 1 + r)
                value.append(float(c[s]))
            if self.cands.group is not None and self.cands.group[s] >= 0:
                index.append(self.group_row + int(self.cands.group[s]))
                value.append(1.0)
            for cut in cut_hits[j]:
                index.append(self.cut_row + cut)
                value.append(1.0)
            self.in_master[s] = True
        self.lp.add_cols(
            np.zeros(len(cols)) if self.phase_one else self.cost[cols],
            np.zeros(len(cols)),
            np.full(len(cols), self.inf),
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
            self.lp.change_costs(art, np.ones(self.n_art))
            self.lp.change_bounds(art, np.zeros(self.n_art), np.full(self.n_art, self.inf))
            if len(real):
                self.lp.change_costs(real, np.zeros(len(real)))
        else:
            self.lp.change_costs(art, np.zeros(self.n_art))
            self.lp.change_bounds(art, np.zeros(self.n_art), np.zeros(self.n_art))
            if len(real):
                self.lp.change_costs(real, self.cost[self.cols])

    def add_cuts(self, triples: np.ndarray) -> None:
        """Add a subset-row cut (at most 1) for each row of 3 practices of ``triples``."""
        triples = np.asarray(triples, np.int64).reshape(-1, 3)
        if not triples.shape[0]:
            return
        sub, sub_ptr = subsets(self.cands.members, self.cands.ptr, np.asarray(self.cols, np.int64))
        per_col = cut_rows_of(sub, sub_ptr, triples, self.n_index)
        entries: list[list[int]] = [[] for _ in range(triples.shape[0])]
        for j, hits in enumerate(per_col):
            for c in hits:
                entries[c].append(self.n_art + j)
        starts = np.asarray(np.cumsum([0] + [len(e) for e in entries[:-1]]), np.int32)
        index = np.asarray([j for e in entries for j in e], np.int32)
        k = triples.shape[0]
        self.lp.add_filled_rows(
            np.full(k, -self.inf), np.ones(k), starts, index, np.ones(index.size)
        )
        self.triples = np.concatenate((self.triples, triples))

    def primal(self) -> np.ndarray:
        """The value of each master column (in the order of ``cols``) at the last LP optimum."""
        return self.lp.primal()[self.n_art : self.n_art + len(self.cols)]

    def solve(self) -> tuple[float, np.ndarray, np.ndarray] | None:
        """Objective, cover duals per node index, and the other row duals; None if no LP optimum."""
        res = self.lp.solve()
        if res is None:
            return None
        value, duals = res
        return value, duals[: self.nb], duals[self.nb :]

    def reduced(self, base_cost: np.ndarray, cover: np.ndarray, other: np.ndarray) -> np.ndarray:
        pi = np.zeros(self.n_index)
        pi[self.nodes] = cover
        base = base_cost - other[0]
        for r, (c, _) in enumerate(self.limits):
            base = base - other[1 + r] * c
        group = self.cands.group
        if group is not None and self.cands.groups:
            # exact pricing of (candidate, continued network): minus that network's row dual
            first = self.group_row - self.nb
            sigma = np.append(other[first : first + self.cands.groups], 0.0)  # index -1: none
            base = base - sigma[group]
        rc = price_sets(self.cands.members, self.cands.ptr, base, pi)
        if self.triples.shape[0]:
            rc -= self.cut_penalty(self.cands.members, self.cands.ptr, other)
        return rc

    def cut_prices(self, other: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cuts as the priced searches of ``n`` nodes take them (:func:`cut_lists`), with
        the penalties of the duals ``other`` (in the units of the reduced costs wanted)."""
        first = self.cut_row - self.nb
        sigma = other[first : first + self.triples.shape[0]]
        return cut_lists(self.triples, -np.asarray(sigma, float), n)

    def cut_penalty(self, members: np.ndarray, ptr: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Per set, the sum of the duals (at most 0) of the cuts it holds two practices of."""
        first = self.cut_row - self.nb
        sigma = np.minimum(other[first : first + self.triples.shape[0]], 0.0)
        return cut_penalty(members, ptr, self.triples, sigma, self.n_index)

    def dive(self, deadline: float | None) -> list[int] | None:
        """A plan from the LP: its columns at 0.99 or more, and the largest of the others,
        fixed at 1, the LP solved again, until its solution is whole (those columns are the
        plan). None when the LP has no solution with them fixed, or at ``deadline``. The
        columns are freed again after; the LP's last solution is then not its optimum.
        """
        fixed = np.zeros(len(self.cols), np.bool_)
        try:
            while True:
                x = self.primal()
                if not x.size:
                    return None
                if np.all((x < DIVE_TOL) | (x > 1.0 - DIVE_TOL)):
                    return [self.cols[j] for j in np.flatnonzero(x > 0.5)]
                if deadline is not None and time.perf_counter() > deadline:
                    return None
                open_x = np.where(fixed, -1.0, x)
                pick = (open_x >= 0.99) & ~fixed
                pick[int(np.argmax(open_x))] = True
                ids = np.flatnonzero(pick)
                fixed[ids] = True
                ids = (ids + self.n_art).astype(np.int32)
                self.lp.change_bounds(ids, np.ones(ids.size), np.full(ids.size, self.inf))
                if self.lp.solve() is None:
                    return None
        finally:
            ids = (np.flatnonzero(fixed) + self.n_art).astype(np.int32)
            if ids.size:
                self.lp.change_bounds(ids, np.zeros(ids.size), np.full(ids.size, self.inf))

    def separate(self) -> bool:
        """Add the subset-row cuts the last LP solution violates; whether there were any."""
        room = min(CUTS_PER_ROUND, MAX_CUTS - self.triples.shape[0])
        if room <= 0:
            return False
        x = self.primal()
        support = np.flatnonzero(x > 1e-9)
        cols = np.asarray(self.cols, np.int64)[support]
        members, sub_ptr = subsets(self.cands.members, self.cands.ptr, cols)
        triples, _ = violated_triples(members, sub_ptr, x[support], self.n_index, room)
        self.add_cuts(triples)
        return bool(triples.shape[0])


#: A master column's value within this of 0 or 1 counts as whole in :meth:`_Master.dive`.
DIVE_TOL = 1e-6
#: Share of the time left that the dive for a plan may take once the LP has converged, and
#: the seconds it may take at least (never past the deadline): an LP that converges in the
#: last seconds leaves the closing programs no time, and its dive is then the only way to a
#: better plan (E38000240, 201 practices: a dive of 0.07 s gives 357,526 patients moved, 0.015 %
#: from the bound, where the heuristic's plan moves 669,337).
DIVE_SHARE = 0.1
DIVE_SECONDS = 2.0


def dive_deadline(deadline: float | None) -> float | None:
    """When the dive must stop: ``DIVE_SHARE`` of the time left, at least ``DIVE_SECONDS``
    within the deadline."""
    if deadline is None:
        return None
    now = time.perf_counter()
    return max(now + DIVE_SHARE * max(0.0, deadline - now), min(deadline, now + DIVE_SECONDS))


def dived(
    master: _Master,
    *,
    cost: np.ndarray,
    start: list[int] | None,
    ub: float,
    deadline: float | None,
) -> tuple[list[int] | None, float]:
    """The plan of the converged master's dive (:meth:`_Master.dive`) when it is better than
    ``start`` (of value ``ub``), else ``start``; with its value. Where the LP's optimum is
    fractional but the optimum of the integer program is as good or nearly (the refresh of
    E38000077: both 54,585 patients moved), the dive finds it in a few LP solves where the
    closing programs' branch and bound may not find it in the time."""
    plan = master.dive(dive_deadline(deadline))
    if plan is None:
        return start, ub
    value = float(cost[plan].sum())
    if value < ub - 1e-9 * max(1.0, abs(ub)):
        return sorted(plan), value
    return start, ub


#: Subset-row cuts added to the master LP per round of separation, and in all (see
#: :mod:`pcnopt.model.partition.cuts`).
CUTS_PER_ROUND = 50
MAX_CUTS = 500

#: Whether the search over every count strengthens its LP with subset-row cuts. The LPs of
#: single counts (:func:`_by_count`) do not: their pruning relies on the LP value being
#: convex in the count, which holds for one constraint matrix, not for cuts chosen per count.
SUBSET_ROW_CUTS = True

#: Share of a priced stage's time (:func:`solve_priced`,
#: :func:`~pcnopt.model.partition.continuing.solve_priced_disruption`) after which no more
#: rounds of cuts are separated: the closing programs need the rest. At E38000254's refresh
#: (67 practices) the rounds took the LP from 36,398 to 46,605 patients in 55 s of 60, and
#: the closing programs, left 5 s, found no plan better than the start (123,943 against
#: 70,103 with no cuts); with 0.4 of the time, 97,613; with 0.2, 70,103, and E38000135 is
#: still proven (its cuts done in 10 s; benchmarks/exact_results.md, 12a).
CUT_SHARE = 0.2

#: Share of a stage's time the search over every count at once may take, when the count can
#: vary, before each count is searched on its own (:func:`_by_count`; for the fewest networks
#: :func:`_least_count`).
FREE_SHARE = 0.1

#: Passes over the open counts: a count that stops at its share of the time is tried again
#: with the time the others left.
PASSES = 3

#: Most admissible counts of a block for the branching on the count. Blocks with more (the
#: large places: 15-27 counts at E38000237/243/244, nearly all open after their LPs) keep the
#: search over every count for the whole stage (benchmarks/exact_results.md, section 4).
MAX_COUNTS = 4

#: Most counts left open by their LP bounds that the branching takes on; with more (the large
#: places, where every count near the LP's is open) the search over every count goes on.
MAX_OPEN_COUNTS = 3


@dataclass(frozen=True)
class _Relaxation:
    """The master LP after column generation.

    Parameters
    ----------
    kind
        None when the LP was solved (or priced until the deadline); ``INFEASIBLE`` when phase I
        proved it has no solution; ``NO_SOLUTION`` when phase I ran out of time or HiGHS failed.
    bound
        Proven lower bound on the stage cost of every plan (``-inf`` if none).
    value
        The LP optimum when converged (unrounded), else None.
    converged
        No column of negative reduced cost is left.
    rc
        Reduced cost of every candidate at the last duals, divided by the cost scale.
    cols
        Candidate indices in the master, sorted.
    dived
        With ``dive``, the plan of the converged master's dive (:meth:`_Master.dive`), or None.
    triples
        The master's subset-row cuts (rows of 3 practices), for the closing programs.
    """

    kind: Status | None
    bound: float
    value: float | None
    converged: bool
    rc: np.ndarray
    cols: np.ndarray
    dived: list[int] | None = None
    triples: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))


def _relax(
    cands: Candidates,
    *,
    nodes: Sequence[int],
    cost: np.ndarray,
    scale: float,
    k_lo: int,
    k_hi: int,
    limits: Sequence[tuple[np.ndarray, float]],
    start: list[int] | None,
    seed: np.ndarray | None,
    deadline: float | None,
    integral: bool,
    batch: int,
    cuts: bool = False,
    dive: bool = False,
) -> _Relaxation:
    """Column generation to LP optimality (or the deadline) for ``k_lo <= sum x <= k_hi``.

    The master starts from ``start`` (a plan meeting every row) and ``seed`` (any columns),
    or, with neither, from the cheapest candidate holding each practice; without ``start`` a
    phase I finds an LP-feasible column set or proves there is none. With ``cuts``, each time
    the LP is optimal, the subset-row cuts its solution violates are added (at most
    :data:`CUTS_PER_ROUND` a round, :data:`MAX_CUTS` in all) and the generation goes on: the
    bound is then that of the LP with the cuts, and ``rc`` includes their duals. With
    ``dive``, a converged LP is dived for a plan once its duals are taken (``dived``).
    """
    master = _Master(cands, nodes, k_lo, k_hi, cost, scale, limits)
    if start is not None:
        master.add(start)
    if seed is not None:
        master.add([int(s) for s in seed])
    if start is None and seed is None:
        master.add(_cheapest_cover(cands, cost))

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    def stopped(kind: Status) -> _Relaxation:
        cols = np.asarray(sorted(master.cols), np.int64)
        return _Relaxation(kind, -math.inf, None, False, np.zeros(cands.count), cols)

    zero = np.zeros(cands.count)

    def listed_negative(cover: np.ndarray, other: np.ndarray) -> bool | None:
        """Phase I pricing over every candidate: add the most negative (False: none is)."""
        new = _most_negative(master.reduced(zero, cover, other), master.in_master, batch)
        if not new:
            return False
        master.add(new)
        return True

    def phase_one() -> Status | None:
        return _phase_one(master, listed_negative, out_of_time)

    # phase I only without a starting plan (a plan meets every row, and every cut)
    if start is None:
        kind = phase_one()
        if kind is not None:
            return stopped(kind)
    else:
        master.phase(first=False)

    # phase II: column generation to LP optimality
    lp_bound = -math.inf
    lp_value = None
    converged = False
    separated = False
    base = cost / scale
    rc = np.zeros(cands.count)
    while True:
        res = master.solve()
        if res is None and separated and start is None:
            # the cuts just added cut off every LP solution of the master's columns (no plan
            # is among them to keep it feasible): phase I again, with the cuts, finds columns
            # that meet them, or proves that no plan does (the cuts hold for every plan)
            separated = False
            kind = phase_one()
            if kind == Status.INFEASIBLE:
                return stopped(kind)
            if kind is None:
                continue
        if res is None:
            break
        separated = False
        value, cover, other = res
        rc = master.reduced(base, cover, other)
        min_rc = float(rc.min()) if rc.size else 0.0
        lag = value + k_hi * min(0.0, min_rc)
        lp_bound = max(lp_bound, lag * scale)
        if min_rc >= -TOL:
            lp_value = value * scale
            lp_bound = max(lp_bound, lp_value)
            if cuts and not out_of_time() and master.separate():
                separated = True
                continue
            converged = True
            break
        if out_of_time():
            break
        master.add(_most_negative(rc, master.in_master, batch))
    if cost.size and float(cost.min()) >= 0:
        # before convergence the Lagrangian bound can be below zero, where no plan of
        # non-negative costs can be
        lp_bound = max(lp_bound, 0.0)
    if integral and math.isfinite(lp_bound):
        lp_bound = whole_bound(lp_bound)
    cols = np.asarray(sorted(master.cols), np.int64)
    dived = master.dive(dive_deadline(deadline)) if dive and converged else None
    return _Relaxation(None, lp_bound, lp_value, converged, rc, cols, dived, master.triples)


def _below(
    relaxation: _Relaxation, cands: Candidates, cost: np.ndarray, scale: float
) -> Callable[[float, int], tuple[np.ndarray, float, Candidates, np.ndarray]]:
    """The columns of reduced cost up to ``t`` at the relaxation's duals (for close_gap)."""
    rc = relaxation.rc

    def columns_below(t: float, cap: int) -> tuple[np.ndarray, float, Candidates, np.ndarray]:
        chosen = np.flatnonzero(rc * scale <= t)
        if chosen.size > cap:
            # the cap least, and every column below the first left out
            order = np.argsort(rc, kind="stable")
            return np.sort(order[:cap]), float(rc[order[cap]] * scale), cands, cost
        return chosen, t, cands, cost

    return columns_below


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
    by_count: bool = True,
    start_of_count: Callable[[int], list[int] | None] | None = None,
    cuts: bool | None = None,
    of_count: Callable[[int], np.ndarray] | None = None,
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
    by_count
        When the count can vary (over at most :data:`MAX_COUNTS` values) and the search over
        every count at once has not proved its plan within :data:`FREE_SHARE` of the time,
        branch on the count (:func:`_by_count`).
    start_of_count
        A plan of exactly ``k`` networks (candidate indices) for a count ``k`` being branched
        on, or None (the heuristic's, in :func:`~pcnopt.model.partition.block.partition_block`);
        used only if it meets the earlier stages' limits and beats the best plan so far.
    cuts
        Strengthen the LP over every count with subset-row cuts (None: :data:`SUBSET_ROW_CUTS`).
        The heuristic's small programs, solved to a 1 % gap, go without.
    of_count
        Which candidates can be in a plan of exactly ``k`` networks (a mask; the sizes of
        :func:`~pcnopt.model.partition.enumeration.band_of_count`), for the fewest networks
        tried count by count; None: every candidate.
    """
    scale = max(1.0, float(np.abs(cost).max()) if cost.size else 1.0)
    free = _relax(
        cands,
        nodes=nodes,
        cost=cost,
        scale=scale,
        k_lo=k_lo,
        k_hi=k_hi,
        limits=limits,
        start=start,
        seed=None,
        deadline=deadline,
        integral=integral,
        batch=batch,
        cuts=SUBSET_ROW_CUTS if cuts is None else cuts,
        dive=True,
    )
    if free.kind is not None:
        return StageResult(free.kind, None, None, None, (int(free.cols.size), 0))
    if free.dived is not None and _within(
        free.dived, cost, math.inf if start is None else float(cost[start].sum()), limits
    ):
        start = sorted(free.dived)
    ip = IpArgs(
        nodes=nodes,
        k_lo=k_lo,
        k_hi=k_hi,
        limits=limits,
        solver=solver,
        threads=threads,
        mip_gap=mip_gap,
        cuts=free.triples,
    )
    branch = by_count and 1 < k_hi - k_lo + 1 <= MAX_COUNTS and not integral and free.converged
    fewest = by_count and integral and k_hi > k_lo and free.converged and _counts_only(cost)

    def over_every_count(plan: list[int] | None, until: float | None) -> StageResult:
        """The closing programs of the search over every count, from ``plan`` (or none)."""
        return close_gap(
            _below(free, cands, cost, scale),
            cands=cands,
            cost=cost,
            start=plan,
            ub=math.inf if plan is None else float(cost[plan].sum()),
            lb=free.bound,
            converged=free.converged,
            own=free.cols,
            ip=ip,
            deadline=until,
            integral=integral,
        )

    if fewest and not (start is not None and whole_bound(free.bound) >= len(start)):
        # the counts one by one first: each count's programs hold the columns of least compact
        # reduced cost, where the program over every count holds every column of reduced cost
        # 0 (E38000232: 102,770 of them, given 5.5 s, took 16 s and met nothing; the count by
        # count search then met 13 networks in 6 s)
        found = StageResult(
            Status.NO_SOLUTION if start is None else Status.FEASIBLE,
            start,
            None if start is None else float(len(start)),
            free.bound,
            (int(free.cols.size), 0),
        )
        least = _least_count(
            cands,
            free=free,
            found=found,
            ip=ip,
            deadline=deadline,
            batch=batch,
            start_of_count=start_of_count,
            of_count=of_count,
        )
        if least.kind in (Status.OPTIMAL, Status.INFEASIBLE):
            return least
        if deadline is not None and time.perf_counter() > deadline:
            return least
        # a count neither met nor ruled out: the search over every count goes on with the
        # time left, from the plan in hand
        rest = over_every_count(least.plan, deadline)
        bounds = [b for b in (least.bound, rest.bound) if b is not None]
        return replace(rest, bound=max(bounds) if bounds else None)
    result = over_every_count(start, share_of_time(deadline, FREE_SHARE) if branch else deadline)
    if not branch or result.kind in (Status.OPTIMAL, Status.INFEASIBLE):
        return result
    if deadline is not None and time.perf_counter() > deadline:
        return result
    counted = _by_count(
        cands,
        cost=cost,
        scale=scale,
        free=free,
        found=result,
        ip=ip,
        deadline=deadline,
        batch=batch,
        start_of_count=start_of_count,
    )
    if counted is not None:
        return counted
    # more counts open than the branching can close: the search over every count goes on
    # with the time left, from its best plan (its cheap first programs are solved again)
    rest = over_every_count(result.plan, deadline)
    bounds = [b for b in (result.bound, rest.bound) if b is not None]
    return replace(rest, bound=max(bounds) if bounds and rest.bound is not None else rest.bound)


def _by_count(
    cands: Candidates,
    *,
    cost: np.ndarray,
    scale: float,
    free: _Relaxation,
    found: StageResult,
    ip: IpArgs,
    deadline: float | None,
    batch: int,
    start_of_count: Callable[[int], list[int] | None] | None,
) -> StageResult | None:
    r"""Branch on the number of networks: each count :math:`k` searched on its own.

    The LP with :math:`\sum_S x_S = k` is solved by its own column generation (its own
    count dual), giving a bound :math:`z_k \ge z_{LP}` (the free LP mixes counts: at
    E38000080 it is 215 M free, 231 M at 6 networks). Then, in order of :math:`z_k`, each
    count's closing integer programs (:func:`close_gap` with the count fixed and the best plan
    of any count as cutoff). A count whose bound reaches the best plan's value is pruned. The
    optimum is the best plan over the counts; the bound the least bound over them.

    :math:`z_k` is convex in :math:`k` (an LP's value in a right-hand side), so the counts are
    relaxed outwards from the best plan's count and, once a count's LP is at or above the
    best plan and above its inner neighbour's, every count beyond it is pruned with that bound.

    ``found`` is the result of the search over every count (its plan, its bound, valid for
    every count); its deadline shared by the counts. Before a count's programs, a plan of that
    count from ``start_of_count`` that beats the best plan becomes the best plan (CBC, warm
    started, closes a count far faster with a plan of it in hand).

    Returns None, having spent only the LPs, when more than :data:`MAX_OPEN_COUNTS` counts
    have an LP bound below the best plan (large places: the time left is better spent on the
    search over every count).
    """
    tol = ip.mip_gap

    def done(value: float, bound: float) -> bool:
        return value - bound <= tol * abs(value) + 1e-9 * max(1.0, abs(value))

    best = found.plan
    ub = math.inf if found.value is None else found.value
    floor = free.bound if found.bound is None else max(free.bound, found.bound)
    generated = int(free.cols.size)

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    def relax(k: int) -> _Relaxation:
        start = best if best is not None and len(best) == k else None
        return _relax_at(
            cands,
            k,
            cost=cost,
            scale=scale,
            ip=ip,
            start=start,
            seed=free.cols,
            deadline=deadline,
            batch=batch,
        )

    k0 = min(max(len(best) if best is not None else ip.k_lo, ip.k_lo), ip.k_hi)
    bounds, relaxed, few = _relax_counts(
        relax,
        k0=k0,
        k_lo=ip.k_lo,
        k_hi=ip.k_hi,
        floor=floor,
        prune=lambda v: best is not None and done(ub, v),
    )
    if not few:
        return None
    bounds.update({k: max(floor, r.bound) for k, r in relaxed.items()})
    for r in relaxed.values():
        if r.dived is not None and _within(r.dived, cost, ub, ip.limits):
            best, ub = sorted(r.dived), float(cost[r.dived].sum())

    # each open count's closing programs, the most promising first; the time a count leaves
    # unused goes to the counts still open, in further passes
    generated += sum(int(r.cols.size) for r in relaxed.values())
    tried: set[int] = set()
    for _ in range(PASSES):
        open_counts = sorted(
            (k for k in relaxed if best is None or not done(ub, bounds[k])),
            key=lambda k: (bounds[k], k),
        )
        if not open_counts or out_of_time():
            break
        for pos, k in enumerate(open_counts):
            if out_of_time():
                break
            if start_of_count is not None and k not in tried and (best is None or len(best) != k):
                tried.add(k)
                plan = start_of_count(k)
                if plan is not None and len(plan) == k and _within(plan, cost, ub, ip.limits):
                    best, ub = plan, float(cost[plan].sum())
            if best is not None and done(ub, bounds[k]):
                continue
            share = (
                None
                if deadline is None
                else time.perf_counter()
                + max(0.0, deadline - time.perf_counter()) / (len(open_counts) - pos)
            )
            res = close_gap(
                _below(relaxed[k], cands, cost, scale),
                cands=cands,
                cost=cost,
                start=best if best is not None and len(best) == k else None,
                ub=ub,
                lb=relaxed[k].bound,  # the LP value the reduced costs are measured from
                converged=relaxed[k].converged,
                own=relaxed[k].cols,
                ip=replace(ip, k_lo=k, k_hi=k),
                deadline=share,
            )
            if res.plan is not None and res.value is not None and res.value < ub:
                best, ub = res.plan, res.value
            if res.kind == Status.INFEASIBLE:
                bounds[k] = math.inf
            elif res.bound is not None:
                bounds[k] = max(bounds[k], res.bound)
        if deadline is None:
            break  # each count's programs ran to the end: another pass finds nothing more

    bound = min(min(bounds.values(), default=floor), ub)
    columns = (generated, found.columns[1])
    if best is None:
        if math.isinf(bound) and bound > 0:
            return StageResult(Status.INFEASIBLE, None, None, None, columns)
        return StageResult(Status.NO_SOLUTION, None, None, bound, columns)
    if done(ub, bound):
        return StageResult(Status.OPTIMAL, best, ub, ub if tol == 0 else bound, columns)
    return StageResult(Status.FEASIBLE, best, ub, bound, columns)


def _relax_at(
    cands: Candidates,
    k: int,
    *,
    cost: np.ndarray,
    scale: float,
    ip: IpArgs,
    start: list[int] | None,
    seed: np.ndarray,
    deadline: float | None,
    batch: int,
) -> _Relaxation:
    """Column generation with exactly ``k`` networks and the stage's earlier limits, and the
    dive of its LP for a plan of ``k`` networks."""
    return _relax(
        cands,
        nodes=ip.nodes,
        cost=cost,
        scale=scale,
        k_lo=k,
        k_hi=k,
        limits=ip.limits,
        start=start,
        seed=seed,
        deadline=deadline,
        integral=False,
        batch=batch,
        dive=True,
    )


def _counts_only(cost: np.ndarray) -> bool:
    """Whether a stage's cost counts the networks (1 each): the fewest networks."""
    return bool(cost.size) and bool(np.all(cost == 1.0))


def _least_count(
    cands: Candidates,
    *,
    free: _Relaxation,
    found: StageResult,
    ip: IpArgs,
    deadline: float | None,
    batch: int,
    start_of_count: Callable[[int], list[int] | None] | None,
    of_count: Callable[[int], np.ndarray] | None = None,
) -> StageResult:
    """The fewest networks, count by count, when the search over every count left a gap.

    The counts from the LP bound up to the plan's are tried in turn, each with its own
    column generation at exactly that count, guided by the compact costs: a count whose LP
    has no solution (phase I) is impossible; otherwise a plan of that count is sought (the
    heuristic's, ``start_of_count``, then the dive of that LP, then the closing programs over
    the columns of least compact reduced cost). The first count with a plan is the fewest,
    since every count below it was proved impossible. A count neither proved impossible nor
    met ends the search: the result is then the plan in hand (if any) with that count as the
    bound. With no plan in hand the counts go up to ``k_hi``: all of them impossible, the
    stage is infeasible.

    With ``of_count``, each count is searched over only the candidates a plan of that count
    can hold (a count near the least the band allows leaves each network little room:
    E38000135's 248,533 patients in 5 networks of at most 50,000 need each to hold 48,533).
    """
    top = ip.k_hi + 1 if found.plan is None else len(found.plan)
    guide = cands.costs.get("compact", np.ones(cands.count))
    scale = max(1.0, float(np.abs(guide).max()) if guide.size else 1.0)
    generated = int(free.cols.size)
    k = max(ip.k_lo, round(whole_bound(free.bound)))
    if found.bound is not None:
        k = max(k, round(whole_bound(found.bound)))
    while k < top:
        if deadline is not None and time.perf_counter() > deadline:
            break
        plan = None if start_of_count is None else start_of_count(k)
        if plan is not None and len(plan) == k:
            return StageResult(Status.OPTIMAL, plan, float(k), float(k), (generated, 0))
        held = Held(cands, None if of_count is None else of_count(k))
        relaxed = _relax_at(
            held.cands,
            k,
            cost=held.of(guide),
            scale=scale,
            ip=ip,
            start=None,
            seed=held.inside(free.cols),
            deadline=deadline,
            batch=batch,
        )
        generated += int(relaxed.cols.size)
        if relaxed.kind == Status.INFEASIBLE:
            k += 1  # not even fractionally: no plan of k networks
            continue
        if relaxed.kind is not None or not relaxed.converged:
            break
        if relaxed.dived is not None:
            # the dive of the LP at k networks met a plan of k: the fewest
            plan = held.outside(relaxed.dived)
            return StageResult(Status.OPTIMAL, plan, float(k), float(k), (generated, 0))
        res = close_gap(
            _below(relaxed, held.cands, held.of(guide), scale),
            cands=held.cands,
            cost=held.of(guide),
            start=None,
            ub=math.inf,
            lb=relaxed.bound,
            converged=True,
            own=relaxed.cols,
            # any plan of k networks will do (the most compact is the next stage's): the
            # programs stop at the first (E38000232: 13 networks met in 13 s, then 40 s more
            # spent proving them the most compact, and none left for that stage)
            ip=replace(ip, k_lo=k, k_hi=k, mip_gap=1.0),
            deadline=deadline,
        )
        if res.plan is not None:
            plan = held.outside(res.plan)
            return StageResult(Status.OPTIMAL, plan, float(k), float(k), (generated, 0))
        if res.kind == Status.INFEASIBLE:
            k += 1
            continue
        break
    if found.plan is None:
        if k > ip.k_hi:
            return StageResult(Status.INFEASIBLE, None, None, None, (generated, 0))
        return StageResult(Status.NO_SOLUTION, None, None, float(k), (generated, 0))
    if k >= top:
        return StageResult(Status.OPTIMAL, found.plan, found.value, found.value, found.columns)
    return replace(found, bound=float(k))


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
            self.costs += list(compact_costs(sub, sub_ptr.astype(np.int64), self.cost_matrix))
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


class _Pricer(BlockArrays):
    """The compact objective's pricing over one block: greedy sets, or the exact search.

    Both return the sets (flat members, offsets) that meet the pair rules with their reduced
    costs; the exact search also whether it left sets out (its cap or the deadline).
    """

    def __init__(
        self,
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
        deadline: float | None,
    ) -> None:
        super().__init__(adj=adj, length=length, nodes=nodes, together=together, apart=apart)
        self.cost = cost
        self.pop = np.asarray(pop, float)
        self.lo, self.hi = float(lo), float(hi)
        self.deadline = math.inf if deadline is None else deadline
        #: The exact search keeps the ``cap`` sets of least reduced cost over the whole block
        #: (True), or stops at the first ``cap`` it meets (False: any negative set will do)
        self.least = True

    def exact(
        self,
        pi: np.ndarray,
        mu: float,
        thresh: float,
        cap: int,
        cuts: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Every set of reduced cost at most ``thresh`` (the ``cap`` least if more), the
        subset-row cuts ``cuts`` (:meth:`_Master.cut_prices`) in the reduced cost."""
        members, ptr, rcs, truncated = enumerate_sets(
            self.adj_ptr,
            self.adj_idx,
            self.pop,
            self.allowed,
            self.lo,
            self.hi,
            cap,
            True,
            self.cost,
            pi,
            mu,
            thresh,
            self.deadline,
            self.least,
            *cuts,
            *self.rules,
        )
        members, ptr, rcs = self.by_rules(members, ptr, rcs)
        return members, ptr, rcs, truncated

    def costing(self, cost: np.ndarray, *, least: bool = True) -> _Pricer:
        """The same pricing with another cost matrix (zeros: phase I, the count), keeping the
        sets of least reduced cost or the first met (``least``)."""
        other = copy.copy(self)
        other.cost = cost
        other.least = least
        return other

    def greedy(
        self, pi: np.ndarray, mu: float, thresh: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One greedy set per hub, if its reduced cost is at most ``thresh``."""
        found = grow_sets(
            self.adj_ptr,
            self.adj_idx,
            self.pop,
            self.allowed,
            self.lo,
            self.hi,
            self.cost,
            pi,
            mu,
            thresh,
        )
        members, ptr, rcs = self.by_rules(*found)
        return members, ptr, rcs


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
    objective: str = "compact",
) -> tuple[StageResult, Candidates]:
    """Minimise the compact objective (or the count) when the candidates are too many to list.

    The same column generation as :func:`solve_stage`, but each pricing round enumerates only
    the sets whose reduced cost can be negative (:func:`enumerate_sets` with ``priced``, pruned by
    a dual bound), and the final integer program only the sets with reduced cost up to the
    gap.
    Starts from a plan (``start_parts``) or, with none, a phase I priced the same way (every
    real column at cost 0) that finds columns making the LP feasible or proves that no plan
    exists (``INFEASIBLE``). Returns the result with candidate indices into
    the returned pool of candidates.

    With ``objective="count"`` every network costs 1 (the fewest networks): the searches price
    with a cost of 0 a practice and the count row's dual less 1, and the LP bound is rounded up.
    """
    n = len(adj)
    cost = np.ascontiguousarray(cost, dtype=float)
    counting = objective == "count"
    shift = 1.0 if counting else 0.0  # a network's own cost, priced through the count dual
    pricer = _Pricer(
        adj=adj,
        length=length,
        pop=pop,
        cost=np.zeros((n, n)) if counting else cost,
        nodes=nodes,
        lo=lo,
        hi=hi,
        together=together,
        apart=apart,
        deadline=deadline,
    )
    enumerate_below = pricer.exact

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    cuts_until = share_of_time(deadline, CUT_SHARE)

    def cut_time() -> bool:
        return cuts_until is None or time.perf_counter() < cuts_until

    pool = _Pool(cost)
    start: list[int] | None = None
    if start_parts:
        start = pool.add(
            np.concatenate([np.asarray(p, np.int32) for p in start_parts]),
            np.concatenate(([0], np.cumsum([len(p) for p in start_parts]))).astype(np.int64),
        )
    cands = pool.snapshot()
    ub = math.inf if start is None else float(cands.costs[objective][start].sum())
    scale = max(1.0, float(np.abs(cost).max()) if start is None else ub / max(1, len(start)))
    master = _Master(cands, nodes, k_lo, k_hi, cands.costs[objective], scale, [])

    take = partial(_take, master, pool, batch=batch, objective=objective, scale=scale)
    if start is None:
        kind = _priced_phase_one(
            master,
            take,
            phase_pricer=pricer.costing(np.zeros((n, n))),
            n=n,
            price_cap=price_cap,
            out_of_time=out_of_time,
        )
        if kind is not None:
            return StageResult(kind, None, None, None, (len(pool.parts), 0)), pool.snapshot()
    else:
        master.add(start)
        master.phase(first=False)
    res, lp_bound, converged = _priced_generation(
        master,
        take,
        pricer,
        n=n,
        scale=scale,
        shift=shift,
        k_hi=k_hi,
        price_cap=price_cap,
        out_of_time=out_of_time,
        cut_time=cut_time,
    )
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
            return (
                np.asarray(sorted(master.cols), np.int64),
                -math.inf,
                snap,
                snap.costs[objective],
            )
        _, cover, other = duals
        pi = np.zeros(n)
        pi[list(nodes)] = cover * scale
        cuts = master.cut_prices(other * scale, n)
        mu = float(other[0]) * scale - shift
        members, ptr, rcs, truncated = enumerate_below(pi, mu, t, cap, cuts)
        reach = listed_reach(rcs, thresh=t, stopped=truncated, deadline=pricer.deadline)
        chosen = np.asarray(sorted(set(pool.add(members, ptr))), np.int64)
        snap = pool.snapshot()
        return chosen, reach, snap, snap.costs[objective]

    if counting:
        # a whole number of networks, and never fewer than the band allows (the LP bound of
        # an unconverged generation can be far below)
        least = max(k_lo, least_count(float(np.asarray(pop, float)[list(nodes)].sum()), hi=hi))
        lp_bound = max(float(least), whole_bound(lp_bound) if math.isfinite(lp_bound) else 0)
    cands = pool.snapshot()
    if converged:
        start, ub = dived(
            master, cost=cands.costs[objective], start=start, ub=ub, deadline=deadline
        )
    result = close_gap(
        columns_below,
        cands=cands,
        cost=cands.costs[objective],
        start=start,
        ub=ub,
        lb=max(lp_bound, 0.0),  # compact costs and counts are never negative
        converged=converged,
        own=np.asarray(sorted(master.cols), np.int64),
        ip=ip,
        deadline=deadline,
        integral=counting,
    )
    return result, pool.snapshot()


def _priced_generation(
    master: _Master,
    take: Callable[[np.ndarray, np.ndarray, np.ndarray], bool],
    pricer: _Pricer,
    *,
    n: int,
    scale: float,
    shift: float,
    k_hi: int,
    price_cap: int,
    out_of_time: Callable[[], bool],
    cut_time: Callable[[], bool],
) -> tuple[tuple[float, np.ndarray, np.ndarray] | None, float, bool]:
    """Phase II of a priced search: the greedy sets, then the exact search when they price
    out, until no set of negative reduced cost is left (then the subset-row cuts, while
    ``cut_time()``), or out of time. Returns the last LP solve (None if HiGHS failed), the
    bound, and whether the generation converged (the LP is unchanged since that solve)."""
    lp_bound = -math.inf
    converged = False
    nodes = master.nodes
    while True:
        res = master.solve()
        if res is None:
            break
        value, cover, other = res
        pi = np.zeros(n)
        pi[nodes] = cover * scale
        mu = float(other[0]) * scale - shift
        # the greedy sets first; the exact search only when they price out (or, with them,
        # the bound is wanted and the LP has not moved)
        members, ptr, rcs = pricer.greedy(pi, mu, -TOL * scale)
        members, ptr, rcs = with_cuts(
            master, members, ptr, rcs, other=other * scale, thresh=-TOL * scale
        )
        truncated = True
        if rcs.size == 0:
            cuts = master.cut_prices(other * scale, n)
            members, ptr, rcs, truncated = pricer.exact(pi, mu, -TOL * scale, price_cap, cuts)
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
        if not take(members, ptr, rcs):
            break  # numerically stuck: every priced column is already in the master
    return res, lp_bound, converged


def branch_priced_count(
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
    k: int,
    deadline: float | None,
    batch: int = 400,
) -> PairSearch:
    """Whether the block has a plan of exactly ``k`` networks of ``lo`` to ``hi`` patients,
    by branch-and-price on pairs of practices (:func:`branching.branch_on_pairs`), every
    node's columns priced by the compiled searches under its rules, the compact objective as
    the guide. Returns the plan, a proof that there is none, or neither by ``deadline``."""
    cost = np.ascontiguousarray(cost, dtype=float)
    pricer = _Pricer(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=nodes,
        lo=lo,
        hi=hi,
        together=together,
        apart=apart,
        deadline=deadline,
    )
    scale = max(1.0, float(np.abs(cost).max()) if cost.size else 1.0)

    def relax(
        more_together: Pairs, more_apart: Pairs, columns: Sequence[tuple[int, ...]]
    ) -> NodeLp:
        return _priced_node(
            pricer.ruled(more_together, more_apart),
            nodes=nodes,
            k=k,
            scale=scale,
            columns=columns,
            batch=batch,
            deadline=deadline,
        )

    return branch_on_pairs(relax, deadline=deadline)


#: Sets a node's phase I pricing stops at: any set of negative reduced cost will do there
#: (the search keeping the least over the whole block took up to 20 s a node).
NODE_PRICE_CAP = 2000


def _priced_node(
    pricer: _Pricer,
    *,
    nodes: Sequence[int],
    k: int,
    scale: float,
    columns: Sequence[tuple[int, ...]],
    batch: int,
    deadline: float | None,
) -> NodeLp:
    """One node of :func:`branch_priced_count`: phase I at exactly ``k`` networks from
    ``columns``, priced under the node's rules (or a proof that the node's LP has no
    solution), then the LP of the compact objective over the columns it found, and its
    dive."""
    n = pricer.n

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    pool = _Pool(pricer.cost)
    seeds: list[int] = []
    if columns:
        seeds = pool.add(
            np.concatenate([np.asarray(c, np.int32) for c in columns]),
            np.concatenate(([0], np.cumsum([len(c) for c in columns]))).astype(np.int64),
        )
    cands = pool.snapshot()
    master = _Master(cands, nodes, k, k, cands.costs["compact"], scale, [])
    master.add(seeds)
    take = partial(_take, master, pool, batch=batch, objective="compact", scale=scale)
    kind = _priced_phase_one(
        master,
        take,
        phase_pricer=pricer.costing(np.zeros((n, n)), least=False),
        n=n,
        price_cap=NODE_PRICE_CAP,
        out_of_time=out_of_time,
    )
    if kind is not None:
        return NodeLp(kind, None)
    # the compact objective over the columns phase I found (no pricing: the node's LP is
    # only to branch on, and pricing it to its optimum took 2-45 s a node at E38000016)
    res = master.solve()
    if res is None:
        return NodeLp(Status.NO_SOLUTION, None)
    x = master.primal()
    support = tuple(
        (tuple(int(v) for v in pool.parts[c]), float(v))
        for c, v in zip(master.cols, x, strict=True)
        if v > WHOLE
    )
    held = tuple(tuple(int(v) for v in pool.parts[c]) for c in master.cols)
    plan = whole_plan(support)
    if plan is None:
        dived_cols = master.dive(dive_deadline(deadline))
        if dived_cols is not None:
            plan = [sorted(int(v) for v in pool.parts[c]) for c in dived_cols]
    return NodeLp(None, plan, support, held)


def _take(
    master: _Master,
    pool: _Pool,
    members: np.ndarray,
    ptr: np.ndarray,
    rcs: np.ndarray,
    *,
    batch: int,
    objective: str,
    scale: float,
) -> bool:
    """Add the ``batch`` priced sets of least reduced cost to the pool and the master;
    whether the master grew."""
    order = np.argsort(rcs, kind="stable")[:batch]
    picked, picked_ptr = subsets(members, ptr, order)
    new = pool.add(picked, picked_ptr)
    master.cands = pool.snapshot()
    master.cost = master.cands.costs[objective] / scale
    before = len(master.cols)
    master.add(new)
    return len(master.cols) > before


def _phase_one(
    master: _Master,
    add_negative: Callable[[np.ndarray, np.ndarray], bool | None],
    out_of_time: Callable[[], bool],
) -> Status | None:
    """Phase I of the master (artificial columns at cost 1, every real column at 0): columns
    that make its LP feasible (None, the master left in phase II), or a proof that none do
    (``INFEASIBLE``), or ``NO_SOLUTION`` (out of time, no column added, or HiGHS failed).

    ``add_negative(cover, other)`` prices with the phase's duals and adds columns of negative
    reduced cost to the master: True when it did, False when it proved there are none, None
    when it found some but the master did not grow.
    """
    master.phase(first=True)
    while True:
        res = master.solve()
        if res is None:
            return Status.NO_SOLUTION
        value, cover, other = res
        if value <= 1e-9:
            break
        added = add_negative(cover, other)
        if added is False:
            return Status.INFEASIBLE
        if added is None or out_of_time():
            return Status.NO_SOLUTION
    master.phase(first=False)
    return None


def _priced_phase_one(
    master: _Master,
    take: Callable[[np.ndarray, np.ndarray, np.ndarray], bool],
    *,
    phase_pricer: _Pricer,
    n: int,
    price_cap: int,
    out_of_time: Callable[[], bool],
) -> Status | None:
    """:func:`_phase_one` of a priced search with no starting plan: every real column costs 0
    in phase I, so the searches price with a cost of 0 a practice (``phase_pricer``), as the
    count's do; the count is proved to have no plan when the exact search meets no set of
    negative reduced cost while the artificial columns are still used."""

    def priced_negative(cover: np.ndarray, other: np.ndarray) -> bool | None:
        pi = np.zeros(n)
        pi[master.nodes] = cover
        mu = float(other[0])
        members, ptr, rcs = phase_pricer.greedy(pi, mu, -TOL)
        if rcs.size == 0:
            cuts = master.cut_prices(other, n)
            members, ptr, rcs, truncated = phase_pricer.exact(pi, mu, -TOL, price_cap, cuts)
            if rcs.size == 0 and not truncated:
                return False
        return True if take(members, ptr, rcs) else None

    return _phase_one(master, priced_negative, out_of_time)


def _relax_counts(
    relax: Callable[[int], _Relaxation],
    *,
    k0: int,
    k_lo: int,
    k_hi: int,
    floor: float,
    prune: Callable[[float], bool],
) -> tuple[dict[int, float], dict[int, _Relaxation], bool]:
    """The LP of each count, outwards from ``k0``: bounds per count, and the relaxations solved.

    The flag is False (and the relaxing stopped) once more than :data:`MAX_OPEN_COUNTS`
    counts have a bound that ``prune`` does not close.

    The LP value is convex in the count, and its feasible counts form an interval: once a
    count's LP value is at or above its inner neighbour's and ``prune(value)`` holds, every
    count further out is bounded by that value and not relaxed; once a count's LP is
    infeasible beyond a feasible one, so is every count further out.
    """
    bounds: dict[int, float] = {}
    relaxed: dict[int, _Relaxation] = {}
    opened = 0
    for direction in (1, -1):
        k = k0 if direction == 1 else k0 - 1
        inner = None if direction == 1 or k0 not in relaxed else relaxed[k0].value
        feasible = direction == -1 and math.isfinite(bounds.get(k0, math.inf))
        beyond: float | None = None  # the bound of every count further out
        while k_lo <= k <= k_hi:
            if beyond is not None:
                bounds[k] = beyond
                k += direction
                continue
            r = relax(k)
            if r.kind == Status.INFEASIBLE:
                bounds[k] = math.inf
                beyond = math.inf if feasible else None
                k += direction
                continue
            feasible = True
            bounds[k] = max(floor, r.bound)
            if not prune(bounds[k]):
                opened += 1
                if opened > MAX_OPEN_COUNTS:
                    return bounds, relaxed, False
            if r.kind is None:
                relaxed[k] = r
            if r.value is not None and inner is not None and r.value >= inner and prune(r.value):
                beyond = max(floor, r.value)
            inner = r.value
            k += direction
    return bounds, relaxed, True


def _within(
    plan: list[int], cost: np.ndarray, ub: float, limits: Sequence[tuple[np.ndarray, float]]
) -> bool:
    """Whether a plan beats ``ub`` and meets every earlier stage's limit."""
    if float(cost[plan].sum()) >= ub:
        return False
    return all(float(c[plan].sum()) <= v for c, v in limits)


def with_cuts(
    master: _Master,
    members: np.ndarray,
    ptr: np.ndarray,
    rcs: np.ndarray,
    *values: np.ndarray,
    other: np.ndarray,
    thresh: float,
) -> tuple[np.ndarray, ...]:
    """The greedy sets (and their ``values``, one entry a set) still at most ``thresh`` once
    the master's cuts are in their reduced cost.

    The greedy sets are grown without the cuts; their duals (``other``, in the units of
    ``rcs``) only raise a reduced cost, so they are filtered here (the exact search prices
    the cuts itself).
    """
    if not master.triples.shape[0] or ptr.shape[0] <= 1:
        return (members, ptr, rcs, *values)
    rcs = rcs - master.cut_penalty(members, ptr, other)
    keep = rcs <= thresh
    members, ptr = kept(members, ptr, keep)
    return (members, ptr, rcs[keep], *(v[keep] for v in values))


def _most_negative(rc: np.ndarray, in_master: np.ndarray, batch: int) -> list[int]:
    cand = np.flatnonzero((rc < -TOL) & ~in_master)
    if cand.size > batch:
        cand = cand[np.argpartition(rc[cand], batch)[:batch]]
    return sorted(int(s) for s in cand)


def _cheapest_cover(cands: Candidates, cost: np.ndarray) -> list[int]:
    owner = np.repeat(np.arange(cands.count), np.diff(cands.ptr))
    order = np.lexsort((cost[owner], cands.members))
    first = np.ones(order.size, np.bool_)
    first[1:] = cands.members[order][1:] != cands.members[order][:-1]
    return sorted({int(s) for s in owner[order][first]})
