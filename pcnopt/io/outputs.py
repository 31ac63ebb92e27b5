"""Write a run's output folder atomically.

Files are written into a temporary folder beside the destination and moved into place only
when all of them are complete, so a failed or killed run never leaves a half set of files that
looks complete, and bad input leaves ``--out`` untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt._errors import InputError, Problem

MARKER = "summary.json"


def check_output_folder(out: str | Path) -> Path:
    """Check that ``out`` can receive a run's outputs (before any work is done).

    An existing folder is replaced only if it is empty or holds a previous pcnopt run.
    """
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise InputError(
                Problem(str(out), "exists and is not a folder.", "choose a folder name for --out.")
            )
        contents = list(out.iterdir())
        if contents and not (out / MARKER).exists():
            raise InputError(
                Problem(
                    str(out),
                    "the folder exists and holds files that are not a pcnopt run; pcnopt will not "
                    "overwrite them.",
                    "choose a new or empty folder for --out.",
                )
            )
    return out


def write_folder(out: str | Path, writers: Mapping[str, Callable[[Path], None]]) -> Path:
    """Write every file into a temporary folder, then move it into place as ``out``.

    Parameters
    ----------
    out
        Destination folder (replaced if it holds a previous run).
    writers
        File name → function writing that file to the path it is given.
    """
    out = check_output_folder(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves no folder behind
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / "run")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    """Writer for a CSV file (UTF-8, LF line ends, no index)."""
    return lambda path: frame.to_csv(path, index=False, lineterminator="\n")


def geojson_writer(frame: gpd.GeoDataFrame) -> Callable[[Path], None]:
    """Writer for a GeoJSON file in WGS84 (RFC 7946), coordinates to 6 decimals."""

    def write(path: Path) -> None:
        data = json.loads(frame.to_crs("EPSG:4326").to_json(drop_id=True, to_wgs84=False))
        path.write_text(json.dumps(_round(data), ensure_ascii=False), encoding="utf-8")

    return write


def json_writer(data: Mapping[str, Any]) -> Callable[[Path], None]:
    """Writer for a pretty-printed JSON file."""
    return lambda path: path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n", encoding="utf-8"
    )


def text_writer(text: str) -> Callable[[Path], None]:
    """Writer for a text file."""
    return lambda path: path.write_text(text, encoding="utf-8")


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a practices table atomically as CSV, GeoJSON, GeoPackage or Parquet (by extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".geojson", ".gpkg", ".parquet"}:
        raise InputError(
            Problem(
                str(path),
                f"cannot write a '{suffix}' file.",
                "use .csv, .geojson, .gpkg or .parquet.",
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".csv":
            table = frame.drop(columns="geometry") if "geometry" in frame else frame
            table.to_csv(tmp, index=False, lineterminator="\n")
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            if not isinstance(frame, gpd.GeoDataFrame):
                frame = gpd.GeoDataFrame(
                    frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
                )
            tmp.unlink()
            frame.to_file(tmp, driver="GeoJSON" if suffix == ".geojson" else "GPKG")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
