"""Make pcnopt/data/england_land.geojson: England's land, for clipping catchment regions.

Source: ONS Sub Integrated Care Board Locations (April 2023) Boundaries EN BSC (generalised,
clipped to the coastline), Open Government Licence v3.0, as kept in
``../shared/data/boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson``. Contains OS data
© Crown copyright and database right 2023. Contains public sector information licensed under
the Open Government Licence v3.0.

The 106 polygons are dissolved into one (multi)polygon, simplified by 50 m (British National
Grid), and written in WGS84 with coordinates to 5 decimals (about 1 m). Run from the project
root::

    python data/make_land_outline.py
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely

PROJECT = Path(__file__).resolve().parents[1]
SOURCE = (
    PROJECT.parent / "shared" / "data" / "boundaries" / "SubICB_April_2023_EN_BSC_wgs84.geojson"
)
TARGET = PROJECT / "pcnopt" / "data" / "england_land.geojson"
TOLERANCE_M = 50.0


def main() -> None:
    """Dissolve, simplify and write the outline."""
    places = gpd.read_file(SOURCE).to_crs("EPSG:27700")
    land = shapely.union_all(shapely.make_valid(places.geometry.values))
    land = shapely.make_valid(shapely.simplify(land, TOLERANCE_M, preserve_topology=True))
    outline = gpd.GeoSeries([land], crs="EPSG:27700").to_crs("EPSG:4326")
    geometry = shapely.set_precision(outline.iloc[0], 1e-5)
    feature = {
        "type": "Feature",
        "properties": {
            "name": "England (land)",
            "source": "ONS Sub ICB Locations (April 2023) EN BSC, dissolved, simplified 50 m",
            "licence": "Open Government Licence v3.0; contains OS data (c) Crown copyright and "
            "database right 2023",
            "made_by": "data/make_land_outline.py",
        },
        "geometry": shapely.geometry.mapping(geometry),
    }
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}, separators=(",", ":"))
        + "\n",
        encoding="utf-8",
    )
    print(
        f"{TARGET}: {TARGET.stat().st_size / 1e3:.0f} kB, "
        f"{shapely.get_num_coordinates(geometry):,} points"
    )


if __name__ == "__main__":
    main()
