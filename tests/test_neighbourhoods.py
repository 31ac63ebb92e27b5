"""pcnopt neighbourhoods: PCNs nested in neighbourhoods, each level contiguous and in band."""

from __future__ import annotations

import json

import networkx as nx
import pandas as pd

import cli
from pcnopt import geography
from pcnopt.run import RunConfig, load_inputs
from tests.conftest import PROJECT

DEMO = PROJECT / "data/practices.csv"


def test_current_pcns_grouped_whole_into_contiguous_neighbourhoods(tmp_path):
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "neighbourhoods",
                "--band",
                "100000-250000",
                "--group-pcns",
                str(DEMO),
                "--pcn-column",
                "current_pcn",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "assignments.csv", dtype=str)
    current = pd.read_csv(DEMO, dtype=str).set_index("practice_code")["current_pcn"]
    # every current PCN lies wholly inside one neighbourhood, and keeps its practices
    for pcn, group in table.groupby("pcn_id"):
        assert group["neighbourhood_id"].nunique() == 1
        assert set(group["practice_code"]) == set(current[current == pcn].index)
    practices, places, _ = load_inputs(RunConfig())
    _, edges = geography.catchments_and_adjacency(practices, places)
    graph = nx.Graph(list(zip(edges["a"], edges["b"], strict=True)))
    graph.add_nodes_from(practices["practice_code"])
    units = pd.read_csv(out / "units_neighbourhood.csv", dtype={"neighbourhood_id": str})
    pcns = pd.read_csv(out / "units_pcn.csv", dtype={"pcn_id": str})
    broken_pcns = set(pcns.loc[~pcns["contiguous"], "pcn_id"])
    for pcn, group in table.groupby("pcn_id"):  # the flag is true to the adjacency
        assert nx.is_connected(graph.subgraph(group["practice_code"])) == (pcn not in broken_pcns)
    for unit, group in table.groupby("neighbourhood_id"):
        connected = nx.is_connected(graph.subgraph(group["practice_code"]))
        # a neighbourhood is contiguous unless a given PCN inside it is not
        assert connected or set(group["pcn_id"]) & broken_pcns
        assert group["place_id"].nunique() == 1
        row = units.set_index("neighbourhood_id").loc[unit]
        size = practices.set_index("practice_code").loc[group["practice_code"], "list_size"].sum()
        assert row["patients"] == size
        assert (100_000 <= size <= 250_000) == bool(row["in_band"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["practices"] == len(practices) == len(table)


def test_a_pcn_across_two_places_is_refused_and_nothing_is_written(tmp_path, capsys):
    table = pd.read_csv(DEMO, dtype=str)  # PCN-A* lie in place P01, PCN-C* in P03
    moved = table.index[table["current_pcn"] == "PCN-A1"][0]
    table.loc[moved, "current_pcn"] = "PCN-C1"  # a PCN-C1 practice in P01: C1 crosses places
    bad = tmp_path / "pcns.csv"
    table.to_csv(bad, index=False)
    out = tmp_path / "out"
    code = cli.main(
        [
            "neighbourhoods",
            "--band",
            "100000-250000",
            "--group-pcns",
            str(bad),
            "--pcn-column",
            "current_pcn",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "cross places" in err and not out.exists()


def test_bands_that_cannot_nest_are_refused(tmp_path, capsys):
    code = cli.main(["neighbourhoods", "--band", "10000-20000", "--out", str(tmp_path / "o")])
    assert code == 2 and "could never hold a PCN" in capsys.readouterr().err
    code = cli.main(["neighbourhoods", "--band", "big", "--out", str(tmp_path / "o")])
    assert code == 2 and "is not a band" in capsys.readouterr().err


def test_council_alignment_is_reported_for_every_unit(tmp_path):
    """With the places themselves as the council layer, every unit lies in one 'council'."""
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "neighbourhoods",
                "--band",
                "100000-250000",
                "--group-pcns",
                str(DEMO),
                "--pcn-column",
                "current_pcn",
                "--align-to",
                str(PROJECT / "data/places.geojson"),
                "--align-column",
                "place_id",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    for name in ("units_neighbourhood.csv", "units_pcn.csv"):
        units = pd.read_csv(out / name, dtype=str)
        assert (units["main_council"] == units["place_id"]).all()
        assert (units["share_in_main_council"].astype(float) == 1.0).all()
        assert (units["councils_spanned"] == "1").all()
    assert "main council (share of patients)" in (out / "report.md").read_text()
