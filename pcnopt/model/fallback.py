"""The least-violation plan returned where the band cannot be met, and the reasons in words."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pcnopt.model import heuristic as heur
from pcnopt.model.heuristic import block_heuristic
from pcnopt.model.place import Block, Place, fmt
from pcnopt.model.solvers import Status
from pcnopt.model.types import FALLBACK


def arith_reason(total: float, count: int, lo: float, hi: float) -> str:
    k_min = max(1, math.ceil(total / hi - 1e-9))
    below = k_min - 1
    parts = []
    if below >= 1:
        parts.append(
            f"{below} network{'s' if below > 1 else ''} would hold more than "
            f"{fmt(hi)} patients each on average"
        )
    parts.append(f"{k_min} networks would need at least {fmt(k_min * lo)}")
    return (
        f"The {count} practice{'s' if count > 1 else ''} connected here have "
        f"{fmt(total)} patients in total: {' and '.join(parts)}, so no split fits "
        f"{fmt(lo)}-{fmt(hi)}."
    )


def fallback(
    place: Place,
    nodes: list[int],
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
    *,
    reason: str,
    proved: bool,
    found: heur.HeuristicResult | None = None,
) -> Block:
    """Least-violation contiguous plan for a block where the band cannot be met.

    ``found`` is a heuristic result already computed with equal weights on shortfall and
    excess; it is reused (no second search after a time limit) unless ``approved_small``.
    """
    opts = place.options
    lo, hi = opts.min_size, opts.max_size
    total = float(place.pop[nodes].sum())
    k_a = max(1, math.floor(total / hi))
    k_b = max(1, math.ceil(total / lo)) if lo > 0 else k_a
    small_ok = opts.approved_small
    if found is None or small_ok:
        found = block_heuristic(
            place,
            nodes,
            k_lo=min(k_a, k_b),
            k_hi=max(k_a, k_b) + 1,
            together=together,
            apart=apart,
            lower_weight=1.0,
            upper_weight=1000.0 if small_ok else 1.0,
        )
    notes: dict[int, str] = {}
    parts = [list(p) for p in found.parts]
    for pos, part in enumerate(parts):
        size = float(place.pop[part].sum())
        short, over = max(0.0, lo - size), max(0.0, size - hi)
        if small_ok and short > 0:
            notes[pos] = "below minimum, approved by commissioner"
        elif short > 0 or over > 0:
            notes[pos] = f"fallback: size violation {fmt(short + over)}"
    if small_ok:
        status = Status.BELOW_MINIMUM
        reason = reason + (
            " The commissioner has approved networks below the minimum here,"
            " so the plan with the smallest shortfall is returned."
        )
    else:
        status = Status.INFEASIBLE if proved else Status.UNKNOWN
        viol = sum(
            max(0.0, lo - float(place.pop[p].sum())) + max(0.0, float(place.pop[p].sum()) - hi)
            for p in parts
        )
        reason = reason + (
            f" Fallback shown: {len(parts)} contiguous network"
            f"{'s' if len(parts) > 1 else ''} with the least size violation "
            f"found ({fmt(viol)} patients outside the band in total)."
        )
    return Block(
        parts=parts, status=status, abs_gap=None, notes=notes, reason=reason, method=FALLBACK
    )


def infeasible_reason(place: Place, nodes: list[int]) -> str:
    opts = place.options
    total = float(place.pop[nodes].sum())
    return (
        f"The {len(nodes)} practices ({fmt(total)} patients; first "
        f"{place.graph.codes[nodes[0]]}) cannot be split into contiguous networks of "
        f"{fmt(opts.min_size)}-{fmt(opts.max_size)} patients that respect the rules: the "
        "solver proved that no such plan exists (every split that fits the band leaves some "
        "network in pieces)."
    )


def no_plan_reason(place: Place, nodes: list[int]) -> str:
    return (
        f"The time limit ran out before the solver found a contiguous plan for the "
        f"{len(nodes)} practices (first {place.graph.codes[nodes[0]]}) or proved none exists."
    )
