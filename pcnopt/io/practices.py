"""Read a practices table as a commissioning analyst has it.

Accepted formats: CSV (any common delimiter, UTF-8 with or without BOM, Windows-1252, CRLF),
GeoJSON, GeoPackage, Shapefile and Parquet/GeoParquet. Canonical columns:

=====================  ==========================================================
``practice_code``      ODS code (required; upper-cased)
``name``               practice name (optional; defaults to the code)
``list_size``          registered patients (required; whole number >= 0)
``lat``/``lon``        WGS84 coordinates, or ``easting``/``northing`` (EPSG:27700),
                       or a point geometry in a vector file
``weighted_population``  Carr-Hill weighted list (optional)
``place_id``           place (optional; used with ``--place-field place_id``)
``current_pcn``        the practice's PCN today (optional; else the newest dated column such
                       as ``pcn2024_10_code``)
``current_pcn_name``   that PCN's name (optional; else the ``X_name`` beside ``X_code``)
``patients_65_plus``   optional
``postcode``           optional
``town``               optional (the post town; ``prepare-nhs`` takes it from the address)
``locality``           optional (the district of the town, e.g. ``Bulwell``; likewise)
=====================  ==========================================================

Common spellings (``code``, ``Patients``, ``NUMBER_OF_PATIENTS``, ``latitude`` …) are
recognised; an explicit mapping overrides them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io._tables import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    VECTOR_SUFFIXES,
    check_readable,
    parse_numbers,
    read_csv_text,
)
from pcnopt.io.text import clean_code

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: Great Britain (with its islands) in WGS84: latitude and longitude ranges.
GB_LAT = (49.8, 60.95)
GB_LON = (-8.75, 1.8)
#: Great Britain in British National Grid metres.
GB_EASTING = (0.0, 700_000.0)
GB_NORTHING = (0.0, 1_250_000.0)

#: No practice has anywhere near this many patients (the largest English lists are ~100,000);
#: a larger list size is a units or column mistake, and would overflow whole-number sums.
MAX_LIST_SIZE = 10_000_000

OPTIONAL_TEXT = (
    "name",
    "place_id",
    "current_pcn",
    "current_pcn_name",
    "postcode",
    "town",
    "locality",
)
OPTIONAL_NUMBERS = ("weighted_population", "patients_65_plus")

ALIASES: dict[str, tuple[str, ...]] = {
    "practice_code": (
        "practice_code",
        "code",
        "ods_code",
        "org_code",
        "organisation_code",
        "practice",
        "practice_id",
        "gp_code",
        "partner_organisation_code",
    ),
    "name": ("name", "practice_name", "organisation_name", "org_name", "partner_name"),
    "list_size": (
        "list_size",
        "patients",
        "number_of_patients",
        "registered_patients",
        "list",
        "registered",
        "total_patients",
        "registered_list",
        "list_size_2021_01",
    ),
    "lat": ("lat", "latitude", "y_lat"),
    "lon": ("lon", "long", "lng", "longitude", "x_lon"),
    "easting": ("easting", "eastings", "x_bng", "bng_e", "oseast1m"),
    "northing": ("northing", "northings", "y_bng", "bng_n", "osnrth1m"),
    "weighted_population": (
        "weighted_population",
        "weighted",
        "weighted_patients",
        "weighted_list",
        "average_number_of_weighted_patients",
        "carr_hill",
        "weighted_2018_19",
    ),
    "place_id": ("place_id", "place", "place_code"),
    "current_pcn": ("current_pcn", "pcn", "pcn_code", "pcn_id"),
    "current_pcn_name": ("current_pcn_name", "pcn_name"),
    "patients_65_plus": ("patients_65_plus", "over_65", "over65", "aged_65_plus", "age_65_plus"),
    "postcode": ("postcode", "post_code", "practice_postcode", "pcds"),
    "town": ("town", "post_town"),
    "locality": ("locality", "district"),
}

COLUMNS_OUT = (
    "practice_code",
    "name",
    "list_size",
    "weighted_population",
    "patients_65_plus",
    "current_pcn",
    "current_pcn_name",
    "place_id",
    "postcode",
    "town",
    "locality",
    "lat",
    "lon",
    "source_row",
)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _read_raw(path: Path) -> tuple[pd.DataFrame, str]:
    """Read any supported file into a frame; return it and the word for a row."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return read_csv_text(path), "row"
    try:
        if suffix in PARQUET_SUFFIXES:
            try:
                return gpd.read_parquet(path), "row"
            except (ValueError, KeyError):
                return pd.read_parquet(path), "row"
        if suffix in VECTOR_SUFFIXES:
            return gpd.read_file(path), "feature"
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            Problem(
                str(path),
                f"cannot be read as a {suffix[1:]} file ({type(exc).__name__}: {exc}).",
                "check that the file is complete and that its extension matches its format.",
            )
        ) from None
    raise InputError(
        Problem(
            str(path),
            f"unsupported file type '{suffix or '(none)'}'.",
            "give a .csv, .geojson, .gpkg, .shp or .parquet file.",
        )
    )


def _resolve_columns(
    frame: pd.DataFrame, mapping: Mapping[str, str], file: str
) -> tuple[dict[str, str], list[Problem]]:
    """Map canonical names to the file's column names."""
    problems: list[Problem] = []
    by_key: dict[str, str] = {}
    for column in frame.columns:
        by_key.setdefault(_key(column), column)
    found: dict[str, str] = {}
    for canonical, given in mapping.items():
        if canonical not in ALIASES:
            problems.append(
                Problem(
                    file,
                    f"unknown canonical column '{canonical}' in the column mapping.",
                    f"use one of: {', '.join(ALIASES)}.",
                )
            )
        elif given in frame.columns:
            found[canonical] = given
        elif _key(given) in by_key:
            found[canonical] = by_key[_key(given)]
        else:
            problems.append(
                Problem(
                    file,
                    f"the column mapping names '{given}' for {canonical}, but the file has no "
                    "such column.",
                    f"the file's columns are: {', '.join(map(str, frame.columns))}.",
                    column=given,
                )
            )
    for canonical, aliases in ALIASES.items():
        if canonical in found:
            continue
        for alias in aliases:
            if alias in by_key and by_key[alias] not in found.values():
                found[canonical] = by_key[alias]
                break
    current = current_pcn_columns(frame.columns, found)
    for canonical, column in (("current_pcn", current.pcn), ("current_pcn_name", current.name)):
        if column is not None:
            found[canonical] = column
    return found, problems


#: A PCN membership column of a date, as ``prepare-nhs`` and the ePCN joined tables write them
#: (``pcn2019_code``, ``pcn2024_10_code``): the newest is the current configuration.
DATED_PCN = re.compile(r"^pcn(\d{4})(?:_(\d{2}))?_code$")


@dataclass(frozen=True)
class CurrentPcnColumns:
    """Which columns of a practices table give the current PCNs and their names.

    Attributes
    ----------
    pcn
        The column of each practice's current PCN, or None when the table has none.
    name
        The column of the PCN's name beside it, or None.
    others
        Other PCN columns of the table (PCN memberships of other dates), for the message.
    """

    pcn: str | None
    name: str | None
    others: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the start of a run: the columns used, or that there are none."""
        if self.pcn is None:
            return (
                "current PCNs: none in the practices table (name a column with --current-pcn "
                "to compare against one)."
            )
        names = f", names from '{self.name}'" if self.name else ", no name column"
        others = (
            f"; other PCN columns: {', '.join(self.others)} (choose with --current-pcn)"
            if self.others
            else ""
        )
        return f"current PCNs: column '{self.pcn}'{names}{others}."


def current_pcn_columns(
    columns: Iterable[object], found: Mapping[str, str] | None = None
) -> CurrentPcnColumns:
    """Find the current PCN column of a practices table, and the column of its names.

    Parameters
    ----------
    columns
        The table's column names.
    found
        Columns already resolved (given with ``--column``/``--current-pcn`` or matched by an
        alias); ``current_pcn`` and ``current_pcn_name`` there win.

    Returns
    -------
    CurrentPcnColumns
        ``current_pcn`` (or its aliases ``pcn``, ``pcn_code``, ``pcn_id``), else the newest
        dated membership column (``pcn2024_10_code`` before ``pcn2019_code``); its names from
        ``current_pcn_name``/``pcn_name``, or the ``X_name`` column beside an ``X_code``.
    """
    found = dict(found or {})
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(_key(str(column)), str(column))
    matches = {k: m for k in by_key if (m := DATED_PCN.match(k))}
    dated = sorted(
        matches, key=lambda k: tuple(int(g or 0) for g in matches[k].groups()), reverse=True
    )
    pcn = (
        found.get("current_pcn")
        or next((by_key[a] for a in ALIASES["current_pcn"] if a in by_key), None)
        or (by_key[dated[0]] if dated else None)
    )
    name = found.get("current_pcn_name") or next(
        (by_key[a] for a in ALIASES["current_pcn_name"] if a in by_key), None
    )
    if pcn is not None and name is None:
        key = _key(pcn)
        stem = key[: -len("_code")] if key.endswith("_code") else key
        name = next(
            (by_key[k] for k in (f"{key}_name", f"{stem}_name") if k in by_key and k != key),
            None,
        )
    others = tuple(by_key[k] for k in dated if by_key[k] != pcn)
    return CurrentPcnColumns(pcn=pcn, name=name, others=others)


def current_pcn_columns_of_file(
    path: str | Path, *, columns: Mapping[str, str] | None = None
) -> CurrentPcnColumns:
    """:func:`current_pcn_columns` of a practices file (read as :func:`practices_from_file`)."""
    path = Path(path)
    check_readable(path)
    raw, _ = _read_raw(path)
    found, problems = _resolve_columns(raw, columns or {}, str(path))
    if problems:
        raise InputError(problems)
    return current_pcn_columns(raw.columns, found)


#: Records one problem of a practices table: message, fix, the rows it concerns, the column.
_Report = Callable[[str, str, pd.Series | np.ndarray, str | None], None]


def practices_from_file(
    path: str | Path, *, columns: Mapping[str, str] | None = None
) -> gpd.GeoDataFrame:
    """Read and check a practices table.

    Parameters
    ----------
    path
        CSV, GeoJSON, GeoPackage, Shapefile or Parquet file, one row per practice.
    columns
        Explicit mapping from canonical column name to the file's column name, e.g.
        ``{"list_size": "Patients Jan 2024"}``; other columns are recognised by name.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per practice with the canonical columns (see the module docstring),
        ``source_row`` (the row or feature number in the file) and point geometry in
        British National Grid (EPSG:27700), sorted by ``practice_code``.

    Raises
    ------
    InputError
        Listing every problem found (missing columns, duplicate codes, bad numbers,
        missing or impossible coordinates), each with file, rows, column and fix.
    """
    path = Path(path)
    file = str(path)
    check_readable(path)
    raw, row_word = _read_raw(path)
    if len(raw) == 0:
        raise InputError(
            Problem(file, "the table has a header but no practices.", "add one row per practice.")
        )
    found, problems = _resolve_columns(raw, columns or {}, file)
    if problems:
        raise InputError(problems)

    def prob(message: str, fix: str, mask: pd.Series | np.ndarray, column: str | None) -> None:
        rows = tuple(int(r) for r in row_numbers[np.asarray(mask, dtype=bool)])
        problems.append(Problem(file, message, fix, rows=rows, column=column, row_word=row_word))

    row_numbers = np.arange(len(raw)) + (2 if row_word == "row" else 1)
    geometry = raw.geometry if isinstance(raw, gpd.GeoDataFrame) and "geometry" in raw else None
    _check_required_columns(raw, found, has_geometry=geometry is not None, file=file)

    out = pd.DataFrame(index=raw.index)
    codes = _practice_codes(raw[found["practice_code"]], found["practice_code"], prob)
    out["practice_code"] = codes
    name_col = found.get("name")
    names = raw[name_col].astype("string").fillna("").str.strip() if name_col else codes
    out["name"] = names.where(names != "", codes)
    out["list_size"] = _list_sizes(raw[found["list_size"]], found["list_size"], prob)
    for column, values in _optional_columns(raw, found, prob).items():
        out[column] = values

    points = _coordinates(raw, found, geometry, file, prob)
    out["source_row"] = row_numbers
    if problems:
        raise InputError(problems)
    result = gpd.GeoDataFrame(out, geometry=points, crs=BNG)
    lonlat = result.geometry.to_crs(WGS84)
    result["lat"] = lonlat.y.round(6)
    result["lon"] = lonlat.x.round(6)
    result = result[[*COLUMNS_OUT, "geometry"]]
    return result.sort_values("practice_code", kind="stable").reset_index(drop=True)


def _check_required_columns(
    raw: pd.DataFrame, found: Mapping[str, str], *, has_geometry: bool, file: str
) -> None:
    """Refuse a table without practice codes, list sizes or any kind of coordinates."""
    has_lat_lon = "lat" in found and "lon" in found
    has_en = "easting" in found and "northing" in found
    missing = [c for c in ("practice_code", "list_size") if c not in found]
    if not (has_lat_lon or has_en or has_geometry):
        missing.append("lat/lon (or easting/northing, or a point geometry)")
    if missing:
        raise InputError(
            Problem(
                file,
                f"required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}.",
                "rename the columns, or map them explicitly (e.g. --column list_size=Patients). "
                f"The file's columns are: {', '.join(map(str, raw.columns))}.",
            )
        )


def _practice_codes(values: pd.Series, code_col: str, prob: _Report) -> pd.Series:
    """Return the practice codes upper-case, reporting blank and repeated ones."""
    # invisible characters (a zero-width space copied with the code) do not make a new code
    codes = values.astype("string").fillna("").map(clean_code).astype("string").str.upper()
    if (codes == "").any():
        prob("practice code is blank.", "give every practice its ODS code.", codes == "", code_col)
    dup = codes.duplicated(keep=False) & (codes != "")
    if dup.any():
        names = ", ".join(sorted(set(codes[dup]))[:10])
        prob(
            f"duplicate practice codes ({names}).",
            "each practice must appear once: remove the repeated rows or merge them (codes are "
            "compared without invisible characters such as zero-width spaces).",
            dup,
            code_col,
        )
    return codes


def _list_sizes(values: pd.Series, size_col: str, prob: _Report) -> pd.Series:
    """Return the list sizes as whole numbers, reporting any that are not a plausible list."""
    sizes, bad = parse_numbers(values)
    if bad.any():
        prob("list size is not a number.", "give the number of registered patients.", bad, size_col)
    blank = sizes.isna() & ~bad
    if blank.any():
        prob("list size is missing.", "give the number of registered patients.", blank, size_col)
    if (sizes < 0).any():
        prob(
            "list size is negative.", "give the number of registered patients.", sizes < 0, size_col
        )
    huge = sizes > MAX_LIST_SIZE
    if huge.any():
        prob(
            f"list size is larger than {MAX_LIST_SIZE:,} patients, more than any practice has.",
            "check that the column holds each practice's registered list (not a total, and not "
            "in other units), or map the right one with --column list_size=COLUMN.",
            huge,
            size_col,
        )
        sizes = sizes.where(~huge)
    fractional = sizes.notna() & (sizes != np.round(sizes))
    if fractional.any():
        prob(
            "list size is not a whole number.",
            "give registered patients (a whole number); weighted lists belong in "
            "'weighted_population'.",
            fractional,
            size_col,
        )
    return sizes.fillna(0).round().astype("int64")


def _optional_columns(
    raw: pd.DataFrame, found: Mapping[str, str], prob: _Report
) -> dict[str, pd.Series | float | None]:
    """Return the optional number and text columns (missing when the file has none)."""
    out: dict[str, pd.Series | float | None] = {}
    for column in OPTIONAL_NUMBERS:
        if column in found:
            values, bad = parse_numbers(raw[found[column]])
            if bad.any():
                prob(
                    f"{column} is not a number.",
                    "give a number or leave it blank.",
                    bad,
                    found[column],
                )
            if (values < 0).any():
                prob(
                    f"{column} is negative.",
                    "give a number >= 0 or leave it blank.",
                    values < 0,
                    found[column],
                )
            out[column] = values
        else:
            out[column] = np.nan
    for column in ("current_pcn", "current_pcn_name", "place_id", "postcode", "town", "locality"):
        if column in found:
            text = raw[found[column]].astype("string").fillna("").str.strip()
            value = text.where(text != "", None)
            out[column] = value.str.upper() if column == "postcode" else value
        else:
            out[column] = None
    return out


def _coordinates(
    raw: pd.DataFrame,
    found: Mapping[str, str],
    geometry: gpd.GeoSeries | None,
    file: str,
    prob: _Report,
) -> gpd.GeoSeries:
    """Return practice points in EPSG:27700, recording coordinate problems via ``prob``."""
    if "lat" in found and "lon" in found:
        return _points_from_lat_lon(raw, found, prob)
    if "easting" in found and "northing" in found:
        return _points_from_easting_northing(raw, found, prob)
    assert geometry is not None
    return _points_from_geometry(geometry, file, prob)


def _points_from_lat_lon(
    raw: pd.DataFrame, found: Mapping[str, str], prob: _Report
) -> gpd.GeoSeries:
    """Points from WGS84 ``lat``/``lon`` columns, reporting decimal commas, swaps and strays."""
    # "52,95" is a decimal comma (not a thousands separator): never read it as 5295
    lat_text = raw[found["lat"]].astype("string").fillna("")
    lon_text = raw[found["lon"]].astype("string").fillna("")
    comma = lat_text.str.contains(",", regex=False) | lon_text.str.contains(",", regex=False)
    lat, bad_lat = parse_numbers(lat_text.where(~comma, ""))
    lon, bad_lon = parse_numbers(lon_text.where(~comma, ""))
    if comma.any():
        prob(
            "coordinates are written with a decimal comma.",
            "write them with a decimal point (52.95, not 52,95), e.g. save the CSV with "
            "UK number settings.",
            comma,
            f"{found['lat']}/{found['lon']}",
        )
    fix = "give WGS84 decimal degrees (e.g. 52.95, -1.15), or easting/northing columns."
    if bad_lat.any():
        prob("latitude is not a number.", fix, bad_lat, found["lat"])
    if bad_lon.any():
        prob("longitude is not a number.", fix, bad_lon, found["lon"])
    missing = ((lat.isna() & ~bad_lat) | (lon.isna() & ~bad_lon)) & ~comma
    if missing.any():
        prob(
            "coordinates are missing.",
            "geocode the practice from its postcode (pcnopt prepare-nhs does this) or fill "
            "lat/lon.",
            missing,
            f"{found['lat']}/{found['lon']}",
        )
    present = lat.notna() & lon.notna()
    in_gb = lat.between(*GB_LAT) & lon.between(*GB_LON)
    swapped = present & ~in_gb & lon.between(*GB_LAT) & lat.between(*GB_LON)
    if swapped.any():
        prob(
            "latitude and longitude appear to be swapped.",
            "swap the two columns (in England latitude is about 50-56, longitude -6 to 2).",
            swapped,
            f"{found['lat']}/{found['lon']}",
        )
    outside = present & ~in_gb & ~swapped
    if outside.any():
        prob(
            "coordinates are outside Great Britain.",
            "check the coordinates; if they are eastings/northings name the columns "
            "'easting'/'northing'.",
            outside,
            f"{found['lat']}/{found['lon']}",
        )
    points = gpd.GeoSeries.from_xy(lon.fillna(0), lat.fillna(0), crs=WGS84).to_crs(BNG)
    return points.set_axis(raw.index)


def _points_from_easting_northing(
    raw: pd.DataFrame, found: Mapping[str, str], prob: _Report
) -> gpd.GeoSeries:
    """Points from British National Grid ``easting``/``northing`` columns."""
    east, bad_e = parse_numbers(raw[found["easting"]])
    north, bad_n = parse_numbers(raw[found["northing"]])
    fix = "give British National Grid eastings and northings in metres."
    if (bad_e | bad_n).any():
        prob("easting/northing is not a number.", fix, bad_e | bad_n, found["easting"])
    missing = (east.isna() & ~bad_e) | (north.isna() & ~bad_n)
    if missing.any():
        prob("coordinates are missing.", fix, missing, found["easting"])
    outside = (east.notna() & north.notna()) & ~(
        east.between(*GB_EASTING) & north.between(*GB_NORTHING)
    )
    if outside.any():
        prob("easting/northing is outside Great Britain.", fix, outside, found["easting"])
    return gpd.GeoSeries.from_xy(east.fillna(0), north.fillna(0), crs=BNG).set_axis(raw.index)


def _points_from_geometry(geometry: gpd.GeoSeries, file: str, prob: _Report) -> gpd.GeoSeries:
    """Points from a point geometry in any declared CRS (or none: guessed from the numbers)."""
    fix = "give each practice a point (its site); polygons are not practices."
    empty = geometry.isna() | geometry.is_empty
    if empty.any():
        prob("the practice has no geometry.", fix, empty, "geometry")
    not_point = ~empty & (geometry.geom_type != "Point")
    if not_point.any():
        prob("geometry is not a point.", fix, not_point, "geometry")
    ok = ~empty & ~not_point
    geometry = geometry.where(ok, None)
    crs = geometry.crs
    xs = geometry.x.where(ok)
    ys = geometry.y.where(ok)
    if crs is None:
        if xs.dropna().between(-180, 180).all() and ys.dropna().between(-90, 90).all():
            crs = WGS84
        else:
            crs = BNG
        geometry = geometry.set_crs(crs)
    if geometry.crs.is_geographic:
        in_gb = ys.between(*GB_LAT) & xs.between(*GB_LON)
    else:
        projected = geometry.to_crs(BNG)
        in_gb = projected.x.between(*GB_EASTING) & projected.y.between(*GB_NORTHING)
    outside = ok & ~in_gb
    if outside.any():
        prob(
            "the point is outside Great Britain.",
            "check the coordinates and that the file's CRS is declared correctly.",
            outside,
            "geometry",
        )
    filled = geometry.where(ok, gpd.points_from_xy([0.0] * len(geometry), [0.0] * len(geometry)))
    return gpd.GeoSeries(filled, crs=geometry.crs).to_crs(BNG)
