"""England benchmark: the optimiser against the real PCN configurations, place by place.

Runs ``optimise`` on every practice of England (list sizes January 2021) for every sub-ICB
(April 2023, 106 places) and every CCG (April 2019, 191 places), and prints, side by side with
the real configurations of December 2019 and October 2024 evaluated on the same practices,
catchments and places: share of PCNs and patients within the band, PCNs not contiguous or
crossing a place, patient-weighted mean distance to the PCN hub, places proven optimal, gaps
and wall time.

Usage::

    python benchmarks/england.py [--places subicb|ccg|both] [--time-limit 60] [--jobs 2]
        [--rows optimised|refresh|fewest|both|all] [--details PATH.csv] [--only ID,ID]
        [--solver cbc|highs]

The "refresh from October 2024" row optimises every place with ``--objective disruption``
against the October 2024 ePCN configuration (``pcn2024_10_code``): share of patients in band,
patients moved, current PCNs kept whole, places proven, gaps and wall time. The "fewest PCNs"
row optimises every place with ``n_pcns="fewest"`` (as few PCNs as the band allows, then the
most compact plan of that count): PCNs, share of patients in band, places proven, gaps and
wall time. ``--rows both`` is the optimised and refresh rows; ``all`` adds fewest. ``--details``
writes one CSV row per place and run (practices, status, gap, seconds, solver message).
``--only`` restricts the run to the named places (``RunConfig.area``: their practices only).
``--solver`` is the run's solver (``RunConfig.solver``; CBC by default).

Needs ../shared/data. Prints Markdown tables; timings are wall-clock on the machine named in
the header.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._table import markdown  # noqa: E402
from pcnopt.metrics import configuration_metrics, mean_distance_by_place  # noqa: E402
from pcnopt.run import RunConfig, RunResult, run_optimise  # noqa: E402
from pcnopt.run.report import current_against_proposed  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PLACES = {
    "subicb": (
        "Sub-ICB April 2023",
        "boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson",
        "SICBL23CD",
    ),
    "ccg": ("CCG April 2019", "boundaries/CCG_April_2019_EN_BUC_wgs84.geojson", "CCG19CD"),
}
REAL = {"real Dec 2019 (ePCN)": "pcn2019_code", "real Oct 2024 (ePCN)": "pcn2024_10_code"}
REFRESH_TITLE = "refresh from October 2024 (least disruption)"


def practices_table(folder: Path) -> Path:
    """Every practice with a January 2021 list size and coordinates, with real PCNs."""
    joined = pd.read_csv(SHARED / "england/practices_england_joined.csv", dtype=str)
    keep = joined["list_size_2021_01"].notna() & joined["lat"].notna()
    table = joined.loc[
        keep,
        [
            "practice_code",
            "name",
            "lat",
            "lon",
            "list_size_2021_01",
            "weighted_2018_19",
            *REAL.values(),
        ],
    ]
    path = folder / "england.csv"
    table.rename(columns={"list_size_2021_01": "list_size"}).to_csv(path, index=False)
    return path


def run(
    kind: str,
    table: Path,
    *,
    time_limit: float,
    jobs: int,
    gap: float,
    details: Path | None = None,
    only: tuple[str, ...] = (),
    solver: str = "cbc",
) -> tuple[list[dict], dict]:
    label = PLACES[kind][0]
    result, places, _, wall = _solved(
        kind,
        table,
        details=details,
        suffix="",
        time_limit=time_limit,
        jobs=jobs,
        mip_gap=gap,
        area=only,
        solver=solver,
    )
    practices = result.practices
    raw = pd.read_csv(table, dtype=str).set_index("practice_code")
    rows = []
    configurations = {"pcnopt (optimised)": result.assignments[["practice_code", "pcn_id"]]}
    for name, col in REAL.items():
        pcn = practices["practice_code"].map(raw[col])
        configurations[name] = pd.DataFrame(
            {"practice_code": practices["practice_code"], "pcn_id": pcn}
        )
    distance = {}
    for name, assignments in configurations.items():
        metrics = configuration_metrics(
            practices=practices,
            assignments=assignments.dropna(subset=["pcn_id"]),
            edges=result.edges,
            min_size=30_000,
            max_size=50_000,
        )
        distance[name] = mean_distance_by_place(practices, assignments.dropna(subset=["pcn_id"]))
        rows.append({"places": label, "configuration": name, **metrics})
    opt = distance["pcnopt (optimised)"]
    real = distance["real Dec 2019 (ePCN)"].reindex(opt.index)
    summary = {
        "places": len(places),
        "optimal": int((places["status"] == "optimal").sum()),
        "below_minimum (optimal, named exception)": int(
            (places["status"] == "below_minimum").sum()
        ),
        "feasible (time limit, gap shown)": int((places["status"] == "feasible").sum()),
        "infeasible (fallback)": int((places["status"] == "infeasible").sum()),
        "other": int(
            (~places["status"].isin(["optimal", "below_minimum", "feasible", "infeasible"])).sum()
        ),
        "largest gap %": round(100 * float(places["gap"].fillna(0).max()), 2),
        "median place seconds": round(float(places["seconds"].median()), 1),
        "slowest place seconds": round(float(places["seconds"].max()), 1),
        "places with shorter distance than real 2019": f"{int((opt < real).sum())} of "
        f"{int(real.notna().sum())}",
        "wall seconds": round(wall, 1),
    }
    return rows, summary


def _solved(
    kind: str, table: Path, *, details: Path | None, suffix: str, **settings: object
) -> tuple[RunResult, pd.DataFrame, dict, float]:
    """Run ``optimise`` on every place of ``kind``; the result, its places, metrics and wall.

    The places' details go to ``DETAILS_<kind>_<suffix>.csv`` (no suffix: ``DETAILS_<kind>.csv``).
    """
    _, boundary, column = PLACES[kind]
    config = RunConfig(
        practices=table,
        places=SHARED / boundary,
        place_column=column,
        repair_geometries=True,
        **settings,  # type: ignore[arg-type]
    )
    started = time.perf_counter()
    result = run_optimise(config, progress=sys.stderr.isatty())
    wall = time.perf_counter() - started
    places = result.places_table
    if details is not None:
        _write_details(
            places,
            result.practices,
            details.with_name(f"{details.stem}_{kind}{'_' + suffix if suffix else ''}.csv"),
        )
    metrics = configuration_metrics(
        practices=result.practices,
        assignments=result.assignments[["practice_code", "pcn_id"]].dropna(subset=["pcn_id"]),
        edges=result.edges,
        min_size=30_000,
        max_size=50_000,
    )
    return result, places, metrics, wall


def _proof_rows(places: pd.DataFrame, wall: float) -> dict:
    """Places proven, at the limit and other; largest gap; median and slowest place; wall."""
    proven = places["status"].isin(["optimal", "below_minimum", "trivial"])
    return {
        "places proven (optimal or below_minimum)": f"{int(proven.sum())} of {len(places)}",
        "places stopped at the time limit": int((places["status"] == "feasible").sum()),
        "places other": int(
            (~places["status"].isin(["optimal", "below_minimum", "feasible", "infeasible"])).sum()
        ),
        "largest gap %": round(100 * float(places["gap"].fillna(0).max()), 2),
        "median place seconds": round(float(places["seconds"].median()), 1),
        "slowest place seconds": round(float(places["seconds"].max()), 1),
        "wall seconds": round(wall, 1),
    }


def refresh(
    kind: str,
    table: Path,
    *,
    time_limit: float,
    jobs: int,
    gap: float,
    details: Path | None = None,
    only: tuple[str, ...] = (),
    solver: str = "cbc",
) -> dict:
    """The "refresh from October 2024" row: least disruption against the October 2024 PCNs.

    Every place is optimised with ``objective="disruption"`` (patients whose practice leaves
    the current PCN its new PCN continues), the current PCN of each practice being its
    October 2024 ePCN (``pcn2024_10_code``, the newest dated column, which ``optimise`` reads
    by default). Patients moved and current PCNs kept whole are counted by
    :func:`pcnopt.run.report.current_against_proposed`, as the run report does.
    """
    result, places, metrics, wall = _solved(
        kind,
        table,
        details=details,
        suffix="refresh",
        time_limit=time_limit,
        jobs=jobs,
        mip_gap=gap,
        objective="disruption",
        current_pcn="pcn2024_10_code",
        area=only,
        solver=solver,
    )
    change = current_against_proposed(result)
    assert change is not None  # the table has pcn2024_10_code
    return {
        "places": len(places),
        "share_patients_in_band": round(100 * metrics["share_patients_in_band"], 1),
        "share_patients_in_band_or_exception": round(
            100 * metrics["share_patients_in_band_or_exception"], 1
        ),
        "patients_moved": f"{change['patients_moved']:,} of {change['patients']:,}",
        "practices_moved": f"{change['practices_moved']:,} of {change['practices']:,}",
        "current PCNs kept whole": f"{change['kept_whole']:,} of {change['current_pcns']:,}",
        "rules_broken": metrics["rules_broken"],
        **_proof_rows(places, wall),
    }


def fewest(
    kind: str,
    table: Path,
    *,
    time_limit: float,
    jobs: int,
    gap: float,
    details: Path | None = None,
    only: tuple[str, ...] = (),
    solver: str = "cbc",
) -> dict:
    """The "fewest PCNs" row: every place at the fewest PCNs the band allows, then compact.

    Proven means both stages proven: no plan of fewer PCNs meets the rules, and no plan of that
    count is more compact.
    """
    result, places, metrics, wall = _solved(
        kind,
        table,
        details=details,
        suffix="fewest",
        time_limit=time_limit,
        jobs=jobs,
        mip_gap=gap,
        n_pcns="fewest",
        area=only,
        solver=solver,
    )
    return {
        "places": len(places),
        "PCNs": int(result.assignments["pcn_id"].nunique()),
        "share_patients_in_band": round(100 * metrics["share_patients_in_band"], 1),
        "share_patients_in_band_or_exception": round(
            100 * metrics["share_patients_in_band_or_exception"], 1
        ),
        "rules_broken": metrics["rules_broken"],
        **_proof_rows(places, wall),
    }


def _write_details(places: pd.DataFrame, practices: pd.DataFrame, path: Path) -> None:
    """One row per place: practices, status, gap, seconds, method and the solver's message."""
    counts = practices.groupby("place_id").size().rename("practices")
    out = places.join(counts, on="place_id") if "place_id" in places else places
    out.to_csv(path, index=False)
    print(f"<!-- per-place details: {path} -->\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--places", choices=["subicb", "ccg", "both"], default="both")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per place")
    parser.add_argument("--mip-gap", type=float, default=0.0)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument(
        "--rows",
        choices=["optimised", "refresh", "fewest", "both", "all"],
        default="both",
        help="the optimised (compact) run beside the real configurations, the refresh from "
        "October 2024 (objective disruption), the fewest PCNs (n_pcns fewest), both "
        "(optimised and refresh) or all three",
    )
    parser.add_argument(
        "--details",
        type=Path,
        default=None,
        help="write one CSV row per place (practices, status, gap, seconds, message) to "
        "DETAILS_<places>.csv",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated place ids: run these places only (e.g. E38000080,E38000244)",
    )
    parser.add_argument(
        "--solver",
        default="cbc",
        help="the run's solver (the setting solver: cbc, the default, or highs), for every "
        "place and stage",
    )
    args = parser.parse_args()
    only = tuple(p for p in args.only.split(",") if p)
    if not SHARED.is_dir():
        sys.exit(f"needs the shared data at {SHARED}")
    print(
        f"# England benchmark\n\nMachine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()}; time limit "
        f"{args.time_limit:g} s per place, gap {args.mip_gap:g}, jobs {args.jobs or 'all'}, "
        f"solver {args.solver}.\n"
    )
    kinds = ["subicb", "ccg"] if args.places == "both" else [args.places]
    with tempfile.TemporaryDirectory() as tmp:
        table = practices_table(Path(tmp))
        for kind in kinds:
            settings = {
                "time_limit": args.time_limit,
                "jobs": args.jobs,
                "gap": args.mip_gap,
                "details": args.details,
                "only": only,
                "solver": args.solver,
            }
            one_column_rows = (
                ("refresh", ("refresh", "both", "all"), refresh, REFRESH_TITLE),
                ("fewest", ("fewest", "all"), fewest, "fewest PCNs, then most compact"),
            )
            for column, asked, row_of, title in one_column_rows:
                if args.rows in asked:
                    row = row_of(kind, table, **settings)
                    print(f"## {PLACES[kind][0]}: {title}\n")
                    print(markdown(pd.Series(row).astype(str).to_frame(column), index=True))
                    print(flush=True)
            if args.rows in ("refresh", "fewest"):
                continue
            rows, summary = run(kind, table, **settings)
            frame = pd.DataFrame(rows)
            for column in (
                "share_pcns_in_band",
                "share_patients_in_band",
                "share_patients_in_band_or_exception",
            ):
                frame[column] = (100 * frame[column]).round(1)
            frame["mean_distance_m"] = frame["mean_distance_m"].round(0).astype(int)
            print(f"## {PLACES[kind][0]}\n")
            print(markdown(frame.drop(columns="places")))
            print()
            print(markdown(pd.Series(summary).astype(str).to_frame("optimiser"), index=True))
            print(flush=True)


if __name__ == "__main__":
    main()
