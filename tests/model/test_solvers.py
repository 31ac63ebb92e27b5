"""The solver interface, :mod:`pcnopt.model.solvers`: one status vocabulary on every backend.

Each backend solves tiny models whose answer is known by hand: a MIP with a proven optimum, one
with no solution, and a market-split problem (Cornuéjols and Dawande) that no branch and bound
settles in a second, so the time limit decides.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pulp
import pytest

from pcnopt.model import STATUSES, PlaceSolution
from pcnopt.model.solvers import SolveResult, Status, solve, solver_available
from tests.conftest import PROJECT

BACKENDS = ["cbc", "highs", "PULP_CBC_CMD"]  # the last goes through pulp_any


def small_mip() -> pulp.LpProblem:
    """min x + 2y with x + y >= 1.5, x, y whole numbers in [0, 3]: optimum 2 at (2, 0)."""
    prob = pulp.LpProblem("small", pulp.LpMinimize)
    x = pulp.LpVariable("x", 0, 3, cat=pulp.LpInteger)
    y = pulp.LpVariable("y", 0, 3, cat=pulp.LpInteger)
    prob += x + 2 * y
    prob += (x + y >= 1.5, "cover")
    return prob


def infeasible_mip() -> pulp.LpProblem:
    """Two binaries that must sum to 3."""
    prob = pulp.LpProblem("none", pulp.LpMinimize)
    a = pulp.LpVariable("a", cat=pulp.LpBinary)
    b = pulp.LpVariable("b", cat=pulp.LpBinary)
    prob += a + b
    prob += (a + b >= 3, "too_many")
    return prob


def market_split(rows: int = 4, cols: int = 36, seed: int = 7) -> pulp.LpProblem:
    """Split a market of ``cols`` retailers in halves on ``rows`` products (almost surely
    impossible, and notoriously hard to prove so); minimise the total slack."""
    rng = np.random.default_rng(seed)
    coef = rng.integers(0, 100, size=(rows, cols))
    prob = pulp.LpProblem("market_split", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{j}", cat=pulp.LpBinary) for j in range(cols)]
    up = [pulp.LpVariable(f"up{r}", lowBound=0) for r in range(rows)]
    down = [pulp.LpVariable(f"down{r}", lowBound=0) for r in range(rows)]
    prob += pulp.lpSum(up) + pulp.lpSum(down)
    for r in range(rows):
        total = pulp.lpSum(int(coef[r, j]) * x[j] for j in range(cols))
        prob += (total + up[r] - down[r] == int(coef[r].sum()) // 2, f"row{r}")
    return prob


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if not solver_available(request.param):
        pytest.skip(f"{request.param} is not installed")
    return str(request.param)


def test_a_proved_optimum_is_optimal_with_its_bound(backend: str) -> None:
    result = solve(
        small_mip(), solver=backend, time_limit=None, threads=1, mip_gap=0.0, warm_start=None
    )
    assert isinstance(result, SolveResult)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(2.0)
    assert result.bound == pytest.approx(2.0)
    assert result.values["x"] == pytest.approx(2.0) and result.values["y"] == pytest.approx(0.0)
    assert result.seconds >= 0.0


def test_a_warm_start_is_accepted(backend: str) -> None:
    result = solve(
        small_mip(),
        solver=backend,
        time_limit=None,
        threads=1,
        mip_gap=0.0,
        warm_start={"x": 2.0, "y": 0.0},
    )
    assert result.status is Status.OPTIMAL and result.objective == pytest.approx(2.0)


def test_no_solution_is_proved_infeasible(backend: str) -> None:
    result = solve(
        infeasible_mip(), solver=backend, time_limit=None, threads=1, mip_gap=0.0, warm_start=None
    )
    assert result.status is Status.INFEASIBLE
    assert result.objective is None and result.bound is None and not result.values


def test_the_time_limit_stops_a_hard_problem(backend: str) -> None:
    result = solve(
        market_split(), solver=backend, time_limit=1.0, threads=1, mip_gap=0.0, warm_start=None
    )
    assert result.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    if result.status is Status.FEASIBLE:
        assert result.objective is not None and result.objective > 0
        assert result.bound is None or result.bound <= result.objective
    assert result.seconds < 30


def test_every_backend_status_is_one_of_the_vocabulary() -> None:
    backend_statuses = {Status.OPTIMAL, Status.FEASIBLE, Status.INFEASIBLE, Status.NO_SOLUTION}
    assert backend_statuses <= set(Status)
    assert set(STATUSES) <= set(Status)
    assert Status.SOLVER_FAILED in STATUSES  # the pipeline's greedy baseline returns it


def test_statuses_read_as_the_strings_they_replace() -> None:
    words = [
        "optimal",
        "feasible",
        "infeasible",
        "no_solution",
        "below_minimum",
        "unknown",
        "trivial",
        "empty",
        "solver_failed",
    ]
    assert [str(s) for s in Status] == words
    assert all(Status(w) == w and f"{Status(w)}" == w for w in words)
    assert json.dumps({"status": Status.SOLVER_FAILED}) == '{"status": "solver_failed"}'
    assert "optimal" in {Status.OPTIMAL} and Status.OPTIMAL in {"optimal"}


def test_a_place_solution_made_with_a_string_status_holds_the_enum() -> None:
    solution = PlaceSolution(
        place_id="P",
        status="solver_failed",
        objective=None,
        bound=None,
        gap=None,
        seconds=0.0,
        labels=(),
        hubs=(),
        notes=(),
        message="",
        solver="cbc",
    )
    assert solution.status is Status.SOLVER_FAILED
    with pytest.raises(ValueError, match="not_a_status"):
        PlaceSolution(
            place_id="P",
            status="not_a_status",
            objective=None,
            bound=None,
            gap=None,
            seconds=0.0,
            labels=(),
            hubs=(),
            notes=(),
            message="",
            solver="cbc",
        )


def test_an_interrupted_cbc_proves_no_infeasibility() -> None:
    """CBC killed by the wall-clock guard may write "Infeasible": that is no proof."""
    from pcnopt.model.solvers.cbc import _parse

    prob = small_mip()
    first = "Infeasible - objective value 0.00000000\n"
    assert _parse(prob, "", first, None, mip_gap=0.0).status == Status.INFEASIBLE
    interrupted = _parse(prob, "", first, None, mip_gap=0.0, interrupted=True)
    assert interrupted.status == Status.NO_SOLUTION


@pytest.mark.skipif(not solver_available("highs"), reason="highspy not installed")
def test_ctrl_c_stops_highs_in_the_main_thread() -> None:
    """HiGHS runs in this process (``optimise --jobs 1``): Ctrl-C must stop it and be raised.

    The market split has no time limit, so a HiGHS that cannot be interrupted never returns
    (the subprocess's timeout is only a safety net); Ctrl-C is sent once the model is built.
    Afterwards no thread of HiGHS is left running.
    """
    script = textwrap.dedent(
        """
        import os, signal, threading, time
        import pulp
        from pcnopt.model.solvers import solve
        from tests.model.test_solvers import market_split

        built = threading.Event()
        build = pulp.HiGHS.buildSolverModel

        def build_and_say(self, lp):
            build(self, lp)
            built.set()

        def ctrl_c_once_built():
            built.wait()
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGINT)

        pulp.HiGHS.buildSolverModel = build_and_say
        threading.Thread(target=ctrl_c_once_built, daemon=True).start()
        try:
            solve(market_split(rows=5, cols=50), solver="highs", time_limit=None, threads=1,
                  mip_gap=0.0, warm_start=None)
            print("returned")
        except KeyboardInterrupt:
            time.sleep(0.1)
            print("interrupted", threading.active_count())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        cwd=PROJECT,
        timeout=120,
        # a shell's background job inherits SIGINT ignored: the test restores the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert done.stdout.split() == ["interrupted", "1"], done.stdout + done.stderr[-2000:]


def test_cbc_time_limit_counts_the_writing_of_the_model(monkeypatch) -> None:
    """A closing program of 100,000 columns took 4 s to write before CBC started with the
    whole limit: the place ended past its deadline. CBC gets what is left of the limit."""
    import time

    from pcnopt.model.solvers import cbc

    write = pulp.LpProblem.writeMPS

    def slow_write(self, *args, **kwargs):
        time.sleep(1.0)
        return write(self, *args, **kwargs)

    given: list[list[str]] = []
    run = cbc._run_guarded

    def spied(args, log_path, time_limit):
        given.append(list(args))
        return run(args, log_path, time_limit)

    monkeypatch.setattr(pulp.LpProblem, "writeMPS", slow_write)
    monkeypatch.setattr(cbc, "_run_guarded", spied)
    res = solve(
        market_split(rows=2, cols=8),
        solver="cbc",
        time_limit=3.0,
        threads=1,
        mip_gap=0.0,
        warm_start=None,
    )
    assert res.status in (Status.OPTIMAL, Status.FEASIBLE, Status.NO_SOLUTION)
    seconds = float(given[0][given[0].index("-sec") + 1])
    assert seconds <= 2.05


def test_a_cbc_solution_file_cut_short_is_no_solution_not_a_crash(monkeypatch) -> None:
    """A CBC stopped while writing its solution left a file whose lines PuLP's reader cannot
    split (IndexError): the national run of the fewest networks stopped with a traceback. The
    file is now read as no solution."""
    from pcnopt.model.solvers import cbc

    run = cbc._run_guarded

    def cut_short(args, log_path, time_limit):  # type: ignore[no-untyped-def]
        interrupted = run(args, log_path, time_limit)
        sol = args[args.index("-solution") + 1]
        with open(sol, encoding="utf-8") as handle:
            first = handle.readline()
        with open(sol, "w", encoding="utf-8") as handle:
            handle.write(first + "      0 x\n")  # the status, then a line cut after its name
        return interrupted

    monkeypatch.setattr(cbc, "_run_guarded", cut_short)
    result = solve(
        small_mip(), solver="cbc", time_limit=None, threads=1, mip_gap=0.0, warm_start=None
    )
    assert result.status is Status.NO_SOLUTION
    assert result.objective is None and not result.values
