"""Figures of a configuration: hubs and distances, on a hand-drawn place::

A (10k) ── 1 km ── B (10k) ── 1 km ── C (10k)
                                      D (10k, same site as C)
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from pcnopt.metrics import hub_distances

PRACTICES = gpd.GeoDataFrame(
    {"practice_code": list("ABCD"), "list_size": [10_000] * 4},
    geometry=[Point(0, 0), Point(1000, 0), Point(2000, 0), Point(2000, 0)],
    crs="EPSG:27700",
)


def test_hub_distances_names_each_network_hub_and_the_distance_to_it():
    assignments = pd.DataFrame({"practice_code": list("ABCD"), "pcn_id": ["n1"] * 3 + ["n2"]})
    found = hub_distances(PRACTICES, assignments)
    expected = pd.DataFrame(
        {
            "practice_code": list("ABCD"),
            "pcn_id": ["n1", "n1", "n1", "n2"],
            "hub": ["B", "B", "B", "D"],
            "distance_m": [1000.0, 0.0, 1000.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(found, expected)


def test_a_tie_between_practices_on_one_site_goes_to_the_first_listed():
    """B, C and D: C and D tie (one site); the first of them in the assignments is the hub."""
    for order, hub in [("BCD", "C"), ("BDC", "D"), ("DCB", "D")]:
        assignments = pd.DataFrame({"practice_code": list(order), "pcn_id": "n1"})
        assert set(hub_distances(PRACTICES, assignments)["hub"]) == {hub}
