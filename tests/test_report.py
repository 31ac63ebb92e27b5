"""report.md as a commissioner reads it: every PCN by name, current against proposed."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import cli
from pcnopt.run import RunConfig, run_validate
from pcnopt.run.tables import proposed_name
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("report") / "out"
    assert cli.main(["optimise", "--out", str(out)]) == 0
    return {"out": out, "report": (out / "report.md").read_text(encoding="utf-8")}


def _row(report: str, label: str) -> list[str]:
    line = next(x for x in report.splitlines() if x.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_every_proposed_pcn_is_a_row_with_its_name_and_figures(demo):
    pcns = pd.read_csv(demo["out"] / "pcns.csv", dtype={"pcn_id": str})
    section = demo["report"].split("## Proposed PCNs")[1].split("\n## ")[0]
    rows = [r for r in section.splitlines() if r.startswith("| P") and not r.startswith("| PCN |")]
    assert len(rows) == len(pcns)
    for r, p in zip(rows, pcns.itertuples(index=False), strict=True):
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert cells[0].replace("\\", "") == p.pcn_id and cells[1].replace("\\", "") == p.pcn_label
        assert int(cells[4].replace(",", "")) == p.list_size
        assert cells[6] == p.band_status
        assert int(cells[8].replace(",", "")) == round(p.arrs_sum_gbp)
    assert pcns.groupby("place_id")["pcn_label"].apply(lambda s: s.is_unique).all()


def test_current_against_proposed_agrees_with_the_validator(demo):
    practices = pd.read_csv(PROJECT / "data/practices.csv", dtype=str)
    practices["list_size"] = practices["list_size"].astype(int)
    current = practices.rename(columns={"current_pcn": "pcn_id"})[["practice_code", "pcn_id"]]
    audit = run_validate(
        RunConfig(
            practices=PROJECT / "data/practices.csv",
            places=PROJECT / "data/places.geojson",
            place_column="place_id",
        ),
        assignments=current,
    )
    share = (
        audit.pcns.loc[audit.pcns["in_band"], "population"].sum() / audit.pcns["population"].sum()
    )
    assert _row(demo["report"], "PCNs")[1] == str(len(audit.pcns))
    shown = _row(demo["report"], "patients in PCNs within 30,000–50,000")[1]
    assert float(shown.rstrip(" %")) == pytest.approx(100 * share, abs=0.05)
    proposed = pd.read_csv(demo["out"] / "assignments.csv", dtype=str)
    now = current.groupby("pcn_id")["practice_code"].agg(frozenset)
    new = set(proposed.groupby("pcn_id")["practice_code"].agg(frozenset))
    kept = re.search(r"Current PCNs kept whole: (\d+) of (\d+)", demo["report"])
    assert kept and (int(kept[1]), int(kept[2])) == (sum(g in new for g in now), len(now))


def test_proposed_names_are_readable_and_unique():
    used: set[str] = set()
    assert proposed_name("THE DENSHAM SURGERY", used=used) == "Densham PCN"
    assert proposed_name("Densham Medical Centre", used=used) == "Densham PCN 2"
    assert proposed_name("St Osric's Surgery", used=used) == "St Osric's PCN"
    assert proposed_name("The Surgery", used=used) == "The Surgery PCN"


def test_a_count_no_configuration_can_meet_stops_with_each_places_range(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["optimise", "--n-pcns", "3", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cannot be met" in err and "P01 Brackendale (26 practices): the band allows" in err
    assert not out.exists()


def test_each_places_count_range_is_reported(demo):
    import json

    places = pd.read_csv(demo["out"] / "places.csv", dtype={"place_id": str})
    practices = pd.read_csv(PROJECT / "data/practices.csv")
    summary = json.loads((demo["out"] / "summary.json").read_text())
    for r in places.itertuples(index=False):
        assert summary["pcns_in_band_allowed"][r.place_id] == [
            r.min_pcns_in_band,
            r.max_pcns_in_band,
        ]
        assert r.min_pcns_in_band <= r.n_pcns  # the proposed count is one the band allows
    assert set(places["place_id"]) == set(summary["pcns_in_band_allowed"])
    assert len(practices) == places["n_practices"].sum()
