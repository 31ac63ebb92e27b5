"""Neighbourhood footprints above PCNs: nested levels, each contiguous and in its band.

``pcnopt neighbourhoods`` builds levels above PCNs: by default two (neighbourhoods of, say,
200,000–350,000 people, ``--band``, above PCNs of ``--min-size``–``--max-size``), or any number
the user names with ``--level NAME=MIN-MAX``, outermost first (``optimise --level`` and a
scenario's ``[[level]]`` tables run the same design). Either *bottom-up*, keeping existing PCNs
(given as an assignments file) whole as the innermost level and designing the levels above on
their graph — what most ICBs are doing since the 10 Year Health Plan — or *top-down*, designing
the outermost level on the practice graph and then each level inside every unit of the level
above as if it were a place. Both are exact per level (see :mod:`pcnopt.model.levels` for when
they differ and which to prefer). Every unit at every level lies inside one place; every unit
lies wholly inside one unit of the level above (checked before anything is written).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt import geography
from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.io import outputs
from pcnopt.io.assignments import assignments_from_file
from pcnopt.maps import MapConfiguration
from pcnopt.model import PlaceGraph, SolveOptions
from pcnopt.model.alignment import ALIGN_OBJECTIVES
from pcnopt.model.levels import (
    Alignment,
    LevelsSolution,
    group_levels,
    nesting_problems,
    solve_levels,
)
from pcnopt.run import POPULATIONS, RunConfig, load_inputs
from pcnopt.run.engine import solve_places_locally
from pcnopt.run.tables import place_graphs
from pcnopt.settings import parse_band
from pcnopt.validation import ValidationReport


@dataclass(frozen=True)
class Level:
    """One level of a nested design.

    Attributes
    ----------
    name
        The user's name (``neighbourhood``, ``pcn``): its units are in the ``<name>_id``
        column and ``units_<name>.csv``.
    band
        The level's size band (patients).
    """

    name: str
    band: tuple[float, float]

    @property
    def column(self) -> str:
        """The level's id column."""
        return f"{self.name}_id"

    @property
    def title(self) -> str:
        """The level's units, plural, as a heading (``PCNs``, ``Neighbourhoods``)."""
        return "PCNs" if self.name == "pcn" else f"{self.noun[:1].upper()}{self.noun[1:]}"

    @property
    def noun(self) -> str:
        """The level's units, plural, in a sentence (``PCNs``, ``neighbourhoods``)."""
        return "PCNs" if self.name == "pcn" else f"{self.name.replace('_', ' ')}s"

    @property
    def unit(self) -> str:
        """One unit, in a sentence (``PCN``, ``neighbourhood``)."""
        return "PCN" if self.name == "pcn" else self.name.replace("_", " ")


#: The two default levels' names (``--band`` and the PCN band), outermost first.
DEFAULT_LEVELS = ("neighbourhood", "pcn")


@dataclass(frozen=True)
class NeighbourhoodResult:
    """Every level of a nested design.

    Attributes
    ----------
    assignments
        One row per practice: ``practice_code``, ``name``, ``place_id``, ``list_size`` and one
        ``<level>_id`` column per level, outermost first.
    levels
        The levels, outermost first.
    units
        Level name → one row per unit: id, place, patients, practices, band status, the ids of
        the levels above, and the number of units of the level below.
    places
        Per place: the outermost level's solver status, how the innermost was made, and
        messages.
    summary
        Headline figures (written as ``summary.json``).
    areas
        Level name → each unit's area (EPSG:27700): an innermost unit's is the union of its
        practices' catchment cells (as the map draws them), an outer unit's the union of its
        inner units' areas, so each level's borders are the inner level's.
    practices_geo, places_geo, catchments, edges
        The practices (points), places (polygons), catchment cells and their adjacency the
        levels were drawn on, for the map.
    population
        The practices' column the bands apply to.
    """

    assignments: pd.DataFrame
    levels: tuple[Level, ...]
    units: Mapping[str, pd.DataFrame]
    places: pd.DataFrame
    summary: dict[str, Any]
    areas: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    practices_geo: gpd.GeoDataFrame | None = None
    places_geo: gpd.GeoDataFrame | None = None
    catchments: gpd.GeoDataFrame | None = None
    edges: pd.DataFrame | None = None
    population: str = "list_size"

    @property
    def neighbourhoods(self) -> pd.DataFrame:
        """The outermost level's units."""
        return self.units[self.levels[0].name]

    @property
    def pcns(self) -> pd.DataFrame:
        """The innermost level's units (the PCNs, whose funding is summed upwards)."""
        return self.units[self.levels[-1].name]


@dataclass(frozen=True)
class CouncilAlignment:
    """Council areas to report every unit against, and optionally to align the outermost
    level with.

    Attributes
    ----------
    layer, column
        A polygon layer (local authorities, wards…) and its id column (``--align-to``,
        ``--align-column``).
    objective
        ``"outside"`` or ``"split"`` to make alignment the outermost level's objective
        (``--align-objective``; see :mod:`pcnopt.model.alignment`), or None to report only.
    alone
        Alignment alone (``--align-alone``) rather than lexicographic after compactness.
    """

    layer: Path
    column: str | None
    objective: str | None = None
    alone: bool = False


def levels_of(config: RunConfig, band: tuple[float, float] | None = None) -> tuple[Level, ...]:
    """The run's levels: ``config.levels`` (``--level``), else ``band`` (``--band``) above the
    PCN band (``--min-size``/``--max-size``).

    Raises
    ------
    OptionError
        With both or neither; when the default bands cannot nest.
    """
    if config.levels and band is not None:
        raise OptionError(
            "give either --band (neighbourhoods above the --min-size/--max-size PCNs) or "
            "--level NAME=MIN-MAX options, not both."
        )
    if config.levels:
        return tuple(Level(name, (low, high)) for name, low, high in config.levels)
    if band is None:
        raise OptionError(
            "give the levels: --band MIN-MAX (neighbourhoods above PCNs of --min-size to "
            "--max-size), or two or more --level NAME=MIN-MAX, outermost first."
        )
    if band[1] < config.min_size:
        raise OptionError(
            f"--band {band[0]:,.0f}-{band[1]:,.0f}: a neighbourhood could never hold a PCN of "
            f"at least {config.min_size:,.0f} (--min-size). Fix: give neighbourhoods a larger "
            "band, or PCNs a smaller one."
        )
    outer, inner = DEFAULT_LEVELS
    return (Level(outer, band), Level(inner, (config.min_size, config.max_size)))


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
    council = None if align is None else _council_of(practices, align.layer, align.column)
    aligned = (
        None
        if align is None or align.objective is None or council is None
        else Alignment(council, align.objective, after_compact=not align.alone)
    )
    catchments, edges = geography.catchments_and_adjacency(practices, places)
    population = POPULATIONS[config.population]
    unit_of = None if pcns_file is None else _given_pcns(pcns_file, pcn_column, practices)
    ids, place_rows = _solve_places(
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
    units = _level_units(table, levels, weight, edges=edges)
    if council is not None:
        table["council"] = table["practice_code"].map(council)
        for level in levels:
            own, column = units[level.name], level.column
            shares = _alignment(table, column, weight)
            own["main_council"] = own[column].map(shares["main_council"])
            own["share_in_main_council"] = own[column].map(shares["share"])
            own["councils_spanned"] = own[column].map(shares["spanned"])
            own["patients_outside_main_council"] = own[column].map(shares["outside"])
    if config.funding_year is not None:
        inner = levels[-1]
        arrs = _arrs_of(practices, table, config, column=inner.column)
        funded = units[inner.name]
        funded["arrs_sum_gbp"] = funded[inner.column].map(arrs).round(2)
        for level in levels[:-1]:
            sums = funded.groupby(level.column)["arrs_sum_gbp"].sum()
            units[level.name]["arrs_sum_gbp"] = units[level.name][level.column].map(sums).round(2)
    summary = _summary(
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
        areas=_level_areas(catchments, table, practices, levels=levels, population=population),
        practices_geo=practices,
        places_geo=places,
        catchments=catchments,
        edges=edges,
        population=population,
    )


@dataclass(frozen=True)
class LevelsTask:
    """How one place's nested levels are solved (the ``options`` of the engine's function).

    ``levels``: the options of every level, outermost first (top-down), or of the levels above
    the given units (bottom-up, ``unit_of`` the given unit of each practice).
    """

    levels: tuple[SolveOptions, ...]
    unit_of: Mapping[str, str] | None = None
    align: Alignment | None = None


@dataclass(frozen=True)
class PlaceLevels:
    """One place's nested levels, with what the engine's progress bar shows of it."""

    solution: LevelsSolution
    seconds: float

    @property
    def status(self) -> str:
        """How the outermost level's solve ended."""
        return str(self.solution.top.status)


def solve_place_levels(graph: PlaceGraph, *, options: LevelsTask) -> PlaceLevels:
    """Solve one place's nested levels (the engine's function: module-level, so picklable)."""
    started = time.perf_counter()
    if options.unit_of is not None:
        solution = group_levels(graph, options.unit_of, options.levels, align=options.align)
    else:
        solution = solve_levels(graph, options.levels, align=options.align)
    return PlaceLevels(solution, time.perf_counter() - started)


def _solve_places(
    graphs: Sequence[PlaceGraph],
    levels: Sequence[Level],
    *,
    config: RunConfig,
    unit_of: Mapping[str, str] | None,
    align: Alignment | None,
    jobs: int,
    progress: bool,
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Every place's levels: per level practice → unit id, and one row per place.

    The outermost level's ids are ``<place>-<L><k>`` (``L`` the level name's first letter,
    ``P01-N01``); each inner level's its outer unit's number and its own (``P01-01-02``).
    The innermost level gets the run's PCN rules; the levels above it compactness. Places are
    solved on the local engine of ``jobs`` processes (largest first); the results come back in
    the order of ``graphs``, so the ids do not depend on ``jobs``.
    """
    options = [
        SolveOptions(
            min_size=level.band[0],
            max_size=level.band[1],
            time_limit=config.time_limit,
            solver=config.solver,
            approved_small=True,
        )
        for level in levels[:-1]
    ]
    innermost = config.solve_options(min_size=levels[-1].band[0], max_size=levels[-1].band[1])
    task = (
        LevelsTask((*options, innermost), align=align)
        if unit_of is None
        else LevelsTask(tuple(options), unit_of=unit_of, align=align)
    )
    graphs = list(graphs)
    solved = solve_places_locally(
        graphs, [task] * len(graphs), jobs=jobs, progress=progress, fn=solve_place_levels
    )
    ids: list[dict[str, str]] = [{} for _ in levels]
    rows = []
    letter = levels[0].name[0].upper()
    for graph, place in zip(graphs, solved, strict=True):
        nested = place.solution
        if unit_of is not None:
            given = sorted({str(unit_of[c]) for c in graph.codes})  # the unit graph's nodes
            label = dict(zip(given, nested.top.labels, strict=True))
            top = {code: label[str(unit_of[code])] for code in graph.codes}
        else:
            top = dict(zip(graph.codes, nested.top.labels, strict=True))
        for mine, theirs in zip(ids, nested.unit_of, strict=True):
            mine.update(theirs)
        for code, k in top.items():  # the outermost level's ids: "<place>-N01"
            ids[0][code] = f"{graph.place_id}-{letter}{k + 1:02d}" if k >= 0 else ""
        rows.append(
            {
                "place_id": graph.place_id,
                f"{levels[0].name}_status": str(nested.top.status),
                f"{levels[-1].name}_method": "given (grouped whole)"
                if unit_of is not None
                else "designed inside",
                "unsplittable": "; ".join(nested.unsplittable),
                "council_alignment": nested.alignment,
                "message": nested.top.message,
            }
        )
    for outer, inner in itertools.pairwise(ids):
        problems = nesting_problems(inner, outer)
        if problems:  # cannot happen by construction; never written if it does
            raise OptionError("units would cross the level above: " + "; ".join(problems[:5]))
    return ids, rows


def _level_units(
    table: pd.DataFrame, levels: Sequence[Level], weight: pd.Series, *, edges: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Each level's units table, with the ids of the levels above and the count below."""
    units = {
        level.name: _units(table, level.column, weight, level.band, edges=edges) for level in levels
    }
    for k, level in enumerate(levels):
        own = units[level.name]
        firsts = table.drop_duplicates(level.column).set_index(level.column)
        for above in levels[:k]:
            own[above.column] = own[level.column].map(firsts[above.column])
    for level, below in itertools.pairwise(levels):
        own = units[level.name]
        count = units[below.name].groupby(level.column).size()
        own[f"n_{below.name}s"] = own[level.column].map(count).fillna(0).astype(int)
    return units


def _summary(
    levels: Sequence[Level],
    units: Mapping[str, pd.DataFrame],
    place_rows: Sequence[Mapping[str, Any]],
    *,
    practices: int,
    grouped: bool,
    council: bool,
    aligned: Alignment | None,
    funding_year: str | None,
) -> dict[str, Any]:
    """The headline figures (``summary.json``), per level under the level's name."""
    top, inner = levels[0], levels[-1]
    summary: dict[str, Any] = {
        "method": f"bottom-up: given {inner.noun} grouped whole"
        if grouped
        else f"top-down: {top.noun}, then "
        + ", then ".join(f"{level.noun} inside each" for level in levels[1:]),
        "levels": [level.name for level in levels],
    }
    summary |= {f"{level.name}_band": list(level.band) for level in levels}
    summary["practices"] = practices
    for level in levels:
        own = units[level.name]
        summary[f"{level.name}s"] = len(own)
        summary[f"{level.name}s_in_band"] = int(own["in_band"].sum())
        summary[f"{level.name}s_not_contiguous"] = int((~own["contiguous"]).sum())
    summary["places_proven"] = sum(r[f"{top.name}_status"] == "optimal" for r in place_rows)
    summary["places"] = len(place_rows)
    if council:
        for level in levels:
            own = units[level.name]
            outside = own["patients_outside_main_council"].astype(float).sum()
            summary[f"{level.name}_patients_outside_main_council"] = round(float(outside))
            summary[f"{level.name}_councils_crossed"] = int((own["councils_spanned"] - 1).sum())
    if aligned is not None:
        summary["align_objective"] = f"{aligned.term}, " + (
            "after compactness" if aligned.after_compact else "alone"
        )
    if funding_year is not None:
        summary["funding_year"] = funding_year
        summary["arrs_sum_gbp"] = round(float(units[inner.name]["arrs_sum_gbp"].sum()), 2)
    return summary


def _arrs_of(
    practices: pd.DataFrame, table: pd.DataFrame, config: RunConfig, *, column: str
) -> pd.Series:
    """Each innermost unit's ARRS sum for ``config``'s contract year (as ``optimise`` writes
    it for PCNs), by its id in ``column``."""
    from pcnopt.funding import funding_from_assignments, rates_from_file

    assert config.funding_year is not None
    placed = table.loc[table[column] != "", ["practice_code", column]]
    funding = funding_from_assignments(
        practices=practices,
        assignments=placed.rename(columns={column: "pcn_id"}),
        year=config.funding_year,
        rates=None if config.rates is None else rates_from_file(config.rates),
        plan_roles=False,
    )
    return funding.pcns.set_index("pcn_id")["arrs_sum_gbp"]


def _level_areas(
    catchments: gpd.GeoDataFrame,
    table: pd.DataFrame,
    practices: gpd.GeoDataFrame,
    *,
    levels: Sequence[Level],
    population: str,
) -> dict[str, gpd.GeoDataFrame]:
    """Each level's unit areas: the innermost from the catchment cells (without overlaps
    where co-sited practices are in different units), each outer level as the union of its
    inner units."""
    from pcnopt.maps import pcn_areas

    placed = table[(table[[level.column for level in levels]] != "").all(axis=1)]
    inner = levels[-1]
    cells = pcn_areas(
        catchments.to_crs(practices.crs),
        placed[["practice_code", inner.column]].rename(columns={inner.column: "pcn_id"}),
        practices=practices,
        population=population,
    ).rename(columns={"pcn_id": inner.column})
    areas = {inner.name: cells}
    firsts = placed.drop_duplicates(inner.column).set_index(inner.column)
    for level in levels[:-1]:
        outer = cells.assign(**{level.column: cells[inner.column].map(firsts[level.column])})
        outer = outer.dissolve(by=level.column, as_index=False)[[level.column, "geometry"]]
        areas[level.name] = outer
    return {level.name: areas[level.name] for level in levels}


def _given_pcns(path: Path, column: str | None, practices: pd.DataFrame) -> dict[str, str]:
    """Practice → given PCN, each PCN inside one place; a practice with no PCN is its own unit."""
    given = assignments_from_file(path, pcn_column=column)
    given = given[given["practice_code"].isin(practices["practice_code"])]
    unit_of = {
        c: p
        for c, p in zip(given["practice_code"], given["pcn_id"], strict=True)
        if p and p.lower() not in {"nan", "none", "<na>"}
    }
    place_of = dict(zip(practices["practice_code"], practices["place_id"], strict=True))
    spans: dict[str, set[str]] = {}
    for code, pcn in unit_of.items():
        spans.setdefault(pcn, set()).add(str(place_of[code]))
    crossing = {p: s for p, s in spans.items() if len(s) > 1}
    if crossing:
        shown = "; ".join(f"{p} ({', '.join(sorted(s))})" for p, s in sorted(crossing.items())[:5])
        raise InputError(
            Problem(
                str(path),
                f"{len(crossing)} PCN(s) cross places, so no neighbourhood inside one "
                f"place can hold them whole: {shown}.",
                "use places that contain whole PCNs (e.g. the sub-ICB places the PCNs were drawn "
                "in), or split those PCNs first.",
            )
        )
    for code in practices["practice_code"]:
        unit_of.setdefault(code, f"(no PCN) {code}")
    return unit_of


def _units(
    table: pd.DataFrame,
    column: str,
    weight: pd.Series,
    band: tuple[float, float],
    *,
    edges: pd.DataFrame,
) -> pd.DataFrame:
    """One row per unit of a level, with its band status and whether it is contiguous."""
    import networkx as nx

    graph = nx.Graph(list(zip(edges["a"], edges["b"], strict=True)))
    graph.add_nodes_from(table["practice_code"])
    rows = []
    for unit, group in table[table[column] != ""].groupby(column, sort=True):
        size = float(weight[group.index].sum())
        rows.append(
            {
                column: unit,
                "place_id": str(group["place_id"].iloc[0]),
                "patients": round(size, 2),
                "n_practices": len(group),
                "in_band": band[0] <= size <= band[1],
                "band_status": "in band"
                if band[0] <= size <= band[1]
                else ("below band" if size < band[0] else "above band"),
                "contiguous": nx.is_connected(graph.subgraph(group["practice_code"])),
                "practices": ";".join(sorted(group["practice_code"])),
            }
        )
    names = [column, "place_id", "patients", "n_practices", "in_band", "band_status"]
    return pd.DataFrame(rows, columns=[*names, "contiguous", "practices"])


def write_neighbourhoods(
    result: NeighbourhoodResult,
    out: str | Path,
    *,
    tiles: bool = True,
    extra: Mapping[str, Callable[[Path], None]] | None = None,
    command: str = "neighbourhoods",
) -> Path:
    """Write ``assignments.csv``, ``units_<level>.csv`` and ``units_<level>.geojson`` per level,
    ``map.html`` (every level a layer), ``places.csv``, ``report.md`` and ``summary.json`` into
    ``out`` atomically (``tiles=False``: a map that works with no internet; ``extra``: more
    files, e.g. a scenario's ``changes.csv``)."""
    writers = {"assignments.csv": outputs.csv_writer(result.assignments)}
    for level in result.levels:
        writers[f"units_{level.name}.csv"] = outputs.csv_writer(result.units[level.name])
    for level in result.levels:
        if level.name in result.areas:
            writers[f"units_{level.name}.geojson"] = outputs.geojson_writer(
                unit_features(result, level=level.name)
            )
    if result.practices_geo is not None and result.catchments is not None:
        writers["map.html"] = lambda path: _write_map(result, path, tiles=tiles)
    writers |= {
        "places.csv": outputs.csv_writer(result.places),
        **(extra or {}),
        "report.md": outputs.text_writer(report_markdown(result)),
        "summary.json": outputs.json_writer(result.summary),
    }
    return outputs.write_folder(out, writers, command=command)


def map_configurations(result: NeighbourhoodResult) -> list[MapConfiguration]:
    """The levels as map layers, outermost first: each level's boundaries drawn over the
    colours of the level below (popups: patients, its inner units, the sum of their ARRS),
    the innermost alone."""
    from pcnopt.maps import configuration_from_assignments

    assert result.practices_geo is not None and result.catchments is not None
    assert result.edges is not None and result.places_geo is not None
    configurations = []
    innermost = result.levels[-1]
    for k, level in enumerate(result.levels):
        units = result.units[level.name]
        drawn = configuration_from_assignments(
            result.assignments[["practice_code", level.column]].rename(
                columns={level.column: "pcn_id"}
            ),
            name=level.title,
            practices=result.practices_geo,
            places=result.places_geo,
            catchments=result.catchments,
            edges=result.edges,
            min_size=level.band[0],
            max_size=level.band[1],
            population=result.population,
        )
        areas = result.areas[level.name].set_index(level.column).geometry  # nested, as written
        funding = None
        if "arrs_sum_gbp" in units:
            money = "arrs_sum_gbp" if level is innermost else "arrs_sum_of_pcns_gbp"
            funding = pd.DataFrame({"pcn_id": units[level.column], money: units["arrs_sum_gbp"]})
        layer = replace(
            drawn,
            pcns=drawn.pcns.set_geometry(list(drawn.pcns["pcn_id"].map(areas)), crs=drawn.pcns.crs),
            funding=funding,
            unit=level.unit,
        )
        if level is not innermost:
            below = result.levels[k + 1]
            inner = {
                str(unit): tuple(
                    zip(g[below.column].astype(str), g["patients"].astype(float), strict=True)
                )
                for unit, g in result.units[below.name].groupby(level.column, sort=True)
            }
            layer = replace(layer, under=below.title, inner=inner)
        configurations.append(layer)
    return configurations


def _write_map(result: NeighbourhoodResult, path: Path, *, tiles: bool) -> None:
    from pcnopt.maps import map_from_configurations, write_map

    titles = [level.title for level in result.levels]
    fmap = map_from_configurations(
        map_configurations(result),
        practices=result.practices_geo,
        places=result.places_geo,
        tiles=tiles,
        title=", ".join(titles[:-1]) + f" and {titles[-1]}",
    )
    write_map(fmap, path)


def unit_features(result: NeighbourhoodResult, *, level: str) -> gpd.GeoDataFrame:
    """One level's units with their areas (EPSG:27700): the units table without the practice
    list, one feature per unit in the table's order."""
    column = f"{level}_id"
    units = result.units[level]
    areas = result.areas[level].set_index(column).geometry
    return gpd.GeoDataFrame(
        units.drop(columns="practices"),
        geometry=list(units[column].map(areas)),
        crs=result.areas[level].crs,
    )


def report_markdown(result: NeighbourhoodResult) -> str:
    """The report: headline figures, then a section per level (its units and their rules)."""
    from pcnopt.run.report import render_markdown

    s = result.summary
    levels = []
    for k, level in enumerate(result.levels):
        units = result.units[level.name]
        above = result.levels[k - 1] if k else None
        below = result.levels[k + 1] if k + 1 < len(result.levels) else None
        shown = units.assign(
            id=units[level.column],
            outer=units[above.column] if above else "",
            n_inner=units[f"n_{below.name}s"] if below else 0,
        )
        levels.append(
            {
                "name": level.name,
                "title": level.title,
                "noun": level.noun,
                "band": f"{level.band[0]:,.0f}–{level.band[1]:,.0f}",
                "in_band": s[f"{level.name}s_in_band"],
                "inside": above.unit if above else "place",
                "outer": above.name if above else "",
                "inner": below.unit if below else "",
                "units": shown.to_dict(orient="records"),
                "outside": s.get(f"{level.name}_patients_outside_main_council"),
                "crossed": s.get(f"{level.name}_councils_crossed"),
            }
        )
    unsplit = result.places["unsplittable"]
    inner = result.levels[-1]
    broken = result.pcns[~result.pcns["contiguous"]]
    return render_markdown(
        "neighbourhoods.md.j2",
        s=s,
        levels=levels,
        top=result.levels[0],
        innermost=inner,
        council="main_council" in result.pcns,
        arrs="arrs_sum_gbp" in result.pcns,
        broken=[
            {"id": row[inner.column], "outer": row.get(result.levels[-2].column, "")}
            for row in broken.to_dict(orient="records")
        ],
        unsplittable=list(unsplit[unsplit != ""]),
    )


def _council_of(practices: pd.DataFrame, path: Path, column: str | None) -> dict[str, str]:
    """Practice → the area of the alignment layer it lies in (the nearest when outside all)."""
    import shapely

    from pcnopt.io.places import places_from_file

    if not column:
        raise OptionError("--align-to needs --align-column naming the layer's id column.")
    layer = places_from_file(path, id_column=column, repair=True).to_crs(practices.crs)
    points = practices.geometry.values
    at_point, at_area = layer.sindex.nearest(points, return_all=False)
    council = dict(
        zip(
            practices["practice_code"].iloc[at_point],
            layer["place_id"].iloc[at_area].astype(str),
            strict=True,
        )
    )
    if (shapely.distance(points, shapely.union_all(layer.geometry.values)) > 5_000).all():
        raise InputError(
            Problem(
                str(path),
                "covers none of the practices (every one is more than 5 km outside it).",
                "give a layer of the same area (and check its coordinate reference system).",
            )
        )
    return council


def _alignment(table: pd.DataFrame, column: str, weight: pd.Series) -> pd.DataFrame:
    """Per unit: its main council, the share of its patients there, the councils it spans."""
    rows = {}
    for unit, group in table[table[column] != ""].groupby(column):
        by_council = weight[group.index].groupby(group["council"]).sum()
        total = float(by_council.sum())
        rows[unit] = {
            "main_council": str(by_council.idxmax()) if total > 0 else "",
            "share": round(float(by_council.max()) / total, 4) if total > 0 else None,
            "spanned": int((by_council > 0).sum()),
            "outside": round(total - float(by_council.max()), 2) if total > 0 else 0.0,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@dataclass(frozen=True)
class NestingReport:
    """What ``validate --nest-column`` found about the outer level and the nesting.

    Attributes
    ----------
    outer
        Every rule checked on the outer level's units (contiguous, inside one place, in band or
        a named exception), as for PCNs.
    splits
        Inner units split across outer units (:func:`pcnopt.validation.split_units`).
    inner_of
        Outer unit → its inner units (``;``-joined).
    """

    outer: ValidationReport
    splits: pd.DataFrame
    inner_of: Mapping[str, str]

    @property
    def problems(self) -> tuple[str, ...]:
        """Every broken rule of the outer level, then every split inner unit."""
        return (*self.outer.problems, *self.splits["problem"])

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_text(self) -> str:
        """A readable summary for the terminal."""
        lines = [self.outer.to_text()]
        lines.append(
            f"{len(self.splits)} unit(s) of the level below split across "
            f"{self.outer.unit}s" + (":" if len(self.splits) else ".")
        )
        lines += [f"  - {p}" for p in self.splits["problem"][:50]]
        return "\n".join(lines)

    def table(self, *, inner: pd.DataFrame) -> pd.DataFrame:
        """Every unit's findings, one row each: the PCNs (``inner``, the validator's per-PCN
        table), then the outer units with their inner units, in a ``level`` column."""
        pcns = inner.rename(columns={"pcn_id": "unit_id"})
        pcns.insert(0, "level", "PCN")
        out = self.outer.pcns.rename(columns={"pcn_id": "unit_id"})
        out.insert(0, "level", self.outer.unit)
        out.insert(5, "inner_units", out["unit_id"].map(self.inner_of).fillna(""))
        return pd.concat([pcns, out], ignore_index=True)


def nest_band(column: str | None, band: str | None) -> tuple[float, float] | None:
    """The outer level's band of ``validate --nest-column``, or None without a nest column."""
    if column is None:
        if band is not None:
            raise OptionError("--nest-band needs --nest-column naming the outer level's column.")
        return None
    if band is None:
        raise OptionError(
            f"--nest-column {column} needs --nest-band MIN-MAX, the outer level's size band "
            "(e.g. --nest-band 100000-250000, as given to 'pcnopt neighbourhoods --band')."
        )
    return parse_band(band, option="--nest-band")


def nest_levels(
    columns: Sequence[str] | None, bands: Sequence[str] | None
) -> list[tuple[str, tuple[float, float]]]:
    """The levels above PCNs of ``validate --nest-column/--nest-band`` (repeated, from the PCNs
    outwards) as (column, band) pairs; empty without a nest column."""
    columns, bands = list(columns or []), list(bands or [])
    if len(columns) <= 1 and len(bands) <= 1:
        band = nest_band(next(iter(columns), None), next(iter(bands), None))
        return [] if band is None else [(columns[0], band)]
    if len(columns) != len(bands):
        raise OptionError(
            f"{len(columns)} --nest-column options but {len(bands)} --nest-band: give one band "
            "per level, in the same order (from the PCNs outwards)."
        )
    return [(c, parse_band(b, option="--nest-band")) for c, b in zip(columns, bands, strict=True)]


def level_name(column: str) -> str:
    """A level's name from its id column: ``neighbourhood_id`` → ``neighbourhood``."""
    return column.removesuffix("_id").removesuffix("_code").replace("_", " ") or column


def outer_units_from_file(path: Path, *, column: str) -> pd.DataFrame:
    """``practice_code`` and ``outer`` (the column named by ``--nest-column``) of a table.

    Raises
    ------
    InputError
        When the file has no such column.
    """
    from pcnopt.io._tables import read_csv_text

    columns = list(read_csv_text(path).columns)
    if column not in columns:
        raise InputError(
            Problem(
                str(path),
                f"has no column {column!r} (--nest-column), so the level above cannot be checked.",
                f"give the outer level's id column, one of: {', '.join(columns)} (e.g. "
                "neighbourhood_id in a 'pcnopt neighbourhoods' assignments.csv).",
                column=column,
            )
        )
    return assignments_from_file(path, pcn_column=column).rename(columns={"pcn_id": "outer"})


def validate_nesting(
    config: RunConfig,
    *,
    assignments: pd.DataFrame,
    band: tuple[float, float],
    outer_name: str = "neighbourhood",
    inner_name: str = "PCN",
) -> NestingReport:
    """Check the level above PCNs: its rules, and that every PCN lies inside one of its units.

    Parameters
    ----------
    config
        Practices, places and the commissioners' rules (its PCN band is checked separately,
        by :func:`pcnopt.run.run_validate`).
    assignments
        One row per practice: ``practice_code``, ``pcn_id`` (inner) and ``outer``.
    band
        The outer level's band.
    outer_name, inner_name
        What each level's units are called in the findings.
    """
    from pcnopt.validation import split_units, validate_configuration

    practices, places, _ = load_inputs(config)
    if config.area:  # a national configuration, audited in the area only
        assignments = assignments[assignments["practice_code"].isin(practices["practice_code"])]
    _, edges = geography.catchments_and_adjacency(practices, places)
    population = POPULATIONS[config.population]
    outer = validate_configuration(
        practices=practices,
        assignments=assignments[["practice_code", "outer"]].rename(columns={"outer": "pcn_id"}),
        edges=edges,
        min_size=band[0],
        max_size=band[1],
        population=population,
        excluded=frozenset(config.excluded),
        unit=outer_name,
    )
    weights = practices.set_index("practice_code")[population]
    splits = split_units(
        assignments,
        inner="pcn_id",
        outer="outer",
        weights=weights,
        inner_name=inner_name,
        outer_name=outer_name,
    )
    placed = assignments[assignments["pcn_id"].astype("string").str.strip().fillna("") != ""]
    inner_of = placed.groupby("outer")["pcn_id"].agg(lambda s: ";".join(sorted(set(map(str, s)))))
    return NestingReport(outer, splits, {str(k): str(v) for k, v in inner_of.items()})
