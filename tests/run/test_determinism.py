"""Same inputs and options give byte-identical outputs, on one core or many.

Every file of ``pcnopt optimise`` is compared byte for byte across runs: in this process and in
fresh processes with other hash seeds (so nothing may depend on set or dict order), with
``--jobs 1`` and ``--jobs 2``, and with the practices' rows shuffled. The one file allowed to
differ is ``run_log.json``, which holds the measured seconds and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PROJECT
from tests.corpus import run_cli
from tests.corpus.make_corpus import HERE

# run_log.json holds the measured seconds; the manifest hashes every file, run_log.json too
VARYING = {"run_log.json", "pcnopt-manifest.json"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus world (two places) with current PCNs and weighted populations."""
    folder = tmp_path_factory.mktemp("inputs")
    table = pd.read_csv(HERE / "practices.csv", dtype=str)
    table["current_pcn"] = ["PCN-" + code[0] for code in table["practice_code"]]
    table["weighted_population"] = [f"{int(s) * 1.05:.2f}" for s in table["list_size"]]
    table.to_csv(folder / "practices.csv", index=False)
    table.sample(frac=1.0, random_state=3).to_csv(folder / "shuffled.csv", index=False)
    return folder


def argv(inputs: Path, out: Path, *, jobs: int, practices: str = "practices.csv") -> list[str]:
    return [
        "optimise",
        "--practices",
        str(inputs / practices),
        "--places",
        str(HERE / "places.geojson"),
        "--place-column",
        "place_id",
        "--jobs",
        str(jobs),
        "--time-limit",
        "20",
        "--out",
        str(out),
    ]


def in_process(inputs: Path, out: Path, **kwargs: object) -> Path:
    code, _, err = run_cli(argv(inputs, out, **kwargs))  # type: ignore[arg-type]
    assert code == 0, err
    return out


def in_a_new_process(inputs: Path, out: Path, *, hash_seed: str, **kwargs: object) -> Path:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    run = subprocess.run(
        [sys.executable, str(PROJECT / "cli.py"), *argv(inputs, out, **kwargs)],  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def differing(a: Path, b: Path) -> list[str]:
    left, right = files(a), files(b)
    assert set(left) == set(right), set(left) ^ set(right)
    return sorted(name for name in left if left[name] != right[name] and name not in VARYING)


@pytest.fixture(scope="module")
def reference(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return in_process(inputs, tmp_path_factory.mktemp("a") / "out", jobs=1)


def test_the_reference_run_writes_every_file(reference: Path) -> None:
    names = set(files(reference))
    assert {
        "assignments.csv",
        "pcns.csv",
        "pcns.geojson",
        "places.csv",
        "catchments.geojson",
        "adjacency.csv",
        "validation.csv",
        "report.md",
        "funding.csv",
        "role_mix.csv",
        "funding_basis.csv",
        "map.html",
        "map.png",
        "summary.json",
        "run_log.json",
    } <= names
    log = json.loads((reference / "run_log.json").read_text())
    assert "vary" in log["note"] and set(log["place_seconds"]) == {"EAST", "WEST"}


def test_twice_in_one_process(inputs: Path, reference: Path, tmp_path: Path) -> None:
    assert differing(reference, in_process(inputs, tmp_path / "out", jobs=1)) == []


@pytest.mark.parametrize(("hash_seed", "jobs"), [("1", 2), ("2", 1)])
def test_in_new_processes_on_one_core_or_two(
    inputs: Path, reference: Path, tmp_path: Path, hash_seed: str, jobs: int
) -> None:
    again = in_a_new_process(inputs, tmp_path / "out", hash_seed=hash_seed, jobs=jobs)
    assert differing(reference, again) == []


def test_the_order_of_the_rows_does_not_matter(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    shuffled = in_process(inputs, tmp_path / "out", jobs=1, practices="shuffled.csv")
    # summary.json names the input file (and the manifest, which ``differing`` leaves out as it
    # hashes run_log.json, hashes summary.json); everything else must be the same
    assert differing(reference, shuffled) == ["summary.json"]
    ma = json.loads((reference / "pcnopt-manifest.json").read_text())["files"]
    mb = json.loads((shuffled / "pcnopt-manifest.json").read_text())["files"]
    assert {k for k in ma if ma[k] != mb[k]} == {"summary.json"}
    a = json.loads((reference / "summary.json").read_text())
    b = json.loads((shuffled / "summary.json").read_text())
    a["inputs"].pop("practices"), b["inputs"].pop("practices")
    assert a == b


def test_no_output_but_the_run_log_holds_a_time(reference: Path) -> None:
    summary = json.loads((reference / "summary.json").read_text())
    assert "seconds" not in summary
    assert "seconds" not in pd.read_csv(reference / "places.csv").columns
    assert "seconds" not in (reference / "report.md").read_text()


def test_a_changed_input_is_noticed(inputs: Path, reference: Path, tmp_path: Path) -> None:
    """The comparison can fail: one more patient changes the outputs."""
    table = pd.read_csv(inputs / "practices.csv", dtype=str)
    table.loc[0, "list_size"] = str(int(table.loc[0, "list_size"]) + 1)
    table.to_csv(tmp_path / "changed.csv", index=False)
    changed = in_process(tmp_path, tmp_path / "out", jobs=1, practices="changed.csv")
    assert {"assignments.csv", "pcns.csv", "funding.csv"} <= set(differing(reference, changed))
