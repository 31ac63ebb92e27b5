"""Run orchestration: practices and places in, a PCN configuration and its outputs out.

``run_optimise`` does the whole job behind ``pcnopt optimise``: read and check the inputs,
place the practices, build catchment cells and the adjacency graph, group the practices into
PCNs place by place, check the result with the independent validator, and assemble the output
tables. Writing them is left to :func:`write_run`, so nothing is written when anything fails.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pcnopt import __version__, geography
from pcnopt._errors import InputError, OptionError, Problem, SolverError
from pcnopt._hubs import distance_matrix, hub_of
from pcnopt.io import outputs
from pcnopt.io.places import places_from_file
from pcnopt.io.practices import practices_from_file
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions, solve_place
from pcnopt.validation import ValidationReport, validate_configuration

PROJECT_DATA = Path(__file__).resolve().parents[1] / "data"
DEFAULT_PRACTICES = PROJECT_DATA / "practices.csv"
DEFAULT_PLACES = PROJECT_DATA / "places.geojson"
DEFAULT_PLACE_COLUMN = "place_id"
POPULATIONS = {"registered": "list_size", "weighted": "weighted_population"}


@dataclass(frozen=True)
class RunConfig:
    """Settings of one ``optimise`` run (validated on creation).

    Parameters
    ----------
    practices
        Practices file; ``None`` runs on the embedded default in ``data/``.
    places
        Place boundary file (with ``place_column``); ``None`` with ``place_field`` takes the
        place from a column of the practices table.
    place_column
        Id column of the places file.
    place_field
        Column of the practices table holding each practice's place.
    columns
        Explicit (canonical, file column) pairs for the practices table.
    min_size, max_size
        The PCN size band.
    population
        "registered" (list size) or "weighted" (Carr-Hill weighted population) for the band.
    snap_distance_m
        Practices up to this far outside every place are snapped to the nearest one.
    repair_geometries
        Repair invalid place polygons instead of stopping.
    objective, lexicographic, squared, n_pcns, min_pcns, max_pcns, time_limit, solver, mip_gap
        Passed to :class:`pcnopt.model.SolveOptions` for every place.
    keep_together, keep_apart
        Groups of practice codes that must share / must not share a PCN.
    fixed
        ``(practice code, label)`` pairs: equal labels share a PCN, different labels do not.
    excluded
        Practices left out of every PCN (listed in ``assignments.csv`` with no PCN).
    approved_small_places
        Places where PCNs below ``min_size`` are approved where the band cannot be met.
    jobs
        Places solved in parallel (processes); 1 solves in this process.
    funding_year
        Contract year of the ARRS sums and entitlements written with the configuration
        (``None``: no funding tables).
    rates
        A rates file replacing the shipped ``pcnopt/rates/ncdes.yaml``.
    """

    practices: Path | None = None
    places: Path | None = None
    place_column: str | None = None
    place_field: str | None = None
    columns: tuple[tuple[str, str], ...] = ()
    min_size: float = 30_000
    max_size: float = 50_000
    population: str = "registered"
    snap_distance_m: float = 5_000.0
    repair_geometries: bool = False
    objective: str | tuple[tuple[str, float], ...] = "compact"
    lexicographic: bool = False
    squared: bool = False
    n_pcns: int | str | None = None
    min_pcns: int | None = None
    max_pcns: int | None = None
    time_limit: float | None = None
    solver: str = "cbc"
    mip_gap: float = 0.0
    keep_together: tuple[tuple[str, ...], ...] = ()
    keep_apart: tuple[tuple[str, ...], ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()
    excluded: tuple[str, ...] = ()
    approved_small_places: tuple[str, ...] = ()
    jobs: int = 0
    funding_year: str | None = "2025/26"
    rates: Path | None = None

    def __post_init__(self) -> None:
        from pcnopt.io.options import check_number

        check_number(self.min_size, option="--min-size", minimum=0)
        check_number(self.max_size, option="--max-size", minimum=0)
        check_number(self.snap_distance_m, option="--snap-distance", minimum=0)
        if self.min_size < 0 or self.max_size <= 0:
            raise OptionError("--min-size and --max-size must be positive numbers of patients.")
        if self.min_size > self.max_size:
            raise OptionError(
                f"--min-size ({self.min_size:,.0f}) is larger than --max-size "
                f"({self.max_size:,.0f}); give a band with min <= max."
            )
        if self.population not in POPULATIONS:
            raise OptionError(f"--population must be one of {', '.join(POPULATIONS)}.")
        if self.places is not None and self.place_field is not None:
            raise OptionError(
                "give either --places (with --place-column) or --place-field, not both."
            )
        if self.places is not None and not self.place_column:
            raise OptionError("--places needs --place-column naming the file's place id column.")
        if self.places is None and self.place_column and self.practices is not None:
            raise OptionError("--place-column needs --places (the boundary file).")
        if self.practices is not None and self.places is None and self.place_field is None:
            raise OptionError(
                "say where the places come from: --places FILE --place-column COL, or "
                "--place-field COL (a column of the practices table)."
            )
        if self.snap_distance_m < 0:
            raise OptionError("--snap-distance must be >= 0 metres.")
        if self.jobs < 0:
            raise OptionError("--jobs must be >= 0 (0 uses every core).")
        from pcnopt._model_solver import solver_available

        if not solver_available(self.solver):
            import pulp

            installed = ", ".join(pulp.listSolvers(onlyAvailable=True))
            raise OptionError(
                f"--solver {self.solver!r} is not available here; use cbc (bundled) or highs, "
                f"or one of the PuLP solvers installed: {installed}."
            )
        if self.funding_year is not None:
            from pcnopt.funding import default_rates, rates_from_file

            rates = default_rates() if self.rates is None else rates_from_file(self.rates)
            if self.funding_year not in rates.years:
                raise OptionError(
                    f"--year {self.funding_year} is not in the rates file; use one of "
                    f"{', '.join(sorted(rates.years))}, or give --rates with that year."
                )
        # the model checks its own options (objective names, counts, contradictory rules)
        self.solve_options()

    def solve_options(self, **overrides: Any) -> SolveOptions:
        """The :class:`pcnopt.model.SolveOptions` shared by every place."""
        settings: dict[str, Any] = {
            "min_size": self.min_size,
            "max_size": self.max_size,
            "objective": self.objective,
            "lexicographic": self.lexicographic,
            "squared": self.squared,
            "n_pcns": self.n_pcns,
            "min_pcns": self.min_pcns,
            "max_pcns": self.max_pcns,
            "time_limit": self.time_limit,
            "solver": self.solver,
            "mip_gap": self.mip_gap,
            "keep_together": self.keep_together,
            "keep_apart": self.keep_apart,
            "fixed": self.fixed,
            "excluded": self.excluded,
        }
        settings.update(overrides)
        return SolveOptions(**settings)


@dataclass(frozen=True)
class PlaceOutcome:
    """How one place was grouped."""

    place_id: str
    status: str
    method: str
    groups: tuple[tuple[str, ...], ...]
    hubs: tuple[str, ...]
    notes: tuple[str, ...]
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    message: str = ""
    names: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """Everything an ``optimise`` run produced, ready to be written."""

    practices: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    edges: pd.DataFrame
    assignments: pd.DataFrame
    pcns: gpd.GeoDataFrame
    places_table: pd.DataFrame
    validation: ValidationReport
    summary: dict[str, Any]
    funding: Any = None


def load_inputs(
    config: RunConfig, *, practices_table: gpd.GeoDataFrame | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """Read the practices and places and place every practice.

    Parameters
    ----------
    config
        The run's settings.
    practices_table
        A practices table already in memory (as :func:`practices_from_file` returns it, e.g.
        changed by a scenario), used instead of reading ``config.practices``; with
        ``config.place_field`` its ``place_id`` column holds each practice's place.

    Returns
    -------
    practices, places, snapped
        Practices with ``place_id``; place regions; practices snapped to a place.
    """
    practices_path = config.practices or DEFAULT_PRACTICES
    if config.practices is None:
        places_path: Path | None = config.places or DEFAULT_PLACES
        place_column = config.place_column or DEFAULT_PLACE_COLUMN
        if not practices_path.exists():
            raise InputError(
                Problem(
                    str(practices_path),
                    "the embedded default data is missing.",
                    "run 'python data/make_default_data.py', or pass --practices.",
                )
            )
    else:
        places_path, place_column = config.places, config.place_column
    practices = (
        practices_from_file(practices_path, columns=dict(config.columns))
        if practices_table is None
        else practices_table
    )
    population = POPULATIONS[config.population]
    if population == "weighted_population" and practices[population].isna().any():
        bad = practices[practices[population].isna()]
        raise InputError(
            Problem(
                str(practices_path),
                "--population weighted needs a weighted population for every practice.",
                "fill 'weighted_population' or use --population registered.",
                rows=tuple(int(r) for r in bad["source_row"]),
                column="weighted_population",
            )
        )
    if config.place_field is not None:
        field_name = config.place_field
        raw = (
            practices_table
            if practices_table is not None
            else practices_from_file(
                practices_path, columns={**dict(config.columns), "place_id": field_name}
            )
        )
        practices = practices.assign(place_id=raw["place_id"].values)
        blank = practices["place_id"].isna()
        if blank.any():
            raise InputError(
                Problem(
                    str(practices_path),
                    "the place is blank.",
                    f"fill '{field_name}' for every practice.",
                    rows=tuple(int(r) for r in practices.loc[blank, "source_row"]),
                    column=field_name,
                )
            )
        practices = practices.assign(place_method="field", snap_m=0.0)
        places = geography.places_from_field(practices)
        snapped = practices.iloc[0:0][["practice_code", "name", "place_id", "snap_m"]]
    else:
        assert places_path is not None and place_column is not None
        places = places_from_file(
            places_path, id_column=place_column, repair=config.repair_geometries
        )
        assigned = geography.assign_places(
            practices,
            places,
            snap_distance_m=config.snap_distance_m,
            practices_file=str(practices_path),
        )
        practices, snapped = assigned.practices, assigned.snapped
        places = places[places["place_id"].isin(practices["place_id"])].reset_index(drop=True)
    return practices, places, snapped


class GeographyCache:
    """Catchment cells and adjacency, built once for every run on the same sites and places.

    A batch of scenarios that differ only in settings (the band, the objective, the rules)
    shares one geography: for all of England that saves about 10 s a scenario. Scenarios
    whose changes move, add or remove a practice get their own. Safe to use from several
    threads; each caller gets its own copies.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[threading.Lock, list[Any]]] = {}
        self.built = 0

    @staticmethod
    def key(practices: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> str:
        """A digest of what the geography depends on: sites, their places, place shapes."""
        digest = hashlib.sha256()
        for values in (
            practices["practice_code"].astype(str),
            practices["place_id"].astype(str),
            places["place_id"].astype(str),
        ):
            digest.update("\x1f".join(values).encode())
            digest.update(b"\x1e")
        digest.update(np.ascontiguousarray(shapely.get_coordinates(practices.geometry)).tobytes())
        for geometry in places.geometry:
            digest.update(shapely.to_wkb(geometry))
        digest.update(str(practices.crs).encode() + str(places.crs).encode())
        return digest.hexdigest()

    def get(
        self, practices: gpd.GeoDataFrame, places: gpd.GeoDataFrame
    ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
        """Catchments and adjacency of ``practices`` in ``places`` (built on the first call)."""
        key = self.key(practices, places)
        with self._lock:
            lock, slot = self._entries.setdefault(key, (threading.Lock(), []))
        with lock:
            if not slot:
                slot.append(geography.catchments_and_adjacency(practices, places))
                self.built += 1
        catchments, edges = slot[0]
        return catchments.copy(), edges.copy()


def run_optimise(
    config: RunConfig,
    *,
    progress: bool = False,
    practices_table: gpd.GeoDataFrame | None = None,
    executor: Any = None,
    geography_cache: GeographyCache | None = None,
) -> RunResult:
    """Run the whole ``optimise`` job in memory (nothing is written).

    Parameters
    ----------
    config
        The run's settings.
    progress
        Show a progress bar over places on standard error.
    practices_table
        Practices already in memory, used instead of reading ``config.practices`` (see
        :func:`load_inputs`); :mod:`pcnopt.scenarios` passes the table its changes made.
    executor
        A :class:`concurrent.futures.Executor` (or anything with the same ``submit``) that
        solves the places instead of this run's own process pool, e.g. one shared by a batch
        of scenarios or a Dask cluster's; results do not depend on it.
    geography_cache
        Catchments and adjacency shared with other runs on the same sites and places (see
        :class:`GeographyCache`); results do not depend on it.
    """
    started = time.perf_counter()
    practices, places, snapped = load_inputs(config, practices_table=practices_table)
    if geography_cache is None:
        catchments, edges = geography.catchments_and_adjacency(practices, places)
    else:
        catchments, edges = geography_cache.get(practices, places)
    population = POPULATIONS[config.population]
    outcomes = _group_places(practices, edges, config, progress=progress, executor=executor)
    assignments, pcns, places_table = _tables(
        practices, places, catchments, outcomes, population, config
    )
    validation = _validate(practices, assignments, edges, config)
    named = dict(zip(validation.pcns["pcn_id"], validation.pcns["exception"], strict=True))
    pcns["exception"] = [
        note or named.get(pcn_id, "")
        for pcn_id, note in zip(pcns["pcn_id"], pcns["exception"], strict=True)
    ]
    summary = _summary(
        config,
        practices,
        snapped,
        pcns,
        places_table,
        validation,
        edges,
        time.perf_counter() - started,
    )
    funding = None
    if config.funding_year is not None:
        from pcnopt.funding import funding_from_assignments, rates_from_file

        funding = funding_from_assignments(
            practices=practices,
            assignments=assignments,
            year=config.funding_year,
            rates=None if config.rates is None else rates_from_file(config.rates),
        )
        summary["funding"] = funding.summary()
        arrs = funding.pcns.set_index("pcn_id")["arrs_sum_gbp"]
        pcns["arrs_sum_gbp"] = pcns["pcn_id"].map(arrs).round(2)
    return RunResult(
        practices,
        places,
        catchments,
        edges,
        assignments,
        pcns,
        places_table,
        validation,
        summary,
        funding,
    )


def run_validate(config: RunConfig, *, assignments: pd.DataFrame) -> ValidationReport:
    """Audit a configuration against every rule, as ``pcnopt validate`` does.

    Parameters
    ----------
    config
        The practices, places, size band and commissioners' rules to check against (its
        solver settings are not used).
    assignments
        ``practice_code`` and ``pcn_id``, e.g. from
        :func:`pcnopt.io.assignments.assignments_from_file`.

    Raises
    ------
    OptionError
        When a commissioners' rule names a practice not in the practices table, or puts
        practices of different places in one PCN.
    """
    practices, places, _ = load_inputs(config)
    _check_rules_across_places(practices, config)
    _, edges = geography.catchments_and_adjacency(practices, places)
    return _validate(practices, assignments, edges, config)


def _validate(
    practices: pd.DataFrame, assignments: pd.DataFrame, edges: pd.DataFrame, config: RunConfig
) -> ValidationReport:
    """The independent validator, with the run's size band and commissioners' rules."""
    return validate_configuration(
        practices=practices,
        assignments=assignments,
        edges=edges,
        min_size=config.min_size,
        max_size=config.max_size,
        population=POPULATIONS[config.population],
        approved_small_places=frozenset(config.approved_small_places),
        excluded=frozenset(config.excluded),
        keep_together=config.keep_together,
        keep_apart=config.keep_apart,
        fixed=config.fixed,
    )


METHOD = "integer program"


def place_graphs(
    practices: gpd.GeoDataFrame, edges: pd.DataFrame, *, population: str
) -> list[PlaceGraph]:
    """One :class:`pcnopt.model.PlaceGraph` per place, practices sorted by code."""
    graphs = []
    edge_groups = dict(list(edges.groupby("place_id", sort=True)))
    for place_id, group in practices.groupby("place_id", sort=True):
        group = group.sort_values("practice_code")
        codes = tuple(group["practice_code"])
        index = {c: i for i, c in enumerate(codes)}
        place_edges = edge_groups.get(place_id, edges.iloc[0:0])
        pairs = sorted(
            (min(index[a], index[b]), max(index[a], index[b]), float(length))
            for a, b, length in place_edges[["a", "b", "length_m"]].itertuples(index=False)
        )
        current = group["current_pcn"]
        graphs.append(
            PlaceGraph(
                place_id=str(place_id),
                codes=codes,
                population=tuple(float(v) for v in group[population]),
                x=tuple(float(v) for v in group.geometry.x),
                y=tuple(float(v) for v in group.geometry.y),
                edges=tuple(pairs),
                current=tuple(None if pd.isna(c) else str(c) for c in current)
                if current.notna().any()
                else None,
            )
        )
    return graphs


def _options_for(graph: PlaceGraph, config: RunConfig) -> SolveOptions:
    """The run's options restricted to the practices of one place."""
    members = set(graph.codes)
    together = tuple(tuple(c for c in g if c in members) for g in config.keep_together)
    apart = tuple(tuple(c for c in g if c in members) for g in config.keep_apart)
    return config.solve_options(
        keep_together=tuple(g for g in together if len(g) > 1),
        keep_apart=tuple(g for g in apart if len(g) > 1),
        fixed=tuple((c, label) for c, label in config.fixed if c in members),
        excluded=tuple(c for c in config.excluded if c in members),
        approved_small=graph.place_id in set(config.approved_small_places),
    )


def _check_rules_across_places(practices: pd.DataFrame, config: RunConfig) -> None:
    """Refuse commissioners' rules that name unknown practices or span places."""
    from pcnopt.io.options import check_known_places

    check_known_places(
        config.approved_small_places, practices["place_id"], option="--approve-small"
    )
    place_of = dict(zip(practices["practice_code"], practices["place_id"], strict=True))
    named = [(f"--keep-together {','.join(g)}", g) for g in config.keep_together]
    named += [(f"--keep-apart {','.join(g)}", g) for g in config.keep_apart]
    named += [(f"--fix {code}={label}", (code,)) for code, label in config.fixed]
    named += [(f"--exclude {code}", (code,)) for code in config.excluded]
    problems = []
    for rule, codes in named:
        unknown = [c for c in codes if c not in place_of]
        if unknown:
            problems.append(f"{rule} names {', '.join(unknown)}, not in the practices table")
    hint = " Check the codes: a merged or closed practice no longer exists." if problems else ""
    for group in config.keep_together:
        places = sorted({place_of[c] for c in group if c in place_of})
        if len(places) > 1:
            problems.append(
                f"keep-together {','.join(group)} spans places {', '.join(places)}; "
                "a PCN cannot cross a place boundary"
            )
    label_places: dict[str, set[str]] = {}
    for code, label in config.fixed:
        if code in place_of:
            label_places.setdefault(label, set()).add(place_of[code])
    for label, places_ in sorted(label_places.items()):
        if len(places_) > 1:
            problems.append(
                f"practices fixed to {label!r} are in different places "
                f"({', '.join(sorted(places_))}); a PCN cannot cross a place boundary"
            )
    if problems:
        raise OptionError("; ".join(problems) + "." + hint)


def solve_place_safely(graph: PlaceGraph, *, options: SolveOptions) -> PlaceSolution:
    """Solve one place; a solver that is missing or crashes never sinks the whole run.

    If the chosen solver fails, the place is solved again with HiGHS (or CBC if HiGHS was
    the one that failed). If that fails too, the place gets the greedy contiguous grouping of
    :mod:`pcnopt._baseline` with status ``"solver_failed"``, clearly marked in its notes and
    message, and the rest of the run goes on.
    """
    started = time.perf_counter()
    try:
        return solve_place(graph, options=options)
    except SolverError as first:
        other = "highs" if options.solver.lower() != "highs" else "cbc"
        try:
            retry = solve_place(graph, options=replace(options, solver=other))
            return replace(
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

    from pcnopt._baseline import greedy_groups

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
        status="solver_failed",
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
    graphs: list[PlaceGraph], config: RunConfig, *, progress: bool = False
) -> list[PlaceSolution]:
    """Solve every place, in parallel processes when ``config.jobs`` allows.

    Results come back in the order of ``graphs`` whichever process finished first, so the
    outputs do not depend on the number of processes.
    """
    import os
    from concurrent.futures import as_completed

    from tqdm import tqdm

    from pcnopt._processes import local_pool

    jobs = config.jobs or (os.cpu_count() or 1)
    jobs = max(1, min(jobs, len(graphs)))
    options = [_options_for(g, config) for g in graphs]
    bar = tqdm(
        total=len(graphs), desc="places solved", unit="place", disable=not progress, leave=False
    )
    results: list[PlaceSolution | None] = [None] * len(graphs)
    try:
        if jobs == 1:
            for k, (graph, option) in enumerate(zip(graphs, options, strict=True)):
                results[k] = solve_place_safely(graph, options=option)
                bar.update()
        else:
            # largest places first, so no core waits on one big place at the end
            order = sorted(range(len(graphs)), key=lambda k: -len(graphs[k].codes))
            with local_pool(jobs) as pool:
                futures = {
                    pool.submit(solve_place_safely, graphs[k], options=options[k]): k for k in order
                }
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update()
    finally:
        bar.close()
    return [r for r in results if r is not None]


def solve_places_on(
    executor: Any, graphs: list[PlaceGraph], config: RunConfig
) -> list[PlaceSolution]:
    """Solve every place on a given executor (largest places first), in the order of ``graphs``.

    Parameters
    ----------
    executor
        Anything with :meth:`concurrent.futures.Executor.submit` returning
        :class:`concurrent.futures.Future` objects (a process pool, a Dask ``ClientExecutor``).
    graphs, config
        As for :func:`solve_places`.
    """
    from concurrent.futures import wait

    order = sorted(range(len(graphs)), key=lambda k: -len(graphs[k].codes))
    futures = {
        k: executor.submit(solve_place_safely, graphs[k], options=_options_for(graphs[k], config))
        for k in order
    }
    wait(list(futures.values()))
    return [futures[k].result() for k in range(len(graphs))]


def _outcome(graph: PlaceGraph, solution: PlaceSolution) -> PlaceOutcome:
    k = len(solution.hubs)
    groups: list[list[str]] = [[] for _ in range(k)]
    for code, label in zip(graph.codes, solution.labels, strict=True):
        if label >= 0:
            groups[label].append(code)
    excluded = tuple(c for c, label in zip(graph.codes, solution.labels, strict=True) if label < 0)
    names = solution.names or tuple("" for _ in range(k))
    return PlaceOutcome(
        place_id=graph.place_id,
        status=solution.status,
        method=f"{METHOD} ({solution.method or 'Hess p-median'}), {solution.solver}",
        groups=tuple(tuple(g) for g in groups),
        hubs=tuple(graph.codes[h] for h in solution.hubs),
        notes=solution.notes,
        objective=solution.objective,
        bound=solution.bound,
        gap=solution.gap,
        seconds=solution.seconds,
        message=solution.message,
        names=names,
        excluded=excluded,
    )


def _group_places(
    practices: gpd.GeoDataFrame,
    edges: pd.DataFrame,
    config: RunConfig,
    *,
    progress: bool,
    executor: Any = None,
) -> list[PlaceOutcome]:
    _check_rules_across_places(practices, config)
    graphs = place_graphs(practices, edges, population=POPULATIONS[config.population])
    if executor is not None:
        solutions = solve_places_on(executor, graphs, config)
    else:
        solutions = solve_places(graphs, config, progress=progress)
    return [_outcome(g, s) for g, s in zip(graphs, solutions, strict=True)]


def _tables(
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    catchments: gpd.GeoDataFrame,
    outcomes: list[PlaceOutcome],
    population: str,
    config: RunConfig,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    info = practices.set_index("practice_code")
    place_names = dict(zip(places["place_id"], places["place_name"], strict=True))
    assignment_rows, pcn_rows, place_rows = [], [], []
    cell_of = dict(zip(catchments["practice_code"], catchments.geometry, strict=True))
    for outcome in outcomes:
        names = outcome.names or tuple("" for _ in outcome.groups)
        for k, (members, hub, note, label) in enumerate(
            zip(outcome.groups, outcome.hubs, outcome.notes, names, strict=True), start=1
        ):
            pcn_id = f"{outcome.place_id}-{k:02d}"
            sub = info.loc[list(members)]
            hub_point = info.geometry[hub]
            distance = sub.geometry.distance(hub_point).round(1)
            weights = sub[population].astype(float)
            size = float(weights.sum())
            for code in members:
                assignment_rows.append(
                    {
                        "practice_code": code,
                        "name": info.at[code, "name"],
                        "pcn_id": pcn_id,
                        "place_id": outcome.place_id,
                        "list_size": int(info.at[code, "list_size"]),
                        "weighted_population": info.at[code, "weighted_population"],
                        "current_pcn": info.at[code, "current_pcn"],
                        "is_hub": code == hub,
                        "distance_to_hub_m": float(distance[code]),
                        "place_method": info.at[code, "place_method"],
                        "note": "",
                        "lat": info.at[code, "lat"],
                        "lon": info.at[code, "lon"],
                    }
                )
            in_band = config.min_size <= size <= config.max_size
            pcn_rows.append(
                {
                    "pcn_id": pcn_id,
                    "pcn_label": label,
                    "place_id": outcome.place_id,
                    "place_name": place_names.get(outcome.place_id, outcome.place_id),
                    "list_size": int(sub["list_size"].sum()),
                    "weighted_population": round(float(sub["weighted_population"].sum()), 2)
                    if sub["weighted_population"].notna().all()
                    else None,
                    "population_basis": config.population,
                    "n_practices": len(members),
                    "in_band": in_band,
                    "band_status": "in band"
                    if in_band
                    else ("below band" if size < config.min_size else "above band"),
                    "exception": note,
                    "hub_practice": hub,
                    "mean_distance_to_hub_m": round(float((weights * distance).sum() / size), 1)
                    if size > 0
                    else 0.0,
                    "practices": ";".join(members),
                    "geometry": shapely.union_all([cell_of[c] for c in members]),
                }
            )
        for code in outcome.excluded:
            assignment_rows.append(
                {
                    "practice_code": code,
                    "name": info.at[code, "name"],
                    "pcn_id": None,
                    "place_id": outcome.place_id,
                    "list_size": int(info.at[code, "list_size"]),
                    "weighted_population": info.at[code, "weighted_population"],
                    "current_pcn": info.at[code, "current_pcn"],
                    "is_hub": False,
                    "distance_to_hub_m": None,
                    "place_method": info.at[code, "place_method"],
                    "note": "left out of every PCN by the commissioner (--exclude)",
                    "lat": info.at[code, "lat"],
                    "lon": info.at[code, "lon"],
                }
            )
        place_rows.append(
            {
                "place_id": outcome.place_id,
                "place_name": place_names.get(outcome.place_id, outcome.place_id),
                "status": outcome.status,
                "method": outcome.method,
                "n_practices": sum(len(g) for g in outcome.groups) + len(outcome.excluded),
                "n_pcns": len(outcome.groups),
                "objective": outcome.objective,
                "bound": outcome.bound,
                "gap": outcome.gap,
                "seconds": round(outcome.seconds, 2),
                "message": outcome.message,
            }
        )
    assignments = pd.DataFrame(assignment_rows).sort_values("practice_code").reset_index(drop=True)
    pcns = gpd.GeoDataFrame(pcn_rows, geometry="geometry", crs=practices.crs)
    return assignments, pcns, pd.DataFrame(place_rows)


def _summary(
    config: RunConfig,
    practices: pd.DataFrame,
    snapped: pd.DataFrame,
    pcns: pd.DataFrame,
    places_table: pd.DataFrame,
    validation: ValidationReport,
    edges: pd.DataFrame,
    seconds: float,
) -> dict[str, Any]:
    population = POPULATIONS[config.population]
    sizes = pcns[population] if population in pcns else pcns["list_size"]
    patients = float(sizes.sum())
    in_band = pcns["in_band"]
    return {
        "pcnopt_version": __version__,
        "inputs": {
            "practices": str(config.practices or DEFAULT_PRACTICES),
            "places": None if config.place_field else str(config.places or DEFAULT_PLACES),
            "place_column": config.place_column
            or (None if config.practices else DEFAULT_PLACE_COLUMN),
            "place_field": config.place_field,
            "embedded_default": config.practices is None,
        },
        "settings": {
            "min_size": config.min_size,
            "max_size": config.max_size,
            "population": config.population,
            "snap_distance_m": config.snap_distance_m,
        },
        "method": sorted(set(places_table["method"])),
        "practices_in": len(practices),
        "practices_out": int(pcns["n_practices"].sum()),
        "practices_excluded": list(config.excluded),
        "patients": int(practices["list_size"].sum()),
        "places": len(places_table),
        "pcns": len(pcns),
        "pcns_in_band": int(in_band.sum()),
        "share_pcns_in_band": round(float(in_band.mean()), 4) if len(pcns) else None,
        "share_patients_in_band": round(float(sizes[in_band].sum() / patients), 4)
        if patients
        else None,
        "named_exceptions": int((pcns["exception"] != "").sum()),
        "adjacency_edges": len(edges),
        "snapped_practices": snapped.to_dict(orient="records"),
        "valid": validation.ok,
        "rules_broken": list(validation.problems),
        "place_status": places_table["status"].value_counts().sort_index().to_dict(),
        "seconds": round(seconds, 1),
    }


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, line breaks removed)."""
    return " ".join(str(value).split()).replace("|", "\\|")


def report_markdown(result: RunResult) -> str:
    """A readable report of a run: headline figures, every place, every exception."""
    s = result.summary
    pcns, places = result.pcns, result.places_table
    band = f"{s['settings']['min_size']:,.0f}–{s['settings']['max_size']:,.0f}"
    lines = [
        "# PCN configuration report",
        "",
        f"- Practices: {s['practices_in']:,} in, {s['practices_out']:,} in a PCN"
        + (f", {len(s['practices_excluded'])} left out by rule" if s["practices_excluded"] else ""),
        f"- Patients: {s['patients']:,} (band on the {s['settings']['population']} population)",
        f"- PCNs: {s['pcns']:,} in {s['places']} place(s); {s['pcns_in_band']:,} within {band} "
        f"({100 * (s['share_pcns_in_band'] or 0):.1f} % of PCNs, "
        f"{100 * (s['share_patients_in_band'] or 0):.1f} % of patients)",
        f"- Named exceptions: {s['named_exceptions']}",
        f"- Method: {', '.join(s['method'])}",
        *(
            [
                f"- ARRS {s['funding']['year']}: "
                f"£{s['funding']['totals_gbp'].get('arrs_sum_gbp') or 0:,.0f}"
                f" in all, by PCN in pcns.csv and funding.csv"
                + (
                    " (ESTIMATE: registered list used, no weighted population)"
                    if s["funding"]["estimate"]
                    else ""
                )
            ]
            if "funding" in s
            else []
        ),
        f"- Independent validator: {'all rules met' if s['valid'] else 'RULES BROKEN'}"
        + ("" if s["valid"] else f" ({len(s['rules_broken'])}, see validation.csv)"),
        "",
        "## Places",
        "",
        "| place | name | status | practices | PCNs | in band | gap |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    in_band = pcns.groupby("place_id")["in_band"].sum()
    for row in places.itertuples(index=False):
        gap = "" if row.gap is None or pd.isna(row.gap) else f"{100 * row.gap:.2f} %"
        lines.append(
            f"| {_cell(row.place_id)} | {_cell(row.place_name)} | {row.status} | "
            f"{row.n_practices} | "
            f"{row.n_pcns} | {int(in_band.get(row.place_id, 0))} | {gap} |"
        )
    flagged = places[places["status"] != "optimal"]
    if len(flagged):
        lines += ["", "## What the places that are not simply optimal need", ""]
        lines += [
            f"- **{r.place_id} {r.place_name}** ({r.status}): {r.message}"
            for r in flagged.itertuples(index=False)
        ]
    exceptions = pcns[pcns["exception"] != ""]
    if len(exceptions):
        lines += [
            "",
            "## Named exceptions",
            "",
            "| PCN | place | patients | practices | exception |",
            "|---|---|---:|---:|---|",
        ]
        lines += [
            f"| {_cell(r.pcn_id)} | {_cell(r.place_id)} | {r.list_size:,} | {r.n_practices} | "
            f"{_cell(r.exception)} |"
            for r in exceptions.itertuples(index=False)
        ]
    if s["snapped_practices"]:
        lines += [
            "",
            "## Practices snapped to the nearest place",
            "",
            "Generalised boundaries left these practices just outside every place.",
            "",
            "| practice | name | place | metres |",
            "|---|---|---|---:|",
        ]
        lines += [
            f"| {_cell(r['practice_code'])} | {_cell(r['name'])} | {_cell(r['place_id'])} | "
            f"{r['snap_m']:,.0f} |"
            for r in s["snapped_practices"]
        ]
    if not s["valid"]:
        lines += ["", "## Rules broken", ""] + [f"- {p}" for p in s["rules_broken"]]
    return "\n".join(lines) + "\n"


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    from pcnopt.funding import _rounded as rounded

    return rounded(frame)


def _map_writers(result: RunResult, *, tiles: bool = True) -> dict[str, Any]:
    """Writers of ``map.html`` and ``map.png``.

    The map shows the proposed configuration, plus the current one as a second layer when the
    practices table has ``current_pcn``.
    """
    from functools import cache

    from pcnopt import maps as mapping

    @cache  # both maps draw the same configurations: build them once
    def configurations() -> tuple[Any, list[Any]]:
        proposed = mapping.configuration_from_run(result, funding=result.funding)
        compare = []
        current = result.practices[["practice_code", "current_pcn"]].dropna()
        if len(current):
            compare.append(
                mapping.configuration_from_assignments(
                    current.rename(columns={"current_pcn": "pcn_id"}),
                    name="Current (current_pcn)",
                    practices=result.practices,
                    places=result.places,
                    catchments=result.catchments,
                    edges=result.edges,
                    min_size=result.summary["settings"]["min_size"],
                    max_size=result.summary["settings"]["max_size"],
                )
            )
        return proposed, compare

    def write_html(path: Path) -> None:
        proposed, compare = configurations()
        fmap = mapping.map_from_configurations(
            [proposed, *compare], practices=result.practices, places=result.places, tiles=tiles
        )
        mapping.write_map(fmap, path)

    def write_png(path: Path) -> None:
        proposed, _ = configurations()
        mapping.static_map_png(proposed, path, practices=result.practices, places=result.places)

    return {"map.html": write_html, "map.png": write_png}


#: Measured timings: they vary from run to run, so they are written only to ``run_log.json``.
VOLATILE = ["seconds"]


def _run_log(result: RunResult) -> dict[str, Any]:
    """The run's measured timings (``run_log.json``: the one output that varies between runs)."""
    return {
        "note": "measured timings; they vary from run to run (every other file does not)",
        "seconds": result.summary.get("seconds"),
        "place_seconds": dict(
            zip(
                result.places_table["place_id"].astype(str),
                result.places_table["seconds"],
                strict=True,
            )
        ),
    }


def write_run(
    result: RunResult,
    out: str | Path,
    *,
    extra: dict[str, Any] | None = None,
    maps: bool = True,
    command: str = "optimise",
) -> Path:
    """Write a run's files into ``out`` atomically.

    Files: ``assignments.csv``, ``pcns.csv``, ``pcns.geojson``, ``places.csv``,
    ``catchments.geojson``, ``adjacency.csv``, ``validation.csv``, ``report.md``, the funding
    tables (``funding.csv``, ``role_mix.csv``, ``funding_basis.csv``) when a year is set,
    ``map.html`` and ``map.png`` (unless ``maps=False``), ``run_log.json`` and ``summary.json``
    (written last: its presence marks a complete run), and ``pcnopt-manifest.json`` naming
    ``command`` and every file (the mark that lets a later run replace this folder).

    Every file is byte-identical for the same inputs and options, whatever ``jobs``, except
    ``run_log.json``: the measured seconds (of the run and of each place) vary from run to run,
    so they are kept there and nowhere else.

    Parameters
    ----------
    result
        The run.
    out
        Output folder.
    extra
        More files to write in the same atomic step: file name → writer (see
        :mod:`pcnopt.io.outputs`), e.g. a scenario's ``changes.csv``.
    """
    pcns_table = pd.DataFrame(result.pcns.drop(columns="geometry"))
    catchments = result.catchments.merge(
        result.assignments[["practice_code", "pcn_id"]], on="practice_code", how="left"
    )
    writers = {
        "assignments.csv": outputs.csv_writer(result.assignments),
        "pcns.csv": outputs.csv_writer(pcns_table),
        "pcns.geojson": outputs.geojson_writer(
            result.pcns[
                [
                    "pcn_id",
                    "place_id",
                    "list_size",
                    "n_practices",
                    "band_status",
                    "exception",
                    "hub_practice",
                    "geometry",
                ]
            ]
        ),
        "places.csv": outputs.csv_writer(result.places_table.drop(columns=VOLATILE)),
        "catchments.geojson": outputs.geojson_writer(catchments),
        "adjacency.csv": outputs.csv_writer(result.edges),
        "validation.csv": outputs.csv_writer(result.validation.pcns),
        "report.md": outputs.text_writer(report_markdown(result)),
        **(
            {
                "funding.csv": outputs.csv_writer(_rounded(result.funding.pcns)),
                "role_mix.csv": outputs.csv_writer(_rounded(result.funding.role_mix)),
                "funding_basis.csv": outputs.csv_writer(result.funding.lines),
            }
            if result.funding is not None
            else {}
        ),
        **(extra or {}),
        **(_map_writers(result) if maps else {}),
        "run_log.json": outputs.json_writer(_run_log(result)),
        "summary.json": outputs.json_writer(
            {k: v for k, v in result.summary.items() if k not in VOLATILE}
        ),
    }
    return outputs.write_folder(out, writers, command=command)
