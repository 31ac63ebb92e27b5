"""Objective stages solved in order by one method (set partitioning or the Hess model)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from pcnopt.model import heuristic as heur
from pcnopt.model.fallback import fallback, infeasible_reason, no_plan_reason
from pcnopt.model.place import Block, Place, Stage
from pcnopt.model.solvers import Status


def run_stages(  # noqa: PLR0913  (keyword-only: the block, shared with partition/block.py)
    place: Place,
    nodes: list[int],
    stages: list[list[tuple[str, float]]],
    solve: Callable[[list[tuple[str, float]], Any], Stage],
    fix: Callable[[int, list[tuple[str, float]], float], None],
    *,
    start: Any,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
    found: heur.HeuristicResult,
    method: str,
    parts: Callable[[Any], list[list[int]]] = lambda plan: plan,
    candidates: int = 0,
) -> Block:
    """Solve the objective stages in order with one method (set partitioning or Hess).

    Each stage is solved by ``solve(stage, start)``, warm-started with the previous stage's
    plan; ``fix`` then holds that stage's objective at its value (plus a relative 1e-6, none
    for the count) for the later stages. A proof of infeasibility, or no plan by the deadline,
    goes to :func:`fallback` with the reason. A claim of infeasibility while a plan that meets
    every rule is in hand (``start`` or an earlier stage's plan) is no proof: that plan is kept,
    as feasible with no bound. The gap is that of the last stage, when every earlier stage was
    proven (otherwise unknown: None).
    """
    opts = place.options
    best = start
    reason = ""
    status = Status.OPTIMAL
    abs_gap: float | None = 0.0
    for s, stage in enumerate(stages):
        result = solve(stage, best)
        if result.kind == Status.INFEASIBLE and best is not None:
            # a plan that meets every rule is in hand, so the block is not infeasible: a
            # solver stopped at its time limit can say otherwise (seen on England's largest
            # place under load); keep the plan, with no proven bound
            return Block(
                parts=[sorted(p) for p in parts(best)],
                status=Status.FEASIBLE,
                abs_gap=None,
                notes={},
                candidates=candidates,
                method=method,
            )
        if result.kind == Status.INFEASIBLE:
            why = infeasible_reason(place, nodes)
            return fallback(place, nodes, together, apart, deadline, reason=why, proved=True)
        if result.plan is None or result.value is None:
            why = no_plan_reason(place, nodes)
            return fallback(
                place, nodes, together, apart, deadline, reason=why, proved=False, found=found
            )
        best = result.plan
        earlier_proven = status == Status.OPTIMAL
        if [name for name, _ in stage] == ["count"] and result.kind != Status.OPTIMAL:
            reason = _fewer_may_do(
                len(parts(best)), result.bound, practices=len(nodes), of_place=place.n
            )
        if result.kind != Status.OPTIMAL:
            status = Status.FEASIBLE
        if s < len(stages) - 1:
            slack = 1e-6 * max(1.0, abs(result.value)) if stage[0][0] != "count" else 0.0
            fix(s, stage, result.value + slack)
        elif result.bound is None or not earlier_proven:
            # an earlier stage not proven (the fewest networks, say): the last stage's bound
            # holds only at that stage's value, so no gap to the best plan is known
            abs_gap = None
        elif result.kind == Status.OPTIMAL and opts.mip_gap == 0:
            abs_gap = 0.0  # proven: what is left is the solver's tolerance
        else:
            abs_gap = max(0.0, result.value - result.bound)
    return Block(
        parts=[sorted(p) for p in parts(best)],
        status=status,
        abs_gap=abs_gap,
        notes={},
        reason=reason,
        candidates=candidates,
        method=method,
    )


def _fewer_may_do(found: int, bound: float | None, *, practices: int, of_place: int) -> str:
    """What a plan of ``found`` networks, not proven the fewest, tells the commissioner.

    ``practices`` were grouped together, of the place's ``of_place``: when the others formed
    networks of their own (a practice above the band, an island below it), the count is said
    to be of these practices, not of the place (E38000256: "63 networks for 355 practices"
    beside "The 62 networks were not proven the fewest").
    """
    least = None if bound is None else max(1, math.ceil(bound - 1e-6))
    subject = f"The {found} networks"
    if practices < of_place:
        subject += f" of the {practices} practices grouped together"
    if least is None or least >= found:
        return f"{subject} were not proven the fewest possible in the time."
    span = f"{least}" if least == found - 1 else f"{least} to {found - 1}"
    return (
        f"{subject} were not proven the fewest possible in the time: "
        f"{span} may be enough (none fewer than {least})."
    )
