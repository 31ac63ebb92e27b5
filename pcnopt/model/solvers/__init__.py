"""Run one PuLP model with a chosen solver and report objective, proven bound and status.

PuLP has no portable way to read the best bound of a MIP. For CBC (PuLP's bundled binary) the
bound is parsed from the solver's log; for HiGHS the in-process ``highspy`` model is queried
(``mip_dual_bound``). For any other PuLP solver no bound is claimed (``bound=None``) unless the
solver reports optimality, in which case the bound equals the objective.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass

import pulp

from pcnopt._errors import SolverError
from pcnopt._processes import popen_kwargs


@dataclass(frozen=True)
class RunResult:
    """Outcome of one solver run.

    Parameters
    ----------
    status
        ``"optimal"`` (proved within the requested gap), ``"feasible"`` (stopped with a
        solution), ``"infeasible"`` (proved), or ``"no_solution"`` (stopped without one).
    objective
        Objective of the solution found, or None.
    bound
        Proven lower bound (minimisation), or None when the solver did not give one.
    values
        Variable name to value, for the solution found (empty if none).
    """

    status: str
    objective: float | None
    bound: float | None
    values: dict[str, float]


_CBC_LOWER = re.compile(r"^Lower bound:\s+([-+0-9.eE]+)", re.MULTILINE)
_CBC_BEST_POSSIBLE = re.compile(r"best possible ([-+0-9.eE]+)")


def solver_available(name: str) -> bool:
    """Return whether the PuLP solver called ``name`` can be used here."""
    key = _pulp_name(name)
    try:
        return bool(pulp.getSolver(key, msg=False).available())
    except (pulp.PulpSolverError, KeyError):
        return False


def _pulp_name(name: str) -> str:
    lowered = name.lower()
    if lowered == "cbc":
        return "PULP_CBC_CMD"
    if lowered == "highs":
        return "HiGHS"
    return name


def run(
    prob: pulp.LpProblem,
    *,
    solver: str,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: dict[str, float] | None,
) -> RunResult:
    """Solve ``prob`` (a minimisation) and return what the solver proved.

    Parameters
    ----------
    prob
        The model. Variable values are overwritten.
    solver
        ``"cbc"``, ``"highs"`` or any PuLP solver name.
    time_limit
        Seconds, or None for no limit.
    threads
        Solver threads.
    mip_gap
        Relative gap at which the solver may stop.
    warm_start
        Values of a feasible solution (variable name to value), or None.
    """
    if time_limit is not None:
        time_limit = max(1.0, float(time_limit))
    lowered = solver.lower()
    if lowered == "cbc":
        return _run_cbc(
            prob, time_limit=time_limit, threads=threads, mip_gap=mip_gap, warm_start=warm_start
        )
    if lowered == "highs":
        return _run_highs(
            prob, time_limit=time_limit, threads=threads, mip_gap=mip_gap, warm_start=warm_start
        )
    return _run_other(
        prob,
        name=solver,
        time_limit=time_limit,
        threads=threads,
        mip_gap=mip_gap,
        warm_start=warm_start,
    )


def _set_start(prob: pulp.LpProblem, warm_start: dict[str, float] | None) -> None:
    for var in prob.variables():
        var.varValue = None if warm_start is None else warm_start.get(var.name, 0.0)


def _values(prob: pulp.LpProblem) -> dict[str, float]:
    return {v.name: (v.varValue if v.varValue is not None else 0.0) for v in prob.variables()}


def _run_cbc(
    prob: pulp.LpProblem,
    *,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: dict[str, float] | None,
) -> RunResult:
    """Run PuLP's bundled CBC binary with a wall-clock guard.

    CBC checks its ``-sec`` limit only between phases, and on large models its root cut loop can
    run for minutes past it. The process therefore gets SIGINT (CBC then stops and writes its
    best solution) once the limit is passed by a margin, and is killed if it still runs.
    """
    _set_start(prob, warm_start)
    cmd = pulp.PULP_CBC_CMD(msg=False)
    if not cmd.available():  # pragma: no cover - bundled with PuLP
        raise SolverError("CBC is not available; reinstall PuLP (it bundles CBC)")
    with tempfile.TemporaryDirectory(prefix="pcnopt_cbc_") as tmp:
        mps = os.path.join(tmp, "model.mps")
        sol = os.path.join(tmp, "model.sol")
        mst = os.path.join(tmp, "model.mst")
        log_path = os.path.join(tmp, "cbc.log")
        vs, var_names, con_names, _ = prob.writeMPS(mps, rename=1)
        args = [cmd.path, mps]
        if warm_start is not None:
            cmd.writesol(mst, prob, vs, var_names, con_names)
            args += ["-mips", mst]
        if time_limit is not None:
            args += ["-sec", f"{time_limit:.3f}"]
        args += ["-threads", str(threads), "-timeMode", "elapsed", "-randomSeed", "1"]
        if mip_gap > 0:
            args += ["-ratio", str(mip_gap)]
        args += ["-solve", "-printingOptions", "all", "-solution", sol]
        with open(log_path, "w", encoding="utf-8") as log_file:
            proc = subprocess.Popen(
                args,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                **popen_kwargs(),  # CBC dies with this process, even on SIGKILL
            )
            try:
                proc.wait(timeout=None if time_limit is None else time_limit * 1.02 + 2)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            except BaseException:  # Ctrl-C or a failure here: CBC must not run on
                proc.kill()
                proc.wait()
                raise
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            log = handle.read()
        values: dict[str, float] | None = None
        first = ""
        if os.path.exists(sol) and os.path.getsize(sol) > 0:
            with open(sol, encoding="utf-8", errors="replace") as handle:
                first = handle.readline()
            _, sol_status = cmd.get_status(sol)
            if sol_status in (1, 2):
                _, raw, _, _, _, _ = cmd.readsol_MPS(sol, prob, vs, var_names, con_names)
                values = {k: float(v) for k, v in raw.items()}
    return _parse_cbc(prob, log, first, values, mip_gap=mip_gap)


def _parse_cbc(
    prob: pulp.LpProblem, log: str, first: str, values: dict[str, float] | None, *, mip_gap: float
) -> RunResult:
    """Status from the solution file's first line, proven bound from the log."""
    bound = None
    match = _CBC_LOWER.search(log)
    if match:
        bound = float(match.group(1))
    else:
        found = _CBC_BEST_POSSIBLE.findall(log)
        if found:
            bound = float(found[-1])
    word = first.split()[0] if first.split() else ""
    if word in ("Infeasible", "Integer"):
        return RunResult("infeasible", None, None, {})
    if values is None:
        return RunResult("no_solution", None, _finite(bound), {})
    for var in prob.variables():
        var.varValue = values.get(var.name, 0.0)
    objective = float(pulp.value(prob.objective) or 0.0)
    if word == "Optimal":
        if mip_gap > 0 and bound is not None:
            return RunResult("optimal", objective, min(bound, objective), _values(prob))
        return RunResult("optimal", objective, objective, _values(prob))
    bound = _finite(bound)
    if bound is not None:
        bound = min(bound, objective)
    return RunResult("feasible", objective, bound, _values(prob))


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or abs(value) > 1e29:
        return None
    return value


def _run_highs(
    prob: pulp.LpProblem,
    *,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: dict[str, float] | None,
) -> RunResult:
    import highspy

    cmd = pulp.HiGHS(msg=False, timeLimit=time_limit, threads=threads, gapRel=mip_gap)
    if not cmd.available():  # pragma: no cover - highspy is a dependency
        raise SolverError("HiGHS (highspy) is not installed; pip install highspy")
    cmd.createAndConfigureSolver(prob)
    cmd.buildSolverModel(prob)
    model = prob.solverModel
    model.setOptionValue("random_seed", 0)
    if warm_start is not None:
        variables = prob.variables()
        cols = [0.0] * len(variables)
        for var in variables:
            cols[var.index] = float(warm_start.get(var.name, 0.0))
        solution = highspy.HighsSolution()
        solution.col_value = cols
        solution.value_valid = True
        model.setSolution(solution)
    cmd.callSolver(prob)
    _, sol_status = cmd.findSolutionValues(prob)
    model_status = model.getModelStatus()
    info = model.getInfo()
    if model_status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return RunResult("infeasible", None, None, {})
    bound = _finite(float(info.mip_dual_bound))
    if sol_status not in (1, 2):
        return RunResult("no_solution", None, bound, {})
    objective = float(pulp.value(prob.objective) or 0.0)
    if model_status == highspy.HighsModelStatus.kOptimal:
        if mip_gap > 0 and bound is not None:
            return RunResult("optimal", objective, min(bound, objective), _values(prob))
        return RunResult("optimal", objective, objective, _values(prob))
    if bound is not None:
        bound = min(bound, objective)
    return RunResult("feasible", objective, bound, _values(prob))


def _run_other(
    prob: pulp.LpProblem,
    *,
    name: str,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: dict[str, float] | None,
) -> RunResult:
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
    _set_start(prob, warm_start)
    try:
        prob.solve(cmd)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"solver {name!r} failed: {exc}") from exc
    if prob.status == -1:
        return RunResult("infeasible", None, None, {})
    if prob.sol_status not in (1, 2):
        return RunResult("no_solution", None, None, {})
    objective = float(pulp.value(prob.objective) or 0.0)
    if prob.sol_status == 1:
        return RunResult("optimal", objective, objective if mip_gap == 0 else None, _values(prob))
    return RunResult("feasible", objective, None, _values(prob))
