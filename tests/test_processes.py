"""``pcnopt._processes``: a pool stopped on Ctrl-C ends its workers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pcnopt._processes import local_pool, running, still_running

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
