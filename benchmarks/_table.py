"""Print a DataFrame as a Markdown table (no extra dependency)."""

from __future__ import annotations

import pandas as pd


def markdown(frame: pd.DataFrame, *, index: bool = False) -> str:
    """Return ``frame`` as a GitHub-flavoured Markdown table."""
    if index:
        frame = frame.reset_index()
    header = [str(c) for c in frame.columns]
    body = [
        ["" if pd.isna(v) else (f"{v:,}" if isinstance(v, int) else str(v)) for v in row]
        for row in frame.itertuples(index=False)
    ]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)
