"""Read NHS Digital ``gp-reg-pat-prac-all.csv``: each practice's registered list size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io.nhs._common import (
    _clean_codes,
    _column,
    _looks_like,
    _read_nhs_csv,
    _to_number,
)

__all__ = ["LIST_HOW", "LIST_WHAT", "read_list_sizes"]

LIST_WHAT = (
    "the NHS Digital list-size file gp-reg-pat-prac-all.csv "
    "(header with CODE and NUMBER_OF_PATIENTS)"
)
LIST_HOW = (
    "Download gp-reg-pat-prac-all.csv from NHS Digital 'Patients Registered at a GP Practice' "
    "and give it, unedited, as --list-sizes."
)


def read_list_sizes(path: Path) -> pd.DataFrame:
    frame = _read_nhs_csv(path, LIST_WHAT, LIST_HOW)
    code_col = _column(frame, "CODE", "PRACTICE_CODE")
    size_col = _column(frame, "NUMBER_OF_PATIENTS")
    if code_col is None or size_col is None:
        raise InputError(
            Problem(
                file=str(path),
                message=(
                    "has no CODE and NUMBER_OF_PATIENTS columns; expected "
                    f"{LIST_WHAT}." + _looks_like(frame.columns)
                ),
                fix=LIST_HOW,
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
                fix=LIST_HOW,
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
