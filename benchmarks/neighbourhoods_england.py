"""England benchmark of ``neighbourhoods``: PCNs nested in neighbourhood footprints.

On every practice of England (the table ``prepare-nhs`` builds from the NHS files in
../shared: list sizes January 2021, PCNs of ePCN December 2019, or of October 2024 with
``--pcns 2024-10``) with sub-ICB places (April 2023, 106 places), runs

1. bottom-up: those PCNs (the table's ``current_pcn``; one crossing places split by place
   first) grouped whole into contiguous neighbourhoods within ``--band``, and
2. top-down: neighbourhoods within ``--band`` designed on the practices, then PCNs within
   ``--pcn-band`` inside each (``--top-down-places`` limits it to the first N sub-ICBs by code),

and prints for each level of each run: units, share of units and of patients in band, units
not contiguous, council alignment (share of patients in their unit's main council area, as
local authority districts of December 2019; council boundaries crossed), places whose
neighbourhoods are proven (optimal; trivial: one possible answer; below minimum: the place
is too small for one neighbourhood, a named exception) and wall time.

Usage::

    python benchmarks/neighbourhoods_england.py [--band 150000-350000] \
        [--pcn-band 30000-50000] [--time-limit 60] [--top-down-places 10] [--skip-top-down] \
        [--pcns 2019-12|2024-10] [--jobs 2] [--skip-bottom-up]

The October 2024 PCNs are those of the national joined table's ``pcn2024_10_code`` (the same
ePCN file): ``prepare-nhs`` with ``--epcn nhs-files/epcn-2024-10/ePCN.xlsx`` gives every kept
practice exactly that PCN. Its practices are the January 2021 list-size file's: 15 practices of
an October 2024 PCN are not in the table (10 with no January 2021 list size, opened since),
so their PCNs are grouped without them.

Needs ../shared/data. Prints Markdown tables; timings are wall-clock on the machine named in
the header. Places are solved on ``--jobs`` local processes (default 1: one after another in
this process), largest first; the results do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._table import markdown  # noqa: E402
from pcnopt.neighbourhoods import (  # noqa: E402
    CouncilAlignment,
    NeighbourhoodResult,
    parse_band,
    run_neighbourhoods,
)
from pcnopt.run import RunConfig, load_inputs  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
NHS = SHARED / "nhs-files"
PLACES = SHARED / "boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson"
PLACE_COLUMN = "SICBL23CD"
COUNCILS = SHARED / "boundaries/LAD_December_2019_UK_BUC_wgs84.geojson"
COUNCIL_COLUMN = "lad19cd"


#: The ePCN file of each PCN vintage ``--pcns`` names, and how the rows call its PCNs.
EPCN = {
    "2019-12": ("epcn-2019-12/ePCN.xlsx", "Dec 2019"),
    "2024-10": ("epcn-2024-10/ePCN.xlsx", "Oct 2024"),
}


def practices_table(folder: Path, *, pcns: str = "2019-12") -> Path:
    """The README's ``prepare-nhs`` table of every practice of England, built in ``folder``,
    its ``current_pcn`` from the ePCN file of ``pcns`` (a key of :data:`EPCN`)."""
    path = folder / "england.csv"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "prepare-nhs",
            "--epraccur",
            str(NHS / "epraccur-2023-01/epraccur.csv"),
            "--list-sizes",
            str(NHS / "gp-reg-pat-prac-all-2021-01/gp-reg-pat-prac-all.csv"),
            "--postcodes",
            str(NHS / "codepoint-open-2014-08/codepo_gb_2014-08_latlon.csv.gz"),
            "--epcn",
            str(NHS / EPCN[pcns][0]),
            "--payments",
            str(NHS / "payments-2018-19/nhspaymentsgp-18-19-csv.csv"),
            "--out",
            str(path),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return path


def pcns_within_places(table: Path, config: RunConfig, folder: Path) -> tuple[Path, int]:
    """The table's current PCNs, each split by place where it crosses places.

    ``neighbourhoods`` refuses a given PCN across two places (no neighbourhood inside one place
    can hold it whole) and says to split it first: a crossing PCN's practices in each place
    become their own unit (``U12345@E38000123``). Places are pcnopt's own (``load_inputs``).
    Returns the file (``practice_code``, ``pcn_id``) and how many PCNs were split.
    """
    practices, _, _ = load_inputs(config)
    place_of = dict(zip(practices["practice_code"], practices["place_id"].astype(str), strict=True))
    given = pd.read_csv(table, dtype=str, usecols=["practice_code", "current_pcn"])
    given = given[given["practice_code"].isin(place_of) & given["current_pcn"].notna()]
    place = given["practice_code"].map(place_of)
    crossing = place.groupby(given["current_pcn"]).nunique()
    crossing = set(crossing[crossing > 1].index)
    split = given["current_pcn"].isin(crossing)
    pcn = given["current_pcn"].where(~split, given["current_pcn"] + "@" + place)
    path = folder / "pcns_within_places.csv"
    pd.DataFrame({"practice_code": given["practice_code"], "pcn_id": pcn}).to_csv(path, index=False)
    return path, len(crossing)


def first_places(n: int) -> tuple[str, ...]:
    """The first ``n`` sub-ICB codes in alphabetical order (0: every place, as ``()``)."""
    if n <= 0:
        return ()
    codes = json.loads(PLACES.read_text())["features"]
    return tuple(sorted(str(f["properties"][PLACE_COLUMN]) for f in codes)[:n])


def level_rows(result: NeighbourhoodResult, *, run: str, wall: float) -> list[dict]:
    """One row per level: units, band, contiguity, council alignment, places proven."""
    s = result.summary
    proven = int(
        result.places["neighbourhood_status"].isin(["optimal", "trivial", "below_minimum"]).sum()
    )
    rows = []
    for level, units, band in (
        ("neighbourhood", result.neighbourhoods, s["neighbourhood_band"]),
        ("PCN", result.pcns, s["pcn_band"]),
    ):
        patients = units["patients"].astype(float)
        outside = units["patients_outside_main_council"].astype(float).sum()
        rows.append(
            {
                "run": run,
                "level": level,
                "band": f"{band[0]:,.0f}-{band[1]:,.0f}",
                "units": len(units),
                "% units in band": round(100 * float(units["in_band"].mean()), 1),
                "% patients in band": round(
                    100 * float(patients[units["in_band"]].sum() / patients.sum()), 1
                ),
                "not contiguous": int((~units["contiguous"]).sum()),
                "% patients in main council": round(100 * (1 - outside / patients.sum()), 1),
                "council boundaries crossed": int((units["councils_spanned"] - 1).sum()),
                "places proven": f"{proven} of {s['places']}" if level == "neighbourhood" else "",
                "wall s": round(wall, 1) if level == "neighbourhood" else None,
            }
        )
    return rows


def run_config(
    table: Path,
    *,
    pcn_band: tuple[float, float],
    area: tuple[str, ...],
    time_limit: float,
    jobs: int = 1,
) -> RunConfig:
    """England (or ``area``) with sub-ICB places, PCNs in ``pcn_band``, no funding tables."""
    return RunConfig(
        practices=table,
        places=PLACES,
        place_column=PLACE_COLUMN,
        area=area,
        repair_geometries=True,
        min_size=pcn_band[0],
        max_size=pcn_band[1],
        time_limit=time_limit,
        funding_year=None,
        jobs=jobs,
    )


def run(
    table: Path,
    *,
    band: tuple[float, float],
    pcn_band: tuple[float, float],
    area: tuple[str, ...],
    time_limit: float,
    pcns: Path | None,
    jobs: int = 1,
) -> tuple[NeighbourhoodResult, float]:
    """One ``neighbourhoods`` run on England (or ``area``), timed: bottom-up when ``pcns``."""
    config = run_config(table, pcn_band=pcn_band, area=area, time_limit=time_limit, jobs=jobs)
    started = time.perf_counter()
    result = run_neighbourhoods(
        config,
        band=band,
        pcns_file=pcns,
        pcn_column="pcn_id" if pcns is not None else None,
        align=CouncilAlignment(COUNCILS, COUNCIL_COLUMN),
        progress=sys.stderr.isatty(),
    )
    return result, time.perf_counter() - started


def statuses(result: NeighbourhoodResult) -> str:
    """How each place's neighbourhood solve ended, counted."""
    counts = result.places["neighbourhood_status"].value_counts()
    return ", ".join(f"{status} {n}" for status, n in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--band", default="150000-350000", help="neighbourhoods' band")
    parser.add_argument("--pcn-band", default="30000-50000", help="PCNs' band (top-down)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument(
        "--top-down-places",
        type=int,
        default=0,
        help="top-down on the first N sub-ICBs by code only (0: all)",
    )
    parser.add_argument(
        "--bottom-up-places",
        type=int,
        default=0,
        help="bottom-up on the first N sub-ICBs by code only (0: all)",
    )
    parser.add_argument("--skip-top-down", action="store_true")
    parser.add_argument("--skip-bottom-up", action="store_true")
    parser.add_argument("--practices", type=Path, help="a prepare-nhs table (default: build one)")
    parser.add_argument(
        "--pcns",
        choices=sorted(EPCN),
        default="2019-12",
        help="the PCNs grouped bottom-up: ePCN December 2019, or October 2024",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes solving places at once (0: every core; default 1: this process)",
    )
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"needs the shared data at {SHARED}")
    band = parse_band(args.band, option="--band")
    pcn_band = parse_band(args.pcn_band, option="--pcn-band")
    print(
        f"# England benchmark: neighbourhoods\n\nMachine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}; "
        f"sub-ICB April 2023 places, councils LAD December 2019; neighbourhoods "
        f"{band[0]:,.0f}-{band[1]:,.0f}, PCNs {pcn_band[0]:,.0f}-{pcn_band[1]:,.0f}; time "
        f"limit {args.time_limit:g} s per solve; "
        + ("one process" if args.jobs == 1 else f"--jobs {args.jobs or os.cpu_count()} processes")
        + ".\n",
        flush=True,
    )
    rows = []
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        table = args.practices or practices_table(Path(tmp), pcns=args.pcns)
        vintage = EPCN[args.pcns][1]
        if not args.skip_bottom_up:
            area = first_places(args.bottom_up_places)
            label = f"first {len(area)} sub-ICBs" if area else "all places"
            config = run_config(table, pcn_band=pcn_band, area=area, time_limit=args.time_limit)
            pcns, n_split = pcns_within_places(table, config, Path(tmp))
            print(
                f"Bottom-up groups the table's current PCNs (ePCN {vintage}); {n_split} of them "
                "cross sub-ICB places (April 2023), which `neighbourhoods` refuses, so each is "
                "split by place first (its practices in each place one unit).\n",
                flush=True,
            )
            result, wall = run(
                table,
                band=band,
                pcn_band=pcn_band,
                area=area,
                time_limit=args.time_limit,
                pcns=pcns,
                jobs=args.jobs,
            )
            rows += level_rows(
                result, run=f"bottom-up, {vintage} PCNs grouped ({label})", wall=wall
            )
            notes.append(f"bottom-up, {label}: {statuses(result)}")
            print(markdown(pd.DataFrame(rows)), end="\n\n", flush=True)
        if not args.skip_top_down:
            area = first_places(args.top_down_places)
            label = f"first {len(area)} sub-ICBs" if area else "all places"
            result, wall = run(
                table,
                band=band,
                pcn_band=pcn_band,
                area=area,
                time_limit=args.time_limit,
                pcns=None,
                jobs=args.jobs,
            )
            rows += level_rows(result, run=f"top-down ({label})", wall=wall)
            notes.append(f"top-down, {label}: {statuses(result)}")
            unsplit = result.places["unsplittable"]
            unsplittable = int((unsplit != "").sum())
            notes.append(f"places with a top-down neighbourhood not splittable: {unsplittable}")
    print(f"## Both runs\n\n{markdown(pd.DataFrame(rows))}\n")
    print("Neighbourhood solves per place: " + "; ".join(notes) + ".")


if __name__ == "__main__":
    main()
