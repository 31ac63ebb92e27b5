"""Catchment cells and adjacency on hand-drawn places, and on a real place.

Coordinates are British National Grid metres around an origin in the Midlands.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, box

from pcnopt import InputError, geography

X0, Y0 = 440_000.0, 330_000.0


def practices_at(points: dict[str, tuple[float, float]], size: int = 10_000) -> gpd.GeoDataFrame:
    codes = sorted(points)
    return gpd.GeoDataFrame(
        {
            "practice_code": codes,
            "name": codes,
            "list_size": [size] * len(codes),
            "source_row": range(2, len(codes) + 2),
        },
        geometry=[Point(X0 + points[c][0], Y0 + points[c][1]) for c in codes],
        crs="EPSG:27700",
    )


def places_of(shapes: dict[str, object]) -> gpd.GeoDataFrame:
    ids = sorted(shapes)
    return gpd.GeoDataFrame(
        {"place_id": ids, "place_name": ids}, geometry=[shapes[i] for i in ids], crs="EPSG:27700"
    )


def square(x: float, y: float, w: float, h: float):
    return box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def build(practices, places):
    placed = geography.assign_places(practices, places).practices
    cells = geography.catchments_from_practices(placed, places)
    return placed, cells, geography.adjacency_from_catchments(cells)


def pairs(edges: pd.DataFrame, kind: str | None = None) -> set[tuple[str, str]]:
    if kind is not None:
        edges = edges[edges["kind"] == kind]
    return set(zip(edges["a"], edges["b"], strict=True))


@pytest.fixture
def grid():
    """A 3 km square place with practices at the centres of a 3×3 grid of 1 km cells::

        G H I
        D E F
        A B C

    Cells touching only at a corner (A and E) are not neighbours.
    """
    points = {c: (500 + 1000 * (k % 3), 500 + 1000 * (k // 3)) for k, c in enumerate("ABCDEFGHI")}
    return practices_at(points), places_of({"P1": square(0, 0, 3000, 3000)})


def test_grid_cells_are_squares_and_neighbours_share_sides(grid):
    practices, places = grid
    _, cells, edges = build(practices, places)
    assert cells.geometry.area.round().tolist() == [1_000_000.0] * 9
    expected = {
        ("A", "B"),
        ("B", "C"),
        ("D", "E"),
        ("E", "F"),
        ("G", "H"),
        ("H", "I"),
        ("A", "D"),
        ("D", "G"),
        ("B", "E"),
        ("E", "H"),
        ("C", "F"),
        ("F", "I"),
    }
    assert pairs(edges) == expected
    assert edges["length_m"].tolist() == pytest.approx([1000.0] * 12, abs=0.5)
    # the cells tile the place exactly
    assert cells.geometry.union_all().area == pytest.approx(places.geometry[0].area)


def test_colocated_practices_share_a_cell_and_are_neighbours(grid):
    practices, places = grid
    extra = practices_at({"E2": (1500, 1500)})
    both = pd.concat([practices, extra], ignore_index=True)
    _, cells, edges = build(gpd.GeoDataFrame(both, crs=practices.crs), places)
    assert pairs(edges, "same_site") == {("E", "E2")}
    border = pairs(edges, "border")
    for neighbour in "BDFH":
        assert (neighbour, "E2") in border or ("E2", neighbour) in border
    cell = cells.set_index("practice_code").geometry
    assert cell["E"].equals(cell["E2"])


def test_place_of_two_islands_has_no_bridge():
    """Two islands 1 km apart; the small one holds one practice, an empty islet none::

    [ A   B ]   ~~~   [ C ]   ~~~  [  ]
    """
    islands = MultiPolygon(
        [square(0, 0, 2000, 1000), square(3000, 0, 1000, 1000), square(5000, 0, 200, 200)]
    )
    practices = practices_at({"A": (500, 500), "B": (1500, 500), "C": (3500, 500)})
    _, cells, edges = build(practices, places_of({"P1": islands}))
    assert pairs(edges) == {("A", "B")}
    graph = geography.graph_from_adjacency(list(practices["practice_code"]), edges)
    assert nx.number_connected_components(graph) == 2
    # every bit of the place belongs to some cell (the empty islet joins the nearest one)
    assert cells.geometry.union_all().area == pytest.approx(islands.area)
    assert cells.set_index("practice_code").geometry["C"].area == pytest.approx(1_040_000.0)


def test_neighbours_never_cross_a_place_boundary():
    """Two places side by side; A and B face each other across the boundary::

    | P1: A | P2: B |
    """
    places = places_of({"P1": square(0, 0, 1000, 1000), "P2": square(1000, 0, 1000, 1000)})
    practices = practices_at({"A": (900, 500), "B": (1100, 500), "C": (1500, 500)})
    placed, _, edges = build(practices, places)
    assert placed.set_index("practice_code")["place_id"].to_dict() == {
        "A": "P1",
        "B": "P2",
        "C": "P2",
    }
    assert pairs(edges) == {("B", "C")}


def test_practice_just_outside_the_coast_is_snapped_and_reported():
    places = places_of({"P1": square(0, 0, 2000, 1000)})
    practices = practices_at({"A": (500, 500), "B": (1500, 1100)})  # B is 100 m offshore
    result = geography.assign_places(practices, places)
    assert result.snapped["practice_code"].tolist() == ["B"]
    assert result.snapped["snap_m"].tolist() == [pytest.approx(100.0)]
    cells = geography.catchments_from_practices(result.practices, places)
    assert cells.geometry.area.sum() == pytest.approx(2_000_000.0)
    assert len(geography.adjacency_from_catchments(cells)) == 1


def test_practice_far_from_every_place_is_refused():
    places = places_of({"P1": square(0, 0, 2000, 1000)})
    practices = practices_at({"A": (500, 500), "B": (50_000, 500)})
    with pytest.raises(InputError, match=r"row 3, column 'lat/lon'.*outside every place"):
        geography.assign_places(practices, places, practices_file="p.csv")


@pytest.mark.shared
def test_real_place_adjacency_is_planar_and_connected(shared_dir, tmp_path):
    """Nottingham and Nottinghamshire sub-ICB (real practices, real boundary)."""
    from pcnopt.io.places import places_from_file
    from pcnopt.io.practices import practices_from_file

    joined = pd.read_csv(shared_dir / "data/england/practices_england_joined.csv", dtype=str)
    joined = joined[
        (joined["sicbl23cd"] == "E38000243")
        & joined["list_size_2021_01"].notna()
        & joined["lat"].notna()
    ]
    assert len(joined) > 100
    places = places_from_file(
        shared_dir / "data/boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson",
        id_column="SICBL23CD",
    )
    places = places[places["place_id"] == "E38000243"].reset_index(drop=True)
    table = tmp_path / "p.csv"
    joined[["practice_code", "name", "lat", "lon", "list_size_2021_01"]].to_csv(table, index=False)
    practices = practices_from_file(table)
    placed, cells, edges = build(practices, places)
    graph = geography.graph_from_adjacency(list(placed["practice_code"]), edges)
    borders = edges[edges["kind"] == "border"]
    sites = cells["site"].nunique()
    # a planar graph on v sites has at most 3v - 6 edges
    site_of = cells.set_index("practice_code")["site"]
    site_pairs = {
        tuple(sorted((site_of[a], site_of[b])))
        for a, b in zip(borders["a"], borders["b"], strict=True)
    }
    assert len(site_pairs) <= 3 * sites - 6
    assert nx.is_connected(graph)
    assert cells.geometry.union_all().area == pytest.approx(places.geometry[0].area, rel=1e-6)
    # every practice's own site lies in its cell (or on it, when snapped)
    own = cells.set_index("practice_code").geometry
    sites = zip(placed["practice_code"], placed.geometry, strict=True)
    assert all(own[c].distance(p) < 1.0 for c, p in sites)


# ---------------------------------------------------------------------------------------------
# Properties on random practices
# ---------------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

coordinate = st.integers(min_value=1, max_value=99).map(lambda v: v * 100.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=25),
    island=st.booleans(),
)
def test_cells_tile_each_place_and_neighbours_make_sense(points, island):
    """For random sites (repeats allowed) in a 10 km square, optionally with an empty island:

    - the distinct cells tile the place exactly (areas add up, union is the place);
    - each practice's site lies in its own cell; co-located practices share a cell;
    - the adjacency within the square is connected (Voronoi of a convex region);
    - every pair of sites at one location is joined, and no practice neighbours itself.
    """
    codes = [f"Q{k:03d}" for k in range(len(points))]
    practices = practices_at(dict(zip(codes, points, strict=True)))
    shape = square(0, 0, 10_000, 10_000)
    if island:
        shape = MultiPolygon([shape, square(12_000, 0, 1000, 1000)])
    places = places_of({"P1": shape})
    placed, cells, edges = build(practices, places)
    distinct = cells.drop_duplicates("site")
    assert distinct.geometry.area.sum() == pytest.approx(shape.area, rel=1e-9)
    assert distinct.geometry.union_all().area == pytest.approx(shape.area, rel=1e-9)
    own = cells.set_index("practice_code").geometry
    for code, point in zip(placed["practice_code"], placed.geometry, strict=True):
        assert own[code].distance(point) < 1e-6
    graph = geography.graph_from_adjacency(codes, edges)
    assert nx.is_connected(graph)
    assert (edges["a"] < edges["b"]).all()
    by_location: dict[tuple[float, float], list[str]] = {}
    for code, point in zip(codes, points, strict=True):
        by_location.setdefault(point, []).append(code)
    same = pairs(edges, "same_site")
    expected = {(a, b) for group in by_location.values() for a in group for b in group if a < b}
    assert same == expected
