"""One area of England straight from the national table (--area)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

import cli
from tests.conftest import optimise_argv

X0, Y0 = 450_000.0, 300_000.0
BAND = ("--min-size", "20000", "--max-size", "50000")


def area_argv(national: dict[str, Path], out: Path, *extra: str) -> list[str]:
    """``optimise`` on the national fixture's table and places (keyed by ``code``)."""
    return optimise_argv(
        national["practices"], out, *extra, places=national["places"], place_column="code"
    )


@pytest.fixture
def national(tmp_path: Path) -> dict[str, Path]:
    """Three places side by side; a practice of C stands 300 m outside A's edge, in C.

    Place C's polygon is invalid (a bow tie): it is not in the area, so it must not matter.
    """
    places = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"]},
        geometry=[
            box(X0, Y0, X0 + 10_000, Y0 + 10_000),
            box(X0 + 10_000, Y0, X0 + 20_000, Y0 + 10_000),
            Polygon([(X0 - 10_000, Y0), (X0, Y0 + 10_000), (X0, Y0), (X0 - 10_000, Y0 + 10_000)]),
        ],
        crs="EPSG:27700",
    )
    rows = []
    for k in range(6):
        rows.append((f"A{k:04d}", X0 + 1_000 + 1_500 * k, Y0 + 5_000, 10_000 + 500 * k, "A"))
        rows.append((f"B{k:04d}", X0 + 11_000 + 1_500 * k, Y0 + 5_000, 10_000, "B"))
    rows.append(("C0001", X0 - 300, Y0 + 5_000, 12_000, "C"))
    table = pd.DataFrame(
        rows, columns=["practice_code", "easting", "northing", "list_size", "place"]
    )
    table["name"] = "Practice " + table["practice_code"]
    table.to_csv(tmp_path / "england.csv", index=False)
    places.to_file(tmp_path / "places.geojson", driver="GeoJSON")
    return {"practices": tmp_path / "england.csv", "places": tmp_path / "places.geojson"}


def test_area_keeps_only_its_places_practices_and_snaps_in_no_neighbour(national, tmp_path):
    out = tmp_path / "out"
    code = cli.main(area_argv(national, out, "--area", "A", *BAND))
    assert code == 0
    assignments = pd.read_csv(out / "assignments.csv", dtype=str)
    assert sorted(assignments["practice_code"]) == [f"A{k:04d}" for k in range(6)]
    assert json.loads((out / "summary.json").read_text())["places"] == 1


def test_area_from_a_place_column(national, tmp_path):
    out = tmp_path / "out"
    argv = optimise_argv(
        national["practices"], out, "--place-field", "place", "--area", "A,B", *BAND, places=None
    )
    code = cli.main(argv)
    assert code == 0
    places = set(pd.read_csv(out / "assignments.csv", dtype=str)["place_id"])
    assert places == {"A", "B"}


def test_an_unknown_area_is_named_with_the_known_ones(national, tmp_path, capsys):
    code = cli.main(area_argv(national, tmp_path / "out", "--area", "Z"))
    err = capsys.readouterr().err
    assert code == 2 and "--area names 'Z'" in err and "A, B, C" in err
    assert not (tmp_path / "out").exists()


def test_without_area_the_invalid_polygon_still_stops_the_run(national, tmp_path, capsys):
    code = cli.main(area_argv(national, tmp_path / "out"))
    assert code == 2 and "invalid polygon" in capsys.readouterr().err
