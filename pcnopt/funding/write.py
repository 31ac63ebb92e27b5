"""Writing a funding run's files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pcnopt.funding.compare import Comparison
from pcnopt.funding.money import FundingResult


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        money = col.endswith(("_gbp", "_gbp_before", "_gbp_after")) or col.startswith(
            ("registered", "weighted")
        )
        if money and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].round(2)
    return out


def write_funding(
    out: str | Path, *, result: FundingResult, comparison: Comparison | None = None
) -> Path:
    """Write a funding run's files into ``out`` atomically.

    Files: ``funding.csv`` (per PCN), ``role_mix.csv``, ``funding_basis.csv`` (each line's
    rate, status and sources), with a comparison ``comparison_practices.csv``,
    ``comparison_pcns.csv`` and ``comparison_totals.csv``, and ``summary.json`` last.
    Money is rounded to pennies in the files only.
    """
    from pcnopt.io import outputs

    writers = {
        "funding.csv": outputs.csv_writer(_rounded(result.pcns)),
        "role_mix.csv": outputs.csv_writer(_rounded(result.role_mix)),
        "funding_basis.csv": outputs.csv_writer(result.lines),
    }
    summary = result.summary()
    if comparison is not None:
        writers["comparison_practices.csv"] = outputs.csv_writer(_rounded(comparison.practices))
        writers["comparison_pcns.csv"] = outputs.csv_writer(_rounded(comparison.pcns))
        totals = comparison.totals.copy()
        for col in ("before", "after", "difference"):
            totals[col] = totals[col].round(2) + 0.0
        writers["comparison_totals.csv"] = outputs.csv_writer(totals)
        writers["comparison_matched.csv"] = outputs.csv_writer(_rounded(comparison.matched))
        summary["comparison"] = {
            "same_population": comparison.same_population,
            "practices_changing_pcn": comparison.practices_changing_pcn,
            "conserved_per_patient": list(comparison.conserved),
            "not_conserved": list(comparison.not_conserved),
            "practices_moved": int(comparison.practices["moved"].sum()),
            "practices_with_new_partners": int(comparison.practices["partners_changed"].sum()),
            "before": comparison.before.summary()["totals_gbp"],
        }
    writers["summary.json"] = outputs.json_writer(summary)
    return outputs.write_folder(out, writers, command="funding")
