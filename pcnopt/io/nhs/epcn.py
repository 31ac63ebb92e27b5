"""Read each practice's PCN: the ODS ``ePCN.xlsx`` workbook (current core-partner relationships)
and NHS Digital's practice-to-PCN map ``gp-reg-pat-prac-map.csv``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io.nhs._common import (
    _check_exists,
    _clean_codes,
    _column,
    _is_workbook,
    _looks_like,
    _norm_header,
    _read_nhs_csv,
)

__all__ = ["EPCN_HOW", "EPCN_WHAT", "MAP_HOW", "MAP_WHAT", "read_epcn", "read_pcn_map"]

MAP_WHAT = "the NHS Digital map file gp-reg-pat-prac-map.csv (PRACTICE_CODE, PCN_CODE, PCN_NAME)"
MAP_HOW = (
    "Download gp-reg-pat-prac-map.csv from NHS Digital 'Patients Registered at a GP Practice' "
    "and give it, unedited, as --pcn-map."
)


def read_pcn_map(path: Path) -> pd.DataFrame:
    frame = _read_nhs_csv(path, MAP_WHAT, MAP_HOW)
    code_col = _column(frame, "PRACTICE_CODE")
    pcn_col = _column(frame, "PCN_CODE")
    name_col = _column(frame, "PCN_NAME")
    if code_col is None or pcn_col is None:
        raise InputError(
            Problem(
                file=str(path),
                message=f"has no PRACTICE_CODE and PCN_CODE columns; expected {MAP_WHAT}."
                + _looks_like(frame.columns),
                fix=MAP_HOW,
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


EPCN_WHAT = "the ODS workbook ePCN.xlsx (sheets 'PCN Details' and 'PCN Core Partner Details')"
EPCN_HOW = (
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
                        f"cannot be opened as an Excel workbook ({err}); expected {EPCN_WHAT}."
                    ),
                    fix=EPCN_HOW,
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


def read_epcn(path: Path, *, today: dt.date) -> pd.DataFrame:
    _check_exists(path, EPCN_WHAT, EPCN_HOW)
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
                        f"expected {EPCN_WHAT}."
                    ),
                    fix=EPCN_HOW,
                )
            )
        partners = _frame_from_rows(sheets[partner_name])
        details = _frame_from_rows(sheets[details_name]) if details_name else pd.DataFrame()
        where = f"sheet '{partner_name}'"
    else:
        partners = _read_nhs_csv(path, EPCN_WHAT, EPCN_HOW)
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
                    f"expected {EPCN_WHAT}." + _looks_like(partners.columns)
                ),
                fix=EPCN_HOW,
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
