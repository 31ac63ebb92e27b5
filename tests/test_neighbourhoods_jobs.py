"""Nested levels solve their places on the local engine: the same files whatever ``--jobs``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import cli
from pcnopt._processes import running
from pcnopt.run import engine
from tests.conftest import PROJECT
from tests.processes import command, descendants

TOP_DOWN = ["neighbourhoods", "--level", "neighbourhood=100000-250000"]
TOP_DOWN += ["--level", "pcn=30000-50000", "--no-tiles"]
BOTTOM_UP = ["neighbourhoods", "--band", "100000-250000", "--group-current", "--no-tiles"]
OPTIMISE = ["optimise", "--level", "neighbourhood=60000-100000", "--level", "pcn=25000-50000"]
VOLATILE = {"run_log.json", "pcnopt-manifest.json"}  # measured seconds, and their hash


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in VOLATILE
    }


@pytest.mark.parametrize(
    "args", [TOP_DOWN, BOTTOM_UP, OPTIMISE], ids=["top-down", "bottom-up", "optimise"]
)
def test_two_processes_write_every_file_as_one_does(tmp_path, monkeypatch, args):
    """--jobs 2 solves the places on a pool of two processes, and changes no output byte."""
    pools: list[int] = []
    real = engine.local_pool

    @contextlib.contextmanager
    def counted(workers: int) -> Iterator[object]:
        pools.append(workers)
        with real(workers) as pool:
            yield pool

    monkeypatch.setattr(engine, "local_pool", counted)
    outs = {}
    for jobs in ("1", "2"):
        outs[jobs] = tmp_path / f"jobs{jobs}"
        assert cli.main([*args, "--jobs", jobs, "--out", str(outs[jobs])]) == 0
    assert pools == [2], "--jobs 2 did not solve the places on two processes"
    one, two = _files(outs["1"]), _files(outs["2"])
    assert "assignments.csv" in one and len(one) > 5
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc")
def test_ctrl_c_while_two_processes_solve_places_exits_130_and_writes_nothing(tmp_path):
    """SIGINT to the main process only (as ``kill -INT``), while its workers solve places."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT / "cli.py"), *TOP_DOWN, "--jobs", "2", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        # as an interactive shell starts it: Ctrl-C not ignored (a background job inherits it
        # ignored), and in its own session so the signal reaches it alone
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and proc.poll() is None:
            workers = [p for p in descendants(proc.pid) if "multiprocessing" in command(p)]
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None and len(workers) >= 2, "no two workers solved places"
        time.sleep(1.0)  # the workers are solving
        children = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == ["pcnopt: interrupted; nothing was written."], stderr
    assert not out.exists()
    time.sleep(0.5)
    alive = [p for p in children if running(p.pid)]
    assert not alive, [command(p) for p in alive]
