"""Ctrl-C that stops pcnopt promptly and cleanly, whatever it is doing.

**Compiled code.** A ``KeyboardInterrupt`` raised while numba loads or runs a compiled kernel
(its first call in a process reads the kernel from the cache and links it through llvmlite
callbacks) can leave the process in a state it cannot leave cleanly: seen as a segmentation
fault when Ctrl-C landed in the first call of the candidate enumeration (``pcnopt
neighbourhoods``, which solves in its own process). Every kernel is therefore called with
Ctrl-C held (:func:`holding_sigint`): the interrupt is noted and raised as soon as the kernel
returns (kernels run for seconds at most).

**Threads still busy.** Python's exit waits for every thread of a ``ThreadPoolExecutor``; after
Ctrl-C a scenario thread busy in this process (a geography, a map) kept ``run`` alive for
10-25 s after it had said "interrupted" (over 30 s on a loaded machine, failing the Ctrl-C
test). Scenarios run on :class:`AbandonableThreads` instead: daemon threads that the exit does
not wait for.

**Waiting on other threads.** Python runs signal handlers in the main thread, which must be
awake to run them; a signal sent to the process may be delivered to any of its threads (Linux
prefers the main one but does not promise it), and a main thread asleep in a lock with no
timeout is woken only by a signal delivered to itself. :func:`wait_interruptibly` and the CBC
driver therefore wait in slices of :data:`WAKE_SECONDS`.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, wait
from types import FrameType
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) for the block; deliver it to the previous handler when it ends.

    Nothing is changed outside the main thread (only it can install handlers, and only it
    receives signals) or where SIGINT is ignored (pool workers, which their parent stops).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):
        yield
        return
    received: list[FrameType | None] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(frame)

    signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, received[0])
            else:  # SIG_DFL: end as an uncaught Ctrl-C would
                signal.raise_signal(signal.SIGINT)


def holding_sigint(kernel: F) -> F:
    """``kernel`` (a compiled function called from Python) with Ctrl-C held while it runs.

    Apply over ``numba.njit``; kernels that other kernels call must stay undecorated.
    """

    @functools.wraps(kernel)
    def call(*args: Any, **kwargs: Any) -> Any:
        with sigint_held():
            return kernel(*args, **kwargs)

    return call  # type: ignore[return-value]


#: Longest sleep of a waiting main thread between looks at pending signals (seconds).
WAKE_SECONDS = 0.25


def wait_interruptibly(
    futures: Collection[Future[Any]], *, first: bool = False
) -> tuple[set[Future[Any]], set[Future[Any]]]:
    """:func:`concurrent.futures.wait` for all (or, with ``first``, the first) of ``futures``,
    waking every :data:`WAKE_SECONDS` so that Ctrl-C delivered to another thread is raised."""
    when = FIRST_COMPLETED if first else ALL_COMPLETED
    while True:
        done, pending = wait(futures, timeout=WAKE_SECONDS, return_when=when)
        if not pending or (first and done):
            return done, pending


class AbandonableThreads:
    """Threads that run submitted calls, like :class:`concurrent.futures.ThreadPoolExecutor`
    (``submit``, ``shutdown``), but daemon: after Ctrl-C, Python's exit does not wait for a call
    still running (what it was writing is in a ``.partial-*`` folder the next run removes).

    Parameters
    ----------
    max_workers
        Threads, each taking the next call when it is free.
    name
        Prefix of the threads' names.
    """

    def __init__(self, max_workers: int, *, name: str) -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{k}", daemon=True)
            for k in range(max_workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` on the next free thread; its future."""
        future: Future[Any] = Future()
        self._calls.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            future, fn, args, kwargs = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the call's failure belongs to its future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Let the threads end after their calls (``cancel_futures``: drop calls not started);
        with ``wait``, wait for them (in slices, so Ctrl-C still stops the wait)."""
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while True:
                    call = self._calls.get_nowait()
                    if call is not None:
                        call[0].cancel()
        for _ in self._threads:
            self._calls.put(None)
        if wait:
            for thread in self._threads:
                while thread.is_alive():
                    thread.join(WAKE_SECONDS)
