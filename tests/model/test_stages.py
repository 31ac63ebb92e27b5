"""``pcnopt.model.stages.run_stages``: the gap a block reports after objective stages in order.

The stages are solved by a stand-in ``solve`` that returns given results, so what is checked
is only what ``run_stages`` makes of them.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pcnopt.model.heuristic import HeuristicResult
from pcnopt.model.place import Stage
from pcnopt.model.solvers import Status
from pcnopt.model.stages import run_stages

PLAN = [[0, 1], [2, 3]]
FEWEST_THEN_COMPACT = [[("count", 1.0)], [("compact", 1.0)]]


def _block(first: Stage, last: Stage, practices: int = 4):
    results = iter([first, last])
    place = SimpleNamespace(options=SimpleNamespace(mip_gap=0.0), n=practices)
    return run_stages(
        place,  # type: ignore[arg-type]
        [0, 1, 2, 3],
        FEWEST_THEN_COMPACT,
        lambda stage, start: next(results),
        lambda s, stage, limit: None,
        start=PLAN,
        together=[],
        apart=[],
        deadline=None,
        found=HeuristicResult(parts=((0, 1), (2, 3)), violation=0.0, cost=0.0),
        method="test",
    )


@pytest.mark.parametrize("last_kind", [Status.OPTIMAL, Status.FEASIBLE])
def test_no_gap_is_claimed_when_the_fewest_networks_were_not_proven(last_kind: Status) -> None:
    """E38000261: 27 networks, at least 23 possible; the most compact plan of 27 proven. The
    report said "within 0.0 % of the best possible", though fewer networks may be possible."""
    block = _block(Stage(Status.FEASIBLE, PLAN, 27.0, 23.0), Stage(last_kind, PLAN, 100.0, 100.0))
    assert block.status == Status.FEASIBLE
    assert block.abs_gap is None


def test_the_last_stage_gap_stands_when_every_earlier_stage_was_proven() -> None:
    block = _block(Stage(Status.OPTIMAL, PLAN, 2.0, 2.0), Stage(Status.FEASIBLE, PLAN, 100.0, 90.0))
    assert block.status == Status.FEASIBLE
    assert block.abs_gap == pytest.approx(10.0)
    proven = _block(
        Stage(Status.OPTIMAL, PLAN, 2.0, 2.0), Stage(Status.OPTIMAL, PLAN, 100.0, 100.0)
    )
    assert proven.status == Status.OPTIMAL and proven.abs_gap == 0.0


def test_an_unproven_count_is_told_with_the_fewest_that_may_do() -> None:
    block = _block(Stage(Status.FEASIBLE, PLAN, 2.0, 0.4), Stage(Status.OPTIMAL, PLAN, 1.0, 1.0))
    assert block.reason == (
        "The 2 networks were not proven the fewest possible in the time: 1 may be enough "
        "(none fewer than 1)."
    )
    unbounded = _block(Stage(Status.FEASIBLE, PLAN, 2.0, None), Stage(Status.OPTIMAL, PLAN, 1, 1))
    assert unbounded.reason == "The 2 networks were not proven the fewest possible in the time."
    proven = _block(Stage(Status.OPTIMAL, PLAN, 2.0, 2.0), Stage(Status.FEASIBLE, PLAN, 1, 0.5))
    assert proven.reason == ""


def test_an_unproven_count_of_some_practices_says_whose_networks_it_counts() -> None:
    """E38000256 (355 practices, one above the band on its own): "best plan found: 63
    networks for 355 practices" beside "The 62 networks were not proven the fewest"."""
    block = _block(
        Stage(Status.FEASIBLE, PLAN, 2.0, 0.4), Stage(Status.OPTIMAL, PLAN, 1.0, 1.0), practices=5
    )
    assert block.reason == (
        "The 2 networks of the 4 practices grouped together were not proven the fewest possible "
        "in the time: 1 may be enough (none fewer than 1)."
    )
