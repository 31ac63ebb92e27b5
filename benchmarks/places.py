"""Place-size benchmark: proven optimality and time on random places of 25 to 150 practices.

Solves :func:`pcnopt._model_instances.random_place` instances (practices of 2-20k patients,
8k on average, with Voronoi-catchment adjacency; the generator the tests use) with the
default method (set partitioning) and with the Hess model alone (``partition_candidates=0``),
and prints one row per place: status, gap, seconds, and the number of candidate networks.

Usage::

    python benchmarks/places.py [--sizes 25,50,100,150] [--seeds 0,1,2] [--time-limit 60]
        [--solver cbc|highs] [--methods partition,hess]
        [--objective compact|disruption|disruption-then-compact] [--keep-compliant]

``disruption`` refreshes a current configuration (:func:`tests.model.instances.with_current_pcns`:
one current PCN per 40,000 patients, in strips, a fifth of the practices moved at random, a
tenth with none); ``--keep-compliant`` keeps the current PCNs that meet every rule (released
again where the practices beside them cannot form networks alone: ``release_where_needed``).

Times are wall-clock on the machine named in the header (one thread per solve).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks._table import markdown
from pcnopt.model import (
    SolveOptions,
    compliant_current_pcns,
    kept_groups,
    release_where_needed,
    solve_place,
)
from pcnopt.model.solvers import solver_available
from tests.model.instances import random_place, with_current_pcns

OBJECTIVES = {
    "compact": {},
    "disruption": {"objective": "disruption"},
    "disruption-then-compact": {
        "objective": (("disruption", 1.0), ("compact", 1.0)),
        "lexicographic": True,
    },
}

METHODS = {"partition": {}, "hess": {"partition_candidates": 0}}


def _numbers(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of whole numbers, e.g. 50,100"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: the numbers must be >= 0")
    return values


def _methods(text: str) -> list[str]:
    names = text.split(",")
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown method {', '.join(unknown)}; use {' or '.join(METHODS)}, comma-separated"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_numbers, default="25,50,100,150")
    parser.add_argument("--seeds", type=_numbers, default="0,1,2")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--solver", default="cbc")
    parser.add_argument("--methods", type=_methods, default="partition,hess")
    parser.add_argument("--objective", choices=list(OBJECTIVES), default="compact")
    parser.add_argument("--keep-compliant", action="store_true")
    args = parser.parse_args(argv)
    if args.time_limit <= 0:
        parser.error("--time-limit must be a positive number of seconds")
    if not solver_available(args.solver):
        parser.error(f"--solver {args.solver!r} is not available here; use cbc or highs")
    rows = []
    for size in args.sizes:
        for seed in args.seeds:
            graph = random_place(size, seed=seed)
            keep: tuple[tuple[str, ...], ...] = ()
            if args.objective != "compact":
                networks = max(2, round(sum(graph.population) / 40_000))
                graph = with_current_pcns(graph, seed=seed, networks=networks)
                if args.keep_compliant:
                    checks = compliant_current_pcns(graph, min_size=30_000, max_size=50_000)
                    checks = release_where_needed(graph, checks, min_size=30_000, max_size=50_000)
                    keep = kept_groups(checks)
            for method in args.methods:
                options = SolveOptions(
                    time_limit=args.time_limit,
                    solver=args.solver,
                    keep=keep,
                    **OBJECTIVES[args.objective],
                    **METHODS[method],
                )
                result = solve_place(graph, options=options)
                found = re.search(r"over ([\d,]+) candidate", result.message)
                rows.append(
                    {
                        "practices": size,
                        "seed": seed,
                        "method": method,
                        "status": result.status,
                        "gap %": "-" if result.gap is None else f"{100 * result.gap:.2f}",
                        "seconds": f"{result.seconds:.1f}",
                        "candidates": found.group(1) if found else "-",
                        "objective": "-"
                        if result.objective is None
                        else f"{result.objective:,.0f}",
                        "kept": len(keep),
                    }
                )
                print(rows[-1], file=sys.stderr, flush=True)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; solver {args.solver}, time limit {args.time_limit:g} s "
        f"per place, one thread; objective {args.objective}"
        f"{', current PCNs that meet every rule kept' if args.keep_compliant else ''}.\n"
    )
    print(markdown(pd.DataFrame(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
