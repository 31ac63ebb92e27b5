"""The closing integer programs of :func:`pcnopt.model.partition.closing.close_gap`: which
columns each holds and how much time it has.

The programs are replaced by a stand-in that records what it is given, so what is checked is
only what ``close_gap`` asks of them.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from pcnopt.model.partition import closing
from pcnopt.model.solvers import Status
from tests.model.test_partition_by_count import _instance


def _ip(nodes: list[int]) -> closing.IpArgs:
    """The closing programs' arguments for seed 1's place: 1 to 12 networks, CBC, no gap."""
    return closing.IpArgs(
        nodes=nodes, k_lo=1, k_hi=12, limits=(), solver="cbc", threads=1, mip_gap=0.0
    )


def _from_nothing(
    columns_below, *, cands, nodes, lb: float, deadline: float, integral: bool = False
) -> closing.StageResult:
    """``close_gap`` from no plan (no cutoff) over seed 1's place, with two own columns."""
    return closing.close_gap(
        columns_below,
        cands=cands,
        cost=cands.costs["compact"],
        start=None,
        ub=math.inf,
        lb=lb,
        converged=True,
        own=np.arange(2),
        ip=_ip(nodes),
        deadline=deadline,
        integral=integral,
    )


def _close(monkeypatch, *, complete: bool, own: np.ndarray, deadline: float | None):
    """``close_gap`` on seed 1's candidates, every column below each threshold offered (cut at
    the cap unless ``complete``); the columns and deadline each program was given."""
    cands, nodes, per_count = _instance(1)
    cost = cands.costs["compact"]
    given: list[tuple[np.ndarray, float | None]] = []

    def program(cands, cols, *, cost, start, ip, deadline):
        given.append((np.asarray(cols), deadline))
        return None, None, Status.NO_SOLUTION, None

    monkeypatch.setattr(closing, "_integer_program", program)
    lb = 0.5 * min(per_count.values())
    closing.close_gap(
        lambda t, cap: (
            np.flatnonzero(cost <= lb + t)[:5],
            t if complete else -math.inf,
            cands,
            cost,
        ),
        cands=cands,
        cost=cost,
        start=None,
        ub=math.inf,
        lb=lb,
        converged=True,
        own=own,
        ip=_ip(nodes),
        deadline=deadline,
    )
    return given


def test_the_capped_closing_program_has_the_time_left(monkeypatch) -> None:
    """When the columns up to the cutoff are more than a program may hold, the program over the
    capped list is the last: it had 40 % of the time left and the place stopped early (the
    refresh of E38000254 at 34 s of 60, at a 70 % gap)."""
    deadline = time.perf_counter() + 100.0
    given = _close(monkeypatch, complete=False, own=np.arange(3), deadline=deadline)
    assert [d for _, d in given] == [deadline]


def test_the_first_closing_program_holds_the_masters_own_columns(monkeypatch) -> None:
    """The master's columns (the LP's support, what pricing met) are often a better plan than
    the cheapest reduced costs where the LP is weak (E38000254's refresh: 70,103 patients moved
    against 123,943); the later, larger programs need not hold them."""
    own = np.asarray([40, 41, 42, 43])
    given = _close(monkeypatch, complete=True, own=own, deadline=None)
    assert len(given) > 1
    assert set(own) <= set(given[0][0].tolist())
    assert not set(own) & set(given[1][0].tolist())


def test_a_capped_program_whose_plan_lowers_the_cutoff_is_followed(monkeypatch) -> None:
    """A capped list's program may find a plan close to the bound; the columns up to that plan
    are then asked for, and where they fit the plan is proven (E38000244's refresh: its capped
    program found a plan 341 patients over the bound at t = 1,393 and the place stopped at
    22 s of 60, 0.07 % short of a proof)."""
    cands, nodes, per_count = _instance(1)
    cost = cands.costs["compact"]
    lb = 0.5 * min(per_count.values())
    plan = [int(np.argmin(cost))]  # any columns: the stand-in program says what they cost
    asked: list[float] = []

    def columns_below(t, cap):
        asked.append(t)
        # more columns up to the first threshold than the cap, few up to the plan's cutoff
        return np.arange(4), t if t < 10.0 else -math.inf, cands, cost

    def program(cands, cols, *, cost, start, ip, deadline):
        return plan, lb + 5.0, Status.OPTIMAL, lb + 5.0

    monkeypatch.setattr(closing, "_integer_program", program)
    res = _from_nothing(
        columns_below,
        cands=cands,
        nodes=nodes,
        lb=lb,
        deadline=time.perf_counter() + 100.0,
    )
    assert asked[0] > 10.0  # the first threshold (0.3 % of the bound) is past the plan
    assert asked[1:] == [pytest.approx(5.0, abs=1e-8 * lb)]  # (close_gap adds a tolerance)
    assert res.kind == Status.OPTIMAL and res.bound == pytest.approx(lb + 5.0)


def test_no_program_is_started_with_under_half_a_second_left(monkeypatch) -> None:
    """With no plan, the program over every column is tried again with the time left; with
    less than a program needs, the search stops instead of listing the columns again and again
    until the deadline (hundreds of times in 0.4 s, seen in a refresh's compact stages)."""
    cands, nodes, per_count = _instance(1)
    cost = cands.costs["compact"]
    asked: list[float] = []

    def columns_below(t, cap):
        asked.append(t)
        return np.flatnonzero(cost <= t + cost.min()), t, cands, cost

    monkeypatch.setattr(
        closing, "_integer_program", lambda *a, **k: (None, None, Status.NO_SOLUTION, None)
    )
    res = _from_nothing(
        columns_below,
        cands=cands,
        nodes=nodes,
        lb=0.5 * min(per_count.values()),
        deadline=time.perf_counter() + 0.4,  # (under closing.LEAST_PROGRAM_SECONDS)
    )
    assert res.kind == Status.NO_SOLUTION
    assert len(asked) == 1


@pytest.mark.parametrize("integral", [False, True])
def test_a_capped_list_bounds_by_its_reach(monkeypatch, integral: bool) -> None:
    """The program over the least columns (every column of reduced cost below ``reach``) is
    optimal at ``value``: every plan costs at least ``value`` or ``lb + reach`` (a capped
    list's program gave no bound before, and the place kept the LP bound)."""
    cands, nodes, _ = _instance(1)
    cost = cands.costs["compact"]
    lb = 1000.0
    plan = [int(np.argmin(cost))]

    monkeypatch.setattr(
        closing,
        "_integer_program",
        lambda *a, **k: (plan, lb + 50.0, Status.OPTIMAL, lb + 50.0),
    )
    res = _from_nothing(
        lambda t, cap: (np.arange(4), 20.5, cands, cost),  # capped: complete below 20.5
        cands=cands,
        nodes=nodes,
        lb=lb,
        deadline=time.perf_counter() + 100.0,
        integral=integral,
    )
    assert res.kind == Status.FEASIBLE and res.value == lb + 50.0
    assert res.bound == (lb + 21.0 if integral else lb + 20.5)


def test_a_program_with_under_half_a_second_left_is_not_even_built(monkeypatch) -> None:
    """Building a program of 60,000 columns takes seconds: with less time left than a program
    needs, none is built (one given 0.4 s took 3.4 s of E38000006's refresh)."""
    cands, nodes, _ = _instance(1)

    def refused(*args, **kwargs):
        raise AssertionError("a program was built")

    monkeypatch.setattr(closing.pulp, "LpProblem", refused)
    ip = _ip(nodes)
    out = closing._integer_program(
        cands,
        np.arange(cands.count),
        cost=cands.costs["compact"],
        start=None,
        ip=ip,
        deadline=time.perf_counter() + 0.3,
    )
    assert out == (None, None, Status.NO_SOLUTION, None)


@pytest.mark.parametrize("whole", [0, 1, 37, 464_776, 10_598_317])
def test_a_whole_bound_rounds_up_an_lp_value_but_not_its_error(whole: int) -> None:
    """One rounding for every whole-number objective (counts, patients moved): an LP value a
    little above a whole number proves that number; a fraction beyond its error, the next."""
    assert closing.whole_bound(float(whole)) == whole
    assert closing.whole_bound(whole + 1e-9 * max(1, whole)) == whole
    for frac in (0.25, 0.75):
        value = whole + frac
        error = 1e-6 * max(1.0, value)  # the LP's relative error
        if whole < 100_000:  # counts, a place's patients moved: the next whole number
            assert closing.whole_bound(value) == whole + 1
        # never more than the value proves, nor less than its error allows
        assert value - error <= closing.whole_bound(value) <= math.ceil(value)
