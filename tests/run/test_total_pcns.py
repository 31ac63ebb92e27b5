"""``--total-pcns``: an area-wide number of PCNs shared out between places (pcnopt.run.total).

The allocation is checked against a brute-force oracle: every place solved exactly at every
count from 1 to its number of practices, then every combination of counts enumerated.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re

import numpy as np
import pytest

from pcnopt import cli
from pcnopt.errors import UnmeetableCountError
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions, solve_place
from pcnopt.run.total import CountChoice, allocate_counts, choose_counts
from pcnopt.scenarios import scenario_from_file
from pcnopt.settings import RunConfig, SettingError
from tests.model.instances import random_place

BAND = SolveOptions(min_size=30_000, max_size=50_000)
NOT_MET = {"infeasible", "unknown", "solver_failed"}


def _solve_here(graphs: list[PlaceGraph], options: list[SolveOptions]) -> list[PlaceSolution]:
    return [solve_place(g, options=o) for g, o in zip(graphs, options, strict=True)]


@pytest.fixture(scope="module")
def area() -> list[PlaceGraph]:
    """Four small places: of 2 or 3, 2 or 3, 3 or 4, and only 3 PCNs in the band."""
    return [
        random_place(12, seed=4, place_id="A"),
        random_place(14, seed=1, place_id="B"),
        random_place(16, seed=2, place_id="C"),
        random_place(14, seed=3, place_id="D"),
    ]


@pytest.fixture(scope="module")
def oracle(area: list[PlaceGraph]) -> list[dict[int, float]]:
    """Per place, the best objective at every count it can meet (every count from 1 to n)."""
    table = []
    for graph in area:
        best: dict[int, float] = {}
        for k in range(1, len(graph.codes) + 1):
            s = solve_place(graph, options=dataclasses.replace(BAND, n_pcns=k))
            if s.status not in NOT_MET and len(s.hubs) == k:
                assert s.status == "optimal" and s.objective is not None
                best[k] = s.objective
        table.append(best)
    return table


def _brute_force(oracle: list[dict[int, float]], total: int) -> float | None:
    sums = [
        sum(oracle[p][k] for p, k in enumerate(counts))
        for counts in itertools.product(*[sorted(o) for o in oracle])
        if sum(counts) == total
    ]
    return min(sums) if sums else None


def test_the_places_can_meet_several_counts(oracle) -> None:
    assert [sorted(o) for o in oracle] == [[2, 3], [2, 3], [3, 4], [3]]  # the oracle is not trivial


def test_every_total_matches_the_brute_force_oracle(area, oracle) -> None:
    smallest = sum(min(o) for o in oracle)
    largest = sum(max(o) for o in oracle)
    for total in range(smallest, largest + 1):
        solutions, allocation = allocate_counts(
            area, [BAND] * len(area), total=total, solve=_solve_here
        )
        assert allocation.objective == pytest.approx(_brute_force(oracle, total), rel=1e-9)
        assert allocation.total == total == sum(k for _, k in allocation.counts)
        assert [len(s.hubs) for s in solutions] == [k for _, k in allocation.counts]
        assert sum(s.objective or 0.0 for s in solutions) == pytest.approx(allocation.objective)
        assert allocation.proven_optimal and allocation.gap == 0.0
        assert dict(allocation.allowed) == {
            g.place_id: tuple(sorted(o)) for g, o in zip(area, oracle, strict=True)
        }
        # only the counts the band allows are solved, the free solve's count not twice
        assert allocation.solves == len(area) + sum(len(o) - 1 for o in oracle)


def test_fewest_is_each_place_at_its_fewest(area, oracle) -> None:
    solutions, allocation = allocate_counts(
        area, [BAND] * len(area), total="fewest", solve=_solve_here
    )
    assert allocation.total == sum(min(o) for o in oracle)
    assert [k for _, k in allocation.counts] == [min(o) for o in oracle]
    assert allocation.objective == pytest.approx(sum(o[min(o)] for o in oracle), rel=1e-9)
    assert allocation.proven_optimal
    assert [len(s.hubs) for s in solutions] == [min(o) for o in oracle]


@pytest.mark.parametrize("offset", [-1, +1])
def test_a_total_outside_what_the_places_allow_names_each_places_counts(
    area, oracle, offset
) -> None:
    total = sum(min(o) for o in oracle) - 1 if offset < 0 else sum(max(o) for o in oracle) + 1
    with pytest.raises(UnmeetableCountError) as caught:
        allocate_counts(area, [BAND] * len(area), total=total, solve=_solve_here)
    text = str(caught.value)
    assert f"--total-pcns {total}" in text and "Nothing was written" in text
    for graph, counts in zip(area, oracle, strict=True):
        span = f"{min(counts)} to {max(counts)}" if len(counts) > 1 else f"{min(counts)}"
        assert re.search(rf"{graph.place_id} {graph.place_id}: {span}[;.]", text)
    assert caught.value.exit_code == 1


def test_the_knapsack_matches_enumeration() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        places = [
            [
                CountChoice(
                    count=int(k), cost=(float(rng.integers(0, 50)),), bound=None, solution=None
                )  # type: ignore[arg-type]
                for k in sorted(rng.choice(np.arange(1, 7), size=rng.integers(1, 4), replace=False))
            ]
            for _ in range(rng.integers(1, 5))
        ]
        for total in range(0, 20):
            picked = choose_counts(places, total)
            sums = [
                sum(c.cost[0] for c in combo)
                for combo in itertools.product(*places)
                if sum(c.count for c in combo) == total
            ]
            if not sums:
                assert picked is None
                continue
            assert picked is not None
            assert sum(p[i].count for p, i in zip(places, picked, strict=True)) == total
            assert sum(p[i].cost[0] for p, i in zip(places, picked, strict=True)) == min(sums)


def test_total_pcns_with_n_pcns_is_refused_with_exit_2(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = cli.main(["optimise", "--total-pcns", "18", "--n-pcns", "3", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--total-pcns" in err and "--n-pcns" in err and "not both" in err
    assert "Traceback" not in err and not out.exists()
    with pytest.raises(SettingError, match="whole number >= 1 or 'fewest'"):
        RunConfig(total_pcns="most")


def test_a_scenario_sets_the_total_by_its_own_key(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[solver]\ntotal_pcns = 18\n')
    assert scenario_from_file(path).config.total_pcns == 18
    path.write_text('name = "s"\n[solver]\ntotal_pcns = 18\nn_pcns = 3\n')
    with pytest.raises(ValueError, match=r"solver\.total_pcns.*solver\.n_pcns.*not both"):
        scenario_from_file(path)


def test_an_unmeetable_total_exits_1_and_writes_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    args = ["optimise", "--area", "P03", "--year", "none", "--jobs", "1", "--out", str(out)]
    assert cli.main([*args, "--total-pcns", "99"]) == 1
    err = capsys.readouterr().err
    assert "--total-pcns 99" in err and "P03 Caddle Vale: 4 to 6" in err
    assert not out.exists()
    # 4 is within the band's range but no contiguous plan meets it: found by solving
    assert cli.main([*args, "--total-pcns", "4"]) == 1
    err = capsys.readouterr().err
    assert "the places can meet 5 to 6 PCNs in all" in err and "P03 Caddle Vale: 5 to 6" in err
    assert not out.exists()


def test_fewest_on_the_demo_writes_the_allocation(tmp_path) -> None:
    out = tmp_path / "out"
    args = ["optimise", "--area", "P03", "--year", "none", "--jobs", "1", "--out", str(out)]
    assert cli.main([*args, "--total-pcns", "fewest"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    total = summary["total_pcns"]
    assert total["asked"] == "fewest" and total["total"] == summary["pcns"] == 5
    assert total["by_place"] == {"P03": 5} and total["proven_optimal"]
    assert "## Number of PCNs across the area (--total-pcns)" in (out / "report.md").read_text()


@pytest.mark.slow
def test_a_total_on_the_whole_demo_is_met_and_reported(tmp_path) -> None:
    out = tmp_path / "out"
    assert cli.main(["optimise", "--total-pcns", "17", "--year", "none", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    total = summary["total_pcns"]
    assert total["total"] == summary["pcns"] == sum(total["by_place"].values()) == 17
    assert total["proven_optimal"] and summary["valid"]
    for place, count in total["by_place"].items():
        assert count in total["allowed"][place]
    report = (out / "report.md").read_text()
    assert "17 PCNs asked for the whole area, 17 made" in report


def _fake_solver(costs: dict[str, dict[int, float]], status: str = "feasible"):
    """Solves by table: objective ``costs[place][k]``, proven bound 90 % of it, gap 10 %."""

    def solve(graphs: list[PlaceGraph], options: list[SolveOptions]) -> list[PlaceSolution]:
        out = []
        for graph, opts in zip(graphs, options, strict=True):
            table = costs[graph.place_id]
            k = opts.n_pcns if isinstance(opts.n_pcns, int) else min(table, key=table.get)
            labels = tuple(min(i, k - 1) for i in range(len(graph.codes)))
            met = k in table
            out.append(
                PlaceSolution(
                    place_id=graph.place_id,
                    status=status if met else "infeasible",
                    objective=table.get(k, 1e12),
                    bound=0.9 * table[k] if met and status == "feasible" else None,
                    gap=0.1 if met and status == "feasible" else None,
                    seconds=0.0,
                    labels=labels,
                    hubs=tuple(range(k)),
                    notes=("",) * k,
                    message="",
                    solver="test",
                )
            )
        return out

    return solve


def test_an_allocation_over_unproven_solves_gives_its_gap(area) -> None:
    costs = {"A": {2: 100.0, 3: 80.0}, "B": {2: 50.0, 3: 60.0}}
    _, allocation = allocate_counts(area[:2], [BAND] * 2, total=5, solve=_fake_solver(costs))
    assert allocation.counts == (("A", 3), ("B", 2)) and allocation.objective == 130.0
    assert not allocation.proven_optimal
    # the same knapsack over the bounds: 0.9 * 80 + 0.9 * 50 = 117
    assert allocation.bound == pytest.approx(117.0)
    assert allocation.gap == pytest.approx(13.0 / 130.0)
    _, unknown = allocate_counts(
        area[:2], [BAND] * 2, total=5, solve=_fake_solver(costs, status="unknown")
    )
    assert not unknown.proven_optimal and unknown.gap is None
