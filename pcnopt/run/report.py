"""The run's Markdown report (``report.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pcnopt.run.optimise import RunResult


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, line breaks removed)."""
    return " ".join(str(value).split()).replace("|", "\\|")


def report_markdown(result: RunResult) -> str:
    """A readable report of a run: headline figures, every place, every exception."""
    s = result.summary
    pcns, places = result.pcns, result.places_table
    band = f"{s['settings']['min_size']:,.0f}–{s['settings']['max_size']:,.0f}"
    lines = [
        "# PCN configuration report",
        "",
        f"- Practices: {s['practices_in']:,} in, {s['practices_out']:,} in a PCN"
        + (f", {len(s['practices_excluded'])} left out by rule" if s["practices_excluded"] else ""),
        f"- Patients: {s['patients']:,} (band on the {s['settings']['population']} population)",
        f"- PCNs: {s['pcns']:,} in {s['places']} place(s); {s['pcns_in_band']:,} within {band} "
        f"({100 * (s['share_pcns_in_band'] or 0):.1f} % of PCNs, "
        f"{100 * (s['share_patients_in_band'] or 0):.1f} % of patients)",
        f"- Named exceptions: {s['named_exceptions']}",
        f"- Method: {', '.join(s['method'])}",
        *(
            [
                f"- ARRS {s['funding']['year']}: "
                f"£{s['funding']['totals_gbp'].get('arrs_sum_gbp') or 0:,.0f}"
                f" in all, by PCN in pcns.csv and funding.csv"
                + (
                    " (ESTIMATE: registered list used, no weighted population)"
                    if s["funding"]["estimate"]
                    else ""
                )
            ]
            if "funding" in s
            else []
        ),
        f"- Independent validator: {'all rules met' if s['valid'] else 'RULES BROKEN'}"
        + ("" if s["valid"] else f" ({len(s['rules_broken'])}, see validation.csv)"),
        "",
        "## Places",
        "",
        "| place | name | status | practices | PCNs | in band | gap |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    in_band = pcns.groupby("place_id")["in_band"].sum()
    for row in places.itertuples(index=False):
        gap = "" if row.gap is None or pd.isna(row.gap) else f"{100 * row.gap:.2f} %"
        lines.append(
            f"| {_cell(row.place_id)} | {_cell(row.place_name)} | {row.status} | "
            f"{row.n_practices} | "
            f"{row.n_pcns} | {int(in_band.get(row.place_id, 0))} | {gap} |"
        )
    flagged = places[places["status"] != "optimal"]
    if len(flagged):
        lines += ["", "## What the places that are not simply optimal need", ""]
        lines += [
            f"- **{r.place_id} {r.place_name}** ({r.status}): {r.message}"
            for r in flagged.itertuples(index=False)
        ]
    exceptions = pcns[pcns["exception"] != ""]
    if len(exceptions):
        lines += [
            "",
            "## Named exceptions",
            "",
            "| PCN | place | patients | practices | exception |",
            "|---|---|---:|---:|---|",
        ]
        lines += [
            f"| {_cell(r.pcn_id)} | {_cell(r.place_id)} | {r.list_size:,} | {r.n_practices} | "
            f"{_cell(r.exception)} |"
            for r in exceptions.itertuples(index=False)
        ]
    if s["snapped_practices"]:
        lines += [
            "",
            "## Practices snapped to the nearest place",
            "",
            "Generalised boundaries left these practices just outside every place.",
            "",
            "| practice | name | place | metres |",
            "|---|---|---|---:|",
        ]
        lines += [
            f"| {_cell(r['practice_code'])} | {_cell(r['name'])} | {_cell(r['place_id'])} | "
            f"{r['snap_m']:,.0f} |"
            for r in s["snapped_practices"]
        ]
    if not s["valid"]:
        lines += ["", "## Rules broken", ""] + [f"- {p}" for p in s["rules_broken"]]
    return "\n".join(lines) + "\n"
