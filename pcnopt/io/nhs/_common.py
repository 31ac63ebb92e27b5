"""Shared by the NHS file readers: file checks, encodings, CSV reading and column helpers."""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from pcnopt.errors import InputError, Problem

_POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")

# Header signatures of the published files, to say what a wrongly passed file looks like.
_SIGNATURES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"number_of_patients"}), "a GP list-size file (gp-reg-pat-prac-*.csv)"),
    (frozenset({"pcn_code", "practice_code"}), "a practice-to-PCN map (gp-reg-pat-prac-map.csv)"),
    (
        frozenset({"average number of weighted patients"}),
        "an NHS Payments to General Practice file",
    ),
    (frozenset({"pcds"}), "an ONS postcode directory (NSPL/ONSPD)"),
    (frozenset({"pcd"}), "an ONS postcode directory (NSPL/ONSPD)"),
    (frozenset({"postcode", "easting", "northing"}), "an OS Code-Point Open postcode file"),
    (frozenset({"partner organisation code"}), "an ePCN core-partner sheet"),
)


def _file_problem(path: Path, what: str, how: str, *, folder_ok: bool = False) -> Problem | None:
    """Return the problem with a file that is missing, a folder, or empty; else None."""
    if not path.exists():
        return Problem(
            file=str(path),
            message=f"file not found; expected {what}.",
            fix=f"Check the path. {how}",
        )
    if path.is_dir():
        if folder_ok:
            return None
        return Problem(
            file=str(path),
            message=f"is a folder; expected {what}.",
            fix=f"Give the file itself, not its folder. {how}",
        )
    if path.stat().st_size == 0:
        return Problem(
            file=str(path),
            message=f"is empty; expected {what}.",
            fix=f"Download the file again. {how}",
        )
    return None


def _check_exists(path: Path, what: str, how: str) -> None:
    problem = _file_problem(path, what, how)
    if problem is not None:
        raise InputError(problem)


def _raw_bytes(path: Path, n: int = 65536) -> bytes:
    """Return the first ``n`` bytes of the file's content, decompressing gzip or zip."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as handle:
            return handle.read(n)
    if magic == b"PK\x03\x04":
        with zipfile.ZipFile(path) as archive:
            names = [i for i in archive.namelist() if not i.endswith("/")]
            if len(names) == 1 and not names[0].lower().endswith(".xml"):
                with archive.open(names[0]) as handle:
                    return handle.read(n)
        return magic
    with path.open("rb") as handle:
        return handle.read(n)


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _is_workbook(path: Path) -> bool:
    if not _is_zip(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.startswith("xl/") for n in archive.namelist())


def _encoding(path: Path, what: str, how: str) -> str:
    """Return the encoding to read a text file with, or raise if it is not a text file.

    UTF-8 (with or without a byte-order mark) is tried first; files that are not UTF-8 are
    read as Windows-1252 (the NHS Payments files are), and failing that latin-1.
    """
    head = _raw_bytes(path)
    if _is_workbook(path):
        raise InputError(
            Problem(
                file=str(path),
                message=f"is an Excel workbook; expected {what}.",
                fix=f"Give the CSV file as published. {how}",
            )
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise InputError(
            Problem(
                file=str(path),
                message=f"is not a text CSV file (binary, or saved as UTF-16); expected {what}.",
                fix=f"Give the CSV as published, or re-save it as 'CSV UTF-8'. {how}",
            )
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as err:
            if encoding == "utf-8-sig" and err.start >= len(head) - 3:
                return encoding  # a character cut at the end of the sample
            continue
        return encoding
    return "latin-1"


def _compression(path: Path) -> str | None:
    """Return the compression pandas should use, from the file's first bytes."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic == b"PK\x03\x04":
        return "zip"
    return None


def _first_line(path: Path, encoding: str) -> list[str]:
    text = _raw_bytes(path).decode(encoding, errors="replace")
    line = text.splitlines()[0] if text.splitlines() else ""
    return [c.strip().strip('"').strip() for c in line.split(",")]


def _norm_header(name: object) -> str:
    return " ".join(str(name).split()).lower()


def _looks_like(headers: Iterable[str]) -> str:
    """Return ' It looks like <file>.' when the headers match a known file, else ''."""
    normed = {_norm_header(h) for h in headers}
    for signature, description in _SIGNATURES:
        if signature <= normed:
            return f" It looks like {description}."
    return ""


def _read_text_csv(
    path: Path, *, encoding: str, what: str, how: str, header: int | None = 0
) -> pd.DataFrame:
    """Read a small CSV (plain, gzip or a one-file zip) as strings, blank cells as ``""``."""
    options: dict[str, object] = {
        "header": header,
        "dtype": str,
        "keep_default_na": False,
        "compression": _compression(path),
    }
    try:
        try:
            frame = pd.read_csv(path, encoding=encoding, **options)
        except UnicodeDecodeError:
            # The sample was UTF-8 but a later row is not: a Windows-1252 or latin-1 file.
            try:
                frame = pd.read_csv(path, encoding="cp1252", **options)
            except UnicodeDecodeError:
                frame = pd.read_csv(path, encoding="latin-1", **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise InputError(
            Problem(
                file=str(path),
                message=f"cannot be read as CSV ({err}); expected {what}.",
                fix=how,
            )
        ) from err
    if header is not None:
        frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_nhs_csv(path: Path, what: str, how: str) -> pd.DataFrame:
    """Read an NHS CSV with a header row: the file checked to be there and to be text, then read
    as strings with blank cells as ``""`` (every problem named with ``what`` and ``how``)."""
    _check_exists(path, what, how)
    encoding = _encoding(path, what, how)
    return _read_text_csv(path, encoding=encoding, what=what, how=how)


def _column(frame: pd.DataFrame, *names: str) -> str | None:
    """Return the frame's column matching any of ``names`` (case and spacing ignored)."""
    lookup = {_norm_header(c): c for c in frame.columns}
    for name in names:
        if _norm_header(name) in lookup:
            return str(lookup[_norm_header(name)])
    return None


def _clean_codes(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.upper()


def _to_number(values: pd.Series) -> pd.Series:
    """Parse numbers written with thousands separators or spaces; blanks become missing."""
    text = values.astype(str).str.replace(r"[,\s\u00a0]", "", regex=True)
    return pd.to_numeric(text.where(text != "", None), errors="coerce")


def _bad_number_rows(values: pd.Series, numbers: pd.Series) -> tuple[int, ...]:
    """Spreadsheet row numbers (header = row 1) whose non-blank cell is not a number."""
    blank = values.astype(str).str.strip() == ""
    bad = numbers.isna() & ~blank
    return tuple(int(i) + 2 for i in np.flatnonzero(bad.to_numpy()))


def normalise_postcode(values: pd.Series) -> pd.Series:
    """Return postcodes upper-case with all spaces removed (``"ts18 1hu"`` -> ``"TS181HU"``)."""
    return values.astype(str).str.replace(r"\s+", "", regex=True).str.upper()


def _display_postcode(normalised: pd.Series) -> pd.Series:
    """Return ``"TS181HU"`` as ``"TS18 1HU"``; malformed values are returned unchanged."""
    ok = normalised.str.fullmatch(_POSTCODE_RE.pattern)
    spaced = normalised.str[:-3] + " " + normalised.str[-3:]
    return spaced.where(ok.fillna(False).astype(bool), normalised)
