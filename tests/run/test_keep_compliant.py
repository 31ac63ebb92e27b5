"""--keep-compliant: current PCNs that meet every rule stay exactly as they are."""

from __future__ import annotations

import json

import pandas as pd

import cli
from pcnopt.run import RunConfig, run_validate
from tests.conftest import PROJECT


def test_compliant_current_pcns_are_kept_whole_and_the_rest_redesigned(tmp_path):
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "optimise",
                "--keep-compliant",
                "--objective",
                "disruption,compact",
                "--lexicographic",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    current = pd.read_csv(PROJECT / "data/practices.csv", dtype=str)
    current = current.rename(columns={"current_pcn": "pcn_id"})[["practice_code", "pcn_id"]]
    audit = run_validate(
        RunConfig(
            practices=PROJECT / "data/practices.csv",
            places=PROJECT / "data/places.geojson",
            place_column="place_id",
        ),
        assignments=current,
    )
    # the independent validator's verdict on each current PCN, with no rule broken by it
    broken = {p.split(":")[0].removeprefix("PCN ") for p in audit.problems if p.startswith("PCN ")}
    summary = json.loads((out / "summary.json").read_text())
    kept = {r["pcn"] for r in summary["current_pcns"] if r["kept"]}
    assert kept and not (kept & broken)
    proposed = pd.read_csv(out / "assignments.csv", dtype=str)
    groups = set(proposed.groupby("pcn_id")["practice_code"].agg(frozenset))
    now = current.groupby("pcn_id")["practice_code"].agg(frozenset)
    for pcn in kept:
        assert now[pcn] in groups, pcn  # kept exactly as it is
    assert summary["valid"]
    assert all(r["why"] for r in summary["current_pcns"])
