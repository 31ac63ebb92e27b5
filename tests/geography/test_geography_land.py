"""Place regions built from a place column stay on land: no catchment across an estuary."""

from __future__ import annotations

import geopandas as gpd
import pytest

from pcnopt.geography import england_land, places_from_field


def _practices(points: list[tuple[float, float]], place: str = "P") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"practice_code": [f"X{k:05d}" for k in range(len(points))], "place_id": place},
        geometry=gpd.points_from_xy([p[1] for p in points], [p[0] for p in points]),
        crs="EPSG:4326",
    )
    return frame.to_crs("EPSG:27700")


def _point(lat: float, lon: float):  # type: ignore[no-untyped-def]
    return gpd.GeoSeries.from_xy([lon], [lat], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]


# Hull, Hessle and Cottingham on the north bank of the Humber; Barton, Immingham and Grimsby on
# the south bank: the hull of the six spans the estuary
HUMBER = [
    (53.7457, -0.3367),
    (53.7239, -0.4319),
    (53.7800, -0.4100),
    (53.6840, -0.4400),
    (53.6140, -0.2120),
    (53.5670, -0.0800),
]


def test_a_region_across_the_humber_leaves_out_the_water():
    practices = _practices(HUMBER)
    water = _point(53.68, -0.25)
    assert not england_land().contains(water)  # the point is in the estuary
    hull = places_from_field(practices, on_land=False).geometry.iloc[0]
    region = places_from_field(practices).geometry.iloc[0]
    assert hull.contains(water) and not region.contains(water)
    assert region.area < 0.9 * hull.area
    assert all(region.contains(p) for p in practices.geometry)  # every practice is inside


def test_a_place_outside_england_is_kept_whole():
    cardiff = _practices([(51.4816, -3.1791), (51.5000, -3.2200), (51.4600, -3.1500)])
    whole = places_from_field(cardiff, on_land=False).geometry.iloc[0]
    assert places_from_field(cardiff).geometry.iloc[0].area == pytest.approx(whole.area)
