"""Any other solver PuLP knows, by its PuLP name (e.g. ``"GUROBI_CMD"``, ``"SCIP_CMD"``).

No bound is claimed (``bound=None``) unless the solver reports optimality with no gap
allowed, in which case the bound equals the objective.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulp

from pcnopt._errors import SolverError
from pcnopt.model.solvers.base import SolveResult, Status, set_start, values_of


def solve(
    prob: pulp.LpProblem,
    *,
    name: str,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: Mapping[str, float] | None,
) -> SolveResult:
    """Solve ``prob`` (a minimisation) with the PuLP solver called ``name``.

    Parameters
    ----------
    prob
        The model. Variable values are overwritten.
    name
        PuLP's name of the solver.
    time_limit
        Seconds, or None for no limit.
    threads
        Solver threads.
    mip_gap
        Relative gap at which the solver may stop.
    warm_start
        Values of a feasible solution (variable name to value), or None.
    """
    try:
        cmd = pulp.getSolver(
            name,
            msg=False,
            timeLimit=time_limit,
            threads=threads,
            gapRel=mip_gap if mip_gap > 0 else None,
            warmStart=warm_start is not None,
        )
    except Exception as exc:  # PuLP raises several types for unknown solvers
        raise SolverError(f"solver {name!r} is not known to PuLP: {exc}") from exc
    set_start(prob, warm_start)
    try:
        prob.solve(cmd)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"solver {name!r} failed: {exc}") from exc
    if prob.status == -1:
        return SolveResult(Status.INFEASIBLE, None, None, {})
    if prob.sol_status not in (1, 2):
        return SolveResult(Status.NO_SOLUTION, None, None, {})
    objective = float(pulp.value(prob.objective) or 0.0)
    if prob.sol_status == 1:
        bound = objective if mip_gap == 0 else None
        return SolveResult(Status.OPTIMAL, objective, bound, values_of(prob))
    return SolveResult(Status.FEASIBLE, objective, None, values_of(prob))
