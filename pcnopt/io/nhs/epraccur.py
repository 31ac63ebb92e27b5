"""Read ODS ``epraccur.csv`` (no header, 27 columns): every organisation's code, name, address,
status, commissioner and prescribing setting, and the post town and locality of each address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io.nhs._common import (
    _check_exists,
    _clean_codes,
    _encoding,
    _first_line,
    _looks_like,
    _read_text_csv,
)

__all__ = [
    "COUNTIES",
    "EPRACCUR_HOW",
    "EPRACCUR_WHAT",
    "GP_SETTING",
    "locality",
    "post_town",
    "read_epraccur",
]

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


def _place_parts(lines: Sequence[str | None]) -> list[str]:
    """The address's parts that are not a county: the post town is the last of them."""
    return [p for p in _address_parts(lines) if p.upper().replace(".", "") not in COUNTIES]


def _locality_of(parts: Sequence[str]) -> str:
    if len(parts) < 2:
        return ""
    before = parts[-2]
    if any(c.isdigit() for c in before) or _STREET.search(before.upper()):
        return ""
    return _title(before)


def _post_town_of(parts: Sequence[str]) -> str:
    return _title(parts[-1]) if parts else ""


def locality(lines: Sequence[str | None]) -> str:
    """The district of a town an address names before its post town, title-cased.

    ``["REGENT STREET, LONG EATON", "NOTTINGHAM", ""]`` gives ``"Long Eaton"``; the part just
    before the post town, when it is no street or building (no number, no ``ROAD``,
    ``STREET``, ``CENTRE``…). ``["171 CARLTON ROAD", "NOTTINGHAM"]`` gives ``""``.
    """
    return _locality_of(_place_parts(lines))


def post_town(lines: Sequence[str | None]) -> str:
    """The town of an address: its last line (or comma part) that is not a county, title-cased.

    ``["LAWSON STREET", "STOCKTON-ON-TEES", "CLEVELAND", ""]`` gives ``"Stockton-on-Tees"``;
    ``["ROMFORD, ESSEX"]`` gives ``"Romford"``; no line left gives ``""``.
    """
    return _post_town_of(_place_parts(lines))


def _towns_and_localities(address: pd.DataFrame) -> tuple[list[str | None], list[str | None]]:
    """The post town and locality of every row's address lines, in one pass (blank for none)."""
    towns: list[str | None] = []
    localities: list[str | None] = []
    for lines in address.itertuples(index=False):
        parts = _place_parts(lines)
        towns.append(_post_town_of(parts) or None)
        localities.append(_locality_of(parts) or None)
    return towns, localities


_EP_MIN_COLUMNS = 26
_STATUSES = frozenset({"A", "C", "D", "P"})
GP_SETTING = "4"

_CODE_RE = re.compile(r"^[A-Z0-9]{3,8}$")


EPRACCUR_WHAT = "the ODS GP practice file epraccur.csv (no header row, 27 columns)"
EPRACCUR_HOW = (
    "Download epraccur.zip from the NHS Digital ODS 'GP and GP practice related data' page "
    "and give the epraccur.csv inside it, unedited, as --epraccur."
)


def read_epraccur(path: Path) -> pd.DataFrame:
    _check_exists(path, EPRACCUR_WHAT, EPRACCUR_HOW)
    encoding = _encoding(path, EPRACCUR_WHAT, EPRACCUR_HOW)
    first = _first_line(path, encoding)
    if len(first) < _EP_MIN_COLUMNS:
        raise InputError(
            Problem(
                file=str(path),
                message=(
                    f"has {len(first)} columns; expected {EPRACCUR_WHAT}." + _looks_like(first)
                ),
                fix=EPRACCUR_HOW,
            )
        )
    frame = _read_text_csv(
        path, encoding=encoding, what=EPRACCUR_WHAT, how=EPRACCUR_HOW, header=None
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
                    f"expected {EPRACCUR_WHAT}." + _looks_like(first)
                ),
                fix=EPRACCUR_HOW,
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
    towns, localities = _towns_and_localities(frame[list(_EP_ADDRESS)])
    return pd.DataFrame(
        {
            "practice_code": code.to_numpy(),
            "name": frame[_EP_NAME].str.strip().to_numpy(),
            "postcode_raw": frame[_EP_POSTCODE].to_numpy(),
            "status": status.to_numpy(),
            "commissioner_code": _clean_codes(frame[_EP_COMMISSIONER]).to_numpy(),
            "setting": frame[_EP_SETTING].str.strip().to_numpy(),
            # blank (not an empty text) where the address names none
            "town": towns,
            "locality": localities,
        }
    )
