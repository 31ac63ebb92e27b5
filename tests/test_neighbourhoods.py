"""pcnopt neighbourhoods: PCNs nested in neighbourhoods, each level contiguous and in band."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import pandas as pd
import pytest

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


def _grouped(out, *extra):
    args = [
        "neighbourhoods",
        "--band",
        "100000-250000",
        "--group-pcns",
        str(DEMO),
        "--pcn-column",
        "current_pcn",
        *extra,
        "--out",
        str(out),
    ]
    assert cli.main(args) == 0
    return out


def test_each_level_has_its_areas_in_wgs84_and_neighbourhoods_are_the_union_of_their_pcns(
    tmp_path,
):
    import geopandas as gpd
    import shapely

    out = _grouped(tmp_path / "out")
    areas = {}
    for level, column in (("neighbourhood", "neighbourhood_id"), ("pcn", "pcn_id")):
        units = pd.read_csv(out / f"units_{level}.csv", dtype={column: str})
        shapes = gpd.read_file(out / f"units_{level}.geojson")
        assert shapes.crs.to_epsg() == 4326
        assert list(shapes[column]) == list(units[column])  # one feature per unit, same order
        assert list(shapes["patients"]) == list(units["patients"])
        assert shapes.geometry.notna().all() and not shapes.geometry.is_empty.any()
        x0, y0, x1, y1 = shapes.total_bounds
        assert -7 < x0 < x1 < 2 and 49 < y0 < y1 < 56  # degrees, in England
        areas[level] = shapes.to_crs("EPSG:27700").set_index(column)
    pcns = pd.read_csv(out / "units_pcn.csv", dtype=str)
    inner = areas["pcn"].geometry
    # PCN areas do not overlap (co-sited practices of two PCNs share their cell by wedges)
    assert abs(shapely.union_all(inner.values).area - inner.area.sum()) < 1e-6 * inner.area.sum()
    for hood, shape in areas["neighbourhood"].geometry.items():
        members = pcns.loc[pcns["neighbourhood_id"] == hood, "pcn_id"]
        union = shapely.union_all(inner[members].values)
        assert shape.symmetric_difference(union).area < 1e-6 * shape.area  # nests exactly


def test_the_report_has_a_section_per_level_listing_every_unit(tmp_path):
    out = _grouped(tmp_path / "out")
    report = (out / "report.md").read_text()
    hoods, pcns = report.split("## Neighbourhoods\n")[1].split("## PCNs\n")
    for name, section in (("neighbourhood", hoods), ("pcn", pcns)):
        ids = pd.read_csv(out / f"units_{name}.csv", dtype=str).iloc[:, 0]
        rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
        assert [r.split(" | ")[0][2:].replace("\\", "") for r in rows] == list(ids)
    units = pd.read_csv(out / "units_neighbourhood.csv")
    pcn_units = pd.read_csv(out / "units_pcn.csv")
    # a neighbourhood's ARRS is the sum of its PCNs'
    sums = pcn_units.groupby("neighbourhood_id")["arrs_sum_gbp"].sum()
    for row in units.itertuples():
        assert abs(row.arrs_sum_gbp - sums[row.neighbourhood_id]) < 0.01


PLACES = ["--places", str(PROJECT / "data/places.geojson"), "--place-column", "place_id"]


def _validate(assignments, *extra):
    return cli.main(
        ["validate", "--practices", str(DEMO), *PLACES, "--assignments", str(assignments), *extra]
    )


def test_validate_checks_the_nesting_and_the_outer_level_unit_by_unit(tmp_path, capsys):
    out = _grouped(tmp_path / "out")
    table = pd.read_csv(out / "assignments.csv", dtype=str, keep_default_na=False)
    # move one practice of PCN-A1 into another neighbourhood: PCN-A1 is split
    moved = table.index[table["pcn_id"] == "PCN-A1"][0]
    table.loc[moved, "neighbourhood_id"] = "P02-N02"
    broken = tmp_path / "broken.csv"
    table.to_csv(broken, index=False)
    report = tmp_path / "findings.csv"
    nest = ["--nest-column", "neighbourhood_id", "--nest-band", "100000-250000"]
    capsys.readouterr()
    assert _validate(broken, *nest, "--report", str(report)) == 1
    text = capsys.readouterr().out
    assert "1 unit(s) of the level below split across neighbourhoods:" in text
    assert "PCN PCN-A1 is split across 2 neighbourhoods: P01-N01 (6 practice(s)" in text
    # the neighbourhood it went to now crosses places; its contiguity is checked as well
    assert "neighbourhood P02-N02: crosses places P01, P02" in text
    assert "neighbourhood P02-N01: not contiguous (2 separate parts)" in text
    findings = pd.read_csv(report, dtype=str, keep_default_na=False)
    hoods = findings[findings["level"] == "neighbourhood"].set_index("unit_id")
    units = pd.read_csv(out / "units_neighbourhood.csv", dtype=str).set_index("neighbourhood_id")
    assert set(hoods.index) == set(units.index)
    assert hoods.at["P01-N01", "inner_units"] == "PCN-A1;PCN-A2;PCN-A3;PCN-A4"
    assert "crosses places" in hoods.at["P02-N02", "problems"]
    assert set(findings.loc[findings["level"] == "PCN", "unit_id"]) == set(table["pcn_id"])


def test_validate_refuses_a_missing_nest_column_and_writes_nothing(tmp_path, capsys):
    out = _grouped(tmp_path / "out")
    report = tmp_path / "findings.csv"
    args = [out / "assignments.csv", "--nest-band", "100000-250000", "--report", str(report)]
    capsys.readouterr()
    assert _validate(*args, "--nest-column", "hood") == 2
    err = capsys.readouterr().err
    assert "has no column 'hood' (--nest-column)" in err and "neighbourhood_id" in err
    assert _validate(out / "assignments.csv", "--nest-column", "neighbourhood_id") == 2
    assert "needs --nest-band" in capsys.readouterr().err
    assert not report.exists()


def _councils(path):
    """Three 'councils': vertical strips across the demo area, cut where no place is."""
    import geopandas as gpd
    import shapely

    places = gpd.read_file(PROJECT / "data/places.geojson").to_crs(27700)
    x0, y0, x1, y1 = places.total_bounds
    cuts = [x0 - 1_000, x0 + 0.35 * (x1 - x0), x0 + 0.7 * (x1 - x0), x1 + 1_000]
    strips = [shapely.box(cuts[k], y0 - 1_000, cuts[k + 1], y1 + 1_000) for k in range(3)]
    gpd.GeoDataFrame({"lad": ["LA0", "LA1", "LA2"]}, geometry=strips, crs=27700).to_file(path)
    return path


def test_aligning_neighbourhoods_with_councils_puts_fewer_patients_outside(tmp_path):
    councils = _councils(tmp_path / "councils.geojson")
    align = ["--align-to", str(councils), "--align-column", "lad", "--year", "none"]
    outside = {}
    for name, extra in (
        ("report only", []),
        ("after compactness", ["--align-objective", "outside"]),
        ("alone", ["--align-objective", "outside", "--align-alone"]),
    ):
        out = _grouped(tmp_path / name.replace(" ", "_"), *align, *extra)
        summary = json.loads((out / "summary.json").read_text())
        outside[name] = summary["neighbourhood_patients_outside_main_council"]
        units = pd.read_csv(out / "units_neighbourhood.csv")
        assert outside[name] == round(units["patients_outside_main_council"].sum())
        shares = units["patients"] * (1 - units["share_in_main_council"])  # shares to 4 places
        assert outside[name] == pytest.approx(shares.sum(), rel=1e-3)
        if extra:
            places = pd.read_csv(out / "places.csv", dtype=str, keep_default_na=False)
            said = dict(zip(places["place_id"], places["council_alignment"], strict=True))
            assert "proven least" in said["P01"] and "proven least" in said["P02"]
            assert "Council alignment objective" in (out / "report.md").read_text()
    # each stage can only keep or lower the patients outside; alone lowers them on the demo
    assert outside["alone"] <= outside["after compactness"] <= outside["report only"]
    assert outside["alone"] < outside["report only"]


def test_an_alignment_objective_without_council_areas_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["neighbourhoods", "--band", "100000-250000", "--align-objective", "split"]
    assert cli.main([*args, "--out", str(out)]) == 2
    assert "need --align-to FILE --align-column COL" in capsys.readouterr().err
    assert not out.exists()


def test_group_current_groups_the_practices_tables_current_pcns(tmp_path, capsys):
    """--group-current is --group-pcns on the practices table with its current PCN column."""
    table = pd.read_csv(PROJECT / "data/practices.csv", dtype=str)
    path = tmp_path / "practices.csv"
    table.rename(columns={"current_pcn": "pcn2024_10_code"}).to_csv(path, index=False)
    common = ["neighbourhoods", "--practices", str(path), "--band", "100000-250000"]
    places = ["--places", str(PROJECT / "data/places.geojson"), "--place-column", "place_id"]
    assert cli.main([*common, *places, "--group-current", "--out", str(tmp_path / "a")]) == 0
    given = ["--group-pcns", str(path), "--pcn-column", "pcn2024_10_code"]
    assert cli.main([*common, *places, *given, "--out", str(tmp_path / "b")]) == 0
    a = pd.read_csv(tmp_path / "a/assignments.csv", dtype=str)
    b = pd.read_csv(tmp_path / "b/assignments.csv", dtype=str)
    pd.testing.assert_frame_equal(a, b)
    grouped = a.set_index("practice_code")["pcn_id"]
    assert (grouped == table.set_index("practice_code")["current_pcn"]).all()  # PCNs kept whole
    capsys.readouterr()
    bare = tmp_path / "bare.csv"
    table.drop(columns="current_pcn").to_csv(bare, index=False)
    args = [*common[:2], str(bare), *common[3:], *places, "--group-current"]
    assert cli.main([*args, "--out", str(tmp_path / "c")]) == 2
    assert "--current-pcn" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


THREE = ["--level", "mnp=120000-200000", "--level", "neighbourhood=60000-100000"]
THREE += ["--level", "pcn=25000-50000"]


@pytest.mark.parametrize("command", ["neighbourhoods", "optimise"])
def test_three_named_levels_nest_each_contiguous_in_band_and_named_as_given(tmp_path, command):
    """optimise with two or more --level options is the nested design of neighbourhoods."""
    out = tmp_path / "out"
    args = [command, "--area", "P01", *THREE, "--year", "none", "--no-tiles"]
    assert (
        cli.main(
            [a for a in args if command == "neighbourhoods" or a != "--no-tiles"]
            + ["--out", str(out)]
        )
        == 0
    )
    table = pd.read_csv(out / "assignments.csv", dtype=str, keep_default_na=False)
    names = ["mnp", "neighbourhood", "pcn"]
    assert [c for c in table.columns if c.endswith("_id") and c != "place_id"] == [
        f"{n}_id" for n in names
    ]
    practices, places, _ = load_inputs(RunConfig(area=("P01",)))
    _, edges = geography.catchments_and_adjacency(practices, places)
    graph = nx.Graph(list(zip(edges["a"], edges["b"], strict=True)))
    graph.add_nodes_from(practices["practice_code"])
    size = practices.set_index("practice_code")["list_size"]
    bands = {"mnp": (120_000, 200_000), "neighbourhood": (60_000, 100_000), "pcn": (25_000, 50_000)}
    for outer, inner in itertools.pairwise(names):  # every inner unit in one outer
        assert (table.groupby(f"{inner}_id")[f"{outer}_id"].nunique() == 1).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["levels"] == names
    report = (out / "report.md").read_text()
    for name in names:
        units = pd.read_csv(out / f"units_{name}.csv", dtype={f"{name}_id": str})
        assert (out / f"units_{name}.geojson").exists()
        assert summary[f"{name}s"] == len(units) == table[f"{name}_id"].nunique()
        for unit, group in table.groupby(f"{name}_id"):
            assert unit and nx.is_connected(graph.subgraph(group["practice_code"]))
            low, high = bands[name]
            assert low <= size[group["practice_code"]].sum() <= high, (name, unit)
        assert units["in_band"].all() and units["contiguous"].all()
    assert "## Mnps\n" in report and "## Neighbourhoods\n" in report and "## PCNs\n" in report
    assert "Places proven optimal at the mnp level" in report


@pytest.mark.parametrize("command", ["neighbourhoods", "optimise"])
@pytest.mark.parametrize(
    ("levels", "said"),
    [
        (["neighbourhood=10000-20000", "pcn=30000-50000"], "the bands cannot nest"),
        (["pcn=30000-50000", "neighbourhood=200000-350000"], "the bands cannot nest"),
        (["pcn=200000-350000", "pcn=30000-50000"], "'pcn' is named twice"),
        (["Big Hood=200000-350000", "pcn=30000-50000"], "'Big Hood' is not a level name"),
        (["place=200000-350000", "pcn=30000-50000"], "'place' is not a level name"),
        (["neighbourhood=lots", "pcn=30000-50000"], "'neighbourhood=lots' is not NAME=MIN-MAX"),
        (["neighbourhood", "pcn=30000-50000"], "'neighbourhood' is not NAME=MIN-MAX"),
        (["hood=350000-200000", "pcn=30000-50000"], "'hood=350000-200000' is not NAME=MIN-MAX"),
        (["pcn=30000-50000"], "give two or more --level options"),
    ],
)
def test_bad_levels_are_refused_in_one_line_naming_the_option(
    tmp_path, capsys, command, levels, said
):
    out = tmp_path / "out"
    args = [command, *(a for text in levels for a in ("--level", text)), "--out", str(out)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert said in err and "--level" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_band_and_levels_together_are_refused(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["neighbourhoods", "--band", "100000-250000", *THREE, "--out", str(out)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "either --band" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    assert cli.main(["neighbourhoods", "--out", str(out)]) == 2
    assert "give the levels" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("option", [["--total-pcns", "fewest"], ["--keep-compliant"]])
def test_levels_with_a_single_level_option_are_refused(tmp_path, capsys, option):
    out = tmp_path / "out"
    args = ["optimise", "--level", "hood=60000-90000", "--level", "pcn=30000-50000", *option]
    assert cli.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--level designs every level top-down" in err and option[0] in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_validate_checks_every_level_above_pcns_and_each_nesting(tmp_path, capsys):
    """--nest-column/--nest-band repeated, from the PCNs outwards: each level checked, and
    each level's units inside one unit of the next."""
    out = tmp_path / "out"
    levels = ["--level", "mnp=150000-350000", "--level", "neighbourhood=60000-200000"]
    levels += ["--level", "pcn=30000-50000"]
    args = ["neighbourhoods", "--group-current", *levels, "--year", "none", "--no-tiles"]
    assert cli.main([*args, "--out", str(out)]) == 0
    nest = ["--pcn-column", "pcn_id", "--nest-column", "neighbourhood_id"]
    nest += ["--nest-band", "60000-200000", "--nest-column", "mnp_id", "--nest-band"]
    nest += ["150000-350000"]
    capsys.readouterr()
    _validate(out / "assignments.csv", *nest)
    text = capsys.readouterr().out
    assert "0 unit(s) of the level below split across neighbourhoods." in text
    assert "0 unit(s) of the level below split across mnps." in text
    table = pd.read_csv(out / "assignments.csv", dtype=str, keep_default_na=False)
    hood = table.loc[table["mnp_id"] == "P02-M01", "neighbourhood_id"].iloc[0]
    moved = table.index[table["neighbourhood_id"] == hood][0]
    table.loc[moved, "mnp_id"] = "P02-M02"  # that neighbourhood is now split across mnps
    broken = tmp_path / "broken.csv"
    table.to_csv(broken, index=False)
    report = tmp_path / "findings.csv"
    assert _validate(broken, *nest, "--report", str(report)) == 1
    text = capsys.readouterr().out
    assert "0 unit(s) of the level below split across neighbourhoods." in text
    assert f"neighbourhood {hood} is split across 2 mnps" in text
    findings = pd.read_csv(report, dtype=str, keep_default_na=False)
    assert set(findings["level"]) == {"PCN", "neighbourhood", "mnp"}
    assert _validate(broken, *nest[:-2]) == 2  # two nest columns, one band
    assert "give one band per level" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["neighbourhoods", "optimise"])
@pytest.mark.parametrize("band", [["--min-size", "20000"], ["--max-size", "45000"]])
def test_a_pcn_band_beside_levels_is_refused_not_replaced(tmp_path, capsys, command, band):
    """With levels the innermost one is the PCN band; a different --min-size/--max-size was
    silently replaced by it."""
    out = tmp_path / "out"
    args = [command, "--level", "hood=60000-100000", "--level", "pcn=25000-50000", *band]
    assert cli.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--min-size/--max-size" in err and "innermost level (pcn, 25,000-50,000)" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
