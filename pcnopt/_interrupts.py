"""Ctrl-C that waits for compiled code to return.

A ``KeyboardInterrupt`` raised while numba loads or runs a compiled kernel (its first call in a
process reads the kernel from the cache and links it through llvmlite callbacks) can leave the
process in a state it cannot leave cleanly: seen as a segmentation fault when Ctrl-C landed in the
first call of the candidate enumeration (``pcnopt neighbourhoods``, which solves in its own
process). Every kernel is therefore called with Ctrl-C held: the interrupt is noted and raised as
soon as the kernel returns (kernels run for seconds at most).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable, Iterator
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
