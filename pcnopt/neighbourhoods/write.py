"""A nested design's outputs: tables, unit areas, the map (a layer per level), the report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from pcnopt.io import outputs
from pcnopt.maps import MapConfiguration
from pcnopt.neighbourhoods.result import NeighbourhoodResult


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
