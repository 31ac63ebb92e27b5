"""Run orchestration: practices and places in, a PCN configuration and its tables out.

``run_optimise`` does the whole job behind ``pcnopt optimise``: read and check the inputs,
place the practices, build catchment cells and the adjacency graph, group the practices into
PCNs place by place on the engine (:mod:`pcnopt.run.engine`), check the result with the
independent validator, and assemble the output tables. Writing them is left to
:func:`pcnopt.run.write.write_run`, so nothing is written when anything fails.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt import geography
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions
from pcnopt.model.compliance import (
    CurrentPcn,
    compliant_current_pcns,
    kept_groups,
    release_where_needed,
)
from pcnopt.run import engine
from pcnopt.run.inputs import GeographyCache, check_rules_across_places, load_inputs
from pcnopt.run.tables import (
    PlaceOutcome,
    options_for,
    place_graphs,
    place_outcome,
    summary,
    tables,
)
from pcnopt.run.total import CountAllocation, allocate_counts, band_count_range
from pcnopt.settings import POPULATIONS, RunConfig, check_resources
from pcnopt.validation import ValidationReport, validate_configuration


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
    #: the run's settings: their contract year and rates price the current configuration
    config: RunConfig | None = None

    def current_funding(self) -> Any:
        """The current configuration's funding (sums only, no role mix), for the map's current
        layer; None without a contract year or without current PCNs.

        Priced when asked (only the map shows it), so a run whose map is not drawn spends no
        time on it.
        """
        config = self.config
        if config is None or config.funding_year is None:
            return None
        current = self.practices[["practice_code", "current_pcn"]].dropna()
        if not len(current):
            return None
        from pcnopt.funding import funding_from_assignments, rates_from_file

        return funding_from_assignments(
            practices=self.practices,
            assignments=current.rename(columns={"current_pcn": "pcn_id"}),
            year=config.funding_year,
            rates=None if config.rates is None else rates_from_file(config.rates),
            input_dates=dict(config.input_dates),
            plan_roles=False,
        )


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
    check_resources(config)
    practices, places, snapped = load_inputs(config, practices_table=practices_table)
    special = geography.special_practices(practices, extra=config.special)
    regular = practices[~practices["practice_code"].isin(list(special))]
    if geography_cache is None:
        catchments, edges = geography.catchments_and_adjacency(regular, places)
    else:
        catchments, edges = geography_cache.get(regular, places)
    edges, hosts = geography.attach_special(practices, edges, special)
    if hosts:  # each special service joins the PCN of its host practice
        config = config.model_copy(
            update={"keep_together": (*config.keep_together, *sorted(hosts.items()))}
        )
    population = POPULATIONS[config.population]
    place_names = dict(zip(places["place_id"], places["place_name"], strict=True))
    outcomes, allocation = _group_places(
        practices, edges, config, progress=progress, executor=executor, names=place_names
    )
    assignments, pcns, places_table = tables(
        practices, places, catchments, outcomes, population, config
    )
    names_of = dict(zip(practices["practice_code"], practices["name"], strict=True))
    for code, reason in special.items():
        host = hosts.get(code)
        assignments.loc[assignments["practice_code"] == code, "note"] = (
            f"special service ({reason}): attached to the PCN of its nearest practice {host}"
            if host
            else f"special service ({reason}): no other practice in its place"
        )
    places_table = _with_count_ranges(places_table, practices, config)
    _check_count_met(places_table, config)
    validation = _validate(practices, assignments, edges, config)
    named = dict(zip(validation.pcns["pcn_id"], validation.pcns["exception"], strict=True))
    # a current PCN kept as it is (--keep-compliant) is no exception, unless it is out of band
    pcns["kept_as_is"] = pcns["exception"].str.startswith("kept as it is")
    pcns["exception"] = [
        (named.get(pcn_id, "") if note == "kept as it is" else note) or named.get(pcn_id, "")
        for pcn_id, note in zip(pcns["pcn_id"], pcns["exception"], strict=True)
    ]
    run_summary = summary(
        config,
        practices,
        snapped,
        pcns,
        places_table,
        validation,
        edges,
        time.perf_counter() - started,
    )
    if allocation is not None:
        run_summary["total_pcns"] = allocation.summary()
    pcn_of = dict(zip(assignments["practice_code"], assignments["pcn_id"], strict=True))
    run_summary["special_practices"] = [
        {
            "practice_code": code,
            "name": names_of.get(code),
            "why": reason,
            "host_practice": hosts.get(code),
            "pcn_id": pcn_of.get(code),
        }
        for code, reason in sorted(special.items())
    ]
    if config.keep_compliant:
        checks = current_pcn_checks(
            practices, place_graphs(practices, edges, population=population), config
        )
        run_summary["current_pcns"] = [
            {
                "pcn": c.pcn,
                "practices": len(c.codes),
                "patients": round(float(c.population)),
                "kept": bool(c.compliant),
                "why": c.reason
                or ("within the band, contiguous and inside one place" if c.compliant else ""),
            }
            for place in checks
            for c in place
        ]
    funding = None
    if config.funding_year is not None:
        from pcnopt.funding import funding_from_assignments, rates_from_file

        funding = funding_from_assignments(
            practices=practices,
            assignments=assignments,
            year=config.funding_year,
            rates=None if config.rates is None else rates_from_file(config.rates),
            input_dates=dict(config.input_dates),
        )
        run_summary["funding"] = funding.summary()
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
        run_summary,
        funding,
        config,
    )


def run_validate(
    config: RunConfig,
    *,
    assignments: pd.DataFrame,
    names: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Audit a configuration against every rule, as ``pcnopt validate`` does.

    Parameters
    ----------
    config
        The practices, places, size band and commissioners' rules to check against (its
        solver settings are not used).
    assignments
        ``practice_code`` and ``pcn_id``, e.g. from
        :func:`pcnopt.io.assignments.assignments_from_file`.
    names
        PCN id → name (:func:`pcnopt.io.assignments.pcn_names_from_file`): findings name each
        PCN as people know it.

    Raises
    ------
    OptionError
        When a commissioners' rule names a practice not in the practices table, or puts
        practices of different places in one PCN.
    """
    practices, places, _ = load_inputs(config)
    if config.area:  # a national configuration, audited in the area only
        assignments = assignments[assignments["practice_code"].isin(practices["practice_code"])]
    check_rules_across_places(practices, config)
    _, edges = geography.catchments_and_adjacency(practices, places)
    return _validate(practices, assignments, edges, config, names=names)


def _validate(
    practices: pd.DataFrame,
    assignments: pd.DataFrame,
    edges: pd.DataFrame,
    config: RunConfig,
    *,
    names: Mapping[str, str] | None = None,
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
        names=names,
    )


def _group_places(
    practices: gpd.GeoDataFrame,
    edges: pd.DataFrame,
    config: RunConfig,
    *,
    progress: bool,
    executor: Any = None,
    names: dict[str, str] | None = None,
) -> tuple[list[PlaceOutcome], CountAllocation | None]:
    """Solve every place; with ``total_pcns``, at the counts the area's total is shared into."""
    check_rules_across_places(practices, config)
    graphs = place_graphs(practices, edges, population=POPULATIONS[config.population])
    options = [options_for(g, config) for g in graphs]
    if config.keep_compliant:
        options = [
            replace(o, keep=kept_groups(c))
            for o, c in zip(options, current_pcn_checks(practices, graphs, config), strict=True)
        ]

    def solve(graphs: list[PlaceGraph], options: list[SolveOptions]) -> list[PlaceSolution]:
        if executor is not None:
            return engine.solve_places(executor, graphs, options)
        return engine.solve_places_locally(
            graphs, options, jobs=config.jobs, progress=progress, names=names
        )

    allocation = None
    if config.total_pcns is None:
        solutions = solve(graphs, options)
    else:
        solutions, allocation = allocate_counts(
            graphs, options, total=config.total_pcns, solve=solve, names=names
        )
    outcomes = [place_outcome(g, s) for g, s in zip(graphs, solutions, strict=True)]
    return outcomes, allocation


def _with_count_ranges(
    places_table: pd.DataFrame, practices: pd.DataFrame, config: RunConfig
) -> pd.DataFrame:
    """Each place's smallest and largest number of PCNs within the band (by its patients).

    See :func:`pcnopt.run.total.band_count_range`.
    """
    totals = practices.groupby("place_id")[POPULATIONS[config.population]].sum()
    table = places_table.copy()
    total = table["place_id"].map(totals).astype(float).fillna(0.0)
    ranges = [
        band_count_range(
            t, min_size=config.min_size, max_size=config.max_size, practices=len(practices)
        )
        for t in total
    ]
    table["min_pcns_in_band"] = [lo for lo, _ in ranges]
    table["max_pcns_in_band"] = [hi for _, hi in ranges]
    return table


def _check_count_met(places_table: pd.DataFrame, config: RunConfig) -> None:
    """Stop (exit 1) when a count of PCNs was asked for and some place could not meet it."""
    from pcnopt.errors import UnmeetableCountError

    asked = [
        f"{flag} {value}"
        for flag, value in (
            ("--n-pcns", config.n_pcns),
            ("--min-pcns", config.min_pcns),
            ("--max-pcns", config.max_pcns),
        )
        if value is not None and value != "fewest"
    ]
    if not asked:
        return
    failed = places_table[places_table["status"] == "infeasible"]
    if failed.empty:
        return
    places = "; ".join(
        f"{r.place_id} {r.place_name} ({r.n_practices} practices): the band allows "
        f"{r.min_pcns_in_band} to {r.max_pcns_in_band} PCNs"
        for r in failed.itertuples(index=False)
    )
    raise UnmeetableCountError(
        f"the number of PCNs asked for ({', '.join(asked)}) cannot be met in "
        f"{len(failed)} place(s): {places}. Nothing was written. Fix: ask for a count within "
        "each place's range (places.csv of a run without the count gives every place's "
        "range), or leave the count to the optimiser."
    )


def current_pcn_checks(
    practices: pd.DataFrame, graphs: list[PlaceGraph], config: RunConfig
) -> list[tuple[CurrentPcn, ...]]:
    """Per place, each current PCN: whether it is kept as it is (``--keep-compliant``), and why.

    A current PCN is kept when it is within the band, contiguous and inside one place (judged
    on the whole practices table, so a PCN across places is never kept); a kept PCN is given
    back when the practices beside it could not form PCNs in the band without it.
    """
    current = dict(
        zip(
            practices["practice_code"],
            [None if pd.isna(c) else str(c) for c in practices["current_pcn"]],
            strict=True,
        )
    )
    checks = []
    for graph in graphs:
        found = compliant_current_pcns(
            graph, min_size=config.min_size, max_size=config.max_size, current=current
        )
        checks.append(
            release_where_needed(graph, found, min_size=config.min_size, max_size=config.max_size)
        )
    return checks
