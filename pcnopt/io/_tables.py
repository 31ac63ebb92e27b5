"""Low-level table reading shared by the readers: encodings, delimiters, numbers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from pcnopt._errors import InputError, Problem
from pcnopt.io.text import restore_cell

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
PARQUET_SUFFIXES = {".parquet", ".pq", ".geoparquet"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


def check_readable(path: Path) -> None:
    """Raise :class:`InputError` if ``path`` is missing, a folder or empty."""
    if not path.exists():
        raise InputError(Problem(str(path), "file not found.", "check the path and spelling."))
    if path.is_dir():
        raise InputError(Problem(str(path), "is a folder, not a file.", "give the file inside it."))
    if path.stat().st_size == 0:
        raise InputError(Problem(str(path), "the file is empty.", "export the table again."))


def decode_text(path: Path) -> str:
    """Return the text of ``path``, accepting UTF-8 (with or without BOM), UTF-16 and Windows-1252.

    Raises
    ------
    InputError
        When the file is binary or in no encoding pcnopt can read.
    """
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in raw[:4096]:
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise InputError(
        Problem(
            str(path),
            "the file is not readable text (it may be a spreadsheet or a binary file, "
            "or use an unusual encoding).",
            "save it as 'CSV UTF-8 (comma delimited)' from Excel, or give a GeoJSON/GeoPackage/"
            "Parquet file with a matching extension.",
        )
    )


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read a delimited text file into a frame of strings (no type guessing).

    The delimiter (comma, semicolon, tab or pipe) is sniffed from the header line.
    """
    text = decode_text(path).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(Problem(str(path), "the file has no content.", "export the table again."))
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        # pandas counts "line N" from 1 and "row N" (an unclosed quote) from 0
        match = re.search(r"\b(line|row) (\d+)", str(exc))
        rows = (int(match.group(2)) + (match.group(1) == "row"),) if match else ()
        raise InputError(
            Problem(
                str(path),
                f"the table cannot be parsed ({str(exc).strip()}).",
                "check that every row has the same number of fields and that text containing the "
                "delimiter is quoted.",
                rows=rows,
            )
        ) from None
    frame.columns = [str(restore_cell(str(c))).strip() for c in frame.columns]
    # a cell pcnopt quoted against formula injection (see pcnopt.io.text) reads as it was
    frame = frame.map(restore_cell)
    # pandas pads a row with fewer fields than the header with blanks: find such rows
    records = (r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r)
    next(records, None)
    short = [k + 2 for k, r in enumerate(records) if len(r) < len(frame.columns)]
    if short:
        others = sorted({d for d in (",", ";", "\t", "|") if d != delimiter and d in text})
        hint = (
            f" or the rows are separated by {' or '.join(repr(d) for d in others)} while the "
            f"header uses {delimiter!r}"
            if others
            else ""
        )
        raise InputError(
            Problem(
                str(path),
                f"the row has fewer fields than the header ({len(frame.columns)}): the file may "
                f"be cut short{hint}.",
                "export the whole table again, with one delimiter throughout (comma for CSV).",
                rows=tuple(short),
            )
        )
    return frame


_NUMBER_CLEAN = re.compile(r"[,\s£_]")


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse numbers written as people write them.

    Returns
    -------
    numbers, bad
        Floats (NaN where blank or bad) and a boolean mask of values that were present
        but not (finite) numbers. Thousands separators, spaces and pound signs are accepted.
    """
    text = values.astype("string").fillna("").str.strip()
    cleaned = text.str.replace(_NUMBER_CLEAN, "", regex=True)
    numbers = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce").astype(float)
    # 'inf', '1e400' and the like are not numbers anyone can count with
    numbers = numbers.where(~numbers.isin([float("inf"), float("-inf")]))
    bad = (cleaned != "") & numbers.isna()
    return numbers, bad.fillna(False).astype(bool)
