"""What a user sees in the terminal: pcnopt's own lines, no solver banners."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT


def test_optimise_prints_no_solver_banner(tmp_path):
    run = subprocess.run(
        [sys.executable, str(PROJECT / "cli.py"), "optimise", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    for banner in ("Running HiGHS", "Copyright", "THIRD_PARTY_NOTICES", "Welcome to the CBC"):
        assert banner not in run.stdout and banner not in run.stderr
    assert "PCNs checked" in run.stdout  # pcnopt's own summary is still there
