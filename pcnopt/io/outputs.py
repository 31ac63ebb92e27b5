"""Write a run's output folder atomically.

Files are written into a temporary folder beside the destination and moved into place only
when all of them are complete, so a failed or killed run never leaves a half set of files that
looks complete, and bad input leaves ``--out`` untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt._errors import InputError, Problem
from pcnopt.io.text import neutralise_cell

MARKER = "summary.json"
MANIFEST = "pcnopt-manifest.json"
_TOOL = "pcnopt"


def check_output_folder(out: str | Path) -> Path:
    """Check that ``out`` can receive a run's outputs (before any work is done).

    An existing folder is replaced only if it is empty or is a pcnopt output folder exactly as
    pcnopt wrote it: its manifest (``pcnopt-manifest.json``) names pcnopt and every file in the
    folder, and every file still has the size and SHA-256 the manifest gives. Anything else —
    a folder that merely holds a ``summary.json``, a run with a file added, removed or edited —
    is the user's, and is never replaced.
    """
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise InputError(
                Problem(
                    str(out),
                    "exists and is not a folder.",
                    "choose a new folder name for --out.",
                )
            )
        contents = list(out.iterdir())
        if contents:
            why = _not_ours(out, contents)
            if why:
                raise InputError(
                    Problem(
                        str(out),
                        f"the folder exists and {why}; pcnopt replaces only a folder it wrote "
                        "itself, unchanged, and will not touch this one.",
                        "choose a new or empty folder for --out (or move this one away yourself).",
                    )
                )
    return out


def check_apart_from_inputs(out: str | Path, inputs: Sequence[str | Path], *, option: str) -> None:
    """Refuse an output folder that is one of the inputs, inside one, or holds one.

    Replacing such a folder would delete an input (``compare A B --out A``).
    """
    target = Path(out).resolve()
    for given in inputs:
        source = Path(given).resolve()
        if target == source or source in target.parents or target in source.parents:
            raise InputError(
                Problem(
                    str(out),
                    f"is {'one of' if target == source else 'inside or around one of'} the "
                    f"folders this command reads ({given}); writing there would replace it.",
                    f"choose a separate folder for {option}.",
                )
            )


def is_pcnopt_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is an output folder pcnopt wrote, unchanged since (see the manifest)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return False
    return _not_ours(folder, list(folder.iterdir())) is None


def _not_ours(folder: Path, contents: list[Path]) -> str | None:
    """Why ``folder`` is not an unchanged pcnopt output folder, or None if it is."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return "holds files that pcnopt did not write (it has no pcnopt manifest)"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = data["files"]
        ok = data.get("tool") == _TOOL and isinstance(files, dict)
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        return f"its {MANIFEST} is not one pcnopt wrote"
    present = {p.name for p in contents} - {MANIFEST}
    extra = sorted(present - set(files))
    if extra:
        return "holds files pcnopt did not write: " + ", ".join(extra[:5])
    missing = sorted(set(files) - present)
    if missing:
        return "is missing files pcnopt wrote: " + ", ".join(missing[:5])
    for name, entry in files.items():
        path = folder / name
        if path.is_symlink() or not path.is_file():
            return f"its {name} is not the file pcnopt wrote"
        try:
            same = path.stat().st_size == entry["bytes"] and _sha256(path) == entry["sha256"]
        except (OSError, KeyError, TypeError):
            same = False
        if not same:
            return f"its {name} has been changed since pcnopt wrote it"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(folder: Path, *, command: str) -> None:
    files = {
        p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(folder.iterdir())
        if p.name != MANIFEST
    }
    text = json.dumps({"tool": _TOOL, "command": command, "files": files}, indent=2)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def write_folder(
    out: str | Path, writers: Mapping[str, Callable[[Path], None]], *, command: str
) -> Path:
    """Write every file into a temporary folder, then move it into place as ``out``.

    Parameters
    ----------
    out
        Destination folder (replaced only if it is an unchanged pcnopt output folder, see
        :func:`check_output_folder`).
    writers
        File name → function writing that file to the path it is given.
    command
        The pcnopt command writing the folder, recorded in its manifest.
    """
    out = check_output_folder(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves no folder behind
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        _write_manifest(tmp, command=command)
        if out.exists():
            check_output_folder(out)  # still ours: nothing changed it during the run
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


def _csv_cell(value: object) -> object:
    # a bare carriage return is not quoted by the csv module when lines end in LF, and
    # spreadsheets read it as a new row: line breaks in text are written as LF (quoted)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return neutralise_cell(value)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names no spreadsheet would evaluate.

    Numeric columns are untouched (a negative number is a number, not a formula). Carriage
    returns in text become line feeds, which the CSV writer quotes (a bare CR starts a row).
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        out[column] = values.map(_csv_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV (UTF-8, LF line ends, no index), formulas neutralised.

    Every CSV pcnopt writes goes through here (see :func:`neutralise_cell`).
    """
    neutralise_formulas(frame).to_csv(path, index=False, lineterminator="\n")


def csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    """Writer for a CSV file (UTF-8, LF line ends, no index, formulas neutralised)."""
    return lambda path: write_csv(frame, path)


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
            write_csv(table, tmp)
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
