"""All of England from the NHS files as published, end to end through the command line.

``prepare-nhs`` joins the real files in ../shared/data/nhs-files; ``optimise`` groups every
practice with the sub-ICB (April 2023) boundaries; the four outputs are checked against each
other and against the independent validator. A per-place time limit and gap keep the run to a
few minutes; the benchmark in ``benchmarks/england.py`` runs without them.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest

import cli

pytestmark = [pytest.mark.slow, pytest.mark.shared]


@pytest.fixture(scope="module")
def england(shared_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("england")
    files = shared_dir / "data/nhs-files"
    table = tmp / "england.csv"
    code = cli.main(
        [
            "prepare-nhs",
            "--epraccur",
            str(files / "epraccur-2023-01/epraccur.csv"),
            "--list-sizes",
            str(files / "gp-reg-pat-prac-all-2021-01/gp-reg-pat-prac-all.csv"),
            "--postcodes",
            str(files / "codepoint-open-2014-08/codepo_gb_2014-08_latlon.csv.gz"),
            "--epcn",
            str(files / "epcn-2019-12/ePCN.xlsx"),
            "--payments",
            str(files / "payments-2018-19/nhspaymentsgp-18-19-csv.csv"),
            "--out",
            str(table),
        ]
    )
    assert code == 0
    out = tmp / "out"
    code = cli.main(
        [
            "optimise",
            "--practices",
            str(table),
            "--places",
            str(shared_dir / "data/boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson"),
            "--place-column",
            "SICBL23CD",
            "--time-limit",
            "20",
            "--mip-gap",
            "0.01",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return table, out


def test_every_practice_of_england_is_in_exactly_one_pcn(england):
    table, out = england
    practices = pd.read_csv(table, dtype={"practice_code": str})
    assignments = pd.read_csv(out / "assignments.csv")
    assert len(practices) > 6_300
    assert sorted(assignments["practice_code"]) == sorted(practices["practice_code"])
    assert assignments["pcn_id"].notna().all()
    assert assignments["list_size"].sum() == practices["list_size"].sum()


def test_outputs_agree_with_each_other_and_the_validator(england, shared_dir):
    _, out = england
    assignments = pd.read_csv(out / "assignments.csv")
    pcns = pd.read_csv(out / "pcns.csv")
    areas = gpd.read_file(out / "pcns.geojson")
    summary = json.loads((out / "summary.json").read_text())
    places = gpd.read_file(shared_dir / "data/boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson")
    assert summary["places"] == len(places) == 106
    assert set(pcns["place_id"]) == set(places["SICBL23CD"])
    # one place per PCN, sizes add up, one area per PCN
    assert (assignments.groupby("pcn_id")["place_id"].nunique() == 1).all()
    sizes = assignments.groupby("pcn_id")["list_size"].sum()
    assert sizes.to_dict() == pcns.set_index("pcn_id")["list_size"].to_dict()
    assert sorted(areas["pcn_id"]) == sorted(pcns["pcn_id"])
    # every PCN is in band or carries a note: a named exception, or the marked fallback of a
    # place the solver could not settle (infeasible, or the time limit came first)
    outside = pcns[~pcns["in_band"]]
    assert outside["exception"].fillna("").str.len().gt(0).all()
    status = pd.read_csv(out / "places.csv").set_index("place_id")["status"]
    # text even when no PCN breaks a rule (an all-blank column would be read as numbers)
    validation = pd.read_csv(out / "validation.csv", dtype={"problems": "string"})
    validation = validation.fillna({"problems": ""})
    broken = validation[validation["problems"] != ""]
    unsettled = {"infeasible", "unknown", "solver_failed"}
    assert broken["place_id"].map(status).isin(unsettled).all(), broken.head()
    assert summary["valid"] == broken.empty
    # contiguity and places are never broken, even by a fallback
    assert not broken["problems"].str.contains("not contiguous|crosses places").any()
    assert summary["share_patients_in_band"] > 0.95
    assert (status.isin(["optimal", "below_minimum", "feasible", "trivial"])).mean() > 0.8
