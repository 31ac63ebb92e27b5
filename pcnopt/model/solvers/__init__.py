"""One solver interface: :func:`solve` a PuLP model with a named backend; one result type.

One module per backend: :mod:`~pcnopt.model.solvers.cbc` (PuLP's bundled CBC binary, driven by
hand for its bound and a wall-clock guard), :mod:`~pcnopt.model.solvers.highs` (HiGHS in
process, also the column-generation master LP) and :mod:`~pcnopt.model.solvers.pulp_any` (any
other PuLP solver). Every backend ends with a :class:`Status`; the status vocabulary and the
result type live in :mod:`~pcnopt.model.solvers.base` so that the backends can import them
without importing this dispatcher.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

import pulp

from pcnopt.model.solvers import cbc, highs, pulp_any
from pcnopt.model.solvers.base import SolveResult, Status

__all__ = ["SolveResult", "Status", "solve", "solver_available"]


def solver_available(name: str) -> bool:
    """Return whether the solver ``name`` (``"cbc"``, ``"highs"`` or a PuLP name) runs here."""
    try:
        return bool(pulp.getSolver(_pulp_name(name), msg=False).available())
    except (pulp.PulpSolverError, KeyError):
        return False


def _pulp_name(name: str) -> str:
    lowered = name.lower()
    if lowered == "cbc":
        return "PULP_CBC_CMD"
    if lowered == "highs":
        return "HiGHS"
    return name


def solve(
    problem: pulp.LpProblem,
    *,
    solver: str,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: Mapping[str, float] | None,
) -> SolveResult:
    """Solve ``problem`` (a minimisation) and return what the solver proved.

    Parameters
    ----------
    problem
        The model. Variable values are overwritten.
    solver
        ``"cbc"``, ``"highs"`` or any PuLP solver name.
    time_limit
        Seconds (at least 1 is given to the solver), or None for no limit.
    threads
        Solver threads.
    mip_gap
        Relative gap at which the solver may stop.
    warm_start
        Values of a feasible solution (variable name to value), or None.

    Returns
    -------
    SolveResult
        Status, objective, proven bound, variable values and wall-clock seconds.
    """
    start = time.perf_counter()
    if time_limit is not None:
        time_limit = max(1.0, float(time_limit))
    lowered = solver.lower()
    if lowered == "cbc":
        result = cbc.solve(
            problem, time_limit=time_limit, threads=threads, mip_gap=mip_gap, warm_start=warm_start
        )
    elif lowered == "highs":
        result = highs.solve(
            problem, time_limit=time_limit, threads=threads, mip_gap=mip_gap, warm_start=warm_start
        )
    else:
        result = pulp_any.solve(
            problem,
            name=solver,
            time_limit=time_limit,
            threads=threads,
            mip_gap=mip_gap,
            warm_start=warm_start,
        )
    return replace(result, seconds=time.perf_counter() - start)
