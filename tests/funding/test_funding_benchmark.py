"""``benchmarks/funding_england.py`` answers ``--help`` and refuses unknown options without
reading ../shared or running the benchmark (it ignored its arguments and ran in full)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT

SCRIPT = PROJECT / "benchmarks" / "funding_england.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
        check=False,
    )


def test_help_prints_usage_and_does_not_run_the_benchmark():
    done = _run("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage:") and "published" in done.stdout
    assert "Funding benchmark" not in done.stdout  # no table: nothing was worked out


def test_an_unknown_option_is_refused_naming_it():
    done = _run("--year", "2026/27")
    assert done.returncode == 2
    assert "unrecognized arguments: --year" in done.stderr and not done.stdout
