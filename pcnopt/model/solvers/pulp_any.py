"""Any other solver PuLP knows, by its PuLP name (e.g. ``"GUROBI_CMD"``, ``"SCIP_CMD"``).

No bound is claimed (``bound=None``) unless the solver reports optimality with no gap
allowed, in which case the bound equals the objective.

PuLP starts command-line solvers with :class:`subprocess.Popen` itself, so while it solves,
every process it starts is made to die with pcnopt (:func:`pcnopt._processes.guarded`):
a killed pcnopt leaves no solver running.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pulp

from pcnopt._processes import guarded
from pcnopt.errors import SolverError
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
        with children_die_with_us():
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


_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def children_die_with_us() -> Iterator[None]:
    """While inside, processes started with :class:`subprocess.Popen` die with this one
    (started as :func:`pcnopt._processes.guarded` says; a command given as one string, or one
    with its own ``preexec_fn``, is started as given)."""
    original = subprocess.Popen

    class _Popen(original):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            if isinstance(args, list | tuple) and "preexec_fn" not in kwargs:
                args, dies_with_us = guarded([os.fspath(a) for a in args])
                kwargs.update(dies_with_us)
            super().__init__(args, *rest, **kwargs)

    with _PATCH_LOCK:
        subprocess.Popen = _Popen  # type: ignore[misc]
        try:
            yield
        finally:
            subprocess.Popen = original  # type: ignore[misc]
