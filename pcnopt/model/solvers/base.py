"""The status vocabulary and the result type shared by every solver backend."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import pulp


class Status(StrEnum):
    """Every status pcnopt reports, for one solver run and for one place.

    A ``StrEnum``: each member equals its string value, so comparisons with strings, CSV,
    JSON and Markdown outputs read exactly as plain strings did.

    A solver run (:func:`pcnopt.model.solvers.solve`) ends ``OPTIMAL``, ``FEASIBLE``,
    ``INFEASIBLE`` or ``NO_SOLUTION``. A place (:attr:`pcnopt.model.PlaceSolution.status`) ends
    in one of :data:`pcnopt.model.STATUSES`.
    """

    #: Proved optimal (within ``mip_gap``); for a place, every network within the band.
    OPTIMAL = "optimal"
    #: Stopped (time limit) with a solution; the gap is what the solver proved.
    FEASIBLE = "feasible"
    #: Proved that no solution exists (for a place: a fallback configuration is returned).
    INFEASIBLE = "infeasible"
    #: A solver run stopped with neither a solution nor a proof.
    NO_SOLUTION = "no_solution"
    #: Place: optimal, but some network is below ``min_size`` by a named exception.
    BELOW_MINIMUM = "below_minimum"
    #: Place: time limit reached with neither a plan nor a proof; fallback returned.
    UNKNOWN = "unknown"
    #: Place: no optimisation needed; exceptions or a single possible plan decide it.
    TRIVIAL = "trivial"
    #: Place: no practice to assign (all excluded, or no practices).
    EMPTY = "empty"
    #: Place: the solver failed; the run falls back to the greedy baseline.
    SOLVER_FAILED = "solver_failed"


@dataclass(frozen=True)
class SolveResult:
    """Outcome of one solver run.

    Parameters
    ----------
    status
        ``OPTIMAL`` (proved within the requested gap), ``FEASIBLE`` (stopped with a solution),
        ``INFEASIBLE`` (proved) or ``NO_SOLUTION`` (stopped without one).
    objective
        Objective of the solution found, or None.
    bound
        Proven lower bound (minimisation), or None when the solver did not give one.
    values
        Variable name to value, for the solution found (empty if none).
    seconds
        Wall-clock time of the run.
    """

    status: Status
    objective: float | None
    bound: float | None
    values: Mapping[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def finite(value: float | None) -> float | None:
    """``value``, or None when it is missing, infinite or a solver's stand-in for infinity."""
    if value is None or not math.isfinite(value) or abs(value) > 1e29:
        return None
    return value


def set_start(prob: pulp.LpProblem, warm_start: Mapping[str, float] | None) -> None:
    """Write ``warm_start`` (0 for variables it does not name) into the model's variables."""
    for var in prob.variables():
        var.varValue = None if warm_start is None else warm_start.get(var.name, 0.0)


def values_of(prob: pulp.LpProblem) -> dict[str, float]:
    """Every variable's value (0 for a variable without one)."""
    return {v.name: (v.varValue if v.varValue is not None else 0.0) for v in prob.variables()}


def solution_result(
    prob: pulp.LpProblem, *, proved: bool, bound: float | None, mip_gap: float
) -> SolveResult:
    """The result for the solution now in ``prob``'s variables (CBC and HiGHS alike).

    A proved optimum has the objective as its bound unless a gap was allowed; otherwise the
    solver's bound, capped at the objective, is kept.
    """
    objective = float(pulp.value(prob.objective) or 0.0)
    if proved:
        if mip_gap > 0 and bound is not None:
            return SolveResult(Status.OPTIMAL, objective, min(bound, objective), values_of(prob))
        return SolveResult(Status.OPTIMAL, objective, objective, values_of(prob))
    if bound is not None:
        bound = min(bound, objective)
    return SolveResult(Status.FEASIBLE, objective, bound, values_of(prob))
