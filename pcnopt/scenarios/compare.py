"""Scenario runs side by side: tables, an HTML page and one map with a layer per scenario."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from pcnopt.errors import OptionError
from pcnopt.io import outputs


@dataclass(frozen=True)
class ScenarioComparison:
    """Scenario runs side by side; the first is the baseline ("before").

    Attributes
    ----------
    table
        One row per scenario: PCNs, share of PCNs and patients in band, patient-weighted mean
        distance to the hub, practices whose PCN changes against the first (among practices
        both runs have, those whose PCN has other members: PCN numbers alone are not
        compared), practices added and removed, ARRS total and change.
    practices
        One row per practice: its PCN and its PCN's ARRS sum in each scenario.
    pcns
        One row per PCN of each scenario: members, patients, band status, ARRS sum.
    names
        Scenario names, in order.
    folders
        The run folders.
    """

    table: pd.DataFrame
    practices: pd.DataFrame
    pcns: pd.DataFrame
    names: tuple[str, ...]
    folders: tuple[Path, ...]


def _read_run(folder: Path) -> dict[str, Any]:
    folder = Path(folder)
    summary = outputs.read_summary(folder)  # InputError when not a run, or summary.json is bad
    assignments = outputs.read_output_csv(
        folder / "assignments.csv", dtype={"pcn_id": "string", "practice_code": str}
    )
    pcns = outputs.read_output_csv(
        folder / "pcns.csv",
        dtype={"pcn_id": str, "pcn_label": str, "exception": str, "place_id": str},
    )
    funding = folder / "funding.csv"
    return {
        "name": summary.get("scenario", {}).get("name", folder.name),
        "summary": summary,
        "assignments": assignments,
        "pcns": pcns,
        "funding": (
            outputs.read_output_csv(funding, dtype={"pcn_id": str}) if funding.exists() else None
        ),
    }


def _changed_from_current(assignments: pd.DataFrame) -> int | None:
    """Practices whose PCN has other members than their current PCN (None without one).

    Compared among the practices that have a current PCN, so PCN ids alone never count.
    """
    if "current_pcn" not in assignments or assignments["current_pcn"].isna().all():
        return None
    a = assignments.dropna(subset=["current_pcn", "pcn_id"]).astype(
        {"current_pcn": str, "pcn_id": str}
    )
    now = a.groupby("current_pcn")["practice_code"].agg(frozenset)
    new = a.groupby("pcn_id")["practice_code"].agg(frozenset)
    return int(sum(now[c] != new[p] for c, p in zip(a["current_pcn"], a["pcn_id"], strict=True)))


def comparison_from_runs(folders: Sequence[str | Path]) -> ScenarioComparison:
    """Compare finished runs (scenario folders or ``optimise`` outputs).

    Parameters
    ----------
    folders
        Two or more run folders; the first is the baseline.
    """
    if len(folders) < 2:
        raise OptionError("compare needs two or more run folders (the first is the baseline).")
    runs = [_read_run(Path(f)) for f in folders]
    names = [r["name"] for r in runs]
    for k, name in enumerate(names):
        if names.count(name) > 1:
            names[k] = f"{name}-{k + 1}"
    base_codes = set(runs[0]["assignments"]["practice_code"])
    members = []
    for r in runs:
        # partners of each practice among the practices both runs have (a merged, closed or
        # new practice does not make its neighbours "change PCN")
        common = base_codes & set(r["assignments"]["practice_code"])
        a = r["assignments"].dropna(subset=["pcn_id"])
        a = a[a["practice_code"].isin(common)]
        groups = a.groupby("pcn_id")["practice_code"].agg(frozenset)
        members.append(
            r["assignments"]["practice_code"].map(
                dict(zip(a["practice_code"], a["pcn_id"].map(groups), strict=True))
            )
        )
    base_members = members[0]
    rows, practice_cols, pcn_rows = [], [], []
    base_arrs = None
    for name, r, partners in zip(names, runs, members, strict=True):
        s, a, p = r["summary"], r["assignments"], r["pcns"]
        codes = a["practice_code"]
        common = base_codes & set(codes)
        mine = dict(zip(codes, partners, strict=True))
        base = {
            c: frozenset(g & common) if isinstance(g, frozenset) else g
            for c, g in zip(runs[0]["assignments"]["practice_code"], base_members, strict=True)
        }
        flags = [code in common and base[code] != mine[code] for code in codes]
        changed = sum(flags)
        from_current = _changed_from_current(a)
        assigned = a.dropna(subset=["distance_to_hub_m"])
        weights = assigned["list_size"].astype(float)
        arrs = (
            float(r["funding"]["arrs_sum_gbp"].sum())
            if r["funding"] is not None and "arrs_sum_gbp" in r["funding"]
            else None
        )
        base_arrs = arrs if base_arrs is None and name == names[0] else base_arrs
        rows.append(
            {
                "scenario": name,
                "practices": len(a),
                "patients": int(a["list_size"].sum()),
                "pcns": len(p),
                "pcns_in_band": int(p["in_band"].sum()),
                "share_pcns_in_band": round(float(p["in_band"].mean()), 4) if len(p) else None,
                "share_patients_in_band": s.get("share_patients_in_band"),
                "mean_distance_to_hub_m": round(
                    float((weights * assigned["distance_to_hub_m"]).sum() / weights.sum()), 1
                )
                if len(assigned)
                else None,
                "practices_changing_pcn": int(changed),
                "practices_changing_from_current": from_current,
                "description": str((s.get("scenario") or {}).get("description") or ""),
                "practices_added": len(set(codes) - base_codes),
                "practices_removed": len(base_codes - set(codes)),
                "arrs_total_gbp": None if arrs is None else round(arrs, 2),
                "arrs_change_gbp": None
                if arrs is None or base_arrs is None
                else round(arrs - base_arrs, 2),
                "valid": s.get("valid"),
                "folder": str(Path(folders[names.index(name)])),
            }
        )
        sums = (
            r["funding"].set_index("pcn_id")["arrs_sum_gbp"]
            if r["funding"] is not None
            else pd.Series(dtype=float)
        )
        practice_cols.append(
            pd.DataFrame(
                {
                    "practice_code": codes,
                    f"pcn_{name}": a["pcn_id"],
                    f"arrs_sum_{name}_gbp": a["pcn_id"].map(sums).astype(float).round(2),
                    f"changed_{name}": flags,
                }
            )
        )
        for row in p.itertuples(index=False):
            pcn_rows.append(
                {
                    "scenario": name,
                    "pcn_id": row.pcn_id,
                    "place_id": row.place_id,
                    "n_practices": row.n_practices,
                    "list_size": row.list_size,
                    "band_status": row.band_status,
                    "arrs_sum_gbp": None
                    if row.pcn_id not in sums.index
                    else round(float(sums[row.pcn_id]), 2),
                    "practices": row.practices,
                }
            )
    names_of = pd.concat([r["assignments"][["practice_code", "name"]] for r in runs])
    practices = names_of.drop_duplicates("practice_code").sort_values("practice_code")
    for frame in practice_cols:
        practices = practices.merge(frame, on="practice_code", how="left")
    return ScenarioComparison(
        table=pd.DataFrame(rows),
        practices=practices.reset_index(drop=True),
        pcns=pd.DataFrame(pcn_rows),
        names=tuple(names),
        folders=tuple(Path(f) for f in folders),
    )


def comparison_map(comparison: ScenarioComparison, *, tiles: bool = True) -> Any:
    """One Folium map with a layer per scenario (:func:`pcnopt.maps.map_from_configurations`)."""
    from pcnopt import maps

    configurations, points = [], []
    places = None
    for name, folder in zip(comparison.names, comparison.folders, strict=True):
        run = _read_run(folder)
        a, p = run["assignments"], run["pcns"]
        basis = run["summary"].get("settings", {}).get("population", "registered")
        areas = gpd.read_file(folder / "pcns.geojson")[["pcn_id", "geometry"]].to_crs(27700)
        p = p.assign(
            population=p["weighted_population"] if basis == "weighted" else p["list_size"],
            pcn_label=p["pcn_label"].astype("string").fillna(""),
            exception=p["exception"].astype("string").fillna(""),
        )
        pcns = gpd.GeoDataFrame(
            p.merge(areas.astype({"pcn_id": str}), on="pcn_id", how="left"),
            geometry="geometry",
            crs=27700,
        )
        s = run["summary"]
        row = comparison.table.set_index("scenario").loc[name]
        summary = {
            "pcns": s.get("pcns"),
            "practices": s.get("practices_in"),
            "share_pcns_in_band": s.get("share_pcns_in_band"),
            "share_patients_in_band": s.get("share_patients_in_band"),
            "mean_distance_to_hub_m": None
            if pd.isna(row["mean_distance_to_hub_m"])
            else float(row["mean_distance_to_hub_m"]),
        }
        configurations.append(
            maps.MapConfiguration(
                name=name,
                assignments=a[["practice_code", "pcn_id", "distance_to_hub_m", "is_hub"]],
                pcns=pcns,
                summary=summary,
                funding=maps.funding_table(run["funding"]) if run["funding"] is not None else None,
            )
        )
        points.append(a[["practice_code", "name", "list_size", "lat", "lon"]])
        if places is None and (folder / "catchments.geojson").exists():
            cells = gpd.read_file(folder / "catchments.geojson")
            if "place_id" in cells:
                places = cells.dissolve(by="place_id", as_index=False)[["place_id", "geometry"]]
                names = dict(zip(p["place_id"], p["place_name"], strict=False))
                places["place_name"] = places["place_id"].map(names).fillna(places["place_id"])
                places = places.to_crs(27700)
    table = pd.concat(points).drop_duplicates("practice_code").reset_index(drop=True)
    practices = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=4326
    ).to_crs(27700)
    return maps.map_from_configurations(
        configurations, practices=practices, places=places, tiles=tiles, title="Scenarios compared"
    )


def comparison_html(comparison: ScenarioComparison) -> str:
    """The comparison as one HTML page (the tables; the map is ``map.html`` beside it).

    Rendered from ``templates/compare.html.j2`` with autoescape; the tables are pandas HTML with
    every cell escaped.
    """

    def table(frame: pd.DataFrame) -> Markup:
        return Markup(frame.to_html(index=False, na_rep="", border=0, classes="t", escape=True))

    moved = comparison.practices[
        comparison.practices[[c for c in comparison.practices if c.startswith("changed_")]]
        .fillna(True)
        .any(axis=1)
    ]
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=False)
    source = resources.files("pcnopt.scenarios").joinpath("templates", "compare.html.j2")
    money = [c for c in moved.columns if str(c).endswith("_gbp")]
    shown = moved.copy()
    for column in money:
        shown[column] = shown[column].map(_pounds)
    pcns = comparison.pcns.copy()
    if "arrs_sum_gbp" in pcns:
        pcns["arrs_sum_gbp"] = pcns["arrs_sum_gbp"].map(_pounds)
    return env.from_string(source.read_text("utf-8")).render(
        baseline=comparison.names[0],
        scenarios=[
            {"name": r["scenario"], "description": r.get("description", "")}
            for r in comparison.table.to_dict(orient="records")
        ],
        headline=_headline_rows(comparison.table),
        moved=table(shown),
        pcns=table(pcns),
    )


def _pounds(value: object) -> str:
    """Money to the pound, or a dash."""
    return "–" if value is None or pd.isna(value) else f"£{float(value):,.0f}"  # type: ignore[arg-type]


def _headline_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The headline figures as rows of a narrow table (one column per scenario), formatted."""

    def pct(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{100 * float(v):.1f} %"  # type: ignore[arg-type]

    def km(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{float(v) / 1000:.1f} km"  # type: ignore[arg-type]

    def count(v: object) -> str:
        return "–" if v is None or pd.isna(v) else f"{int(v):,}"  # type: ignore[call-overload]

    def change(v: object) -> str:  # below £1 is no change
        if v is None or pd.isna(v) or abs(float(v)) < 1:  # type: ignore[arg-type]
            return "no change"
        return f"{'+' if float(v) > 0 else '−'}£{abs(float(v)):,.0f}"  # type: ignore[arg-type]

    measures = [
        ("Practices", "practices", count),
        ("Registered patients", "patients", count),
        ("PCNs", "pcns", count),
        ("PCNs within the size band", "share_pcns_in_band", pct),
        ("Patients in PCNs within the band", "share_patients_in_band", pct),
        ("Mean distance to the hub practice", "mean_distance_to_hub_m", km),
        ("Practices changing PCN, against the baseline", "practices_changing_pcn", count),
        (
            "Practices changing PCN, against the current PCNs",
            "practices_changing_from_current",
            count,
        ),
        ("ARRS in all", "arrs_total_gbp", _pounds),
        ("ARRS change against the baseline", "arrs_change_gbp", change),
        ("All rules met", "valid", lambda v: "yes" if v else "no"),
    ]
    return [
        {"label": label, "values": [show(v) for v in frame[column]]}
        for label, column, show in measures
        if column in frame
    ]


def write_comparison(
    comparison: ScenarioComparison, out: str | Path, *, tiles: bool = True
) -> Path:
    """Write ``compare.csv``, ``practices.csv``, ``pcns.csv``, ``compare.html`` and ``map.html``.

    Written atomically; ``summary.json`` last.
    """
    from pcnopt import maps

    outputs.check_apart_from_inputs(out, comparison.folders, option="--out")
    fmap = comparison_map(comparison, tiles=tiles)

    def write_map(path: Path) -> None:
        maps.write_map(fmap, path)

    return outputs.write_folder(
        out,
        {
            "compare.csv": outputs.csv_writer(comparison.table),
            "practices.csv": outputs.csv_writer(comparison.practices),
            "pcns.csv": outputs.csv_writer(comparison.pcns),
            "compare.html": outputs.text_writer(comparison_html(comparison)),
            "map.html": write_map,
            "summary.json": outputs.json_writer(
                {
                    "compared": [str(f) for f in comparison.folders],
                    "baseline": comparison.names[0],
                    "scenarios": comparison.table.replace({np.nan: None}).to_dict(orient="records"),
                }
            ),
        },
        command="compare",
    )
