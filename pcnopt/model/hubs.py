"""A network's hub: the member that minimises the patient-weighted distance to it.

One definition serves the model (:mod:`pcnopt.model`, :mod:`pcnopt.model.heuristic`), the
greedy fallback of :mod:`pcnopt.run` and the reports of :mod:`pcnopt.metrics`, so the hub a
report shows is the hub the optimiser priced.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def hub_of(members: Iterable[int], cost: np.ndarray) -> int:
    """The member ``j`` minimising ``sum(cost[i, j] for i in members)``.

    Parameters
    ----------
    members
        Indices into ``cost`` of the network's practices (any order).
    cost
        ``cost[i, j]``: patients of practice ``i`` times its distance (or squared distance)
        to practice ``j``.

    Returns
    -------
    int
        The hub's index; on a tie, the lowest index, so results are deterministic.
    """
    idx = sorted(members)
    sums = cost[np.ix_(idx, idx)].sum(axis=0)
    return idx[int(np.argmin(sums))]


def distance_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Straight-line distances ``d[i, j] = |p_i - p_j|`` between points in metres."""
    return np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
