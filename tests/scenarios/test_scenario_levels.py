"""Scenarios with ``[[level]]`` tables: the nested design, per scenario, through ``pcnopt run``.

Uses the two-place region of ``test_scenarios.py`` (19 practices of the demo's place P03).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import cli
from tests.scenarios.test_scenarios import region

__all__ = ["region"]  # the fixture, used by name

LEVELS = """\
[[level]]
name = "hood"
min_size = 40000
max_size = 100000
[[level]]
name = "pcn"
min_size = 12000
max_size = 35000
"""


def test_a_scenario_with_level_tables_writes_every_level_nested(region: Path, tmp_path: Path):
    small = pd.read_csv(region / "small.csv", dtype=str)
    east = list(small.loc[small["place"] == "E", "practice_code"][:2])
    path = tmp_path / "nested.toml"
    path.write_text(
        # the base's band (12,000-30,000) is not the innermost level's: the band is given once
        # more, as the innermost level (a different one is refused, test_neighbourhoods)
        f'extends = "{region / "base.toml"}"\nname = "nested"\n'
        "[band]\nmin_size = 12000\nmax_size = 35000\n"
        f"{LEVELS}"
        f'[[changes]]\ntype = "merge"\npractices = ["{east[0]}", "{east[1]}"]\n'
    )
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--jobs", "1"]) == 0
    folder = out / "nested"
    for name in ("units_hood.csv", "units_pcn.csv", "units_hood.geojson", "changes.csv"):
        assert (folder / name).exists(), name
    table = pd.read_csv(folder / "assignments.csv", dtype=str, keep_default_na=False)
    assert east[1] not in set(table["practice_code"])  # the change was made before solving
    assert (table.groupby("pcn_id")["hood_id"].nunique() == 1).all()  # nested
    size = small.set_index("practice_code")["list_size"].astype(float)
    size[east[0]] += size.pop(east[1])
    for column, (low, high) in (("hood_id", (40_000, 100_000)), ("pcn_id", (12_000, 35_000))):
        for unit, group in table.groupby(column):
            assert unit and low <= size[group["practice_code"]].sum() <= high, (column, unit)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["levels"] == ["hood", "pcn"] and summary["scenario"]["name"] == "nested"
    assert "## Hoods\n" in (folder / "report.md").read_text()
    # finished: a second run skips it
    assert cli.main(["run", str(path), "--out", str(out), "--jobs", "1"]) == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            LEVELS.replace(
                "min_size = 40000\nmax_size = 100000", "min_size = 4000\nmax_size = 10000"
            ),
            "the bands cannot nest",
        ),
        (LEVELS.replace('"hood"', '"pcn"'), "'pcn' is named twice"),
        (LEVELS.replace("min_size = 40000", 'min_size = "40000"'), "key 'level[0].min_size'"),
        (LEVELS.replace('name = "hood"\n', ""), "key 'level[0].name'"),
    ],
)
def test_bad_level_tables_exit_2_naming_file_and_key(region, tmp_path, capsys, body, words):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "{region / "base.toml"}"\nname = "bad"\n{body}')
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "level" in err and words in err and "Traceback" not in err
    assert not out.exists()
