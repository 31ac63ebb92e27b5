"""Read NHS Payments to General Practice (the practice-level CSV): each weighted population."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io.nhs._common import (
    _bad_number_rows,
    _clean_codes,
    _column,
    _looks_like,
    _norm_header,
    _read_nhs_csv,
    _to_number,
)

__all__ = ["PAY_HOW", "PAY_WHAT", "read_payments"]

PAY_WHAT = (
    "an NHS Payments to General Practice CSV with 'Practice Code' and "
    "'Average Number of Weighted Patients' columns"
)
PAY_HOW = (
    "Download the practice-level CSV of 'NHS Payments to General Practice' from NHS Digital "
    "and give it, unedited, as --payments."
)


def read_payments(path: Path) -> pd.DataFrame:
    frame = _read_nhs_csv(path, PAY_WHAT, PAY_HOW)
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
                message=f"has no practice code or weighted-patients column; expected {PAY_WHAT}."
                + _looks_like(frame.columns),
                fix=PAY_HOW,
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
