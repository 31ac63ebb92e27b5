"""Child processes that end with their parent: pool workers and solver binaries.

A process pool or a solver started by pcnopt must never outlive it: not after Ctrl-C, not after
the main process is killed (SIGKILL cannot be caught, so each child asks the kernel to kill it
when its parent dies: Linux ``PR_SET_PDEATHSIG``), and not after a failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1


def _libc() -> Any:
    """The C library, loaded once in the parent (never between fork and exec: looking it up
    runs other programs, which a child forked from a threaded process must not do)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        with contextlib.suppress(OSError, TypeError):
            return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return None


_LIBC = _libc()


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux; elsewhere nothing).

    Safe to call in a ``preexec_fn`` (between fork and exec: one system call, nothing looked
    up) and as a pool initializer.
    """
    if _LIBC is not None:
        with contextlib.suppress(OSError, AttributeError):
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _worker_init() -> None:
    """Pool worker start: die with the parent; leave Ctrl-C to the parent, which stops us."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_pool(pool: ProcessPoolExecutor, *, processes: Mapping[int, Any] | None = None) -> None:
    """Stop a process pool now: cancel what waits, end the workers that are solving.

    ``ProcessPoolExecutor`` has no public way to stop a running task, and its ``shutdown``
    forgets its processes (``_processes`` becomes None), so they are taken first, or from
    ``processes``: the pool's own table of workers, kept by :func:`local_pool` when the pool
    was made, which still holds them when someone else shut the pool down first (a scenario
    batch cancels its places on Ctrl-C; the workers then solved on, and Python's exit waited
    up to a place's time limit for them).
    """
    table = processes if processes is not None else getattr(pool, "_processes", None)
    workers = list((table or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in still_running(workers, timeout=3):
        with contextlib.suppress(Exception):
            process.kill()
    still_running(workers, timeout=3)


def still_running(processes: Sequence[Any], *, timeout: float) -> list[Any]:
    """The processes among ``processes`` that have not exited within ``timeout`` seconds.

    A process has exited when its sentinel is ready. ``Process.is_alive`` and ``join`` can say
    otherwise for a moment: the pool's own thread also waits for its workers, and when it
    reaps one first, our ``waitpid`` fails and the exit code is not yet recorded.
    """
    from multiprocessing.connection import wait

    waiting: dict[int, Any] = {}
    for process in processes:
        with contextlib.suppress(ValueError, AttributeError):
            waiting[process.sentinel] = process
    deadline = time.monotonic() + timeout
    while waiting:
        left = deadline - time.monotonic()
        ready = wait(list(waiting), timeout=max(left, 0))
        for sentinel in ready:
            waiting.pop(sentinel)  # type: ignore[arg-type]
        if left <= 0:
            break
    return list(waiting.values())


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes that end with pcnopt.

    On leaving normally the pool waits for its tasks; on Ctrl-C or a failure it stops them at
    once (finished results are the caller's to keep).
    """
    from multiprocessing import get_context

    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_worker_init
    )
    # the pool adds each worker it starts to this table, and forgets the table on shutdown
    table = getattr(pool, "_processes", None)
    try:
        yield pool
    except BaseException:
        stop_pool(pool, processes=table)
        raise
    pool.shutdown(wait=True)


def running(pid: int | str) -> bool:
    """Whether process ``pid`` runs: it exists and is not a zombie (a zombie has ended and
    waits only for its parent to read its exit; Linux ``/proc``, elsewhere always False)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


_STARTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_starter.py")


def guarded(args: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """The command line and :class:`subprocess.Popen` keyword arguments that start ``args`` so
    that it dies with this process, even on SIGKILL (Linux; elsewhere ``args`` as given).

    In a process of one thread the child asks the kernel itself, between fork and exec (a
    ``preexec_fn``). A ``preexec_fn`` forked from a process with other threads can deadlock
    the child before it runs the program (seen in scenario batches, two threads each starting
    role-mix solves), and Dask workers, progress bars and HiGHS all add threads; there the
    program is started through a small starter (``_starter.py``) that asks the kernel, checks
    that its parent is still this process and becomes the program (its process id is the one
    :class:`subprocess.Popen` returns, so signals sent to it reach the program).

    Parameters
    ----------
    args
        The program and its arguments.

    Returns
    -------
    tuple of (list of str, dict)
        The command line to run and the extra keyword arguments for ``Popen``.
    """
    if _LIBC is None or os.name != "posix":
        return list(args), {}
    if threading.active_count() == 1:
        return list(args), {"preexec_fn": die_with_parent}
    return [sys.executable, "-I", "-S", _STARTER, str(os.getpid()), *args], {}
