"""The closing integer programs over the columns of small reduced cost.

See :mod:`pcnopt.model.partition` for the argument.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pulp

from pcnopt.model import solvers as slv
from pcnopt.model.partition.cuts import cut_incidence
from pcnopt.model.partition.enumeration import Candidates, subsets
from pcnopt.model.solvers import Status

#: First reduced-cost threshold of the closing integer programs, relative to the LP bound.
FIRST_GAP = 0.003

#: Largest final integer program; above it the columns of least reduced cost are kept and the
#: LP bound is reported instead of a proof.
MAX_IP_COLUMNS = 100_000

#: Least time worth giving a closing program, in seconds; with less left none is started.
LEAST_PROGRAM_SECONDS = 0.5


def whole_bound(value: float) -> float:
    """The least whole number an LP ``value`` proves where every plan costs a whole number
    (a count of networks, of patients): ``value`` rounded up, or to the nearest whole number
    when within a millionth of it, the LP's error (37.0000001 networks prove 37, not 38)."""
    nearest = round(value)
    if abs(value - nearest) <= 1e-6 * max(1.0, abs(value)):
        return float(nearest)  # (rounding the value less its error up lost 10 of 10,598,317)
    return float(math.ceil(value))


@dataclass(frozen=True)
class StageResult:
    """Outcome of one objective stage.

    Parameters
    ----------
    kind
        ``OPTIMAL``, ``FEASIBLE`` (stopped by the deadline with a plan), ``INFEASIBLE``
        (proved: not even the LP has a solution) or ``NO_SOLUTION`` (stopped without a plan).
    plan
        Candidate indices of the chosen networks, or None.
    value
        Stage objective of the plan.
    bound
        Proven lower bound on the stage objective, or None.
    columns
        Columns generated, and columns in the final integer program.
    """

    kind: Status
    plan: list[int] | None
    value: float | None
    bound: float | None
    columns: tuple[int, int]


@dataclass(frozen=True)
class IpArgs:
    """What every closing program of a stage shares: the practices to cover, the count, the
    earlier stages' limits, the solver, and the subset-row cuts of the master LP (rows of 3
    practices: at most one network holds two of them; valid for every plan, they start the
    program's own LP at the master's bound, where CBC's started below it: E38000251's refresh
    at 258,364 against the master's 258,666)."""

    nodes: Sequence[int]
    k_lo: int
    k_hi: int
    limits: Sequence[tuple[np.ndarray, float]]
    solver: str
    threads: int
    mip_gap: float
    cuts: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))


def share_of_time(deadline: float | None, fraction: float) -> float | None:
    """The moment ``fraction`` of the time from now to ``deadline`` has passed (None: none)."""
    if deadline is None:
        return None
    return time.perf_counter() + fraction * max(0.0, deadline - time.perf_counter())


def close_gap(
    columns_below: Callable[[float, int], tuple[np.ndarray, float, Candidates, np.ndarray]],
    *,
    cands: Candidates,
    cost: np.ndarray,
    start: list[int] | None,
    ub: float,
    lb: float,
    converged: bool,
    own: np.ndarray,
    ip: IpArgs,
    deadline: float | None,
    integral: bool = False,
) -> StageResult:
    """Integer programs over the columns of reduced cost up to t, for growing t.

    ``columns_below(t, cap)`` gives every column with reduced cost at most ``t``, and its
    reach: ``t`` or more when the list is complete; where more than ``cap`` columns are that
    cheap, the ``cap`` least and the reduced cost below which every column is listed (``-inf``
    if unknown: a list cut by a deadline). Every plan using a column outside a complete list
    costs more than ``lb + t``; so once a plan of value at most ``lb + t`` is optimal over
    those columns, it is optimal. Small ``t`` keeps the program small; ``t = ub - lb`` is the
    classic reduced-cost filter. A capped list still bounds: every plan costs at least its
    program's optimum or ``lb + reach``.

    ``ub`` is the value of ``start``, or, with no ``start``, a cutoff (infinite: none): a plan
    found elsewhere, so that a result with no plan and a bound at ``ub`` says that no plan here
    is better.

    With ``integral`` (every plan's cost a whole number: the count of networks) a better plan
    than ``ub`` costs at most ``ub - 1``, so the last step needs only the columns of reduced
    cost up to ``ub - 1 - lb``, and a plan costing more than ``lb + t`` costs at least the next
    whole number. (At E38000135's fewest networks, 6 found against a bound of 5: 67,884
    columns up to ``ub - lb``, none of them needed above 0.)
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
            return StageResult(Status.NO_SOLUTION, None, None, bound, (generated, int(own.size)))
        kind = Status.OPTIMAL if bound is not None and done(ub, bound) else Status.FEASIBLE
        return StageResult(kind, start, ub, bound, (generated, int(own.size)))
    bound = lb
    if start is not None and done(ub, lb):
        return StageResult(Status.OPTIMAL, start, ub, lb, (generated, 0))
    t = max(FIRST_GAP * abs(lb), eps)
    last = 0
    step = 1.0 if integral else 0.0  # the least a better plan saves

    def beyond(t_eff: float) -> float:
        """The least cost of a plan with a column of reduced cost above ``t_eff``."""
        if integral and math.isfinite(t_eff):
            return math.floor(lb + t_eff + eps) + 1.0
        return lb + t_eff

    def from_reach(reach: float) -> float:
        """The least cost of a plan with a column of reduced cost ``reach`` or more."""
        if integral and math.isfinite(reach):
            return float(math.ceil(lb + reach - eps))
        return lb + reach

    while True:
        # with a cutoff ub (a plan in hand, or, when the count is branched on, a plan of
        # another count) the columns of reduced cost up to ub - lb are the last step
        whole = math.isfinite(ub) and t >= ub - step - lb
        t_eff = (ub - step - lb) if whole else t
        chosen, reach, cands, cost = columns_below(t_eff + eps, MAX_IP_COLUMNS)
        complete = reach >= t_eff + eps
        if start is not None:
            chosen = np.union1d(chosen, np.asarray(start, np.int64))
        if not last:
            # the first program also holds the master's own columns: the LP's support and
            # what pricing met on the way, far from the cheapest reduced costs where the LP
            # is weak, are often a better plan (the refresh of E38000254: 70,103 patients
            # moved against the heuristic's 123,943, which no later program improved on)
            chosen = np.union1d(chosen, own).astype(np.int64)
        last = int(chosen.size)
        # the last program (every column up to the cutoff, or the most the cap allows: no
        # larger one follows) has the time left; a smaller one a share, leaving the rest
        plan, value, kind, ip_bound = _integer_program(
            cands,
            chosen,
            cost=cost,
            start=start,
            ip=ip,
            deadline=deadline if whole or not complete else share_of_time(deadline, 0.4),
        )
        if plan is not None and value is not None and value < ub:
            start, ub = plan, value
        # the optimum is the program's optimum, or costs more than lb + t_eff (at least
        # lb + reach where the list was capped)
        above = beyond(t_eff) if complete else from_reach(reach)
        if kind == Status.OPTIMAL and value is not None:
            bound = max(bound, min(value, above))
        elif kind == Status.INFEASIBLE:
            bound = max(bound, above)
        elif ip_bound is not None:
            bound = max(bound, min(ip_bound, above))
        if complete and kind == Status.INFEASIBLE and start is None and math.isinf(t_eff):
            return StageResult(Status.INFEASIBLE, None, None, None, (generated, last))
        if start is not None and done(ub, bound):
            return StageResult(
                Status.OPTIMAL, start, ub, ub if gap_ok == 0 else bound, (generated, last)
            )
        # with no deadline and no plan, the program over every column is not tried again (with
        # a deadline it is, with the time left: CBC may then find a plan)
        stuck = math.isinf(t_eff) and start is None and deadline is None
        if whole or stuck:
            break
        if deadline is not None and deadline - time.perf_counter() < LEAST_PROGRAM_SECONDS:
            break  # (the program would not start: looping on would only list columns again)
        if not complete:
            # the list was cut at the cap: a plan it gave lowers the cutoff below what was
            # asked, and the columns up to that may fit (E38000244's refresh: the capped
            # program at t = 1,393 found a plan 341 patients above the LP bound)
            if not (math.isfinite(ub) and ub - step - lb < t_eff):
                break
            t = ub - step - lb
            continue
        t = math.inf if (start is None and t > 0.1 * abs(lb)) else t * 4
    if start is None:
        return StageResult(Status.NO_SOLUTION, None, None, bound, (generated, last))
    return StageResult(Status.FEASIBLE, start, ub, bound, (generated, last))


def _integer_program(
    cands: Candidates,
    cols: np.ndarray,
    *,
    cost: np.ndarray,
    start: list[int] | None,
    ip: IpArgs,
    deadline: float | None,
) -> tuple[list[int] | None, float | None, Status, float | None]:
    if deadline is not None and deadline - time.perf_counter() < LEAST_PROGRAM_SECONDS:
        # (checked again after building: a program of 60,000 columns takes seconds to build,
        # and one given 0.4 s took 3.4 s of E38000006's refresh)
        return None, None, Status.NO_SOLUTION, None
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
    if cands.group is not None:
        continuing: dict[int, list[pulp.LpVariable]] = {}
        for s, var in x.items():
            if cands.group[s] >= 0:
                continuing.setdefault(int(cands.group[s]), []).append(var)
        for g, group_vars in sorted(continuing.items()):
            if len(group_vars) > 1:
                prob += (pulp.lpSum(group_vars) <= 1, f"continue_{g}")
    triples = np.asarray(ip.cuts, np.int64).reshape(-1, 3)
    if triples.shape[0] and cols.size:
        order = np.asarray(list(x), np.int64)
        sub, sub_ptr = subsets(cands.members, cands.ptr, order)
        size = int(max(int(triples.max()), int(sub.max()) if sub.size else 0)) + 1
        cut_of, col_of = cut_incidence(sub, sub_ptr, triples, size)
        rows: dict[int, list[pulp.LpVariable]] = {}
        for cut, j in zip(cut_of.tolist(), col_of.tolist(), strict=True):
            rows.setdefault(cut, []).append(x[int(order[j])])
        for cut, row_vars in sorted(rows.items()):
            if len(row_vars) > 1:
                prob += (pulp.lpSum(row_vars) <= 1, f"subset_row_{cut}")
    warm = None if start is None else {f"s_{s}": 1.0 for s in start}
    remaining = None if deadline is None else deadline - time.perf_counter()
    if remaining is not None and remaining < LEAST_PROGRAM_SECONDS:
        return None, None, Status.NO_SOLUTION, None
    res = slv.solve(
        prob,
        solver=ip.solver,
        time_limit=None if remaining is None else max(0.5, 0.9 * remaining - 0.5),
        threads=ip.threads,
        mip_gap=ip.mip_gap,
        warm_start=warm,
    )
    if res.status == Status.INFEASIBLE:
        if start is not None:
            # the program holds a plan that meets every row: a claim of infeasibility is the
            # solver's error (once from CBC, warm-started, on a program of 59,600 columns),
            # not a proof, and must not become a bound
            return None, None, Status.NO_SOLUTION, None
        return None, None, Status.INFEASIBLE, None
    if res.status == Status.NO_SOLUTION:
        return None, None, Status.NO_SOLUTION, res.bound
    plan = sorted(s for s in x if res.values.get(f"s_{s}", 0.0) > 0.5)
    value = float(cost[plan].sum())
    return plan, value, res.status, res.bound
