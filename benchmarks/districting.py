"""Run pcnopt's optimisation core on county districting instances with published optima.

Usage::

    python benchmarks/districting.py PATH.json --k K [--min L --max U]
        [--objective cut-edges|hess-hops] [--solver cbc|highs] [--time-limit S]
    python benchmarks/districting.py --all [--dir ../shared/benchmarks/districting] ...

``cut-edges`` is the boundary objective with weight 1 per edge; ``hess-hops`` is the compact
objective with population-weighted hop distance to each part's root (the distance override).
Default bounds: L = ceil(0.995 P / k), U = floor(1.005 P / k), P the total population.
``--all`` runs every instance listed in the folder's CSV files and compares with the published
optimum (Validi and Buchanan 2022) or the published infeasibility.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pcnopt.model import PlaceGraph, SolveOptions, solve_place

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "districting"


def graph_from_json(
    path: Path, *, k: int, lo: float | None, hi: float | None, objective: str
) -> tuple[PlaceGraph, float, float, int]:
    """Read a networkx adjacency-JSON county graph as a PlaceGraph; return it, L, U and m."""
    data = json.loads(path.read_text())
    g = nx.readwrite.json_graph.adjacency_graph(data)
    nodes = sorted(g.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    pop = [float(g.nodes[v]["TOTPOP"]) for v in nodes]
    total = sum(pop)
    lo = math.ceil(0.995 * total / k) if lo is None else lo
    hi = math.floor(1.005 * total / k) if hi is None else hi
    edges = sorted(
        {(min(index[a], index[b]), max(index[a], index[b])) for a, b in g.edges if a != b}
    )
    distance = None
    if objective == "hess-hops":
        hops = dict(nx.all_pairs_shortest_path_length(g))
        distance = tuple(tuple(float(hops[a].get(b, 10**6)) for b in nodes) for a in nodes)
    graph = PlaceGraph(
        place_id=path.stem,
        codes=tuple(f"{i:04d}" for i in range(len(nodes))),
        population=tuple(pop),
        x=tuple(0.0 for _ in nodes),
        y=tuple(0.0 for _ in nodes),
        edges=tuple((a, b, 1.0) for a, b in edges),
        distance=distance,
    )
    return graph, lo, hi, len(edges)


def run_one(
    path: Path,
    *,
    k: int,
    lo: float | None,
    hi: float | None,
    objective: str,
    solver: str,
    time_limit: float | None,
) -> dict[str, object]:
    """Solve one instance with a fixed number of parts and return a result row."""
    graph, lo_v, hi_v, m = graph_from_json(path, k=k, lo=lo, hi=hi, objective=objective)
    options = SolveOptions(
        min_size=lo_v,
        max_size=hi_v,
        n_pcns=k,
        solver=solver,
        time_limit=time_limit,
        objective="boundary" if objective == "cut-edges" else "compact",
        threads=1,
    )
    start = time.perf_counter()
    solution = solve_place(graph, options=options)
    seconds = time.perf_counter() - start
    feasible = solution.status in ("optimal", "feasible", "trivial", "below_minimum")
    return {
        "instance": path.stem,
        "n": len(graph.codes),
        "m": m,
        "k": k,
        "objective": solution.objective if feasible else None,
        "bound": solution.bound,
        "status": solution.status,
        "seconds": seconds,
    }


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value - round(value)) > 1e-6 else f"{value:.0f}"
    return str(value)


COLUMNS = ["instance", "n", "m", "k", "objective", "bound", "status", "seconds"]


def print_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    """Print rows as an aligned text table."""
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [
        max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)
    ]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)), flush=True)


def run_all(folder: Path, *, objective: str, solver: str, time_limit: float | None) -> int:
    """Run every instance of the folder and compare with the published results."""
    rows: list[dict[str, object]] = []
    optima = list(csv.DictReader((folder / "optima_min_cut_edges_county.csv").open()))
    infeasible = list(
        csv.DictReader((folder / "contiguity_infeasible_county_instances.csv").open())
    )
    columns = [*COLUMNS, "published", "match"]
    print_table([], columns)
    for row in optima + infeasible:
        path = folder / row["file"]
        result = run_one(
            path,
            k=int(row["k"]),
            lo=float(row["L"]),
            hi=float(row["U"]),
            objective=objective,
            solver=solver,
            time_limit=time_limit,
        )
        result["instance"] = f"{row['state']} {path.stem}"
        if "opt_contig" in row:
            published = float(row["opt_contig"])
            result["published"] = published
            if objective != "cut-edges":
                result["match"] = "n/a"
            elif result["status"] == "optimal":
                result["match"] = (
                    "yes" if abs(float(result["objective"]) - published) < 1e-6 else "NO"
                )
            elif result["objective"] is not None and result["bound"] is not None:
                ok = float(result["bound"]) - 1e-6 <= published <= float(result["objective"]) + 1e-6
                result["match"] = "consistent" if ok else "NO"
            else:
                result["match"] = "open"
        else:
            proven = row["state"] in ("CO", "NH", "OR")
            result["published"] = "infeasible" if proven else "infeasible?"
            if result["status"] == "infeasible":
                result["match"] = "yes"
            elif result["status"] == "unknown":
                result["match"] = "open"
            else:
                result["match"] = "NO"
        rows.append(result)
        print("  ".join(_fmt(result.get(c)) for c in columns), flush=True)
    print()
    print_table(rows, columns)
    return 0 if all(r["match"] != "NO" for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, help="networkx adjacency-JSON graph")
    parser.add_argument("--k", type=int, help="number of parts")
    parser.add_argument("--min", dest="lo", type=float, help="smallest part population")
    parser.add_argument("--max", dest="hi", type=float, help="largest part population")
    parser.add_argument("--objective", choices=["cut-edges", "hess-hops"], default="cut-edges")
    parser.add_argument("--solver", default="cbc")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per instance")
    parser.add_argument("--all", action="store_true", help="run every published instance")
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help="folder with county/ and the published CSV files",
    )
    args = parser.parse_args(argv)
    if args.all:
        if not (args.dir / "optima_min_cut_edges_county.csv").is_file():
            parser.error(f"{args.dir} has no optima_min_cut_edges_county.csv; pass --dir")
        return run_all(
            args.dir, objective=args.objective, solver=args.solver, time_limit=args.time_limit
        )
    if args.path is None or args.k is None:
        parser.error("give PATH.json and --k, or --all")
    if not args.path.is_file():
        parser.error(f"{args.path}: no such file")
    row = run_one(
        args.path,
        k=args.k,
        lo=args.lo,
        hi=args.hi,
        objective=args.objective,
        solver=args.solver,
        time_limit=args.time_limit,
    )
    print_table([row], COLUMNS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
