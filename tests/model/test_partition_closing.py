"""The closing integer programs of :func:`pcnopt.model.partition.closing.close_gap`: which
columns each holds and how much time it has.

The programs are replaced by a stand-in that records what it is given, so what is checked is
only what ``close_gap`` asks of them.
"""

from __future__ import annotations

import math
import time

import numpy as np

from pcnopt.model.partition import closing
from pcnopt.model.solvers import Status
from tests.model.test_partition_by_count import _instance


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
        lambda t, cap: (np.flatnonzero(cost <= lb + t)[:5], complete, cands, cost),
        cands=cands,
        cost=cost,
        start=None,
        ub=math.inf,
        lb=lb,
        converged=True,
        own=own,
        ip=closing.IpArgs(
            nodes=nodes, k_lo=1, k_hi=12, limits=(), solver="cbc", threads=1, mip_gap=0.0
        ),
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
