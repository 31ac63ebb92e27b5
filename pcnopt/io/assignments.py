"""Read a practice → PCN assignment (a configuration) from a table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io._tables import check_readable, read_csv_text
from pcnopt.io.practices import ALIASES, _key
from pcnopt.io.text import clean_code

PCN_COLUMNS = ("pcn_id", "current_pcn", "pcn_code", "pcn")


def assignments_from_file(path: str | Path, *, pcn_column: str | None = None) -> pd.DataFrame:
    """Read ``practice_code`` and ``pcn_id`` from a CSV table.

    Parameters
    ----------
    path
        CSV with one row per practice (e.g. ``assignments.csv`` from ``optimise``, or a
        practices table with a ``current_pcn`` column).
    pcn_column
        Column naming each practice's PCN; by default ``pcn_id``, else ``current_pcn``.
    """
    path = Path(path)
    check_readable(path)
    frame = read_csv_text(path)
    by_key = {_key(c): c for c in frame.columns}
    code = next((by_key[a] for a in ALIASES["practice_code"] if a in by_key), None)
    if pcn_column is not None:
        pcn = pcn_column if pcn_column in frame.columns else by_key.get(_key(pcn_column))
    else:
        pcn = next((by_key[a] for a in PCN_COLUMNS if a in by_key), None)
    missing = [n for n, c in (("practice_code", code), (pcn_column or "pcn_id", pcn)) if c is None]
    if missing:
        raise InputError(
            Problem(
                str(path),
                f"required column(s) missing: {', '.join(missing)}.",
                f"the file's columns are: {', '.join(frame.columns)}; name the PCN column with "
                "--pcn-column.",
            )
        )
    out = pd.DataFrame(
        {
            "practice_code": frame[code].map(clean_code).str.upper(),
            "pcn_id": frame[pcn].astype(str).str.strip(),
        }
    )
    return out[out["practice_code"] != ""].reset_index(drop=True)


def pcn_names_from_file(path: Path, *, pcn_column: str | None = None) -> dict[str, str]:
    """PCN id → name from the name column beside a configuration's PCN column, if it has one.

    The name column of ``pcn2019_code`` is ``pcn2019_name`` (as ``prepare-nhs`` and the ePCN
    joined tables write them), of ``current_pcn`` ``current_pcn_name``, and of ``pcn_id``
    ``pcn_name`` or ``pcn_label``. Names are matched ignoring case and punctuation; a PCN with
    several names keeps the commonest. Empty when there is no such column.
    """
    frame = read_csv_text(path)
    by_key = {_key(c): c for c in frame.columns}
    if pcn_column is not None:
        pcn = pcn_column if pcn_column in frame.columns else by_key.get(_key(pcn_column))
    else:
        pcn = next((by_key[a] for a in PCN_COLUMNS if a in by_key), None)
    if pcn is None:
        return {}
    key = _key(pcn)
    candidates = [
        f"{key}_name",
        f"{key[:-5]}_name" if key.endswith("_code") else "",
        "pcn_name" if key in ("pcn_id", "pcn") else "",
        "pcn_label" if key == "pcn_id" else "",
    ]
    column = next((by_key[c] for c in candidates if c and c in by_key), None)
    if column is None:
        return {}
    pairs = frame[[pcn, column]].astype("string").apply(lambda c: c.str.strip())
    pairs = pairs[(pairs[pcn].fillna("") != "") & (pairs[column].fillna("") != "")]
    if pairs.empty:
        return {}
    commonest = pairs.groupby(pcn)[column].agg(lambda names: names.value_counts().index[0])
    return {str(k): str(v) for k, v in commonest.items()}
