"""Read a postcode file (OS Code-Point Open, or ONS NSPL/ONSPD; plain, gzip, zip or a folder):
the position of each wanted postcode and the centroid of its sector, in WGS84.
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, cast

import numpy as np
import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io.nhs._common import (
    _POSTCODE_RE,
    _file_problem,
    _is_workbook,
    _is_zip,
    _looks_like,
    _norm_header,
)

__all__ = ["PC_HOW", "PC_WHAT", "read_postcodes"]

PC_WHAT = (
    "a postcode file: OS Code-Point Open (no header; postcode, quality, easting, northing, ...), "
    "Code-Point Open with a header and lat/lon columns, or ONS NSPL/ONSPD (pcd/pcds, lat, long)"
)
PC_HOW = (
    "Give OS Code-Point Open (the published codepo_gb.zip, its Data/CSV folder, or one CSV) or "
    "the ONS Postcode Directory CSV, unedited (.csv, .csv.gz or .zip), as --postcodes."
)


@dataclass(frozen=True)
class _PostcodeLayout:
    """How to read one postcode CSV: which columns hold the postcode and its position."""

    kind: str  # "latlon" (WGS84 lat, lon) or "bng" (EPSG:27700 easting, northing)
    header: int | None
    usecols: tuple[str, str, str] | tuple[int, int, int]
    encoding: str


def _open_binary(path: Path) -> IO[bytes]:
    with path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    if gzipped:
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _open_member(path: Path, member: str) -> IO[bytes]:
    # The member keeps its own reference to the archive's file after the ZipFile is closed.
    with zipfile.ZipFile(path) as archive:
        return archive.open(member)


def _postcode_sources(path: Path) -> list[tuple[str, Callable[[], IO[bytes]]]]:
    """Return (name, opener) for every CSV in a postcode file, folder or zip archive."""
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz"))
        )
        return [(str(p), partial(_open_binary, p)) for p in found]
    if _is_zip(path):
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if n.lower().endswith(".csv"))
        return [(f"{path}!{m}", partial(_open_member, path, m)) for m in members]
    return [(str(path), partial(_open_binary, path))]


def _postcode_layout(head: bytes) -> tuple[_PostcodeLayout | None, list[str]]:
    """Detect a postcode CSV's layout from its first bytes; return it (or None) and line one."""
    if b"\x00" in head:
        return None, []
    try:
        text, encoding = head.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        text, encoding = head.decode("latin-1"), "latin-1"
    lines = text.splitlines()
    first = [c.strip().strip('"').strip() for c in (lines[0] if lines else "").split(",")]
    lower = [_norm_header(c) for c in first]

    def has(*names: str) -> str | None:
        return next((first[lower.index(n)] for n in names if n in lower), None)

    pc = has("pcds", "pcd", "pcd7", "pcd8", "postcode")
    lat, lon = has("lat", "latitude"), has("long", "lon", "longitude", "lng")
    east = has("easting", "oseast1m", "eastings")
    north = has("northing", "osnrth1m", "northings")
    if pc is not None and lat is not None and lon is not None:
        return _PostcodeLayout("latlon", 0, (pc, lat, lon), encoding), first
    if pc is not None and east is not None and north is not None:
        return _PostcodeLayout("bng", 0, (pc, east, north), encoding), first
    if (
        len(first) >= 4
        and _POSTCODE_RE.fullmatch(first[0].replace(" ", "").upper())
        and first[2].lstrip("-").isdigit()
        and first[3].lstrip("-").isdigit()
    ):
        return _PostcodeLayout("bng", None, (0, 2, 3), encoding), first
    return None, first


def _read_postcode_table(
    name: str, opener: Callable[[], IO[bytes]], layout: _PostcodeLayout
) -> pd.DataFrame:
    """Read the postcode and position columns of one postcode CSV as ``pc``, ``a``, ``b``."""
    pc_col = layout.usecols[0]
    try:
        with opener() as handle:
            frame = pd.read_csv(
                handle,
                usecols=list(layout.usecols),
                header=layout.header,
                encoding=layout.encoding,
                dtype={pc_col: str},
                engine="pyarrow" if layout.header == 0 else "c",
            )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise InputError(
            Problem(file=name, message=f"cannot be read as a postcode file ({err}).", fix=PC_HOW)
        ) from err
    frame = frame[list(layout.usecols)]
    frame.columns = ["pc", "a", "b"]
    return frame


def read_postcodes(path: Path, wanted: pd.Series) -> pd.DataFrame:
    """Return lat/lon for the ``wanted`` postcodes (normalised) and their sectors' centroids.

    Returns a frame indexed by normalised postcode (units) and by ``"sector:<sector>"``
    (sector centroids, the mean of the sector's unit postcodes), with ``lat`` and ``lon``.
    Only the postcode and position columns are read, and only rows in a wanted sector kept.
    """
    problem = _file_problem(path, PC_WHAT, PC_HOW, folder_ok=True)
    if problem is not None:
        raise InputError(problem)
    if path.is_file() and _is_workbook(path):
        raise InputError(
            Problem(
                file=str(path), message=f"is an Excel workbook; expected {PC_WHAT}.", fix=PC_HOW
            )
        )
    sources = _postcode_sources(path)
    wanted_units = set(wanted)
    wanted_sectors = {w[:-2] for w in wanted_units}
    parts: list[pd.DataFrame] = []
    unrecognised: list[tuple[str, list[str]]] = []
    for name, opener in sources:
        with opener() as handle:
            head = handle.read(65536)
        layout, first = _postcode_layout(head)
        if layout is None:
            unrecognised.append((name, first))
            continue
        frame = _read_postcode_table(name, opener, layout)
        key = frame["pc"].str.replace(" ", "", regex=False).str.upper()
        sector = key.str[:-2]
        keep = sector.isin(wanted_sectors).to_numpy()
        frame = pd.DataFrame(
            {
                "pc": key.to_numpy()[keep],
                "sector": sector.to_numpy()[keep],
                "a": pd.to_numeric(frame["a"], errors="coerce").to_numpy(float)[keep],
                "b": pd.to_numeric(frame["b"], errors="coerce").to_numpy(float)[keep],
            }
        )
        if layout.kind == "bng":
            # Code-Point Open writes 0, 0 for postcodes with no grid reference.
            frame = frame[frame["a"].notna() & frame["b"].notna() & (frame["a"] + frame["b"] > 0)]
            lon, lat = _bng_to_wgs84(frame["a"].to_numpy(), frame["b"].to_numpy())
            frame = frame.assign(lat=lat, lon=lon)
        else:
            # ONSPD/NSPL write 99.999999 / 0.000000 for postcodes with no grid reference.
            frame = frame.assign(lat=frame["a"], lon=frame["b"])
            frame = frame[frame["lat"].between(-90, 90) & frame["lon"].between(-180, 180)]
        parts.append(frame[["pc", "sector", "lat", "lon"]])
    if not parts:
        name, first = unrecognised[0] if unrecognised else (str(path), [])
        what = "has no CSV files" if not sources else "is not a recognised postcode file"
        raise InputError(
            Problem(
                file=name,
                message=f"{what}; expected {PC_WHAT}." + _looks_like(first),
                fix=PC_HOW,
            )
        )
    points = pd.concat(parts, ignore_index=True).drop_duplicates("pc")
    # ONSPD keeps terminated postcodes too; the first row of a repeated postcode wins.
    units = points[points["pc"].isin(wanted_units)].set_index("pc")[["lat", "lon"]]
    sectors = points.groupby("sector")[["lat", "lon"]].mean()
    sectors.index = "sector:" + sectors.index.astype(str)
    return pd.concat([units, sectors])


def _bng_to_wgs84(easting: np.ndarray, northing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    transformer = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(easting, northing)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
