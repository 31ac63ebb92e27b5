"""The one engine that solves places, for ``optimise`` and for batches of scenarios alike.

Places are solved in this process, a local process pool, or on a Dask cluster. Every engine
is used through one ``submit(fn, graph, options=...)`` returning a
:class:`concurrent.futures.Future`. :class:`CachingExecutor` wraps it with the batch's place
cache (``DIR/.cache/places/<sha256>.json``), so a batch that was interrupted resumes without
solving a finished place again, and identical places of different scenarios are solved once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pcnopt import __version__
from pcnopt._interrupts import wait_interruptibly
from pcnopt._processes import local_pool
from pcnopt.errors import OptionError, SolverError
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions, solve_place
from pcnopt.model.hubs import distance_matrix, hub_of
from pcnopt.model.solvers import Status


class InProcessExecutor:
    """Solve each place at once in this process (``jobs = 1``).

    An error of the place is kept in its future; Ctrl-C (``KeyboardInterrupt``) is not caught,
    so it stops the run at once.
    """

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``fn`` now; return its finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
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
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        description = f"Dask LocalCluster, {workers} workers"
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise OptionError(
                f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}). "
                "Check the address (tcp://host:8786) and that it is running, or "
                "use --scheduler local."
            ) from None
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

    def __init__(
        self,
        inner: Any,
        cache: PlaceCache,
        *,
        on_submit: Callable[[], None] = lambda: None,
        on_done: Callable[[bool], None] = lambda cached: None,
    ) -> None:
        self.inner, self.cache = inner, cache
        self.on_submit, self.on_done = on_submit, on_done
        self._lock = threading.RLock()
        self._running: dict[str, Future] = {}
        self.solved = 0
        self.reused = 0

    def submit(self, fn: Callable[..., Any], graph: PlaceGraph, *, options: Any) -> Future:
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


def solve_place_safely(graph: PlaceGraph, *, options: SolveOptions) -> PlaceSolution:
    """Solve one place; a solver that is missing or crashes never sinks the whole run.

    If the chosen solver fails, the place is solved again with HiGHS (or CBC if HiGHS was
    the one that failed). If that fails too, the place gets the greedy contiguous grouping of
    :mod:`pcnopt.model.baseline` with status ``"solver_failed"``, clearly marked in its notes and
    message, and the rest of the run goes on.
    """
    started = time.perf_counter()
    try:
        return solve_place(graph, options=options)
    except SolverError as first:
        other = "highs" if options.solver.lower() != "highs" else "cbc"
        try:
            retry = solve_place(graph, options=dataclasses.replace(options, solver=other))
            return dataclasses.replace(
                retry,
                message=f"{options.solver} failed ({first}); solved with "
                f"{other} instead. {retry.message}",
            )
        except SolverError as second:
            return _greedy_fallback(graph, options, f"{first}; {second}", started)


def _greedy_fallback(
    graph: PlaceGraph, options: SolveOptions, reason: str, started: float
) -> PlaceSolution:
    import networkx as nx

    from pcnopt.model.baseline import greedy_groups

    excluded = set(options.excluded)
    codes = [c for c in graph.codes if c not in excluded]
    index = {c: i for i, c in enumerate(graph.codes)}
    network = nx.Graph()
    network.add_nodes_from(graph.codes)
    network.add_edges_from((graph.codes[i], graph.codes[j]) for i, j, _ in graph.edges)
    population = np.array(graph.population)
    x, y = np.array(graph.x), np.array(graph.y)
    xy = np.column_stack([x, y])
    groups = greedy_groups(
        codes=codes,
        population=population[[index[c] for c in codes]],
        xy=xy[[index[c] for c in codes]],
        graph=network.subgraph(codes),
        min_size=options.min_size,
        max_size=options.max_size,
    )
    cost = population[:, None] * distance_matrix(x, y)
    labels = [-1] * len(graph.codes)
    hubs = []
    for k, group in enumerate(groups):
        members = [index[c] for c in group]
        for m in members:
            labels[m] = k
        hubs.append(hub_of(members, cost))
    note = "solver failed: greedy grouping, not optimised"
    return PlaceSolution(
        place_id=graph.place_id,
        status=Status.SOLVER_FAILED,
        objective=None,
        bound=None,
        gap=None,
        seconds=time.perf_counter() - started,
        labels=tuple(labels),
        hubs=tuple(hubs),
        notes=tuple(note for _ in groups),
        message=f"The solver failed in this place ({reason}); it was given a greedy contiguous "
        "grouping that is not optimised. Re-run the place, or try --solver highs.",
        solver="none",
    )


def solve_places(
    executor: Any,
    graphs: list[PlaceGraph],
    options: Sequence[Any],
    *,
    on_place: Callable[[PlaceGraph, Any], None] | None = None,
    fn: Callable[..., Any] | None = None,
) -> list[Any]:
    """Solve every place on an executor (largest places first), in the order of ``graphs``.

    Results come back in the order of ``graphs`` whichever process finished first, so the
    outputs do not depend on the engine or the number of processes.

    Parameters
    ----------
    executor
        Anything with :meth:`concurrent.futures.Executor.submit` returning
        :class:`concurrent.futures.Future` objects: an engine's executor, usually behind a
        :class:`CachingExecutor`.
    graphs, options
        The places and the options of each.
    on_place
        Called with each place and its solution as it is solved (for a progress bar).
    fn
        What solves one place, called as ``fn(graph, options=...)``: None for
        :func:`solve_place_safely` (``options`` a :class:`SolveOptions`); another must be a
        module-level function (it is pickled to the worker processes) whose result has a
        ``status`` and ``seconds`` (e.g. the nested levels of one place).
    """
    # largest places first, so no core waits on one big place at the end
    order = sorted(range(len(graphs)), key=lambda k: -len(graphs[k].codes))
    # looked up at the call, not bound as a default: a scenario batch (and its tests) may
    # replace the module's solver function
    solve_one = solve_place_safely if fn is None else fn
    futures = {k: executor.submit(solve_one, graphs[k], options=options[k]) for k in order}
    if on_place is not None:
        for k, future in futures.items():
            future.add_done_callback(
                lambda f, graph=graphs[k]: (
                    on_place(graph, f.result())
                    if not f.cancelled() and f.exception() is None
                    else None
                )
            )
    wait_interruptibly(list(futures.values()))
    return [futures[k].result() for k in range(len(graphs))]


def solve_places_locally(
    graphs: list[PlaceGraph],
    options: Sequence[Any],
    *,
    jobs: int,
    progress: bool = False,
    names: Mapping[str, str] | None = None,
    fn: Callable[..., Any] | None = None,
) -> list[Any]:
    """Solve every place on a local engine of ``jobs`` processes (0: every core; 1: this one).

    The engine is the one a batch of scenarios uses (:func:`start_engine`), with no place cache.
    With ``progress``, a bar on standard error counts the places with the time so far, and
    names the place last solved (``names``: place id to name), its status and its seconds.
    ``fn`` solves one place (see :func:`solve_places`).
    """
    from tqdm import tqdm

    workers = max(1, min(jobs or (os.cpu_count() or 1), len(graphs)))
    bar = tqdm(
        total=len(graphs), desc="places solved", unit="place", disable=not progress, leave=False
    )
    try:
        with start_engine(scheduler=None, jobs=workers) as engine:
            executor = CachingExecutor(
                engine.executor, PlaceCache(None), on_done=lambda cached: bar.update()
            )

            def solved(graph: PlaceGraph, solution: Any) -> None:
                name = (names or {}).get(graph.place_id, graph.place_id)
                bar.set_postfix_str(
                    f"{name}: {solution.status}, {solution.seconds:.1f} s", refresh=True
                )

            return solve_places(executor, graphs, options, on_place=solved, fn=fn)
    finally:
        bar.close()
