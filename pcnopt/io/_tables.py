"""Low-level table reading shared by the readers: encodings, delimiters, numbers."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io.text import restore_cell

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
PARQUET_SUFFIXES = {".parquet", ".pq", ".geoparquet"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}

#: Largest input pcnopt reads, in bytes: far past any real file of its kind (England's
#: practices table is about 2 MB, epraccur 3 MB, ePCN.xlsx 1 MB; Code-Point Open and the ONS
#: postcode directory are the only large ones), and small enough to fit in memory.
MAX_TABLE_BYTES = 100_000_000
MAX_POSTCODE_BYTES = 4_000_000_000
#: Largest total a zip archive (an .xlsx is one) may expand to.
MAX_UNZIPPED_BYTES = 500_000_000


def check_readable(path: Path, *, limit: int = MAX_TABLE_BYTES) -> None:
    """Raise :class:`InputError` if ``path`` is missing, a folder, empty or far too large."""
    if not path.exists():
        raise InputError(Problem(str(path), "file not found.", "check the path and spelling."))
    if path.is_dir():
        raise InputError(Problem(str(path), "is a folder, not a file.", "give the file inside it."))
    if path.stat().st_size == 0:
        raise InputError(Problem(str(path), "the file is empty.", "export the table again."))
    check_size(path, limit=limit)


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
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        records = [r for r in reader if r][1:]
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise InputError(
            Problem(
                str(path),
                f"the table cannot be parsed ({exc}): a field runs on for too long, often an "
                "unclosed quote.",
                "check the quotes in that row, or export the table again.",
                rows=(reader.line_num,),
            )
        ) from None
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


def check_size(path: Path, *, limit: int = MAX_TABLE_BYTES, what: str = "table") -> None:
    """Refuse a file (or a zip archive's contents) far larger than any real one of its kind.

    Reading it would take minutes and gigabytes before any check; a zip (an ``.xlsx``) that
    expands far past its size is refused from its directory, before anything is inflated.
    """
    import zipfile

    if not path.is_file():
        return
    size = path.stat().st_size
    if size > limit:
        raise InputError(
            Problem(
                str(path),
                f"the file is {size / 1e6:,.0f} MB; no real {what} is larger than "
                f"{limit / 1e6:,.0f} MB, so it is not read.",
                "check that this is the right file (not a database export or an archive of "
                "many files), or give only the rows and columns pcnopt needs.",
            )
        )
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                unzipped = sum(max(i.file_size, 0) for i in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return  # the reader reports a damaged archive in its own words
        if unzipped > MAX_UNZIPPED_BYTES:
            raise InputError(
                Problem(
                    str(path),
                    f"the archive expands to {unzipped / 1e6:,.0f} MB; no real {what} is larger "
                    f"than {MAX_UNZIPPED_BYTES / 1e6:,.0f} MB, so it is not opened.",
                    "check that this is the right file, as published, unedited.",
                )
            )


@contextlib.contextmanager
def reading(path: Path, *, what: str, fix: str) -> Iterator[None]:
    """Turn any failure of a reader on a damaged or cut-short file into one clear message.

    A truncated ``.xlsx`` or ``.gz``, a cut sheet, a bad shared-string index, a field longer
    than the CSV module allows: whatever the library raises, the user is told which file,
    what pcnopt expected, and how to get a good copy, with no traceback.
    """
    try:
        yield
    except InputError:
        raise
    except MemoryError:
        raise InputError(
            Problem(str(path), f"is too large to read in memory; expected {what}.", fix)
        ) from None
    except Exception as exc:  # every library raises its own types for a damaged file
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise InputError(
            Problem(
                str(path),
                f"cannot be read: the file is damaged or cut short ({type(exc).__name__}"
                f"{': ' + detail if detail else ''}); expected {what}.",
                fix,
            )
        ) from None
