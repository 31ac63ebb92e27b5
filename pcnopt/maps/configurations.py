"""PCN configurations ready to draw: from a run, from any practice → PCN table, from files."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.io.assignments import pcn_names_from_file

if TYPE_CHECKING:
    from pcnopt.run import RunResult

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: The columns of :attr:`MapConfiguration.pcns`, in order (``geometry`` follows them).
PCN_TABLE_COLUMNS = (
    "pcn_id",
    "pcn_label",
    "place_name",
    "list_size",
    "weighted_population",
    "population",
    "n_practices",
    "band_status",
    "exception",
    "hub_practice",
    "mean_distance_to_hub_m",
)


@dataclass(frozen=True)
class MapConfiguration:
    """One PCN configuration, ready to draw.

    Attributes
    ----------
    name
        Shown in the layer control, the summary panel and the PNG title.
    assignments
        One row per practice: ``practice_code``, ``pcn_id`` (missing when in no PCN),
        ``distance_to_hub_m`` and ``is_hub``.
    pcns
        One row per PCN, EPSG:27700 areas: ``pcn_id``, ``pcn_label``, ``place_name``,
        ``list_size``, ``weighted_population``, ``population`` (the size-band basis),
        ``n_practices``, ``band_status`` ("below band", "in band", "above band"),
        ``exception``, ``hub_practice``, ``mean_distance_to_hub_m`` and ``geometry``.
    summary
        ``pcns``, ``practices``, ``share_pcns_in_band``, ``share_patients_in_band`` and
        ``mean_distance_to_hub_m`` (patient-weighted).
    funding
        Optional funding table (``pcn_id`` plus e.g. ``arrs_sum_gbp``, ``core_funding_gbp``,
        ``role_mix``), shown in the PCN popups.
    unit
        What the units are called ("PCN", or a level above PCNs such as "neighbourhood").
    under
        For a level above another: the name of the configuration of the level below. Its
        areas are drawn in their colours beneath this one's, whose units are then drawn as
        bold boundaries over them.
    inner
        For a level above another: unit id → its inner units as ``(id, patients)`` pairs,
        listed in the unit's popup.
    """

    name: str
    assignments: pd.DataFrame
    pcns: gpd.GeoDataFrame
    summary: Mapping[str, float | int | None]
    funding: pd.DataFrame | None = field(default=None)
    unit: str = "PCN"
    under: str | None = None
    inner: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise OptionError("a map configuration needs a name (shown in the layer control).")
        for column in ("practice_code", "pcn_id"):
            if column not in self.assignments:
                raise OptionError(
                    f"the assignments of configuration {self.name!r} have no '{column}' column."
                )
        if self.funding is not None:
            _check_funding(self.funding)


@dataclass(frozen=True)
class MapInputs:
    """Practices, places and configurations read from files for ``pcnopt map``."""

    practices: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    configurations: tuple[MapConfiguration, ...]


# --------------------------------------------------------------------------- configurations


def configuration_from_run(
    result: RunResult, *, name: str = "Proposed (pcnopt)", funding: Any = None
) -> MapConfiguration:
    """The configuration an ``optimise`` run produced.

    Parameters
    ----------
    result
        The run (:func:`pcnopt.run.run_optimise`).
    name
        Layer name.
    funding
        Optional funding (see :func:`funding_table`).
    """
    basis = result.summary.get("settings", {}).get("population", "registered")
    population = "weighted_population" if basis == "weighted" else "list_size"
    pcns = result.pcns.copy()
    assigned = result.assignments.dropna(subset=["pcn_id"])
    if len(assigned) and len(result.catchments):
        # areas without overlaps where co-sited practices are in different PCNs
        areas = pcn_areas(
            result.catchments.to_crs(pcns.crs),
            assigned,
            practices=result.practices.to_crs(pcns.crs),
            population="list_size",
        )
        geometry = dict(zip(areas["pcn_id"].astype(str), areas.geometry, strict=True))
        pcns = pcns.set_geometry(
            [geometry.get(str(p), g) for p, g in zip(pcns["pcn_id"], pcns.geometry, strict=True)],
            crs=pcns.crs,
        )
    pcns["population"] = pcns[population] if population in pcns else pcns["list_size"]
    pcns["pcn_label"] = pcns["pcn_label"].fillna("").astype(str) if "pcn_label" in pcns else ""
    assignments = result.assignments[
        ["practice_code", "pcn_id", "distance_to_hub_m", "is_hub"]
    ].copy()
    summary = _summary(
        result.assignments,
        pcns,
        weights=result.assignments[population]
        if population in result.assignments
        else result.assignments["list_size"],
    )
    return MapConfiguration(
        name=name,
        assignments=assignments,
        pcns=_pcn_columns(pcns),
        summary=summary,
        funding=funding_table(funding),
    )


def configuration_from_assignments(  # noqa: PLR0913  (keyword-only: the rules of one drawing)
    assignments: pd.DataFrame,
    *,
    name: str,
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    catchments: gpd.GeoDataFrame,
    edges: pd.DataFrame,
    min_size: float = 30_000,
    max_size: float = 50_000,
    population: str = "list_size",
    funding: Any = None,
    names: Mapping[str, str] | None = None,
) -> MapConfiguration:
    """Any configuration (real, proposed, scenario) from a practice → PCN table.

    PCN areas are the union of the members' catchment cells; band status and exceptions come
    from the independent validator, hubs and distances from :func:`pcnopt.metrics.hub_distances`.

    Parameters
    ----------
    assignments
        ``practice_code`` and ``pcn_id`` (e.g. from
        :func:`pcnopt.io.assignments.assignments_from_file`).
    name
        Layer name.
    practices, places, catchments, edges
        From :func:`pcnopt.run.load_inputs` and :mod:`pcnopt.geography`.
    min_size, max_size
        The size band.
    population
        Column of ``practices`` the band applies to.
    funding
        Optional funding (see :func:`funding_table`).
    names
        Optional PCN id → name (e.g. ePCN's PCN names), shown beside the ids.
    """
    from pcnopt.metrics import hub_distances
    from pcnopt.validation import validate_configuration

    assigned = assignments[["practice_code", "pcn_id"]].copy()
    assigned["pcn_id"] = assigned["pcn_id"].astype("string").str.strip()
    blank = assigned["pcn_id"].isna() | assigned["pcn_id"].isin(["", "nan", "None", "<NA>"])
    assigned.loc[blank, "pcn_id"] = pd.NA
    assigned = assigned[assigned["practice_code"].isin(practices["practice_code"])]
    assigned = assigned.drop_duplicates("practice_code")
    known = assigned.dropna(subset=["pcn_id"]).astype({"pcn_id": str})
    report = validate_configuration(
        practices=practices,
        assignments=known,
        edges=edges,
        min_size=min_size,
        max_size=max_size,
        population=population,
    )
    distances = hub_distances(practices, known, population=population)
    info = practices.set_index("practice_code")
    place_names = dict(zip(places["place_id"], places["place_name"], strict=False))

    per_practice = pd.DataFrame({"practice_code": practices["practice_code"]})
    per_practice = per_practice.merge(assigned, on="practice_code", how="left")
    per_practice = per_practice.merge(
        distances[["practice_code", "hub", "distance_m"]], on="practice_code", how="left"
    )
    per_practice["is_hub"] = per_practice["practice_code"] == per_practice["hub"]
    per_practice = per_practice.rename(columns={"distance_m": "distance_to_hub_m"})

    areas = pcn_areas(catchments, known, practices=practices, population=population)
    checked = report.pcns.set_index("pcn_id")
    # per_practice is in the order of practices: positions index both
    population_of = practices[population].to_numpy(float)
    list_of = practices["list_size"].to_numpy(float)
    weighted_of = practices["weighted_population"].to_numpy(float)
    place_of = practices["place_id"].astype("string").to_numpy()
    code_of = per_practice["practice_code"].to_numpy()
    hub_of = per_practice["is_hub"].to_numpy(bool)
    distance_of = per_practice["distance_to_hub_m"].to_numpy(float)
    exception_of = dict(zip(checked.index, checked["exception"], strict=True))
    rows = []
    # positions in per_practice itself (a filtered copy would renumber them: practices with no
    # PCN must not shift every later PCN onto another's rows)
    for pcn_id, at in per_practice.groupby("pcn_id", sort=True, dropna=True).indices.items():
        weights = population_of[at]
        size = float(weights.sum())
        place_ids = sorted({str(p) for p in place_of[at] if not pd.isna(p)})
        hubs = code_of[at][hub_of[at]]
        rows.append(
            {
                "pcn_id": str(pcn_id),
                "pcn_label": "",
                "place_name": "; ".join(str(place_names.get(p, p)) for p in place_ids),
                "list_size": int(list_of[at].sum()),
                "weighted_population": float(weighted_of[at].sum())
                if not np.isnan(weighted_of[at]).any()
                else None,
                "population": size,
                "n_practices": len(at),
                "band_status": _band_status(size, min_size, max_size),
                "exception": str(exception_of.get(pcn_id, "") or ""),
                "hub_practice": str(hubs[0]) if len(hubs) else "",
                "mean_distance_to_hub_m": float(weights @ np.nan_to_num(distance_of[at]) / size)
                if size > 0
                else 0.0,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=list(PCN_TABLE_COLUMNS),
    )
    pcns = gpd.GeoDataFrame(
        table.merge(areas, on="pcn_id", how="left"), geometry="geometry", crs=catchments.crs
    )
    if names:
        pcns["pcn_label"] = [str(names.get(p, "") or "") for p in pcns["pcn_id"]]
    weights_all = per_practice["practice_code"].map(info[population])
    summary = _summary(per_practice, pcns, weights=weights_all)
    return MapConfiguration(
        name=name,
        assignments=per_practice[["practice_code", "pcn_id", "distance_to_hub_m", "is_hub"]],
        pcns=_pcn_columns(pcns),
        summary=summary,
        funding=funding_table(funding),
    )


def configurations_from_files(  # noqa: PLR0913  (keyword-only: the options of pcnopt map)
    *,
    practices: Path,
    assignments: Sequence[tuple[str, Path]],
    places: Path | None = None,
    place_column: str | None = None,
    place_field: str | None = None,
    pcn_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    min_size: float = 30_000,
    max_size: float = 50_000,
    population: str = "registered",
    snap_distance_m: float = 5_000.0,
    repair_geometries: bool = False,
    area: Sequence[str] = (),
) -> MapInputs:
    """Read practices, places and one or more configurations for ``pcnopt map``.

    Parameters
    ----------
    practices
        Practices table.
    assignments
        ``(layer name, file)`` pairs; the first is the main configuration. Each file is read with
        :func:`pcnopt.io.assignments.assignments_from_file`.
    places, place_column, place_field
        Where the places come from, as for ``optimise``.
    pcn_column
        PCN column of the first file (the others use ``pcn_id``, else ``current_pcn``).
    columns
        Explicit column mapping of the practices table.
    min_size, max_size, population, snap_distance_m, repair_geometries, area
        As for ``optimise``.
    """
    from pcnopt import geography
    from pcnopt.io.assignments import assignments_from_file
    from pcnopt.run import POPULATIONS, RunConfig, load_inputs

    if not assignments:
        raise OptionError("give at least one configuration (--assignments FILE).")
    config = RunConfig(
        practices=Path(practices),
        places=places,
        place_column=place_column,
        place_field=place_field,
        columns=tuple((columns or {}).items()),
        min_size=min_size,
        max_size=max_size,
        population=population,
        snap_distance_m=snap_distance_m,
        repair_geometries=repair_geometries,
        area=tuple(area),
    )
    table, regions, _ = load_inputs(config)
    catchments, edges = geography.catchments_and_adjacency(table, regions)
    names = [name for name, _ in assignments]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise OptionError(
            f"two configurations are called {', '.join(map(repr, repeated))}; "
            "name them apart with --compare 'NAME=FILE'."
        )
    configurations = []
    for k, (name, path) in enumerate(assignments):
        frame = assignments_from_file(path, pcn_column=pcn_column if k == 0 else None)
        if area:  # a national configuration, drawn in the area only
            frame = frame[frame["practice_code"].isin(table["practice_code"])]
        _check_assignment_codes(frame, table, path)
        configurations.append(
            configuration_from_assignments(
                frame,
                name=name,
                practices=table,
                places=regions,
                catchments=catchments,
                edges=edges,
                min_size=min_size,
                max_size=max_size,
                population=POPULATIONS[population],
                names=pcn_names_from_file(Path(path), pcn_column=pcn_column if k == 0 else None),
            )
        )
    return MapInputs(practices=table, places=regions, configurations=tuple(configurations))


def _check_funding(funding: pd.DataFrame) -> None:
    if "pcn_id" not in funding.columns:
        raise InputError(
            Problem(
                "funding table",
                "has no 'pcn_id' column, so its figures cannot be matched to PCNs.",
                f"give one row per PCN with 'pcn_id'; the table's columns are: "
                f"{', '.join(map(str, funding.columns))}.",
                column="pcn_id",
            )
        )
    repeated = funding["pcn_id"][funding["pcn_id"].duplicated()]
    if len(repeated):
        raise InputError(
            Problem(
                "funding table",
                f"PCNs appear more than once: {', '.join(map(str, repeated[:10]))}.",
                "give one row per PCN.",
                rows=tuple(int(i) + 2 for i in repeated.index[:50]),
                column="pcn_id",
            )
        )


def _check_assignment_codes(frame: pd.DataFrame, practices: pd.DataFrame, path: Path) -> None:
    unknown = ~frame["practice_code"].isin(practices["practice_code"])
    if unknown.any():
        codes = frame.loc[unknown, "practice_code"]
        raise InputError(
            Problem(
                str(path),
                f"{int(unknown.sum())} practice(s) are not in the practices table "
                f"(e.g. {', '.join(codes[:5])}).",
                "use the practices file the configuration was made from, or remove those rows.",
                rows=tuple(int(i) + 2 for i in codes.index[:50]),
                column="practice_code",
            )
        )


def _band_status(size: float, min_size: float, max_size: float) -> str:
    if size < min_size:
        return "below band"
    return "above band" if size > max_size else "in band"


def _pcn_columns(pcns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = pcns.copy()
    for column in PCN_TABLE_COLUMNS:
        if column not in out:
            out[column] = None
    out["exception"] = out["exception"].fillna("").astype(str)
    out["pcn_label"] = out["pcn_label"].fillna("").astype(str)
    out["pcn_id"] = out["pcn_id"].astype(str)
    return gpd.GeoDataFrame(
        out[[*PCN_TABLE_COLUMNS, "geometry"]], geometry="geometry", crs=pcns.crs
    )


def _summary(
    assignments: pd.DataFrame, pcns: pd.DataFrame, *, weights: pd.Series
) -> dict[str, float | int | None]:
    distance = pd.to_numeric(assignments["distance_to_hub_m"], errors="coerce").to_numpy(float)
    w = pd.to_numeric(weights, errors="coerce").fillna(0).to_numpy(float)
    known = ~np.isnan(distance)
    population = pd.to_numeric(pcns["population"], errors="coerce").fillna(0)
    in_band = pcns["band_status"] == "in band"
    total = float(population.sum())
    return {
        "pcns": len(pcns),
        "practices": len(assignments),
        "share_pcns_in_band": round(float(in_band.mean()), 4) if len(pcns) else None,
        "share_patients_in_band": round(float(population[in_band].sum()) / total, 4)
        if total
        else None,
        "named_exceptions": int((pcns["exception"].fillna("") != "").sum()),
        "mean_distance_to_hub_m": round(float(w[known] @ distance[known] / w[known].sum()), 1)
        if w[known].sum() > 0
        else None,
    }


def summary_line(s: Mapping[str, Any]) -> str:
    """One line of a configuration's headline figures (PCNs, share in band, mean distance)."""
    parts = [f"{s.get('pcns', 0):,} PCNs"]
    if s.get("share_pcns_in_band") is not None:
        parts.append(f"{100 * float(s['share_pcns_in_band']):.0f}% within the size band")
    if s.get("mean_distance_to_hub_m") is not None:
        parts.append(f"mean distance to hub {float(s['mean_distance_to_hub_m']) / 1000:.1f} km")
    return ", ".join(parts)


def _clean(value: Any) -> Any:
    """Plain JSON values: NaN/NA to None, numpy scalars to Python."""
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _money(value: Any) -> str | None:
    value = _clean(value)
    if value is None:
        return None
    try:
        return f"£{float(value):,.0f}"
    except ValueError:
        return str(value)


def funding_table(funding: Any) -> pd.DataFrame | None:
    """One row per PCN of funding figures to show on a map.

    Parameters
    ----------
    funding
        ``None``; a table with ``pcn_id`` and money columns (``arrs_sum_gbp``,
        ``core_funding_gbp`` … and optionally a ``role_mix`` text); or a
        :class:`pcnopt.funding.FundingResult`, whose role mix becomes text such as
        "2 WTE clinical pharmacist; 1.5 WTE social prescribing link worker".
    """
    if funding is None:
        return None
    if isinstance(funding, pd.DataFrame):
        return funding
    pcns = getattr(funding, "pcns", None)
    mix = getattr(funding, "role_mix", None)
    if not isinstance(pcns, pd.DataFrame):
        raise OptionError("funding must be a table with 'pcn_id' or a pcnopt.funding result.")
    table = pcns.copy()
    if isinstance(mix, pd.DataFrame) and {"pcn_id", "role", "wte"} <= set(mix.columns):
        planned = mix[pd.to_numeric(mix["wte"], errors="coerce").fillna(0) > 0]
        text: dict[str, list[str]] = {}
        for pcn_id, role, wte in planned[["pcn_id", "role", "wte"]].itertuples(index=False):
            text.setdefault(str(pcn_id), []).append(
                f"{float(wte):g} WTE {str(role).replace('_', ' ')}"
            )
        table["role_mix"] = [
            "; ".join(text[str(p)]) if str(p) in text else "none planned" for p in table["pcn_id"]
        ]
    return table


def pcn_areas(
    catchments: gpd.GeoDataFrame,
    assignments: pd.DataFrame,
    *,
    practices: pd.DataFrame,
    population: str = "list_size",
) -> gpd.GeoDataFrame:
    """Each PCN's area: the union of its practices' catchment cells, without overlaps.

    Practices on one site share one catchment cell. When they belong to different PCNs, the
    cell is cut into wedges around the site, one per PCN, each with a share of the cell's
    angle proportional to that PCN's patients at the site (so no two PCN areas overlap and
    every PCN keeps an area at the site).

    Parameters
    ----------
    catchments
        ``practice_code`` and the practice's cell (co-sited practices have equal cells).
    assignments
        ``practice_code`` and ``pcn_id`` of the practices in a PCN.
    practices
        ``practice_code``, the ``population`` column and point geometry (same CRS).
    population
        Column of ``practices`` weighting the wedges.

    Returns
    -------
    geopandas.GeoDataFrame
        ``pcn_id`` and ``geometry``, one row per PCN, sorted by ``pcn_id``.
    """
    cells = catchments[["practice_code", "geometry"]].merge(
        assignments[["practice_code", "pcn_id"]], on="practice_code"
    )
    info = practices.set_index("practice_code")
    cells["weight"] = cells["practice_code"].map(info[population]).astype(float).fillna(0.0)
    cells["site"] = [g.wkb if g is not None else b"" for g in cells.geometry]
    geometry = list(cells.geometry)
    for _, group in cells.groupby("site", sort=False):
        by_pcn = group.groupby("pcn_id", sort=True)["weight"].sum()
        cell = group.geometry.iloc[0]
        if len(by_pcn) < 2 or cell is None or cell.is_empty:
            continue
        centre = info.geometry.get(group["practice_code"].iloc[0])
        wedge_of = dict(zip(by_pcn.index, _wedges(cell, centre, by_pcn.to_numpy()), strict=True))
        first: dict[str, int] = {}
        for position, pcn_id in zip(group.index, group["pcn_id"], strict=True):
            # the PCN's first practice at the site carries its wedge, the others nothing
            at = cells.index.get_loc(position)
            geometry[at] = wedge_of[pcn_id] if pcn_id not in first else None
            first.setdefault(pcn_id, at)
    frame = gpd.GeoDataFrame({"pcn_id": cells["pcn_id"]}, geometry=geometry, crs=catchments.crs)
    return frame.dissolve(by="pcn_id", as_index=False)[["pcn_id", "geometry"]]


def _wedges(cell: Any, centre: Any, weights: np.ndarray) -> list[Any]:
    """Cut ``cell`` into wedges around ``centre`` with angles proportional to ``weights``."""
    import shapely

    if centre is None or not cell.contains(centre):
        centre = cell.representative_point()
    weights = np.where(weights > 0, weights, 0.0)
    total = weights.sum()
    shares = weights / total if total > 0 else np.full(len(weights), 1.0 / len(weights))
    minx, miny, maxx, maxy = cell.bounds
    radius = 2.0 * math.hypot(maxx - minx, maxy - miny) + 1.0
    out, start = [], math.pi / 2  # from north, clockwise
    for share in shares:
        sweep = 2 * math.pi * float(share)
        steps = max(2, math.ceil(sweep / (math.pi / 36)))
        arc = [
            (
                centre.x + radius * math.cos(start - sweep * t / steps),
                centre.y + radius * math.sin(start - sweep * t / steps),
            )
            for t in range(steps + 1)
        ]
        wedge = shapely.Polygon([(centre.x, centre.y), *arc])
        out.append(cell.intersection(wedge) if sweep < 2 * math.pi - 1e-9 else cell)
        start -= sweep
    return out
