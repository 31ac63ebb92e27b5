"""Trust report: bad inputs refused clearly, invariants kept, outputs byte-identical.

Usage::

    python benchmarks/trust_report.py [--worlds 10] [--max-practices 25] [--fuzzed 200]
        [--seed 0]

Runs the same checks as the tests, and counts them:

- every input of the bad-input corpus (``tests/corpus/cases.toml``, plus a 200,000-row file
  made in a temporary folder): accepted with every practice out, or refused with one message
  naming file, row, column and fix, exit 2, nothing written (``tests/corpus.check_case``);
- damaged copies of the good practices file (``tests/test_corpus.fuzzed``): each works or is
  refused cleanly;
- random worlds (``tests/test_invariants.worlds``) through the whole pipeline, every written file
  checked (``tests/test_invariants.check_run``);
- the corpus world optimised with ``--jobs 1`` and ``--jobs 2``: every file byte-identical but
  ``run_log.json``.

Prints Markdown tables naming the machine; exits 1 when anything failed (target: zero).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from benchmarks._table import markdown  # noqa: E402
from pcnopt._errors import PcnoptError  # noqa: E402
from tests.corpus import Case, check_case, load_cases, run_cli  # noqa: E402
from tests.corpus.make_corpus import HERE, write_big_practices  # noqa: E402
from tests.test_corpus import fuzzed  # noqa: E402
from tests.test_invariants import Checks, check_run, run_world, worlds  # noqa: E402


def corpus(tmp: Path) -> list[dict[str, object]]:
    """Run every corpus case and the two 200,000-row inputs; one row per input."""
    rows = []
    for k, case in enumerate(load_cases()):
        folder = tmp / f"case{k}"
        folder.mkdir()
        started = time.perf_counter()
        outcome = check_case(case, folder)
        rows.append(
            {
                "input": case.id,
                "expected": case.expect,
                "outcome": "refused" if outcome.refused else "accepted",
                "failures": outcome.failures,
                "seconds": time.perf_counter() - started,
            }
        )
    big = write_big_practices(tmp / "big.csv")
    bad = write_big_practices(tmp / "big_bad.csv", bad_row=200_001)
    for label, path, expect, fragments in (
        ("200,000 rows (valid; read only)", big, "accepted", ()),
        (
            "200,000 rows, bad list size in the last",
            bad,
            "refused",
            ("row 200001, column 'list_size'",),
        ),
    ):
        started = time.perf_counter()
        if expect == "accepted":
            from pcnopt.io.practices import practices_from_file

            table = practices_from_file(path)
            failures = [] if len(table) == 200_000 else [f"read {len(table)} rows"]
            outcome = "accepted"
        else:
            case = Case(label, path, HERE / "places.geojson", "refused", tuple(fragments))
            (tmp / "big_out").mkdir()
            result = check_case(case, tmp / "big_out")
            failures, outcome = result.failures, "refused" if result.refused else "accepted"
        rows.append(
            {
                "input": label,
                "expected": expect,
                "outcome": outcome,
                "failures": failures,
                "seconds": time.perf_counter() - started,
            }
        )
    return rows


def invariants(n_worlds: int, max_practices: int, seed_value: int) -> tuple[int, int, Checks]:
    """Run random worlds through the pipeline and check every output.

    Returns the worlds run, those refused (contradictory random rules) and the checks.
    """
    checks = Checks()
    count, refused = [0], [0]

    @seed(seed_value)
    @settings(max_examples=n_worlds, deadline=None, database=None, phases=[Phase.generate])
    @given(world=worlds(max_practices=max_practices))
    def run(world) -> None:  # type: ignore[no-untyped-def]
        count[0] += 1
        with tempfile.TemporaryDirectory() as folder:
            try:
                out = run_world(world, Path(folder))
            except PcnoptError as exc:
                # contradictory random rules are refused with a message: fine, nothing to check
                checks(
                    bool(str(exc)) and not (Path(folder) / "out").exists(),
                    f"world {count[0]}: refused without a message, or wrote --out",
                )
                refused[0] += 1
                return
            except Exception as exc:  # a crash is a failure to count
                trace = traceback.format_exc(limit=-3)
                checks(False, f"world {count[0]}: {type(exc).__name__}: {exc}\n{world}\n{trace}")
                return
            before = len(checks.failures)
            check_run(world, out, checks)
            if len(checks.failures) > before:
                checks.failures[before:] = [
                    f"world {count[0]}: {f}" for f in checks.failures[before:]
                ]
                checks.failures.append(f"world {count[0]} was {world}")

    run()
    return count[0], refused[0], checks


def fuzz(n_files: int, seed_value: int) -> tuple[int, int, list[str]]:
    """Damaged copies of the good practices file: tried, refused, and failures."""
    tried, refused, failures = [0], [0], []

    @seed(seed_value)
    @settings(
        max_examples=n_files,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=fuzzed())
    def run(data: bytes) -> None:
        tried[0] += 1
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "damaged.csv"
            path.write_bytes(data)
            outcome = check_case(
                Case("fuzzed", path, HERE / "places.geojson", "either"), Path(folder)
            )
            refused[0] += outcome.refused
            failures.extend(
                f"fuzzed file {tried[0]} ({data[:60]!r}...): {f}" for f in outcome.failures
            )

    run()
    return tried[0], refused[0], failures


def determinism(tmp: Path) -> tuple[int, list[str]]:
    """Optimise the corpus world with --jobs 1 and --jobs 2; files compared and differing."""
    outs = []
    for jobs in (1, 2):
        out = tmp / f"jobs{jobs}"
        code, _, err = run_cli(
            [
                "optimise",
                "--practices",
                str(HERE / "practices.csv"),
                "--places",
                str(HERE / "places.geojson"),
                "--place-column",
                "place_id",
                "--jobs",
                str(jobs),
                "--out",
                str(out),
            ]
        )
        if code != 0:
            return 0, [f"--jobs {jobs} failed: {err.strip()}"]
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    names = sorted(set(outs[0]) | set(outs[1]))
    return len(names), [
        n for n in names if n != "run_log.json" and outs[0].get(n) != outs[1].get(n)
    ]


def machine() -> str:
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        ).stdout.strip()
        or "unknown"
    )
    return (
        f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}), Python {platform.python_version()}, "
        f"pcnopt at {commit}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", type=int, default=10, help="random worlds to run (10)")
    parser.add_argument(
        "--max-practices", type=int, default=25, help="largest world, in practices (25)"
    )
    parser.add_argument(
        "--fuzzed",
        type=int,
        default=200,
        help="damaged copies of the good practices file to try (200)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the worlds and damage")
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = corpus(Path(tmp))
        n_worlds, n_refused, checks = invariants(args.worlds, args.max_practices, args.seed)
        compared, differ = determinism(Path(tmp))
        fuzzed_tried, fuzzed_refused, fuzz_failures = fuzz(args.fuzzed, args.seed)
    inputs = pd.DataFrame(rows)
    ok = inputs["failures"].map(len) == 0
    refused = int(((inputs["outcome"] == "refused") & ok & (inputs["expected"] == "refused")).sum())
    accepted = int(
        ((inputs["outcome"] == "accepted") & ok & (inputs["expected"] == "accepted")).sum()
    )
    failures = int((~ok).sum()) + len(checks.failures) + len(differ) + len(fuzz_failures)
    counts = pd.DataFrame(
        [
            {"measure": "inputs tried", "count": len(inputs)},
            {"measure": "refused with a clear message", "count": refused},
            {"measure": "accepted, every practice out", "count": accepted},
            {"measure": "inputs failing their expectation", "count": int((~ok).sum())},
            {"measure": "damaged files tried", "count": fuzzed_tried},
            {
                "measure": "damaged files accepted, every practice out",
                "count": fuzzed_tried - fuzzed_refused,
            },
            {
                "measure": "damaged files refused with a clear message",
                "count": fuzzed_refused - len(fuzz_failures),
            },
            {
                "measure": "damaged files failing (traceback, unclear, half-written)",
                "count": len(fuzz_failures),
            },
            {"measure": "random worlds run", "count": n_worlds},
            {"measure": "worlds refused (contradictory random rules)", "count": n_refused},
            {"measure": "invariant checks run", "count": checks.run},
            {"measure": "invariant checks failed", "count": len(checks.failures)},
            {"measure": "files compared, --jobs 1 vs 2", "count": compared},
            {"measure": "files differing (not run_log.json)", "count": len(differ)},
            {"measure": "failures in all", "count": failures},
        ]
    )
    print(
        f"# pcnopt trust report\n\nMachine: {machine()}; {time.perf_counter() - started:.0f} s "
        f"in all; {args.worlds} worlds of up to {args.max_practices} practices, seed "
        f"{args.seed}.\n"
    )
    print(markdown(counts))
    print("\n## Inputs\n")
    table = inputs.assign(
        ok=ok.map({True: "yes", False: "NO"}),
        seconds=inputs["seconds"].round(1),
        failures=inputs["failures"].map(lambda f: "; ".join(f)[:160]),
    )
    print(markdown(table[["input", "expected", "outcome", "ok", "seconds", "failures"]]))
    if checks.failures or differ or fuzz_failures:
        print("\n## Failures\n")
        for failure in [
            *checks.failures,
            *(f"differs across --jobs: {n}" for n in differ),
            *fuzz_failures,
        ]:
            print(f"- {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
