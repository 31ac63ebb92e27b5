"""Run a batch of scenarios on the engine of :mod:`pcnopt.run`, each into ``DIR/<name>/``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt._interrupts import AbandonableThreads, wait_interruptibly
from pcnopt.errors import InputError, OptionError, PcnoptError, Problem
from pcnopt.io import outputs
from pcnopt.jobs import write_run_with_maps
from pcnopt.run import GeographyCache, check_rules_across_places, load_inputs, run_optimise
from pcnopt.run.engine import CachingExecutor, PlaceCache, lost_place, start_engine
from pcnopt.scenarios.changes import apply_changes
from pcnopt.scenarios.schema import Scenario


@dataclass(frozen=True)
class PreparedScenario:
    """A scenario with its changes applied: the practices table the run starts from."""

    scenario: Scenario
    practices: gpd.GeoDataFrame
    log: pd.DataFrame


def prepare_scenario(scenario: Scenario, *, memo: dict[Any, Any] | None = None) -> PreparedScenario:
    """Read the scenario's inputs and apply its changes (nothing is solved).

    Parameters
    ----------
    scenario
        The scenario.
    memo
        Inputs already read in this batch (scenarios sharing inputs read them once).

    Raises
    ------
    InputError
        A change naming no practice, closing every practice of a place, a rule naming a
        practice the changes removed, … (naming the scenario file and key).
    """
    config = scenario.config
    memo = {} if memo is None else memo
    key = (
        config.practices,
        config.places,
        config.place_column,
        config.place_field,
        config.columns,
        config.population,
        config.snap_distance_m,
        config.repair_geometries,
    )
    if key not in memo:
        memo[key] = load_inputs(config)
    practices, places, _ = memo[key]
    table, log = apply_changes(
        practices,
        scenario.changes,
        places=None if config.place_field else places,
        practices_file=str(config.practices),
    )
    _check_rules(scenario, table)
    return PreparedScenario(scenario, table, log)


def _check_rules(scenario: Scenario, table: pd.DataFrame) -> None:
    config = scenario.config
    known = set(table["practice_code"])
    problems = []
    named = {
        "rules.keep_together": [c for g in config.keep_together for c in g],
        "rules.keep_apart": [c for g in config.keep_apart for c in g],
        "rules.fixed": [c for c, _ in config.fixed],
        "rules.excluded": list(config.excluded),
    }
    for key, codes in named.items():
        missing = sorted({c for c in codes if c not in known})
        if missing:
            problems.append(
                Problem(
                    scenario.file,
                    f"key '{key}': {', '.join(missing)} "
                    "not in the practices table (after the scenario's changes).",
                    "check the codes; a merged or closed practice no longer "
                    "exists (use the code the merged practice keeps).",
                )
            )
    if problems:
        raise InputError(problems)
    try:
        check_rules_across_places(table, config)
    except OptionError as exc:
        raise InputError(
            Problem(
                scenario.file,
                f"key 'rules': {exc}",
                "a PCN cannot cross a place boundary; change the rules.",
            )
        ) from None


@dataclass(frozen=True)
class ScenarioRun:
    """What happened to one scenario of a batch."""

    name: str
    folder: Path
    status: str  # "done" | "skipped" (finished before, unchanged)
    seconds: float
    summary: dict[str, Any]


@dataclass(frozen=True)
class BatchReport:
    """A batch of scenario runs."""

    runs: tuple[ScenarioRun, ...]
    engine: str
    places_solved: int
    places_reused: int
    seconds: float


def is_finished(folder: Path, scenario: Scenario) -> bool:
    """Whether ``folder`` holds a complete, unchanged run of exactly this scenario."""
    if not outputs.is_pcnopt_folder(folder):
        return False
    try:
        summary = json.loads((folder / outputs.MARKER).read_text(encoding="utf-8"))
        return bool(summary["scenario"]["digest"] == scenario.digest)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def run_scenarios(
    scenarios: Sequence[Scenario],
    *,
    out: str | Path,
    scheduler: str | None = None,
    jobs: int = 0,
    progress: bool = False,
    resume: bool = True,
    cache: bool = True,
) -> BatchReport:
    """Run a batch of scenarios, each into ``out/<name>/``.

    Parameters
    ----------
    scenarios
        The scenarios (unique names).
    out
        Batch folder.
    scheduler
        ``None``: local processes; ``"local"``: a Dask ``LocalCluster``; otherwise a Dask
        scheduler address.
    jobs
        Local processes or ``LocalCluster`` workers (0: every core, or 2 workers).
    progress
        Progress bars for places and scenarios on standard error.
    resume
        Skip scenarios already finished in ``out`` (same digest).
    cache
        Keep solved places in ``out/.cache/places`` and reuse them.

    Raises
    ------
    InputError
        Any problem of any scenario, found before anything is solved or written.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    out = Path(out)
    names = [s.name for s in scenarios]
    if len(set(names)) < len(names):
        raise OptionError(
            "two scenarios share a name: "
            + ", ".join(sorted({n for n in names if names.count(n) > 1}))
            + "; give each its own."
        )
    if out.exists() and not out.is_dir():
        raise InputError(
            Problem(str(out), "exists and is not a folder.", "choose a folder for --out.")
        )
    runs: dict[str, ScenarioRun] = {}
    todo: list[Scenario] = []
    for s in scenarios:
        folder = out / s.name
        if resume and is_finished(folder, s):
            summary = json.loads((folder / outputs.MARKER).read_text(encoding="utf-8"))
            runs[s.name] = ScenarioRun(s.name, folder, "skipped", 0.0, summary)
        else:
            outputs.check_output_folder(folder)
            todo.append(s)
    memo: dict[Any, Any] = {}
    prepared: list[PreparedScenario] = []
    problems: list[Problem] = []
    for s in todo:
        try:
            prepared.append(prepare_scenario(s, memo=memo))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    memo.clear()
    out.mkdir(parents=True, exist_ok=True)
    places_bar = tqdm(total=0, desc="places solved", unit="place", disable=not progress, position=0)
    scenario_bar = tqdm(
        total=len(scenarios),
        initial=len(scenarios) - len(todo),
        desc="scenarios done",
        unit="scenario",
        disable=not progress,
        position=1,
    )
    lock = threading.Lock()

    def on_submit() -> None:
        with lock:
            places_bar.total += 1
            places_bar.refresh()

    def on_done(cached: bool) -> None:
        with lock:
            places_bar.update()

    try:
        with start_engine(scheduler=scheduler, jobs=jobs) as engine:
            executor = CachingExecutor(
                engine.executor,
                PlaceCache(out / ".cache" / "places" if cache else None),
                on_submit=on_submit,
                on_done=on_done,
            )
            places_bar.set_postfix_str(engine.description)
            runs.update(
                _run_prepared(
                    prepared, out, executor, engine.workers, scenario_bar, GeographyCache()
                )
            )
            description = engine.description
    finally:
        places_bar.close()
        scenario_bar.close()
    return BatchReport(
        runs=tuple(runs[s.name] for s in scenarios),
        engine=description,
        places_solved=executor.solved,
        places_reused=executor.reused,
        seconds=time.perf_counter() - started,
    )


def _run_prepared(
    prepared: list[PreparedScenario],
    out: Path,
    executor: CachingExecutor,
    workers: int,
    bar: Any,
    shared: GeographyCache,
) -> dict[str, ScenarioRun]:
    """Run prepared scenarios in threads of this process (their places go to the engine)."""
    runs: dict[str, ScenarioRun] = {}
    errors: list[tuple[Scenario, BaseException]] = []
    if not prepared:
        return runs
    # one engine worker: one scenario at a time (truly one process); otherwise one scenario
    # more than workers, so the next one is prepared while places are being solved
    threads = 1 if workers == 1 else min(len(prepared), workers + 1)
    pool = AbandonableThreads(threads, name="scenario")
    pending = {
        pool.submit(_run_one, p, out / p.scenario.name, executor, shared): p for p in prepared
    }
    try:
        while pending:
            done, _ = wait_interruptibly(list(pending), first=True)
            for future in done:
                p = pending.pop(future)
                if future.exception() is not None:
                    errors.append((p.scenario, future.exception()))  # type: ignore[arg-type]
                else:
                    runs[p.scenario.name] = future.result()
                bar.update()
    except BaseException:
        # Ctrl-C: stop handing out places; finished places stay in the cache for a resume
        executor.inner.shutdown(wait=False, cancel_futures=True)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    for _, error in errors:
        if not isinstance(error, PcnoptError) and lost_place(error) is None:
            raise error
    if errors:
        lines = [
            f"scenario {s.name} ({s.file or 'in code'}): {lost_place(e) or e}" for s, e in errors
        ]
        resume = ""
        if any(lost_place(e) for _, e in errors):
            kept = (
                f"places solved so far are kept in {executor.cache.folder}, and "
                if executor.cache.folder is not None
                else ""
            )
            resume = (
                f"\nNothing of the failed scenarios was written; {kept}finished scenarios "
                "are skipped: run the same command again to resume."
            )
        raise OptionError(
            f"{len(errors)} of {len(prepared)} scenarios failed (the others were "
            "written):\n  " + "\n  ".join(lines) + resume
        )
    return runs


def _run_one(
    prepared: PreparedScenario, folder: Path, executor: CachingExecutor, shared: GeographyCache
) -> ScenarioRun:
    started = time.perf_counter()
    scenario = prepared.scenario
    if scenario.config.levels:
        return _run_nested(prepared, folder, started)
    result = run_optimise(
        scenario.config,
        practices_table=prepared.practices,
        executor=executor,
        geography_cache=shared,
    )
    summary = {
        **result.summary,
        "scenario": scenario.describe(),
        "changes_logged": len(prepared.log),
    }
    result = replace(result, summary=summary)
    write_run_with_maps(
        result, folder, extra={"changes.csv": outputs.csv_writer(prepared.log)}, command="run"
    )
    return ScenarioRun(scenario.name, folder, "done", time.perf_counter() - started, summary)


def _run_nested(prepared: PreparedScenario, folder: Path, started: float) -> ScenarioRun:
    """A scenario with ``[[level]]`` tables: the nested design of ``pcnopt neighbourhoods``
    (top-down, every level), solved in this thread (``jobs=1``: the batch's engine runs
    the scenarios side by side), written with its changes."""
    from pcnopt.neighbourhoods import run_neighbourhoods, write_neighbourhoods

    scenario = prepared.scenario
    result = run_neighbourhoods(scenario.config, practices_table=prepared.practices, jobs=1)
    summary = {
        **result.summary,
        "scenario": scenario.describe(),
        "changes_logged": len(prepared.log),
    }
    write_neighbourhoods(
        replace(result, summary=summary),
        folder,
        extra={"changes.csv": outputs.csv_writer(prepared.log)},
        command="run",
    )
    return ScenarioRun(scenario.name, folder, "done", time.perf_counter() - started, summary)
