"""Where places are solved: this process, a local process pool, or a Dask cluster.

Every engine is used through one ``submit(fn, graph, options=...)`` returning a
:class:`concurrent.futures.Future`. :class:`CachingExecutor` wraps it with the batch's place
cache (``DIR/.cache/places/<sha256>.json``), so a batch that was interrupted resumes without
solving a finished place again, and identical places of different scenarios are solved once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pcnopt import __version__
from pcnopt._errors import OptionError
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions


class InProcessExecutor:
    """Solve each place at once in this process (``jobs = 1``)."""

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``fn`` now; return its finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to stop."""


class DaskExecutor:
    """A Dask client as an executor that lets go of each place once its result is here.

    ``Client.get_executor()`` keeps a finished task wanted while its future lives, so a worker
    that dies takes the finished places it holds with it and the scheduler solves them again.
    Here the result is copied into a :class:`concurrent.futures.Future` and the task released.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._tasks: set[Any] = set()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Send ``fn`` to the cluster; return a future of its result."""
        task = self.client.submit(fn, *args, **kwargs)
        future: Future = Future()
        with self._lock:
            self._tasks.add(task)
        future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        task.add_done_callback(lambda t: self._settle(t, future))
        return future

    def _settle(self, task: Any, future: Future) -> None:
        with self._lock:
            self._tasks.discard(task)
        if future.done():  # cancelled here
            return
        with contextlib.suppress(InvalidStateError):  # cancelled here meanwhile
            try:
                result = task.result()
            except BaseException as exc:  # the place's error, KilledWorker, cancelled by Dask
                future.set_exception(exc)
            else:
                task.release()
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Wait for the places still running, or (``wait=False``) cancel them."""
        with self._lock:
            tasks = list(self._tasks)
        if tasks and (cancel_futures or not wait):
            self.client.cancel(tasks)
        elif tasks:
            from distributed import wait as wait_for

            wait_for(tasks)


def lost_place(error: BaseException) -> str | None:
    """Why the engine lost a place it was solving (a killed worker, a lost scheduler), or None."""
    from concurrent.futures import BrokenExecutor, CancelledError

    if isinstance(error, BrokenExecutor):
        return f"a worker process died while solving a place (out of memory, or killed): {error}"
    if isinstance(error, CancelledError):
        return (
            "the Dask scheduler dropped a place being solved (the connection to it was "
            f"lost, or it was shut down): {error}"
        )
    scheduler = sys.modules.get("distributed.scheduler")
    if scheduler is not None and isinstance(error, scheduler.KilledWorker):
        return (
            "a Dask worker died while solving a place (out of memory, or killed), and the "
            f"scheduler gave up on the place: {error}"
        )
    return None


@dataclass(frozen=True)
class Engine:
    """A running engine: its executor and what it is (for the progress bar and reports)."""

    executor: Any
    description: str
    workers: int


@contextlib.contextmanager
def start_engine(*, scheduler: str | None, jobs: int) -> Iterator[Engine]:
    """Start the engine for a batch and stop it afterwards (also on Ctrl-C).

    Parameters
    ----------
    scheduler
        ``None``: local processes (``jobs`` of them; 1 solves in this process); ``"local"``: a
        Dask ``LocalCluster`` of ``jobs`` single-threaded worker processes (default 2);
        otherwise the address of a running Dask scheduler (``tcp://host:8786``).
    jobs
        Processes or workers; 0 uses every core (local) or 2 workers (``"local"``).
    """
    if scheduler is None:
        workers = jobs or (os.cpu_count() or 1)
        if workers == 1:
            yield Engine(InProcessExecutor(), "this process", 1)
            return
        from pcnopt._processes import local_pool

        # Ctrl-C or a failure: the pool ends its workers at once (finished places are in the
        # cache); the workers ignore SIGINT and die with this process
        with local_pool(workers) as pool:
            yield Engine(pool, f"{workers} local processes", workers)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a dependency
        raise OptionError("--scheduler needs Dask: pip install 'dask[distributed]'.") from None
    cluster = None
    if scheduler == "local":
        workers = jobs or 2
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        description = f"Dask LocalCluster, {workers} workers"
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise OptionError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}). "
                              "Check the address (tcp://host:8786) and that it is running, or "
                              "use --scheduler local.") from None
        workers = len(client.scheduler_info().get("workers", {}))
        description = f"Dask scheduler {scheduler}, {workers} workers"
    executor = DaskExecutor(client)
    try:
        yield Engine(executor, description, workers)
    finally:
        executor.shutdown(wait=False)
        client.close()
        if cluster is not None:
            cluster.close()


def place_key(fn: Callable[..., Any], graph: PlaceGraph, options: SolveOptions) -> str:
    """Cache key of one place: a hash of the solver function, the place graph and the options."""
    text = repr((__version__, fn.__module__, fn.__qualname__, graph, options))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PlaceCache:
    """Solved places kept as JSON files (one per place) in a folder."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def get(self, key: str) -> PlaceSolution | None:
        """The stored solution, or ``None``."""
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            return PlaceSolution(**{k: _tuples(v) for k, v in data.items()})
        except TypeError:  # written by another version of PlaceSolution
            return None

    def put(self, key: str, solution: PlaceSolution) -> None:
        """Store a solution atomically."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".json", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(solution), handle)
        os.replace(tmp, self.folder / f"{key}.json")


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


class CachingExecutor:
    """An engine's executor behind the place cache, with progress callbacks.

    Parameters
    ----------
    inner
        The engine's executor.
    cache
        Where solved places are kept.
    on_submit, on_done
        Called with ``cached`` (bool) when a place is submitted and when it is solved.
    """

    def __init__(self, inner: Any, cache: PlaceCache, *,
                 on_submit: Callable[[], None] = lambda: None,
                 on_done: Callable[[bool], None] = lambda cached: None) -> None:
        self.inner, self.cache = inner, cache
        self.on_submit, self.on_done = on_submit, on_done
        self._lock = threading.RLock()
        self._running: dict[str, Future] = {}
        self.solved = 0
        self.reused = 0

    def submit(self, fn: Callable[..., PlaceSolution], graph: PlaceGraph, *,
               options: SolveOptions) -> Future:
        """Solve one place (or take it from the cache, or join the same place in flight)."""
        key = place_key(fn, graph, options)
        self.on_submit()
        with self._lock:
            if key in self._running:
                future = self._running[key]
                future.add_done_callback(lambda f: self._reuse(f))
                return future
            cached = self.cache.get(key)
            if cached is not None:
                self.reused += 1
                done: Future = Future()
                done.set_result(cached)
                self.on_done(True)
                return done
            future = self.inner.submit(fn, graph, options=options)
            self._running[key] = future
        future.add_done_callback(lambda f: self._finished(key, f))
        return future

    def _reuse(self, future: Future) -> None:
        with self._lock:
            self.reused += 1
        self.on_done(True)

    def _finished(self, key: str, future: Future) -> None:
        if not future.cancelled() and future.exception() is None:
            self.cache.put(key, future.result())
            with self._lock:
                self.solved += 1
            self.on_done(False)
