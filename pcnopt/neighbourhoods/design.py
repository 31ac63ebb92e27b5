"""The nested design: inputs loaded, every place's levels solved, the tables made."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from pcnopt import geography
from pcnopt.errors import OptionError
from pcnopt.model.alignment import ALIGN_OBJECTIVES
from pcnopt.model.levels import Alignment
from pcnopt.neighbourhoods.result import CouncilAlignment, NeighbourhoodResult, levels_of
from pcnopt.neighbourhoods.solve import solve_places_levels
from pcnopt.neighbourhoods.tables import (
    alignment_shares,
    arrs_of,
    council_of,
    given_pcns,
    level_areas,
    level_units,
    summary_of,
)
from pcnopt.run import POPULATIONS, RunConfig, load_inputs
from pcnopt.run.tables import place_graphs


def run_neighbourhoods(
    config: RunConfig,
    *,
    band: tuple[float, float] | None = None,
    pcns_file: Path | None = None,
    pcn_column: str | None = None,
    align: CouncilAlignment | None = None,
    practices_table: gpd.GeoDataFrame | None = None,
    jobs: int | None = None,
    progress: bool = False,
) -> NeighbourhoodResult:
    """Design nested levels: bottom-up from ``pcns_file``, else top-down.

    Parameters
    ----------
    config
        Practices, places, solver settings and the levels (``config.levels``; without them
        ``band`` above the PCN band). The innermost level gets the PCN rules (objective,
        fixed practices, counts…); the levels above it compactness (or alignment).
    band
        The neighbourhoods' band (the outer of the two default levels).
    pcns_file, pcn_column
        Existing units of the innermost level (e.g. PCNs) to keep whole (bottom-up): the
        levels above are designed on their graph; ``None`` designs every level (top-down).
    align
        Council areas: every unit of every level reports the share of its patients in its
        main area and how many areas it spans; with an objective, the outermost level is
        aligned with them (exactly, where each place splits wholly into units in band).
    practices_table
        Practices already in memory (e.g. changed by a scenario), instead of reading them.
    jobs
        Processes solving places at once (0: every core; 1: this process); ``None`` takes
        the run's ``config.jobs``. The outputs are the same whatever it is.
    progress
        Show a progress bar over places on standard error.

    Raises
    ------
    OptionError
        When the bands cannot nest.
    InputError
        When a given unit crosses a place, or a practice of the area has no unit.
    """
    levels = levels_of(config, band)
    if align is not None and align.objective not in (None, *ALIGN_OBJECTIVES):
        raise OptionError(
            f"--align-objective {align.objective!r} is not one of {', '.join(ALIGN_OBJECTIVES)}."
        )
    practices, places, _ = load_inputs(config, practices_table=practices_table)
    council = None if align is None else council_of(practices, align.layer, align.column)
    aligned = (
        None
        if align is None or align.objective is None or council is None
        else Alignment(council, align.objective, after_compact=not align.alone)
    )
    catchments, edges = geography.catchments_and_adjacency(practices, places)
    population = POPULATIONS[config.population]
    unit_of = None if pcns_file is None else given_pcns(pcns_file, pcn_column, practices)
    ids, place_rows = solve_places_levels(
        place_graphs(practices, edges, population=population),
        levels,
        config=config,
        unit_of=unit_of,
        align=aligned,
        jobs=config.jobs if jobs is None else jobs,
        progress=progress,
    )
    columns = list(dict.fromkeys(["practice_code", "name", "place_id", "list_size", population]))
    table = practices[columns].copy()
    for level, of in zip(levels, ids, strict=True):
        table[level.column] = table["practice_code"].map(of).fillna("")
    weight = table[population].astype(float).fillna(0.0)
    units = level_units(table, levels, weight, edges=edges)
    if council is not None:
        table["council"] = table["practice_code"].map(council)
        for level in levels:
            own, column = units[level.name], level.column
            shares = alignment_shares(table, column, weight)
            own["main_council"] = own[column].map(shares["main_council"])
            own["share_in_main_council"] = own[column].map(shares["share"])
            own["councils_spanned"] = own[column].map(shares["spanned"])
            own["patients_outside_main_council"] = own[column].map(shares["outside"])
    if config.funding_year is not None:
        inner = levels[-1]
        arrs = arrs_of(practices, table, config, column=inner.column)
        funded = units[inner.name]
        funded["arrs_sum_gbp"] = funded[inner.column].map(arrs).round(2)
        for level in levels[:-1]:
            sums = funded.groupby(level.column)["arrs_sum_gbp"].sum()
            units[level.name]["arrs_sum_gbp"] = units[level.name][level.column].map(sums).round(2)
    summary = summary_of(
        levels,
        units,
        place_rows,
        practices=len(table),
        grouped=unit_of is not None,
        council=council is not None,
        aligned=aligned,
        funding_year=config.funding_year,
    )
    return NeighbourhoodResult(
        table.drop(columns=[population]) if population != "list_size" else table,
        levels,
        units,
        pd.DataFrame(place_rows),
        summary,
        areas=level_areas(catchments, table, practices, levels=levels, population=population),
        practices_geo=practices,
        places_geo=places,
        catchments=catchments,
        edges=edges,
        population=population,
    )
