"""No solver outlives pcnopt: a process killed while CBC solves leaves no CBC running.

A child Python process solves a model that takes CBC far longer than the test (a
market-split problem); the test waits for its CBC, kills the child with SIGKILL (which no
handler can catch) and checks that the CBC process is gone within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pcnopt._processes import running

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys, threading, time
sys.path.insert(0, {root!r})
if {threaded!r}:  # a process with other threads (a Dask worker, a progress bar, HiGHS)
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
from tests.model.test_solvers import market_split
from pcnopt.model.solvers import solve
solve(market_split(rows=5, cols=48), solver={solver!r}, time_limit=None, threads=1,
      mip_gap=0.0, warm_start=None)
"""


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                out.append(child)
                stack.append(child)
    return out


def _is_solver(pid: int) -> bool:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip().lower()
    except OSError:
        return False
    return "cbc" in name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, SIGKILL")
@pytest.mark.parametrize("solver", ["cbc", "PULP_CBC_CMD"], ids=["cbc", "pulp_any"])
@pytest.mark.parametrize("threaded", [False, True], ids=["one_thread", "threads"])
def test_a_killed_process_leaves_no_solver_running(
    solver: str, threaded: bool, tmp_path: Path
) -> None:
    # a killed process cannot remove its model files: they go to the test's folder, not /tmp
    scratch = {"TMPDIR": str(tmp_path), "TMP": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(root=str(ROOT), solver=solver, threaded=threaded)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **scratch},
    )
    solvers: list[int] = []
    try:
        waited = time.monotonic() + 60
        while not solvers and time.monotonic() < waited and child.poll() is None:
            time.sleep(0.2)
            solvers = [p for p in _descendants(child.pid) if _is_solver(p)]
        assert solvers, "the child never started CBC"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        gone = time.monotonic() + 5
        while any(running(p) for p in solvers) and time.monotonic() < gone:
            time.sleep(0.1)
        assert not any(running(p) for p in solvers), f"CBC {solvers} outlived its parent"
    finally:
        for pid in solvers:  # the test must not leave one either
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        if child.poll() is None:
            child.kill()
            child.wait()
