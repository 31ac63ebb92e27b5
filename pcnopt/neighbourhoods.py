"""Neighbourhood footprints above PCNs: two nested levels, each contiguous and in its band.

``pcnopt neighbourhoods`` builds the outer level (neighbourhoods of, say, 200,000–350,000
people) either *bottom-up*, grouping existing PCNs (given as an assignments file) whole into
contiguous neighbourhoods — what most ICBs are doing since the 10 Year Health Plan — or
*top-down*, designing neighbourhoods on the practice graph and then the PCNs inside each one
as if it were a place. Both are exact per level (see :mod:`pcnopt.model.levels` for when they
differ and which to prefer). Every unit at every level lies inside one place; every PCN lies
wholly inside one neighbourhood (checked before anything is written).
"""

from __future__ import annotations

from collections.abc import Mapping
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
from pcnopt.model import SolveOptions
from pcnopt.model.alignment import ALIGN_OBJECTIVES
from pcnopt.model.levels import Alignment, group_units, nesting_problems, solve_nested
from pcnopt.run import POPULATIONS, RunConfig, load_inputs
from pcnopt.run.tables import place_graphs
from pcnopt.validation import ValidationReport


@dataclass(frozen=True)
class NeighbourhoodResult:
    """Both levels of a neighbourhood design.

    Attributes
    ----------
    assignments
        One row per practice: ``practice_code``, ``name``, ``place_id``, ``neighbourhood_id``,
        ``pcn_id`` and ``list_size``.
    neighbourhoods, pcns
        One row per unit of each level: id, place, patients, practices, band status (and the
        neighbourhood's PCNs).
    places
        Per place: each level's solver status and message.
    summary
        Headline figures (written as ``summary.json``).
    areas
        Level (``"neighbourhood"``, ``"pcn"``) → each unit's area (EPSG:27700): a PCN's is the
        union of its practices' catchment cells (as the map draws them), a neighbourhood's the
        union of its PCNs' areas, so the outer level's borders are the inner level's.
    practices_geo, places_geo, catchments, edges
        The practices (points), places (polygons), catchment cells and their adjacency the
        levels were drawn on, for the map.
    population
        The practices' column the bands apply to.
    """

    assignments: pd.DataFrame
    neighbourhoods: pd.DataFrame
    pcns: pd.DataFrame
    places: pd.DataFrame
    summary: dict[str, Any]
    areas: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    practices_geo: gpd.GeoDataFrame | None = None
    places_geo: gpd.GeoDataFrame | None = None
    catchments: gpd.GeoDataFrame | None = None
    edges: pd.DataFrame | None = None
    population: str = "list_size"


#: Each level's name (as in ``units_<level>.csv``) and its id column, outermost first.
LEVELS: Mapping[str, str] = {"neighbourhood": "neighbourhood_id", "pcn": "pcn_id"}


@dataclass(frozen=True)
class CouncilAlignment:
    """Council areas to report every unit against, and optionally to align neighbourhoods with.

    Attributes
    ----------
    layer, column
        A polygon layer (local authorities, wards…) and its id column (``--align-to``,
        ``--align-column``).
    objective
        ``"outside"`` or ``"split"`` to make alignment the neighbourhoods' objective
        (``--align-objective``; see :mod:`pcnopt.model.alignment`), or None to report only.
    alone
        Alignment alone (``--align-alone``) rather than lexicographic after compactness.
    """

    layer: Path
    column: str | None
    objective: str | None = None
    alone: bool = False


def parse_band(text: str, *, option: str) -> tuple[float, float]:
    """``"200000-350000"`` as (200000.0, 350000.0), or a message naming ``option``."""
    low, sep, high = text.replace(",", "").replace("_", "").partition("-")
    try:
        band = (float(low), float(high)) if sep else (float("nan"), float("nan"))
    except ValueError:
        band = (float("nan"), float("nan"))
    if not (0 <= band[0] <= band[1] < float("inf")):
        raise OptionError(
            f"{option} {text!r} is not a band; write it as MIN-MAX, e.g. 200000-350000."
        )
    return band


def run_neighbourhoods(
    config: RunConfig,
    *,
    band: tuple[float, float],
    pcns_file: Path | None = None,
    pcn_column: str | None = None,
    align: CouncilAlignment | None = None,
) -> NeighbourhoodResult:
    """Design neighbourhoods: bottom-up from ``pcns_file``, else top-down with ``config``'s band.

    Parameters
    ----------
    config
        Practices, places and the PCN band (the inner level) and solver settings.
    band
        The neighbourhoods' band (the outer level).
    pcns_file, pcn_column
        Existing PCNs to group whole (bottom-up); ``None`` designs both levels (top-down).
    align
        Council areas: every unit of both levels reports the share of its patients in its main
        area and how many areas it spans; with an objective, the neighbourhoods are aligned
        with them (exactly, where each place splits wholly into neighbourhoods in band).

    Raises
    ------
    OptionError
        When the bands cannot nest.
    InputError
        When a given PCN crosses a place, or a practice of the area has no PCN.
    """
    if band[1] < config.min_size:
        raise OptionError(
            f"--band {band[0]:,.0f}-{band[1]:,.0f}: a neighbourhood could never hold a PCN of "
            f"at least {config.min_size:,.0f} (--min-size). Fix: give neighbourhoods a larger "
            "band, or PCNs a smaller one."
        )
    if align is not None and align.objective not in (None, *ALIGN_OBJECTIVES):
        raise OptionError(
            f"--align-objective {align.objective!r} is not one of {', '.join(ALIGN_OBJECTIVES)}."
        )
    practices, places, _ = load_inputs(config)
    council = None if align is None else _council_of(practices, align.layer, align.column)
    aligned = (
        None
        if align is None or align.objective is None or council is None
        else Alignment(council, align.objective, after_compact=not align.alone)
    )
    catchments, edges = geography.catchments_and_adjacency(practices, places)
    population = POPULATIONS[config.population]
    graphs = place_graphs(practices, edges, population=population)
    outer = SolveOptions(
        min_size=band[0],
        max_size=band[1],
        time_limit=config.time_limit,
        solver=config.solver,
        approved_small=True,
    )
    inner = config.solve_options()
    unit_of = None if pcns_file is None else _given_pcns(pcns_file, pcn_column, practices)
    neighbourhood_of: dict[str, str] = {}
    pcn_of: dict[str, str] = {}
    place_rows = []
    for graph in graphs:
        if unit_of is not None:
            nested = group_units(graph, unit_of, options=outer, align=aligned)
        else:
            nested = solve_nested(graph, outer=outer, inner=inner, align=aligned)
        for code, k in nested.outer_of.items():
            neighbourhood_of[code] = f"{graph.place_id}-N{k + 1:02d}" if k >= 0 else ""
        pcn_of.update(nested.inner_of)
        place_rows.append(
            {
                "place_id": graph.place_id,
                "neighbourhood_status": str(nested.outer.status),
                "pcn_method": "given (grouped whole)" if unit_of is not None else "designed inside",
                "unsplittable": "; ".join(nested.unsplittable),
                "council_alignment": nested.alignment,
                "message": nested.outer.message,
            }
        )
    problems = nesting_problems(pcn_of, neighbourhood_of)
    if problems:  # cannot happen by construction; never written if it does
        raise OptionError("PCNs would cross neighbourhoods: " + "; ".join(problems[:5]))
    columns = list(dict.fromkeys(["practice_code", "name", "place_id", "list_size", population]))
    table = practices[columns].copy()
    table["neighbourhood_id"] = table["practice_code"].map(neighbourhood_of).fillna("")
    table["pcn_id"] = table["practice_code"].map(pcn_of).fillna("")
    weight = table[population].astype(float).fillna(0.0)
    neighbourhoods = _units(table, "neighbourhood_id", weight, band, edges=edges)
    pcns = _units(table, "pcn_id", weight, (config.min_size, config.max_size), edges=edges)
    pcns["neighbourhood_id"] = pcns["pcn_id"].map(
        table.drop_duplicates("pcn_id").set_index("pcn_id")["neighbourhood_id"]
    )
    if council is not None:
        table["council"] = table["practice_code"].map(council)
        for units, column in ((neighbourhoods, "neighbourhood_id"), (pcns, "pcn_id")):
            shares = _alignment(table, column, weight)
            units["main_council"] = units[column].map(shares["main_council"])
            units["share_in_main_council"] = units[column].map(shares["share"])
            units["councils_spanned"] = units[column].map(shares["spanned"])
            units["patients_outside_main_council"] = units[column].map(shares["outside"])
    neighbourhoods["n_pcns"] = (
        neighbourhoods["neighbourhood_id"]
        .map(pcns.groupby("neighbourhood_id").size())
        .fillna(0)
        .astype(int)
    )
    if config.funding_year is not None:
        arrs = _arrs_of(practices, table, config)
        pcns["arrs_sum_gbp"] = pcns["pcn_id"].map(arrs).round(2)
        neighbourhoods["arrs_sum_gbp"] = (
            neighbourhoods["neighbourhood_id"]
            .map(pcns.groupby("neighbourhood_id")["arrs_sum_gbp"].sum())
            .round(2)
        )
    summary: dict[str, Any] = {
        "method": "bottom-up: given PCNs grouped whole"
        if unit_of is not None
        else "top-down: neighbourhoods, then PCNs inside each",
        "neighbourhood_band": list(band),
        "pcn_band": [config.min_size, config.max_size],
        "practices": len(table),
        "neighbourhoods": len(neighbourhoods),
        "neighbourhoods_in_band": int(neighbourhoods["in_band"].sum()),
        "neighbourhoods_not_contiguous": int((~neighbourhoods["contiguous"]).sum()),
        "pcns_not_contiguous": int((~pcns["contiguous"]).sum()),
        "pcns": len(pcns),
        "pcns_in_band": int(pcns["in_band"].sum()),
        "places_proven": int(sum(r["neighbourhood_status"] == "optimal" for r in place_rows)),
        "places": len(place_rows),
    }
    if council is not None:
        for name, units in (("neighbourhood", neighbourhoods), ("pcn", pcns)):
            outside = units["patients_outside_main_council"].astype(float).sum()
            summary[f"{name}_patients_outside_main_council"] = round(float(outside))
            summary[f"{name}_councils_crossed"] = int((units["councils_spanned"] - 1).sum())
    if aligned is not None:
        summary["align_objective"] = f"{aligned.term}, " + (
            "after compactness" if aligned.after_compact else "alone"
        )
    if config.funding_year is not None:
        summary["funding_year"] = config.funding_year
        summary["arrs_sum_gbp"] = round(float(pcns["arrs_sum_gbp"].sum()), 2)
    return NeighbourhoodResult(
        table.drop(columns=[population]) if population != "list_size" else table,
        neighbourhoods,
        pcns,
        pd.DataFrame(place_rows),
        summary,
        areas=_level_areas(catchments, table, practices, population=population),
        practices_geo=practices,
        places_geo=places,
        catchments=catchments,
        edges=edges,
        population=population,
    )


def _arrs_of(practices: pd.DataFrame, table: pd.DataFrame, config: RunConfig) -> pd.Series:
    """Each PCN's ARRS sum for ``config``'s contract year (as ``optimise`` writes it)."""
    from pcnopt.funding import funding_from_assignments, rates_from_file

    assert config.funding_year is not None
    funding = funding_from_assignments(
        practices=practices,
        assignments=table.loc[table["pcn_id"] != "", ["practice_code", "pcn_id"]],
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
    population: str,
) -> dict[str, gpd.GeoDataFrame]:
    """Each level's unit areas: PCNs from the catchment cells (without overlaps where
    co-sited practices are in different PCNs), neighbourhoods as the union of their PCNs."""
    from pcnopt.maps import pcn_areas

    placed = table[(table["pcn_id"] != "") & (table["neighbourhood_id"] != "")]
    inner = pcn_areas(
        catchments.to_crs(practices.crs),
        placed[["practice_code", "pcn_id"]],
        practices=practices,
        population=population,
    )
    outer_of = placed.drop_duplicates("pcn_id").set_index("pcn_id")["neighbourhood_id"]
    outer = inner.assign(neighbourhood_id=inner["pcn_id"].map(outer_of))
    outer = outer.dissolve(by="neighbourhood_id", as_index=False)[["neighbourhood_id", "geometry"]]
    return {"neighbourhood": outer, "pcn": inner}


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
    return pd.DataFrame(
        rows,
        columns=[
            column,
            "place_id",
            "patients",
            "n_practices",
            "in_band",
            "band_status",
            "contiguous",
            "practices",
        ],
    )


def write_neighbourhoods(
    result: NeighbourhoodResult, out: str | Path, *, tiles: bool = True
) -> Path:
    """Write ``assignments.csv``, ``units_<level>.csv`` and ``units_<level>.geojson`` per level,
    ``map.html`` (every level a layer), ``places.csv``, ``report.md`` and ``summary.json`` into
    ``out`` atomically (``tiles=False``: a map that works with no internet)."""
    writers = {
        "assignments.csv": outputs.csv_writer(result.assignments),
        "units_neighbourhood.csv": outputs.csv_writer(result.neighbourhoods),
        "units_pcn.csv": outputs.csv_writer(result.pcns),
    }
    for level in LEVELS:
        if level in result.areas:
            writers[f"units_{level}.geojson"] = outputs.geojson_writer(
                unit_features(result, level=level)
            )
    if result.practices_geo is not None and result.catchments is not None:
        writers["map.html"] = lambda path: _write_map(result, path, tiles=tiles)
    writers |= {
        "places.csv": outputs.csv_writer(result.places),
        "report.md": outputs.text_writer(report_markdown(result)),
        "summary.json": outputs.json_writer(result.summary),
    }
    return outputs.write_folder(out, writers, command="neighbourhoods")


def map_configurations(result: NeighbourhoodResult) -> list[MapConfiguration]:
    """The levels as map layers, outermost first: the neighbourhoods' boundaries drawn over the
    PCNs' colours (popups: patients, PCNs, the sum of their ARRS), then the PCNs alone."""
    from pcnopt.maps import configuration_from_assignments

    assert result.practices_geo is not None and result.catchments is not None
    assert result.edges is not None and result.places_geo is not None
    s = result.summary
    names = {"neighbourhood": "Neighbourhoods", "pcn": "PCNs"}
    bands = {"neighbourhood": s["neighbourhood_band"], "pcn": s["pcn_band"]}
    configurations = {}
    for level, column in LEVELS.items():
        units = result.neighbourhoods if level == "neighbourhood" else result.pcns
        drawn = configuration_from_assignments(
            result.assignments[["practice_code", column]].rename(columns={column: "pcn_id"}),
            name=names[level],
            practices=result.practices_geo,
            places=result.places_geo,
            catchments=result.catchments,
            edges=result.edges,
            min_size=bands[level][0],
            max_size=bands[level][1],
            population=result.population,
        )
        areas = result.areas[level].set_index(column).geometry  # the nested areas, as written
        funding = None
        if "arrs_sum_gbp" in units:
            money = "arrs_sum_of_pcns_gbp" if level == "neighbourhood" else "arrs_sum_gbp"
            funding = pd.DataFrame({"pcn_id": units[column], money: units["arrs_sum_gbp"]})
        configurations[level] = replace(
            drawn,
            pcns=drawn.pcns.set_geometry(list(drawn.pcns["pcn_id"].map(areas)), crs=drawn.pcns.crs),
            funding=funding,
            unit="PCN" if level == "pcn" else level,
        )
    inner = {
        str(hood): tuple(zip(g["pcn_id"].astype(str), g["patients"].astype(float), strict=True))
        for hood, g in result.pcns.groupby("neighbourhood_id", sort=True)
    }
    outer = replace(configurations["neighbourhood"], under=names["pcn"], inner=inner)
    return [outer, configurations["pcn"]]


def _write_map(result: NeighbourhoodResult, path: Path, *, tiles: bool) -> None:
    from pcnopt.maps import map_from_configurations, write_map

    fmap = map_from_configurations(
        map_configurations(result),
        practices=result.practices_geo,
        places=result.places_geo,
        tiles=tiles,
        title="Neighbourhoods and PCNs",
    )
    write_map(fmap, path)


def unit_features(result: NeighbourhoodResult, *, level: str) -> gpd.GeoDataFrame:
    """One level's units with their areas (EPSG:27700): the units table without the practice
    list, one feature per unit in the table's order."""
    column = LEVELS[level]
    units = result.neighbourhoods if level == "neighbourhood" else result.pcns
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
    pcn_units = result.pcns.assign(id=result.pcns["pcn_id"], outer=result.pcns["neighbourhood_id"])
    hood_units = result.neighbourhoods.assign(
        id=result.neighbourhoods["neighbourhood_id"], n_inner=result.neighbourhoods["n_pcns"]
    )

    def band(low_high: list[float]) -> str:
        return f"{low_high[0]:,.0f}–{low_high[1]:,.0f}"

    levels = [
        {
            "name": "neighbourhood",
            "title": "Neighbourhoods",
            "noun": "neighbourhoods",
            "band": band(s["neighbourhood_band"]),
            "in_band": s["neighbourhoods_in_band"],
            "inside": "place",
            "outer": "",
            "inner": "PCN",
            "units": hood_units.to_dict(orient="records"),
        },
        {
            "name": "pcn",
            "title": "PCNs",
            "noun": "PCNs",
            "band": band(s["pcn_band"]),
            "in_band": s["pcns_in_band"],
            "inside": "neighbourhood",
            "outer": "neighbourhood",
            "inner": "",
            "units": pcn_units.to_dict(orient="records"),
        },
    ]
    unsplit = result.places["unsplittable"]
    return render_markdown(
        "neighbourhoods.md.j2",
        s=s,
        levels=levels,
        council="main_council" in result.pcns,
        arrs="arrs_sum_gbp" in result.pcns,
        broken=result.pcns[~result.pcns["contiguous"]].to_dict(orient="records"),
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
