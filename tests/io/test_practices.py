"""Reading practices tables: formats, spellings, quirks that just work, and bad input."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from pcnopt import InputError
from pcnopt.io.practices import practices_from_file

GOOD = (
    "practice_code,name,lat,lon,list_size\n"
    "A00001,Riverside Surgery,52.950,-1.150,8000\n"
    "A00002,Hill Top Practice,52.960,-1.140,12000\n"
)


def write(tmp_path, text: str, name: str = "practices.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_canonical_csv_into_bng_points(tmp_path):
    practices = practices_from_file(write(tmp_path, GOOD))
    assert list(practices["practice_code"]) == ["A00001", "A00002"]
    assert list(practices["list_size"]) == [8000, 12000]
    assert practices.crs.to_epsg() == 27700
    # Nottingham is about 457,000 E / 340,000 N on the British National Grid
    assert 450_000 < practices.geometry.x[0] < 465_000
    assert 335_000 < practices.geometry.y[0] < 345_000
    assert list(practices["source_row"]) == [2, 3]


def test_quirks_just_work(tmp_path):
    text = (
        "\ufeffCode;Practice Name;Latitude;Longitude;Patients;Extra\r\n"
        'a00002;Hill Top;52.96;-1.14;"12,000";x\r\n'
        "a00001;Riverside;52.95;-1.15;8 000;y\r\n"
    )
    practices = practices_from_file(write(tmp_path, text))
    assert list(practices["practice_code"]) == ["A00001", "A00002"]
    assert list(practices["list_size"]) == [8000, 12000]
    assert list(practices["name"]) == ["Riverside", "Hill Top"]


def test_windows_1252_and_nhs_spellings(tmp_path):
    text = "CODE,NAME,LATITUDE,LONGITUDE,NUMBER_OF_PATIENTS\nB1,Caf\xe9 Surgery,53.0,-1.2,5000\n"
    practices = practices_from_file(write(tmp_path, text, encoding="cp1252"))
    assert practices.loc[0, "name"] == "Café Surgery"
    assert practices.loc[0, "list_size"] == 5000


def test_explicit_column_mapping_wins(tmp_path):
    text = "ods,label,y,x,Patients Jan 2024,Patients Jan 2020\nC1,Dale,53.0,-1.2,7000,6000\n"
    practices = practices_from_file(
        write(tmp_path, text),
        columns={
            "practice_code": "ods",
            "name": "label",
            "lat": "y",
            "lon": "x",
            "list_size": "Patients Jan 2024",
        },
    )
    assert practices.loc[0, "list_size"] == 7000


def test_geojson_points(tmp_path):
    frame = gpd.GeoDataFrame(
        {"practice_code": ["A1", "A2"], "list_size": [100, 200]},
        geometry=gpd.points_from_xy([-1.15, -1.14], [52.95, 52.96]),
        crs="EPSG:4326",
    )
    path = tmp_path / "p.geojson"
    frame.to_file(path)
    practices = practices_from_file(path)
    assert practices.crs.to_epsg() == 27700
    assert practices["lat"].round(2).tolist() == [52.95, 52.96]


def test_parquet_with_eastings(tmp_path):
    frame = pd.DataFrame(
        {"practice_code": ["A1"], "list_size": [100], "easting": [457000.0], "northing": [340000.0]}
    )
    path = tmp_path / "p.parquet"
    frame.to_parquet(path)
    practices = practices_from_file(path)
    assert practices.geometry.x[0] == pytest.approx(457000.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("practice_code,name,lat,lon\nA1,x,52.9,-1.1\n", "required column missing: list_size"),
        (GOOD + "A00001,Again,52.9,-1.1,100\n", "rows 2, 4, column 'practice_code': duplicate"),
        (
            GOOD + "A00003,x,52.9,-1.1,lots\n",
            "row 4, column 'list_size': list size is not a number",
        ),
        (GOOD + "A00003,x,52.9,-1.1,-5\n", "row 4, column 'list_size': list size is negative"),
        (
            GOOD + "A00003,x,-1.1,52.9,100\n",
            "row 4, column 'lat/lon': latitude and longitude appear",
        ),
        (GOOD + "A00003,x,40.0,10.0,100\n", "row 4, column 'lat/lon': coordinates are outside"),
        (GOOD + "A00003,x,,,100\n", "row 4, column 'lat/lon': coordinates are missing"),
        ("practice_code,name,lat,lon,list_size\n", "header but no practices"),
    ],
)
def test_bad_input_names_file_row_and_column(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        practices_from_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "Fix:" in message


def test_all_problems_reported_together(tmp_path):
    path = write(tmp_path, GOOD + "A00003,x,52.9,-1.1,lots\nA00004,y,-1.1,52.9,100\n")
    with pytest.raises(InputError) as caught:
        practices_from_file(path)
    assert len(caught.value.problems) == 2


def test_empty_and_binary_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        practices_from_file(empty)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00\x00binary")
    with pytest.raises(InputError, match="not readable text"):
        practices_from_file(binary)
    with pytest.raises(InputError, match="file not found"):
        practices_from_file(tmp_path / "nope.csv")
