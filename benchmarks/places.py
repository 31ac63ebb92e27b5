"""Place-size benchmark: proven optimality and time on random places of 25 to 150 practices.

Solves :func:`pcnopt._model_instances.random_place` instances (practices of 2-20k patients,
8k on average, with Voronoi-catchment adjacency; the generator the tests use) with the
default method (set partitioning) and with the Hess model alone (``partition_candidates=0``),
and prints one row per place: status, gap, seconds, and the number of candidate networks.

Usage::

    python benchmarks/places.py [--sizes 25,50,100,150] [--seeds 0,1,2] [--time-limit 60]
        [--solver cbc|highs] [--methods partition,hess]

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
from pcnopt._model_instances import random_place
from pcnopt.model import SolveOptions, solve_place

METHODS = {"partition": {}, "hess": {"partition_candidates": 0}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,50,100,150")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--solver", default="cbc")
    parser.add_argument("--methods", default="partition,hess")
    args = parser.parse_args(argv)
    rows = []
    for size in (int(v) for v in args.sizes.split(",")):
        for seed in (int(v) for v in args.seeds.split(",")):
            graph = random_place(size, seed=seed)
            for method in args.methods.split(","):
                options = SolveOptions(
                    time_limit=args.time_limit, solver=args.solver, **METHODS[method]
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
                    }
                )
                print(rows[-1], file=sys.stderr, flush=True)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; solver {args.solver}, time limit {args.time_limit:g} s "
        "per place, one thread.\n"
    )
    print(markdown(pd.DataFrame(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
