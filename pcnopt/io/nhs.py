"""Read the NHS, ONS and OS files exactly as published and join them into one practices table.

The files and the columns used from each:

==================  ===============================================  ===========================
argument            file (publisher)                                 used for
==================  ===============================================  ===========================
``epraccur``        ``epraccur.csv`` (NHS Digital ODS; no header,    code, name, postcode, status,
                    27 columns)                                      commissioner, setting
``list_sizes``      ``gp-reg-pat-prac-all.csv`` (NHS Digital,        ``CODE``,
                    Patients Registered at a GP Practice)            ``NUMBER_OF_PATIENTS``
``postcodes``       OS Code-Point Open (raw: no header, easting and  postcode -> lat, lon
                    northing; or with ``lat``/``lon`` columns), or
                    ONS NSPL / ONSPD (``pcd``/``pcds``, ``lat``,
                    ``long``); plain, ``.gz`` or single-file ``.zip``
``epcn``            ``ePCN.xlsx`` (NHS Digital ODS), any vintage     current practice -> PCN
``payments``        NHS Payments to General Practice CSV (latin-1)   weighted (Carr-Hill)
                                                                     population
``pcn_map``         ``gp-reg-pat-prac-map.csv`` (NHS Digital)        practice -> PCN (fallback)
==================  ===============================================  ===========================

Every practice that is active (status ``A``) and a GP practice (prescribing setting ``4``) in
``epraccur`` is either kept or listed in the :class:`JoinReport` with the reason it was left out.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pandas as pd

from pcnopt._errors import InputError, Problem
from pcnopt.io._tables import MAX_POSTCODE_BYTES, MAX_TABLE_BYTES, check_size, reading

__all__ = ["JoinReport", "NhsJoin", "practices_from_nhs_files"]

# epraccur.csv columns (0-based) as published by NHS Digital ODS.
_EP_CODE, _EP_NAME, _EP_POSTCODE, _EP_STATUS, _EP_COMMISSIONER, _EP_SETTING = 0, 1, 9, 12, 14, 25
#: address lines 2 to 5 (line 1 is the premises); the post town is the last that is no county
_EP_ADDRESS = (5, 6, 7, 8)

#: Counties as epraccur's address lines give them (postal, ceremonial and former counties, and
#: the Welsh ones of practices near the border): a line that is one of these is not the town.
COUNTIES = frozenset(
    {
        "AVON", "BEDFORDSHIRE", "BERKSHIRE", "BUCKINGHAMSHIRE", "CAMBRIDGESHIRE", "CHESHIRE",
        "CLEVELAND", "CORNWALL", "CUMBRIA", "DERBYSHIRE", "DEVON", "DORSET", "ESSEX",
        "GLOUCESTERSHIRE", "HAMPSHIRE", "HEREFORDSHIRE", "HERTFORDSHIRE", "KENT", "LANCASHIRE",
        "LEICESTERSHIRE", "LINCOLNSHIRE", "MERSEYSIDE", "MIDDLESEX", "NORFOLK",
        "NORTHAMPTONSHIRE", "NORTHUMBERLAND", "NOTTINGHAMSHIRE", "OXFORDSHIRE", "RUTLAND",
        "SHROPSHIRE", "SOMERSET", "STAFFORDSHIRE", "SUFFOLK", "SURREY", "WARWICKSHIRE",
        "WILTSHIRE", "WORCESTERSHIRE", "HUMBERSIDE", "CO DURHAM", "COUNTY DURHAM",
        "EAST SUSSEX", "WEST SUSSEX", "ISLE OF WIGHT", "NORTH YORKSHIRE", "SOUTH YORKSHIRE",
        "WEST YORKSHIRE", "EAST YORKSHIRE", "NORTH HUMBERSIDE", "SOUTH HUMBERSIDE",
        "TYNE AND WEAR", "TYNE & WEAR", "WEST MIDLANDS", "GREATER MANCHESTER", "GREATER LONDON",
        "EAST RIDING OF YORKSHIRE", "NORTH LINCOLNSHIRE", "NORTH EAST LINCOLNSHIRE",
        "MID GLAMORGAN", "WEST GLAMORGAN", "SOUTH GLAMORGAN", "GWENT", "DYFED", "POWYS",
        "GWYNEDD", "CLWYD", "PEMBROKESHIRE", "CARMARTHENSHIRE", "CEREDIGION", "MONMOUTHSHIRE",
        "DENBIGHSHIRE", "FLINTSHIRE", "ANGLESEY", "VALE OF GLAMORGAN",
        # the abbreviations the Post Office used and addresses still carry
        "BEDS", "BERKS", "BUCKS", "CAMBS", "DERBYS", "GLOS", "HANTS", "HERTS", "LANCS",
        "LEICS", "LINCS", "MIDDX", "NORTHANTS", "NOTTS", "OXON", "SALOP", "STAFFS", "WARKS",
        "WILTS", "WORCS", "N YORKS", "S YORKS", "W YORKS", "N HUMBERSIDE", "S HUMBERSIDE",
        "E SUSSEX", "W SUSSEX", "W MIDLANDS", "GTR MANCHESTER",
    }
)  # fmt: skip

_SMALL_WORDS = frozenset({"on", "upon", "under", "in", "by", "le", "the", "and", "of", "de"})


#: the last word of a street (or of premises) in an address: such a part is not a locality
_STREET = re.compile(
    r"\b(STREET|ST|ROAD|RD|LANE|LN|AVENUE|AVE|DRIVE|DR|CLOSE|WAY|GARDENS|GDNS|SQUARE|SQ|"
    r"PLACE|PL|CRESCENT|CRES|TERRACE|TCE|GROVE|ROW|WALK|PARADE|COURT|CT|YARD|MEWS|VALE|"
    r"CENTRE|CTR|CTRE|SURGERY|SURG|HOUSE|PRACTICE|HEALTH|MEDICAL|CLINIC|HOSPITAL|UNIT|"
    r"BUILDING|FLOOR|SUITE|PRECINCT|ESTATE|BROADWAY|HIGHWAY|BYPASS)\.?$"
)


def _title(text: str) -> str:
    words = re.split(r"([ .-])", text.lower())
    return "".join(
        w if (w in _SMALL_WORDS and k > 0) or w in " .-" else w[:1].upper() + w[1:]
        for k, w in enumerate(words)
    )


def _address_parts(lines: Sequence[str | None]) -> list[str]:
    """The address's comma-separated parts, ``NR. HINCKLEY`` ("near") as ``HINCKLEY``."""
    parts = (
        part.strip()
        for line in lines
        if isinstance(line, str)
        for part in line.split(",")
        if part.strip()
    )
    return [re.sub(r"^NR\.?\s*(?=\S)", "", p, flags=re.IGNORECASE) for p in parts]


def locality(lines: Sequence[str | None]) -> str:
    """The district of a town an address names before its post town, title-cased.

    ``["REGENT STREET, LONG EATON", "NOTTINGHAM", ""]`` gives ``"Long Eaton"``; the part just
    before the post town, when it is no street or building (no number, no ``ROAD``,
    ``STREET``, ``CENTRE``…). ``["171 CARLTON ROAD", "NOTTINGHAM"]`` gives ``""``.
    """
    parts = [p for p in _address_parts(lines) if p.upper().replace(".", "") not in COUNTIES]
    if len(parts) < 2:
        return ""
    before = parts[-2]
    if any(c.isdigit() for c in before) or _STREET.search(before.upper()):
        return ""
    return _title(before)


def post_town(lines: Sequence[str | None]) -> str:
    """The town of an address: its last line (or comma part) that is not a county, title-cased.

    ``["LAWSON STREET", "STOCKTON-ON-TEES", "CLEVELAND", ""]`` gives ``"Stockton-on-Tees"``;
    ``["ROMFORD, ESSEX"]`` gives ``"Romford"``; no line left gives ``""``.
    """
    towns = [p for p in _address_parts(lines) if p.upper().replace(".", "") not in COUNTIES]
    return _title(towns[-1]) if towns else ""


_EP_MIN_COLUMNS = 26
_STATUSES = frozenset({"A", "C", "D", "P"})
_GP_SETTING = "4"

_CODE_RE = re.compile(r"^[A-Z0-9]{3,8}$")
_POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")

OUTPUT_COLUMNS = (
    "practice_code",
    "name",
    "town",
    "locality",
    "postcode",
    "lat",
    "lon",
    "list_size",
    "weighted_population",
    "current_pcn",
    "current_pcn_name",
    "pcn_source",
    "commissioner_code",
    "geocode",
)

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


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinReport:
    """What the join kept and, for every practice left out or incomplete, why.

    Practice codes are upper-case ODS codes, sorted. Every active GP practice in ``epraccur``
    is in exactly one of: kept (``n_kept``), ``no_list_size``, ``no_coordinates``.

    Parameters
    ----------
    files
        The files read, as ``(role, path)`` pairs.
    n_epraccur_rows
        Rows in ``epraccur``.
    n_active_gp
        Active (status ``A``) GP practices (prescribing setting 4) in ``epraccur``.
    n_list_size_rows
        Practices in the list-size file.
    n_kept
        Practices in the joined table.
    closed_or_inactive
        In the list-size file but closed, dormant or proposed (status not ``A``) in ``epraccur``.
    not_gp_practice
        In the list-size file and active in ``epraccur``, but not prescribing setting 4.
    list_size_not_in_epraccur
        In the list-size file but absent from ``epraccur``.
    no_list_size
        Active GP practices with no list size (left out).
    no_coordinates
        Active GP practices with a list size whose postcode is blank, malformed, or not found
        even at postcode-sector level (left out).
    sector_geocoded
        Kept practices placed on their postcode sector's centroid because the postcode itself
        is not in the postcode file (usually newer than the file).
    no_weighted
        Kept practices with no weighted population (only when a payments file is given).
    no_pcn
        Kept practices with no current PCN (only when an ePCN or map file is given).
    pcn_from_map
        Kept practices whose PCN came from the map file because ePCN had no current
        relationship for them (only when both are given).
    """

    files: tuple[tuple[str, str], ...]
    n_epraccur_rows: int
    n_active_gp: int
    n_list_size_rows: int
    n_kept: int
    closed_or_inactive: tuple[str, ...] = ()
    not_gp_practice: tuple[str, ...] = ()
    list_size_not_in_epraccur: tuple[str, ...] = ()
    no_list_size: tuple[str, ...] = ()
    no_coordinates: tuple[str, ...] = ()
    sector_geocoded: tuple[str, ...] = ()
    no_weighted: tuple[str, ...] | None = None
    no_pcn: tuple[str, ...] | None = None
    pcn_from_map: tuple[str, ...] | None = None

    @property
    def n_left_out(self) -> int:
        """Active GP practices left out of the table."""
        return len(self.no_list_size) + len(self.no_coordinates)

    def adds_up(self) -> bool:
        """Return whether every active GP practice is either kept or left out with a reason."""
        return self.n_kept + self.n_left_out == self.n_active_gp

    def to_text(self) -> str:
        """Return the report as readable lines, with up to ten example codes per reason."""
        lines = ["NHS files joined:"]
        lines += [f"  {role}: {path}" for role, path in self.files]
        lines += [
            f"epraccur rows: {self.n_epraccur_rows:,}",
            f"active GP practices (status A, prescribing setting 4): {self.n_active_gp:,}",
            f"practices in the list-size file: {self.n_list_size_rows:,}",
            f"kept: {self.n_kept:,}",
            f"left out: {self.n_left_out:,}",
        ]
        described = {
            "no_list_size": "active GP practices with no list size (left out)",
            "no_coordinates": "postcode not found, even at sector level (left out)",
            "sector_geocoded": "kept, placed on the postcode-sector centroid",
            "no_weighted": "kept, with no weighted population in the payments file",
            "no_pcn": "kept, with no current PCN",
            "pcn_from_map": "kept, PCN taken from the map file (not current in ePCN)",
            "closed_or_inactive": "in the list-size file but not active in epraccur",
            "not_gp_practice": "in the list-size file but not a GP practice in epraccur",
            "list_size_not_in_epraccur": "in the list-size file but not in epraccur",
        }
        for name, text in described.items():
            codes = getattr(self, name)
            if codes is None:
                continue
            line = f"{text}: {len(codes):,}"
            welsh = sum(code.startswith("W") for code in codes)
            if name == "no_list_size" and welsh:
                line += f" [Welsh (W) practices, not in England's list-size file: {welsh:,}]"
            if codes:
                line += " (" + ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "") + ")"
            lines.append(line)
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        """Return the count of every field (lengths of the code lists), missing lists omitted."""
        out: dict[str, int] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int):
                out[f.name] = value
            elif isinstance(value, tuple) and f.name != "files":
                out[f.name] = len(value)
        return out


@dataclass(frozen=True)
class NhsJoin:
    """The joined practices table and the report of what was left out.

    Parameters
    ----------
    practices
        One row per kept practice with columns ``practice_code``, ``name``, ``postcode``,
        ``lat``, ``lon`` (WGS84), ``list_size``, ``weighted_population``, ``current_pcn``,
        ``current_pcn_name``, ``pcn_source`` (``"epcn"`` | ``"map"``), ``commissioner_code``
        and ``geocode`` (``"postcode"`` | ``"postcode_sector"``), sorted by practice code.
    report
        Counts and practice codes for every reason a practice was left out or incomplete.
    """

    practices: pd.DataFrame
    report: JoinReport


# --------------------------------------------------------------------------------------------
# Low-level reading
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# One reader per file
# --------------------------------------------------------------------------------------------

_EPRACCUR_WHAT = "the ODS GP practice file epraccur.csv (no header row, 27 columns)"
_EPRACCUR_HOW = (
    "Download epraccur.zip from the NHS Digital ODS 'GP and GP practice related data' page "
    "and give the epraccur.csv inside it, unedited, as --epraccur."
)


def _read_epraccur(path: Path) -> pd.DataFrame:
    _check_exists(path, _EPRACCUR_WHAT, _EPRACCUR_HOW)
    encoding = _encoding(path, _EPRACCUR_WHAT, _EPRACCUR_HOW)
    first = _first_line(path, encoding)
    if len(first) < _EP_MIN_COLUMNS:
        raise InputError(
            Problem(
                file=str(path),
                message=(
                    f"has {len(first)} columns; expected {_EPRACCUR_WHAT}." + _looks_like(first)
                ),
                fix=_EPRACCUR_HOW,
            )
        )
    frame = _read_text_csv(
        path, encoding=encoding, what=_EPRACCUR_WHAT, how=_EPRACCUR_HOW, header=None
    )
    # A header row added by hand (or by another export) is skipped rather than read as a practice.
    if frame.shape[0] and frame.iat[0, _EP_STATUS].strip().upper() not in _STATUSES:
        frame = frame.iloc[1:]
        row_offset = 2
    else:
        row_offset = 1
    code = _clean_codes(frame[_EP_CODE])
    status = _clean_codes(frame[_EP_STATUS])
    problems = []
    bad_code = ~code.str.fullmatch(_CODE_RE.pattern).astype(bool)
    bad_status = ~status.isin(_STATUSES)
    if bool(bad_status.mean() > 0.5) or frame.empty:
        raise InputError(
            Problem(
                file=str(path),
                message=(
                    "column 13 does not hold ODS status codes (A, C, D, P); "
                    f"expected {_EPRACCUR_WHAT}." + _looks_like(first)
                ),
                fix=_EPRACCUR_HOW,
            )
        )
    if bad_code.any():
        problems.append(
            Problem(
                file=str(path),
                message="practice code (column 1) is blank or not an ODS code.",
                fix="Use epraccur.csv as published, without edits.",
                rows=tuple(int(i) + row_offset for i in np.flatnonzero(bad_code.to_numpy())),
                column="1",
            )
        )
    if bad_status.any():
        problems.append(
            Problem(
                file=str(path),
                message="status code (column 13) is not one of A, C, D, P.",
                fix="Use epraccur.csv as published, without edits.",
                rows=tuple(int(i) + row_offset for i in np.flatnonzero(bad_status.to_numpy())),
                column="13",
            )
        )
    duplicated = code.duplicated(keep=False) & ~bad_code
    if duplicated.any():
        problems.append(
            Problem(
                file=str(path),
                message="the same practice code appears on more than one row.",
                fix="Use epraccur.csv as published; it has one row per organisation.",
                rows=tuple(int(i) + row_offset for i in np.flatnonzero(duplicated.to_numpy())),
                column="1",
            )
        )
    if problems:
        raise InputError(problems)
    return pd.DataFrame(
        {
            "practice_code": code.to_numpy(),
            "name": frame[_EP_NAME].str.strip().to_numpy(),
            "postcode_raw": frame[_EP_POSTCODE].to_numpy(),
            "status": status.to_numpy(),
            "commissioner_code": _clean_codes(frame[_EP_COMMISSIONER]).to_numpy(),
            "setting": frame[_EP_SETTING].str.strip().to_numpy(),
            # blank (not an empty text) where the address names none
            "town": [
                post_town(lines) or None for lines in frame[list(_EP_ADDRESS)].itertuples(False)
            ],
            "locality": [
                locality(lines) or None for lines in frame[list(_EP_ADDRESS)].itertuples(False)
            ],
        }
    )


_LIST_WHAT = (
    "the NHS Digital list-size file gp-reg-pat-prac-all.csv "
    "(header with CODE and NUMBER_OF_PATIENTS)"
)
_LIST_HOW = (
    "Download gp-reg-pat-prac-all.csv from NHS Digital 'Patients Registered at a GP Practice' "
    "and give it, unedited, as --list-sizes."
)


def _read_list_sizes(path: Path) -> pd.DataFrame:
    _check_exists(path, _LIST_WHAT, _LIST_HOW)
    encoding = _encoding(path, _LIST_WHAT, _LIST_HOW)
    frame = _read_text_csv(path, encoding=encoding, what=_LIST_WHAT, how=_LIST_HOW)
    code_col = _column(frame, "CODE", "PRACTICE_CODE")
    size_col = _column(frame, "NUMBER_OF_PATIENTS")
    if code_col is None or size_col is None:
        raise InputError(
            Problem(
                file=str(path),
                message=(
                    "has no CODE and NUMBER_OF_PATIENTS columns; expected "
                    f"{_LIST_WHAT}." + _looks_like(frame.columns)
                ),
                fix=_LIST_HOW,
            )
        )
    keep = pd.Series(True, index=frame.index)
    for name, wanted in (("SEX", "ALL"), ("AGE", "ALL"), ("TYPE", "GP")):
        col = _column(frame, name)
        if col is not None:
            keep &= frame[col].str.strip().str.upper() == wanted
    rows = pd.Series(np.arange(len(frame)) + 2, index=frame.index)
    frame, rows = frame[keep], rows[keep]
    code = _clean_codes(frame[code_col])
    size = _to_number(frame[size_col])
    problems = []
    blank = frame[size_col].str.strip() == ""
    bad = (size.isna() & ~blank) | (size < 0) | (size.round() != size) & size.notna()
    if bad.any():
        problems.append(
            Problem(
                file=str(path),
                message="number of patients is not a whole number of 0 or more.",
                fix="Use the file as published; do not type over the numbers.",
                rows=tuple(int(r) for r in rows[bad]),
                column=size_col,
            )
        )
    duplicated = code.duplicated(keep=False)
    if duplicated.any():
        problems.append(
            Problem(
                file=str(path),
                message=(
                    "the same practice code has more than one all-persons total "
                    "(is this a by-age file such as gp-reg-pat-prac-sing-age?)."
                ),
                fix=_LIST_HOW,
                rows=tuple(int(r) for r in rows[duplicated]),
                column=code_col,
            )
        )
    if problems:
        raise InputError(problems)
    postcode_col = _column(frame, "POSTCODE")
    out = pd.DataFrame({"practice_code": code.to_numpy(), "list_size": size.to_numpy()})
    out["list_postcode"] = frame[postcode_col].to_numpy() if postcode_col is not None else pd.NA
    return out[out["list_size"].notna()].reset_index(drop=True)


_PAY_WHAT = (
    "an NHS Payments to General Practice CSV with 'Practice Code' and "
    "'Average Number of Weighted Patients' columns"
)
_PAY_HOW = (
    "Download the practice-level CSV of 'NHS Payments to General Practice' from NHS Digital "
    "and give it, unedited, as --payments."
)


def _read_payments(path: Path) -> pd.DataFrame:
    _check_exists(path, _PAY_WHAT, _PAY_HOW)
    encoding = _encoding(path, _PAY_WHAT, _PAY_HOW)
    frame = _read_text_csv(path, encoding=encoding, what=_PAY_WHAT, how=_PAY_HOW)
    code_col = _column(frame, "Practice Code")
    weighted_col = _column(
        frame,
        "Average Number of Weighted Patients",
        "Number of Weighted Patients (Last Known Figure)",
        "Weighted Patients",
    )
    if weighted_col is None:
        candidates = [c for c in frame.columns if "weighted patients" in _norm_header(c)]
        candidates = [c for c in candidates if "per" not in _norm_header(c)]
        weighted_col = candidates[0] if candidates else None
    if code_col is None or weighted_col is None:
        raise InputError(
            Problem(
                file=str(path),
                message=f"has no practice code or weighted-patients column; expected {_PAY_WHAT}."
                + _looks_like(frame.columns),
                fix=_PAY_HOW,
            )
        )
    weighted = _to_number(frame[weighted_col])
    bad = _bad_number_rows(frame[weighted_col], weighted)
    if bad:
        raise InputError(
            Problem(
                file=str(path),
                message="weighted patients is not a number.",
                fix="Use the file as published; do not type over the numbers.",
                rows=bad,
                column=weighted_col,
            )
        )
    out = pd.DataFrame(
        {
            "practice_code": _clean_codes(frame[code_col]).to_numpy(),
            "weighted_population": weighted.to_numpy(),
        }
    )
    out = out[out["weighted_population"].notna() & (out["practice_code"] != "")]
    # A practice paid under two contracts in the year appears twice; keep its larger population.
    return out.groupby("practice_code", as_index=False)["weighted_population"].max()


_MAP_WHAT = "the NHS Digital map file gp-reg-pat-prac-map.csv (PRACTICE_CODE, PCN_CODE, PCN_NAME)"
_MAP_HOW = (
    "Download gp-reg-pat-prac-map.csv from NHS Digital 'Patients Registered at a GP Practice' "
    "and give it, unedited, as --pcn-map."
)


def _read_pcn_map(path: Path) -> pd.DataFrame:
    _check_exists(path, _MAP_WHAT, _MAP_HOW)
    encoding = _encoding(path, _MAP_WHAT, _MAP_HOW)
    frame = _read_text_csv(path, encoding=encoding, what=_MAP_WHAT, how=_MAP_HOW)
    code_col = _column(frame, "PRACTICE_CODE")
    pcn_col = _column(frame, "PCN_CODE")
    name_col = _column(frame, "PCN_NAME")
    if code_col is None or pcn_col is None:
        raise InputError(
            Problem(
                file=str(path),
                message=f"has no PRACTICE_CODE and PCN_CODE columns; expected {_MAP_WHAT}."
                + _looks_like(frame.columns),
                fix=_MAP_HOW,
            )
        )
    pcn = _clean_codes(frame[pcn_col])
    # Practices in no PCN are written with code "U" and name "Unallocated".
    unallocated = pcn.isin(["", "U", "UNALLOCATED", "NULL"])
    if name_col is not None:
        unallocated |= _clean_codes(frame[name_col]) == "UNALLOCATED"
    out = pd.DataFrame(
        {
            "practice_code": _clean_codes(frame[code_col]).to_numpy(),
            "current_pcn": pcn.to_numpy(),
            "current_pcn_name": (
                frame[name_col].str.strip().to_numpy() if name_col is not None else pd.NA
            ),
        }
    )
    out = out[~unallocated.to_numpy()]
    return out.drop_duplicates("practice_code", keep="last").reset_index(drop=True)


_EPCN_WHAT = "the ODS workbook ePCN.xlsx (sheets 'PCN Details' and 'PCN Core Partner Details')"
_EPCN_HOW = (
    "Download ePCN.zip from the NHS Digital ODS 'GP and GP practice related data' page and "
    "give the ePCN.xlsx inside it, unedited, as --epcn."
)


def _sheet_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles it does not read
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=False)
        except Exception as err:  # openpyxl raises many types for a damaged workbook
            raise InputError(
                Problem(
                    file=str(path),
                    message=(
                        f"cannot be opened as an Excel workbook ({err}); expected {_EPCN_WHAT}."
                    ),
                    fix=_EPCN_HOW,
                )
            ) from err
        try:
            return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}
        finally:
            book.close()


def _as_date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if text in ("", "NULL", "None"):
        return None
    text = text.split(".")[0].replace("-", "")
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _frame_from_rows(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame()
    header = [
        _norm_header(h) if h is not None else f"column {i + 1}" for i, h in enumerate(rows[0])
    ]
    body = [r for r in rows[1:] if any(v not in (None, "") for v in r)]
    return pd.DataFrame(body, columns=header, dtype=object)


def _read_epcn(path: Path, *, today: dt.date) -> pd.DataFrame:
    _check_exists(path, _EPCN_WHAT, _EPCN_HOW)
    if _is_workbook(path):
        sheets = _sheet_rows(path)
        partner_name = next(
            (s for s in sheets if "partner" in _norm_header(s).replace(" ", "")), None
        )
        details_name = next(
            (
                s
                for s in sheets
                if "details" in _norm_header(s) and "partner" not in _norm_header(s)
            ),
            None,
        )
        if partner_name is None:
            raise InputError(
                Problem(
                    file=str(path),
                    message=(
                        f"has no 'PCN Core Partner Details' sheet (sheets: {', '.join(sheets)}); "
                        f"expected {_EPCN_WHAT}."
                    ),
                    fix=_EPCN_HOW,
                )
            )
        partners = _frame_from_rows(sheets[partner_name])
        details = _frame_from_rows(sheets[details_name]) if details_name else pd.DataFrame()
        where = f"sheet '{partner_name}'"
    else:
        encoding = _encoding(path, _EPCN_WHAT, _EPCN_HOW)
        partners = _read_text_csv(path, encoding=encoding, what=_EPCN_WHAT, how=_EPCN_HOW)
        partners.columns = [_norm_header(c) for c in partners.columns]
        details = pd.DataFrame()
        where = "the file"
    code_col = _column(partners, "partner organisation code")
    pcn_col = _column(partners, "pcn code")
    if code_col is None or pcn_col is None:
        raise InputError(
            Problem(
                file=str(path),
                message=(
                    f"{where} has no 'Partner Organisation Code' and 'PCN Code' columns; "
                    f"expected {_EPCN_WHAT}." + _looks_like(partners.columns)
                ),
                fix=_EPCN_HOW,
            )
        )
    end_col = _column(partners, "practice to pcn relationship end date")
    start_col = _column(partners, "practice to pcn relationship start date")
    ends = partners[end_col].map(_as_date) if end_col else pd.Series(None, index=partners.index)
    starts = (
        partners[start_col].map(_as_date) if start_col else pd.Series(None, index=partners.index)
    )
    current = ends.map(lambda d: d is None or d > today).astype(bool)
    out = pd.DataFrame(
        {
            "practice_code": _clean_codes(partners[code_col]).to_numpy(),
            "current_pcn": _clean_codes(partners[pcn_col]).to_numpy(),
            "start": starts.map(lambda d: d or dt.date.min).to_numpy(),
        }
    )[current.to_numpy()]
    # Names: from the details sheet (the 2019 partner sheet holds VLOOKUP formulas, not names).
    names: dict[str, str] = {}
    name_col = _column(partners, "pcn name")
    if name_col is not None:
        for pcn, name in zip(partners[pcn_col], partners[name_col], strict=True):
            if isinstance(name, str) and name.strip() and not name.startswith("="):
                names[str(pcn).strip().upper()] = name.strip()
    d_code, d_name = _column(details, "pcn code"), _column(details, "pcn name")
    if d_code is not None and d_name is not None:
        for pcn, name in zip(details[d_code], details[d_name], strict=True):
            if isinstance(name, str) and name.strip() and not name.startswith("="):
                names[str(pcn).strip().upper()] = name.strip()
    out["current_pcn_name"] = out["current_pcn"].map(names)
    out = out[out["practice_code"] != ""]
    # A practice with two open relationships (a move mid-way): the most recent one is current.
    out = out.sort_values(["practice_code", "start"]).drop_duplicates("practice_code", keep="last")
    return out.drop(columns="start").reset_index(drop=True)


_PC_WHAT = (
    "a postcode file: OS Code-Point Open (no header; postcode, quality, easting, northing, ...), "
    "Code-Point Open with a header and lat/lon columns, or ONS NSPL/ONSPD (pcd/pcds, lat, long)"
)
_PC_HOW = (
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
            Problem(file=name, message=f"cannot be read as a postcode file ({err}).", fix=_PC_HOW)
        ) from err
    frame = frame[list(layout.usecols)]
    frame.columns = ["pc", "a", "b"]
    return frame


def _read_postcodes(path: Path, wanted: pd.Series) -> pd.DataFrame:
    """Return lat/lon for the ``wanted`` postcodes (normalised) and their sectors' centroids.

    Returns a frame indexed by normalised postcode (units) and by ``"sector:<sector>"``
    (sector centroids, the mean of the sector's unit postcodes), with ``lat`` and ``lon``.
    Only the postcode and position columns are read, and only rows in a wanted sector kept.
    """
    problem = _file_problem(path, _PC_WHAT, _PC_HOW, folder_ok=True)
    if problem is not None:
        raise InputError(problem)
    if path.is_file() and _is_workbook(path):
        raise InputError(
            Problem(
                file=str(path), message=f"is an Excel workbook; expected {_PC_WHAT}.", fix=_PC_HOW
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
                message=f"{what}; expected {_PC_WHAT}." + _looks_like(first),
                fix=_PC_HOW,
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


# --------------------------------------------------------------------------------------------
# The join
# --------------------------------------------------------------------------------------------


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def practices_from_nhs_files(
    *,
    epraccur: Path,
    list_sizes: Path,
    postcodes: Path,
    epcn: Path | None = None,
    payments: Path | None = None,
    pcn_map: Path | None = None,
) -> NhsJoin:
    """Join the published NHS, ONS and OS files into one table of GP practices.

    Keeps practices that are active (status ``A``) GP practices (prescribing setting 4) in
    ``epraccur``, have a list size, and can be placed on a map: at their postcode or, when the
    postcode is not in the postcode file, at the centroid of its postcode sector (``"TS18 1"``).
    Every other practice is listed in the report with the reason.

    Parameters
    ----------
    epraccur
        ``epraccur.csv`` from NHS Digital ODS (no header, 27 columns). Gives the code, name,
        postcode, status, prescribing setting and commissioner (column 15: CCG or Sub-ICB
        location ODS code).
    list_sizes
        ``gp-reg-pat-prac-all.csv`` from NHS Digital "Patients Registered at a GP Practice".
    postcodes
        OS Code-Point Open (raw, with easting/northing, converted from EPSG:27700 to WGS84; or
        with added ``lat``/``lon`` columns) or ONS NSPL/ONSPD, as ``.csv``, ``.csv.gz`` or a
        ``.zip`` holding one CSV. The format is detected from the content.
    epcn
        ``ePCN.xlsx`` from NHS Digital ODS, any vintage; gives each practice's current PCN
        (core-partner relationship with no end date, or one ending after today).
    payments
        NHS Payments to General Practice, practice-level CSV; gives the weighted (Carr-Hill)
        population.
    pcn_map
        ``gp-reg-pat-prac-map.csv``; gives the PCN of practices that ``epcn`` does not.

    Returns
    -------
    NhsJoin
        The practices table (see :class:`NhsJoin`) and a :class:`JoinReport`.

    Raises
    ------
    InputError
        When a file is missing, empty, unreadable, or not the file it was given as; the
        message names the file, what was expected and how to fix it.
    """
    given: list[tuple[str, Path, str, str]] = [
        ("epraccur", Path(epraccur), _EPRACCUR_WHAT, _EPRACCUR_HOW),
        ("list_sizes", Path(list_sizes), _LIST_WHAT, _LIST_HOW),
        ("postcodes", Path(postcodes), _PC_WHAT, _PC_HOW),
    ]
    optional = (
        ("epcn", epcn, _EPCN_WHAT, _EPCN_HOW),
        ("payments", payments, _PAY_WHAT, _PAY_HOW),
        ("pcn_map", pcn_map, _MAP_WHAT, _MAP_HOW),
    )
    given += [(role, Path(path), what, how) for role, path, what, how in optional if path]
    # Every missing or empty file is reported at once, before any file is read.
    problems = [
        _file_problem(path, what, how, folder_ok=role == "postcodes")
        for role, path, what, how in given
    ]
    if any(problems):
        raise InputError([p for p in problems if p is not None])
    paths = {role: path for role, path, _what, _how in given}
    # Far past any real file of its kind: refused before reading (an .xlsx without a
    # <dimension> can expand twenty-fold), and a damaged file is named, not a traceback.
    for role, path, what, _how in given:
        check_size(
            path, limit=MAX_POSTCODE_BYTES if role == "postcodes" else MAX_TABLE_BYTES, what=what
        )
    about = {role: (what, how) for role, _path, what, how in given}

    def read(role: str, reader: Callable[..., pd.DataFrame], **options: Any) -> pd.DataFrame:
        what, how = about[role]
        with reading(paths[role], what=what, fix=how):
            return reader(paths[role], **options)

    # The small files first, so a wrong file is reported before the postcode file is read.
    ep = read("epraccur", _read_epraccur)
    ls = read("list_sizes", _read_list_sizes)
    pay = read("payments", _read_payments) if "payments" in paths else None
    pcn_sources = []
    if "epcn" in paths:
        pcn_sources.append(("epcn", read("epcn", _read_epcn, today=dt.date.today())))
    if "pcn_map" in paths:
        pcn_sources.append(("map", read("pcn_map", _read_pcn_map)))

    active = ep["status"] == "A"
    gp = ep["setting"] == _GP_SETTING
    active_gp = ep[active & gp]
    ep_codes = set(ep["practice_code"])
    ls_codes = set(ls["practice_code"])
    inactive_codes = set(ep.loc[~active, "practice_code"])
    not_gp_codes = set(ep.loc[active & ~gp, "practice_code"])

    joined = active_gp.merge(ls[["practice_code", "list_size"]], on="practice_code", how="inner")
    joined["postcode"] = normalise_postcode(joined["postcode_raw"].fillna(""))
    valid = joined["postcode"].str.fullmatch(_POSTCODE_RE.pattern).astype(bool)

    points = read("postcodes", _read_postcodes, wanted=joined.loc[valid, "postcode"])
    lat_of, lon_of = points["lat"].to_dict(), points["lon"].to_dict()
    sector_key = "sector:" + joined["postcode"].str[:-2]
    unit = valid & joined["postcode"].isin(lat_of.keys())
    in_sector = valid & ~unit & sector_key.isin(lat_of.keys())
    joined["lat"] = np.where(unit, joined["postcode"].map(lat_of), sector_key.map(lat_of))
    joined["lon"] = np.where(unit, joined["postcode"].map(lon_of), sector_key.map(lon_of))
    joined["geocode"] = np.where(unit, "postcode", "postcode_sector")
    placed = unit | in_sector
    kept = joined[placed].copy()
    kept["lat"], kept["lon"] = kept["lat"].astype(float), kept["lon"].astype(float)
    kept["list_size"] = kept["list_size"].round().astype("int64")
    kept["postcode"] = _display_postcode(kept["postcode"])

    kept["weighted_population"] = np.nan
    no_weighted: tuple[str, ...] | None = None
    if pay is not None:
        weighted = pay.set_index("practice_code")["weighted_population"]
        kept["weighted_population"] = kept["practice_code"].map(weighted).astype(float)
        no_weighted = _codes(kept.loc[kept["weighted_population"].isna(), "practice_code"])

    for column in ("current_pcn", "current_pcn_name", "pcn_source"):
        kept[column] = pd.Series(pd.NA, index=kept.index, dtype="str")
    from_map: tuple[str, ...] | None = None
    for source, table in pcn_sources:
        pcns = table.set_index("practice_code")
        fill = kept["current_pcn"].isna() & kept["practice_code"].isin(pcns.index)
        codes = kept.loc[fill, "practice_code"]
        kept.loc[fill, "current_pcn"] = codes.map(pcns["current_pcn"]).to_numpy()
        kept.loc[fill, "current_pcn_name"] = codes.map(pcns["current_pcn_name"]).to_numpy()
        kept.loc[fill, "pcn_source"] = source
        if source == "map" and "epcn" in paths:
            from_map = _codes(codes)
    no_pcn = _codes(kept.loc[kept["current_pcn"].isna(), "practice_code"]) if pcn_sources else None

    practices = kept[list(OUTPUT_COLUMNS)].sort_values("practice_code").reset_index(drop=True)
    report = JoinReport(
        files=tuple((role, str(path)) for role, path in paths.items()),
        n_epraccur_rows=len(ep),
        n_active_gp=len(active_gp),
        n_list_size_rows=len(ls),
        n_kept=len(practices),
        closed_or_inactive=_codes(ls_codes & inactive_codes),
        not_gp_practice=_codes(ls_codes & not_gp_codes),
        list_size_not_in_epraccur=_codes(ls_codes - ep_codes),
        no_list_size=_codes(
            active_gp.loc[~active_gp["practice_code"].isin(ls_codes), "practice_code"]
        ),
        no_coordinates=_codes(joined.loc[~placed, "practice_code"]),
        sector_geocoded=_codes(kept.loc[kept["geocode"] == "postcode_sector", "practice_code"]),
        no_weighted=no_weighted,
        no_pcn=no_pcn,
        pcn_from_map=from_map,
    )
    return NhsJoin(practices=practices, report=report)
