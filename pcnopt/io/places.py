"""Read place boundaries: any polygon file with an id column, in any declared CRS."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from pcnopt.errors import InputError, Problem
from pcnopt.io._tables import check_readable
from pcnopt.io.practices import BNG, GB_EASTING, GB_NORTHING

#: Places may overlap by up to this share of the smaller one's area (generalised boundaries,
#: e.g. ONS "BGC"/"BSC" files, overlap their neighbours slightly); larger overlaps are refused.
OVERLAP_TOLERANCE = 0.01


def places_from_file(
    path: str | Path,
    *,
    id_column: str,
    name_column: str | None = None,
    repair: bool = False,
    area: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Read place polygons and return them in British National Grid.

    Parameters
    ----------
    path
        Any polygon file geopandas reads (GeoJSON, GeoPackage, Shapefile, GeoParquet) in any
        declared CRS.
    id_column
        Column holding the place id (e.g. ``SICBL23CD``). Features sharing an id are merged.
    name_column
        Optional column with a readable name; guessed from ``*NM``/``name`` columns if omitted.
    repair
        Repair invalid polygons with :func:`shapely.make_valid` instead of stopping.
    area
        Place ids of the area a run is about (``--area``); empty for every place. Every id
        must be in the file. Only the area's polygons are checked: an invalid polygon of
        another place is mended quietly (it only decides which practices lie outside the area).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``place_id``, ``place_name``, ``geometry`` (EPSG:27700), sorted by ``place_id``.

    Raises
    ------
    InputError
        For a missing id column, missing CRS, coordinates that contradict the declared CRS,
        invalid, empty or non-polygon geometries, and places overlapping by more than
        :data:`OVERLAP_TOLERANCE` of the smaller one (a practice there would belong to both).
    """
    path = Path(path)
    file = str(path)
    frame = _read_polygons(path, file=file, id_column=id_column)
    rows = pd.Series(range(1, len(frame) + 1), index=frame.index)
    ids = frame[id_column].astype("string").fillna("").str.strip()
    _check_features(frame, ids, rows=rows, file=file, id_column=id_column)
    geometry = frame.geometry
    if area:
        _check_area(ids, area, file=file, id_column=id_column)
        outside = ~ids.isin(list(area)) & ~geometry.is_valid
        if outside.any():  # not the area's: mended quietly, never a reason to stop
            geometry = geometry.where(~outside, shapely.make_valid(geometry[outside].values))
            geometry = geometry.apply(_polygonal_part)
    geometry = _valid_geometry(geometry, rows=rows, file=file, repair=repair)
    places = gpd.GeoDataFrame({"place_id": ids.values}, geometry=geometry.values, crs=frame.crs)
    places = places.to_crs(BNG)
    _check_in_great_britain(places, file=file, crs=frame.crs.to_string())
    if name_column is None:
        candidates = [
            c
            for c in frame.columns
            if str(c).lower().endswith("nm") or str(c).lower() in {"name", "place_name"}
        ]
        name_column = candidates[0] if candidates else None
    names = frame[name_column].astype("string").fillna("") if name_column else ids
    places["place_name"] = names.values
    places = places.dissolve(by="place_id", aggfunc="first", as_index=False, sort=True)
    places = places[["place_id", "place_name", "geometry"]].reset_index(drop=True)
    _check_overlaps(places, file, id_column)
    return places


def _read_polygons(path: Path, *, file: str, id_column: str) -> gpd.GeoDataFrame:
    """Read the file, refusing one that cannot be read, is empty, lacks the id column or a CRS."""
    check_readable(path)
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet", ".pq"}:
            frame = gpd.read_parquet(path)
        else:
            frame = gpd.read_file(path)
    except Exception as exc:
        raise InputError(
            Problem(
                file,
                f"cannot be read as a polygon file ({type(exc).__name__}: {exc}).",
                "give a GeoJSON, GeoPackage, Shapefile or GeoParquet file of place polygons.",
            )
        ) from None
    if len(frame) == 0:
        raise InputError(Problem(file, "the file has no features.", "export the places again."))
    if id_column not in frame.columns:
        raise InputError(
            Problem(
                file,
                f"no column '{id_column}' to take place ids from.",
                "pass --place-column with one of: "
                + ", ".join(str(c) for c in frame.columns if c != "geometry")
                + ".",
                column=id_column,
            )
        )
    if frame.crs is None:
        raise InputError(
            Problem(
                file,
                "the file does not say which coordinate reference system (CRS) it uses.",
                "save it with its CRS (EPSG:27700 for British National Grid, EPSG:4326 for WGS84).",
            )
        )
    return frame


def _feature_problem(
    file: str, message: str, fix: str, *, rows: pd.Series, mask: pd.Series, column: str | None
) -> Problem:
    return Problem(file, message, fix, rows=tuple(rows[mask]), column=column, row_word="feature")


def _check_features(
    frame: gpd.GeoDataFrame, ids: pd.Series, *, rows: pd.Series, file: str, id_column: str
) -> None:
    """Refuse blank ids, features with no or non-polygon geometry, and metres labelled degrees."""
    problems: list[Problem] = []
    if (ids == "").any():
        problems.append(
            _feature_problem(
                file,
                "the place id is blank.",
                f"fill '{id_column}' for every feature.",
                rows=rows,
                mask=ids == "",
                column=id_column,
            )
        )
    geometry = frame.geometry
    empty = geometry.isna() | geometry.is_empty
    if empty.any():
        problems.append(
            _feature_problem(
                file,
                "the feature has no geometry.",
                "remove the feature or draw its boundary.",
                rows=rows,
                mask=empty,
                column="geometry",
            )
        )
    kinds = geometry.geom_type.where(~empty)
    not_polygon = ~empty & ~kinds.isin(["Polygon", "MultiPolygon"])
    if not_polygon.any():
        problems.append(
            _feature_problem(
                file,
                "the geometry is not a polygon.",
                "places must be areas (Polygon/MultiPolygon).",
                rows=rows,
                mask=not_polygon,
                column="geometry",
            )
        )
    minx, _miny, maxx, maxy = geometry[~empty].total_bounds if (~empty).any() else (0, 0, 0, 0)
    if frame.crs.is_geographic and (abs(minx) > 180 or abs(maxx) > 180 or abs(maxy) > 90):
        raise InputError(
            Problem(
                file,
                f"the file says its CRS is {frame.crs.to_string()} (degrees), but its coordinates "
                f"look like metres ({minx:.0f}..{maxx:.0f}).",
                "set the file's CRS to EPSG:27700 (British National Grid) without reprojecting.",
            )
        )
    if problems:
        raise InputError(problems)


def _check_area(ids: pd.Series, area: Sequence[str], *, file: str, id_column: str) -> None:
    """Refuse an ``--area`` naming a place id that is not in the file."""
    unknown = [a for a in dict.fromkeys(area) if a not in set(ids)]
    if unknown:
        known = sorted(set(ids))
        raise InputError(
            Problem(
                file,
                f"--area names {', '.join(map(repr, unknown))}, not a place id in '{id_column}'.",
                "use ids of the file, e.g. "
                + ", ".join(known[:8])
                + (" …" if len(known) > 8 else "")
                + ".",
                column=id_column,
            )
        )


def _valid_geometry(
    geometry: gpd.GeoSeries, *, rows: pd.Series, file: str, repair: bool
) -> gpd.GeoSeries:
    """Return the geometry with invalid polygons repaired, or refuse them unless ``repair``."""
    invalid = ~geometry.is_valid
    if not invalid.any():
        return geometry
    if repair:
        geometry = geometry.where(~invalid, shapely.make_valid(geometry[invalid].values))
        return geometry.apply(_polygonal_part)
    reasons = "; ".join(
        f"feature {rows[i]}: {shapely.is_valid_reason(geometry[i])}"
        for i in geometry.index[invalid][:3]
    )
    raise InputError(
        [
            _feature_problem(
                file,
                f"invalid polygon ({reasons}).",
                "repair it (QGIS 'Fix geometries', or pass --repair-geometries to let pcnopt "
                "repair it with shapely.make_valid).",
                rows=rows,
                mask=invalid,
                column="geometry",
            )
        ]
    )


def _check_in_great_britain(places: gpd.GeoDataFrame, *, file: str, crs: str) -> None:
    """Refuse places that, read in their declared CRS, lie outside Great Britain."""
    minx, miny, maxx, maxy = places.total_bounds
    if (
        maxx < GB_EASTING[0]
        or minx > GB_EASTING[1]
        or maxy < GB_NORTHING[0]
        or miny > GB_NORTHING[1]
    ):
        raise InputError(
            Problem(
                file,
                f"the places do not lie in Great Britain once read in {crs}.",
                "check that the file's declared CRS is the one its coordinates are in.",
            )
        )


def _check_overlaps(places: gpd.GeoDataFrame, file: str, id_column: str) -> None:
    """Refuse places that overlap by more than :data:`OVERLAP_TOLERANCE` of the smaller one."""
    geometries = places.geometry.values
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    keep = left < right
    problems = []
    for i, j in zip(left[keep], right[keep], strict=True):
        area = shapely.area(shapely.intersection(geometries[i], geometries[j]))
        smaller = min(shapely.area(geometries[i]), shapely.area(geometries[j]))
        if area > OVERLAP_TOLERANCE * smaller:
            a, b = places["place_id"].iloc[i], places["place_id"].iloc[j]
            problems.append(
                Problem(
                    file,
                    f"places {a} and {b} overlap by {area / 1e6:,.3f} km² "
                    f"({100 * area / smaller:.1f} % of the smaller), so a practice there would "
                    "be in both.",
                    f"give boundaries that do not overlap (e.g. one level of geography, such as "
                    f"sub-ICB locations, in one file); overlaps up to "
                    f"{100 * OVERLAP_TOLERANCE:g} % of a place are tolerated.",
                    column=id_column,
                )
            )
    if problems:
        raise InputError(problems)


def _polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygonal part of a repaired geometry."""
    if geometry.geom_type in {"Polygon", "MultiPolygon"}:
        return geometry
    parts = [
        g for g in getattr(geometry, "geoms", []) if g.geom_type in {"Polygon", "MultiPolygon"}
    ]
    return shapely.union_all(parts)
