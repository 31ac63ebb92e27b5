"""``pcnopt._processes``: a pool stopped on Ctrl-C ends its workers at once; a program started
``guarded`` dies with pcnopt, from a process of one thread or of several."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pcnopt._processes import guarded, local_pool, running, still_running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes")


def test_a_pool_already_shut_down_by_its_user_still_ends_its_solving_workers():
    """A scenario batch cancels its places (``shutdown(wait=False)``) before the pool is
    stopped; the pool then forgot its workers, which solved on until their place was done
    and Python's exit waited for them (up to a place's time limit after "interrupted")."""
    workers = []
    with pytest.raises(KeyboardInterrupt), local_pool(1) as pool:
        task = pool.submit(time.sleep, 60)
        deadline = time.monotonic() + 60
        while not task.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = list(pool._processes.values())
        pool.shutdown(wait=False, cancel_futures=True)  # what the batch does on Ctrl-C
        raise KeyboardInterrupt
    assert workers, "the pool never started its worker"
    # exited = its sentinel is ready (``is_alive`` can lag: the pool's thread may reap it first)
    assert not still_running(workers, timeout=0), "a worker still solves after the stop"


def test_running_counts_a_zombie_as_ended():
    """A process that has ended but not yet been reaped (a zombie) runs no more."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        assert running(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while running(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Path(f"/proc/{child.pid}").exists(), "reaped already: not a zombie"
        assert not running(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not running(child.pid)


PDEATHSIG = textwrap.dedent(
    """
    import ctypes
    sig = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
    print(sig.value)
    """
)


@contextlib.contextmanager
def _threads(more: bool):
    """While inside, this process has another thread (if ``more``)."""
    stop = threading.Event()
    if more:
        threading.Thread(target=stop.wait, daemon=True).start()
    try:
        yield
    finally:
        stop.set()


@pytest.mark.parametrize("threaded", [False, True], ids=["one_thread", "threads"])
def test_a_guarded_program_is_given_the_parent_death_signal(threaded):
    """The program itself (after the starter's exec) carries SIGKILL as its parent-death signal,
    with no ``preexec_fn`` when this process has other threads."""
    with _threads(threaded):
        command, kwargs = guarded([sys.executable, "-c", PDEATHSIG])
        assert threading.active_count() == 1 or "preexec_fn" not in kwargs
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, **kwargs)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == signal.SIGKILL


def test_the_starter_runs_nothing_when_its_parent_is_already_gone(tmp_path):
    """Between fork and the starter's request the parent may die: the program must not run."""
    with _threads(True):
        command, _ = guarded([sys.executable, "-c", f"open({str(tmp_path / 'ran')!r}, 'w')"])
    command[command.index(str(os.getpid()))] = "1"  # a parent other than the starter's own
    done = subprocess.run(command, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert not (tmp_path / "ran").exists()
