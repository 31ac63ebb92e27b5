"""The funding role mix's CBC dies with pcnopt, as every other solver pcnopt starts.

PuLP starts CBC with ``subprocess.Popen`` and no ``preexec_fn``; the role mix runs PuLP's own
command line itself (:func:`pcnopt.model.solvers.cbc.solve_as_pulp`) with the project's
``popen_kwargs``, so the kernel kills CBC when pcnopt dies (``PR_SET_PDEATHSIG``). A stand-in
for the CBC binary (a script that execs the real one, or sleeps) shows what the solver process
was given; nothing global is patched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pulp
import pytest

from pcnopt import funding
from pcnopt._processes import running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl, /proc")

COSTS = {
    "clinical_pharmacist": 66_972.0,
    "care_coordinator": 36_150.0,
    "pharmacy_technician": 43_352.0,
}


def _stand_in(tmp_path: Path, body: str) -> Path:
    """An executable stand-in for CBC that records its parent-death signal, then runs ``body``."""
    record = tmp_path / "pdeathsig.txt"
    script = tmp_path / "cbc"
    script.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            f"""
            import ctypes, os, sys
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            sig = ctypes.c_int(-1)
            libc.prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
            with open({str(record)!r}, "w") as f:
                f.write(f"{{sig.value}} {{os.getpid()}}")
            """
        )
        + textwrap.dedent(body)
    )
    script.chmod(0o755)
    return script


def _recorded(tmp_path: Path) -> tuple[int, int]:
    sig, pid = (tmp_path / "pdeathsig.txt").read_text().split()
    return int(sig), int(pid)


@pytest.mark.parametrize("threaded", [False, True], ids=["one_thread", "threads"])
def test_the_role_mix_solver_is_started_with_the_parent_death_signal(tmp_path, threaded):
    """In a process of one thread, as the ``funding`` command is, and in one with other threads,
    as a scenario batch or a Dask worker is (there CBC goes through a starter: a preexec_fn can
    deadlock the child). pytest's own process may hold threads that earlier tests left, so the
    solve runs in a fresh one."""
    real = pulp.PULP_CBC_CMD(msg=False).path
    cbc = _stand_in(tmp_path, f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n")
    project = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import json, pulp, threading
                from pcnopt import funding
                if {threaded!r}:
                    threading.Thread(target=threading.Event().wait, daemon=True).start()
                given = funding.solve_role_mix(
                    budget=600_000.0, costs={COSTS!r}, caps={{}}, step=0.5,
                    solver=pulp.COIN_CMD(path={str(cbc)!r}, msg=False),
                )
                print(json.dumps(given))
                """
            ),
        ],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    given = json.loads(done.stdout)
    sig, _ = _recorded(tmp_path)
    assert sig == signal.SIGKILL  # 0 when PuLP starts CBC itself
    # the same plan as PuLP's bundled CBC by default
    assert given == funding.solve_role_mix(budget=600_000.0, costs=COSTS, caps={}, step=0.5)
    assert sum(given.values()) > 0


def test_killing_pcnopt_while_the_role_mix_solves_leaves_no_cbc(tmp_path):
    cbc = _stand_in(tmp_path, "import time\ntime.sleep(120)\n")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import pulp
                from pcnopt import funding
                funding.solve_role_mix(
                    budget=600_000.0, costs={COSTS!r}, caps={{}}, step=0.5,
                    solver=pulp.COIN_CMD(path={str(cbc)!r}, msg=False),
                )
                """
            ),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    record = tmp_path / "pdeathsig.txt"
    pid = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None and pid is None:
            if record.exists() and record.read_text().strip():
                pid = _recorded(tmp_path)[1]
            time.sleep(0.05)
        assert pid is not None, "the role mix never started its solver"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 5
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(pid), "the role mix's CBC outlived pcnopt"
    finally:
        if child.poll() is None:
            child.kill()
        if pid is not None and running(pid):
            os.kill(pid, signal.SIGKILL)
