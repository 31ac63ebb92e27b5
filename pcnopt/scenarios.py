"""What-if runs: scenario files, batches of runs on local cores or a Dask cluster, comparisons.

A scenario is one TOML file: the inputs and settings of an ``optimise`` run plus a list of
changes applied to the practices table in memory before anything is solved.

Schema
------
Every key is optional; paths are relative to the file that names them::

    name = "merge-z10009"            # folder name of the outputs (default: the file name)
    description = "Upper Wendle and Riverside merge"
    extends = "base.toml"            # take everything from another scenario, then change it

    [inputs]                         # default: the embedded demo in data/
    practices = "../data/practices.csv"
    places = "../data/places.geojson"
    place_column = "place_id"        # or place_field = "ccg" (a column of the practices)
    columns = { list_size = "Patients" }
    population = "registered"        # or "weighted"
    snap_distance_m = 5000
    repair_geometries = false

    [band]
    min_size = 30000
    max_size = 50000

    [solver]
    objective = "compact"            # or ["compact", "boundary"], or { compact = 1, boundary = 50 }
    lexicographic = false
    squared = false
    n_pcns = "fewest"                # or a number; min_pcns, max_pcns
    time_limit = 60                  # seconds per place
    name = "cbc"                     # or "highs"
    mip_gap = 0.0

    [funding]
    year = "2025/26"                 # or false: no funding tables
    rates = "my_rates.yaml"

    [rules]
    keep_together = [["Z10009", "Z10459"]]
    keep_apart = [["Z10012", "Z10017"]]
    fixed = { Z10086 = "wyvern" }
    excluded = ["Z10047"]
    approved_small_places = ["P03"]

    [[changes]]                      # applied in order, after those of the file extended
    type = "merge"                   # one site (``into``, default the first), lists summed
    practices = ["Z10009", "Z10459"]
    into = "Z10009"
    name = "Upper Wendle and Riverside"

    [[changes]]
    type = "close"                   # patients dispersed, see below
    practice = "Z10047"
    to = "inverse_distance"          # or "nearest"
    k = 3

    [[changes]]
    type = "grow"                    # list sizes grow (or shrink) by a percentage
    percent = 12.5
    place = "P01"                    # or practices = [...], or polygon = [[lon, lat], ...]
                                     # or polygon = "new_town.geojson"
    [[changes]]
    type = "add"                     # a new practice site
    code = "NEW001"
    name = "Northgate new town surgery"
    lat = 53.16
    lon = -0.17                      # or easting/northing
    list_size = 12000
    weighted_population = 11500      # optional, as are current_pcn, postcode, place_id

    [[changes]]
    type = "set"                     # any practice attribute
    practice = "Z10012"
    values = { list_size = 9000, name = "Long Row Surgery (new list)" }

Rules of the changes
--------------------
- ``merge``: the merged practice keeps the site, code and current PCN of ``into`` and the sum
  of the lists (registered, weighted, 65+); the other practices disappear.
- ``close``: the practice's registered patients go to the ``k`` nearest open practices of the
  same place (straight-line distance between sites; ties by code), in proportion to the
  inverse of the distance (co-located practices count as 1 m apart, so a practice in the same
  building takes most of them). Whole patients are shared by the largest-remainder method, so
  the place's total is unchanged; the weighted and 65+ lists move in the same shares.
  ``to = "nearest"`` sends every patient to the nearest open practice. Closing the last
  practice of a place is refused.
- ``grow``: the lists (registered rounded to whole patients, weighted, 65+) of the named
  practices, of every practice in a place, or of every practice inside a polygon (WGS84) are
  multiplied by ``1 + percent / 100``.
- ``add``: a new site, in the place whose polygon contains it (with ``inputs.place_field``,
  where there are no polygons, give ``place_id``).
- ``set``: ``name``, ``list_size``, ``weighted_population``, ``patients_65_plus``,
  ``current_pcn``, ``postcode``, ``lat``/``lon`` (moves the site, and so maybe its place), and
  ``place_id`` (used only with ``inputs.place_field``: with a places file the place is where
  the site is).

Every change is logged in the scenario's ``changes.csv``.

Running many scenarios
----------------------
Places within a scenario and scenarios within a batch are independent. :func:`run_scenarios`
prepares each scenario (inputs, changes, catchments) in a thread of this process and sends
every place, of every scenario, to one engine: a local process pool (default), this process
(``jobs=1``), or a Dask cluster (``scheduler="local"`` starts a ``LocalCluster``, or give a
scheduler's address). The engine only changes where a place is solved, never its result: a
place's solution depends only on its graph and options, and results are put back in a fixed
order, so every output file is byte-identical whichever engine ran it, except ``run_log.json``
(the measured seconds). With a ``time_limit``, a place stopped by the limit may differ between
any two runs, on any engine. Solved places are kept in ``DIR/.cache/places`` and
finished scenarios (``summary.json`` written, same scenario digest) are skipped, so a batch that
was interrupted resumes without redoing finished work.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from pcnopt import __version__
from pcnopt._errors import InputError, OptionError, PcnoptError, Problem
from pcnopt._scenario_changes import apply_changes
from pcnopt._scenario_engine import CachingExecutor, PlaceCache, lost_place, start_engine
from pcnopt._scenario_file import NAME, ChangeSpec, read_scenario_file
from pcnopt.io import outputs
from pcnopt.pipeline import GeographyCache, RunConfig, load_inputs, run_optimise, write_run

#: Settings of a scenario file → :class:`pcnopt.pipeline.RunConfig` fields.
CONFIG_KEYS = {
    ("inputs", "practices"): "practices", ("inputs", "places"): "places",
    ("inputs", "place_column"): "place_column", ("inputs", "place_field"): "place_field",
    ("inputs", "columns"): "columns", ("inputs", "population"): "population",
    ("inputs", "snap_distance_m"): "snap_distance_m",
    ("inputs", "repair_geometries"): "repair_geometries",
    ("band", "min_size"): "min_size", ("band", "max_size"): "max_size",
    ("solver", "objective"): "objective", ("solver", "lexicographic"): "lexicographic",
    ("solver", "squared"): "squared", ("solver", "n_pcns"): "n_pcns",
    ("solver", "min_pcns"): "min_pcns", ("solver", "max_pcns"): "max_pcns",
    ("solver", "time_limit"): "time_limit", ("solver", "name"): "solver",
    ("solver", "mip_gap"): "mip_gap", ("funding", "year"): "funding_year",
    ("funding", "rates"): "rates", ("rules", "keep_together"): "keep_together",
    ("rules", "keep_apart"): "keep_apart", ("rules", "fixed"): "fixed",
    ("rules", "excluded"): "excluded", ("rules", "approved_small_places"): "approved_small_places",
}
#: Command-line option names in RunConfig's messages → scenario keys.
_FLAGS = {
    "--min-size": "band.min_size", "--max-size": "band.max_size",
    "--population": "inputs.population", "--places": "inputs.places",
    "--place-column": "inputs.place_column", "--place-field": "inputs.place_field",
    "--snap-distance": "inputs.snap_distance_m", "--year": "funding.year",
    "--rates": "funding.rates", "--n-pcns": "solver.n_pcns", "--min-pcns": "solver.min_pcns",
    "--max-pcns": "solver.max_pcns", "--objective": "solver.objective",
    "--solver": "solver.name", "--time-limit": "solver.time_limit", "--mip-gap": "solver.mip_gap",
}


@dataclass(frozen=True)
class Scenario:
    """One what-if run: the settings of an ``optimise`` run and the changes made before it.

    Parameters
    ----------
    name
        Folder name of the scenario's outputs (letters, digits, ``.``, ``_``, ``-``).
    config
        The run's settings (``jobs`` is ignored: the batch's engine solves the places).
    changes
        Changes to the practices table, in order.
    file
        The scenario file ("" when built in code).
    description
        Free text, copied to ``summary.json``.
    chain
        The file and the files it extends, nearest first.
    """

    name: str
    config: RunConfig
    changes: tuple[ChangeSpec, ...] = ()
    file: str = ""
    description: str = ""
    chain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise OptionError(f"scenario name {self.name!r} cannot be a folder name; use letters, "
                              "digits, '.', '_' and '-'.")

    @property
    def digest(self) -> str:
        """A hash of everything that decides the scenario's outputs.

        The settings, the changes, and the size and modification time of every input file
        (so editing the practices file makes a finished scenario run again).
        """
        files = [self.config.practices, self.config.places, self.config.rates,
                 *(v for c in self.changes for _, v in c.params if isinstance(v, Path))]
        stamps = []
        for path in files:
            if path is not None and Path(path).exists():
                stat = Path(path).stat()
                stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
        text = repr((__version__, self.config, self.changes, stamps))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """The scenario as written to ``summary.json``."""
        return {
            "name": self.name, "file": self.file, "description": self.description,
            "extends": list(self.chain[1:]), "digest": self.digest,
            "changes": [{"key": c.key, "file": c.file, "type": c.kind,
                         **{k: _jsonable(v) for k, v in c.params}} for c in self.changes],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def scenario_from_file(path: str | Path) -> Scenario:
    """Read a scenario file (and the files it extends) and check it.

    Parameters
    ----------
    path
        The TOML file (schema in the module docstring).

    Raises
    ------
    InputError
        Every problem of the file, each naming the file and the key.
    """
    spec = read_scenario_file(path)
    fields: dict[str, Any] = {}
    where: dict[str, str] = {}
    for section, values in spec.settings.items():
        for key, (value, file) in values.items():
            fields[CONFIG_KEYS[(section, key)]] = value
            where[f"{section}.{key}"] = file
    fields.setdefault("jobs", 1)
    if "place_field" in fields and "practices" not in fields:
        raise InputError(Problem(where["inputs.place_field"], "key 'inputs.place_field' needs "
                                 "inputs.practices (the embedded demo has its places file).",
                                 "add practices = \"...\" to [inputs], or remove place_field."))
    if "places" in fields and "practices" not in fields:
        raise InputError(Problem(where["inputs.places"], "key 'inputs.places' needs "
                                 "inputs.practices.", "name the practices file too."))
    try:
        config = RunConfig(**fields)
    except (OptionError, InputError) as exc:
        text = str(exc)
        keys = [key for flag, key in _FLAGS.items() if flag in text]
        for flag, key in sorted(_FLAGS.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(flag, key)
        file = where.get(keys[0], spec.file) if keys else spec.file
        raise InputError(Problem(file, f"key '{keys[0] if keys else 'solver'}': {text}",
                                 "change the scenario's settings (see examples/README.md).")
                               ) from None
    return Scenario(name=spec.name, config=config, changes=spec.changes, file=spec.file,
                    description=spec.description, chain=spec.chain)


def scenarios_from_files(paths: Sequence[str | Path]) -> tuple[Scenario, ...]:
    """Read several scenario files, reporting the problems of all of them together.

    Raises
    ------
    InputError
        Every problem of every file; also two scenarios with the same name.
    """
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            scenarios.append(scenario_from_file(path))
        except InputError as exc:
            problems += exc.problems
    seen: dict[str, str] = {}
    for s in scenarios:
        if s.name in seen:
            problems.append(Problem(s.file, f"key 'name': scenario {s.name!r} is also the name of "
                                    f"{seen[s.name]}; both would write DIR/{s.name}/.",
                                    "give each scenario its own name."))
        seen.setdefault(s.name, s.file)
    if problems:
        raise InputError(problems)
    return tuple(scenarios)


@dataclass(frozen=True)
class PreparedScenario:
    """A scenario with its changes applied: the practices table the run starts from."""

    scenario: Scenario
    practices: gpd.GeoDataFrame
    log: pd.DataFrame


def prepare_scenario(
    scenario: Scenario, *, memo: dict[Any, Any] | None = None
) -> PreparedScenario:
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
    key = (config.practices, config.places, config.place_column, config.place_field,
           config.columns, config.population, config.snap_distance_m, config.repair_geometries)
    if key not in memo:
        memo[key] = load_inputs(config)
    practices, places, _ = memo[key]
    table, log = apply_changes(
        practices, scenario.changes, places=None if config.place_field else places,
        practices_file=str(config.practices),
    )
    _check_rules(scenario, table)
    return PreparedScenario(scenario, table, log)


def _check_rules(scenario: Scenario, table: pd.DataFrame) -> None:
    from pcnopt.pipeline import _check_rules_across_places

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
            problems.append(Problem(scenario.file, f"key '{key}': {', '.join(missing)} "
                                    "not in the practices table (after the scenario's changes).",
                                    "check the codes; a merged or closed practice no longer "
                                    "exists (use the code the merged practice keeps)."))
    if problems:
        raise InputError(problems)
    try:
        _check_rules_across_places(table, config)
    except OptionError as exc:
        raise InputError(Problem(scenario.file, f"key 'rules': {exc}", "a PCN cannot cross a "
                                 "place boundary; change the rules.")) from None


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
        raise OptionError("two scenarios share a name: " + ", ".join(
            sorted({n for n in names if names.count(n) > 1})) + "; give each its own.")
    if out.exists() and not out.is_dir():
        raise InputError(Problem(str(out), "exists and is not a folder.",
                                 "choose a folder for --out."))
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
    places_bar = tqdm(total=0, desc="places solved", unit="place", disable=not progress,
                      position=0)
    scenario_bar = tqdm(total=len(scenarios), initial=len(scenarios) - len(todo),
                        desc="scenarios done", unit="scenario", disable=not progress, position=1)
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
                engine.executor, PlaceCache(out / ".cache" / "places" if cache else None),
                on_submit=on_submit, on_done=on_done)
            places_bar.set_postfix_str(engine.description)
            runs.update(_run_prepared(prepared, out, executor, engine.workers, scenario_bar,
                                      GeographyCache()))
            description = engine.description
    finally:
        places_bar.close()
        scenario_bar.close()
    return BatchReport(runs=tuple(runs[s.name] for s in scenarios), engine=description,
                       places_solved=executor.solved, places_reused=executor.reused,
                       seconds=time.perf_counter() - started)


def _run_prepared(prepared: list[PreparedScenario], out: Path, executor: CachingExecutor,
                  workers: int, bar: Any, shared: GeographyCache) -> dict[str, ScenarioRun]:
    """Run prepared scenarios in threads of this process (their places go to the engine)."""
    runs: dict[str, ScenarioRun] = {}
    errors: list[tuple[Scenario, BaseException]] = []
    if not prepared:
        return runs
    # one engine worker: one scenario at a time (truly one process); otherwise one scenario
    # more than workers, so the next one is prepared while places are being solved
    threads = 1 if workers == 1 else min(len(prepared), workers + 1)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scenario")
    pending = {pool.submit(_run_one, p, out / p.scenario.name, executor, shared): p
               for p in prepared}
    try:
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
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


def _run_one(prepared: PreparedScenario, folder: Path, executor: CachingExecutor,
             shared: GeographyCache) -> ScenarioRun:
    started = time.perf_counter()
    scenario = prepared.scenario
    result = run_optimise(scenario.config, practices_table=prepared.practices, executor=executor,
                          geography_cache=shared)
    summary = {**result.summary, "scenario": scenario.describe(),
               "changes_logged": len(prepared.log)}
    result = replace(result, summary=summary)
    write_run(
        result, folder, extra={"changes.csv": outputs.csv_writer(prepared.log)}, command="run"
    )
    return ScenarioRun(scenario.name, folder, "done", time.perf_counter() - started, summary)


# ------------------------------------------------------------------------------ comparison


@dataclass(frozen=True)
class ScenarioComparison:
    """Scenario runs side by side; the first is the baseline ("before").

    Attributes
    ----------
    table
        One row per scenario: PCNs, share of PCNs and patients in band, patient-weighted mean
        distance to the hub, practices whose PCN changes against the first (among practices
        both runs have, those whose PCN has other members: PCN numbers alone are not
        compared), practices added and removed, ARRS total and change.
    practices
        One row per practice: its PCN and its PCN's ARRS sum in each scenario.
    pcns
        One row per PCN of each scenario: members, patients, band status, ARRS sum.
    names
        Scenario names, in order.
    folders
        The run folders.
    """

    table: pd.DataFrame
    practices: pd.DataFrame
    pcns: pd.DataFrame
    names: tuple[str, ...]
    folders: tuple[Path, ...]


def _read_run(folder: Path) -> dict[str, Any]:
    folder = Path(folder)
    summary = outputs.read_summary(folder)  # InputError when not a run, or summary.json is bad
    assignments = outputs.read_output_csv(folder / "assignments.csv", dtype={
        "pcn_id": "string", "practice_code": str})
    pcns = outputs.read_output_csv(folder / "pcns.csv", dtype={
        "pcn_id": str, "pcn_label": str, "exception": str, "place_id": str})
    funding = folder / "funding.csv"
    return {
        "name": summary.get("scenario", {}).get("name", folder.name), "summary": summary,
        "assignments": assignments, "pcns": pcns,
        "funding": (outputs.read_output_csv(funding, dtype={"pcn_id": str})
                    if funding.exists() else None),
    }


def comparison_from_runs(folders: Sequence[str | Path]) -> ScenarioComparison:
    """Compare finished runs (scenario folders or ``optimise`` outputs).

    Parameters
    ----------
    folders
        Two or more run folders; the first is the baseline.
    """
    if len(folders) < 2:
        raise OptionError("compare needs two or more run folders (the first is the baseline).")
    runs = [_read_run(Path(f)) for f in folders]
    names = [r["name"] for r in runs]
    for k, name in enumerate(names):
        if names.count(name) > 1:
            names[k] = f"{name}-{k + 1}"
    base_codes = set(runs[0]["assignments"]["practice_code"])
    members = []
    for r in runs:
        # partners of each practice among the practices both runs have (a merged, closed or
        # new practice does not make its neighbours "change PCN")
        common = base_codes & set(r["assignments"]["practice_code"])
        a = r["assignments"].dropna(subset=["pcn_id"])
        a = a[a["practice_code"].isin(common)]
        groups = a.groupby("pcn_id")["practice_code"].agg(frozenset)
        members.append(r["assignments"]["practice_code"].map(
            dict(zip(a["practice_code"], a["pcn_id"].map(groups), strict=True))))
    base_members = members[0]
    rows, practice_cols, pcn_rows = [], [], []
    base_arrs = None
    for name, r, partners in zip(names, runs, members, strict=True):
        s, a, p = r["summary"], r["assignments"], r["pcns"]
        codes = a["practice_code"]
        common = base_codes & set(codes)
        mine = dict(zip(codes, partners, strict=True))
        base = {c: frozenset(g & common) if isinstance(g, frozenset) else g
                for c, g in zip(runs[0]["assignments"]["practice_code"], base_members,
                                strict=True)}
        flags = [code in common and base[code] != mine[code] for code in codes]
        changed = sum(flags)
        assigned = a.dropna(subset=["distance_to_hub_m"])
        weights = assigned["list_size"].astype(float)
        arrs = (float(r["funding"]["arrs_sum_gbp"].sum()) if r["funding"] is not None
                and "arrs_sum_gbp" in r["funding"] else None)
        base_arrs = arrs if base_arrs is None and name == names[0] else base_arrs
        rows.append({
            "scenario": name,
            "practices": len(a),
            "patients": int(a["list_size"].sum()),
            "pcns": len(p),
            "pcns_in_band": int(p["in_band"].sum()),
            "share_pcns_in_band": round(float(p["in_band"].mean()), 4) if len(p) else None,
            "share_patients_in_band": s.get("share_patients_in_band"),
            "mean_distance_to_hub_m": round(float((weights * assigned["distance_to_hub_m"]).sum()
                                                  / weights.sum()), 1) if len(assigned) else None,
            "practices_changing_pcn": int(changed),
            "practices_added": len(set(codes) - base_codes),
            "practices_removed": len(base_codes - set(codes)),
            "arrs_total_gbp": None if arrs is None else round(arrs, 2),
            "arrs_change_gbp": None if arrs is None or base_arrs is None
            else round(arrs - base_arrs, 2),
            "valid": s.get("valid"),
            "folder": str(Path(folders[names.index(name)])),
        })
        sums = (r["funding"].set_index("pcn_id")["arrs_sum_gbp"] if r["funding"] is not None
                else pd.Series(dtype=float))
        practice_cols.append(pd.DataFrame({
            "practice_code": codes,
            f"pcn_{name}": a["pcn_id"],
            f"arrs_sum_{name}_gbp": a["pcn_id"].map(sums).astype(float).round(2),
            f"changed_{name}": flags,
        }))
        for row in p.itertuples(index=False):
            pcn_rows.append({
                "scenario": name, "pcn_id": row.pcn_id, "place_id": row.place_id,
                "n_practices": row.n_practices, "list_size": row.list_size,
                "band_status": row.band_status,
                "arrs_sum_gbp": None if row.pcn_id not in sums.index
                else round(float(sums[row.pcn_id]), 2),
                "practices": row.practices,
            })
    names_of = pd.concat([r["assignments"][["practice_code", "name"]] for r in runs])
    practices = names_of.drop_duplicates("practice_code").sort_values("practice_code")
    for frame in practice_cols:
        practices = practices.merge(frame, on="practice_code", how="left")
    return ScenarioComparison(
        table=pd.DataFrame(rows), practices=practices.reset_index(drop=True),
        pcns=pd.DataFrame(pcn_rows), names=tuple(names),
        folders=tuple(Path(f) for f in folders),
    )


def comparison_map(comparison: ScenarioComparison, *, tiles: bool = True) -> Any:
    """One Folium map with a layer per scenario (:func:`pcnopt.maps.map_from_configurations`)."""
    from pcnopt import maps

    configurations, points = [], []
    places = None
    for name, folder in zip(comparison.names, comparison.folders, strict=True):
        run = _read_run(folder)
        a, p = run["assignments"], run["pcns"]
        basis = run["summary"].get("settings", {}).get("population", "registered")
        areas = gpd.read_file(folder / "pcns.geojson")[["pcn_id", "geometry"]].to_crs(27700)
        p = p.assign(population=p["weighted_population"] if basis == "weighted"
                     else p["list_size"], pcn_label=p["pcn_label"].fillna(""),
                     exception=p["exception"].fillna(""))
        pcns = gpd.GeoDataFrame(p.merge(areas.astype({"pcn_id": str}), on="pcn_id", how="left"),
                                geometry="geometry", crs=27700)
        s = run["summary"]
        row = comparison.table.set_index("scenario").loc[name]
        summary = {"pcns": s.get("pcns"), "practices": s.get("practices_in"),
                   "share_pcns_in_band": s.get("share_pcns_in_band"),
                   "share_patients_in_band": s.get("share_patients_in_band"),
                   "mean_distance_to_hub_m": None if pd.isna(row["mean_distance_to_hub_m"])
                   else float(row["mean_distance_to_hub_m"])}
        configurations.append(maps.MapConfiguration(
            name=name, assignments=a[["practice_code", "pcn_id", "distance_to_hub_m", "is_hub"]],
            pcns=pcns, summary=summary,
            funding=maps.funding_table(run["funding"]) if run["funding"] is not None else None))
        points.append(a[["practice_code", "name", "list_size", "lat", "lon"]])
        if places is None and (folder / "catchments.geojson").exists():
            cells = gpd.read_file(folder / "catchments.geojson")
            if "place_id" in cells:
                places = cells.dissolve(by="place_id", as_index=False)[["place_id", "geometry"]]
                names = dict(zip(p["place_id"], p["place_name"], strict=False))
                places["place_name"] = places["place_id"].map(names).fillna(places["place_id"])
                places = places.to_crs(27700)
    table = pd.concat(points).drop_duplicates("practice_code").reset_index(drop=True)
    practices = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                                 crs=4326).to_crs(27700)
    return maps.map_from_configurations(configurations, practices=practices, places=places,
                                        tiles=tiles, title="Scenarios compared")


def comparison_html(comparison: ScenarioComparison) -> str:
    """The comparison as one HTML page (the tables; the map is ``map.html`` beside it)."""
    from html import escape

    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, na_rep="", border=0, classes="t", escape=True)

    moved = comparison.practices[
        comparison.practices[[c for c in comparison.practices if c.startswith("changed_")]]
        .fillna(True).any(axis=1)
    ]
    return "\n".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Scenarios compared</title><style>body{font-family:sans-serif;margin:2em}"
        "table.t{border-collapse:collapse;font-size:13px}table.t td,table.t th{border:1px solid "
        "#ccc;padding:3px 6px;text-align:right}table.t th{background:#eef}</style></head><body>",
        "<h1>Scenarios compared</h1>",
        f"<p>Baseline: <b>{escape(comparison.names[0])}</b>. A practice changes PCN when its PCN "
        "has other members than in the baseline (PCN numbers alone are not compared). "
        "<a href='map.html'>Map: one layer per scenario</a>.</p>",
        "<h2>Headline figures</h2>", table(comparison.table),
        "<h2>Practices whose PCN changes, with their PCN's ARRS sum in each scenario</h2>",
        table(moved),
        "<h2>PCNs of each scenario</h2>", table(comparison.pcns),
        "</body></html>",
    ])


def write_comparison(comparison: ScenarioComparison, out: str | Path, *,
                     tiles: bool = True) -> Path:
    """Write ``compare.csv``, ``practices.csv``, ``pcns.csv``, ``compare.html`` and ``map.html``.

    Written atomically; ``summary.json`` last.
    """
    from pcnopt import maps

    outputs.check_apart_from_inputs(out, comparison.folders, option="--out")
    fmap = comparison_map(comparison, tiles=tiles)

    def write_map(path: Path) -> None:
        maps.write_map(fmap, path)

    return outputs.write_folder(out, {
        "compare.csv": outputs.csv_writer(comparison.table),
        "practices.csv": outputs.csv_writer(comparison.practices),
        "pcns.csv": outputs.csv_writer(comparison.pcns),
        "compare.html": outputs.text_writer(comparison_html(comparison)),
        "map.html": write_map,
        "summary.json": outputs.json_writer({
            "compared": [str(f) for f in comparison.folders], "baseline": comparison.names[0],
            "scenarios": comparison.table.replace({np.nan: None}).to_dict(orient="records"),
        }),
    }, command="compare")
