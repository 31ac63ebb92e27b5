"""The units tables of each level, their council alignment, ARRS sums and areas, and the
headline figures; the given units of a bottom-up design."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.io.assignments import assignments_from_file
from pcnopt.model.levels import Alignment
from pcnopt.neighbourhoods.result import Level
from pcnopt.run import RunConfig


def level_units(
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


def summary_of(
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


def arrs_of(
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


def level_areas(
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


def given_pcns(path: Path, column: str | None, practices: pd.DataFrame) -> dict[str, str]:
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


def council_of(practices: pd.DataFrame, path: Path, column: str | None) -> dict[str, str]:
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


def alignment_shares(table: pd.DataFrame, column: str, weight: pd.Series) -> pd.DataFrame:
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
