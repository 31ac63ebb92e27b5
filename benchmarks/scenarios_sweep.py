"""Sweep benchmark: 20 band scenarios over all of England, one process vs local processes vs a
two-worker Dask LocalCluster.

Every scenario runs ``optimise`` on every practice of England (list sizes January 2021) with
the 106 sub-ICBs of April 2023 as places; the scenarios differ in the size band, from 25-45k
to 35-60k (minimum 25, 27.5, 30, 32.5, 35k x maximum 45, 50, 55, 60k). Each engine runs the
whole batch from scratch (no place cache). Prints a Markdown table: batch wall time, wall time
per scenario (batch time / scenarios), and speed-up over one process, on the machine named in
the header; and whether each engine's configurations equal those of one process (with a time
limit a place that stops on it may legitimately differ between runs). ``--one-scenarios N``
runs the one-process baseline on N bands spread over the sweep (it is the slowest engine),
and the speed-ups compare wall time per scenario.

Usage::

    python benchmarks/scenarios_sweep.py [--scenarios 20] [--time-limit 10] [--mip-gap 0.02]
        [--engines one,local,dask] [--workers 2] [--one-scenarios N]

Needs ../shared/data.
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
from pcnopt.run import RunConfig  # noqa: E402
from pcnopt.scenarios import Scenario, run_scenarios  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PLACES = SHARED / "boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson"
MINIMA = (25_000, 27_500, 30_000, 32_500, 35_000)
MAXIMA = (45_000, 50_000, 55_000, 60_000)


def practices_table(folder: Path, *, subicbs: int = 0) -> Path:
    """Every practice of England with a January 2021 list size and coordinates.

    ``subicbs`` > 0 keeps only the practices of the first that many sub-ICBs (by code): a
    subset for machines or deadlines too short for all of England.
    """
    joined = pd.read_csv(SHARED / "england/practices_england_joined.csv", dtype=str)
    keep = joined["list_size_2021_01"].notna() & joined["lat"].notna()
    if subicbs:
        chosen = sorted(joined["sicbl23cd"].dropna().unique())[:subicbs]
        keep &= joined["sicbl23cd"].isin(chosen)
    table = joined.loc[
        keep,
        [
            "practice_code",
            "name",
            "lat",
            "lon",
            "list_size_2021_01",
            "weighted_2018_19",
            "pcn2019_code",
        ],
    ]
    path = folder / "england.csv"
    table.rename(columns={"list_size_2021_01": "list_size", "pcn2019_code": "current_pcn"}).to_csv(
        path, index=False
    )
    return path


def sweep(practices: Path, *, count: int, time_limit: float, gap: float) -> list[Scenario]:
    """The band scenarios, in order of the minimum then the maximum."""
    bands = [(lo, hi) for lo in MINIMA for hi in MAXIMA][:count]
    return [
        Scenario(
            name=f"band-{lo // 100 / 10:g}k-{hi // 1000}k",
            config=RunConfig(
                practices=practices,
                places=PLACES,
                place_column="SICBL23CD",
                repair_geometries=True,
                min_size=lo,
                max_size=hi,
                time_limit=time_limit,
                mip_gap=gap,
                jobs=1,
            ),
        )
        for lo, hi in bands
    ]


ENGINES = {
    "one": ("one process", None, 1),
    "local": ("local processes", None, 0),
    "dask": ("Dask LocalCluster", "local", 0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=20, help="how many of the 20 bands")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per place")
    parser.add_argument("--mip-gap", type=float, default=0.02)
    parser.add_argument("--engines", default="one,local,dask")
    parser.add_argument(
        "--workers", type=int, default=2, help="local processes and LocalCluster workers"
    )
    parser.add_argument(
        "--one-scenarios",
        type=int,
        default=0,
        help="the one-process baseline runs only this many of the bands, "
        "spread over the sweep (default 0: all)",
    )
    parser.add_argument(
        "--subicbs",
        type=int,
        default=0,
        help="only the practices of the first N sub-ICBs (default 0: England)",
    )
    args = parser.parse_args()
    if not 1 <= args.scenarios <= len(MINIMA) * len(MAXIMA):
        parser.error(f"--scenarios must be 1 to {len(MINIMA) * len(MAXIMA)}")
    if args.one_scenarios < 0:
        parser.error("--one-scenarios must be 0 (all the bands) or more")
    unknown = set(args.engines.split(",")) - set(ENGINES)
    if unknown:
        parser.error(
            f"--engines: unknown {', '.join(sorted(unknown))}; choose from " + ", ".join(ENGINES)
        )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table = practices_table(folder, subicbs=args.subicbs)
        practices = len(pd.read_csv(table, usecols=["practice_code"]))
        scenarios = sweep(table, count=args.scenarios, time_limit=args.time_limit, gap=args.mip_gap)
        keys = args.engines.split(",")
        order = sorted(keys, key=lambda k: k != "one")  # the baseline first
        sample = scenarios
        if args.one_scenarios and args.one_scenarios < len(scenarios):
            n = args.one_scenarios
            picks = sorted({round(i * (len(scenarios) - 1) / max(1, n - 1)) for i in range(n)})
            sample = [scenarios[i] for i in picks]
        rows, per_scenario, reference, one_times = [], {}, None, {}
        for key in order:
            label, scheduler, jobs = ENGINES[key]
            jobs = jobs if jobs == 1 else args.workers
            batch = sample if key == "one" else scenarios
            started = time.perf_counter()
            report = run_scenarios(
                batch,
                out=folder / key,
                scheduler=scheduler,
                jobs=jobs,
                cache=False,
                progress=sys.stderr.isatty(),
            )
            wall = time.perf_counter() - started
            per_scenario[key] = wall / len(batch)
            if key == "one":
                one_times = {r.name: r.seconds for r in report.runs}
            configurations = {
                s.name: pd.read_csv(
                    folder / key / s.name / "assignments.csv", usecols=["practice_code", "pcn_id"]
                )
                for s in batch
            }
            if reference is None:
                reference = configurations
            common = [n for n in configurations if n in reference]
            same = sum(configurations[n].equals(reference[n]) for n in common)
            statuses = pd.concat(
                [pd.read_csv(folder / key / s.name / "places.csv")["status"] for s in batch]
            ).value_counts()
            seconds = pd.Series([r.seconds for r in report.runs])
            baseline = per_scenario.get("one")
            rows.append(
                {
                    "engine": f"{label} ({report.engine})",
                    "scenarios": len(batch),
                    "places solved": report.places_solved,
                    "batch wall s": round(wall, 1),
                    "wall s per scenario": round(wall / len(batch), 1),
                    "one scenario's own s (median / max)": f"{seconds.median():.0f} / "
                    f"{seconds.max():.0f}",
                    "speed-up vs one process (per scenario)": f"{baseline / per_scenario[key]:.2f}"
                    if baseline
                    else "",
                    "configurations equal to the first engine's": f"{same}/{len(common)}",
                    "places optimal / stopped at the limit": f"{int(statuses.get('optimal', 0))} / "
                    f"{int(statuses.get('feasible', 0))}",
                }
            )
            print(
                f"{label}: {wall:.1f} s; " + "; ".join(f"{k}: {v}" for k, v in rows[-1].items()),
                file=sys.stderr,
                flush=True,
            )
    where = (
        f"the first {args.subicbs} sub-ICBs of England (a subset)"
        if args.subicbs
        else "all of England"
    )
    print(
        f"# Scenario sweep over {where}: {len(scenarios)} bands, sub-ICB places, "
        f"{practices:,} practices\n"
    )
    print(
        f"Machine: {platform.node()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (shared); Python {platform.python_version()}; time limit "
        f"{args.time_limit:g} s per place, gap {args.mip_gap:g}; bands "
        + ", ".join(s.name.removeprefix("band-") for s in scenarios)
        + ".\n"
    )
    if len(sample) < len(scenarios):
        print(
            f"One process ran {len(sample)} of the {len(scenarios)} bands, spread over the "
            "sweep (" + ", ".join(s.name.removeprefix("band-") for s in sample) + "); its "
            "wall time per scenario is their mean, and each speed-up is that over the "
            "engine's wall time per scenario on all the bands.\n"
        )
    print(markdown(pd.DataFrame(rows)))
    if one_times:
        print("\nOne process, seconds per band (each scenario alone on one core):\n")
        print(
            markdown(
                pd.DataFrame(
                    {
                        "band": [n.removeprefix("band-") for n in one_times],
                        "seconds": [round(v, 1) for v in one_times.values()],
                    }
                )
            )
        )


if __name__ == "__main__":
    main()
