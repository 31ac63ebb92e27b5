"""England map benchmark: HTML size and time to first render in headless Chromium.

Draws every practice of England (list sizes January 2021) in its real PCN of December 2019
(ePCN, ``pcn2019_code``), with catchment cells in the sub-ICB places of April 2023, and again
with the October 2024 PCNs as a second layer. For each map it reports the time to build and
write it, the HTML size, and the time to first render in headless Chromium: from the start of
navigation to the moment every layer is drawn (two animation frames after the last layer was
added), on the first load in a fresh browser and as the median of more loads. Targets: under
15 MB and under 5 s (cold).

Usage::

    python benchmarks/maps_england.py [--repeat 3] [--keep DIR]

Needs ../shared/data, /usr/bin/chromium and /usr/bin/chromedriver (``.ci/run`` installs them)
and selenium. Prints a Markdown table headed by the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._chromium import CHROMIUM, headless_chromium  # noqa: E402
from benchmarks._table import markdown  # noqa: E402
from pcnopt import geography, maps  # noqa: E402
from pcnopt.run import RunConfig, load_inputs  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PLACES = SHARED / "boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson"
REAL = {"Real Dec 2019 (ePCN)": "pcn2019_code", "Real Oct 2024 (ePCN)": "pcn2024_10_code"}
SIZE_TARGET_MB = 15.0
RENDER_TARGET_S = 5.0


def practices_table(folder: Path) -> Path:
    """Every practice with a January 2021 list size and coordinates, with its real PCNs."""
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


def machine() -> str:
    """The machine the benchmark ran on, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        chromium = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium = "chromium not found"
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {chromium}"
    )


def render_seconds(path: Path, *, repeat: int) -> dict[str, object]:
    """Seconds from navigation start to the map drawn, in a fresh browser (cold: first load)
    and the median of ``repeat`` more loads (warm); PCN areas in the DOM (SVG), practice
    markers drawn (SVG or canvas) and browser errors."""
    driver = headless_chromium(width=1400, height=1000)
    times = []
    try:
        for _ in range(1 + repeat):
            driver.get("about:blank")
            driver.get(path.resolve().as_uri())
            deadline = time.monotonic() + 120
            ready = None
            while ready is None and time.monotonic() < deadline:
                ready = driver.execute_script("return window.pcnoptReady || null")
                if ready is None:
                    time.sleep(0.05)
            if ready is None:
                raise RuntimeError(f"{path} did not finish drawing within 120 s")
            times.append(float(ready) / 1000)
        areas = len(driver.find_elements("css selector", "path.pcn-area"))
        markers = int(driver.execute_script("return window.pcnoptDrawn.practices"))
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
    return {
        "cold": times[0],
        "warm": statistics.median(times[1:]) if repeat else times[0],
        "areas": areas,
        "markers": markers,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="warm page loads per map after the cold one (median)"
    )
    parser.add_argument("--keep", type=Path, help="write the maps to this folder to keep them")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pcnopt-maps-"))
    out = args.keep or folder
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    table = practices_table(folder)
    config = RunConfig(
        practices=table, places=PLACES, place_column="SICBL23CD", repair_geometries=True
    )
    practices, places, _ = load_inputs(config)
    catchments = geography.catchments_from_practices(practices, places)
    edges = geography.adjacency_from_catchments(catchments)
    prepare = time.perf_counter() - started
    raw = pd.read_csv(table, dtype=str).set_index("practice_code")
    t0 = time.perf_counter()
    configurations = []
    for name, column in REAL.items():
        assignments = pd.DataFrame(
            {
                "practice_code": practices["practice_code"],
                "pcn_id": practices["practice_code"].map(raw[column]),
            }
        )
        configurations.append(
            maps.configuration_from_assignments(
                assignments,
                name=name,
                practices=practices,
                places=places,
                catchments=catchments,
                edges=edges,
            )
        )
    configure = (time.perf_counter() - t0) / len(REAL)

    rows = []
    for label, chosen, tiles, renderer in (
        ("Dec 2019 PCNs, no tiles", configurations[:1], False, "auto"),
        ("Dec 2019 PCNs, with tiles", configurations[:1], True, "auto"),
        ("Dec 2019 + Oct 2024 layers, no tiles", configurations, False, "auto"),
        ("Dec 2019 PCNs, no tiles, all SVG", configurations[:1], False, "svg"),
    ):
        t0 = time.perf_counter()
        fmap = maps.map_from_configurations(
            chosen,
            practices=practices,
            places=places,
            tiles=tiles,
            title="PCNs of England",
            renderer=renderer,
        )
        path = maps.write_map(fmap, out / f"england_{len(rows) + 1}.html")
        build = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        measured = render_seconds(path, repeat=args.repeat)
        render = float(measured["cold"])  # type: ignore[arg-type]
        script_errors = [
            e
            for e in measured["errors"]  # type: ignore[attr-defined]
            if "Failed to load resource" not in e
        ]
        rows.append(
            {
                "map": label,
                "practices": len(practices),
                "PCN areas (first layer)": len(chosen[0].pcns),
                "areas in DOM": measured["areas"],
                "markers drawn": measured["markers"],
                "build + write (s)": round(build, 1),
                "HTML (MB)": round(size_mb, 2),
                "first render, cold (s)": round(render, 2),
                "warm (s)": round(float(measured["warm"]), 2),  # type: ignore[arg-type]
                "JS errors": len(script_errors),
                "within targets": "yes"
                if size_mb < SIZE_TARGET_MB and render < RENDER_TARGET_S and not script_errors
                else "NO",
            }
        )
        for error in script_errors[:5]:
            print(f"  {label}: {error}", file=sys.stderr)

    print(f"# England map benchmark\n\nMachine: {machine()}\n")
    print(
        f"Practices, places, catchments and adjacency prepared in {prepare:.0f} s "
        f"({len(places)} sub-ICB places); each configuration (validator, hubs, areas) in "
        f"{configure:.0f} s. Render time: from navigation start to every layer drawn, on the "
        f"first load in a fresh browser (cold; judged against the target) and the median of "
        f'{args.repeat} more loads (warm). "auto" draws practice markers on a canvas (they '
        'are not DOM elements); "all SVG" makes each one an SVG path. Targets: HTML < '
        f"{SIZE_TARGET_MB:g} MB, first render < {RENDER_TARGET_S:g} s.\n"
    )
    print(markdown(pd.DataFrame(rows)))
    if args.keep:
        print(f"\nmaps kept in {out}/")
    return 0 if all(r["within targets"] == "yes" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
