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
  ``run_log.json``;
- every class of attack of issue 17 (a folder that is not a run, Ctrl-C, formula injection,
  report injection, damaged files and paths, half-written outputs, orphans after SIGKILL,
  bad options and invisible characters, resource bounds): the tests of
  ``tests/test_trust*.py``, ``tests/io/test_text.py`` and the corpus cases of those classes,
  each counted as refused (one clear message), accepted (handled safely) or failing;
- Ctrl-C at several moments of every command on the demo (SIGINT to pcnopt's process alone, as
  ``kill -INT`` sends it): exit 130, one line, no traceback, nothing written, no process left
  (a command that finished before the signal is counted apart).

Prints Markdown tables naming the machine; exits 1 when anything failed (target: zero).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
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
from pcnopt._processes import running  # noqa: E402
from pcnopt.errors import PcnoptError  # noqa: E402
from pcnopt.io.outputs import MANIFEST  # noqa: E402
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
    """Optimise the corpus world with --jobs 1 and --jobs 2; files compared and differing.

    Every file but ``run_log.json`` (measured seconds) must be byte-identical; the manifest
    is compared without its ``run_log.json`` entry.
    """
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
        files = {p.name: p.read_bytes() for p in out.iterdir()}
        # the manifest lists run_log.json's hash, the one file that differs: compare the rest
        manifest = json.loads(files.pop(MANIFEST))
        manifest["files"].pop("run_log.json", None)
        files[MANIFEST] = json.dumps(manifest, sort_keys=True).encode()
        outs.append(files)
    names = sorted(set(outs[0]) | set(outs[1]))
    return len(names), [
        n for n in names if n != "run_log.json" and outs[0].get(n) != outs[1].get(n)
    ]


#: Each attack test of issue 17: (pattern of its pytest id, class, what it must do).
ATTACKS: list[tuple[str, str, str]] = [
    (r"test_trust\.py::test_(a_folder|a_run_the_user)", "1 a folder that is not a run", "refused"),
    (r"test_trust\.py::test_compare_never", "1 a folder that is not a run", "refused"),
    (r"test_trust\.py::test_(a_run_is|an_unchanged)", "1 a folder that is not a run", "accepted"),
    (r"test_trust\.py::test_ctrl_c", "2 Ctrl-C", "accepted"),
    (r"test_interrupts\.py::test_", "2 Ctrl-C", "accepted"),
    (
        r"test_text\.py::test_(formulas|numbers|text_already|every_csv)",
        "3 CSV formulas",
        "accepted",
    ),
    (r"test_corpus\.py::.*formulas", "3 CSV formulas", "accepted"),
    (r"test_text\.py::test_(markdown|html)", "4 report injection", "accepted"),
    (r"test_trust_inputs\.py::test_(out_|compare_)", "5 paths and runs", "refused"),
    (r"test_trust_inputs\.py::test_(bad_scenario|scenario_path)", "5 scenario files", "refused"),
    (r"test_trust_inputs\.py::test_(a_damaged|a_field)", "5 damaged files", "refused"),
    (r"test_trust_inputs\.py::test_a_full_disk", "5 full disk", "refused"),
    (r"test_trust_outputs\.py::test_mathtext", "5 mathtext", "accepted"),
    (r"test_trust_outputs\.py::test_(map_with|a_failed_png)", "6 half-written", "refused"),
    (r"test_trust_outputs\.py::test_(a_run_killed|folders_that)", "6 recoverable swap", "accepted"),
    (r"test_trust_processes\.py::", "7 orphans after SIGKILL", "accepted"),
    (
        r"test_trust_inputs\.py::test_(snap|summary_json|approve|validate|prepare)",
        "8 options and outputs over inputs",
        "refused",
    ),
    (r"test_trust_outputs\.py::test_outputs_follow_the_umask", "8 umask", "accepted"),
    (r"test_text\.py::test_(invisible|visible)", "8 invisible characters", "accepted"),
    (r"test_corpus\.py::.*invisible", "8 invisible characters", "refused"),
    (r"test_trust_inputs\.py::test_(an_xlsx|a_csv_far)", "9 resource bounds", "refused"),
]


def attacks(tmp: Path) -> pd.DataFrame:
    """Run the attack tests of issue 17 (pytest, in a child process); one row per test."""
    import re
    import xml.etree.ElementTree as ET

    files = [
        "tests/test_trust.py",
        "tests/test_trust_inputs.py",
        "tests/test_trust_outputs.py",
        "tests/test_trust_processes.py",
        "tests/test_interrupts.py",
        "tests/io/test_text.py",
        "tests/test_corpus.py",
    ]
    report = tmp / "attacks.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *files,
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "not test_corpus or formulas or invisible",
            f"--junitxml={report}",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=False,
    )
    rows = []
    for case in ET.parse(report).getroot().iter("testcase"):
        nodeid = f"{case.get('classname', '').rsplit('.', 1)[-1]}.py::{case.get('name')}"
        match = next(((c, e) for pat, c, e in ATTACKS if re.search(pat, nodeid)), None)
        if match is None:
            continue
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is None:
            bad = case.find("skipped")  # an attack not tried is not passed
        rows.append(
            {
                "class": match[0],
                "attack": case.get("name"),
                "expected": match[1],
                "ok": bad is None,
                "failure": "" if bad is None else (bad.get("message") or "")[:160],
            }
        )
    return pd.DataFrame(rows)


#: Seconds after the start at which Ctrl-C is sent: the parser's imports, loading the inputs,
#: the geography, the first compiled kernel, solving.
CTRL_C_DELAYS = (0.3, 1.0, 2.0, 3.5, 6.0)


def ctrl_c_commands(base: Path) -> list[tuple[str, list[str]]]:
    """(label, arguments) per command; ``OUT`` stands for the output each one writes."""
    demo = ROOT / "pcnopt" / "data" / "demo"
    practices, places = str(demo / "practices.csv"), str(demo / "places.geojson")
    given = ["--practices", practices, "--assignments", str(base / "assignments.csv")]
    return [
        ("optimise --jobs 1", ["optimise", "--jobs", "1", "--out", "OUT"]),
        ("optimise --jobs 2", ["optimise", "--jobs", "2", "--out", "OUT"]),
        ("optimise --total-pcns 17", ["optimise", "--total-pcns", "17", "--out", "OUT"]),
        ("neighbourhoods", ["neighbourhoods", "--band", "100000-250000", "--out", "OUT"]),
        ("run (2 processes)", ["run", str(ROOT / "examples/demo_base.toml"), "--out", "OUT"]),
        ("funding", ["funding", *given, "--out", "OUT"]),
        (
            "validate",
            [
                "validate",
                *given,
                "--places",
                places,
                "--place-column",
                "place_id",
                "--report",
                "OUT.csv",
            ],
        ),
        (
            "map",
            [
                "map",
                *given,
                "--places",
                places,
                "--place-column",
                "place_id",
                "--no-tiles",
                "--out",
                "OUT.html",
            ],
        ),
    ]


def _session(sid: int) -> list[str]:
    """Process ids of session ``sid``."""
    return subprocess.run(
        ["pgrep", "-s", str(sid)], capture_output=True, text=True, check=False
    ).stdout.split()


def ctrl_c_sweep(tmp: Path) -> pd.DataFrame:
    """Ctrl-C every command at each of :data:`CTRL_C_DELAYS`; one row per command and moment."""
    base = tmp / "ctrl-c-base"
    code, _, err = run_cli(["optimise", "--out", str(base), "--jobs", "1"])
    if code != 0:
        raise RuntimeError(f"the demo run for the Ctrl-C sweep failed: {err.strip()}")
    rows = []
    for label, argv in ctrl_c_commands(base):
        for delay in CTRL_C_DELAYS:
            out = tmp / "ctrl-c-out"
            shutil.rmtree(out, ignore_errors=True)
            written = [out, out.with_suffix(".csv"), out.with_suffix(".html")]
            for path in written[1:]:
                path.unlink(missing_ok=True)
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "cli.py"),
                    *(a.replace("OUT", str(out)) for a in argv),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp,
                start_new_session=True,  # its own session: what is left of it can be found
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate()
                err = "hung for 60 s after Ctrl-C; " + err
            time.sleep(1.0)
            left = [pid for pid in _session(proc.pid) if running(pid)]
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            lines = [line for line in err.splitlines() if line.strip()]
            problems = []
            if proc.returncode == 0:
                outcome = "finished first"
            else:
                outcome = "interrupted"
                if proc.returncode != 130:
                    problems.append(f"exit {proc.returncode}")
                if len(lines) != 1 or "Traceback" in err:
                    problems.append("not one line: " + " / ".join(lines)[:200])
                if argv[0] != "run" and any(path.exists() for path in written):
                    problems.append("something was written")
            if left:
                problems.append(f"{len(left)} process(es) left")
            rows.append(
                {
                    "command": label,
                    "ctrl_c_at_s": delay,
                    "outcome": outcome,
                    "ok": not problems,
                    "problems": "; ".join(problems),
                }
            )
    return pd.DataFrame(rows)


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
        tried = attacks(Path(tmp))
        interrupted = ctrl_c_sweep(Path(tmp))
    by_class = (
        tried.assign(
            refused=tried["ok"] & (tried["expected"] == "refused"),
            accepted=tried["ok"] & (tried["expected"] == "accepted"),
            failing=~tried["ok"],
        )
        .groupby("class", sort=True)
        .agg(
            tried=("attack", "size"),
            refused=("refused", "sum"),
            accepted=("accepted", "sum"),
            failing=("failing", "sum"),
        )
        .reset_index()
    )
    attack_failures = [
        f"{r['class']}: {r['attack']}: {r['failure']}" for _, r in tried[~tried["ok"]].iterrows()
    ]
    inputs = pd.DataFrame(rows)
    ok = inputs["failures"].map(len) == 0
    refused = int(((inputs["outcome"] == "refused") & ok & (inputs["expected"] == "refused")).sum())
    accepted = int(
        ((inputs["outcome"] == "accepted") & ok & (inputs["expected"] == "accepted")).sum()
    )
    ctrl_c_failures = [
        f"Ctrl-C at {r['ctrl_c_at_s']} s of {r['command']}: {r['problems']}"
        for _, r in interrupted[~interrupted["ok"]].iterrows()
    ]
    failures = (
        len(ctrl_c_failures)
        + int((~ok).sum())
        + len(checks.failures)
        + len(differ)
        + len(fuzz_failures)
        + len(attack_failures)
    )
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
            {"measure": "attacks of issue 17 tried", "count": len(tried)},
            {"measure": "attacks failing", "count": len(attack_failures)},
            {"measure": "Ctrl-C moments tried (commands x moments)", "count": len(interrupted)},
            {
                "measure": "Ctrl-C: interrupted cleanly (exit 130, one line, nothing written)",
                "count": int(((interrupted["outcome"] == "interrupted") & interrupted["ok"]).sum()),
            },
            {
                "measure": "Ctrl-C: the command had finished first",
                "count": int((interrupted["outcome"] == "finished first").sum()),
            },
            {"measure": "Ctrl-C failing", "count": len(ctrl_c_failures)},
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
    print("\n## Attacks of issue 17, by class\n")
    print(markdown(by_class))
    print("\n## Ctrl-C at each moment of each command (demo)\n")
    print(
        markdown(
            interrupted.assign(ok=interrupted["ok"].map({True: "yes", False: "NO"}))[
                ["command", "ctrl_c_at_s", "outcome", "ok", "problems"]
            ]
        )
    )
    if checks.failures or differ or fuzz_failures or attack_failures or ctrl_c_failures:
        print("\n## Failures\n")
        for failure in [
            *checks.failures,
            *(f"differs across --jobs: {n}" for n in differ),
            *fuzz_failures,
            *attack_failures,
            *ctrl_c_failures,
        ]:
            print(f"- {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
