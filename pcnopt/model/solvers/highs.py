"""HiGHS: PuLP models through PuLP's HiGHS interface, and an incremental LP in process.

The bound of a MIP is HiGHS's ``mip_dual_bound``. :class:`IncrementalLp` is the restricted
master LP of column generation (:mod:`pcnopt.model.partition.colgen`): rows and columns are
added between solves and the row duals read back, which PuLP cannot do.

**Ctrl-C.** HiGHS runs in this process, in compiled code that does not return to Python until it
ends: a Ctrl-C in the main thread would wait for the MIP's time limit (up to a place's minute;
``pcnopt optimise --jobs 1`` solves places in its main thread). There a MIP runs in a thread of
its own (:func:`_run_interruptibly`) while the main thread waits in slices of
:data:`~pcnopt._interrupts.WAKE_SECONDS`; at Ctrl-C HiGHS is told to stop through its interrupt
callbacks (highspy's ``cancelSolve``) and the interrupt is raised as soon as it has stopped, or
after :data:`STOP_SECONDS` if it has not: HiGHS's MIP presolve (probing, clique merging) looks
at neither its interrupt callbacks nor its time limit (ERGO-Code/HiGHS issues 1501 and 2326;
seen for minutes on a closing program of set partitioning, ``benchmarks/exact_results.md``
section 5), and the process then ends with HiGHS still running in its daemon thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pulp

from pcnopt._interrupts import WAKE_SECONDS
from pcnopt.errors import SolverError
from pcnopt.model.solvers.base import SolveResult, Status, finite, solution_result


@contextlib.contextmanager
def quiet_banner() -> Iterator[None]:
    """Keep HiGHS's licence banner off the user's terminal.

    ``highspy.Highs()`` prints it from C++ straight to file descriptor 1 before any option can
    be set, so the descriptor itself is pointed at the null device while a solver is made.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (e.g. a captured stream): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "w", encoding="utf-8") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def solve(
    prob: pulp.LpProblem,
    *,
    time_limit: float | None,
    threads: int,
    mip_gap: float,
    warm_start: Mapping[str, float] | None,
) -> SolveResult:
    """Solve ``prob`` (a minimisation) with HiGHS in process.

    Parameters
    ----------
    prob
        The model. Variable values are overwritten.
    time_limit
        Seconds, or None for no limit.
    threads
        Solver threads.
    mip_gap
        Relative gap at which HiGHS may stop.
    warm_start
        Values of a feasible solution (variable name to value), or None.
    """
    import highspy

    cmd = pulp.HiGHS(msg=False, timeLimit=time_limit, threads=threads, gapRel=mip_gap)
    if not cmd.available():  # pragma: no cover - highspy is a dependency
        raise SolverError("HiGHS (highspy) is not installed; pip install highspy")
    with quiet_banner():
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
    _run_interruptibly(model)
    _, sol_status = cmd.findSolutionValues(prob)
    model_status = model.getModelStatus()
    info = model.getInfo()
    if model_status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return SolveResult(Status.INFEASIBLE, None, None, {})
    bound = finite(float(info.mip_dual_bound))
    if sol_status not in (1, 2):
        return SolveResult(Status.NO_SOLUTION, None, bound, {})
    proved = model_status == highspy.HighsModelStatus.kOptimal
    return solution_result(prob, proved=proved, bound=bound, mip_gap=mip_gap)


#: Longest wait, after Ctrl-C, for HiGHS to see its interrupt and stop (seconds).
STOP_SECONDS = 5.0


def _interruptible_here() -> bool:
    """Whether Ctrl-C can reach this thread: the main thread, SIGINT not ignored."""
    if threading.current_thread() is not threading.main_thread():
        return False
    return signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, None)


def _run_interruptibly(model: Any) -> None:
    """Run the HiGHS instance ``model``; a Ctrl-C while it runs stops it and is raised.

    Where Ctrl-C cannot arrive (a worker process ignoring SIGINT, a thread other than the main
    one) HiGHS runs as PuLP runs it, with no interrupt callback.
    """
    # an older highspy has no threaded solve (startSolve, cancelSolve)
    if not _interruptible_here() or not hasattr(model, "startSolve"):
        model.run()
        return
    model.HandleUserInterrupt = True  # HiGHS asks the callback whether to stop, often
    try:
        model.startSolve()
        while not model.wait(WAKE_SECONDS)[0]:
            pass
    except BaseException:  # Ctrl-C (or a failure here): HiGHS must not run on
        model.cancelSolve()
        _wait_stopped(model)
        raise
    finally:
        if not model.is_solver_running():  # a HiGHS left running keeps its callback
            model.HandleUserInterrupt = False


def _wait_stopped(model: Any) -> None:
    """Wait (at most :data:`STOP_SECONDS`) for a cancelled HiGHS to stop; a further Ctrl-C
    meanwhile does not end the wait early (HiGHS still runs in its thread)."""
    for _ in range(int(STOP_SECONDS / WAKE_SECONDS)):
        try:
            if model.wait(WAKE_SECONDS)[0]:
                return
        except KeyboardInterrupt:
            model.cancelSolve()


class IncrementalLp:
    """A minimisation LP in one HiGHS instance, grown by rows and columns between solves.

    Deterministic: one thread, fixed random seed, no output.
    """

    def __init__(self) -> None:
        import highspy

        self._highspy = highspy
        with quiet_banner():
            self._h = highspy.Highs()
        self._h.setOptionValue("output_flag", False)
        self._h.setOptionValue("random_seed", 0)
        self._h.setOptionValue("threads", 1)
        #: HiGHS's infinity, for bounds.
        self.inf: float = highspy.kHighsInf

    def add_rows(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Add empty rows with bounds ``lower <= row <= upper``."""
        self._h.addRows(
            len(lower),
            lower,
            upper,
            0,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )

    def add_filled_rows(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        starts: np.ndarray,
        index: np.ndarray,
        value: np.ndarray,
    ) -> None:
        """Add rows with entries; row ``r``'s are ``index``/``value`` (columns) from ``starts[r]``."""
        self._h.addRows(len(lower), lower, upper, len(index), starts, index, value)

    def add_cols(
        self,
        cost: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        starts: np.ndarray,
        index: np.ndarray,
        value: np.ndarray,
    ) -> None:
        """Add columns; column ``c``'s entries are ``index``/``value`` from ``starts[c]`` on."""
        self._h.addCols(len(cost), cost, lower, upper, len(index), starts, index, value)

    def change_costs(self, cols: np.ndarray, cost: np.ndarray) -> None:
        """Set the cost of columns ``cols``."""
        self._h.changeColsCost(len(cols), cols, cost)

    def change_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set the bounds of columns ``cols``."""
        self._h.changeColsBounds(len(cols), cols, lower, upper)

    def solve(self) -> tuple[float, np.ndarray] | None:
        """Objective and row duals at the LP optimum, or None when there is no optimum."""
        self._h.run()
        if self._h.getModelStatus() != self._highspy.HighsModelStatus.kOptimal:
            return None
        duals = np.asarray(self._h.getSolution().row_dual, float)
        return float(self._h.getInfo().objective_function_value), duals

    def primal(self) -> np.ndarray:
        """Column values at the last optimum."""
        return np.asarray(self._h.getSolution().col_value, float)
