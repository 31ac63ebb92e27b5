"""The command line as a user meets it: outputs, messages, exit codes, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon

import cli
from tests.conftest import PROJECT

OUTPUTS = ("assignments.csv", "pcns.csv", "pcns.geojson", "summary.json")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert cli.main(["optimise", "--out", str(out)]) == 0
    return out


def test_optimise_on_embedded_default_writes_the_four_outputs(default_run):
    for name in OUTPUTS:
        assert (default_run / name).is_file(), name
    practices = pd.read_csv(PROJECT / "data/practices.csv")
    assignments = pd.read_csv(default_run / "assignments.csv")
    pcns = pd.read_csv(default_run / "pcns.csv")
    areas = gpd.read_file(default_run / "pcns.geojson")
    summary = json.loads((default_run / "summary.json").read_text())
    # every practice in, every practice out, exactly once
    assert sorted(assignments["practice_code"]) == sorted(practices["practice_code"])
    assert {"practice_code", "pcn_id", "place_id", "list_size"} <= set(assignments.columns)
    assert {"pcn_id", "place_id", "list_size", "n_practices"} <= set(pcns.columns)
    assert assignments["list_size"].sum() == practices["list_size"].sum() == pcns["list_size"].sum()
    sizes = assignments.groupby("pcn_id")["list_size"].sum()
    assert sizes.to_dict() == pcns.set_index("pcn_id")["list_size"].to_dict()
    assert sorted(areas["pcn_id"]) == sorted(pcns["pcn_id"])
    assert areas.crs.to_epsg() == 4326
    assert summary["practices_in"] == summary["practices_out"] == len(practices)
    assert summary["pcns"] == len(pcns)


def validate_args(assignments, *extra):
    """``validate`` on the embedded demo's practices and places."""
    return [
        "validate",
        "--practices",
        str(PROJECT / "data/practices.csv"),
        "--places",
        str(PROJECT / "data/places.geojson"),
        "--place-column",
        "place_id",
        "--assignments",
        str(assignments),
        *extra,
    ]


def test_validate_accepts_the_default_run_and_exits_by_rules(default_run, capsys):
    code = cli.main(validate_args(default_run / "assignments.csv"))
    summary = json.loads((default_run / "summary.json").read_text())
    assert code == (0 if summary["valid"] else 1)
    assert "PCNs checked" in capsys.readouterr().out


def test_validate_flags_the_current_configuration(capsys):
    """The demo's current PCNs are deliberately out of band in places: exit 1 and say which."""
    practices = PROJECT / "data/practices.csv"
    code = cli.main(validate_args(practices, "--pcn-column", "current_pcn"))
    out = capsys.readouterr().out
    assert code == 1
    assert "is below the band" in out or "is above the band" in out


@pytest.fixture(scope="module")
def run_pairs(default_run):
    """The valid default run, two practices sharing a PCN and two of one place in different ones."""
    assert json.loads((default_run / "summary.json").read_text())["valid"]
    assignments = pd.read_csv(default_run / "assignments.csv").sort_values("practice_code")
    first = assignments.groupby("pcn_id").filter(lambda g: len(g) > 1)["pcn_id"].iloc[0]
    sharing = assignments.loc[assignments["pcn_id"] == first, "practice_code"].iloc[:2]
    place = assignments.loc[assignments["pcn_id"] == first, "place_id"].iloc[0]
    other = assignments[(assignments["place_id"] == place) & (assignments["pcn_id"] != first)]
    apart = (sharing.iloc[0], other["practice_code"].iloc[0])
    return default_run / "assignments.csv", first, tuple(sharing), apart


def test_validate_names_a_broken_keep_apart_rule_and_exits_1(run_pairs, capsys):
    assignments, pcn, (a, b), _ = run_pairs
    code = cli.main(validate_args(assignments, "--keep-apart", f"{a},{b}"))
    out = capsys.readouterr().out
    assert code == 1
    assert f"rule broken: {a} and {b} must be in different PCNs but share {pcn}" in out


def test_validate_accepts_a_kept_keep_apart_rule(run_pairs, capsys):
    assignments, _, (a, b), apart = run_pairs
    rules = ["--keep-apart", ",".join(apart), "--keep-together", f"{a},{b}"]
    assert cli.main(validate_args(assignments, *rules)) == 0
    assert "0 rule(s) broken" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (["--keep-apart", "{a},ZZ9999"], "--keep-apart {a},ZZ9999 names ZZ9999"),
        (["--fix", "zz9999=north"], "--fix ZZ9999=north names ZZ9999"),
        (["--exclude", "zz9999"], "--exclude ZZ9999 names ZZ9999"),
    ],
)
def test_validate_refuses_a_rule_naming_an_unknown_practice(run_pairs, capsys, rule, expected):
    assignments, _, (a, _), _ = run_pairs
    code = cli.main(validate_args(assignments, *(r.format(a=a) for r in rule)))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("pcnopt: error: ")
    assert f"{expected.format(a=a)}, not in the practices table" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def bad_practices(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("practice_code,name,lat,lon,list_size\nA1,x,52.9,-1.1,many\n")
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            lambda t: ["--practices", str(bad_practices(t)), "--place-field", "place_id"],
            "row 2, column 'list_size': list size is not a number",
        ),
        (lambda t: ["--min-size", "60000"], "--min-size (60,000) is larger than --max-size"),
        (
            lambda t: ["--places", str(PROJECT / "data/places.geojson"), "--place-column", "nope"],
            "no column 'nope'",
        ),
        (lambda t: ["--practices", str(PROJECT / "data/practices.csv")], "say where the places"),
    ],
)
def test_bad_input_gives_one_message_exit_2_and_writes_nothing(tmp_path, capsys, args, expected):
    out = tmp_path / "out"
    code = cli.main(["optimise", *args(tmp_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out*")), "no partial folder may be left behind"


def test_invalid_polygon_is_refused_with_the_feature_named(tmp_path, capsys):
    bowtie = Polygon([(-1.2, 52.9), (-1.0, 53.1), (-1.0, 52.9), (-1.2, 53.1)])
    places = gpd.GeoDataFrame({"pid": ["P1"]}, geometry=[bowtie], crs="EPSG:4326")
    path = tmp_path / "places.geojson"
    places.to_file(path)
    code = cli.main(
        ["optimise", "--places", str(path), "--place-column", "pid", "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "feature 1, column 'geometry': invalid polygon" in err
    assert "--repair-geometries" in err


def test_refuses_to_overwrite_a_folder_that_is_not_a_run(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert cli.main(["optimise", "--out", str(out)]) == 2
    assert "will not touch this one" in capsys.readouterr().err
    assert (out / "precious.txt").read_text() == "keep me"


def test_a_previous_run_is_replaced_whole(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["optimise", "--out", str(out)]) == 0
    assert cli.main(["optimise", "--out", str(out), "--min-size", "25000"]) == 0
    assert json.loads((out / "summary.json").read_text())["settings"]["min_size"] == 25000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_real_process_prints_no_traceback(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "cli.py"),
            "optimise",
            "--min-size",
            "-5",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("pcnopt: error:")
    assert "Traceback" not in run.stderr
