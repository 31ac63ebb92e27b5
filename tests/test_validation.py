"""The independent validator, against hand-made good and broken configurations.

The practices form a path inside one place, plus an island practice::

    P1:  A — B — C — D        P1 (island):  E
        20k 15k 25k 20k                     10k

and a second place P2 with one practice F (60k, larger than the band).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pcnopt.validation import (
    EXCEPTION_SINGLE_LARGE,
    EXCEPTION_SMALL_ISLAND,
    validate_configuration,
)

PRACTICES = pd.DataFrame(
    {
        "practice_code": list("ABCDEF"),
        "place_id": ["P1"] * 5 + ["P2"],
        "list_size": [20_000, 15_000, 25_000, 20_000, 10_000, 60_000],
    }
)
EDGES = pd.DataFrame({"a": ["A", "B", "C"], "b": ["B", "C", "D"]})


def check(mapping: dict[str, str], **kwargs):
    assignments = pd.DataFrame({"practice_code": list(mapping), "pcn_id": list(mapping.values())})
    return validate_configuration(
        practices=PRACTICES,
        assignments=assignments,
        edges=EDGES,
        min_size=30_000,
        max_size=50_000,
        **kwargs,
    )


GOOD = {"A": "n1", "B": "n1", "C": "n2", "D": "n2", "E": "n3", "F": "n4"}


def test_good_configuration_passes_with_named_exceptions():
    report = check(GOOD)
    assert report.ok, report.problems
    exceptions = report.pcns.set_index("pcn_id")["exception"]
    assert exceptions["n3"] == EXCEPTION_SMALL_ISLAND
    assert exceptions["n4"] == EXCEPTION_SINGLE_LARGE
    assert exceptions["n1"] == ""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"B": "n2", "C": "n1"}, "not contiguous"),  # A+C and B+D: both broken
        ({"E": "n2"}, "not contiguous"),  # island joined across water
        ({"F": "n2"}, "crosses places P1, P2"),
        ({"A": "n0"}, "size 20,000 is below the band"),
        ({"D": "n1"}, "size 55,000 is above the band"),
    ],
)
def test_broken_configurations_are_caught(change, expected):
    report = check({**GOOD, **change})
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


def test_missing_unknown_and_duplicated_practices():
    assignments = pd.DataFrame(
        {
            "practice_code": ["A", "B", "C", "C", "D", "F", "Z"],
            "pcn_id": ["n1", "n1", "n2", "n3", "n2", "n4", "n2"],
        }
    )
    report = validate_configuration(
        practices=PRACTICES, assignments=assignments, edges=EDGES, min_size=30_000, max_size=50_000
    )
    assert report.missing == ("E",)
    assert report.unknown == ("Z",)
    assert report.duplicated == ("C",)
    assert len(report.problems) == 3


def test_approved_small_places_and_exclusions():
    small = {**GOOD, "A": "n0"}
    assert not check(small).ok
    assert check(small, approved_small_places=frozenset({"P1"})).ok
    without_e = {k: v for k, v in GOOD.items() if k != "E"}
    assert not check(without_e).ok
    assert check(without_e, excluded=frozenset({"E"})).ok
    assigned_anyway = check(GOOD, excluded=frozenset({"F"}))
    assert assigned_anyway.problems == (
        "rule broken: F must be left out of every PCN but is in n4",
    )


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"keep_together": (("B", "C"),)}, "B, C must share a PCN but are in n1, n2"),
        ({"keep_apart": (("A", "B"),)}, "A and B must be in different PCNs but share n1"),
        ({"fixed": (("A", "north"), ("C", "north"))}, "A, C must share a PCN but are in n1, n2"),
        ({"fixed": (("A", "north"), ("B", "south"))}, "A and B must be in different PCNs"),
    ],
)
def test_commissioners_rules_broken_are_named(rules, expected):
    report = check(GOOD, **rules)
    assert [p for p in report.problems if expected in p], report.problems
    assert all(p.startswith("rule broken: ") for p in report.problems)


def test_commissioners_rules_kept_pass():
    rules = {"keep_together": (("A", "B"),), "keep_apart": (("B", "C"),)}
    assert check(GOOD, fixed=(("C", "south"), ("D", "south")), **rules).ok


def test_practice_cut_off_by_a_large_practice_is_a_forced_island():
    """G (60k) must be a PCN on its own, so H, reachable only through G, is an island::

    P3:  G — H
        60k 12k
    """
    practices = pd.DataFrame(
        {"practice_code": ["G", "H"], "place_id": ["P3", "P3"], "list_size": [60_000, 12_000]}
    )
    edges = pd.DataFrame({"a": ["G"], "b": ["H"]})
    assignments = pd.DataFrame({"practice_code": ["G", "H"], "pcn_id": ["g", "h"]})
    report = validate_configuration(
        practices=practices,
        assignments=assignments,
        edges=edges,
        min_size=30_000,
        max_size=50_000,
    )
    assert report.ok, report.problems
    assert report.pcns.set_index("pcn_id")["exception"]["h"] == EXCEPTION_SMALL_ISLAND


def test_zero_list_practices_do_not_fake_a_whole_island():
    """J and K (0 patients) form a PCN; L (also 0) is in the same island but another PCN::

    P4:  L — J — K     all 0 patients: neither PCN is the whole island
    """
    practices = pd.DataFrame(
        {"practice_code": ["J", "K", "L"], "place_id": ["P4"] * 3, "list_size": [0, 0, 0]}
    )
    edges = pd.DataFrame({"a": ["J", "J"], "b": ["K", "L"]})
    assignments = pd.DataFrame({"practice_code": ["J", "K", "L"], "pcn_id": ["jk", "jk", "l"]})
    report = validate_configuration(
        practices=practices,
        assignments=assignments,
        edges=edges,
        min_size=30_000,
        max_size=50_000,
    )
    assert not report.ok
    assert (report.pcns["exception"] == "").all()


def test_an_inner_unit_across_two_outer_units_is_one_finding_naming_both():
    from pcnopt.validation import split_units

    table = pd.DataFrame(
        {
            "practice_code": list("ABCDEF"),
            "pcn_id": ["n1", "n1", "n2", "n2", "n3", ""],
            "hood": ["X", "X", "X", "Y", "", "Y"],
        }
    )
    weights = PRACTICES.set_index("practice_code")["list_size"]
    splits = split_units(table, inner="pcn_id", outer="hood", weights=weights).set_index("unit_id")
    assert list(splits.index) == ["n2"]  # n1 is inside X; n3 is wholly in no unit; F in no PCN
    assert splits.at["n2", "outer_units"] == "X;Y"
    assert splits.at["n2", "problem"] == (
        "PCN n2 is split across 2 neighbourhoods: X (1 practice(s), 25,000 patients), "
        "Y (1 practice(s), 20,000 patients); a PCN must lie wholly inside one neighbourhood"
    )
    table.loc[1, "hood"] = ""  # B in no neighbourhood: n1 is split too
    splits = split_units(table, inner="pcn_id", outer="hood", weights=weights)
    assert list(splits["unit_id"]) == ["n1", "n2"]
    assert "no neighbourhood (1 practice(s), 15,000 patients)" in splits["problem"][0]


def test_the_findings_name_the_level_checked():
    report = validate_configuration(
        practices=PRACTICES,
        assignments=pd.DataFrame({"practice_code": list("ABCD"), "pcn_id": list("XYXY")}),
        edges=EDGES,
        min_size=30_000,
        max_size=50_000,
        unit="neighbourhood",
    )
    assert "neighbourhood X: not contiguous (2 separate parts)" in report.problems
    assert "2 practice(s) are in no neighbourhood: E, F" in report.problems
    assert report.to_text().startswith("2 neighbourhoods checked")


def test_validate_names_each_pcn_and_practice_as_people_know_them(tmp_path, capsys):
    """ePCN's names beside the codes: every finding and the report row name the PCN."""
    import cli
    from tests.conftest import PROJECT

    table = pd.read_csv(PROJECT / "data/practices.csv", dtype=str)
    table = table.rename(columns={"current_pcn": "pcn2019_code"})
    table["pcn2019_name"] = table["pcn2019_code"].str.replace("PCN-", "Network ") + " PCN"
    table.loc[0, "pcn2019_code"] = None  # opted out
    path = tmp_path / "practices.csv"
    table.to_csv(path, index=False)
    report = tmp_path / "findings.csv"
    code = cli.main(
        [
            "validate",
            "--practices",
            str(path),
            "--places",
            str(PROJECT / "data/places.geojson"),
            "--place-column",
            "place_id",
            "--assignments",
            str(path),
            "--pcn-column",
            "pcn2019_code",
            "--report",
            str(report),
        ]
    )
    assert code == 1
    findings = [x[4:] for x in capsys.readouterr().out.splitlines() if x.startswith("  - ")]
    first = table.iloc[0]
    assert findings[0] == f"1 practice(s) are in no PCN: {first['practice_code']} ({first['name']})"
    names = dict(zip(table["pcn2019_code"], table["pcn2019_name"], strict=True))
    for finding in findings[1:]:
        pcn = finding.split(" (")[1].split(")")[0]
        assert finding.startswith(f"PCN {names[pcn]} ({pcn}): ")
    rows = pd.read_csv(report, dtype=str)
    assert (rows["pcn_name"] == rows["pcn_id"].map(names)).all()
