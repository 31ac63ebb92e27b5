"""Check that two versions of pcnopt write byte-identical outputs (a refactoring changes nothing).

Runs every command of the README on the embedded demo (and, with ``--nhs``, ``prepare-nhs`` on
the shared NHS files) with the code of a baseline revision and with the working tree, then
compares every file written. ``run_log.json`` (times, machine) and ``pcnopt-manifest.json``
(which hashes ``run_log.json``) are the only files allowed to differ.

Usage::

    python benchmarks/identical_outputs.py [--baseline REV] [--nhs]

Exit status 0 when every file is identical, 1 otherwise (the differing files are listed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared" / "data" / "nhs-files"
VOLATILE = {"run_log.json", "pcnopt-manifest.json"}


def commands(out: Path, *, nhs: bool) -> list[list[str]]:
    """The README's commands, writing under ``out``."""
    demo = [
        "--practices",
        "data/practices.csv",
        "--places",
        "data/places.geojson",
        "--place-column",
        "place_id",
    ]
    runs = [
        ["optimise", "--out", f"{out}/optimise"],
        [
            "validate",
            *demo,
            "--assignments",
            "data/practices.csv",
            "--pcn-column",
            "current_pcn",
            "--report",
            f"{out}/validate.csv",
        ],
        [
            "funding",
            "--practices",
            "data/practices.csv",
            "--assignments",
            f"{out}/optimise/assignments.csv",
            "--year",
            "2025/26",
            "--compare",
            "data/practices.csv",
            "--compare-pcn-column",
            "current_pcn",
            "--out",
            f"{out}/funding",
        ],
        [
            "map",
            *demo,
            "--assignments",
            f"Proposed={out}/optimise/assignments.csv",
            "--compare",
            "Current=data/practices.csv",
            "--no-tiles",
            "--out",
            f"{out}/map/map.html",
        ],
        [  # nested levels, top-down (the places solved on every core, the default --jobs 0)
            "neighbourhoods",
            "--level",
            "neighbourhood=100000-250000",
            "--level",
            "pcn=30000-50000",
            "--no-tiles",
            "--out",
            f"{out}/neighbourhoods",
        ],
        [  # bottom-up: the demo's current PCNs grouped whole
            "neighbourhoods",
            "--band",
            "100000-250000",
            "--group-current",
            "--no-tiles",
            "--out",
            f"{out}/neighbourhoods-grouped",
        ],
        [
            "optimise",
            "--level",
            "mnp=120000-200000",
            "--level",
            "neighbourhood=60000-100000",
            "--level",
            "pcn=25000-50000",
            "--jobs",
            "1",
            "--out",
            f"{out}/optimise-levels",
        ],
        [
            "run",
            *sorted(str(p.relative_to(PROJECT)) for p in PROJECT.glob("examples/demo_*.toml")),
            "--out",
            f"{out}/scenarios",
            "--jobs",
            "1",
            "--no-progress",
        ],
        [
            "compare",
            f"{out}/scenarios/demo-base",
            f"{out}/scenarios/demo-merger",
            "--out",
            f"{out}/compare",
            "--no-tiles",
        ],
    ]
    if nhs:
        runs.append(
            [
                "prepare-nhs",
                "--epraccur",
                f"{SHARED}/epraccur-2023-01/epraccur.csv",
                "--list-sizes",
                f"{SHARED}/gp-reg-pat-prac-all-2021-01/gp-reg-pat-prac-all.csv",
                "--postcodes",
                f"{SHARED}/codepoint-open-2014-08/codepo_gb_2014-08_latlon.csv.gz",
                "--epcn",
                f"{SHARED}/epcn-2019-12/ePCN.xlsx",
                "--payments",
                f"{SHARED}/payments-2018-19/nhspaymentsgp-18-19-csv.csv",
                "--out",
                f"{out}/england.csv",
            ]
        )
    return runs


def run_all(tree: Path, out: Path, *, nhs: bool) -> list[int]:
    """Run every command with the code in ``tree``; return the exit codes."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    codes = []
    for argv in commands(out, nhs=nhs):
        done = subprocess.run(
            [sys.executable, str(tree / "cli.py"), *argv],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        codes.append(done.returncode)
        print(f"  {tree.name}: {argv[0]:<12} exit {done.returncode}", flush=True)
    return codes


def _normalised(path: Path, *, tree: Path, out: Path) -> bytes:
    """The file's bytes with the code tree's and the output folder's paths made neutral."""
    data = path.read_bytes()
    # the embedded demo moved from data/ to the package (pcnopt/data/demo): the one path that
    # differs by design, recorded in summary.json of a run on the default
    demos = ((tree / "pcnopt" / "data" / "demo", b"<DEMO>"), (tree / "data", b"<DEMO>"))
    for where, mark in (*demos, (out, b"<OUT>"), (tree, b"<TREE>")):
        data = data.replace(str(where).encode(), mark)
    return data


def _stopped_at_time_limit(out: Path) -> set[Path]:
    """Run folders (relative to ``out``) with a place that stopped at its time limit."""
    import csv

    timed = set()
    for places in out.rglob("places.csv"):
        with places.open(encoding="utf-8") as handle:
            if any(row.get("status") == "feasible" for row in csv.DictReader(handle)):
                timed.add(places.parent.relative_to(out))
    return timed


def differences(a: Path, b: Path, *, tree_a: Path, tree_b: Path) -> list[str]:
    """Files present in only one tree or with different bytes (volatile files excepted).

    Paths differ between the two runs (each reads its own tree's demo and writes its own
    folder), so they are replaced by placeholders before the bytes are compared.
    """
    # the place cache (.cache/places/<key>.json) is not an output: its keys hash the solver
    # function's module, which a refactoring moves
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and ".cache" not in p.parts}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and ".cache" not in p.parts}
    found = [f"only in baseline: {p}" for p in sorted(files_a - files_b)]
    found += [f"only in working tree: {p}" for p in sorted(files_b - files_a)]
    timed = _stopped_at_time_limit(a) | _stopped_at_time_limit(b)
    for folder in sorted(timed):
        found.append(
            f"not compared (a place stopped at its time limit, so the plan depends on "
            f"the machine's speed): {folder}"
        )
    for p in sorted(files_a & files_b):
        if (
            p.name in VOLATILE
            or ".cache" in p.parts
            or any(parent in timed for parent in p.parents)
        ):
            continue
        if _normalised(a / p, tree=tree_a, out=a) != _normalised(b / p, tree=tree_b, out=b):
            found.append(f"differs: {p}")
    return found


def main() -> int:
    """Run both versions, compare, print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD", help="git revision to compare against")
    parser.add_argument("--nhs", action="store_true", help="also prepare-nhs on ../shared")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pcnopt-identical-") as tmp:
        base_tree = Path(tmp) / "baseline"
        subprocess.run(
            [
                "git",
                "-C",
                str(PROJECT),
                "worktree",
                "add",
                "--detach",
                "-q",
                str(base_tree),
                args.baseline,
            ],
            check=True,
        )
        try:
            # the baseline reads its demo data from its own tree; outputs go to one folder each
            codes_a = run_all(base_tree, Path(tmp) / "out-baseline", nhs=args.nhs)
            codes_b = run_all(PROJECT, Path(tmp) / "out-new", nhs=args.nhs)
            found = differences(
                Path(tmp) / "out-baseline", Path(tmp) / "out-new", tree_a=base_tree, tree_b=PROJECT
            )
        finally:
            subprocess.run(
                ["git", "-C", str(PROJECT), "worktree", "remove", "--force", str(base_tree)],
                check=False,
            )
    if codes_a != codes_b:
        found.insert(0, f"exit codes differ: baseline {codes_a}, working tree {codes_b}")
    print(f"\n{'command':<12} exit (baseline / working tree)")
    for argv, a, b in zip(commands(Path("OUT"), nhs=args.nhs), codes_a, codes_b, strict=True):
        print(f"{argv[0]:<12} {a} / {b}")
    notes = [f for f in found if f.startswith("not compared")]
    found = [f for f in found if not f.startswith("not compared")]
    if notes:
        print("\n" + "\n".join(notes))
    if found:
        print("\nNOT identical:\n  " + "\n  ".join(found))
        return 1
    print(
        f"\nidentical: every output file of {len(codes_a)} commands (except run_log.json and "
        "the manifest that hashes it)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
