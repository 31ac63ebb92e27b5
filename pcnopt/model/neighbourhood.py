"""Large-neighbourhood improvement and repair of a plan, one neighbourhood at a time."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from pcnopt.model import partition as setpart
from pcnopt.model.hess import HessModel, solve_rounds
from pcnopt.model.place import Place, k_range
from pcnopt.model.solvers import Status


def improve_by_subproblems(
    place: Place,
    parts: list[list[int]],
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
) -> list[list[int]]:
    """Large-neighbourhood search: re-solve each network with its neighbours exactly.

    One pass over the networks (in order of their smallest practice): the union of a network
    and the networks bordering it is re-partitioned by the same integer program (free count,
    warm-started with the current plan), and the result kept if it is cheaper. Used for the
    compact objective, whose optimum is local; it gives the main solve a far better incumbent.
    At most a third of the remaining time is spent here.
    """
    opts = place.options
    budget = None
    if deadline is not None:
        budget = time.perf_counter() + (deadline - time.perf_counter()) / 3
    parts = [sorted(p) for p in parts]
    order = sorted(range(len(parts)), key=lambda r: parts[r][0])
    pair_rules = [(a, b) for a, b in together] + [(a, b) for a, b in apart]
    for r in order:
        if budget is not None and time.perf_counter() > budget - 1.0:
            break
        label = {v: q for q, part in enumerate(parts) for v in part}
        if r >= len(parts):
            break
        group = {r} | {label[w] for v in parts[r] for w in place.adj[v] if w in label}
        group_list = sorted(group, key=lambda q: (float(place.dist[parts[r][0], parts[q][0]]), q))
        chosen: list[int] = []
        for q in group_list:
            if sum(len(parts[c]) for c in chosen) + len(parts[q]) <= 20:
                chosen.append(q)
        if len(chosen) < 2:
            continue
        sub = sorted(v for q in chosen for v in parts[q])
        members = set(sub)
        if any((a in members) != (b in members) for a, b in pair_rules):
            continue
        total = float(place.pop[sub].sum())
        k_lo, k_hi = k_range(total, opts.min_size, opts.max_size)
        old_parts = [parts[q] for q in chosen]
        old_cost = sum(place.part_cost(p) for p in old_parts)
        tog = [(a, b) for a, b in together if a in members]
        apt = [(a, b) for a, b in apart if a in members]
        model = HessModel(
            place,
            sub,
            k_lo=k_lo,
            k_hi=min(k_hi, len(sub)),
            together=tog,
            apart=apt,
            upper_cutoff=None,
        )
        if model.start_values(old_parts) is None:
            continue
        model.prob.setObjective(model.expr["compact"])
        stop = time.perf_counter() + 10.0
        if budget is not None:
            stop = min(stop, budget)
        kind, plan, _, _ = solve_rounds(model, old_parts, deadline=stop)
        if plan is None or kind == Status.INFEASIBLE:
            continue
        new_cost = sum(place.part_cost(p) for p in plan)
        if new_cost < old_cost * (1 - 1e-9):
            keep = [p for q, p in enumerate(parts) if q not in chosen]
            parts = sorted((sorted(p) for p in keep + plan), key=lambda p: p[0])
    return parts


#: Practices in one repair subproblem: first try, and the most it grows to.
REPAIR_PRACTICES = (16, 80)


def _neighbourhood(
    place: Place,
    plan: Sequence[Sequence[int]],
    r: int,
    near: Mapping[int, tuple[float, int]],
    *,
    cap: int,
) -> list[int]:
    """Network ``r`` of the plan and the networks around it, nearest neighbour first, while
    their practices number at most ``cap``."""
    label = {v: q for q, part in enumerate(plan) for v in part}
    chosen = [r]
    frontier = {label[w] for v in plan[r] for w in place.adj[v] if w in label} - {r}
    while frontier:  # nearest neighbouring network that still fits under the cap
        q = min(frontier, key=near.__getitem__)
        frontier.discard(q)
        if sum(len(plan[c]) for c in chosen) + len(plan[q]) > cap:
            continue
        chosen.append(q)
        frontier |= {label[w] for v in plan[q] for w in place.adj[v] if w in label} - set(chosen)
    return chosen


def repair_by_subproblems(
    place: Place,
    parts: Sequence[Sequence[int]],
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
) -> list[list[int]] | None:
    """Make a plan with networks outside the band fit it, one neighbourhood at a time.

    For large places where neither the heuristic nor the integer program finds an in-band
    plan quickly: the heuristic's least-violation plan is mostly right, with a few networks
    too small or too large. Each of those, with the networks around it (nearest first, whole
    networks only, up to ``REPAIR_PRACTICES`` practices, more if that has no solution), is
    re-partitioned exactly by set partitioning over every candidate network of the
    neighbourhood. Returns an in-band plan that keeps every rule, or None (time ran out, or a
    network cannot be mended locally). At most a third of the remaining time is spent here.
    """
    opts = place.options
    lo, hi = opts.min_size, opts.max_size
    budget = None
    if deadline is not None:
        budget = time.perf_counter() + (deadline - time.perf_counter()) / 3
    pair_rules = [(a, b) for a, b in together] + [(a, b) for a, b in apart]
    plan = [sorted(p) for p in parts]

    def misfit(part: list[int]) -> float:
        size = float(place.pop[part].sum())
        return max(0.0, lo - size) + max(0.0, size - hi)

    stuck: set[tuple[int, ...]] = set()
    while True:
        bad = [q for q, p in enumerate(plan) if misfit(p) > 0 and tuple(p) not in stuck]
        if not bad:
            break
        if budget is not None and time.perf_counter() > budget:
            return None
        r = max(bad, key=lambda q: (misfit(plan[q]), -plan[q][0]))
        near = {  # how close each network comes to the misfit: its nearest pair of practices
            q: (float(place.dist[np.ix_(plan[r], p)].min()), q) for q, p in enumerate(plan)
        }
        mended = None
        for cap in range(REPAIR_PRACTICES[0], REPAIR_PRACTICES[1] + 1, 8):
            chosen = _neighbourhood(place, plan, r, near, cap=cap)
            sub = sorted(v for q in chosen for v in plan[q])
            members = set(sub)
            if any((a in members) != (b in members) for a, b in pair_rules):
                continue
            k_lo, k_hi = k_range(float(place.pop[sub].sum()), lo, hi)
            if k_lo > k_hi:
                continue
            cands = setpart.candidates_for(
                adj=place.adj,
                length=place.length,
                pop=place.pop,
                cost=place.cost,
                nodes=sub,
                lo=lo,
                hi=hi,
                together=[(a, b) for a, b in together if a in members],
                apart=[(a, b) for a, b in apart if a in members],
                terms=("compact",),
                max_candidates=1_000_000,
            )
            if cands is None or cands.count == 0:
                continue
            stop = (
                time.perf_counter() + 10.0
                if budget is None
                else min(budget, time.perf_counter() + 10.0)
            )
            res = setpart.solve_stage(
                cands,
                nodes=sub,
                cost=cands.costs["compact"],
                k_lo=k_lo,
                k_hi=k_hi,
                limits=[],
                start=None,
                solver=opts.solver,
                threads=opts.threads,
                mip_gap=0.01,
                deadline=stop,
                cuts=False,  # a 1 % gap in a few seconds: the cuts' rounds would not pay
            )
            if res.plan is not None:
                mended = [cands.part(c) for c in res.plan]
                break
            if res.kind != Status.INFEASIBLE:
                break  # out of time for this neighbourhood
        if mended is None:
            stuck.add(tuple(plan[r]))
            continue
        keep = [p for q, p in enumerate(plan) if q not in chosen]
        plan = sorted((sorted(p) for p in keep + mended), key=lambda p: p[0])
    if any(misfit(p) > 0 for p in plan):
        return None
    return plan
