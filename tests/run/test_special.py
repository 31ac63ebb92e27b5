"""Special services (special allocation, homeless, asylum…): no catchment, attached to a PCN."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import cli
from pcnopt.geography import special_practices
from tests.conftest import PROJECT


def test_special_services_are_found_by_name_size_or_option():
    table = pd.DataFrame(
        {
            "practice_code": ["A1", "A2", "A3", "A4", "A5", "A6"],
            "name": [
                "LLR SAS PROVIDER",
                "South Wigston Asylum Service",
                "Claypath & University Medical Group",
                "High Street Surgery",
                "Tiny Practice",
                "Inclusion Healthcare",
            ],
            "list_size": [46, 62, 35_066, 9_000, 40, 900],
        }
    )
    found = special_practices(table, extra=("A4",))
    # not the 35,066 university group, nor a small list with an ordinary name
    assert sorted(found) == ["A1", "A2", "A4", "A6"]
    assert "--special" in found["A4"] and "'asylum'" in found["A2"]


@pytest.fixture(scope="module")
def with_special(tmp_path_factory):
    folder = tmp_path_factory.mktemp("special")
    table = pd.read_csv(PROJECT / "data/practices.csv", dtype={"practice_code": str})
    host = table.iloc[10]
    extra = host.copy()
    extra["practice_code"], extra["name"], extra["list_size"] = (
        "Y99999",
        "Special Allocation Scheme",
        46,
    )
    extra["weighted_population"], extra["current_pcn"] = 50.0, None
    extra["lat"], extra["lon"] = host["lat"] + 0.001, host["lon"] + 0.001
    pd.concat([table, extra.to_frame().T]).to_csv(folder / "practices.csv", index=False)
    out = folder / "out"
    assert (
        cli.main(
            [
                "optimise",
                "--practices",
                str(folder / "practices.csv"),
                "--places",
                str(PROJECT / "data/places.geojson"),
                "--place-column",
                "place_id",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return host, out


def test_a_special_service_joins_the_pcn_of_its_nearest_practice(with_special):
    host, out = with_special
    a = pd.read_csv(out / "assignments.csv", dtype=str).set_index("practice_code")
    assert a.at["Y99999", "pcn_id"] == a.at[host["practice_code"], "pcn_id"]
    assert "special service" in a.at["Y99999", "note"]
    catchments = json.loads((out / "catchments.geojson").read_text())
    assert "Y99999" not in {f["properties"]["practice_code"] for f in catchments["features"]}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["valid"] and summary["practices_out"] == summary["practices_in"]
    assert summary["special_practices"][0]["host_practice"] == host["practice_code"]
    assert "Special Allocation Scheme" in (out / "report.md").read_text()


def test_an_unknown_special_code_is_refused_before_solving(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["optimise", "--special", "NOPE01", "--out", str(out)]) == 2
    assert "--special NOPE01" in capsys.readouterr().err and not out.exists()
