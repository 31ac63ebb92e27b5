"""Nested levels solve their places on the local engine: the same files whatever ``--jobs``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli
from pcnopt.run import engine

TOP_DOWN = ["neighbourhoods", "--level", "neighbourhood=100000-250000"]
TOP_DOWN += ["--level", "pcn=30000-50000", "--no-tiles"]
BOTTOM_UP = ["neighbourhoods", "--band", "100000-250000", "--group-current", "--no-tiles"]
OPTIMISE = ["optimise", "--level", "neighbourhood=60000-100000", "--level", "pcn=25000-50000"]
VOLATILE = {"run_log.json", "pcnopt-manifest.json"}  # measured seconds, and their hash


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in VOLATILE
    }


@pytest.mark.parametrize(
    "args", [TOP_DOWN, BOTTOM_UP, OPTIMISE], ids=["top-down", "bottom-up", "optimise"]
)
def test_two_processes_write_every_file_as_one_does(tmp_path, monkeypatch, args):
    """--jobs 2 solves the places on a pool of two processes, and changes no output byte."""
    pools: list[int] = []
    real = engine.local_pool

    @contextlib.contextmanager
    def counted(workers: int) -> Iterator[object]:
        pools.append(workers)
        with real(workers) as pool:
            yield pool

    monkeypatch.setattr(engine, "local_pool", counted)
    outs = {}
    for jobs in ("1", "2"):
        outs[jobs] = tmp_path / f"jobs{jobs}"
        assert cli.main([*args, "--jobs", jobs, "--out", str(outs[jobs])]) == 0
    assert pools == [2], "--jobs 2 did not solve the places on two processes"
    one, two = _files(outs["1"]), _files(outs["2"])
    assert "assignments.csv" in one and len(one) > 5
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []
