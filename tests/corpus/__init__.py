"""The bad-input corpus: each file either works or stops with one clear message.

:func:`check_case` runs one case of ``cases.toml`` through ``pcnopt optimise`` (in this process,
as :func:`cli.main`) and returns what is wrong with the outcome; ``tests/test_corpus.py`` and
``benchmarks/trust_report.py`` both use it, so the report counts exactly what the tests check.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pcnopt.io.text import restore_cell

HERE = Path(__file__).resolve().parent
#: Raw fragments of the hostile names that must never reach map.html unescaped.
RAW_HTML = ('<script>alert("', "<img src=x", "</textarea>", "<b>Bold</b>")


@dataclass(frozen=True)
class Case:
    """One corpus input and what it must do."""

    id: str
    practices: Path
    places: Path
    expect: str
    message: tuple[str, ...] = ()
    args: tuple[str, ...] = ()


@dataclass
class Outcome:
    """What running a case produced, and every way it fell short (empty: it passed)."""

    case: Case
    code: int | None
    stderr: str
    failures: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.code not in (0, None)


def load_cases() -> list[Case]:
    """The cases of ``cases.toml``."""
    data = tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))
    return [
        Case(
            id=c["id"],
            practices=HERE / c["practices"],
            places=HERE / c.get("places", "places.geojson"),
            expect=c["expect"],
            message=tuple(c.get("message", ())),
            args=tuple(c.get("args", ())),
        )
        for c in data["case"]
    ]


def run_cli(argv: list[str]) -> tuple[int | None, str, str]:
    """Run ``cli.main(argv)``; return the exit code, standard output and standard error.

    An exception escaping ``main`` is what a user would see as a traceback: it is returned as
    code ``None`` with the exception in the error text.
    """
    import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | None = cli.main(argv)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        except Exception as exc:
            code = None
            print(f"Traceback (uncaught): {type(exc).__name__}: {exc}", file=err)
    return code, out.getvalue(), err.getvalue()


def check_refused(case: Case, code: int | None, stderr: str, out: Path) -> list[str]:
    """Everything wrong with a refusal: exit code, message, leftovers."""
    failures = []
    if code is None or "Traceback" in stderr:
        failures.append(f"traceback instead of a message: {stderr.strip()[-300:]}")
    elif code == 0:
        failures.append("accepted, but should have been refused")
    elif code != 2:
        failures.append(f"exit code {code}, expected 2")
    if stderr.count("pcnopt: error:") != 1 or not stderr.startswith("pcnopt: error:"):
        failures.append(f"not exactly one 'pcnopt: error:' message: {stderr[:200]!r}")
    if "Fix:" not in stderr:
        failures.append("the message gives no fix")
    named = {case.practices.name, case.places.name}
    if not any(name in stderr for name in named):
        failures.append("the message names no input file")
    failures += [
        f"message lacks {frag!r}: {stderr.strip()}" for frag in case.message if frag not in stderr
    ]
    if out.exists():
        failures.append(f"--out {out.name}/ was created by a refused run")
    failures += _leftovers(out)
    return failures


def check_accepted(case: Case, code: int | None, stderr: str, out: Path) -> list[str]:
    """Everything wrong with an accepted run: exit code, completeness, names, HTML safety."""
    from pcnopt.io.practices import practices_from_file

    if code != 0:
        return [f"refused (exit {code}) but should work: {stderr.strip()[-400:]}"]
    failures = _leftovers(out)
    if not (out / "summary.json").is_file():
        return [*failures, "no summary.json: the output folder is not complete"]
    given = practices_from_file(case.practices)
    assignments = pd.read_csv(
        out / "assignments.csv", dtype={"practice_code": str, "name": str}, keep_default_na=False
    )
    assignments = assignments.map(restore_cell)  # pcnopt quotes formulas; read them back
    if sorted(assignments["practice_code"]) != sorted(given["practice_code"]):
        failures.append("assignments.csv does not list every input practice exactly once")
    names = dict(zip(given["practice_code"], given["name"], strict=True))
    changed = [
        c
        for c, n in zip(assignments["practice_code"], assignments["name"], strict=True)
        if names.get(c) != n
    ]
    if changed:
        failures.append(f"names changed on the way out: {changed[:5]}")
    failures += formula_cells(out)
    page = (out / "map.html").read_text(encoding="utf-8")
    failures += [f"map.html contains raw {raw!r} from the data" for raw in RAW_HTML if raw in page]
    return failures


def formula_cells(folder: Path) -> list[str]:
    """Every cell of every CSV in ``folder`` that a spreadsheet would evaluate as a formula."""
    from pcnopt.io.text import is_formula

    found = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for r, row in enumerate(csv.reader(handle), start=1):
                found += [
                    f"{path.name} row {r} column {c}: {cell!r} is a live formula"
                    for c, cell in enumerate(row, start=1)
                    if is_formula(cell)
                ]
    return found


def check_case(case: Case, tmp: Path) -> Outcome:
    """Run one case with ``--out tmp/out`` and check its outcome.

    ``expect="either"`` (fuzzed input) checks an accepted run as accepted, any other as refused.
    """
    out = tmp / "out"
    argv = [
        "optimise",
        "--practices",
        str(case.practices),
        "--places",
        str(case.places),
        "--place-column",
        "place_id",
        "--jobs",
        "1",
        "--time-limit",
        "10",
        *case.args,
        "--out",
        str(out),
    ]
    code, _, stderr = run_cli(argv)
    accepted = code == 0 if case.expect == "either" else case.expect == "accepted"
    check = check_accepted if accepted else check_refused
    return Outcome(case, code, stderr, check(case, code, stderr, out))


def _leftovers(out: Path) -> list[str]:
    failures = []
    if out.exists() and not (out / "summary.json").exists():
        failures.append(f"{out.name}/ was written without summary.json (half a run)")
    partial = [
        p.name for p in out.parent.iterdir() if re.match(rf"\.{re.escape(out.name)}\.", p.name)
    ]
    if partial:
        failures.append(f"partial folders left beside --out: {partial}")
    return failures
