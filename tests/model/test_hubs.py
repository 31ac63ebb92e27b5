"""The hub of a network, on a hand-drawn place (distances in metres, patients in thousands)::

E (50k)
|
1 km
|
A (10k) ── 1 km ── B (10k) ── 1 km ── C (10k)
                                      D (10k, same site as C)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pcnopt.model.hubs import distance_matrix, hub_of

#                  A       B       C       D       E
X = np.array([0.0, 1000.0, 2000.0, 2000.0, 0.0])
Y = np.array([0.0, 0.0, 0.0, 0.0, 1000.0])
PATIENTS = np.array([10_000.0, 10_000.0, 10_000.0, 10_000.0, 50_000.0])
A, B, C, D, E = range(5)


@pytest.fixture
def cost():
    return PATIENTS[:, None] * distance_matrix(X, Y)


def test_distance_matrix_is_straight_line():
    dist = distance_matrix(X, Y)
    assert dist[A, C] == dist[C, A] == 2000.0
    assert dist[C, D] == 0.0
    assert dist[B, E] == math.hypot(1000.0, 1000.0)


@pytest.mark.parametrize(
    ("members", "hub"),
    [
        ([A, B, C], B),  # the middle of a line
        ([C, B, A], B),  # whatever the order of the members
        ([A], A),
        ([A, B, E], E),  # E's 50k patients pull the hub from A (the unweighted medoid) to E
    ],
)
def test_hub_minimises_patient_weighted_distance(cost, members, hub):
    assert hub_of(members, cost) == hub


@pytest.mark.parametrize(
    ("members", "hub"),
    [
        ([B, A], A),  # equal patients, 1 km apart: A and B cost the same
        ([D, C], C),  # one site: both cost nothing
        ([D, C, B], C),  # C and D share a site: both cost 10k x 1 km, B costs 20k x 1 km
        ([B, D, C], C),
    ],
)
def test_a_tie_goes_to_the_lowest_index(cost, members, hub):
    assert hub_of(members, cost) == hub
