"""Apply a scenario's changes (merge, close, grow, add, set) to a practices table in memory.

The rules are documented in :mod:`pcnopt.scenarios`. Changes apply in the order written (a
base file's before the changes of a file that extends it); each one sees the table the
changes before it left. The input table is never changed in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pcnopt.errors import InputError, Problem
from pcnopt.io.practices import BNG, COLUMNS_OUT, WGS84
from pcnopt.scenarios.schema import ChangeSpec

LOG_COLUMNS = ("change", "type", "practice_code", "field", "before", "after", "file")


def apply_changes(
    practices: gpd.GeoDataFrame,
    changes: Sequence[ChangeSpec],
    *,
    places: gpd.GeoDataFrame | None,
    practices_file: str,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Apply the changes; return the new practices table and a log of what changed.

    Parameters
    ----------
    practices
        Practices with ``place_id`` (as :func:`pcnopt.run.load_inputs` returns them).
    changes
        The changes, in order.
    places
        Place polygons (EPSG:27700) to place new or moved sites in; ``None`` when places come
        from a column of the practices table (then ``add`` needs ``place_id``).
    practices_file
        The practices file, for messages.

    Returns
    -------
    practices, log
        The changed table (canonical columns, sorted by code) and one log row per value changed.
    """
    table = practices.copy().set_index("practice_code", drop=False)
    log: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for change in changes:
        try:
            table = _APPLY[change.kind](table, change, places, log)
        except _ChangeError as exc:
            problems.append(Problem(change.file, f"key '{exc.key}': {exc.message}", exc.fix))
    if problems:
        raise InputError(problems)
    out = gpd.GeoDataFrame(
        table[[*COLUMNS_OUT, "geometry"]].reset_index(drop=True), geometry="geometry", crs=BNG
    )
    out = out.sort_values("practice_code", kind="stable").reset_index(drop=True)
    return out, pd.DataFrame(log, columns=list(LOG_COLUMNS))


class _ChangeError(Exception):
    def __init__(self, key: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.key, self.message, self.fix = key, message, fix


def _require(table: pd.DataFrame, codes: Sequence[str], change: ChangeSpec, name: str) -> None:
    missing = [c for c in codes if c not in table.index]
    if missing:
        raise _ChangeError(
            f"{change.key}.{name}",
            f"practice{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} not in the practices table"
            f"{' (or an earlier change removed it)' if change.key != 'changes[0]' else ''}.",
            "check the ODS code against the practices file.",
        )


def _record(
    log: list[dict[str, Any]], change: ChangeSpec, code: str, field: str, before: Any, after: Any
) -> None:
    log.append(
        {
            "change": change.key,
            "type": change.kind,
            "practice_code": code,
            "field": field,
            "before": _plain(before),
            "after": _plain(after),
            "file": change.file,
        }
    )


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _sum(values: pd.Series) -> float:
    return float(values.sum(min_count=len(values))) if len(values) else np.nan


def _merge(table: pd.DataFrame, change: ChangeSpec, places: Any, log: list) -> pd.DataFrame:
    codes = list(change.get("practices"))
    _require(table, codes, change, "practices")
    into = change.get("into") or codes[0]
    sub = table.loc[codes]
    table = table.copy()
    for column in ("list_size", "weighted_population", "patients_65_plus"):
        total = int(sub[column].sum()) if column == "list_size" else _sum(sub[column])
        _record(log, change, into, column, table.at[into, column], total)
        table.at[into, column] = total
    if change.get("name"):
        _record(log, change, into, "name", table.at[into, "name"], change.get("name"))
        table.at[into, "name"] = change.get("name")
    for code in codes:
        if code != into:
            _record(log, change, code, "merged_into", code, into)
    return table.drop(index=[c for c in codes if c != into])


def _close(table: pd.DataFrame, change: ChangeSpec, places: Any, log: list) -> pd.DataFrame:
    code = change.get("practice")
    _require(table, [code], change, "practice")
    place = table.at[code, "place_id"]
    open_ = table[(table["place_id"] == place) & (table.index != code)]
    if open_.empty:
        raise _ChangeError(
            f"{change.key}.practice",
            f"closing {code} closes every practice of place {place}; its patients would have "
            "nowhere to go.",
            "keep one practice of the place open, or add a new site there first.",
        )
    k = 1 if change.get("to") == "nearest" else int(change.get("k", 3))
    here = table.geometry[code]
    distance = open_.geometry.distance(here).to_numpy(float)
    order = np.lexsort((open_.index.to_numpy(str), distance))[:k]
    receivers = open_.index[order]
    weights = 1.0 / np.maximum(distance[order], 1.0)
    shares = weights / weights.sum()
    table = table.copy()
    gone = table.loc[code]
    patients = _apportion(int(gone["list_size"]), shares)
    for receiver, share, extra in zip(receivers, shares, patients, strict=True):
        before = int(table.at[receiver, "list_size"])
        table.at[receiver, "list_size"] = before + extra
        _record(log, change, receiver, "list_size", before, before + extra)
        for column in ("weighted_population", "patients_65_plus"):
            old = table.at[receiver, column]
            new = old + share * gone[column]
            table.at[receiver, column] = round(float(new), 2) if not pd.isna(new) else np.nan
            _record(log, change, receiver, column, old, table.at[receiver, column])
    _record(log, change, code, "closed", code, ";".join(receivers))
    return table.drop(index=[code])


def _apportion(total: int, shares: np.ndarray) -> list[int]:
    """Whole patients in proportion to ``shares`` (largest remainder, ties to the first)."""
    exact = total * shares
    whole = np.floor(exact).astype(int)
    rest = total - int(whole.sum())
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in order[:rest]:
        whole[i] += 1
    return [int(v) for v in whole]


def _grow(table: pd.DataFrame, change: ChangeSpec, places: Any, log: list) -> pd.DataFrame:
    factor = 1.0 + change.get("percent") / 100.0
    if change.get("practices") is not None:
        codes = list(change.get("practices"))
        _require(table, codes, change, "practices")
    elif change.get("place") is not None:
        place = change.get("place")
        codes = list(table.index[table["place_id"] == place])
        if not codes:
            known = ", ".join(sorted(map(str, table["place_id"].dropna().unique()))[:20])
            raise _ChangeError(
                f"{change.key}.place",
                f"no practice is in place {place!r}.",
                f"use a place id of the places file ({known}).",
            )
    else:
        area = _polygon(change)
        inside = table.geometry.within(area)
        codes = list(table.index[inside])
        if not codes:
            raise _ChangeError(
                f"{change.key}.polygon",
                "no practice lies inside the polygon.",
                "check the polygon's coordinates (longitude first, WGS84).",
            )
    table = table.copy()
    for code in codes:
        for column in ("list_size", "weighted_population", "patients_65_plus"):
            old = table.at[code, column]
            new = (
                round(old * factor)
                if column == "list_size"
                else (round(float(old) * factor, 2) if not pd.isna(old) else np.nan)
            )
            table.at[code, column] = new
            _record(log, change, code, column, old, new)
    return table


def _polygon(change: ChangeSpec) -> Any:
    value = change.get("polygon")
    if isinstance(value, Path):
        try:
            frame = gpd.read_file(value)
        except Exception as exc:
            raise _ChangeError(
                f"{change.key}.polygon",
                f"cannot read {value} ({exc}).",
                "give a GeoJSON/GeoPackage polygon file.",
            ) from None
        if frame.crs is None:
            frame = frame.set_crs(WGS84)
        return shapely.union_all(frame.to_crs(BNG).geometry.values)
    ring = gpd.GeoSeries([shapely.Polygon(value)], crs=WGS84).to_crs(BNG)
    area = ring.iloc[0]
    if not area.is_valid or area.area == 0:
        raise _ChangeError(
            f"{change.key}.polygon",
            "the polygon is not valid (it crosses itself or has no area).",
            "list the corners in order around it.",
        )
    return area


def _site(change: ChangeSpec | dict[str, Any]) -> Any:
    get = change.get
    if get("lat") is not None:
        return gpd.GeoSeries.from_xy([get("lon")], [get("lat")], crs=WGS84).to_crs(BNG).iloc[0]
    return shapely.Point(get("easting"), get("northing"))


def _place_of(point: Any, places: gpd.GeoDataFrame | None, change: ChangeSpec) -> str:
    if places is None:
        raise _ChangeError(
            f"{change.key}.place_id",
            "places come from a column of the practices table, so the new site needs its place.",
            'add place_id = "..." to the change.',
        )
    within = places[places.geometry.contains(point)]
    if len(within):
        return str(within["place_id"].iloc[0])
    distance = places.geometry.distance(point)
    if float(distance.min()) > 5_000:
        raise _ChangeError(
            change.key,
            "the site is more than 5 km from every place.",
            "check the coordinates (lat about 50-56, lon about -6 to 2).",
        )
    return str(places["place_id"].iloc[int(np.argmin(distance.to_numpy()))])


def _add(table: pd.DataFrame, change: ChangeSpec, places: Any, log: list) -> pd.DataFrame:
    code = change.get("code")
    if code in table.index:
        raise _ChangeError(
            f"{change.key}.code",
            f"practice {code} already exists.",
            "give the new site a code no practice uses (e.g. 'NEW001').",
        )
    point = _site(change)
    lonlat = gpd.GeoSeries([point], crs=BNG).to_crs(WGS84).iloc[0]
    if not (49.8 <= lonlat.y <= 60.95 and -8.75 <= lonlat.x <= 1.8):
        raise _ChangeError(
            change.key, "the site is outside Great Britain.", "check lat/lon (or easting/northing)."
        )
    place = change.get("place_id") or _place_of(point, places, change)
    weighted = change.get("weighted_population")
    if weighted is None:
        # unless given, the weighted population is the list at the place's weighted/registered ratio
        peers = table[(table["place_id"] == place) & table["weighted_population"].notna()]
        registered = float(peers["list_size"].sum())
        weighted = (
            round(
                int(change.get("list_size"))
                * float(peers["weighted_population"].sum())
                / registered,
                2,
            )
            if registered > 0
            else np.nan
        )
    row = {
        "practice_code": code,
        "name": change.get("name") or code,
        "list_size": int(change.get("list_size")),
        "weighted_population": weighted,
        "patients_65_plus": change.get("patients_65_plus", np.nan),
        "current_pcn": change.get("current_pcn"),
        "place_id": place,
        "postcode": change.get("postcode"),
        "lat": round(lonlat.y, 6),
        "lon": round(lonlat.x, 6),
        "source_row": 0,
        "geometry": point,
    }
    extra = gpd.GeoDataFrame([row], geometry="geometry", crs=BNG).set_index(
        "practice_code", drop=False
    )
    _record(log, change, code, "added", None, int(row["list_size"]))
    return pd.concat([table, extra[[c for c in table.columns if c in extra.columns]]])


def _set(table: pd.DataFrame, change: ChangeSpec, places: Any, log: list) -> pd.DataFrame:
    code = change.get("practice")
    _require(table, [code], change, "practice")
    values = dict(change.get("values"))
    table = table.copy()
    if "list_size" in values and values["list_size"] < 0:
        raise _ChangeError(
            f"{change.key}.values.list_size", "must be 0 or more.", "give the registered list."
        )
    if "list_size" in values and "weighted_population" not in values:
        # the weighted population follows the list in proportion unless given
        old_list, old_weighted = table.at[code, "list_size"], table.at[code, "weighted_population"]
        if not pd.isna(old_weighted) and old_list and old_list > 0:
            values["weighted_population"] = round(
                float(old_weighted) * values["list_size"] / float(old_list), 2
            )
    for name, value in values.items():
        if name in {"lat", "lon"}:
            continue
        _record(log, change, code, name, table.at[code, name], value)
        table.at[code, name] = value
    if "lat" in values or "lon" in values:
        lat = values.get("lat", table.at[code, "lat"])
        lon = values.get("lon", table.at[code, "lon"])
        point = _site({"lat": lat, "lon": lon})
        _record(
            log,
            change,
            code,
            "lat/lon",
            f"{table.at[code, 'lat']},{table.at[code, 'lon']}",
            f"{lat},{lon}",
        )
        table.at[code, "lat"], table.at[code, "lon"] = lat, lon
        table.loc[code, "geometry"] = point
        if "place_id" not in values and places is not None:
            table.at[code, "place_id"] = _place_of(point, places, change)
    return table


_APPLY = {"merge": _merge, "close": _close, "grow": _grow, "add": _add, "set": _set}
