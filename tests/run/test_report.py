"""report.md as a commissioner reads it: every PCN by name, current against proposed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

import cli
from pcnopt.run import RunConfig, run_validate
from pcnopt.run.tables import hub_towns, proposed_name
from tests.conftest import PROJECT, demo_practices, optimise_argv, write_practices


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


def test_a_town_names_its_pcn_when_no_other_pcn_of_the_place_has_its_hub_there():
    info = pd.DataFrame(
        {"town": ["Hucknall", "Nottingham", "NOTTINGHAM", "Arnold", None]},
        index=["H1", "N1", "N2", "A1", "X1"],
    )
    towns = hub_towns(info, ["H1", "N1", "N2", "A1", "X1"])
    assert towns == ["Hucknall", None, None, "Arnold", None]  # a city of two PCNs names neither
    assert hub_towns(info.drop(columns="town"), ["H1"]) == [None]
    # the locality, the finer, wins where no other hub of the place shares it
    info["locality"] = ["", "Bulwell", "Bulwell", "", "Clifton"]
    assert hub_towns(info, ["H1", "N1", "N2", "A1", "X1"]) == [
        "Hucknall",
        None,
        None,
        "Arnold",
        "Clifton",
    ]
    info = info.drop(columns="locality")
    used: set[str] = set()
    names = [
        proposed_name(hub, used=used, town=town)
        for hub, town in zip(
            ["Hucknall Surgery", "Leen View Surgery", "Welbeck Surgery", "Arnold Practice", "Om"],
            towns,
            strict=True,
        )
    ]
    assert names == ["Hucknall PCN", "Leen View PCN", "Welbeck PCN", "Arnold PCN", "Om PCN"]
    # a practice named after a town that already names a PCN is numbered, not repeated
    assert proposed_name("Hucknall Medical Centre", used=used) == "Hucknall PCN 2"


def test_proposed_pcns_take_their_hub_towns_names_in_a_run(demo, tmp_path):
    pcns = pd.read_csv(demo["out"] / "pcns.csv", dtype=str)
    table = demo_practices()
    # every practice its own town: every hub town names its PCN
    table["town"] = "Town of " + table["practice_code"]
    out = tmp_path / "out"
    assert cli.main(optimise_argv(write_practices(table, tmp_path), out)) == 0
    named = pd.read_csv(out / "pcns.csv", dtype=str)
    assert list(named["hub_practice"]) == list(pcns["hub_practice"])  # towns change no plan
    assert list(named["pcn_label"]) == [f"Town of {h} PCN" for h in named["hub_practice"]]


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


class _Tables(HTMLParser):
    """The text of every table cell of an HTML page, table by table, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._cell is not None:
            self._cell.append(data)


def html_tables(path) -> _Tables:
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_report_html_has_every_pcn_with_the_figures_of_pcns_csv(demo):
    pcns = pd.read_csv(demo["out"] / "pcns.csv", dtype={"pcn_id": str})
    page = html_tables(demo["out"] / "report.html")
    table = next(t for t in page.tables if t[0][:2] == ["PCN", "name"])
    header, rows = table[0], table[1:]
    assert [r[0] for r in rows] == list(pcns["pcn_id"])
    for r, p in zip(rows, pcns.itertuples(index=False), strict=True):
        cell = dict(zip(header, r, strict=True))
        assert cell["name"] == p.pcn_label
        assert int(cell["registered"].replace(",", "")) == p.list_size
        assert cell["size band"] == p.band_status
        assert int(cell["ARRS £"].replace(",", "")) == round(p.arrs_sum_gbp)
    # the same sections as report.md, in the same order
    headings = re.findall(r"^## (.+)$", demo["report"], flags=re.M)
    html = (demo["out"] / "report.html").read_text(encoding="utf-8")
    assert re.findall(r"<h2>(.+?)</h2>", html) == headings
    assert "@media print" in html and "<script" not in html


def test_report_html_shows_markup_in_a_name_as_text(demo, tmp_path):
    table = demo_practices()
    hub = pd.read_csv(demo["out"] / "pcns.csv", dtype=str)["hub_practice"].iloc[0]
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    table.loc[table["practice_code"] == hub, "name"] = hostile
    out = tmp_path / "out"
    assert cli.main(optimise_argv(write_practices(table, tmp_path), out)) == 0
    page = html_tables(out / "report.html")
    assert not {"script", "img"} & set(page.tags)  # no element made from the name
    cells = [c for t in page.tables for r in t for c in r]
    assert f"{hostile} ({hub})" in cells  # the name shown, as the text it is


def test_the_area_arrs_total_is_said_once_and_equals_the_pcns_sum(demo):
    """One headline line for the area's ARRS (it was said twice, once escaped to
    ``2026\\/27\\: £18\\,004\\,082\\.78``), with the sum of pcns.csv."""
    report = (demo["out"] / "report.md").read_text(encoding="utf-8")
    lines = [line for line in report.splitlines() if line.startswith("- ARRS ")]
    assert len(lines) == 1, lines
    total = pd.read_csv(demo["out"] / "pcns.csv")["arrs_sum_gbp"].sum()
    assert f"£{total:,.2f}" in lines[0], (lines[0], total)
