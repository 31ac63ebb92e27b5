"""Issue 17, class 7: after SIGKILL of pcnopt, none of its processes outlives it.

SIGKILL cannot be caught, so every child must end by itself: pool workers and CBC ask the
kernel to kill them with their parent (``PR_SET_PDEATHSIG``), the multiprocessing resource
tracker ends when its last writer is gone, and Dask's workers when their nanny loses the
scheduler. Each test kills the main process while places are being solved and checks that no
descendant is left within a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals, /proc")


def _kill_mid_solve(argv: list[str], cwd: Path, *, workers: int) -> list[str]:
    """Start pcnopt, SIGKILL it once ``workers`` solver processes run; return survivors."""
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT / "cli.py"), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        start_new_session=True,  # its own group, so survivors can be found and cleaned up
    )
    seen: dict[int, psutil.Process] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with_children = psutil.Process(proc.pid).children(recursive=True)
            seen.update({p.pid: p for p in with_children})
            solving = [p for p in with_children if _is_worker(p)]
            if len(solving) >= workers:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before its workers started"
        time.sleep(1.0)  # let the workers start solving (and CBC)
        seen.update({p.pid: p for p in psutil.Process(proc.pid).children(recursive=True)})
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        alive = list(seen.values())
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if _running(p)]
            time.sleep(0.1)
        return [" ".join(p.cmdline())[:120] for p in alive if _running(p)]
    finally:
        for p in seen.values():
            if _running(p):
                p.kill()


def _is_worker(p: psutil.Process) -> bool:
    try:
        line = " ".join(p.cmdline())
    except psutil.Error:
        return False
    return ("multiprocessing" in line and "resource_tracker" not in line) or "distributed" in line


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.parametrize("scheduler", [[], ["--scheduler", "local"]], ids=["processes", "dask"])
def test_sigkill_of_run_leaves_no_process(tmp_path, scheduler):
    argv = [
        "run",
        str(PROJECT / "examples" / "demo_base.toml"),
        "--out",
        str(tmp_path / "b"),
        "--jobs",
        "2",
        "--no-progress",
        *scheduler,
    ]
    assert _kill_mid_solve(argv, tmp_path, workers=2) == []


def test_sigkill_of_optimise_leaves_no_process(tmp_path):
    argv = ["optimise", "--jobs", "2", "--out", str(tmp_path / "out")]
    assert _kill_mid_solve(argv, tmp_path, workers=2) == []
