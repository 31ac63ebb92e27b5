"""CBC (PuLP's bundled binary), driven by hand: MPS in, solution file and log out.

PuLP has no portable way to read the best bound of a MIP; for CBC it is parsed from the log.
CBC checks its ``-sec`` limit only between phases, and on large models its root cut loop can
run for minutes past it, so the process gets SIGINT (CBC then stops and writes its best
solution) once the limit is passed by a margin, and is killed if it still runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping

import pulp

from pcnopt._interrupts import WAKE_SECONDS
from pcnopt._processes import guarded
from pcnopt.errors import SolverError
from pcnopt.model.solvers.base import (
    SolveResult,
    Status,
    finite,
    set_start,
    solution_result,
)

_CBC_LOWER = re.compile(r"^Lower bound:\s+([-+0-9.eE]+)", re.MULTILINE)
_CBC_BEST_POSSIBLE = re.compile(r"best possible ([-+0-9.eE]+)")


def solve(
    prob: pulp.LpProblem,
    *,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: Mapping[str, float] | None,
) -> SolveResult:
    """Run PuLP's bundled CBC binary on ``prob`` with a wall-clock guard.

    Parameters
    ----------
    prob
        The model (a minimisation). Variable values are overwritten.
    time_limit
        Seconds from this call (writing the model included), or None for no limit.
    threads
        Solver threads.
    mip_gap
        Relative gap at which CBC may stop.
    warm_start
        Values of a feasible solution (variable name to value), or None.
    """
    started = time.perf_counter()
    set_start(prob, warm_start)
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
            # the limit counts from this call: writing the model (4 s at 100,000 columns)
            # took the closing programs past their place's deadline
            time_limit = max(0.1, time_limit - (time.perf_counter() - started))
            args += ["-sec", f"{time_limit:.3f}"]
        args += ["-threads", str(threads), "-timeMode", "elapsed", "-randomSeed", "1"]
        if mip_gap > 0:
            args += ["-ratio", str(mip_gap)]
        args += ["-solve", "-printingOptions", "all", "-solution", sol]
        interrupted = _run_guarded(args, log_path, time_limit)
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            log = handle.read()
        values: dict[str, float] | None = None
        first = ""
        if os.path.exists(sol) and os.path.getsize(sol) > 0:
            with open(sol, encoding="utf-8", errors="replace") as handle:
                first = handle.readline()
            _, sol_status = cmd.get_status(sol)
            if sol_status in (1, 2):
                values = _read_values(cmd, sol, prob, vs, var_names, con_names)
    return _parse(prob, log, first, values, mip_gap=mip_gap, interrupted=interrupted)


def _read_values(
    cmd: pulp.PULP_CBC_CMD,
    sol: str,
    prob: pulp.LpProblem,
    vs: list[pulp.LpVariable],
    var_names: list[str],
    con_names: list[str],
) -> dict[str, float] | None:
    """The variables' values in CBC's solution file, or None when the file is cut short (a
    CBC stopped while writing it: PuLP's reader failed with an IndexError on a line of one
    field, seen once in a national run of the fewest networks, and the whole run stopped)."""
    try:
        _, raw, _, _, _, _ = cmd.readsol_MPS(sol, prob, vs, var_names, con_names)
        return {k: float(v) for k, v in raw.items()}
    except (IndexError, ValueError, KeyError):
        return None


def _wait(proc: subprocess.Popen[bytes], *, seconds: float | None) -> None:
    """Wait for ``proc`` (at most ``seconds``: :class:`subprocess.TimeoutExpired` after), in
    slices, so that Ctrl-C delivered to another thread of pcnopt still stops the wait
    (a blocking ``waitpid`` wakes only for a signal delivered to its own thread)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        left = WAKE_SECONDS if deadline is None else min(WAKE_SECONDS, deadline - time.monotonic())
        try:
            proc.wait(timeout=max(left, 0.0))
            return
        except subprocess.TimeoutExpired:
            if deadline is not None and time.monotonic() >= deadline:
                raise


def _run_guarded(args: list[str], log_path: str, time_limit: float | None) -> bool:
    """Run CBC, interrupting it (SIGINT, then kill) a little after its own time limit.

    Returns whether it had to be interrupted.
    """
    command, dies_with_us = guarded(args)  # CBC dies with this process, even on SIGKILL
    with open(log_path, "w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            **dies_with_us,
        )
        try:
            _wait(proc, seconds=None if time_limit is None else time_limit * 1.02 + 2)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return True
        except BaseException:  # Ctrl-C or a failure here: CBC must not run on
            proc.kill()
            proc.wait()
            raise
    return False


def _parse(
    prob: pulp.LpProblem,
    log: str,
    first: str,
    values: dict[str, float] | None,
    *,
    mip_gap: float,
    interrupted: bool = False,
) -> SolveResult:
    """Status from the solution file's first line, proven bound from the log.

    A run that had to be interrupted proves nothing about infeasibility: "Infeasible" from it
    is read as no solution.
    """
    bound = None
    match = _CBC_LOWER.search(log)
    if match:
        bound = float(match.group(1))
    else:
        found = _CBC_BEST_POSSIBLE.findall(log)
        if found:
            bound = float(found[-1])
    word = first.split()[0] if first.split() else ""
    if word in ("Infeasible", "Integer") and not interrupted:
        return SolveResult(Status.INFEASIBLE, None, None, {})
    if values is None:
        return SolveResult(Status.NO_SOLUTION, None, finite(bound), {})
    for var in prob.variables():
        var.varValue = values.get(var.name, 0.0)
    proved = word == "Optimal"
    return solution_result(
        prob, proved=proved, bound=bound if proved else finite(bound), mip_gap=mip_gap
    )


def solve_as_pulp(prob: pulp.LpProblem, cmd: pulp.COIN_CMD | None = None) -> int:
    """Solve ``prob`` as ``prob.solve(cmd)`` would, but with CBC started to die with pcnopt.

    PuLP starts its CBC binary with :class:`subprocess.Popen` and no way to pass
    ``preexec_fn``, so a pcnopt killed while CBC runs would leave it running. This is PuLP's
    own call (``COIN_CMD.solve_CBC``: the same MPS file, the same command line, the same
    solution reader), so the answer is the one PuLP gives, started with
    :func:`pcnopt._processes.guarded`. For models solved as PuLP does (the funding role
    mix, a maximisation), not through :func:`solve`.

    Parameters
    ----------
    prob
        The model; its variables, status and solution status are set as PuLP sets them.
    cmd
        PuLP's CBC command (its path and options); by default ``PULP_CBC_CMD(msg=False)``.

    Returns
    -------
    int
        PuLP's status code (``pulp.LpStatus`` names it).

    Raises
    ------
    SolverError
        CBC cannot be run, or it failed or wrote no solution.
    """
    cmd = cmd or pulp.PULP_CBC_CMD(msg=False)
    if not cmd.path or not os.access(cmd.path, os.X_OK):
        raise SolverError(f"CBC cannot be run from {cmd.path}; reinstall PuLP (it bundles CBC)")
    if cmd.optionsDict.get("warmStart") or cmd.optionsDict.get("logPath"):
        raise SolverError("solve_as_pulp takes no warm start and no log path")
    with tempfile.TemporaryDirectory(prefix="pcnopt_cbc_") as tmp:
        mps = os.path.join(tmp, "model.mps")
        sol = os.path.join(tmp, "model.sol")
        vs, var_names, con_names, _ = prob.writeMPS(mps, rename=1)
        args = [cmd.path, mps]
        if prob.sense == pulp.LpMaximize:
            args.append("-max")
        if cmd.timeLimit is not None:
            args += ["-sec", str(cmd.timeLimit)]
        presolve = cmd.optionsDict.get("presolve")
        if presolve is not None:
            args += ["-presolve", "on" if presolve else "off"]
        cuts = cmd.optionsDict.get("cuts")
        if cuts is not None:
            args += (
                ["-gomory", "on", "knapsack", "on", "probing", "on"] if cuts else ["-cuts", "off"]
            )
        for option in [*cmd.options, *cmd.getOptions()]:
            args += f"-{option}".split()
        args += ["-solve" if cmd.mip else "-initialSolve", "-printingOptions", "all"]
        args += ["-solution", sol]
        command, dies_with_us = guarded(args)  # CBC dies with this process, even on SIGKILL
        code = subprocess.call(
            command,
            stdout=None if cmd.msg else subprocess.DEVNULL,
            stderr=None if cmd.msg else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            **dies_with_us,
        )
        if code != 0 or not os.path.exists(sol):
            raise SolverError(f"CBC failed (exit code {code}) on the model {prob.name!r}")
        status, values, reduced, shadow, slacks, sol_status = cmd.readsol_MPS(
            sol, prob, vs, var_names, con_names
        )
    prob.assignVarsVals(values)
    prob.assignVarsDj(reduced)
    prob.assignConsPi(shadow)
    prob.assignConsSlack(slacks, activity=True)
    prob.assignStatus(status, sol_status)
    prob.solver = cmd
    return int(status)
